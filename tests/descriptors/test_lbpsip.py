"""LBP-SIP and LBP-MOP against brute-force NumPy references, LBP-TOP and analytic textures."""

from __future__ import annotations

import numpy as np
import pytest

import mefast
from mefast.errors import CudaUnavailableError, ShapeError

from . import _reference_handcrafted as ref


@pytest.mark.parametrize(
    ("shape", "radius", "blocks", "time_blocks"),
    [((7, 23, 19), (1, 1, 1), (3, 2), 1), ((9, 30, 27), (2, 1, 2), (4, 5), 2), ((5, 12, 12), (3, 3, 1), (1, 1), 1)],
)
def test_lbp_sip_matches_reference_exactly(shape, radius, blocks, time_blocks):
    rng = np.random.default_rng(sum(shape))
    clip = rng.integers(0, 8, shape, dtype=np.uint8)  # few grey levels: many ties (ties count as 1)
    got = mefast.lbp_sip(clip, radius=radius, blocks=blocks, time_blocks=time_blocks, normalize="none", n_threads=2)
    want = ref.lbp_sip(clip, radius, blocks, time_blocks, normalize=False)
    np.testing.assert_array_equal(got, want)
    norm = mefast.lbp_sip(clip, radius=radius, blocks=blocks, time_blocks=time_blocks)
    np.testing.assert_allclose(norm, ref.lbp_sip(clip, radius, blocks, time_blocks), rtol=1e-6)
    assert norm.shape == (time_blocks * blocks[0] * blocks[1] * 20,)


def test_lbp_sip_float_clip_and_thread_count_agree():
    clip = np.random.default_rng(1).random((8, 20, 22))
    one = mefast.lbp_sip(clip, blocks=(2, 3), normalize="none", n_threads=1)
    two = mefast.lbp_sip(clip, blocks=(2, 3), normalize="none", n_threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, ref.lbp_sip(clip.astype(np.float32), (1, 1, 1), (2, 3), 1, normalize=False))


def test_lbp_sip_spatial_code_is_lbp_top_xy_with_four_points():
    """The spatial half is LBP-TOP's XY plane with P=4 raw codes (an independent C++ implementation)."""
    clip = np.random.default_rng(2).integers(0, 256, (9, 33, 29), dtype=np.uint8)
    sip = mefast.lbp_sip(clip, radius=2, blocks=(3, 2), normalize="none").reshape(6, 20)
    top = mefast.lbp_top(clip, radius=2, points=4, blocks=(3, 2), mapping=None, normalize="none", n_threads=1)
    np.testing.assert_array_equal(sip[:, :16], top.reshape(6, 3, 16)[:, 0])
    # temporal code = bits (t - R, t + R) = XT bits 3 and 1 of LBP-TOP's "orig" geometry (p=1: t + R, p=3: t - R)
    xt = top.reshape(6, 3, 16)[:, 1]
    codes = np.arange(16)
    temporal = ((codes >> 3) & 1) | (((codes >> 1) & 1) << 1)
    np.testing.assert_array_equal(sip[:, 16:], np.stack([xt[:, temporal == k].sum(1) for k in range(4)], 1))


def test_lbp_sip_known_texture_and_still_clip():
    x = np.arange(40, dtype=np.uint8)
    ramp = np.broadcast_to(x, (6, 30, 40)).copy()  # brighter to the right, the same in y and t
    f = mefast.lbp_sip(ramp, blocks=1).reshape(20)
    # right >= c: 1, up == c: 1, left < c: 0, down == c: 1 -> 1 + 2 + 8 = 11; both frames tie -> temporal 3
    assert f[11] == 1.0 and f[:16].sum() == 1.0
    assert f[16 + 3] == 1.0 and f[16:].sum() == 1.0
    still = mefast.lbp_sip(np.full((5, 10, 10), 3, np.uint8), blocks=2).reshape(4, 20)
    assert np.isfinite(still).all()
    assert (still[:, 15] == 1).all() and (still[:, 19] == 1).all()


@pytest.mark.parametrize(
    ("shape", "radius", "points", "blocks", "mapping"),
    [((6, 24, 20), (1, 1, 1), 8, (2, 2), "u2"), ((7, 30, 26), (2, 1, 2), 8, (3, 2), "riu2"),
     ((5, 16, 16), (1, 2, 1), 4, (1, 1), None)],
)  # fmt: skip
def test_lbp_mop_matches_reference_exactly(shape, radius, points, blocks, mapping):
    clip = np.random.default_rng(3).integers(0, 4, shape, dtype=np.uint8)
    got = mefast.lbp_mop(clip, radius=radius, points=points, blocks=blocks, mapping=mapping, normalize="none")
    np.testing.assert_array_equal(got, ref.lbp_mop(clip, radius, points, blocks, mapping, normalize=False))
    norm = mefast.lbp_mop(clip, radius=radius, points=points, blocks=blocks, mapping=mapping)
    np.testing.assert_allclose(norm, ref.lbp_mop(clip, radius, points, blocks, mapping), rtol=1e-6)


def test_lbp_mop_layout_and_float_clip():
    clip = np.random.default_rng(4).random((6, 20, 20)).astype(np.float32)
    f = mefast.lbp_mop(clip, blocks=(2, 2))
    assert f.shape == (2 * 2 * 3 * 59,)
    np.testing.assert_allclose(f.reshape(4, 3, 59).sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(f, ref.lbp_mop(clip, (1, 1, 1), 8, (2, 2), "u2"), rtol=1e-6)


@pytest.mark.parametrize("fn", [mefast.lbp_sip, mefast.lbp_mop])
def test_bad_input_names_the_problem(fn):
    clip = np.zeros((6, 20, 20), np.uint8)
    with pytest.raises(ShapeError, match="video must have shape"):
        fn(np.zeros((20, 20)))
    with pytest.raises(ShapeError, match="NaN"):
        fn(np.full((6, 20, 20), np.nan))
    with pytest.raises(ValueError, match="radius"):
        fn(clip, radius=0)
    with pytest.raises(ValueError, match="blocks"):
        fn(clip, blocks=(2, 0))
    with pytest.raises(ShapeError, match="radius|block"):
        fn(clip, blocks=(15, 15), radius=3)
    with pytest.raises(ValueError, match="mode"):
        fn(clip, mode="reference")
    with pytest.raises(ValueError, match="normalize"):
        fn(clip, normalize="l2")
    with pytest.raises(CudaUnavailableError, match=fn.__name__):
        fn(clip, device="cuda")


@pytest.mark.parametrize("fn", [mefast.lbp_sip, mefast.lbp_mop])
def test_values_beyond_float32_are_refused(fn):
    """A finite float64 clip beyond float32's range became inf with only a RuntimeWarning from the cast."""
    v = np.random.default_rng(0).random((9, 40, 40))
    v[:, :, 20] = 1e39
    with pytest.raises(ShapeError, match=r"^video holds values beyond the float32 range \(largest magnitude 1e\+39\)$"):
        fn(v)
    v[:, :, 20] = float(np.finfo(np.float32).max)  # the largest float32 is still a grey level
    np.testing.assert_array_equal(fn(v), fn(v.astype(np.float32)))
