"""The learned magnification network (Oh et al. 2018): architecture, TF padding, weight loading, training."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import mefast  # noqa: E402
from mefast.train.magnification import (  # noqa: E402
    LBMM,
    MagnificationWeightsError,
    _same_pad,
    synthetic_magnification_pairs,
    tf_name,
    train_lbmm,
)


def test_released_architecture_has_42_kernels_and_918928_weights():
    """N5: the released configuration's size."""
    net = LBMM()
    assert len(net.state_dict()) == 42
    assert sum(p.numel() for p in net.parameters()) == 918_928
    y = net(torch.zeros(1, 3, 36, 44), torch.zeros(1, 3, 36, 44), 5.0)
    assert y.shape == (1, 3, 36, 44)


def test_tf_same_stride2_samples_odd_positions():
    """N3: a stride-2 3x3 SAME convolution with a centred one-hot kernel on an even input returns x[1::2, 1::2]
    (torch's symmetric padding=1 would give x[0::2, 0::2])."""
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    k = torch.zeros(1, 1, 3, 3)
    k[0, 0, 1, 1] = 1.0
    y = torch.nn.functional.conv2d(_same_pad(x, 3, 2), k, stride=2)
    assert torch.equal(y, x[..., 1::2, 1::2])


def test_identical_frames_and_unit_amplification():
    """N1: A == B gives the same output for every amplification; N2: amplification 1 returns M_b exactly."""
    torch.manual_seed(0)
    net = LBMM(8, n_encoder=1, n_texture=1, n_shape=1, n_manipulator=1, n_decoder=1).eval()
    a = torch.rand(2, 3, 16, 20) * 2 - 1
    b = torch.rand(2, 3, 16, 20) * 2 - 1
    with torch.no_grad():
        assert torch.equal(net(a, a, 2.0), net(a, a, 30.0))
        _, m_a = net.encode(a)
        _, m_b = net.encode(b)
        assert torch.equal(net.manipulate(m_a, m_b, 1.0), m_b)


def test_weight_round_trip_in_every_format(tmp_path):
    torch.manual_seed(1)
    net = LBMM(8)  # every layer of the released model, 8 channels wide (small files)
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    paths = {"pt": tmp_path / "w.pt", "npz_tf": tmp_path / "tf.npz", "npz": tmp_path / "own.npz"}
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, paths["pt"])  # DataParallel-wrapped
    np.savez(paths["npz_tf"], **net.tf_state_dict())
    np.savez(paths["npz"], **{k: v.numpy() for k, v in sd.items()})
    for p in paths.values():
        loaded = LBMM.load(p, width=8).state_dict()
        assert all(torch.equal(loaded[k], sd[k]) for k in sd), p
    assert tf_name("encoder.encoder_resblk0.c1.conv.weight") == "ynet_3frames/encoder/encoder_resblk0_c1/Conv/weights"
    assert tf_name("decoder.pred_conv.conv.weight") == "ynet_3frames/decoder/pred_conv/Conv/weights"
    # HWIO on disk: the first kernel is 7 x 7 x 3 x (width / 2)
    assert np.load(paths["npz_tf"])["ynet_3frames/encoder/enc_conv1_c/Conv/weights"].shape == (7, 7, 3, 4)


def test_wrong_weights_are_refused_with_the_keys(tmp_path):
    net = LBMM(8)
    sd = net.state_dict()
    bad = {k: v for k, v in sd.items() if "decoder_resblk8" not in k}
    bad["decoder.extra.conv.weight"] = torch.zeros(1)
    with pytest.raises(MagnificationWeightsError, match=r"2 missing key\(s\) \[decoder.decoder_resblk8.c1") as e:
        net.load_weights(bad)
    assert "1 unexpected key(s) [decoder.extra.conv.weight]" in str(e.value)
    with pytest.raises(MagnificationWeightsError, match="has shape"):
        net.load_weights(LBMM(16).state_dict())
    torch.save({"model_state_dict": {}}, tmp_path / "k.pth")
    with pytest.raises(MagnificationWeightsError, match="postech-ami"):
        LBMM.load(tmp_path / "k.pth")
    torch.save({"encoder.cba_1.conv2d.weight": torch.zeros(1)}, tmp_path / "z.pth")
    with pytest.raises(MagnificationWeightsError, match="ZhengPeng7"):
        LBMM.load(tmp_path / "z.pth")
    with pytest.raises(FileNotFoundError, match="downloads nothing"):
        LBMM.load(tmp_path / "missing.npz")


def test_magnify_learned_needs_weights_and_runs_with_a_model(rng):
    clip = rng.random((3, 20, 24, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="needs weights="):
        mefast.magnify(clip, 5, "learned")
    net = LBMM(8, n_encoder=1, n_texture=1, n_shape=1, n_manipulator=1, n_decoder=1)
    out = mefast.magnify(clip, 5, "learned", weights=net)
    assert out.shape == clip.shape and out.dtype == clip.dtype
    np.testing.assert_array_equal(out[0], clip[0])
    grey = (rng.random((2, 20, 24)) * 255).astype(np.uint8)
    assert mefast.magnify(grey, 5, "learned", weights=net).dtype == np.uint8


def test_synthetic_pairs_have_the_stated_motion():
    """The target is the image moved by amplification x the motion of frame_b (checked with TV-L1 on one pair)."""
    data = synthetic_magnification_pairs(4, 64, seed=3, face_fraction=1.0, max_motion=0.8)
    assert data["frame_a"].shape == (4, 3, 64, 64) and data["motion"].shape == (4, 64, 64, 2)
    assert data["frame_a"].min() >= -1 and data["frame_a"].max() <= 1
    to01 = lambda x: (x.transpose(1, 2, 0) + 1) / 2  # noqa: E731
    a, b, y = to01(data["frame_a"][0]), to01(data["frame_b"][0]), to01(data["target"][0])
    d, amp = data["motion"][0], data["amplification"][0]
    fb = mefast.tvl1(a, b, params="accurate")[12:-12, 12:-12]
    fy = mefast.tvl1(a, y, params="accurate")[12:-12, 12:-12]
    inner = -d[12:-12, 12:-12]  # W(I, d)(x) = I(x + d): content moves by -d
    assert np.abs(fb - inner).mean() < 0.15
    assert np.abs(fy - amp * inner).mean() < 0.15 * amp


def test_short_training_lowers_the_loss_and_beats_identity():
    """A small LBMM trained for 200 steps on 16 x 16 texture pairs: the loss falls and, on held-out pairs, the L1
    to the magnified target is below that of the unmagnified frame (identity). Measured: loss 0.24 -> 0.08, held-out
    L1 0.080 against 0.099 for the identity."""
    torch.set_num_threads(1)
    kw = {"amplification": (4.0, 8.0), "max_motion": 0.8, "face_fraction": 0.0}
    train = synthetic_magnification_pairs(96, 16, seed=0, **kw)
    heldout = synthetic_magnification_pairs(16, 16, seed=9, **kw)
    net = LBMM(16, n_encoder=1, n_texture=1, n_shape=1, n_manipulator=1, n_decoder=1)
    res = train_lbmm(net, train=train, heldout=heldout, steps=200, batch_size=6, lr=3e-3, seed=0)
    assert np.mean(res.losses[-20:]) < 0.5 * np.mean(res.losses[:5])
    assert res.heldout_l1 < res.identity_l1
