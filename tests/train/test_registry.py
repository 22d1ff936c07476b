"""The model registry: registering, entry points, lookups from evaluate and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.train import (  # noqa: E402
    MODELS,
    ModelInput,
    TrainConfig,
    UnknownModelError,
    available_models,
    evaluate,
    get_model,
    register_model,
    registry,  # noqa: E402
)


class TinyNet(torch.nn.Module):
    """A linear probe on 8 x 8 flow (test model, 2024)."""

    def __init__(self, n_outputs, *, in_channels, width=4):
        super().__init__()
        self.hidden = torch.nn.Linear(in_channels * 64, width)
        self.fc = torch.nn.Linear(width, n_outputs)

    def forward(self, x):
        return self.fc(torch.relu(self.hidden(x.flatten(1))))


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # leave the real registry untouched
    return register_model("test-tiny", TinyNet, input=ModelInput(("flow",), 8), options={"width": 6})


def test_register_and_build(tiny):
    assert "test-tiny" in available_models() and "test-tiny" in MODELS
    entry = get_model("TEST-TINY")  # case-insensitive
    assert entry is tiny and entry.input.channels == 2 and entry.input.shape == (2, 8, 8)
    assert entry.source.startswith("A linear probe")  # defaults to the factory's docstring
    model = entry.build(3)
    assert model.hidden.out_features == 6 and model(torch.zeros(1, 2, 8, 8)).shape == (1, 3)
    with pytest.raises(ValueError, match="already registered"):
        register_model("test-tiny", TinyNet, input=ModelInput(("flow", "strain"), 8))
    register_model("test-tiny", TinyNet, input=ModelInput(("flow", "strain"), 8), replace=True)
    assert get_model("test-tiny").input.channels == 3


def test_registered_model_runs_through_evaluate(tiny, flow_store_path):
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1e-2, device="cpu", threads=1)
    ev = evaluate(flow_store_path, "loso", "test-tiny", config=cfg)
    assert ev.method == "test-tiny" and np.isfinite(ev.summary().loc["uf1", "mean"])


def test_unknown_and_bad_registrations():
    with pytest.raises(UnknownModelError, match="unknown model 'vgg'.*sssnet"):
        get_model("vgg")
    with pytest.raises(ValueError, match="must be non-empty letters"):
        register_model("a b", TinyNet, input=ModelInput())
    with pytest.raises(TypeError, match="not callable"):
        register_model("x", 3, input=ModelInput())
    with pytest.raises(TypeError, match="must be a ModelInput"):
        register_model("x", TinyNet, input=(64,))
    with pytest.raises(ValueError, match="reads 'frames' alone"):
        ModelInput(("frames", "flow"), 64, frames=8)
    with pytest.raises(ValueError, match="needs frames"):
        ModelInput(("frames",), 64)
    with pytest.raises(ValueError, match="only for video"):
        ModelInput(("flow",), 64, frames=8)


def test_entry_points_register_models(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", False)
    calls = []

    def hook():
        calls.append(1)
        register_model("test-plugin", TinyNet, input=ModelInput(("flow",), 8))

    class EP:
        name = "plugin"

        def load(self):
            return hook

    import importlib.metadata

    def fake_entry_points(*, group):
        assert group == "mefast.models"
        return [EP()]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    assert "test-plugin" in available_models()
    assert get_model("test-plugin").input.size == 8
    available_models()
    assert calls == [1]  # loaded once


def test_cli_takes_any_registered_model(tiny, flow_store_path, capsys):
    from mefast.cli import main

    rc = main(
        [
            "evaluate",
            "--store",
            str(flow_store_path),
            "--protocol",
            "loso",
            "--model",
            "test-tiny",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--threads",
            "1",
        ]
    )
    assert rc == 0 and "test-tiny" in capsys.readouterr().out
    rc = main(["evaluate", "--store", str(flow_store_path), "--protocol", "loso", "--model", "nope"])
    assert rc == 2 and "unknown model 'nope'" in capsys.readouterr().err


def test_a_broken_plugin_warns_and_leaves_the_builtins(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", False)

    class Broken:
        name = "broken"

        def load(self):
            raise ImportError("no module named plugin")

    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda *, group: [Broken()])
    with pytest.warns(UserWarning, match="'broken' failed to register"):
        names = available_models()
    assert "sssnet" in names


@pytest.mark.parametrize("arrays", [("strain",), ("strain", "flow")])
def test_a_model_reading_other_arrays_gets_its_flow_channels_transformed(monkeypatch, flow_store_path, arrays):
    """A registered model may stack its arrays in any order: flips negate and resizes scale the flow's u and v
    wherever they land, and leave strain alone (the transforms assumed u, v in channels 0 and 1: a strain-only
    model crashed on resizing, and its strain was negated by flips)."""
    from mefast.train import StoreSource
    from mefast.train.data import flow_channels, stack_inputs
    from mefast.train.transforms import input_transforms

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_model("test-any", TinyNet, input=ModelInput(arrays, 8), options={"width": 4})
    cfg = TrainConfig(epochs=1, batch_size=8, lr=1e-2, device="cpu", threads=1)
    assert np.isfinite(evaluate(flow_store_path, "loso", "test-any", config=cfg).summary().loc["uf1", "mean"])

    src = StoreSource(flow_store_path)
    rows = np.arange(6)
    u, v = flow_channels(src, rows, arrays)
    assert (u, v) == (((), ()) if arrays == ("strain",) else ((1,), (2,)))
    x = torch.from_numpy(stack_inputs(src, rows, arrays))
    flipped = input_transforms(x.shape[-1], train=True, u_channel=u, v_channel=v).transforms[0]
    flipped.p = 1.0
    y = flipped(x)
    np.testing.assert_array_equal(y[:, 0].numpy(), x[:, 0].flip(-1).numpy())  # strain mirrored, not negated
    if u:
        np.testing.assert_array_equal(y[:, 1].numpy(), -x[:, 1].flip(-1).numpy())


def test_transforms_refuse_channels_the_input_lacks():
    from mefast.train.transforms import RandomHorizontalFlip, Resize

    with pytest.raises(ValueError, match=r"Resize: u/v channel\(s\) \[1\] do not exist in a 1-channel input"):
        Resize(4)(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="do not exist"):
        RandomHorizontalFlip(u_channel=3)(torch.zeros(2, 2, 8, 8))
