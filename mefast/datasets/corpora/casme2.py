"""CASME II (Yan et al. 2014, PLOS ONE 9(1): e86041): 255/256 spontaneous MEs of 26 subjects at 200 fps.

Layout as distributed::

    CASME2/
      CASME2-coding-20140508.xlsx          Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
                                           Action Units, Estimated Emotion (one row per clip)
      CASME2-coding-20190701.xlsx          the same columns, a later release of the sheet
      CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ... img86.jpg      raw frames (640x480)
      Cropped/sub01/EP02_01f/reg_img46.jpg ...                        cropped faces (same numbers)

Either frame folder can be the root. Subjects are numbers in the sheet (``1``), folders ``sub01``; mefast's
subject id is ``"01"``. A clip folder holds exactly the frames onset..offset.

When no sheet is given, the first of ``CASME2-coding-20140508.xlsx``, ``CASME2-coding-updated.xlsx``,
``CASME2-coding-20140508.csv`` and ``CASME2-coding-20190701.xlsx`` found is read: the 2019 release last, as the
known corrections (the MEB library's) address rows of the 256-row sheet MEB reads. On a sheet of another length
they are not applied but reported (``corrections_skipped``). On a sheet of 256 rows they are applied by
position: an estimated apex only where the sheet has none at that row (otherwise reported, not applied),
row 60's offset 91 whatever the sheet holds there. mefast cannot tell a re-sorted 256-row sheet from the release,
so for a copy of uncertain order bind the corrections to their samples once, from the release sheet, with
:func:`mefast.datasets.bind_corrections`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._engine.layout import Layout, emotion_words, subject_ids
from .._engine.reader import CorpusSpec, Correction, spec_reader
from .._engine.table import sheet_columns, zero_padded

__all__ = ["LAYOUT", "SPEC", "read"]

_MEB = "fix from the MEB library"
_APEX_ROWS = (29, 35, 43, 45, 51, 53, 60, 117, 118, 126, 136, 147, 155, 168, 170, 177, 202, 203, 234, 237, 238)
_APEX_VALUES = (279, 68, 77, 81, 166, 100, 78, 187, 89, 80, 88, 134, 231, 53, 329, 111, 91, 103, 98, 153, 98)

CORRECTIONS: tuple[Correction, ...] = (
    Correction(60, "offset", 91, f"offset mistyped in the sheet; {_MEB}"),
    *(
        Correction(
            r, "apex", v, f"apex missing ('/') in the sheet; apex estimated from optical flow, {_MEB}", "missing"
        )
        for r, v in zip(_APEX_ROWS, _APEX_VALUES, strict=True)
    ),
)


_subject = zero_padded(2, "sub")  # sheet 1 or sub01 -> "01"


def _clip_dirs(root: Path, rec: Mapping[str, str]) -> list[Path]:
    return [root / f"sub{rec['subject']}" / rec["folder"], root / rec["subject"] / rec["folder"]]


#: The coding sheet's headers (MMEW, from the same lab, writes its sheet with the same ones).
SHEET_COLUMNS: dict[str, tuple[str, ...]] = sheet_columns(
    frames=("{Field}Frame", "{Field} Frame"), aus=("Action Units", "AU"), emotion=("Estimated Emotion", "Emotion")
)

SPEC = CorpusSpec(
    name="casme2",
    title="CASME II",
    annotation_files=(
        "CASME2-coding-20140508.xlsx",
        "CASME2-coding-updated.xlsx",
        "CASME2-coding-20140508.csv",
        "CASME2-coding-20190701.xlsx",
    ),
    columns={**SHEET_COLUMNS, "objective": ("Objective Class", "Objective Classes")},
    clip_dirs=_clip_dirs,
    emotions=frozenset({"happiness", "surprise", "disgust", "repression", "others", "fear", "sadness"}),
    release_rows=256,
    corrections=CORRECTIONS,
    subject=_subject,
    objective_files=("CASME2-ObjectiveClasses.xlsx",),
)


read = spec_reader(
    SPEC,
    root="``CASME2_RAW_selected`` or ``Cropped`` (folders ``sub01/EP02_01f/``).",
)


def _layout_aus(aus: Sequence[int], rng: np.random.Generator) -> str:
    return "+".join(("L" if rng.random() < 0.5 else "R") + str(a) if rng.random() < 0.15 else str(a) for a in aus)


def _layout_clip(subject_id: str, j: int, rng: np.random.Generator, emotion: str) -> str:
    return f"EP{j + 1:02d}_{int(rng.integers(1, 20)):02d}" + ("f" if rng.random() < 0.3 else "")


#: The on-disk layout, for the synthetic writer.
LAYOUT = Layout(
    spec=SPEC,
    path="CASME2/CASME2_RAW_selected/sub{subject}/{clip}/img{n}.jpg",
    cropped_path="CASME2/Cropped/sub{subject}/{clip}/reg_img{n}.jpg",
    labels=emotion_words("happiness", "surprise", "others", "disgust", "sadness", "fear", "repression"),
    subject=subject_ids("{k:02d}", sheet_number=True),
    aus=_layout_aus,
    clip_name=_layout_clip,
)
