"""mefast.train.embed: penultimate-layer features of a saved model."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.store import MEStore  # noqa: E402
from mefast.train import TrainConfig  # noqa: E402
from mefast.train.data import StoreSource, stack_inputs  # noqa: E402
from mefast.train.embed import embed, fit, load_model  # noqa: E402
from mefast.train.transforms import input_transforms  # noqa: E402


def test_embed_returns_the_classifier_input(flow_store_path, tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=8, lr=1e-3, device="cpu", threads=1)
    fit(flow_store_path, "sssnet24", config=cfg, out=tmp_path / "m")
    feats = embed(tmp_path / "m", flow_store_path, batch_size=5)
    st = MEStore.open(flow_store_path)
    assert len(feats) == len(st) and list(feats.columns[:2]) == ["dataset", "sample_id"]
    assert not {"emotion", "aus", "megc2019", "objective_class"} & set(feats.columns)
    values = feats.filter(like="f").to_numpy()
    assert values.shape == (len(st), 256)  # SSSNet24's hidden layer
    # the same as running the network by hand up to its last hidden layer
    model, entry, info = load_model(tmp_path / "m")
    x = input_transforms(entry.input.size, train=False)(
        torch.from_numpy(stack_inputs(StoreSource(st), np.arange(len(st)), entry.input.arrays))
    )
    with torch.no_grad():
        h = model.drop_conv(model.bn1(torch.nn.functional.max_pool2d(torch.relu(model.conv1(x)), 3, 3)))
        h = model.drop_conv(model.bn2(torch.nn.functional.max_pool2d(torch.relu(model.conv2(h)), 2, 2)))
        h = torch.relu(model.fc1(h.flatten(1)))
    np.testing.assert_allclose(values, h.numpy(), rtol=1e-5, atol=1e-5)
    assert info["model"] == "sssnet24" and info["classes"]


def test_embed_refuses_a_folder_without_a_model(tmp_path, flow_store_path):
    with pytest.raises(ValueError, match="not a mefast model directory"):
        embed(tmp_path, flow_store_path)


def test_a_model_trained_at_another_input_size_is_embedded_at_that_size(flow_store_path, tmp_path):
    # TrainConfig.input_size resizes a resizable model's inputs (ResNet: 112 px by default); the saved model
    # must be fed what it was trained on
    cfg = TrainConfig(epochs=1, batch_size=8, lr=1e-3, device="cpu", threads=1, input_size=32)
    trainer = fit(flow_store_path, "resnet10", config=cfg, out=tmp_path / "m")
    model, entry, _ = load_model(tmp_path / "m")
    assert entry.input.size == 32 and entry.input.resizable
    st = MEStore.open(flow_store_path)
    rows = np.arange(len(st))
    x = input_transforms(32, train=False)(torch.from_numpy(stack_inputs(StoreSource(st), rows, entry.input.arrays)))
    captured = []
    hook = model.fc.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
    with torch.no_grad():
        logits = model(x)
    hook.remove()
    feats = embed(tmp_path / "m", flow_store_path, batch_size=7).filter(like="f").to_numpy()
    np.testing.assert_allclose(feats, captured[0].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(logits.argmax(1).numpy(), trainer.predict(rows))
