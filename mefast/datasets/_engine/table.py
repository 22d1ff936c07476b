"""Reading annotation spreadsheets: find the header row, map each corpus's column names, parse cells.

Corpora put their header on the first row (CASME II), below a block of notes (SAMM), or use their own
spellings of the same field; :func:`read_sheet` finds the row that holds every required column and returns
the data rows below it with mefast's field names. Row ``i`` of the result is data row ``i`` of the sheet
(blank rows included), which is how the known corrections address rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from ...errors import AnnotationError

__all__ = [
    "FRAME_FIELDS",
    "frame_cell",
    "is_blank",
    "is_blank_row",
    "norm_name",
    "read_sheet",
    "sheet_columns",
    "text_cell",
    "zero_padded",
]

_HEADER_SEARCH_ROWS = 40

#: The fields whose cells are frame numbers.
FRAME_FIELDS = ("onset", "apex", "offset")


def norm_name(name: object) -> str:
    """Column-name key: lower-case letters and digits only (``"Onset Frame" -> "onsetframe"``)."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _read_raw(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        # Cells are kept as written ("n/a", "None", "/" included); mefast's parsers decide what they mean.
        if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
            return pd.read_excel(path, header=None, dtype=object, keep_default_na=False, na_values=[""])
        if suffix in (".csv", ".txt"):
            return pd.read_csv(
                path, header=None, dtype=object, skip_blank_lines=False, keep_default_na=False, na_values=[""]
            )
    except ImportError as e:  # .xls needs xlrd, .ods needs odfpy
        raise AnnotationError(f"cannot read annotation file {path}: {e}; save it as .xlsx") from e
    except Exception as e:  # a damaged or non-spreadsheet file: name the file, keep the cause
        raise AnnotationError(f"cannot read annotation file {path}: {type(e).__name__}: {e}") from e
    raise AnnotationError(f"annotation file {path} is not a spreadsheet (.xlsx, .xls or .csv expected)")


def sheet_columns(
    *, subject: str | None = None, clip: str | None = None, frames: Sequence[str], **fields: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """A corpus's column spellings (``CorpusSpec.columns``), stating only what its sheet names its own way.

    Parameters
    ----------
    subject, clip : str, optional
        The sheet's own header of the subject and the clip, tried before ``"Subject"`` and ``"Filename"``
        (the headers most corpora use, and the only ones when not given).
    frames : sequence of str
        How the sheet spells the onset, apex and offset columns, most likely first, as templates of
        ``{Field}`` (``"Onset"``) or ``{field}`` (``"onset"``): ``"{Field} Frame"`` -> ``"Onset Frame"``.
    **fields : tuple of str
        The other fields' spellings (``aus``, ``emotion``, ...), in sheet order; a frame field given here
        replaces its templated spellings.

    Returns
    -------
    dict
        field -> accepted column names: subject, clip, onset, apex, offset, then ``fields``.
    """
    own = {"subject": subject, "clip": clip}
    standard = {"subject": "Subject", "clip": "Filename"}
    columns = {k: tuple(c for c in (own[k], standard[k]) if c) for k in standard}
    for name in ("onset", "apex", "offset"):
        columns[name] = tuple(t.format(field=name, Field=name.capitalize()) for t in frames)
    return {**columns, **fields}


def _columns_of(keys: list[str], wanted: Mapping[str, list[str]]) -> dict[str, int]:
    """Field -> position of the first of its spellings (the preferred one) among a row's column keys."""
    found = {}
    for f, names in wanted.items():
        key = next((n for n in names if n and n in keys), None)
        if key is not None:
            found[f] = keys.index(key)
    return found


def read_sheet(
    path: str | Path,
    columns: Mapping[str, Sequence[str]],
    required: Sequence[str],
) -> tuple[pd.DataFrame, int]:
    """Read an annotation sheet into mefast's field names.

    Parameters
    ----------
    path : path-like
        The spreadsheet as the corpus distributes it.
    columns : mapping
        mefast field -> accepted column names (any spelling; compared by :func:`norm_name`), preferred first:
        a sheet holding two of them gives the field the first one's column.
    required : sequence of str
        Fields that must be present.

    Returns
    -------
    table : DataFrame
        One row per data row of the sheet (RangeIndex), the fields found as columns of dtype object, cells
        as read but for frame numbers stored as text, which become numbers (``'355'`` -> ``355``; the
        :data:`FRAME_FIELDS` cells that :func:`frame_cell` reads as a frame number). Trailing blank rows are
        dropped, blank rows between data rows are kept.
    header_row : int
        0-based sheet row of the header; data row ``i`` is sheet row ``header_row + 1 + i``.

    Raises
    ------
    AnnotationError
        Unreadable file, or no row within the first 40 holds all required columns (the message lists the
        columns that were found closest to a header).
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"annotation file {path} does not exist")
    raw = _read_raw(path)
    if raw.empty:
        raise AnnotationError(f"annotation file {path} is empty")
    wanted = {f: [norm_name(n) for n in names] for f, names in columns.items()}
    best: tuple[int, list[str]] = (-1, [])
    for r in range(min(_HEADER_SEARCH_ROWS, len(raw))):
        keys = [norm_name(v) if not is_blank(v) else "" for v in raw.iloc[r].tolist()]
        found = _columns_of(keys, wanted)
        if all(f in found for f in required):
            data = raw.iloc[r + 1 :]
            # Object columns whatever the cells hold: pandas 3 would make a column of text (the released
            # CAS(ME)^3 A sheet stores every cell as text) a str column, which takes no frame number.
            table = pd.DataFrame({f: _cells(f, data.iloc[:, c].tolist()) for f, c in found.items()}, dtype=object)
            # Drop trailing rows that are entirely blank (Excel often keeps formatted empty rows).
            nonblank = [i for i in range(len(table)) if not all(is_blank(v) for v in table.iloc[i])]
            table = table.iloc[: (nonblank[-1] + 1) if nonblank else 0].reset_index(drop=True)
            return table, r
        if len(found) > len(best[1]):
            best = (r, sorted(found))
    missing = sorted(set(required) - set(best[1]))
    names = {f: list(columns[f]) for f in missing}
    raise AnnotationError(
        f"annotation file {path}: no header row with the required columns; missing {names}"
        + (f" (closest header: sheet row {best[0] + 1})" if best[0] >= 0 else "")
    )


def _cells(field: str, values: list[object]) -> list[object]:
    """A column's cells as read, a frame number stored as text (``'355'``) as the number (``355``)."""
    if field not in FRAME_FIELDS:
        return values
    return [number if isinstance(v, str) and (number := frame_cell(v)) is not None else v for v in values]


def is_blank(value: object) -> bool:
    """Whether a sheet cell is empty: None, NaN or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def text_cell(value: object) -> str:
    """A cell as trimmed text; integral numbers lose their ``.0``, as floats and as text.

    Excel stores ``1`` as ``1.0``, and a CSV column that pandas wrote with a blank cell holds ``"1.0"``.

    >>> text_cell(1.0), text_cell(" 1.0 "), text_cell("07.00"), text_cell("EP01_1.5")
    ('1', '1', '7', 'EP01_1.5')
    """
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0+", text):
        return str(int(text.split(".")[0]))
    return text


def zero_padded(width: int, prefix: str = "") -> Callable[[object], str]:
    """A subject-cell normaliser: the cell's text less a leading ``prefix`` (any case), numbers zero-padded.

    >>> zero_padded(2, "sub")(1.0), zero_padded(2, "sub")("sub7"), zero_padded(3)("6"), zero_padded(3)("x1")
    ('01', '07', '006', 'x1')
    >>> zero_padded(2)("1.0"), zero_padded(2, "sub")("sub1.0")  # CSV cells
    ('01', '01')
    """

    def normalise(value: object) -> str:
        text = text_cell(value)
        text = text_cell(text[len(prefix) :]) if prefix and text.lower().startswith(prefix.lower()) else text
        return text.zfill(width) if text.isdigit() else text

    return normalise


def frame_cell(value: object) -> int | None:
    """A frame number from a cell, ``None`` when the cell holds none (blank, ``"/"``, text, a fraction).

    Frame numbers are 0 or more: a negative number (a typed sign, ``-1`` for "unknown") is no frame number
    either, so the readers report it as an invalid annotation rather than store it.

    >>> frame_cell(46.0), frame_cell(" 59 "), frame_cell("/"), frame_cell(0)
    (46, 59, None, 0)
    >>> frame_cell(-6), frame_cell(-1.0), frame_cell("-6"), frame_cell(56.5)
    (None, None, None, None)
    """
    if is_blank(value) or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.0+)?", text):
        return int(float(text))
    return None


def is_blank_row(row: pd.Series) -> bool:
    """True when every cell of a sheet row is blank."""
    return all(is_blank(v) for v in row.tolist())
