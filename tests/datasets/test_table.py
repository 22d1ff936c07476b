"""Reading annotation sheets: which column a field takes, and how cells become text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mefast.datasets import SPECS
from mefast.datasets._engine.table import read_sheet


@pytest.mark.parametrize(
    ("corpus", "header", "field", "want"),
    [
        # CAS(ME)^3 C's own "count" is preferred to the standard "Filename", which stands to its right here.
        ("casme3c", ["sub", "count", "onset", "offset", "au", "emotion", "Filename"], "clip", [1]),
        # CASME II's "Estimated Emotion" is preferred to a plain "Emotion" column to its right.
        (
            "casme2",
            ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion",
             "Emotion"],
            "emotion",
            ["happiness"],
        ),
        # ... and wherever the preferred spelling stands.
        (
            "casme2",
            ["Emotion", "Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
             "Estimated Emotion"],
            "emotion",
            ["happiness"],
        ),
    ],
    ids=["casme3c-count-before-filename", "casme2-estimated-left", "casme2-estimated-right"],
)  # fmt: skip
def test_a_field_takes_its_preferred_spelling_when_two_columns_match(tmp_path, corpus, header, field, want):
    values = {
        "sub": 1, "count": 1, "onset": 10, "offset": 20, "au": "4", "emotion": "happy",
        "Filename": "01_0101disgustingteeth.avi" if corpus == "casme3c" else "EP01",
        "Subject": 1, "OnsetFrame": 1, "ApexFrame": 2, "OffsetFrame": 3, "Action Units": "12",
        "Estimated Emotion": "happiness", "Emotion": "positive",
    }  # fmt: skip
    spec = SPECS[corpus]
    assert spec.columns[field][0] in header  # the preferred spelling is the one expected
    path = tmp_path / "sheet.xlsx"
    pd.DataFrame([[values[h] for h in header]], columns=header).to_excel(path, index=False)
    table, header_row = read_sheet(path, spec.columns, spec.required)
    assert header_row == 0 and table[field].tolist() == want


@pytest.mark.parametrize(
    ("cell", "want"),
    [(1.0, "1"), ("1.0", "1"), (" 12.00 ", "12"), ("sub1.0", "sub1.0"), ("EP01_1.5", "EP01_1.5"), ("1.05", "1.05")],
    ids=["float", "text", "text-padded", "prefixed", "clip-name", "fraction"],
)
def test_text_cell_drops_the_zero_fraction_of_integral_text(cell, want):
    from mefast.datasets._engine.table import text_cell

    assert text_cell(cell) == want


def test_csv_sheet_with_subjects_written_as_floats_finds_its_clips(tmp_path):
    # pandas writes an integer column holding a blank as floats ("1.0"); Excel's "CSV UTF-8" adds a BOM.
    import cv2

    from mefast.datasets import load, validate

    root = tmp_path / "Cropped"
    for subject, clip, frames in (("sub01", "EP02_01f", range(46, 52)), ("sub02", "EP03_02", range(5, 11))):
        (root / subject / clip).mkdir(parents=True)
        for n in frames:
            cv2.imwrite(str(root / subject / clip / f"reg_img{n}.jpg"), np.full((8, 8, 3), 100, np.uint8))
    sheet = tmp_path / "CASME2-coding-20140508.csv"
    sheet.write_text(
        "\ufeffSubject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n"
        "1.0,EP02_01f,46.0,48.0,51.0,4+12,happiness\n"
        "2.0,EP03_02,5.0,,10.0,R12,others\n",
        encoding="utf-8",
    )
    d = load("casme2", root, sheet)
    assert d.samples["sample_id"].tolist() == ["casme2/01/EP02_01f", "casme2/02/EP03_02"]
    assert d.samples["n_frames"].tolist() == [6, 6]
    assert d.clip_dirs == [root / "sub01" / "EP02_01f", root / "sub02" / "EP03_02"]
    assert "missing_folder" not in set(validate(d, decode=False)["problem"])


@pytest.mark.parametrize(
    ("cell", "want"),
    [(0, 0), (46.0, 46), (" 59 ", 59), (np.int64(7), 7), (-6, None), (-1, None), (-6.0, None), ("-6", None),
     (np.int64(-6), None), (56.5, None), ("/", None), (True, None)],
    ids=["zero", "float", "text", "int64", "negative", "minus-one", "negative-float", "negative-text",
         "negative-int64", "fraction", "slash", "bool"],
)  # fmt: skip
def test_frame_cell_takes_only_numbers_from_zero_up(cell, want):
    from mefast.datasets._engine.table import frame_cell

    assert frame_cell(cell) == want
