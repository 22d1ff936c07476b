"""Option texts and option-value checks of the subcommands that need no store or torch to test."""

from __future__ import annotations

import pytest

from mefast.cli import main


def _help(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines where it likes


def test_explain_store_help_names_the_store_the_model_was_trained_on(capsys):
    assert "--store STORE path or URL of the preprocessed store" in _help(capsys, "explain")


@pytest.mark.parametrize("rows", [",", " , ,"])
def test_reproduce_rows_of_separators_only_is_an_error(rows, capsys):
    assert main(["reproduce", "tutorial-ststnet", "--quick", "--rows", rows]) == 2
    assert capsys.readouterr().err.strip() == f"mefast reproduce: --rows: no row names given in {rows!r}"
