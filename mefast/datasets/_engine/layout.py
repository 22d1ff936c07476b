"""How a corpus lays out its files on disk, as data: what the synthetic writer needs to imitate it.

Each corpus module in :mod:`mefast.datasets.corpora` holds its :class:`Layout` next to its reader spec:
folder and file names, subject ids, AU notation, emotion words and sheet columns, as the module docstring
describes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .reader import STANDARD_FIELDS, CorpusSpec

__all__ = ["CATEGORIES", "Layout", "emotion_words", "numbered_clip", "plain_aus", "subject_ids"]

#: The expression categories the synthetic writer renders, in the order :func:`emotion_words` takes words.
CATEGORIES: tuple[str, ...] = ("happiness", "surprise", "anger", "disgust", "sadness", "fear", "contempt")


def emotion_words(*words: str) -> dict[str, str]:
    """Expression category -> a corpus's emotion word, the words given in the order of :data:`CATEGORIES`."""
    if len(words) != len(CATEGORIES):
        raise ValueError(f"emotion_words needs {len(CATEGORIES)} words, one per category {CATEGORIES}, got {words}")
    return dict(zip(CATEGORIES, words, strict=True))


def plain_aus(aus: Sequence[int | str], rng: np.random.Generator, sep: str = "+", prefix: str = "") -> str:
    """AU codes joined by ``sep`` (``"1+2"``), the notation of most corpora."""
    return sep.join(f"{prefix}{a}" for a in aus)


def subject_ids(template: str, *, start: int = 1, sheet_number: bool = False) -> Callable[[int], tuple[object, str]]:
    """A :attr:`Layout.subject`: subject ``k`` (from 1) -> (sheet value, id used in folders).

    The id is ``template`` of the corpus's subject number ``start + k - 1`` (``"S{k:02d}"`` -> ``"S01"``). The
    sheet holds the same id, or the bare number where ``sheet_number`` (CASME II: sheet ``1``, folder ``sub01``).
    """

    def ids(k: int) -> tuple[object, str]:
        number = start + k - 1
        sid = template.format(k=number)
        return (number if sheet_number else sid), sid

    return ids


def numbered_clip(subject_id: str, j: int, rng: np.random.Generator, emotion: str) -> str:
    """Clip ``j`` of a subject named ``<subject>_<j + 1, two digits>`` (``"S01_03"``)."""
    return f"{subject_id}_{j + 1:02d}"


def _split_path(template: str) -> tuple[str, str, str]:
    """A frame path template -> (frame root, clip folder template, file name template)."""
    parts = template.split("/")
    first = next((i for i, p in enumerate(parts) if "{" in p), len(parts) - 1)
    if first == 0 or first == len(parts) - 1:
        raise ValueError(f"frame path {template!r} needs a root, a clip folder and a file name")
    return "/".join(parts[:first]), "/".join(parts[first:-1]), parts[-1]


@dataclass(frozen=True)
class Layout:
    """How one corpus lays out its files, for the synthetic writer (see each reader's module docstring).

    ``path`` (and ``cropped_path``) spell where one frame lies, as the corpus's docstring does:
    ``"CASME2/CASME2_RAW_selected/sub{subject}/{clip}/img{n}.jpg"``. The folders before the first
    ``{...}`` are the frame root, the last part the file name; placeholders are ``{subject}`` (the subject
    id used in folders), ``{clip}``, ``{emotion}`` (the corpus's word) and ``{n}`` (the frame number, with
    an optional format such as ``{n:05d}``).
    """

    spec: CorpusSpec  # the reader's spec: the corpus name and the sheet's column spellings
    path: str  # a frame's path, relative to the output folder (see above)
    labels: dict[str, str]  # expression category -> the corpus's emotion word
    subject: Callable[[int], tuple[object, str]]  # k -> (sheet value, subject id used in folders)
    cropped_path: str | None = None  # a cropped frame's path, same clip folders; None: the frames are not cropped
    sheet: str = ""  # annotation sheet, relative to the output folder; "": the spec's first sheet name in the
    # corpus folder (the first part of ``path``)
    aus: Callable[[Sequence[int], np.random.Generator], str] | None = plain_aus
    # (subject id, clip index j, rng, emotion word) -> the clip's folder name
    clip_name: Callable[[str, int, np.random.Generator, str], str] = numbered_clip
    sheet_keys: tuple[str, ...] = STANDARD_FIELDS  # record keys (subject, clip, onset, ...) in sheet order
    headers: Mapping[str, str] = field(default_factory=dict)  # header of a key the reader does not read, or
    # spells otherwise; by default a key's header is the reader's first spelling of it
    sheet_notes: tuple[str, ...] = ()  # rows of notes written above the table (SAMM)
    long_recordings: bool = False  # folders hold a task recording with lead-in and tail (CAS(ME)^3)
    first_frame: tuple[int, int] = (1, 200)
    apex_annotated: bool = True  # False: no apex in the corpus (SMIC, CAS(ME)^3 C); rendered mid-clip

    def __post_init__(self) -> None:
        _, folder, _ = _split_path(self.path)
        if self.cropped_path is not None and _split_path(self.cropped_path)[1] != folder:
            raise ValueError(f"{self.corpus}: cropped frames must lie in the same clip folders as the frames")
        if not self.sheet:
            object.__setattr__(self, "sheet", f"{self.path.split('/')[0]}/{self.spec.annotation_files[0]}")

    def like(self, **changes: Any) -> Layout:
        """A copy with ``changes``, for a corpus that follows this one's conventions (its sheet path derived anew)."""
        return dataclasses.replace(self, **{"sheet": "", **changes})

    @property
    def corpus(self) -> str:
        """The corpus name (as :func:`mefast.datasets.load` takes it)."""
        return self.spec.name

    @property
    def grey(self) -> bool:
        """Whether the frames are grey (the reader's spec says so)."""
        return self.spec.grey

    @property
    def columns(self) -> dict[str, str]:
        """Sheet column -> record key, in sheet order."""
        return {self.headers.get(k) or self.spec.columns[k][0]: k for k in self.sheet_keys}

    def _template(self, cropped: bool) -> str:
        return self.cropped_path if cropped and self.cropped_path is not None else self.path

    def root(self, cropped: bool = False) -> str:
        """The frame root, relative to the output folder (the cropped one where the corpus ships one)."""
        return _split_path(self._template(cropped))[0]

    def clip_dir(self, subject_id: str, clip: str, emotion: str) -> str:
        """A clip's folder, relative to the frame root."""
        return _split_path(self.path)[1].format(subject=subject_id, clip=clip, emotion=emotion)

    def frame_name(self, subject_id: str, clip: str, n: int, cropped: bool = False) -> str:
        """The file name of frame ``n`` of a clip."""
        return _split_path(self._template(cropped))[2].format(subject=subject_id, clip=clip, n=n)
