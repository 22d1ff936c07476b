"""``run_experiment(rows=)`` / ``mefast reproduce --rows``: a name that is no row is an error, not an empty run."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("torch")

from mefast.cli import main  # noqa: E402
from mefast.train.reproduce import ExperimentError, _selected_rows, load_experiment, run_experiment  # noqa: E402

ROWS = "'Off-ApexNet', 'SSSNet', 'ResNet10', 'ResNet18', 'ResNet34', 'ResNet50', 'ResNet101', 'RN18(2+1)D'"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["SSnet"], f"--rows 'SSnet' is no row of the experiment, whose rows are {ROWS}; closest: 'SSSNet'"),
        (["resnet-18"], f"--rows 'resnet-18' is no row of the experiment, whose rows are {ROWS}; closest: 'ResNet18'"),
        (["SSSNet", "xyz"], f"--rows 'xyz' is no row of the experiment, whose rows are {ROWS}"),
    ],
    ids=["typo", "dash", "no-close-match"],
)
def test_unknown_rows_are_refused_before_any_store_is_made(tmp_path, rows, message):
    for kw in ({"quick": True, "root": tmp_path / "q"}, {}):  # with --quick, and with no store at all
        with pytest.raises(ExperimentError) as e:
            run_experiment("leakage-table5", rows=rows, **kw)
        assert str(e.value) == f"leakage-table5: {message}"
    assert not (tmp_path / "q").exists()


def test_rows_match_case_insensitively_when_unambiguous():
    exp = load_experiment("leakage-table5")
    assert _selected_rows(exp, ["sssnet", "ResNet18", "rn18(2+1)d"]) == ["SSSNet", "ResNet18", "RN18(2+1)D"]
    with pytest.raises(ExperimentError, match="give --root"):  # the rows were fine: the missing store is next
        run_experiment(exp, rows=["sssnet"])
    twins = dataclasses.replace(exp, rows=(*exp.rows, {**exp.rows[1], "name": "sssnet"}))
    assert _selected_rows(twins, ["sssnet", "SSSNet"]) == ["sssnet", "SSSNet"]  # exact names win
    with pytest.raises(ExperimentError, match=r"--rows 'SSSNET' matches the rows \['SSSNet', 'sssnet'\] but for case"):
        _selected_rows(twins, ["SSSNET"])


def test_reproduce_cli_exits_2_on_an_unknown_row(capsys):
    assert main(["reproduce", "leakage-table5", "--quick", "--rows", "SSnet"]) == 2
    message = f"leakage-table5: --rows 'SSnet' is no row of the experiment, whose rows are {ROWS}; closest: 'SSSNet'"
    assert capsys.readouterr().err == f"mefast reproduce: {message}\n"
