"""SMIC (Li et al. 2013, IEEE FG), the HS part: 164 micro-expressions of 16 subjects at 100 fps.

SMIC ships frame folders and no annotation sheet; the folders carry the labels::

    SMIC/
      HS/s1/micro/negative/s1_ne_01/image090823.bmp ...     raw frames
      SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/...    cropped faces (same layout)

Each clip folder holds the ME from onset to offset, so onset and offset are its first and last frame
numbers and, as SMIC has no apex annotation, the apex is the middle frame (as the MEB library does).
A sheet with columns subject, material (clip), emotion, onset, offset (MEB's ``smic.xlsx``) may be given
instead; the frames are then still looked up in the tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ...errors import AnnotationError
from .._engine.frames import list_frames
from .._engine.layout import Layout, emotion_words, subject_ids
from .._engine.reader import CorpusSpec, build
from .._engine.table import read_sheet

__all__ = ["EMOTION_FOLDERS", "LAYOUT", "SPEC", "read"]

EMOTION_FOLDERS = ("negative", "positive", "surprise")

_COLUMNS = {
    "subject": ("subject", "Subject"),
    "clip": ("material", "Filename", "clip"),
    "emotion": ("emotion", "Emotion"),
    "onset": ("onset", "OnsetFrame"),
    "apex": ("apex", "ApexFrame"),
    "offset": ("offset", "OffsetFrame"),
}


def _clip_dirs(root: Path, rec: Mapping[str, str]) -> list[Path]:
    s, clip, emotion = rec["subject"], rec["folder"], rec["emotion_raw"]
    first = [root / s / "micro" / emotion / clip, root / s / "micro" / emotion.lower() / clip]
    if any(p.is_dir() for p in first):
        return first
    return [*first, *(root / s / "micro" / e / clip for e in EMOTION_FOLDERS)]


def _read(annotations: Path | None, root: Path) -> tuple[pd.DataFrame, int]:
    if annotations is not None:
        return read_sheet(annotations, _COLUMNS, ("subject", "clip", "emotion"))
    rows = []
    for subject in sorted((d for d in root.iterdir() if d.is_dir() and (d / "micro").is_dir()), key=_natural):
        for emotion_dir in sorted(d for d in (subject / "micro").iterdir() if d.is_dir()):
            for clip in sorted((d for d in emotion_dir.iterdir() if d.is_dir()), key=_natural):
                listing = list_frames(clip)
                first = listing.numbers[0] if listing.numbers else None
                last = listing.numbers[-1] if listing.numbers else None
                rows.append(
                    {
                        "subject": subject.name,
                        "clip": clip.name,
                        "emotion": emotion_dir.name,
                        "onset": first,
                        "apex": None,
                        "offset": last,
                    }
                )
    if not rows:
        raise AnnotationError(
            f"SMIC: no clip folders <subject>/micro/<emotion>/<clip>/ under {root}; point root at the HS folder"
        )
    return pd.DataFrame(rows), -1


def _natural(p: Path) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name))


SPEC = CorpusSpec(
    name="smic",
    title="SMIC-HS",
    annotation_files=(),
    columns=_COLUMNS,
    required=("subject", "clip", "emotion"),
    clip_dirs=_clip_dirs,
    emotions=frozenset(EMOTION_FOLDERS),
    read=_read,
    apex_fill_reason="SMIC has no apex annotation; the middle frame of onset..offset is used (as MEB does)",
)


def read(
    root: str | Path,
    annotations: str | Path | None = None,
    *,
    corrections: bool = True,
    apex: str = "middle",
    apex_method: str = "flow",
):
    """Read SMIC-HS from its folders (``root`` is ``HS``), or from a sheet when ``annotations`` is given.

    SMIC annotates no apex. ``apex="middle"`` (default) takes the middle frame, as MEB does; ``apex="spotted"``
    spots it in each clip with :func:`mefast.spotting.apex_frame` (``apex_method``: one of
    :data:`mefast.spotting.APEX_METHODS`, with their default options: ``"frequency"``'s window ``w=61`` is CASME
    II's at 200 fps, about twice a micro-expression at SMIC-HS's 100 fps, so for it call
    :func:`mefast.spotting.spot_apexes` with ``w=31`` on the ``apex="middle"`` dataset instead), reading every
    clip's frames once, and records every spotted apex in ``dataset.corrections`` (reason
    ``apex spotted (method=...)``), which the store keeps with its provenance.
    """
    if apex not in ("middle", "spotted"):
        raise ValueError(f"apex must be 'middle' or 'spotted', got {apex!r}")
    dataset = build(SPEC, root, annotations, corrections=corrections)
    if apex == "spotted":
        from ...spotting.apex import spot_apexes

        dataset = spot_apexes(dataset, apex_method)  # type: ignore[arg-type]
    return dataset


_NEG = "negative"
_ABBR = {"negative": "ne", "positive": "po", "surprise": "sur"}

#: The on-disk layout, for the synthetic writer (the MEB library's sheet).
LAYOUT = Layout(
    spec=SPEC,
    path="SMIC/HS/{subject}/micro/{emotion}/{clip}/image{n:06d}.bmp",
    cropped_path="SMIC/SMIC_all_cropped/HS/{subject}/micro/{emotion}/{clip}/reg_image{n:06d}.bmp",
    sheet="SMIC/smic.xlsx",
    labels=emotion_words("positive", "surprise", _NEG, _NEG, _NEG, _NEG, _NEG),
    subject=subject_ids("s{k}"),
    aus=None,
    clip_name=lambda s, j, rng, e: f"{s}_{_ABBR[e]}_{j + 1:02d}",
    sheet_keys=("subject", "clip", "emotion", "onset", "offset"),
    first_frame=(10000, 99000),
    apex_annotated=False,
)
