"""The known annotation corrections, on release-sized sheets with each known mistake planted.

A sheet of a corpus's release length is written in the corpus's own format (no frames: the corrections
act on annotations alone), with the mistake each correction fixes at its row: a missing apex ('/'), an
'or' AU string, a wrong frame number, swapped labels. The reader must fix each one, list it with its
reason, and leave every other row as written.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mefast.datasets import SPECS, load, validate
from mefast.datasets.corpora.casme3 import SPEC_A
from mefast.labels import format_aus, parse_aus

from ._known_corrections import KNOWN, WHEN

# The corpora and their corrections come from the hand-written oracle, never from the tables under test.
CORRECTED = sorted(KNOWN)


def _aus(text: str) -> str:
    return format_aus(parse_aus(text))


def _entries(corrections) -> set[tuple[int, str, object]]:
    """(row, field, value) of each correction; AU strings compared after parsing (spacing is not content)."""
    return {(c.row, c.field, _aus(c.value) if c.field == "aus" else int(c.value)) for c in corrections}


@pytest.mark.parametrize("corpus", sorted(set(KNOWN) | {n for n, s in SPECS.items() if s.corrections}))
def test_the_correction_tables_list_exactly_the_known_corrections(corpus):
    # A changed, added or dropped entry in a corpus table fails here: the oracle is written out by hand from
    # the MEB library (see _known_corrections), not derived from SPECS.
    spec = SPECS[corpus].corrections
    known = KNOWN.get(corpus, ())
    assert _entries(spec) == _entries(known), (
        f"table minus oracle: {sorted(_entries(spec) - _entries(known), key=str)}; "
        f"oracle minus table: {sorted(_entries(known) - _entries(spec), key=str)}"
    )
    assert len(spec) == len(known)  # no duplicates hidden by the set
    kinds = {(c.row, c.field): c.when for c in spec}
    assert kinds == {(k.row, k.field): WHEN[k.mistake] for k in known}


@pytest.mark.parametrize("corpus", CORRECTED)
def test_every_known_correction_is_applied_and_listed(sheets, corpus):
    spec = SPECS[corpus]
    clean = sheets.consistent(corpus, sheets.rows(corpus, spec.release_rows))
    rows = [dict(r) for r in clean]
    sheets.plant(corpus, rows)
    d = load(corpus, *sheets.write(corpus, rows))
    s = d.samples
    assert len(d) == spec.release_rows  # nothing dropped

    reasons = {(c.row, c.field): c.reason for c in spec.corrections}
    touched: set[tuple[int, str]] = set()
    for c in KNOWN[corpus]:
        if c.field == "labels":
            a, b = c.row, int(c.value)
            assert s.at[a, "aus"] == "12" and s.at[a, "emotion"] == "positive"
            assert s.at[b, "aus"] == "4+7" and s.at[b, "emotion"] == "negative"
            touched |= {(a, "aus"), (b, "aus"), (a, "emotion"), (b, "emotion")}
            continue
        field = {"aus": "aus"}.get(c.field, c.field)
        expected = _aus(c.value) if c.field == "aus" else int(c.value)
        assert s.at[c.row, field] == expected, (c, s.iloc[c.row].to_dict())
        listed = d.corrections[(d.corrections["row"] == c.row) & (d.corrections["field"] == c.field)]
        assert len(listed) == 1 and reasons[c.row, c.field] in listed["reason"].iloc[0]
        assert listed["sample_id"].iloc[0] == s.at[c.row, "sample_id"]
        touched.add((c.row, c.field))

    # Every other row reads as written.
    for i, r in enumerate(clean):
        for f in ("onset", "apex", "offset"):
            if (i, f) not in touched:
                assert s.at[i, f] == r[f], (i, f)

    report = validate(d, check_images=False)
    assert "corrections_skipped" not in set(report["problem"])
    for problem in ("onset_after_apex", "apex_after_offset", "invalid_aus"):
        assert problem not in set(report["problem"]), report[report["problem"] == problem]


@pytest.mark.parametrize("corpus", CORRECTED)
def test_corrections_are_not_applied_to_a_sheet_of_another_length(sheets, corpus):
    spec = SPECS[corpus]
    rows = sheets.rows(corpus, spec.release_rows - 1)
    sheets.plant(corpus, rows)
    d = load(corpus, *sheets.write(corpus, rows))
    positional = d.corrections[~d.corrections["reason"].str.contains(r"middle frame|\(k\)|repeated", regex=True)]
    assert positional.empty, positional
    skipped = d.issues[d.issues["problem"] == "corrections_skipped"]
    assert len(skipped) == 1 and skipped["severity"].iloc[0] == "warning"
    assert f"{spec.release_rows - 1} data rows" in skipped["detail"].iloc[0]
    assert str(spec.release_rows) in skipped["detail"].iloc[0]
    # What stays wrong is reported, nothing is dropped.
    assert len(d) == spec.release_rows - 1
    report = validate(d, check_images=False)
    if any(c.mistake == "or" for c in KNOWN[corpus]):
        assert (report["problem"] == "invalid_aus").sum() == sum(c.mistake == "or" for c in KNOWN[corpus])


def test_guards_leave_a_correct_sheet_alone(sheets):
    # A CASME II sheet whose apexes are all present: the 'missing apex' estimates must not replace them.
    rows = sheets.rows("casme2", 256)
    d = load("casme2", *sheets.write("casme2", rows))
    apex_fixes = d.corrections[(d.corrections["field"] == "apex") & (d.corrections["status"] == "applied")]
    assert apex_fixes.empty
    # ... and each one is reported: the sheet holds neither the missing apex they expect nor their value
    conflicts = d.corrections[(d.corrections["field"] == "apex") & (d.corrections["status"] == "conflict")]
    assert len(conflicts) == 21
    assert d.samples.at[29, "apex"] == rows[29]["apex"]
    # The unconditional offset fix of row 60 still applies (the sheet's offset differs from 91).
    assert d.samples.at[60, "offset"] == 91


def test_corrections_can_be_switched_off(sheets):
    rows = sheets.rows("samm", 159)
    sheets.plant("samm", rows)
    root, sheet = sheets.write("samm", rows)
    d = load("samm", root, sheet, corrections=False)
    assert d.samples.at[56, "offset"] == 5739 + 7
    # A missing apex still becomes the middle frame, and says so; the 'or' AUs are reported.
    assert d.samples.at[125, "apex"] == rows[125]["onset"] + (rows[125]["offset"] - rows[125]["onset"]) // 2
    assert "middle frame" in d.corrections.loc[d.corrections["row"] == 125, "reason"].iloc[0]
    bad = d.issues[d.issues["problem"] == "invalid_aus"]
    assert len(bad) == 5 and bad["detail"].str.contains("'12 or 14'").all()


def test_casme3a_repeated_names_are_numbered_in_sheet_order(sheets):
    rows = sheets.rows("casme3a", 6)
    for r in rows:
        r["subject"] = "spNO.1"
    for i, name in enumerate(["f", "f", "a", "f", "a", "g"]):
        rows[i]["clip"] = name
    d = load("casme3a", *sheets.write("casme3a", rows))
    assert d.samples["clip"].tolist() == ["f", "f2", "a", "f3", "a2", "g"]
    assert d.samples["sample_id"].is_unique
    assert [p.parent.name for p in d.clip_dirs] == ["f", "f", "a", "f", "a", "g"]
    assert SPEC_A.release_rows == 860


def test_casme3c_full_width_comma_and_middle_apex(sheets):
    rows = sheets.rows("casme3c", 3)
    rows[1]["aus"] = "1，2"
    d = load("casme3c", *sheets.write("casme3c", rows))
    assert d.samples["aus"].tolist() == ["4+7", "1+2", "4+7"]
    assert (d.samples["apex"] == d.samples["onset"] + (d.samples["offset"] - d.samples["onset"]) // 2).all()
    assert pd.api.types.is_integer_dtype(d.samples["apex"])
