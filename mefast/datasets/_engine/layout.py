"""How a corpus lays out its files on disk, as data: what the synthetic writer needs to imitate it.

Each corpus module in :mod:`mefast.datasets.corpora` holds its :class:`Layout` next to its reader spec:
folder and file names, subject ids, AU notation, emotion words and sheet columns, as the module docstring
describes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .reader import CorpusSpec

__all__ = ["CATEGORIES", "Layout", "emotion_words", "plain_aus"]

#: The expression categories the synthetic writer renders, in the order :func:`emotion_words` takes words.
CATEGORIES: tuple[str, ...] = ("happiness", "surprise", "anger", "disgust", "sadness", "fear", "contempt")


def emotion_words(*words: str) -> dict[str, str]:
    """Expression category -> a corpus's emotion word, the words given in the order of :data:`CATEGORIES`."""
    if len(words) != len(CATEGORIES):
        raise ValueError(f"emotion_words needs {len(CATEGORIES)} words, one per category {CATEGORIES}, got {words}")
    return dict(zip(CATEGORIES, words, strict=True))


def plain_aus(aus: Sequence[int], rng: np.random.Generator, sep: str = "+", prefix: str = "") -> str:
    """AU numbers joined by ``sep`` (``"1+2"``), the notation of most corpora."""
    return sep.join(f"{prefix}{a}" for a in aus)


@dataclass(frozen=True)
class Layout:
    """How one corpus lays out its files, for the synthetic writer (see each reader's module docstring)."""

    spec: CorpusSpec  # the reader's spec: the corpus name and the sheet's column spellings
    frames: str  # frame root, relative to the output folder
    sheet: str  # annotation sheet, relative to the output folder
    labels: dict[str, str]  # expression category -> the corpus's emotion word
    subject: Callable[[int], tuple[object, str]]  # k -> (sheet value, subject id used in folders)
    clip_dir: Callable[[str, str, str], str]  # (subject id, folder name, emotion word) -> relative folder
    frame_name: Callable[[str, str, int, bool], str]  # (subject id, clip, number, cropped) -> file name
    aus: Callable[[Sequence[int], np.random.Generator], str] | None
    # (subject id, clip index j, rng, emotion word) -> the clip's folder name
    clip_name: Callable[[str, int, np.random.Generator, str], str]
    sheet_keys: tuple[str, ...]  # record keys (subject, clip, onset, apex, offset, aus, emotion, ...) in sheet order
    headers: Mapping[str, str] = field(default_factory=dict)  # header of a key the reader does not read, or
    # spells otherwise; by default a key's header is the reader's first spelling of it
    frames_cropped: str | None = None  # cropped frames' root; None: where the frames are
    sheet_notes: tuple[str, ...] = ()  # rows of notes written above the table (SAMM)
    grey: bool = False
    long_recordings: bool = False  # folders hold a task recording with lead-in and tail (CAS(ME)^3)
    first_frame: tuple[int, int] = (1, 200)
    apex_annotated: bool = True  # False: no apex in the corpus (SMIC, CAS(ME)^3 C); rendered mid-clip

    @property
    def corpus(self) -> str:
        """The corpus name (as :func:`mefast.datasets.load` takes it)."""
        return self.spec.name

    @property
    def columns(self) -> dict[str, str]:
        """Sheet column -> record key, in sheet order."""
        return {self.headers.get(k) or self.spec.columns[k][0]: k for k in self.sheet_keys}
