"""The long-video readers (:func:`mefast.datasets.load_long`): sheet typing, apex fills, the CAS(ME)^2 release.

Each case writes a few tiny frames and a sheet by hand (or with the synthetic writer), so it says exactly what
the reader must make of one layout or one odd cell.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest

from mefast.datasets import load_long
from mefast.datasets.synthetic import write_long_synthetic
from mefast.datasets.synthetic._long import LONG_TRUTH_FILE
from mefast.errors import AnnotationError

C3_COLUMNS = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
C3_ME = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
C3_MAE = "cas(me)3_part_A_MaE_label_JpgIndex_v2.xlsx"


def _frames(folder, numbers, name="{}.jpg"):
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        cv2.imwrite(str(folder / name.format(n)), np.full((8, 8, 3), n % 255, np.uint8))


def _casme3a(tmp_path, n_frames=200):
    root = tmp_path / "part_A"
    _frames(root / "spNO.1" / "a" / "color", range(n_frames))
    return root


@pytest.mark.parametrize("order", ["me_first", "mae_first"])
def test_casme3a_sheet_type_comes_from_the_file_name(tmp_path, order) -> None:
    root = _casme3a(tmp_path)
    me, mae = tmp_path / C3_ME, tmp_path / C3_MAE
    pd.DataFrame([["spNO.1", "a", 10, 13, 20, "4", 3, "anger"]], columns=C3_COLUMNS).to_excel(me, index=False)
    pd.DataFrame([["spNO.1", "a", 100, 120, 160, "12", 1, "happy"]], columns=C3_COLUMNS).to_excel(mae, index=False)
    rec = load_long("casme3a", root, [me, mae] if order == "me_first" else [mae, me])
    got = rec.intervals[["onset", "offset", "kind", "emotion"]].values.tolist()
    assert got == [[10, 20, "micro", "anger"], [100, 160, "macro", "happy"]]
    # both sheets' first rows are row 0: their sample ids still differ
    assert rec.intervals["sample_id"].is_unique


def test_casme3a_sheet_whose_name_says_neither_type_is_an_error(tmp_path) -> None:
    root = _casme3a(tmp_path)
    sheet = tmp_path / "cas(me)3_part_A_labels.xlsx"  # "cas(me)" holds "me" but names the corpus, not the type
    pd.DataFrame([["spNO.1", "a", 10, 13, 20, "4", 3, "anger"]], columns=C3_COLUMNS).to_excel(sheet, index=False)
    with pytest.raises(AnnotationError, match=r"cas\(me\)3_part_A_labels\.xlsx.*ME or MaE"):
        load_long("casme3a", root, sheet)


def test_apex_fills_and_apexes_outside_the_interval_are_recorded(tmp_path) -> None:
    root = _casme3a(tmp_path, 100)
    sheet = tmp_path / C3_ME
    rows = [
        ["spNO.1", "a", 10, 50, 20],  # after the offset: kept, reported
        ["spNO.1", "a", 30, "/", 40],  # missing: the middle, recorded
        ["spNO.1", "a", 60, 500, 70],  # not a frame of the recording: the middle, recorded and reported
        ["spNO.1", "a", 80, "x", 90],  # not a number: the middle, recorded and reported
        ["spNO.1", "a", 5, 3, 8],  # before the onset: kept, reported
        ["spNO.1", "a", 92, 95, 98],  # fine
    ]
    pd.DataFrame([[*r, "4", 3, "anger"] for r in rows], columns=C3_COLUMNS).to_excel(sheet, index=False)
    rec = load_long("casme3a", root, sheet)
    iv = rec.intervals.set_index("sample_id")
    assert iv.loc["casme3a/spNO.1/a/me0", "apex"] == 50
    assert iv.loc["casme3a/spNO.1/a/me4", "apex"] == 3
    assert [iv.loc[f"casme3a/spNO.1/a/me{r}", "apex"] for r in (1, 2, 3, 5)] == [35, 65, 85, 95]
    # an ME sheet alone: the macro-expressions are missing, and said to be
    assert rec.issues["problem"].tolist().count("macro_sheet_missing") == 1
    rows = rec.issues[rec.issues["problem"] != "macro_sheet_missing"]
    problems = dict(zip(rows["sample_id"], rows["problem"], strict=True))
    assert problems == {
        "casme3a/spNO.1/a/me0": "apex_after_offset",
        "casme3a/spNO.1/a/me2": "apex_outside_recording",
        "casme3a/spNO.1/a/me3": "invalid_annotation",
        "casme3a/spNO.1/a/me4": "onset_after_apex",
    }
    fixes = rec.corrections
    assert fixes["sample_id"].tolist() == [f"casme3a/spNO.1/a/me{r}" for r in (1, 2, 3)]
    assert fixes["field"].tolist() == ["apex"] * 3
    assert fixes["old"].tolist() == ["/", "500", "x"] and fixes["new"].tolist() == ["35", "65", "85"]
    assert all("middle frame" in why for why in fixes["reason"])
    assert "missing" in fixes["reason"].iloc[0] and "not a frame of the recording" in fixes["reason"].iloc[1]
    assert len(rec.subset([0]).corrections) == 3


def _casme2_release(tmp_path, rows, subjects, videos, name="CAS(ME)^2code_final.xlsx"):
    """Frames of s15/15_0101disgustingteeth (img1..img60) and a workbook laid out as released."""
    root = tmp_path / "CAS(ME)^2" / "rawpic"
    _frames(root / "s15" / "15_0101disgustingteeth", range(1, 61), "img{}.jpg")
    sheet = tmp_path / "CAS(ME)^2" / name
    with pd.ExcelWriter(sheet, engine="openpyxl") as w:
        pd.DataFrame(rows).to_excel(w, sheet_name="CASFEcode_final", index=False, header=False)
        if subjects is not None:
            pd.DataFrame(subjects).to_excel(w, sheet_name="naming rule1", index=False, header=False)
        if videos is not None:
            pd.DataFrame(videos).to_excel(w, sheet_name="naming rule2", index=False, header=False)
    return root, sheet


RELEASE_ROWS = [
    [1, "disgust1_1", 10, 15, 20, "4+7", "negative", "micro-expression", "disgust"],
    [1, "disgust1_2", 30, 40, 55, "4", "negative", "macro-expression", "disgust"],
    [1, "disgust1_3", 42, 48, 0, "4", "negative", "macro-expression", "disgust"],  # offset 0: missing -> apex
]


@pytest.mark.parametrize(
    "subjects, videos",
    [
        ([["s15", "s15", 1]], [["0101", "disgust1"]]),  # codes as text
        ([[15, 15, 1]], [[101, "disgust1"]]),  # codes as numbers (Excel drops the video code's zero)
    ],
    ids=["text_codes", "numeric_codes"],
)
def test_casme2lv_reads_the_released_headerless_workbook(tmp_path, subjects, videos) -> None:
    root, sheet = _casme2_release(tmp_path, RELEASE_ROWS, subjects, videos)
    rec = load_long("casme2lv", root)  # found above root
    assert rec.annotations == (sheet,) and rec.issues.empty
    got = rec.intervals[["onset", "apex", "offset", "kind", "emotion", "aus"]].values.tolist()
    assert got == [
        [9, 14, 19, "micro", "negative", "4+7"],
        [29, 39, 54, "macro", "negative", "4"],
        [41, 47, 47, "macro", "negative", "4"],
    ]
    assert rec.intervals["recording_id"].unique().tolist() == ["casme2lv/15/15_0101disgustingteeth"]
    fix = rec.corrections.iloc[0]
    assert len(rec.corrections) == 1 and (fix["field"], fix["old"], fix["new"]) == ("offset", "0", "48")
    assert "offset 0 means missing" in fix["reason"]


def test_casme2lv_finds_the_updated_workbook(tmp_path) -> None:
    root, sheet = _casme2_release(
        tmp_path, RELEASE_ROWS[:1], [["s15", "s15", 1]], [["0101", "disgust1"]], "CAS(ME)^2code_final(Updated).xlsx"
    )
    rec = load_long("casme2lv", root)
    assert rec.annotations == (sheet,) and len(rec.intervals) == 1


def test_casme2lv_release_rows_the_naming_rules_do_not_cover_are_reported(tmp_path) -> None:
    rows = [[2, "disgust1_1", 10, 15, 20, "4", "negative", "micro-expression", ""],
            [1, "anger1_1", 10, 15, 20, "4", "negative", "micro-expression", ""]]  # fmt: skip
    root, sheet = _casme2_release(tmp_path, rows, [["s15", "s15", 1]], [["0101", "disgust1"]])
    rec = load_long("casme2lv", root, sheet)
    assert rec.intervals.empty and rec.issues["problem"].tolist() == ["missing_recording"] * 2
    assert "participant 2" in rec.issues["detail"].iloc[0] and "'anger1'" in rec.issues["detail"].iloc[1]


def test_casme2lv_headerless_workbook_without_naming_rules_is_an_error(tmp_path) -> None:
    root, sheet = _casme2_release(tmp_path, RELEASE_ROWS, None, None)
    with pytest.raises(AnnotationError, match="naming rule"):
        load_long("casme2lv", root, sheet)


def test_casme2lv_sheet_of_neither_layout_is_an_error(tmp_path) -> None:
    root, sheet = _casme2_release(tmp_path, [[1, 2, 3], [4, 5, 6]], [["s15", "s15", 1]], [["0101", "disgust1"]])
    with pytest.raises(AnnotationError, match="neither a header row"):
        load_long("casme2lv", root, sheet)


@pytest.mark.parametrize("layout", ["release", "header"])
def test_casme2lv_reads_the_written_layouts(tmp_path, layout) -> None:
    paths = write_long_synthetic(tmp_path, corpora=("casme2lv",), n_subjects=2, videos_per_subject=2, n_frames=150,
                                 size=(32, 32), n_micro=1, n_macro=1, n_blinks=0, seed=2,
                                 casme2_layout=layout)  # fmt: skip
    root, sheets = paths["casme2lv"]
    book = pd.read_excel(sheets[0], sheet_name=None, header=None)
    assert len(book) == (3 if layout == "release" else 1)
    first = next(iter(book.values()))
    assert (str(first.iat[0, 0]) == "Subject") == (layout == "header")
    rec = load_long("casme2lv", root)
    assert len(rec) == 4 and rec.issues.empty and rec.corrections.empty
    truth = json.loads((root / LONG_TRUTH_FILE).read_text())["recordings"]
    for i, t in enumerate(truth):
        want = sorted((e["onset"], e["apex"], e["offset"], e["kind"]) for e in t["expressions"])
        got = rec.intervals[rec.intervals["recording"] == i]
        assert sorted(zip(got["onset"], got["apex"], got["offset"], got["kind"], strict=True)) == want
