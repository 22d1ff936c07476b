"""Transforms (against OpenCV's resize and the strain of a mirrored field) and the networks' layer tables."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.flow import optical_strain, resize_flow  # noqa: E402
from mefast.testing import smooth_field  # noqa: E402
from mefast.train.models import MODELS, OffApexNetMEB, ResNet18, SSSNet, STSTNet, build_model  # noqa: E402
from mefast.train.transforms import (  # noqa: E402
    MinMaxNormalize,
    RandomHorizontalFlip,
    Resize,
    input_transforms,
)

torch.set_num_threads(1)


def field(h, w, seed=0):
    return np.moveaxis(smooth_field(h, w, 1.0, seed=seed), -1, 0).copy()  # (2, H, W)


@pytest.mark.parametrize(("src", "dst"), [((64, 64), (32, 32)), ((60, 90), (20, 30)), ((28, 28), (56, 56))])
def test_resize_matches_opencv_resize_flow(src, dst):
    f = field(*src)
    want = np.moveaxis(resize_flow(np.moveaxis(f, 0, -1), dst), -1, 0)
    got = Resize(dst)(torch.from_numpy(f)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_resize_scales_u_by_width_and_v_by_height_only():
    x = torch.ones(1, 3, 32, 32)
    out = Resize((16, 64))(x)
    assert out.shape == (1, 3, 16, 64)
    np.testing.assert_allclose(out[0, 0], 2.0)  # u * 64/32
    np.testing.assert_allclose(out[0, 1], 0.5)  # v * 16/32
    np.testing.assert_allclose(out[0, 2], 1.0)  # strain is a ratio of lengths: unchanged


def test_flip_negates_u_and_keeps_strain():
    f = field(40, 36, seed=3)
    flipped = RandomHorizontalFlip(p=1.0)(torch.from_numpy(f)).numpy()
    np.testing.assert_array_equal(flipped[0], -f[0, :, ::-1])
    np.testing.assert_array_equal(flipped[1], f[1, :, ::-1])
    # The mirrored motion has the mirrored strain; flipping without negating u would not.
    s = optical_strain(np.moveaxis(f, 0, -1))
    s_flip = optical_strain(np.moveaxis(flipped, 0, -1))
    np.testing.assert_allclose(s_flip, s[:, ::-1], atol=1e-5)
    wrong = np.stack([f[0, :, ::-1], f[1, :, ::-1]])
    assert not np.allclose(optical_strain(np.moveaxis(wrong, 0, -1)), s[:, ::-1], atol=1e-3)
    twice = RandomHorizontalFlip(p=1.0)(torch.from_numpy(flipped)).numpy()
    np.testing.assert_array_equal(twice, f)


def test_flip_probability_and_generator():
    x = torch.arange(2 * 4 * 5, dtype=torch.float32).reshape(1, 2, 4, 5).repeat(200, 1, 1, 1)
    assert torch.equal(RandomHorizontalFlip(p=0.0)(x), x)
    out = RandomHorizontalFlip(p=0.5, generator=torch.Generator().manual_seed(0))(x)
    flipped = (out[:, 1, 0, 0] != x[:, 1, 0, 0]).float().mean().item()
    assert 0.35 < flipped < 0.65
    again = RandomHorizontalFlip(p=0.5, generator=torch.Generator().manual_seed(0))(x)
    assert torch.equal(out, again)


def test_minmax_per_sample_per_channel():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 8, 9)).astype(np.float32)
    x[2, 1] = 5.0  # a constant channel
    got = MinMaxNormalize()(torch.from_numpy(x)).numpy()
    lo = x.min(axis=(2, 3), keepdims=True)
    span = x.max(axis=(2, 3), keepdims=True) - lo
    want = np.where(span > 0, (x - lo) / np.where(span > 0, span, 1), 0)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.all(got[2, 1] == 0)
    assert got.min() == 0 and got.max() == 1


def test_transform_chain_and_bad_shapes():
    x = torch.from_numpy(np.stack([field(50, 50), field(50, 50, seed=1)]))
    assert input_transforms(28, train=False)(x).shape == (2, 2, 28, 28)
    assert input_transforms(28, train=True)(x[0]).shape == (2, 28, 28)
    with pytest.raises(ValueError, match="expects a \\(C, H, W\\) or \\(B, C, H, W\\) tensor"):
        Resize(8)(torch.zeros(8, 8))
    with pytest.raises(ValueError, match="size must be"):
        Resize(0)
    with pytest.raises(ValueError, match="p must be in"):
        RandomHorizontalFlip(p=2)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_layer_tables_parameter_counts():
    k = 5
    # SSSNet: conv5x5 3->32, BN32, conv3x3 32->64, BN64, fc 9*9*64->256, fc 256->k
    assert n_params(SSSNet(k)) == (3 * 32 * 25 + 32) + 64 + (32 * 64 * 9 + 64) + 128 + (81 * 64 * 256 + 256) + (
        256 * k + k
    )
    # STSTNet: three conv3x3 streams with 3, 5, 8 filters (+BN), fc 5*5*16 -> k
    assert n_params(STSTNet(k)) == sum(3 * c * 9 + c + 2 * c for c in (3, 5, 8)) + (400 * k + k)
    # MEB's single-stream Off-ApexNet: conv3x3 2->6, conv3x3 6->16, fc 7*7*16->1024, fc 1024->k
    assert n_params(OffApexNetMEB(k)) == (2 * 6 * 9 + 6) + (6 * 16 * 9 + 16) + (784 * 1024 + 1024) + (1024 * k + k)
    # ResNet-18 with 3 input channels and 1000 classes: the published 11,689,512 parameters
    assert n_params(ResNet18(1000, in_channels=3)) == 11_689_512


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_take_their_published_input_size(name):
    spec = MODELS[name]
    model = build_model(name, 4).eval()
    x = torch.zeros(1, *spec.input.shape)
    assert model(x).shape == (1, 4)
    if not spec.input.resizable:  # the shallow nets' fully connected layers fix the size
        with pytest.raises(RuntimeError):
            model(torch.zeros(2, spec.in_channels, spec.input_size + 8, spec.input_size + 8))


def test_build_model_errors():
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        build_model("vgg", 3)
    with pytest.raises(ValueError, match="n_outputs must be at least 1"):
        build_model("sssnet", 0)
