"""Known annotation mistakes, found by the sample they belong to and the value they expect to find.

A :class:`Correction` names its sample by identity (``subject``, ``clip``, as its sample id writes them: the
sheet's cells normalised, and numbered where the corpus numbers repeated names, CAS(ME)^3 A's ``f2``) and
says what it expects the sheet to hold: an exact wrong value (``expect``) or a kind of mistake (``when``:
a missing frame number, an AU cell offering ``or`` alternatives). :func:`apply_corrections` compares what
the sheet holds with both:

``applied``
    the sheet holds the expected mistake: the cell is replaced by the right value.
``already_fixed``
    the sheet already holds the right value: nothing to do.
``conflict``
    the sheet holds something else: nothing is changed, and the conflict is reported.

Found by identity, a correction works on a re-sorted sheet, on one with rows added or removed, on a re-saved
copy. Corrections whose sample is known only by its row in the release (the tables taken from the MEB
library, which address rows by position) are found at that row when the sheet has the release's length,
and checked the same way before anything changes; on a sheet of another length they are reported as
``unlocated``. :func:`bind_identities` turns them into identity-keyed corrections once, from a sheet of the
release, so a re-sorted or extended copy can be corrected afterwards.

Every outcome is recorded: applied, already fixed and conflicting corrections in :attr:`Dataset.corrections`
(column ``status``), conflicts and unlocated corrections also as issues of the validation report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from ...errors import AnnotationError
from ...labels import parse_au_codes
from .table import frame_cell, is_blank, text_cell

if TYPE_CHECKING:
    from .reader import CorpusSpec

__all__ = ["Correction", "CorrectionLog", "apply_corrections", "bind_identities", "show"]


@dataclass(frozen=True)
class Correction:
    """One known annotation mistake and its fix.

    Attributes
    ----------
    row : int or None
        0-based data row of the spreadsheet as the corpus distributes it (where the MEB library fixes it).
        Used to find the sample only when ``subject``/``clip`` are not given, and only on a sheet of the
        release's length.
    field : str
        ``"onset"``, ``"apex"``, ``"offset"``, ``"aus"`` or ``"labels"`` (swap the AU and emotion labels
        of this sample with those of the sample ``value``: a release row, or a ``(subject, clip)`` pair).
    value : int, str or tuple
        The corrected value (for ``"labels"``: the other sample).
    reason : str
        What is wrong and where the fix comes from.
    when : str
        The kind of mistake expected when ``expect`` is not given: ``"missing"`` (no frame number in the
        cell), ``"or"`` (the AU cell offers ``or`` alternatives) or ``"always"`` (any value but the right one).
    subject, clip : str or None
        The sample's identity as its sample id writes it: the sheet's cells after the corpus's normalisation
        and its numbering of repeated names (``CorpusSpec.transform``: CAS(ME)^3 A's second ``f`` is ``f2``).
    expect : int, str or None
        The exact wrong value the sheet is expected to hold.
    """

    row: int | None
    field: str
    value: int | str | tuple[str, str]
    reason: str
    when: str = "always"
    subject: str | None = None
    clip: str | None = None
    expect: int | str | None = None

    def __post_init__(self) -> None:
        if self.when not in ("always", "missing", "or"):
            raise ValueError(f"correction guard {self.when!r} unknown (always, missing or or)")
        if (self.subject is None) != (self.clip is None):
            raise ValueError("a correction's identity needs both subject and clip")
        if self.subject is None and self.row is None:
            raise ValueError("a correction needs an identity (subject, clip) or a release row")

    @property
    def keyed(self) -> bool:
        """Whether the sample is known by identity (rather than by its release row)."""
        return self.subject is not None


def show(value: object) -> str:
    """A cell as text for comparisons and records (blank -> ``""``)."""
    return "" if is_blank(value) else text_cell(value)


class CorrectionLog:
    """Collects corrections (with their status) and issues; sample ids are filled in once rows have them."""

    def __init__(self) -> None:
        self.corrections: list[dict] = []
        self.issues: list[dict] = []

    def fix(
        self, row: int, fld: str, old: object, new: object, reason: str, sid: str = "", status: str = "applied"
    ) -> None:
        self.corrections.append(
            {
                "sample_id": sid,
                "row": row,
                "field": fld,
                "old": show(old),
                "new": show(new),
                "reason": reason,
                "status": status,
            }
        )

    def issue(self, sid: str, problem: str, detail: str, severity: str = "error", row: int | None = None) -> None:
        """Record a problem (``row``: the sheet row, to name its sample once samples have ids)."""
        self.issues.append({"sample_id": sid, "problem": problem, "detail": detail, "severity": severity, "_row": row})


def _is_expected(c: Correction, old: object) -> bool:
    """Whether a cell holds the mistake ``c`` expects."""
    if c.expect is not None:
        return show(old) == show(c.expect)
    if c.when == "missing":
        return frame_cell(old) is None
    if c.when == "or":
        return " or " in f" {text_cell(old).lower()} "
    return True


def _identities(spec: CorpusSpec, table: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """Table row -> the sample's (subject, clip) as its sample id writes it, for rows that have both.

    Normalised by the spec, then numbered by its ``transform`` as the reader numbers them (CAS(ME)^3 A's
    repeated file names ``f``, ``f2``), so a correction names the sample the reader makes of the row.
    """
    rows = [r for r in range(len(table)) if not is_blank(table.at[r, "subject"]) and not is_blank(table.at[r, "clip"])]
    ids = table.iloc[rows].copy()
    ids["row"] = rows
    ids["subject"] = [spec.subject(v) for v in ids["subject"]]
    ids["clip"] = [spec.clip(v) for v in ids["clip"]]
    ids = ids.reset_index(drop=True)
    if spec.transform is not None:
        ids, _ = spec.transform(ids)
    return {int(r): (str(s), str(c)) for r, s, c in zip(ids["row"], ids["subject"], ids["clip"], strict=True)}


def _identity_index(spec: CorpusSpec, table: pd.DataFrame) -> dict[tuple[str, str], list[int]]:
    index: dict[tuple[str, str], list[int]] = {}
    for r, key in _identities(spec, table).items():
        index.setdefault(key, []).append(r)
    return index


def _locate(
    spec: CorpusSpec,
    c: Correction,
    ident: tuple[str, str] | None,
    table: pd.DataFrame,
    index: dict[tuple[str, str], list[int]],
    positional: bool,
) -> tuple[int | None, str]:
    """The table row of a correction's sample, or None and why not."""
    if ident is not None:
        key = (spec.subject(ident[0]), spec.clip(ident[1]))
        rows = index.get(key, [])
        if len(rows) == 1:
            return rows[0], ""
        what = f"sample {key[0]}/{key[1]}"
        return None, f"{what} is not in the sheet" if not rows else f"{what} is in the sheet {len(rows)} times"
    if not positional or c.row is None or c.row >= len(table):
        return None, f"release row {c.row}: the sheet is not the release layout"
    return c.row, ""


def _holds(field: str, cell: object, value: object) -> bool:
    """Whether a sheet cell already holds a correction's value.

    AU cells compare as codes (``"R12 + R15"`` is ``"R12+R15"``), other cells as their text.
    """
    if field == "aus":
        try:
            return set(parse_au_codes(cell)) == set(parse_au_codes(value))
        except AnnotationError:
            pass  # a cell that does not parse (an "or" alternative) holds no fix
    return show(cell) == show(value)


def _set(table: pd.DataFrame, r: int, field: str, value: object) -> None:
    """Write a cell whatever its column's dtype: a typed column (``str``, ``int64``) becomes ``object`` first.

    A frame number must fit a column pandas read as text (pandas 3 makes a column of text cells a ``str``
    column), an AU string one it read as numbers.
    """
    if table[field].dtype != object:
        table[field] = table[field].astype(object)
    table.at[r, field] = value


def apply_corrections(
    spec: CorpusSpec,
    corrections: Sequence[Correction],
    table: pd.DataFrame,
    log: CorrectionLog,
    sheet_row: Callable[[int], int],
) -> None:
    """Apply ``corrections`` to a sheet's table in place, recording every outcome (see the module docstring)."""
    if not corrections:
        return
    index = _identity_index(spec, table)
    positional = spec.release_rows is None or len(table) == spec.release_rows
    unlocated: list[str] = []
    for c in corrections:
        ident = (str(c.subject), str(c.clip)) if c.keyed else None
        r, why = _locate(spec, c, ident, table, index, positional)
        if r is None:
            if c.keyed:
                detail = f"{spec.title}: {c.field} correction ({c.reason}): {why}"
                log.issue("", "correction_not_found", detail, "warning")
            else:
                unlocated.append(f"{c.field} of release row {c.row}")
            continue
        where = f"sheet row {sheet_row(r)}"
        if c.field == "labels":
            _swap_labels(spec, c, r, table, index, positional, log, sheet_row)
            continue
        if c.field not in table.columns:
            table[c.field] = None
        old = table.at[r, c.field]
        if _holds(c.field, old, c.value):
            log.fix(r, c.field, old, c.value, f"{c.reason} ({where})", status="already_fixed")
            detail = f"{spec.title} {where}: {c.field} already holds the known fix {show(c.value)!r} ({c.reason})"
            log.issue("", "correction_already_fixed", detail, "info", row=r)
        elif _is_expected(c, old):
            _set(table, r, c.field, c.value)
            log.fix(r, c.field, old, c.value, f"{c.reason} ({where})")
        else:
            expected = show(c.expect) if c.expect is not None else {"missing": "no frame number", "or": "'or'"}[c.when]
            detail = (
                f"{spec.title} {where}: the known {c.field} correction expects {expected!r} or the fix "
                f"{show(c.value)!r}, the sheet holds {show(old)!r}; left as it is ({c.reason})"
            )
            log.fix(r, c.field, old, old, detail, status="conflict")
            log.issue("", "correction_conflict", detail, "warning", row=r)
    if unlocated:
        log.issue(
            "",
            "corrections_skipped",
            f"{spec.title}: the annotation sheet has {len(table)} data rows, the release mefast's "
            f"{len(unlocated)} position-keyed corrections refer to has {spec.release_rows}; none of them was "
            f"applied ({', '.join(unlocated[:6])}{'...' if len(unlocated) > 6 else ''}); identity-keyed "
            "corrections (bind_identities) work on any sheet; validate() reports what remains wrong",
            severity="warning",
        )


def _swap_labels(
    spec: CorpusSpec,
    c: Correction,
    r: int,
    table: pd.DataFrame,
    index: dict[tuple[str, str], list[int]],
    positional: bool,
    log: CorrectionLog,
    sheet_row: Callable[[int], int],
) -> None:
    other_id = c.value if isinstance(c.value, tuple) else None
    other_row = None if other_id is not None else int(c.value)  # type: ignore[arg-type]  # a release row
    probe = Correction(
        other_row, "labels", 0, c.reason, subject=other_id and other_id[0], clip=other_id and other_id[1]
    )
    other, why = _locate(spec, probe, other_id, table, index, positional)
    if other is None:
        log.issue("", "correction_not_found", f"{spec.title}: labels correction ({c.reason}): {why}", "warning")
        return
    where = f"sheet rows {sheet_row(r)}, {sheet_row(other)}"
    fields = [f for f in ("aus", "emotion", "objective") if show(table.at[r, f]) != show(table.at[other, f])]
    if not fields:
        log.fix(r, "labels", "", "", f"{c.reason} ({where}): both rows hold the same labels", status="already_fixed")
        return
    for fld in fields:
        a, b = table.at[r, fld], table.at[other, fld]
        _set(table, r, fld, b)
        _set(table, other, fld, a)
        log.fix(r, fld, a, b, f"{c.reason} ({where})")
        log.fix(other, fld, b, a, f"{c.reason} ({where})")


def bind_identities(spec: CorpusSpec, table: pd.DataFrame, corrections: Sequence[Correction]) -> list[Correction]:
    """Identity-keyed copies of position-keyed corrections, read from a sheet of the release.

    Parameters
    ----------
    spec : CorpusSpec
    table : pandas.DataFrame
        The release sheet as :func:`~mefast.datasets._engine.table.read_sheet` returns it (release length).
    corrections : sequence of Correction

    Returns
    -------
    list of Correction
        Each correction with the ``subject`` and ``clip`` of its release row's sample id (the other sample of
        a labels swap as a ``(subject, clip)`` value); corrections already keyed are returned as they are.

    Raises
    ------
    ValueError
        The sheet does not have the release's length, or a release row has no subject or clip, or shares
        its identity with another row (a correction keyed by it could not be applied).
    """
    if spec.release_rows is not None and len(table) != spec.release_rows:
        raise ValueError(
            f"{spec.title}: binding needs the release sheet ({spec.release_rows} data rows), this one has {len(table)}"
        )

    identities = _identities(spec, table)
    index = _identity_index(spec, table)

    def ident(r: int) -> tuple[str, str]:
        if r not in identities:
            raise ValueError(f"{spec.title}: release row {r} has no subject or clip")
        key = identities[r]
        if len(index[key]) > 1:
            raise ValueError(
                f"{spec.title}: release row {r} is sample {key[0]}/{key[1]}, as are rows "
                f"{[o for o in index[key] if o != r]}; a correction keyed by it could not be applied"
            )
        return key

    out = []
    for c in corrections:
        if c.keyed or c.row is None:
            out.append(c)
            continue
        s, k = ident(c.row)
        value = ident(int(c.value)) if c.field == "labels" and not isinstance(c.value, tuple) else c.value
        out.append(replace(c, subject=s, clip=k, value=value))
    return out
