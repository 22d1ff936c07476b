"""CASME, CASME II and SAMM readers against the formats their corpora are distributed in.

Each test builds small fake files in the real layout (never the licensed ones):

- CASME II's coding sheet: ``Subject, Filename, (blank), OnsetFrame, ApexFrame, OffsetFrame, (blank),
  Action Units, Estimated Emotion``, subjects as numbers (as the MEB library and public loaders read it), in
  ``CASME2-coding-20140508.xlsx`` or the later ``CASME2-coding-20190701.xlsx``;
- CASME II's ``CASME2-ObjectiveClasses.xlsx`` beside it: ``Subject, Filename, Objective Class``, one row per
  sample, subjects as numbers, the class as an integer 1-7 (public loaders read it with ``int(cell)``, filter
  ``'Objective Class' < 6`` and merge it on ``Subject`` and ``Filename``);
- SAMM's sheet: 13 rows of notes, then ``Subject, Filename, Inducement Code, Onset Frame, Apex Frame,
  Offset Frame, Duration, Micro, Action Units, Estimated Emotion, Objective Classes, Notes`` (public loaders
  read it by position: ``usecols=[0, 1, 3, 4, 5, 8, 9]``, the class from column 11, 1-based).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pandas as pd
import pytest

from mefast.datasets import load, synthetic
from mefast.datasets.corpora import casme, casme2
from mefast.labels import objective_class, parse_aus

_CODING_HEADER = [
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
]


def _xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def _frames(folder: Path, numbers: range) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        cv2.imwrite(str(folder / f"img{n}.jpg"), np.full((8, 8, 3), 128, np.uint8))


#: (subject number, clip, onset, apex, offset, AUs, emotion). '4+L10' ties classes III (4+10) and IV (10),
#: for which the MEGC2018 AU rule gives VII; the published file gives the class the annotators chose.
_CLIPS = [
    (1, "EP03_02", 1, 10, 20, "4+L10", "repression"),
    (1, "EP02_01f", 46, 59, 86, "12", "happiness"),
    (2, "EP09_01", 5, 8, 12, "1+2", "surprise"),
]


def _casme2(tmp_path: Path, sheet_name: str = "CASME2-coding-20140508.xlsx") -> tuple[Path, Path]:
    """A CASME II folder with its coding sheet and frames: (frame root, sheet)."""
    top = tmp_path / "CASME2"
    sheet = _xlsx(
        top / sheet_name,
        [_CODING_HEADER, *[[s, c, None, on, ap, off, None, aus, emo] for s, c, on, ap, off, aus, emo in _CLIPS]],
    )
    for s, c, on, _, off, _, _ in _CLIPS:
        _frames(top / "CASME2_RAW_selected" / f"sub{s:02d}" / c, range(on, off + 1))
    return top / "CASME2_RAW_selected", sheet


def _objective_file(path: Path, rows: list[tuple[object, str, object]]) -> Path:
    return _xlsx(path, [["Subject", "Filename", "Objective Class"], *[list(r) for r in rows]])


def _classes(d) -> dict[str, int]:
    return dict(zip(d.samples["clip"], d.samples["objective_class"], strict=True))


# --- 1. CASME II's objective classes ---------------------------------------------------------------------------


def test_casme2_reads_the_objective_class_file_beside_the_sheet(tmp_path):
    root, sheet = _casme2(tmp_path)
    assert objective_class(parse_aus("4+L10")) == 7  # what the AU rule gives the tie
    _objective_file(
        sheet.parent / "CASME2-ObjectiveClasses.xlsx", [(1, "EP03_02", 4), (1, "EP02_01f", 1), (2, "EP09_01", 6)]
    )
    d = load("casme2", root)
    assert d.annotations == sheet
    assert _classes(d) == {"EP03_02": 4, "EP02_01f": 1, "EP09_01": 6}  # the file's classes, not the AU rule's
    assert not d.issues["problem"].str.startswith("objective_class").any(), d.issues.to_string()


def test_casme2_objective_classes_join_on_subject_and_clip_not_position(tmp_path):
    root, sheet = _casme2(tmp_path)
    # rows in another order, subjects written as text ("sub02", "01") and a roman class: still the same samples
    _objective_file(
        sheet.parent / "CASME2-ObjectiveClasses.xlsx",
        [("sub02", "EP09_01", "VI"), ("01", "EP02_01f", 1), (1, "EP03_02", 3)],
    )
    assert _classes(load("casme2", root, sheet)) == {"EP03_02": 3, "EP02_01f": 1, "EP09_01": 6}


def test_casme2_a_sample_missing_from_the_objective_file_is_derived_and_reported(tmp_path):
    root, sheet = _casme2(tmp_path)
    obj = _objective_file(
        sheet.parent / "CASME2-ObjectiveClasses.xlsx", [(1, "EP03_02", 4), (2, "EP09_01", 9), (3, "EP01_01", 2)]
    )
    d = load("casme2", root, sheet)
    assert _classes(d) == {"EP03_02": 4, "EP02_01f": 1, "EP09_01": 2}  # the last two derived from their AUs
    issues = d.issues.set_index(["sample_id", "problem"])
    missing = issues.loc[("casme2/01/EP02_01f", "objective_class_missing")]
    assert missing["severity"] == "warning" and obj.name in missing["detail"] and "derived" in missing["detail"]
    invalid = issues.loc[("casme2/02/EP09_01", "objective_class_invalid")]
    assert invalid["severity"] == "warning" and "9" in invalid["detail"]
    unmatched = d.issues[d.issues["problem"] == "objective_class_unmatched"]
    assert len(unmatched) == 1 and "03/EP01_01" in unmatched["detail"].iloc[0]
    assert unmatched["severity"].iloc[0] == "warning"


def test_casme2_objective_file_can_be_passed_or_refused(tmp_path):
    root, sheet = _casme2(tmp_path)
    elsewhere = _objective_file(tmp_path / "labels" / "objective.xlsx", [(s, c, 5) for s, c, *_ in _CLIPS])
    assert set(_classes(load("casme2", root, sheet, objective_classes=elsewhere)).values()) == {5}
    _objective_file(sheet.parent / "CASME2-ObjectiveClasses.xlsx", [(s, c, 2) for s, c, *_ in _CLIPS])
    assert set(_classes(load("casme2", root, sheet)).values()) == {2}
    derived = load("casme2", root, sheet, objective_classes=False)
    assert _classes(derived) == {c: objective_class(parse_aus(a)) for _, c, _, _, _, a, _ in _CLIPS}
    assert "objective_class_derived" in set(derived.issues["problem"])


def test_casme2_without_the_objective_file_records_that_the_class_is_derived(tmp_path):
    root, sheet = _casme2(tmp_path)
    d = load("casme2", root, sheet)
    assert _classes(d) == {c: objective_class(parse_aus(a)) for _, c, _, _, _, a, _ in _CLIPS}
    derived = d.issues[d.issues["problem"] == "objective_class_derived"]
    assert len(derived) == 1 and derived["severity"].iloc[0] == "info" and derived["sample_id"].iloc[0] == ""
    detail = derived["detail"].iloc[0]
    assert "CASME2-ObjectiveClasses.xlsx" in detail and "AUs" in detail and "not annotated" in detail


# --- 2. SAMM's column order ------------------------------------------------------------------------------------

_SAMM_ORDER = [
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset Frame",
    "Apex Frame",
    "Offset Frame",
    "Duration",
    "Micro",
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
    "Notes",
]


def test_synthetic_samm_sheet_has_the_real_column_order(tmp_path):
    assert list(synthetic.sheet_table("samm", [{}]).columns) == _SAMM_ORDER
    written = synthetic.write_synthetic(
        tmp_path, corpora=("samm",), n_subjects=1, clips_per_subject=3, size=(32, 32), n_frames=(3, 4), seed=2
    )
    root, sheet = written["samm"]
    raw = pd.read_excel(sheet, header=None)
    assert raw.iloc[13].tolist() == _SAMM_ORDER  # the header below 13 rows of notes
    d = load("samm", root, sheet)
    # A loader that reads SAMM by position (usecols=[0, 1, 3, 4, 5, 8, 9], the class from column 11) reads the
    # same samples mefast reads by name.
    table = pd.read_excel(sheet, header=13)
    by_position = table.iloc[:, [0, 1, 3, 4, 5, 8, 9, 10]]
    assert [f"{s:03d}" for s in by_position.iloc[:, 0]] == d.samples["subject"].tolist()
    assert by_position.iloc[:, 1].tolist() == d.samples["clip"].tolist()
    for j, col in ((2, "onset"), (3, "apex"), (4, "offset"), (7, "objective_class")):
        assert by_position.iloc[:, j].astype(int).tolist() == d.samples[col].tolist(), col
    assert [parse_aus(a) for a in by_position.iloc[:, 5]] == [parse_aus(a) for a in d.samples["aus"]]
    assert by_position.iloc[:, 6].str.lower().tolist() == d.samples["emotion"].tolist()


def test_samm_docstring_lists_the_real_columns():
    from mefast.datasets.corpora import samm

    text = " ".join((samm.__doc__ or "").split())
    assert ", ".join(_SAMM_ORDER) in text


# --- 3. CASME's apex reasons -----------------------------------------------------------------------------------


def test_casme_apex_reasons_are_true():
    fixed = {(c.row, c.field): int(c.value) for c in casme.CORRECTIONS}
    for c in casme.CORRECTIONS:
        if c.field != "apex":
            continue
        middle = (fixed[(c.row, "onset")] + fixed[(c.row, "offset")]) // 2
        if "the middle frame" in c.reason and "middle of" not in c.reason:
            assert c.value == middle, (c.row, c.reason)
    row40 = next(c for c in casme.CORRECTIONS if (c.row, c.field) == (40, "apex"))
    assert row40.value == 120  # MEB's value, kept for compatibility
    assert "MEB" in row40.reason and "124" in row40.reason and "100..149" in row40.reason


# --- 4. CASME II's later coding sheet --------------------------------------------------------------------------


def test_casme2_finds_the_20190701_sheet(tmp_path):
    root, sheet = _casme2(tmp_path, "CASME2-coding-20190701.xlsx")
    d = load("casme2", root)
    assert d.annotations == sheet and len(d) == len(_CLIPS)


def test_casme2_prefers_the_sheet_the_corrections_were_written_for(tmp_path):
    root, old = _casme2(tmp_path, "CASME2-coding-20140508.xlsx")
    _casme2(tmp_path, "CASME2-coding-20190701.xlsx")
    assert load("casme2", root).annotations == old
    assert casme2.SPEC.annotation_files.index("CASME2-coding-20190701.xlsx") == len(casme2.SPEC.annotation_files) - 1


@pytest.mark.parametrize("n_rows", [255, 257])
def test_row_corrections_are_not_applied_to_a_20190701_sheet_of_another_length(sheets, n_rows):
    rows = sheets.rows("casme2", n_rows)
    sheets.plant("casme2", rows)
    root, sheet = sheets.write("casme2", rows, "CASME2-coding-20190701.xlsx")
    d = load("casme2", root)
    assert d.annotations == sheet
    assert not (d.corrections["reason"].str.contains("MEB") & (d.corrections["status"] == "applied")).any()
    skipped = d.issues[d.issues["problem"] == "corrections_skipped"]
    assert len(skipped) == 1 and f"{n_rows} data rows" in skipped["detail"].iloc[0]
    assert d.samples.at[60, "offset"] == 91 + 7  # the planted mistake is left as written (and reported)


def test_row_corrections_on_a_256_row_20190701_sheet_are_checked_before_they_apply(sheets):
    rows = sheets.rows("casme2", 256)
    sheets.plant("casme2", rows)
    rows[29]["apex"] = 200  # this sheet has an apex where the release had none: left alone, reported
    _, sheet = sheets.write("casme2", rows, "CASME2-coding-20190701.xlsx")
    d = load("casme2", sheet.parent / "frames", sheet)
    assert d.samples.at[35, "apex"] == 68 and d.samples.at[29, "apex"] == 200
    conflict = d.corrections[d.corrections["status"] == "conflict"]
    assert conflict["row"].tolist() == [29]
