"""Reading annotation sheets: which column a field takes, and how cells become text."""

from __future__ import annotations

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
