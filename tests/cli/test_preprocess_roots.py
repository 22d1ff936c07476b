"""``mefast preprocess``: which --root / --annotations values a corpus or a composite takes (exit 2 otherwise)."""

from __future__ import annotations

import pytest

from mefast.cli import main
from mefast.datasets import COMPOSITES


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize("composite", sorted(COMPOSITES))
def test_a_composite_with_one_unnamed_root_asks_for_named_roots(tmp_path, capsys, composite):
    out = tmp_path / "x.zarr"
    assert main(["preprocess", composite, "--root", "CASME2/Cropped", "--out", str(out)]) == 2
    assert _err(capsys) == (
        "mefast preprocess: a composite needs --root NAME=PATH for each member, got 'CASME2/Cropped'\n"
    )
    assert not out.exists()
