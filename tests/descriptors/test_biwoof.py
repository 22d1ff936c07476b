"""Bi-WOOF: the spec's oracles (descriptors.md §4.4, §7 B1-B3), a brute-force NumPy reference of both modes,
known block directions, batching and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mefast
from mefast.descriptors._biwoof import biwoof_block_bounds
from mefast.errors import ShapeError
from mefast.testing import smooth_field

# ---------------------------------------------------------------------------------------------------------
# Brute-force reference, written from the spec's text: masks per block, np.histogram / explicit histc rules.


def _reference(flow, strain, blocks=(5, 5), bins=8, mode="paper", local_weights=True):
    flow = np.asarray(flow, np.float64)
    strain = np.asarray(strain, np.float64)
    h, w = strain.shape
    u, v = flow[..., 0], flow[..., 1]
    mag = np.hypot(u, v)
    if not local_weights:  # the ablation: every moving pixel votes 1
        mag = (mag > 0).astype(np.float64)
    theta = np.degrees(np.arctan2(v, u))
    feats = []
    for r in range(blocks[0]):
        for c in range(blocks[1]):
            if mode == "paper":
                sh, sw = h // blocks[0], w // blocks[1]
                rows = slice(r * sh, h if r == blocks[0] - 1 else (r + 1) * sh)
                cols = slice(c * sw, w if c == blocks[1] - 1 else (c + 1) * sw)
                t = theta[rows, cols].ravel()
                t = np.where(t >= 180.0, -180.0, t)
                hist, _ = np.histogram(t, bins=np.linspace(-180, 180, bins + 1), weights=mag[rows, cols].ravel())
                weight = strain[rows, cols].mean()
            else:  # biwoof.m: 1-based MATLAB bounds translated literally
                sh, sw = h // blocks[0], w // blocks[1]

                def bounds(i, n, s, size):
                    if i == 1:
                        return 1, min(i * s + 1, size)
                    if i == n:
                        return (i - 1) * s, size
                    return (i - 1) * s, i * s + 1

                a, b = bounds(r + 1, blocks[0], sh, h)
                aw, bw = bounds(c + 1, blocks[1], sw, w)
                rows, cols = slice(a - 1, b), slice(aw - 1, bw)
                t = theta[rows, cols].ravel()
                m = mag[rows, cols].ravel()
                edges = -180.0 + np.arange(bins) * (360.0 / bins)
                hist = np.zeros(bins)
                for k in range(bins - 1):
                    hist[k] = m[(t >= edges[k]) & (t < edges[k + 1])].sum()
                hist[-1] = m[t == edges[-1]].sum()
                weight = strain[rows, cols].sum()
            total = hist.sum()
            feats.append(hist / total * weight if total > 0 else np.zeros(bins))
    out = np.concatenate(feats)
    norm = np.linalg.norm(out)
    return out / norm if norm > 0 else out


def _stretch(a=0.05, n=100, sign=1.0):
    y, x = np.mgrid[0:n, 0:n].astype(np.float32)
    return np.stack([sign * a * x, np.zeros_like(x)], axis=-1)  # v = +0.0 everywhere


# ---------------------------------------------------------------------------------------------------------
# Spec oracles


@pytest.mark.parametrize("mode", ["paper", "reference"])
@pytest.mark.parametrize("c", [0.1, 3.0, 40.0])
def test_b1_scale_invariance(mode, c):
    flow = smooth_field(96, 80, 1.0, seed=3)
    base = mefast.biwoof(flow, mode=mode)
    scaled = mefast.biwoof(c * flow, mode=mode)
    np.testing.assert_allclose(scaled, base, atol=2e-6)
    assert np.linalg.norm(base) == pytest.approx(1.0, abs=1e-6)


def test_b2_stretch_paper_mode():
    feat = mefast.biwoof(_stretch())
    assert feat.shape == (200,)
    np.testing.assert_array_equal(np.flatnonzero(feat), np.arange(25) * 8 + 4)
    np.testing.assert_allclose(feat[4::8], 0.2, rtol=1e-6)


def test_b2_stretch_reference_mode_is_area_weighted():
    feat = mefast.biwoof(_stretch(), mode="reference")
    np.testing.assert_array_equal(np.flatnonzero(feat), np.arange(25) * 8 + 4)
    areas = np.array([21, 22, 22, 22, 21], float)  # biwoof.m's block heights/widths for 100 px
    expected = np.outer(areas, areas).ravel() / 2334.0
    np.testing.assert_allclose(feat[4::8], expected, rtol=1e-6)
    assert feat[4] == pytest.approx(0.18895, abs=1e-5)  # corner
    assert feat[12 * 8 + 4] == pytest.approx(0.20737, abs=1e-5)  # centre


def test_b3_mirror_tells_the_modes_apart():
    flow = _stretch(sign=-1.0)  # theta = 180 degrees everywhere (x > 0)
    paper = mefast.biwoof(flow)
    np.testing.assert_array_equal(np.flatnonzero(paper), np.arange(25) * 8)
    np.testing.assert_allclose(paper[0::8], 0.2, rtol=1e-6)
    # biwoof.m drops (135, 180] degrees: every block is 0/0 (NaN in MATLAB); mefast gives zeros, never NaN.
    ref = mefast.biwoof(flow, mode="reference")
    np.testing.assert_array_equal(ref, 0.0)


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_translation_and_still_face_give_zeros(mode):
    still = np.zeros((64, 64, 2), np.float32)
    moving = np.full((64, 64, 2), (1.5, -0.5), np.float32)  # zero strain everywhere
    for flow in (still, moving):
        feat = mefast.biwoof(flow, mode=mode)
        assert np.isfinite(feat).all()
        np.testing.assert_array_equal(feat, 0.0)


# ---------------------------------------------------------------------------------------------------------
# Edges of the orientation bins


def _single_direction(theta_deg, n=20, blocks=(1, 1)):
    t = np.radians(theta_deg)
    flow = np.empty((n, n, 2), np.float32)
    flow[..., 0] = np.float32(np.cos(t))
    flow[..., 1] = np.float32(np.sin(t))
    return mefast.biwoof(flow, np.ones((n, n), np.float32), blocks=blocks)


@pytest.mark.parametrize(
    ("deg", "bin_"), [(-179.0, 0), (-90.5, 1), (-89.5, 2), (0.0, 4), (44.0, 4), (46.0, 5), (134.0, 6), (179.5, 7)]
)
def test_paper_bins(deg, bin_):
    feat = _single_direction(deg)
    assert np.flatnonzero(feat).tolist() == [bin_]


def test_paper_180_degrees_wraps_to_bin_0():
    flow = np.zeros((8, 8, 2), np.float32)
    flow[..., 0] = -1.0  # v = +0: atan2 = +180 degrees
    feat = mefast.biwoof(flow, np.ones((8, 8), np.float32), blocks=1)
    assert np.flatnonzero(feat).tolist() == [0]


def test_reference_histc_edges():
    ones = np.ones((4, 4), np.float32)
    flow = np.zeros((4, 4, 2), np.float32)
    flow[..., 0], flow[..., 1] = -1.0, 1.0  # exactly 135 degrees: histc's last bin
    assert np.flatnonzero(mefast.biwoof(flow, ones, blocks=1, mode="reference")).tolist() == [7]
    flow[..., 1] = 0.9  # 138 degrees: dropped
    np.testing.assert_array_equal(mefast.biwoof(flow, ones, blocks=1, mode="reference"), 0.0)
    flow[..., 1] = 1.1  # 132 degrees: bin 6
    assert np.flatnonzero(mefast.biwoof(flow, ones, blocks=1, mode="reference")).tolist() == [6]
    flow[..., 1] = -0.0  # atan2(-0, -1) = -180 degrees: bin 0, as in MATLAB
    assert np.flatnonzero(mefast.biwoof(flow, ones, blocks=1, mode="reference")).tolist() == [0]


def test_known_direction_per_block():
    """Each block of a 5x4 grid moves in its own direction: one-hot histograms, weighted by the strain."""
    h, w, rows, cols, bins = 100, 80, 5, 4, 8
    flow = np.zeros((h, w, 2), np.float32)
    strain = np.zeros((h, w), np.float32)
    expected = np.zeros(rows * cols * bins)
    rng = np.random.default_rng(7)
    for r in range(rows):
        for c in range(cols):
            k = int(rng.integers(bins))
            t = np.radians(-180 + 45 * k + 22.5)  # the centre of bin k
            blk = (slice(20 * r, 20 * r + 20), slice(20 * c, 20 * c + 20))
            flow[blk] = (np.cos(t) * (1 + r), np.sin(t) * (1 + r))
            strain[blk] = 0.1 * (1 + c)
            expected[(r * cols + c) * bins + k] = 0.1 * (1 + c)
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(mefast.biwoof(flow, strain, blocks=(rows, cols)), expected, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------------------------------
# Against the brute-force reference


@pytest.mark.parametrize("mode", ["paper", "reference"])
@pytest.mark.parametrize(
    ("shape", "blocks", "bins"), [((100, 100), (5, 5), 8), ((97, 83), (5, 4), 6), ((60, 71), (3, 7), 12)]
)
def test_matches_reference(mode, shape, blocks, bins, rng):
    h, w = shape
    flow = smooth_field(h, w, 1.5, seed=int(rng.integers(1000))) + rng.normal(0, 0.3, (h, w, 2)).astype(np.float32)
    strain = mefast.optical_strain(flow)
    got = mefast.biwoof(flow, strain, blocks=blocks, bins=bins, mode=mode)
    np.testing.assert_allclose(got, _reference(flow, strain, blocks, bins, mode), rtol=1e-5, atol=1e-7)
    assert got.dtype == np.float32 and got.shape == (blocks[0] * blocks[1] * bins,)


def test_default_strain_is_central_optical_strain():
    flow = smooth_field(70, 64, 1.0, seed=1)
    np.testing.assert_array_equal(mefast.biwoof(flow), mefast.biwoof(flow, mefast.optical_strain(flow)))


def test_block_bounds_match_biwoof_m():
    rl, rh, _, _ = biwoof_block_bounds(100, 100, (5, 5), "reference")
    # biwoof.m, 0-based inclusive: [0,20], [19,40], [39,60], [59,80], [79,99]
    assert list(zip(rl.tolist(), (rh - 1).tolist(), strict=True)) == [(0, 20), (19, 40), (39, 60), (59, 80), (79, 99)]
    rl, rh, _, _ = biwoof_block_bounds(103, 100, (5, 5), "paper")
    assert rl.tolist() == [0, 20, 40, 60, 80] and rh.tolist() == [20, 40, 60, 80, 103]


# ---------------------------------------------------------------------------------------------------------
# Batches and threads


def test_stack_matches_single_clips_and_threads_agree():
    flows = np.stack([smooth_field(48, 40, 1.0 + i, seed=i) for i in range(5)])
    single = np.stack([mefast.biwoof(f) for f in flows])
    np.testing.assert_array_equal(mefast.biwoof(flows, n_threads=1), single)
    np.testing.assert_array_equal(mefast.biwoof(flows, n_threads=2), single)
    nested = mefast.biwoof(flows.reshape(5, 1, 48, 40, 2), n_threads=3)
    assert nested.shape == (5, 1, 200)
    np.testing.assert_array_equal(nested[:, 0], single)


def test_accepts_float64_and_non_contiguous_input():
    flow = smooth_field(50, 60, 1.0, seed=2)
    wide = np.zeros((50, 60, 4), np.float64)
    wide[..., ::2] = flow
    np.testing.assert_allclose(mefast.biwoof(wide[..., ::2]), mefast.biwoof(flow), atol=1e-7)


# ---------------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"flow": np.zeros((20, 20, 3))}, r"\(\.\.\., H, W, 2\)"),
        ({"flow": np.zeros((20, 2))}, r"\(\.\.\., H, W, 2\)"),
        ({"flow": np.full((20, 20, 2), np.nan)}, "NaN"),
        ({"strain": np.zeros((20, 21))}, "strain must have"),
        ({"strain": np.full((20, 20), np.inf)}, "strain contains NaN"),
        ({"strain": -np.ones((20, 20))}, ">= 0"),
    ],
)
def test_bad_arrays_raise_shape_error(kwargs, match):
    args = {"flow": np.zeros((20, 20, 2), np.float32), "strain": None} | kwargs
    with pytest.raises(ShapeError, match=match):
        mefast.biwoof(args["flow"], args["strain"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bins": 1}, "bins"),
        ({"bins": 2.5}, "bins"),
        ({"blocks": 0}, "blocks"),
        ({"blocks": (5, 5, 5)}, "blocks"),
        ({"blocks": (21, 5)}, "finer than the 20x20"),
        ({"mode": "ref"}, "mode"),
        ({"n_threads": 0}, "n_threads"),
    ],
)
def test_bad_parameters_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mefast.biwoof(np.zeros((20, 20, 2), np.float32), **kwargs)


# ---------------------------------------------------------------------------------------------------------
# The fast angle: accurate, and never changes a bin


def test_atan2_approx_is_within_its_bound(rng):
    from mefast.descriptors._numba import EDGE_MARGIN, atan2_approx

    theta = np.linspace(-np.pi, np.pi, 200_001)
    r = rng.uniform(1e-3, 50, theta.size)
    u, v = r * np.cos(theta), r * np.sin(theta)
    approx = np.array([atan2_approx(b, a) for a, b in zip(u[::7], v[::7], strict=True)])
    err = np.abs((approx - np.arctan2(v[::7], u[::7]) + np.pi) % (2 * np.pi) - np.pi)
    assert err.max() < 2.4e-6 and EDGE_MARGIN >= 4 * err.max()
    assert atan2_approx(0.0, 0.0) == 0.0 and atan2_approx(0.0, -2.0) == pytest.approx(np.pi, abs=1e-12)


@pytest.mark.parametrize("mode", ["paper", "reference"])
@pytest.mark.parametrize("bins", [8, 6])
def test_vectors_at_bin_edges_land_where_arctan2_puts_them(mode, bins):
    """One pixel per block, each at (or a hair from) a bin edge: every block's one-hot histogram must match the
    arctan2 reference, so the fast angle never moves a vector across an edge."""
    edges = -np.pi + np.arange(bins + 1) * (2 * np.pi / bins)
    offsets = np.array([0.0, 1e-9, -1e-9, 2e-6, -2e-6, 1.2e-5, -1.2e-5, 1e-3])
    theta = (edges[:, None] + offsets[None, :]).ravel()
    flow = np.stack([np.cos(theta), np.sin(theta)], axis=-1).astype(np.float32).reshape(1, -1, 2)
    flow = np.repeat(flow, 2, axis=0)  # 2 rows: blocks need at least one pixel
    strain = np.ones(flow.shape[:2], np.float32)
    blocks = (2, flow.shape[1])
    got = mefast.biwoof(flow, strain, blocks=blocks, bins=bins, mode=mode).reshape(2, -1, bins)
    ref = _reference(flow, strain, blocks, bins, mode).reshape(2, -1, bins)
    np.testing.assert_array_equal(got > 0, ref > 0)


def test_float64_beyond_float32_range_is_rejected():
    flow = np.zeros((10, 10, 2))
    flow[3, 4, 0] = 1e300
    with pytest.raises(ShapeError, match="float32 range"):
        mefast.biwoof(flow)
    with pytest.raises(ShapeError, match="float32 range"):
        mefast.optical_strain(flow)  # the strain of the same flow: refused too, not NaN


def test_a_finite_flow_or_strain_that_overflows_float32_raises():
    """Review repro: biwoof of a +-3e38 float32 flow was all NaN (its optical strain overflowed float32), and so
    was biwoof with a given strain of 1e38 (its float32 column sums overflowed)."""
    rng = np.random.default_rng(0)
    flow = (np.sign(rng.standard_normal((40, 40, 2))) * 3e38).astype(np.float32)
    with pytest.raises(ShapeError, match=r"^flow is too large for the float32 optical strain"):
        mefast.biwoof(flow)
    with pytest.raises(ShapeError, match=r"^flow is too large for the float32 optical strain"):
        mefast.biwoof(np.stack([flow / np.float32(1e38), flow]))
    small = rng.standard_normal((40, 40, 2)).astype(np.float32)
    big = np.full((40, 40), 1e38, np.float32)
    match = r"^strain is too large for Bi-WOOF: the float32 sums of the strain \(largest 1e\+38\) overflow"
    with pytest.raises(ShapeError, match=match):
        mefast.biwoof(small, big)
    with pytest.raises(ShapeError, match=match):
        mefast.biwoof(np.stack([small, small]), np.stack([big / 1e30, big]), n_threads=2)
    # the strain's scale does not matter: the advice of the message gives the feature of the scaled-down strain
    np.testing.assert_allclose(mefast.biwoof(small, big / 2**40), mefast.biwoof(small, big / 2**60), rtol=1e-6)
    assert np.isfinite(mefast.biwoof(small, big, global_weights=False)).all()  # the strain is not used: no error
    # a flow of 3e38 whose strain is given: Bi-WOOF itself bins and weighs it in float64
    assert np.isfinite(mefast.biwoof(flow, np.ones((40, 40), np.float32))).all()


@pytest.mark.parametrize("name", ["local_weights", "global_weights"])
@pytest.mark.parametrize("flag", ["no", 1, None], ids=repr)
def test_weight_flags_must_be_bools(name, flag):
    flow = np.zeros((10, 10, 2), np.float32)
    with pytest.raises(ValueError, match=rf"^{name} must be True or False, got {flag!r}$"):
        mefast.biwoof(flow, **{name: flag})
    np.testing.assert_array_equal(mefast.biwoof(flow, **{name: np.bool_(False)}), mefast.biwoof(flow, **{name: False}))


@pytest.mark.parametrize("with_strain", [False, True])
def test_an_empty_stack_gives_an_empty_feature_stack(with_strain):
    """(0, H, W, 2) gives (0, rows * cols * bins), as optical_strain and mdmo_batch give empty results."""
    flow = np.zeros((0, 20, 20, 2), np.float32)
    strain = np.zeros((0, 20, 20), np.float32) if with_strain else None
    assert mefast.biwoof(flow, strain, blocks=(2, 3), bins=8).shape == (0, 48)
    assert mefast.biwoof(np.zeros((2, 0, 20, 20, 2), np.float32), blocks=(2, 3), bins=8).shape == (2, 0, 48)


# ---------------------------------------------------------------------------------------------------------
# Contracts: the GIL, and any finite flow


def test_kernel_releases_the_gil(longest_python_pause):
    from mefast.descriptors._biwoof import _biwoof_kernel as kernel

    flows = np.repeat(smooth_field(128, 128, 1.0, seed=0)[None], 400, axis=0)
    strains = np.ones(flows.shape[:3], np.float32)
    bounds = biwoof_block_bounds(128, 128, (5, 5))
    edges = np.linspace(-np.pi, np.pi, 9)
    out = np.zeros((400, 200))
    kernel(flows[:1], strains[:1], *bounds, edges, 8, 0, 1, 1, out[:1])  # compiled before the test
    pause, seconds = longest_python_pause(lambda: kernel(flows, strains, *bounds, edges, 8, 0, 1, 1, out))
    assert seconds > 2e-3  # long enough to tell
    assert pause < 0.5 * seconds  # with the GIL held, the Python thread would stall for the whole call


@settings(max_examples=25, deadline=None)
@given(
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=3, max_dims=3, min_side=2, max_side=24).map(lambda s: (*s[:2], 2)),
               elements=st.floats(-50, 50, width=32)),
    st.sampled_from(["paper", "reference"]),
)  # fmt: skip
def test_any_finite_flow_gives_a_unit_or_zero_vector(flow, mode):
    blocks = (min(5, flow.shape[0]), min(5, flow.shape[1]))
    feat = mefast.biwoof(flow, blocks=blocks, mode=mode)
    assert feat.shape == (blocks[0] * blocks[1] * 8,) and feat.dtype == np.float32
    assert np.isfinite(feat).all() and (feat >= 0).all()
    norm = float(np.linalg.norm(feat))
    assert norm == pytest.approx(1.0, abs=1e-5) or norm == 0.0
