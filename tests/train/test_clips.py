"""Video inputs: the stored TIM frames as clips for the video networks."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.store import MEStore  # noqa: E402
from mefast.train import ArraySource, ModelInput, StoreSource, TrainConfig, Trainer  # noqa: E402
from mefast.train.clips import ClipDataset, clip_batch  # noqa: E402


def test_clip_batch_resamples_scales_and_replicates():
    frames = np.stack([np.full((4, 6, 6), 10 * t, np.uint8) for t in range(5)], axis=1)  # (4 clips, 5 frames)
    frames[1] = 255
    spec = ModelInput(("frames",), 12, frames=8, resizable=True)
    x = clip_batch(ArraySource({"frames": frames}), np.arange(4), spec)
    assert x.shape == (4, 3, 8, 12, 12) and x.dtype == torch.float32
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])  # grey replicated to RGB
    assert torch.allclose(x[1], torch.ones_like(x[1]))  # 255 -> 1.0
    # 5 stored frames interpolated to 8: monotone in time, from 0 to 40/255
    t_means = x[0, 0].mean(dim=(1, 2))
    assert torch.all(t_means[1:] >= t_means[:-1]) and t_means[0] == 0 and t_means[-1] == pytest.approx(40 / 255)
    flipped = clip_batch(ArraySource({"frames": frames}), np.arange(4), spec, flip=torch.tensor([1, 0, 0, 0]).bool())
    assert torch.equal(flipped[0], x[0].flip(-1))
    with pytest.raises(ValueError, match="expected \\(T, H, W\\)"):
        clip_batch(ArraySource({"frames": frames[:, 0]}), np.arange(4), spec)
    with pytest.raises(ValueError, match="needs a video input"):
        ClipDataset(ArraySource({"frames": frames}), np.arange(4), ModelInput(("flow",), 8))


class TinyVideo(torch.nn.Module):
    """A 3D conv and a linear layer (test model, 2024)."""

    def __init__(self, n_outputs, *, in_channels):
        super().__init__()
        self.conv = torch.nn.Conv3d(in_channels, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4, n_outputs)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3, 4)))


def test_a_video_network_trains_on_the_stored_frames(quick_store_path, monkeypatch):
    from mefast.train import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_model("test-video", TinyVideo, input=ModelInput(("frames",), 112, frames=8, resizable=True))
    st = MEStore.open(quick_store_path)
    assert "frames" in st.features
    rows = np.flatnonzero(st.done)[:12]
    y = np.arange(len(rows)) % 2
    cfg = TrainConfig(epochs=1, batch_size=6, device="cpu", threads=1, input_size=32)
    tr = Trainer("test-video", StoreSource(st), n_outputs=2, multilabel=False, config=cfg).fit(rows, y)
    assert tr.spec.input.size == 32 and tr.predict(rows[:3]).shape == (3,)
