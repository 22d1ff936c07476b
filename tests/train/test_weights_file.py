"""``--weights`` / ``build_model(weights=)`` on a file that is not a torch state dict: one ValueError line."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.cli import main  # noqa: E402
from mefast.train import build_model, load_weights  # noqa: E402
from mefast.train.models import read_state_dict  # noqa: E402


def _npy(p):
    with open(p, "wb") as f:  # np.save(path) would append .npy to the name
        np.save(f, np.zeros(3))


def _empty(p):
    p.write_bytes(b"")


def _text(p):
    p.write_text("hello\n")


def _truncated(p):
    torch.save(torch.nn.Linear(2, 2).state_dict(), p)
    p.write_bytes(p.read_bytes()[:40])


def _zip(p):
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x", "y")


def _module(p):
    torch.save(torch.nn.Linear(2, 2), p)


BAD_FILES = {"npy": _npy, "empty": _empty, "text": _text, "truncated": _truncated, "zip": _zip, "module": _module}


@pytest.mark.parametrize("make", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_file_torch_cannot_read_is_a_one_line_value_error(tmp_path, make):
    path = tmp_path / "w.pt"
    make(path)
    for call in (lambda: read_state_dict(path), lambda: build_model("ststnet", 3, weights=path)):
        with pytest.raises(ValueError, match=r"^weights file .*w\.pt is not a torch state dict \(.+\)$") as e:
            call()
        assert "\n" not in str(e.value) and len(str(e.value)) < 300


@pytest.mark.parametrize("content", [[1, 2], {"a": 1}, {"weight": "x"}], ids=["list", "int", "str"])
def test_a_torch_file_holding_no_tensors_is_not_a_state_dict(tmp_path, content):
    path = tmp_path / "w.pt"
    torch.save(content, path)
    with pytest.raises(ValueError, match="is not a torch state dict"):
        load_weights(torch.nn.Linear(2, 2), path)


def test_state_dicts_and_checkpoints_still_load(tmp_path):
    net = torch.nn.Linear(2, 2)
    for i, wrap in enumerate((lambda s: s, lambda s: {"state_dict": s, "epoch": 3}, lambda s: {"model": s})):
        path = tmp_path / f"w{i}.pt"
        torch.save(wrap(net.state_dict()), path)
        other = load_weights(torch.nn.Linear(2, 2), path)
        torch.testing.assert_close(other.weight, net.weight)
    with pytest.raises(ValueError, match="do not fit the network: Error") as e:
        load_weights(torch.nn.Linear(3, 2), tmp_path / "w0.pt")
    assert "\n" not in str(e.value)


def test_evaluate_checks_the_weights_file_before_the_run(tmp_path, capsys):
    path = tmp_path / "clip.npy"
    _npy(path)
    args = ["evaluate", "--store", str(tmp_path / "none.zarr"), "--protocol", "loso", "--model", "sssnet"]
    assert main([*args, "--weights", str(path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mefast evaluate: weights file {path} is not a torch state dict (")
    assert err.count("\n") == 1
