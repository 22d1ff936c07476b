"""``mefast evaluate`` / ``reproduce`` on bad options: exit status 2 before the run, not after it."""

from __future__ import annotations

import pytest

from mefast.cli import main


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--epochs", "0"], "epochs must be at least 1, got 0"),
        (["--batch-size", "0"], "batch_size must be at least 1, got 0"),
        (["--lr", "0"], "--lr must be a positive number, got 0.0"),
        (["--lr", "-1"], "--lr must be a positive number, got -1.0"),
    ],
    ids=["epochs", "batch-size", "lr", "lr-negative"],
)
def test_evaluate_zero_is_refused_not_taken_for_the_default(tmp_path, capsys, option, message):
    pytest.importorskip("torch")
    args = ["evaluate", "--store", str(tmp_path / "none.zarr"), "--protocol", "loso", "--model", "ststnet", *option]
    assert main(args) == 2
    assert _err(capsys) == f"mefast evaluate: {message}\n"


@pytest.mark.parametrize("command", ["evaluate", "reproduce"])
def test_out_naming_a_file_fails_before_the_run(tmp_path, capsys, command):
    mine = tmp_path / "afile.txt"
    mine.write_text("mine")
    head = (
        ["evaluate", "--store", str(tmp_path / "none.zarr"), "--protocol", "loso", "--model", "svm"]
        if command == "evaluate"
        else ["reproduce", "tutorial-ststnet", "--quick", "--store", str(tmp_path / "none.zarr")]
    )
    for out in (mine, mine / "sub"):
        assert main([*head, "--out", str(out)]) == 2
        assert _err(capsys) == f"mefast {command}: --out: {mine} is a file, not a directory\n"
    assert mine.read_text() == "mine"
