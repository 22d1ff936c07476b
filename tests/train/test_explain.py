"""Grad-CAM and CAM (mefast.train.explain): against CAM's definition on a GAP network, against a hand-written
autograd computation, and end to end on a store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from mefast.store import MEStore  # noqa: E402
from mefast.train.explain import class_activation_map, default_cam_layers, explain_sample, grad_cam  # noqa: E402
from mefast.train.models import SSSNet, STSTNet, build_model  # noqa: E402


def _minmax(cam: torch.Tensor) -> np.ndarray:
    out = []
    for c in cam:
        lo, hi = c.min(), c.max()
        out.append(((c - lo) / (hi - lo)).numpy() if hi > lo else np.zeros(c.shape, np.float32))
    return np.stack(out)


def test_grad_cam_equals_cam_on_a_global_average_pooling_network():
    torch.manual_seed(0)
    net = build_model("resnet10", 4).eval()
    x = torch.randn(3, 3, 64, 64)
    cam = class_activation_map(net, x, features=net.layers, classifier=net.fc)
    gcam = grad_cam(net, x, layers=[net.layers])
    # Grad-CAM's weights on a GAP + linear head are the classifier's weights / (h w): the same map after scaling
    np.testing.assert_allclose(gcam, cam, atol=1e-4)
    assert cam.shape == (3, 64, 64) and cam.dtype == np.float32
    assert np.isclose(cam.reshape(3, -1).max(1), 1).all() and cam.min() >= 0


def test_grad_cam_matches_a_hand_written_autograd_computation():
    torch.manual_seed(1)
    net = SSSNet(5).eval()
    x = torch.randn(2, 3, 64, 64)
    target = [1, 3]
    got = grad_cam(net, x, target=target)
    # the same network written out: A = conv2 output, score = logit of the target, alpha = mean dscore/dA
    a1 = net.drop_conv(net.bn1(F.max_pool2d(F.relu(net.conv1(x)), 3, 3)))
    acts = net.conv2(a1).detach().requires_grad_(True)
    z = net.drop_conv(net.bn2(F.max_pool2d(F.relu(acts), 2, 2)))
    logits = net.fc(net.drop(F.relu(net.fc1(z.flatten(1)))))
    score = logits[torch.arange(2), torch.tensor(target)].sum()
    (grads,) = torch.autograd.grad(score, acts)
    cam = F.relu((grads.mean(dim=(2, 3), keepdim=True) * acts).sum(1, keepdim=True)).detach()
    want = _minmax(F.interpolate(cam, size=(64, 64), mode="bilinear", align_corners=False)[:, 0])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_default_layers_and_modes():
    st = STSTNet(3)
    layers = default_cam_layers(st)
    assert len(layers) == 3 and all(isinstance(m, torch.nn.Conv2d) for m in layers)
    st.train()
    out = grad_cam(st, torch.randn(2, 3, 28, 28))
    assert st.training  # the mode is restored
    assert out.shape == (2, 28, 28) and np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    with pytest.raises(ValueError, match="image inputs"):
        grad_cam(st, torch.randn(1, 3, 4, 28, 28))
    with pytest.raises(ValueError, match="out of range"):
        grad_cam(st, torch.randn(1, 3, 28, 28), target=7)


def _store(path, n=12, size=32):
    rng = np.random.default_rng(0)
    emotions = np.array(["happiness", "surprise"])[np.arange(n) % 2]
    samples = pd.DataFrame(
        {
            "sample_id": [f"d/s{i % 4}/c{i}" for i in range(n)],
            "dataset": "casme2",
            "subject": [f"s{i % 4}" for i in range(n)],
            "emotion": emotions,
        }
    )
    st = MEStore.create(
        path,
        samples,
        au=np.zeros((n, 1), np.uint8),
        au_names=["AU1"],
        arrays={"flow": ((2, size, size), "float32"), "strain": ((size, size), "float32")},
    )
    for i in range(n):
        flow = rng.normal(0, 0.2, (2, size, size)).astype(np.float32)
        if emotions[i] == "happiness":
            flow[1, 20:28, 4:12] -= 2.0  # a moving cheek
        st.write_sample(i, {"flow": flow, "strain": np.abs(flow).sum(0)})
        st.mark_done(i)
    return MEStore.open(path)


def test_explain_sample_trains_without_the_subject_and_maps_to_store_size(tmp_path):
    from mefast.train import TrainConfig

    st = _store(tmp_path / "s.zarr")
    cfg = TrainConfig(epochs=3, lr=1e-3, batch_size=8, device="cpu", threads=1)
    ex = explain_sample(st, "d/s0/c0", model="ststnet", config=cfg)
    assert ex.row == 0 and ex.true == "happiness" and ex.trained_on == 9  # subject s0's three clips left out
    assert ex.heat.shape == (32, 32) and ex.heat.dtype == np.float32 and 0 <= ex.heat.min() <= ex.heat.max() <= 1
    assert ex.classes == ("happiness", "surprise") and ex.probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert ex.explained == ex.predicted
    ex2 = explain_sample(st, 0, model="ststnet", config=cfg, target="surprise")
    assert ex2.explained == "surprise"
    with pytest.raises(ValueError, match="not one of"):
        explain_sample(st, 0, model="ststnet", config=cfg, target="fear")
    with pytest.raises(ValueError, match="not in the"):
        explain_sample(st, "nope", model="ststnet", config=cfg)


def test_explain_sample_with_a_saved_model_directory(tmp_path):
    from mefast.train import TrainConfig
    from mefast.train.embed import fit

    st = _store(tmp_path / "s.zarr")
    cfg = TrainConfig(epochs=2, lr=1e-3, batch_size=8, device="cpu", threads=1)
    fit(st, "sssnet", config=cfg, out=tmp_path / "model")
    with pytest.warns(UserWarning, match="trained on sample 'd/s3/c3'"):
        ex = explain_sample(st, 3, model_dir=tmp_path / "model")
    assert ex.model == "sssnet" and ex.trained_on == 0 and ex.classes == ("happiness", "surprise")
    assert ex.heat.shape == (32, 32) and 0 <= ex.heat.min() <= ex.heat.max() <= 1


def test_explain_sample_says_when_the_loaded_model_trained_on_the_sample(tmp_path):
    """A model of ``fit`` trained on every done sample: its map of one of them is flagged, not passed off as unseen.

    ``explain_sample(model_dir=...)`` used to report such a map with ``trained_on=0`` and nothing else.
    """
    import json
    import warnings

    from mefast.train import TrainConfig
    from mefast.train.embed import fit

    st = _store(tmp_path / "s.zarr")
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size=8, device="cpu", threads=1)
    fit(st, "sssnet", config=cfg, out=tmp_path / "model")
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert sorted(info["train_ids"]) == sorted(st.meta["sample_id"])  # fit records what it trained on
    with pytest.warns(UserWarning, match=r"trained on sample 'd/s0/c0' \(mefast.train.fit trains on every done"):
        ex = explain_sample(st, 0, model_dir=tmp_path / "model")
    assert ex.held_out is False
    # a directory that does not list its training samples: it may have trained on the sample, and says so
    del info["train_ids"]
    (tmp_path / "model" / "model.json").write_text(json.dumps(info))
    with pytest.warns(UserWarning, match="does not list the samples it trained on"):
        assert explain_sample(st, 0, model_dir=tmp_path / "model").held_out is None
    # one that lists them without this sample: no warning
    info["train_ids"] = ["d/s1/c0"]
    (tmp_path / "model" / "model.json").write_text(json.dumps(info))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert explain_sample(st, 0, model_dir=tmp_path / "model").held_out is True
        assert explain_sample(st, 0, model="sssnet", config=cfg).held_out is True  # trained here, subject left out


@pytest.mark.parametrize("name", ["resnet10", "resnet18"])
def test_default_grad_cam_layer_of_a_resnet_is_the_pooled_one(name):
    # The last Conv2d of ResNet-10 is the last block's 1x1 shortcut, of ResNet-18 its conv2 before BN, the
    # residual add and the ReLU: the default must be the stages' output, which the pooling and fc read.
    torch.manual_seed(0)
    net = build_model(name, 3).eval()
    assert default_cam_layers(net) == [net.layers]
    x = torch.randn(4, 3, 64, 64)
    cam = class_activation_map(net, x, features=net.layers, classifier=net.fc)
    np.testing.assert_allclose(grad_cam(net, x), cam, atol=1e-5)


def test_default_grad_cam_layer_of_the_other_models_is_unchanged():
    torch.manual_seed(2)
    net = SSSNet(4).eval()
    assert default_cam_layers(net) == [net.conv2]
    out = grad_cam(net, torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 64, 64) and np.isfinite(out).all() and out.max() <= 1


def test_explain_sample_feeds_the_model_the_input_size_it_was_trained_at(tmp_path, monkeypatch):
    import mefast.train.explain as explain
    from mefast.train import TrainConfig
    from mefast.train.embed import fit

    seen = []
    real = explain.grad_cam

    def spy(net, x, **kw):
        seen.append(tuple(x.shape))
        return real(net, x, **kw)

    monkeypatch.setattr(explain, "grad_cam", spy)
    st = _store(tmp_path / "s.zarr")
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size=8, device="cpu", threads=1, input_size=32)
    fit(st, "resnet10", config=cfg, out=tmp_path / "model")
    with pytest.warns(UserWarning, match="trained on sample"):
        ex = explain_sample(st, 3, model_dir=tmp_path / "model")  # the size saved in model.json
    ex2 = explain_sample(st, 3, model="resnet10", config=cfg)  # the caller's config's size
    assert seen == [(1, 3, 32, 32), (1, 3, 32, 32)]
    assert ex.heat.shape == ex2.heat.shape == (32, 32)
