"""How a corpus lays out its files on disk, as data: what the synthetic writer needs to imitate it.

Each corpus module in :mod:`mefast.datasets.corpora` holds its :class:`Layout` next to its reader spec:
folder and file names, subject ids, AU notation, emotion words and sheet columns, as the module docstring
describes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Layout", "plain_aus"]


def plain_aus(aus: Sequence[int], rng: np.random.Generator, sep: str = "+", prefix: str = "") -> str:
    """AU numbers joined by ``sep`` (``"1+2"``), the notation of most corpora."""
    return sep.join(f"{prefix}{a}" for a in aus)


@dataclass(frozen=True)
class Layout:
    """How one corpus lays out its files, for the synthetic writer (see each reader's module docstring)."""

    corpus: str
    frames: str  # frame root, relative to the output folder
    frames_cropped: str
    sheet: str  # annotation sheet, relative to the output folder
    labels: dict[str, str]  # expression category -> the corpus's emotion word
    subject: Callable[[int], tuple[object, str]]  # k -> (sheet value, subject id used in folders)
    clip_dir: Callable[[str, str, str], str]  # (subject id, folder name, emotion word) -> relative folder
    frame_name: Callable[[str, str, int, bool], str]  # (subject id, clip, number, cropped) -> file name
    aus: Callable[[Sequence[int], np.random.Generator], str] | None
    # (subject id, clip index j, rng, emotion word) -> the clip's folder name
    clip_name: Callable[[str, int, np.random.Generator, str], str]
    columns: dict[str, str]  # sheet column -> record key (subject, clip, onset, apex, offset, aus, emotion, ...)
    sheet_notes: tuple[str, ...] = ()  # rows of notes written above the table (SAMM)
    grey: bool = False
    long_recordings: bool = False  # folders hold a task recording with lead-in and tail (CAS(ME)^3)
    first_frame: tuple[int, int] = (1, 200)
    apex_annotated: bool = True  # False: no apex in the corpus (SMIC, CAS(ME)^3 C); rendered mid-clip
