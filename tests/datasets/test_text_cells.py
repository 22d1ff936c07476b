"""Sheets whose numbers are stored as text read as the same numbers, and their known corrections apply.

The released CAS(ME)^3 part A sheet (``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx``) stores every cell as text,
frame numbers included (``'355'``). pandas 3 reads a column of text as a ``str`` column, which accepts no
number: writing a known correction's frame number into it raised ``TypeError: Invalid value '123' for dtype
'str'``. Here every corpus's sheet is rewritten with all its cells as text (the release-sized sheets with the
known mistakes planted, and the synthetic sheets with frames) and must read exactly as the numeric sheet does,
under pandas 3's string inference and under pandas 2's (``object`` columns).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mefast.datasets import SPECS, load, synthetic
from mefast.datasets._engine.corrections import Correction, CorrectionLog, apply_corrections
from mefast.datasets._engine.table import frame_cell, read_sheet

from ._known_corrections import KNOWN


def as_text(path: Path, out: Path) -> Path:
    """The workbook at ``path`` with every non-empty cell of every sheet stored as text (``12.0`` -> ``'12'``)."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if value is None or isinstance(value, str):
                    continue
                cell.value = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out


def test_as_text_stores_every_cell_as_text(tmp_path: Path) -> None:
    sheet = tmp_path / "numbers.xlsx"
    pd.DataFrame({"Onset": [355, 7.0], "AU": ["4", "R12"]}).to_excel(sheet, index=False)
    book = openpyxl.load_workbook(as_text(sheet, tmp_path / "text" / "numbers.xlsx"))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert {c.data_type for c in cells} == {"s"}
    assert [c.value for c in cells] == ["Onset", "AU", "355", "4", "7", "R12"]


@contextlib.contextmanager
def string_semantics(kind: str) -> Iterator[None]:
    """pandas 3's string inference (``str`` columns) or pandas 2's (``object`` columns), where pandas can switch.

    Only switching the option is kept quiet (pandas 3 deprecates it); the code under test warns as usual.
    """
    key = "future.infer_string"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            before = pd.get_option(key)
        except (pd.errors.OptionError, KeyError):
            before = None
        if before is not None and before != (kind == "pandas3"):
            pd.set_option(key, kind == "pandas3")
    if before is None and kind == "pandas3":
        pytest.skip(f"this pandas ({pd.__version__}) has no string inference to switch on")
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if before is not None:
                pd.set_option(key, before)


def _same_reading(got, want) -> None:
    pd.testing.assert_frame_equal(got.samples, want.samples)
    pd.testing.assert_frame_equal(got.corrections, want.corrections)
    assert got.issues[["sample_id", "problem", "severity"]].values.tolist() == (
        want.issues[["sample_id", "problem", "severity"]].values.tolist()
    )


@pytest.mark.parametrize("semantics", ["pandas3", "pandas2"])
@pytest.mark.parametrize("corpus", sorted(KNOWN))
def test_release_sheet_stored_as_text_reads_and_corrects_as_the_numeric_one(sheets, corpus, semantics) -> None:
    spec = SPECS[corpus]
    rows = sheets.consistent(corpus, sheets.rows(corpus, spec.release_rows))
    sheets.plant(corpus, rows)
    root, sheet = sheets.write(corpus, rows)
    text = as_text(sheet, sheets.tmp_path / "text" / sheet.name)
    with string_semantics(semantics):
        want = load(corpus, root, sheet)
        got = load(corpus, root, text)
    assert (got.corrections["status"] == "applied").any()  # the known corrections were written into the table
    _same_reading(got, want)


@pytest.fixture(scope="module")
def synthetic_corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    corpora = [c for c in synthetic.LAYOUTS if SPECS[c].read is None]  # SMIC ships no sheet
    out = tmp_path_factory.mktemp("text_cells")
    return synthetic.write_synthetic(
        out, corpora=corpora, n_subjects=2, clips_per_subject=3, size=(32, 32), n_frames=(4, 5), seed=4
    )


@pytest.mark.parametrize("semantics", ["pandas3", "pandas2"])
@pytest.mark.parametrize("corpus", [c for c in synthetic.LAYOUTS if c != "smic"])
def test_synthetic_sheet_stored_as_text_reads_as_the_numeric_one(synthetic_corpora, tmp_path, corpus, semantics):
    root, sheet = synthetic_corpora[corpus]
    text = as_text(sheet, tmp_path / sheet.name)
    with string_semantics(semantics):
        want = load(corpus, root, sheet)
        got = load(corpus, root, text)
    _same_reading(got, want)


def test_read_sheet_reads_frame_numbers_stored_as_text_as_numbers(tmp_path: Path) -> None:
    sheet = tmp_path / "text.csv"  # a CSV sheet holds nothing but text
    sheet.write_text("Subject,Filename,Onset,Apex,Offset,AU,emotion\n1,a,355,/,0360,4,others\n1,b,-6,x,7.0,12,happy\n")
    table, header = read_sheet(sheet, SPECS["casme3a"].columns, ("subject", "clip", "onset", "apex", "offset"))
    assert header == 0 and (table.dtypes == "object").all()
    assert table[["onset", "apex", "offset"]].values.tolist() == [[355, "/", 360], ["-6", "x", 7]]
    assert table["aus"].tolist() == ["4", "12"] and table["subject"].tolist() == ["1", "1"]  # other fields as read


@pytest.mark.parametrize("dtype", ["str", "int64", "float64"])
def test_corrections_write_into_a_column_of_any_dtype(dtype: str) -> None:
    spec = SPECS["casme3a"]
    table = pd.DataFrame({"subject": ["spNO.1"] * 2, "clip": ["a", "b"], "onset": [1, 20], "apex": [50, 25],
                          "offset": [9, 30], "aus": ["4", "12"], "emotion": ["others", "happy"],
                          "objective": [None, None]})  # fmt: skip
    table["apex"] = table["apex"].astype(dtype)
    fix = Correction(None, "apex", 5, "apex after the offset", subject="spNO.1", clip="a")
    log = CorrectionLog()
    apply_corrections(spec, [fix], table, log, lambda r: r + 2)
    assert table.at[0, "apex"] == 5 and frame_cell(table.at[1, "apex"]) == 25
    assert [(c["old"], c["new"], c["status"]) for c in log.corrections] == [("50", "5", "applied")]
