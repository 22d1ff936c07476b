"""Experiment files list every row of their table, print figures as published, and carry the paper's remarks.

Published figures keep the decimals they are written with; ``published_notes`` mark a published figure; a row's
``add_train_datasets`` join each column's training corpora (data-leakage Table 7).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

pytest.importorskip("torch")

from mefast.train.reproduce import (  # noqa: E402
    ExperimentError,
    _written_decimals,
    experiment_files,
    load_experiment,
    run_experiment,
)


def _names(name):
    return [str(r["name"]) for r in load_experiment(name).rows]


def test_the_tutorial_dssn_table_lists_its_eleven_methods():
    assert _names("tutorial-dssn") == [
        "LBP-TOP (baseline)",
        "LBP-SIP",
        "Bi-WOOF",
        "Hier. STLBP-IP",
        "Bi-WOOF + Phase",
        "EVM + HIGO",
        "ELRCN",
        "CNN-LSTM",
        "AlexNet (baseline)",
        "SSSN",
        "DSSN",
    ]
    exp = load_experiment("tutorial-dssn")
    evm_higo = next(r for r in exp.rows if r["name"] == "EVM + HIGO")
    assert "higo" in evm_higo["missing"] and evm_higo["published"] == {"CASME II Acc": 0.6721, "SMIC Acc": 0.6829}


def test_the_dualbranch_table3_lists_the_comparison_methods():
    names = _names("dualbranch-table3")
    assert names[0] == "Dual-branch (db + all)"
    # the paper's 15 comparison rows; AU-ICGAN and FMER, in both class parts, are one row each
    assert names[1:] == [
        "SSSN", "DSSN", "STRCN-A", "STRCN-G", "TSCNN-I", "TSCNN-II", "AU-ICGAN", "Graph-TCN", "FMER",
        "CapsuleNet", "NMER", "MTM", "STD",
    ]  # fmt: skip
    exp = load_experiment("dualbranch-table3")
    assert all("missing" in r for r in exp.rows[1:])
    fmer = next(r for r in exp.rows if r["name"] == "FMER")["published"]
    assert fmer["CASME II 5-class Acc"] == 0.743 and fmer["SAMM 3-class UAR"] == 0.789
    for name in ("dualbranch-table3", "dualbranch-table4"):
        note = " ".join(load_experiment(name).notes)
        assert "paper gives no weight decay" in note or "the paper gives none" in note


def test_published_averages_that_are_not_their_columns_mean_carry_a_note():
    """An average column compares mefast's mean of its columns with the paper's printed average; where that is
    not the mean of the paper's own columns (beyond rounding), the cell must say so."""
    checked = 0
    for name in experiment_files():
        exp = load_experiment(name)
        for col in (c for c in exp.columns if "average_of" in c):
            for row in exp.rows:
                pub = row.get("published", {})
                if col["key"] not in pub or not all(k in pub for k in col["average_of"]):
                    continue
                checked += 1
                mean = sum(pub[k] for k in col["average_of"]) / len(col["average_of"])
                unit = 10.0 ** -(_written_decimals(repr(float(pub[col["key"]]))) or 0)
                off = abs(mean - pub[col["key"]]) > unit + 1e-9
                assert off == (col["key"] in row.get("published_notes", {})), (name, row["name"], mean)
    assert checked >= 17
    table10 = {r["name"]: r for r in load_experiment("leakage-table10").rows}
    assert "38.9" in table10["RNet18(2+1)D + extra data"]["published_notes"]["Avg."]
    assert "73.55" in table10["SSSNet + extra data"]["published_notes"]["Avg."]


@pytest.mark.parametrize(
    ("text", "decimals"),
    [("0.8996", 4), ("0.6100", 4), ("0.61", 2), ("34.0", 1), ("-0.50", 2), ("2.5e-1", 2), ("1e-5", 5),
     ("1_000.25", 2), ("3E2", 0), ("inf", None), ("nan", None)],
)  # fmt: skip
def test_written_decimals(text, decimals):
    assert _written_decimals(text) == decimals


SMALL = """
[experiment]
name = "small"
[data]
protocol = "loso"
scale = 1
[[columns]]
key = "A"
read = "overall"
metric = "uf1"
[[columns]]
key = "B"
read = "overall"
metric = "uf1"
run = { train_datasets = ["casme2"], test_datasets = ["casme2"] }
[[rows]]
name = "x"
model = "svm"
published = { A = 0.8996, B = 0.61 }
published_notes = { B = "printed so in the paper" }
[[rows]]
name = "y"
model = "svm"
published = { A = 0.6100 }
[[rows]]
name = "z"
missing = "not in mefast"
published = { A = 0.5, B = 1 }
"""


def _fake_evaluation(value, metric="uf1"):
    runs = pd.DataFrame({"scope": ["overall"], "metric": [metric], "key": [""], "seed": [0], "value": [value]})
    return SimpleNamespace(runs=runs, classes=["a", "b"], label="emotion", headline=metric)


def test_figures_print_with_the_published_decimals(tmp_path, quick_store_path, monkeypatch):
    """noisy-table2's 0.8996 printed as 0.900 (3 decimals for every scale-1 table): each published figure now
    prints as written, mefast's and the difference with the same decimals; a cell without a published figure
    takes its column's most precise one."""
    import mefast.train.reproduce as rp

    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    monkeypatch.setattr(rp, "_run_cell", lambda *a: _fake_evaluation(0.912345))
    res = run_experiment(load_experiment(path), store=quick_store_path)
    wide = res.wide()
    assert wide.loc["x", "A"] == "0.8996 / 0.9123 (+0.0127)"
    assert wide.loc["x", "B"] == "0.61† / 0.91 (+0.30)"
    assert wide.loc["y", "A"] == "0.6100 / 0.9123 (+0.3023)"
    assert wide.loc["y", "B"] == "– / 0.91"  # no published figure: column B's decimals
    assert wide.loc["z", "A"] == "0.5 / n/a" and wide.loc["z", "B"] == "1 / n/a"
    assert list(res.cells["decimals"]) == [4, 2, 4, 2, 1, 0]
    md = res.to_markdown()
    assert "- x, B (†): printed so in the paper" in md
    assert "- z: not run: not in mefast" in md


def test_noisy_table2_idc_prints_four_decimals(quick_store_path, monkeypatch):
    import mefast.train.reproduce as rp

    monkeypatch.setattr(rp, "_run_cell", lambda *a: "not run: recorded by the test")
    wide = run_experiment("noisy-table2", store=quick_store_path, quick=True).wide()
    assert any(cell.startswith("0.8996 /") for cell in wide["CASME II"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('published_notes = { C = "x" }', r"published_notes for unknown columns \['C'\]"),
        ("published_notes = { A = 1 }", r"published_notes\['A'\] must be a non-empty text"),
        ('published_notes = "x"', "published_notes must be a table"),
        ('run = { add_train_datasets = "casme3a" }', "add_train_datasets must be a list of corpora"),
    ],
)
def test_bad_notes_and_added_corpora_are_refused(tmp_path, extra, message):
    body = SMALL.replace('name = "y"\nmodel = "svm"\n', f'name = "y"\nmodel = "svm"\n{extra}\n')
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ExperimentError, match=message):
        load_experiment(path)


def test_added_corpora_need_a_training_set(tmp_path):
    body = SMALL.replace(
        'name = "y"\nmodel = "svm"\n', 'name = "y"\nmodel = "svm"\nrun = { add_train_datasets = ["samm"] }\n'
    )
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ExperimentError, match="row 'y', column 'A': add_train_datasets joins train_datasets"):
        load_experiment(path)


def test_table7_rows_add_cas_me_3_to_each_columns_training_corpora(quick_store_path, monkeypatch):
    """Data-leakage Table 7: the row names the CAS(ME)^3 parts, the column the other corpora; each cell trains
    on both, tests on CASME II; the empty-set row's first cell (N/A in the paper) is not run."""
    import mefast.train as train

    seen = []

    def fake_evaluate(st, protocol, model, **kw):
        seen.append((model, tuple(kw["train_datasets"]), tuple(kw["test_datasets"])))
        return _fake_evaluation(0.5, "f1")

    monkeypatch.setattr(train, "evaluate", fake_evaluate)
    res = run_experiment("leakage-table7", store=quick_store_path, quick=True, rows=["∅", "C3AC", "C3"])
    columns = [(), ("casme",), ("casme", "samm"), ("casme", "samm", "mmew"), ("casme", "samm", "mmew", "4dme")]
    expected = [
        ("sssnet", (*c, *added), ("casme2",))
        for added in ((), ("casme3a", "casme3c"), ("casme3a",))
        for c in columns
        if c or added
    ]
    assert seen == expected
    cells = res.cells.set_index(["row", "column"])
    assert cells.loc[("∅", "+∅"), "note"] == "not run: no training corpora (the paper's N/A)"
    assert math.isnan(cells.loc[("∅", "+∅"), "measured"])
    assert cells.loc[("C3", "+4D"), "published"] == 45.5 and cells.loc[("C3", "+4D"), "measured"] == 50.0


def test_an_experiment_built_in_python_prints_its_floats_shortest_repr(tmp_path, quick_store_path, monkeypatch):
    import dataclasses

    import mefast.train.reproduce as rp

    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    exp = load_experiment(path)
    rows = ({"name": "p", "model": "svm", "published": {"A": float("0.8996"), "B": 0.5}},)
    monkeypatch.setattr(rp, "_run_cell", lambda *a: _fake_evaluation(0.912345))
    wide = run_experiment(dataclasses.replace(exp, rows=rows), store=quick_store_path).wide()
    assert wide.loc["p", "A"] == "0.8996 / 0.9123 (+0.0127)" and wide.loc["p", "B"] == "0.5 / 0.9 (+0.4)"
