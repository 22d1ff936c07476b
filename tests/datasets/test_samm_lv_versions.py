"""SAMM Long Videos: every released version of the annotation workbook is found, the newest present read.

The corpus released ``SAMM_LongVideos_V1_Release.xlsx`` (read by the MEGC2020 baseline, sheet
``FACS_Movement_Only``), ``..._V2_Release.xlsx`` (read by SOFTNet) and ``..._V3_Release.xlsx``; all hold rows of
notes, then the header (sheet row 10: the loaders skip 10 rows before the data). The workbooks here are small
fakes of that layout with made-up rows.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from mefast.datasets import load_long
from mefast.errors import AnnotationError

HEADER = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type", "Action Units",
          "Notes"]  # fmt: skip


def _frames(tmp_path: Path) -> Path:
    video = tmp_path / "SAMM" / "SAMM_longvideos" / "006_1"
    video.mkdir(parents=True)
    for n in range(1, 101):
        cv2.imwrite(str(video / f"006_1_{n:04d}.jpg"), np.full((8, 8), n, np.uint8))
    return video.parent


def _workbook(folder: Path, version: str, onset: int) -> Path:
    """``SAMM_LongVideos_<version>_Release.xlsx``: nine rows of notes, the header, one micro-expression."""
    rows = [[f"note {i}"] + [None] * 9 for i in range(9)]
    rows += [HEADER, ["006", "006_1_1", 1, onset, onset + 5, onset + 10, 11, "Micro - 1/2", "R12", ""]]
    path = folder / f"SAMM_LongVideos_{version}_Release.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as w:
        pd.DataFrame(rows).to_excel(w, sheet_name="FACS_Movement_Only", index=False, header=False)
    return path


@pytest.mark.parametrize("version", ["V1", "V2", "V3"])
def test_each_released_version_is_found(tmp_path, version) -> None:
    # Before: only SAMM_LongVideos_V3_Release.xlsx was looked for ("no SAMM_LongVideos_V3_Release.xlsx next to
    # or above ...; pass annotations=") although V1 and V2 were released too.
    root = _frames(tmp_path)
    sheet = _workbook(root.parent, version, 10)
    rec = load_long("samm_lv", root)
    assert rec.annotations == (sheet,) and rec.issues.empty
    assert rec.intervals[["onset", "apex", "offset", "kind"]].values.tolist() == [[9, 14, 19, "micro"]]


def test_the_newest_version_present_is_read_and_the_others_named(tmp_path) -> None:
    root = _frames(tmp_path)
    _workbook(root.parent, "V1", 10)
    v2 = _workbook(root.parent, "V2", 20)
    rec = load_long("samm_lv", root)
    assert rec.annotations == (v2,) and rec.intervals["onset"].tolist() == [19]
    notes = rec.issues[rec.issues["problem"] == "annotation_not_read"]
    assert len(notes) == 1 and notes["severity"].iloc[0] == "info"
    assert "SAMM_LongVideos_V1_Release.xlsx" in notes["detail"].iloc[0]
    assert "SAMM_LongVideos_V2_Release.xlsx" in notes["detail"].iloc[0]

    v3 = _workbook(root.parent, "V3", 30)
    rec = load_long("samm_lv", root)
    assert rec.annotations == (v3,) and rec.intervals["onset"].tolist() == [29]
    assert len(rec.issues[rec.issues["problem"] == "annotation_not_read"]) == 2


def test_no_version_present_names_them_all(tmp_path) -> None:
    root = _frames(tmp_path)
    with pytest.raises(AnnotationError, match=r"V3_Release\.xlsx.*V2_Release\.xlsx.*V1_Release\.xlsx"):
        load_long("samm_lv", root)
