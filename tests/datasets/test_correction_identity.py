"""Annotation corrections found by identity and checked against the value they expect (issue 11.7).

A release-sized sheet in each corpus's own format is written with the mistake of every known correction at
its release row (rows, values and the kind of each mistake come from the hand-written oracle in
_known_corrections, not from the corpus tables; nothing is read back from a corrected sheet). The
corrections are bound to (subject, clip) from that sheet once; the bound corrections must then fix a
shuffled copy, a copy with extra rows, report an already fixed copy as such, and refuse (and report) a
copy that holds a third value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mefast.datasets import SPECS, load, validate
from mefast.labels import format_aus, parse_aus

from ._known_corrections import KNOWN

# The corrected corpora, rows and values come from the hand-written oracle, not from the tables under test.
CORRECTED = sorted(KNOWN)


def _release(sheets, corpus):
    right = sheets.consistent(corpus, sheets.rows(corpus, SPECS[corpus].release_rows))
    rows = [dict(r) for r in right]
    sheets.plant(corpus, rows)
    root, sheet = sheets.write(corpus, rows, "release.xlsx")
    return rows, right, root, sheet


def _fixed_value(c):
    return format_aus(parse_aus(c.value)) if c.field == "aus" else int(c.value)


def _by_id(d):
    return d.samples.set_index("sample_id")


@pytest.mark.parametrize("corpus", CORRECTED)
def test_bound_corrections_fix_a_shuffled_sheet_and_one_with_extra_rows(sheets, corpus):
    from mefast.datasets import bind_corrections

    rows, _, root, sheet = _release(sheets, corpus)
    bound = bind_corrections(corpus, sheet)
    assert all(c.subject is not None and c.clip is not None for c in bound)
    reference = load(corpus, root, sheet)  # the release as is: the built-in tables by row
    rng = np.random.default_rng(0)
    shuffled = [rows[i] for i in rng.permutation(len(rows))]
    extra = rows[:40] + sheets.rows(corpus, 7, start=5000) + rows[40:]
    for name, variant in (("shuffled", shuffled), ("extra", extra)):
        d = load(corpus, root, sheets.write(corpus, variant, f"{name}.xlsx")[1], corrections=bound)
        got, want = _by_id(d), _by_id(reference)
        assert len(d) == len(variant)
        cols = ["onset", "apex", "offset", "aus", "emotion"]
        pd.testing.assert_frame_equal(got.loc[want.index, cols], want[cols], check_dtype=False, obj=name)
        applied = d.corrections[d.corrections["status"] == "applied"]
        ref_applied = reference.corrections[reference.corrections["status"] == "applied"]
        key = ["sample_id", "field", "new"]
        assert sorted(map(tuple, applied[key].values)) == sorted(map(tuple, ref_applied[key].values)), name
        assert "corrections_skipped" not in set(d.issues["problem"])


@pytest.mark.parametrize("corpus", ["casme2", "samm", "4dme"])
def test_the_built_in_tables_on_a_sheet_of_another_length_report_each_correction(sheets, corpus):
    rows, _, root, _ = _release(sheets, corpus)
    d = load(corpus, *sheets.write(corpus, rows + sheets.rows(corpus, 3, start=5000)))
    skipped = d.issues[d.issues["problem"] == "corrections_skipped"]
    assert len(skipped) == 1 and "bind_identities" in skipped["detail"].iloc[0]
    filled = d.corrections["reason"].str.contains("middle frame")
    assert (d.corrections["status"] == "applied").sum() == filled.sum()  # only the middle-frame fills


@pytest.mark.parametrize("corpus", ["casme2", "samm", "mmew"])
def test_an_already_fixed_sheet_is_reported_as_such(sheets, corpus):
    from mefast.datasets import bind_corrections

    rows, right, root, sheet = _release(sheets, corpus)
    bound = bind_corrections(corpus, sheet)
    fixed = _fixed_rows(corpus, right)  # what the corrections would write
    rng = np.random.default_rng(1)
    fixed = [fixed[i] for i in rng.permutation(len(fixed))]
    d = load(corpus, *sheets.write(corpus, fixed, "fixed.xlsx"), corrections=bound)
    frame_or_au = [c for c in KNOWN[corpus] if c.field != "labels"]
    assert (d.corrections["status"] == "already_fixed").sum() == len(frame_or_au)
    assert not (d.corrections["status"] == "applied").any()
    info = validate(d, check_images=False).query("problem == 'correction_already_fixed'")
    assert len(info) == len(frame_or_au) and (info["severity"] == "info").all()
    assert set(info["sample_id"]) == set(d.corrections.loc[d.corrections["status"] == "already_fixed", "sample_id"])
    # The same on the release layout with the built-in (row-addressed) tables
    d2 = load(corpus, *sheets.write(corpus, _fixed_rows(corpus, right), "fixed2.xlsx"))
    assert (d2.corrections["status"] == "already_fixed").sum() == len(frame_or_au)


def _fixed_rows(corpus, right):
    out = [dict(r) for r in right]
    for c in KNOWN[corpus]:
        if c.field != "labels":
            out[c.row][c.field] = c.value
    return out


def test_samm_sheet_holding_meb_spelling_of_the_au_fix_is_already_fixed(sheets):
    """MEB writes SAMM's AU fix as 'R12 + R15', mefast's table as 'R12+R15': the same codes, already fixed."""
    _, right, root, _ = _release(sheets, "samm")
    fixed = [dict(r) for r in right]
    for c in KNOWN["samm"]:
        if c.field != "labels":
            fixed[c.row][c.field] = c.value  # as MEB writes it
    d = load("samm", *sheets.write("samm", fixed, "meb.xlsx"))
    aus = d.corrections[d.corrections["field"] == "aus"]
    assert len(aus) == 5 and (aus["status"] == "already_fixed").all(), aus


@pytest.mark.parametrize(("corpus", "kind"), [("casme2", "missing"), ("samm", "missing"), ("samm", "or")])
def test_a_conflicting_sheet_is_left_alone_and_reported(sheets, corpus, kind):
    from mefast.datasets import bind_corrections

    rows, _, root, sheet = _release(sheets, corpus)
    bound = bind_corrections(corpus, sheet)
    target = next(c for c in KNOWN[corpus] if c.mistake == kind)
    # neither the mistake the correction expects ('/' or an 'or' AU cell) nor its fix
    third = "9" if kind == "or" else rows[target.row]["onset"] + 2
    conflicting = [dict(r) for r in rows]
    conflicting[target.row][target.field] = third
    for variant, corrections in (("release", True), ("bound", bound)):
        d = load(corpus, *sheets.write(corpus, conflicting, f"{variant}.xlsx"), corrections=corrections)
        sid = d.samples.at[target.row, "sample_id"]
        c = d.corrections[(d.corrections["sample_id"] == sid) & (d.corrections["field"] == target.field)]
        assert list(c["status"]) == ["conflict"], c
        assert str(d.samples.at[target.row, target.field]) == str(third)  # left as the sheet has it
        report = validate(d, check_images=False)
        hit = report[report["problem"] == "correction_conflict"]
        assert len(hit) == 1 and repr(str(third)) in hit["detail"].iloc[0], hit
        assert hit["sample_id"].iloc[0] == sid


def test_casme3a_bound_corrections_find_the_mes_of_a_shared_recording(sheets):
    """Part A repeats a recording's file name for each of its MEs; bound corrections name the numbered sample."""
    from mefast.datasets import bind_corrections

    rows = sheets.rows("casme3a", SPECS["casme3a"].release_rows)
    for i, r in enumerate(rows):
        r["clip"] = "abcdefghij"[(i % 20) // 2]  # two MEs per recording, as in the release
    right = sheets.consistent("casme3a", rows)
    planted = [dict(r) for r in right]
    sheets.plant("casme3a", planted)
    root, sheet = sheets.write("casme3a", planted, "release.xlsx")
    reference = load("casme3a", root, sheet)  # the built-in tables by row
    bound = bind_corrections("casme3a", sheet)
    by_row = dict(zip(reference.corrections["row"], reference.corrections["sample_id"], strict=False))
    assert {f"casme3a/{c.subject}/{c.clip}" for c in bound} == {by_row[c.row] for c in KNOWN["casme3a"]}
    assert any(c.clip.endswith("2") for c in bound)  # a second ME of its recording among them
    extra = planted[:40] + sheets.rows("casme3a", 7, start=5000) + planted[40:]
    for name, variant in (("release", planted), ("extra", extra)):
        d = load("casme3a", root, sheets.write("casme3a", variant, f"{name}.xlsx")[1], corrections=bound)
        assert not d.issues["problem"].str.startswith("correction").any(), name
        frames = d.corrections[(d.corrections["status"] == "applied") & (d.corrections["field"] != "clip")]
        assert len(frames) == len(KNOWN["casme3a"]), name
        got, want = _by_id(d), _by_id(reference)
        cols = ["onset", "apex", "offset"]
        pd.testing.assert_frame_equal(got.loc[want.index, cols], want[cols], obj=name)


def test_binding_refuses_a_release_row_whose_identity_is_not_unique(sheets):
    from mefast.datasets import bind_corrections

    rows, _, _, _ = _release(sheets, "casme2")
    target = KNOWN["casme2"][0].row
    other = (target + 1) % len(rows)
    rows[other]["subject"], rows[other]["clip"] = rows[target]["subject"], rows[target]["clip"]
    _, sheet = sheets.write("casme2", rows, "twice.xlsx")
    with pytest.raises(ValueError, match=f"release row {target} is sample .* as are rows \\[{other}\\]"):
        bind_corrections("casme2", sheet)
