"""MMEW (Ben et al. 2021, IEEE TPAMI): 300 micro-expressions of 36 subjects at 90 fps.

Layout as distributed::

    MMEW/
      MMEW_Micro_Exp.xlsx          Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
                                   Action Units, Estimated Emotion, remarks
      Micro_Expression/happiness/S01_happiness_01/1.jpg ...    one folder per emotion, then per clip

Clip folders sit under an emotion folder. Clip names are unique, so mefast finds a clip under whichever
emotion folder holds it (the MEB library renames "others" to "repression" to reach its folder; mefast
keeps the label "others"). A clip folder holds exactly onset..offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .._engine.layout import Layout, emotion_words, subject_ids
from .._engine.reader import STANDARD_FIELDS, CorpusSpec, Correction, spec_reader
from .casme2 import SHEET_COLUMNS

__all__ = ["LAYOUT", "SPEC", "read"]

_ROWS = (33, 35, 36, 37, 38, 39, 40, 41, 42, 142, 143, 145, 146, 148, 154, 156)
_APEX = (40, 15, 46, 20, 25, 20, 23, 28, 32, 56, 32, 27, 22, 29, 31, 38)
_OFFSET = (75, 54, 59, 98, 80, 93, 58, 61, 68, 88, 80, 85, 61, 108, 72, 106)
_WHY = "apex and offset in the sheet are outside the clip's frames; estimates from the MEB library"
CORRECTIONS: tuple[Correction, ...] = tuple(
    c
    for r, a, o in zip(_ROWS, _APEX, _OFFSET, strict=True)
    for c in (Correction(r, "apex", a, _WHY), Correction(r, "offset", o, _WHY))
)


def _clip_dirs(root: Path, rec: Mapping[str, str]) -> list[Path]:
    emotion, clip = rec["emotion_raw"], rec["folder"]
    first = [root / emotion / clip, root / emotion.lower() / clip]
    if any(p.is_dir() for p in first):
        return first
    others = sorted(d / clip for d in root.iterdir() if d.is_dir() and (d / clip).is_dir())
    return [*first, *others, root / clip]


SPEC = CorpusSpec(
    name="mmew",
    title="MMEW",
    annotation_files=("MMEW_Micro_Exp.xlsx",),
    columns=SHEET_COLUMNS,
    clip_dirs=_clip_dirs,
    emotions=frozenset({"happiness", "surprise", "anger", "disgust", "fear", "sadness", "others"}),
    release_rows=300,
    corrections=CORRECTIONS,
)


read = spec_reader(SPEC, root="``Micro_Expression`` (folders ``<emotion>/<clip>/``).")


#: The on-disk layout, for the synthetic writer.
LAYOUT = Layout(
    spec=SPEC,
    path="MMEW/Micro_Expression/{emotion}/{clip}/{n}.jpg",
    labels=emotion_words("happiness", "surprise", "anger", "disgust", "sadness", "fear", "others"),
    subject=subject_ids("S{k:02d}"),
    sheet_keys=(*STANDARD_FIELDS, "notes"),
    headers={"notes": "remarks"},
)
