"""CAS(ME)^3 sheets in the formats the corpus releases them, written small by hand (made-up rows).

What the release looks like (public sources: the annotation files of github.com/jingtingEmmaLi/CAS-ME-3 and
the loaders that read the licensed ones):

* part A micro-expressions, ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx``: sheet ``label`` (then the empty
  sheets ``Sheet1`` and ``Sheet3``), header ``Subject, Filename, Onset, Apex, Offset, AU, Objective class,
  emotion``, every cell stored as text (``'355'``), the objective class as a Roman numeral (``'II'``), emotions
  ``happy``, ``sad``, ``disgust``, ... (and ``Others``);
* part A macro-expressions, ``cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx``: sheet ``Sheet1``, header
  ``sub, seq, onset, apex, offset``, a sixth column the loaders do not read (written here as ``au``), and
  ``emotion`` (the seventh column), emotions ``happiness``, ``sadness``, ...;
* part C, ``CAS(ME)3_part_C_ME.xlsx``: sheet ``mockCrimeME``, header ``sub, count, onset, offset, au,
  emotion``, emotions ``negative``, ``positive``, ``surprise``, ``others``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pandas as pd
import pytest

from mefast.datasets import SPECS, load, load_long, synthetic, validate
from mefast.datasets.synthetic import write_long_synthetic
from mefast.datasets.synthetic._long import LONG_TRUTH_FILE

ME_NAME = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
MAE_NAME = "cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx"
OLD_MAE_NAME = "cas(me)3_part_A_MaE_label_JpgIndex_v2.xlsx"  # the name mefast looked for before
ME_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
MAE_HEADER = ["sub", "seq", "onset", "apex", "offset", "au", "emotion"]
C_HEADER = ["sub", "count", "onset", "offset", "au", "emotion"]


def write_book(path: Path, sheets: dict[str, Sequence[Sequence[object]]], *, text: bool = True) -> Path:
    """A workbook of the given sheets (rows, header first), every cell stored as text unless ``text`` is False."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([str(v) if text and v is not None else v for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def me_book(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """The part-A ME workbook as released: ``label`` with the rows, then the empty ``Sheet1`` and ``Sheet3``."""
    return write_book(path, {"label": [ME_HEADER, *rows], "Sheet1": [], "Sheet3": []})


def frames(folder: Path, numbers: range) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        cv2.imwrite(str(folder / f"{n}.jpg"), np.full((8, 8, 3), n % 255, np.uint8))


# --- part A micro-expressions: every cell stored as text -----------------------------------------------------


def test_casme3a_release_sheet_of_text_cells_is_read_and_corrected(sheets) -> None:
    # Before: the first known correction (release row 128, apex 123) raised
    # TypeError: Invalid value '123' for dtype 'str' (pandas 3 reads a column of text cells as a str column).
    rows = sheets.rows("casme3a", SPECS["casme3a"].release_rows)
    sheets.plant("casme3a", rows)
    table = [[r["subject"], r["clip"], r["onset"], r["apex"], r["offset"], r["aus"], "IV", "disgust"] for r in rows]
    sheet = me_book(sheets.tmp_path / ME_NAME, table)
    assert {c.data_type for row in openpyxl.load_workbook(sheet)["label"].iter_rows() for c in row} == {"s"}
    root = sheets.tmp_path / "frames"
    root.mkdir()
    d = load("casme3a", root, sheet)
    assert len(d) == 860 and d.samples.at[128, "apex"] == 123
    applied = d.corrections[d.corrections["status"] == "applied"]
    assert {(r, f) for r, f in zip(applied["row"], applied["field"], strict=True)} >= {(128, "apex"), (749, "onset")}
    assert (d.samples["onset"] == [r["onset"] if i not in (749, 750) else d.samples.at[i, "onset"]
                                   for i, r in enumerate(rows)]).all()  # fmt: skip


# --- part A macro-expressions ---------------------------------------------------------------------------------


def _part_a(tmp_path: Path) -> tuple[Path, Path]:
    """(frame root, annotation folder) of CASME3/part_A with one task recording spNO.1/a (frames 0..199)."""
    base = tmp_path / "CASME3" / "part_A"
    frames(base / "data" / "part_A" / "spNO.1" / "a" / "color", range(200))
    return base / "data" / "part_A", base / "annotation"


ME_ROWS = [["spNO.1", "a", 10, 13, 20, "4", "III", "disgust"]]
MAE_ROWS = [["spNO.1", "a", 100, 120, 160, "12", "happiness"], ["spNO.1", "a", 30, 40, 60, "R4+L7", "Sadness"]]


@pytest.mark.parametrize("data_sheet_first", [True, False], ids=["Sheet1-only", "Sheet1-after-another"])
def test_casme3a_finds_and_reads_the_released_mae_sheet(tmp_path, data_sheet_first) -> None:
    # Before: mefast looked for cas(me)3_part_A_MaE_label_JpgIndex_v2.xlsx only, so the released MaE sheet was
    # never found and every interval was typed micro; given explicitly it failed ("no header row starting with
    # 'Subject'").
    root, ann = _part_a(tmp_path)
    me = me_book(ann / ME_NAME, ME_ROWS)
    mae_sheets = {"Sheet1": [MAE_HEADER, *MAE_ROWS]}
    if not data_sheet_first:
        mae_sheets = {"Sheet2": [], **mae_sheets}
    mae = write_book(ann / MAE_NAME, mae_sheets)
    rec = load_long("casme3a", root)
    assert rec.annotations == (me, mae)
    got = rec.intervals[["onset", "apex", "offset", "kind", "emotion", "aus"]].values.tolist()
    assert got == [
        [10, 13, 20, "micro", "disgust", "4"],
        [30, 40, 60, "macro", "Sadness", "R4+L7"],
        [100, 120, 160, "macro", "happiness", "12"],
    ]
    assert rec.issues.empty and rec.corrections.empty
    assert rec.intervals["sample_id"].str.contains("/mae").sum() == 2


def test_casme3a_me_sheet_without_mae_sheet_is_reported(tmp_path) -> None:
    root, ann = _part_a(tmp_path)
    me = me_book(ann / ME_NAME, ME_ROWS)
    for given in (None, me):
        rec = load_long("casme3a", root, given)
        assert rec.annotations == (me,) and rec.intervals["kind"].tolist() == ["micro"]
        issue = rec.issues[rec.issues["problem"] == "macro_sheet_missing"]
        assert len(issue) == 1 and issue["severity"].iloc[0] == "warning"
        assert MAE_NAME in issue["detail"].iloc[0] and "micro" in issue["detail"].iloc[0]


def test_casme3a_old_mae_name_is_still_found_and_the_released_one_preferred(tmp_path) -> None:
    root, ann = _part_a(tmp_path)
    me_book(ann / ME_NAME, ME_ROWS)
    old = write_book(ann / OLD_MAE_NAME, {"Sheet1": [ME_HEADER[:5] + ["emotion"], ["spNO.1", "a", 50, 55, 70, "fear"]]})
    rec = load_long("casme3a", root)
    assert rec.annotations[1] == old and rec.intervals["kind"].tolist() == ["micro", "macro"]
    released = write_book(ann / MAE_NAME, {"Sheet1": [MAE_HEADER, *MAE_ROWS]})
    rec = load_long("casme3a", root)
    assert rec.annotations[1] == released and rec.intervals["kind"].tolist() == ["micro", "macro", "macro"]
    note = rec.issues[rec.issues["problem"] == "annotation_not_read"]
    assert len(note) == 1 and note["severity"].iloc[0] == "info" and OLD_MAE_NAME in note["detail"].iloc[0]


def test_synthetic_long_casme3a_writes_the_released_sheets(tmp_path) -> None:
    paths = write_long_synthetic(tmp_path, corpora=("casme3a",), n_subjects=1, videos_per_subject=2, n_frames=150,
                                 size=(32, 32), n_micro=1, n_macro=1, n_blinks=0, seed=3)  # fmt: skip
    root, written = paths["casme3a"]
    assert [p.name for p in written] == [ME_NAME, MAE_NAME]
    me = openpyxl.load_workbook(written[0])
    assert me.sheetnames[0] == "label"
    assert [c.value for c in me["label"][1]] == ME_HEADER
    assert {c.data_type for row in me["label"].iter_rows() for c in row} == {"s"}  # every cell text, as released
    mae = openpyxl.load_workbook(written[1])
    assert mae.sheetnames == ["Sheet1"] and [c.value for c in mae["Sheet1"][1]] == MAE_HEADER
    emotions = {c.value for c in mae["Sheet1"]["G"][1:]}
    assert emotions and emotions <= {"happiness", "sadness", "anger", "disgust", "fear", "surprise", "others"}

    rec = load_long("casme3a", root)
    assert rec.annotations == tuple(written) and rec.issues.empty
    truth = json.loads((root / LONG_TRUTH_FILE).read_text())["recordings"]
    for i, t in enumerate(truth):
        want = sorted((e["onset"], e["apex"], e["offset"], e["kind"]) for e in t["expressions"])
        got = rec.intervals[rec.intervals["recording"] == i]
        assert sorted(zip(got["onset"], got["apex"], got["offset"], got["kind"], strict=True)) == want


# --- part C ----------------------------------------------------------------------------------------------------

C_ROWS = [
    [1, 1, 373, 385, "R4,5", "negative"],
    [1, 2, 6450, 6464, "R2,7", "surprise"],
    [1, 3, 7108, 7121, "2,24", "others"],
    [2, 1, 100, 110, "6,12", "positive"],
    [2, 2, 200, 212, "4，7", "happiness"],  # a part-A word: not part C's
]


def test_casme3c_emotions_are_the_four_classes_of_the_release(tmp_path) -> None:
    # Before: part C was given part A's vocabulary, so validate reported every released emotion as unknown
    # (115 unknown_emotion errors on the release).
    root = tmp_path / "part_C" / "data"
    for s, c, on, off, *_ in C_ROWS:
        frames(root / f"{s:02d}" / str(c) / "color", range(on, off + 1))
    sheet = write_book(
        tmp_path / "part_C" / "CAS(ME)3_part_C_ME.xlsx", {"mockCrimeME": [C_HEADER, *C_ROWS]}, text=False
    )
    d = load("casme3c", root, sheet)
    assert d.samples["emotion"].tolist() == ["negative", "surprise", "others", "positive", "happiness"]
    report = validate(d, check_images=False)
    unknown = report[report["problem"] == "unknown_emotion"]
    assert unknown["sample_id"].tolist() == ["casme3c/02/2"], report
    assert "'happiness'" in unknown["detail"].iloc[0] and "negative" in unknown["detail"].iloc[0]
    # CAS(ME)^3 is no part of MEGC2019: its samples get no MEGC2019 class, as part A's do
    assert (d.samples["megc2019"] == "").all()


def test_synthetic_casme3c_writes_the_four_classes(tmp_path) -> None:
    written = synthetic.write_synthetic(tmp_path, corpora=("casme3c",), n_subjects=3, clips_per_subject=6,
                                        size=(32, 32), n_frames=(4, 5), seed=7)  # fmt: skip
    root, sheet = written["casme3c"]
    assert pd.read_excel(sheet).columns.tolist() == C_HEADER
    d = load("casme3c", root, sheet)
    assert set(d.samples["emotion"]) <= {"negative", "positive", "surprise", "others"}
    assert d.samples["emotion"].nunique() >= 3
    assert "unknown_emotion" not in set(validate(d, check_images=False)["problem"])
