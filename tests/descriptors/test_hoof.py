"""HOOF and Bi-WOOF's weight ablations against brute-force NumPy references and analytic flows."""

from __future__ import annotations

import numpy as np
import pytest

import mefast
from mefast.errors import CudaUnavailableError, ShapeError

from . import _reference_handcrafted as ref


@pytest.mark.parametrize(
    ("shape", "blocks", "bins", "symmetric"),
    [((31, 27), (5, 5), 8, False), ((40, 33), (3, 4), 12, True), ((9, 9), (1, 1), 3, False)],
)
def test_hoof_matches_reference(shape, blocks, bins, symmetric):
    rng = np.random.default_rng(shape[0])
    flow = rng.normal(size=(*shape, 2)).astype(np.float32)
    flow[rng.random(shape) < 0.2] = 0.0  # still pixels vote nothing
    # exact axis-aligned angles land on bin edges: both sides must agree on them too
    flow[0, :4] = [[1, 0], [0, 1], [-1, 0], [0, -1]]
    got = mefast.hoof(flow, blocks=blocks, bins=bins, symmetric=symmetric)
    np.testing.assert_allclose(got, ref.hoof(flow, blocks, bins, symmetric), rtol=1e-5, atol=1e-7)
    assert got.shape == (blocks[0] * blocks[1] * bins,)


def test_hoof_stack_layout_and_threads():
    flows = np.random.default_rng(0).normal(size=(2, 3, 20, 20, 2)).astype(np.float32)
    got = mefast.hoof(flows, blocks=2, n_threads=2)
    assert got.shape == (2, 3, 32)
    np.testing.assert_allclose(got[1, 2], ref.hoof(flows[1, 2], (2, 2), 8), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("symmetric", [False, True])
def test_threads_do_not_change_bins_on_the_edges(symmetric):
    """A stack split over threads bins exactly as one thread does, vectors on bin edges (and at 180 degrees)
    included: every sample equals the reference."""
    rng = np.random.default_rng(7)
    flows = rng.normal(size=(4, 20, 20, 2)).astype(np.float32)
    angles = np.pi * np.arange(-8, 9) / 4  # every edge of 8 bins, both ends of the circle
    flows[:, 0, :17] = np.stack([np.cos(angles), np.sin(angles)], axis=-1).astype(np.float32)
    flows[:, 1, :4] = [[1, 0], [0, 1], [-1, 0], [0, -1]]
    one = mefast.hoof(flows, blocks=2, symmetric=symmetric, n_threads=1)
    np.testing.assert_array_equal(mefast.hoof(flows, blocks=2, symmetric=symmetric, n_threads=2), one)
    for i in range(len(flows)):
        np.testing.assert_allclose(one[i], ref.hoof(flows[i], (2, 2), 8, symmetric), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("u", "v", "bin_"), [(1.0, 0.0, 4), (0.0, -2.0, 2), (-1.0, 1.0, 7), (-3.0, 0.0, 0)])
def test_uniform_translation_fills_one_bin(u, v, bin_):
    flow = np.zeros((30, 30, 2), np.float32)
    flow[...] = (u, v)
    f = mefast.hoof(flow, blocks=3).reshape(9, 8)
    np.testing.assert_array_equal(np.argmax(f, 1), bin_)
    np.testing.assert_allclose(f[:, bin_], 1.0)
    # Bi-WOOF with both weights off puts everything in the same bin
    b = mefast.biwoof(flow, np.zeros((30, 30), np.float32), blocks=3, local_weights=False, global_weights=False)
    np.testing.assert_allclose(b.reshape(9, 8)[:, bin_], 1 / 3, rtol=1e-6)


@pytest.mark.parametrize("bins", [8, 12, 20, 24, 50, 64])
def test_flow_on_a_bin_edge_lands_above_it(bins):
    """A uniform flow at d degrees (a multiple of 45) fills bin floor((d + 180) bins / 360) (180: bin 0), in HOOF,
    Bi-WOOF's paper mode, and symmetric HOOF (angle folded to [-90, 90], bin floor((d + 90) bins / 180)).

    Integer arithmetic gives the expected bin; np.linspace(-pi, pi, 51)[25] is 4.4e-16, which put rightward flow
    in bin 24 of 50.
    """
    for (u, v), deg in {(1, 0): 0, (1, 1): 45, (0, 1): 90, (-1, 1): 135, (-1, 0): 180, (-1, -1): -135,
                        (0, -1): -90, (1, -1): -45}.items():  # fmt: skip
        flow = np.zeros((6, 6, 2), np.float32)
        flow[...] = (u, v)
        expected = ((deg + 180) * bins // 360) % bins
        assert np.flatnonzero(mefast.hoof(flow, blocks=1, bins=bins)).tolist() == [expected], deg
        strain = np.ones(flow.shape[:2], np.float32)  # a uniform flow has no strain: weigh every pixel 1
        assert np.flatnonzero(mefast.biwoof(flow, strain, blocks=1, bins=bins)).tolist() == [expected], deg
        folded = deg if abs(deg) <= 90 else (180 - deg if deg > 0 else -180 - deg)
        sym = min((folded + 90) * bins // 180, bins - 1)
        assert np.flatnonzero(mefast.hoof(flow, blocks=1, bins=bins, symmetric=True)).tolist() == [sym], deg


def test_symmetric_binning_mirrors_left_and_right():
    right = np.zeros((10, 10, 2), np.float32)
    right[...] = (1.0, 0.5)
    left = right * np.array([-1.0, 1.0], np.float32)
    np.testing.assert_array_equal(mefast.hoof(right, blocks=1, symmetric=True),
                                  mefast.hoof(left, blocks=1, symmetric=True))  # fmt: skip
    assert not np.array_equal(mefast.hoof(right, blocks=1), mefast.hoof(left, blocks=1))


def test_still_flow_gives_zeros():
    for f in (mefast.hoof(np.zeros((20, 20, 2))), mefast.biwoof(np.zeros((20, 20, 2)), local_weights=False)):
        assert np.isfinite(f).all() and not f.any()


@pytest.mark.parametrize(("local", "glob"), [(True, True), (False, True), (True, False), (False, False)])
def test_biwoof_ablations_match_reference(local, glob):
    rng = np.random.default_rng(7)
    flow = rng.normal(size=(33, 29, 2)).astype(np.float32)
    flow[rng.random((33, 29)) < 0.3] = 0.0
    strain = rng.random((33, 29)).astype(np.float32)
    got = mefast.biwoof(flow, strain, blocks=(5, 4), bins=6, local_weights=local, global_weights=glob)
    want = ref.biwoof_paper(flow, strain, (5, 4), 6, local, glob)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_biwoof_without_global_weight_is_normalised_hoof():
    flow = np.random.default_rng(8).normal(size=(40, 40, 2)).astype(np.float32)
    h = mefast.hoof(flow)
    np.testing.assert_allclose(mefast.biwoof(flow, global_weights=False), h / np.linalg.norm(h), rtol=1e-5)


def test_bad_input_names_the_problem():
    with pytest.raises(ShapeError, match=r"\(\.\.\., H, W, 2\)"):
        mefast.hoof(np.zeros((10, 10, 3)))
    with pytest.raises(ShapeError, match="NaN"):
        mefast.hoof(np.full((10, 10, 2), np.nan))
    with pytest.raises(ValueError, match="bins"):
        mefast.hoof(np.zeros((10, 10, 2)), bins=1)
    with pytest.raises(ShapeError, match="block rows"):
        mefast.hoof(np.zeros((4, 10, 2)), blocks=(5, 5))
    with pytest.raises(ValueError, match="symmetric"):
        mefast.hoof(np.zeros((10, 10, 2)), symmetric="yes")
    with pytest.raises(ValueError, match="local_weights"):
        mefast.biwoof(np.zeros((10, 10, 2)), local_weights=None)
    with pytest.raises(CudaUnavailableError, match="hoof"):
        mefast.hoof(np.zeros((10, 10, 2)), device="cuda")


@pytest.mark.parametrize("symmetric", [True, False])
def test_an_empty_stack_gives_an_empty_feature_stack(symmetric):
    feat = mefast.hoof(np.zeros((0, 20, 20, 2), np.float32), blocks=(2, 2), bins=6, symmetric=symmetric)
    assert feat.shape == (0, 24)


@pytest.mark.parametrize("fn", ["hoof", "biwoof", "hog3d", "higo"])
def test_a_bin_count_beyond_the_bound_is_refused_before_any_allocation(fn):
    """bins=2**31 had Bi-WOOF killed for memory allocating its output; every orientation histogram takes at most
    MAX_BINS (a tenth of a degree each)."""
    from mefast.descriptors._grid import MAX_BINS

    data = np.zeros((5, 10, 10), np.uint8) if fn in ("hog3d", "higo") else np.zeros((10, 10, 2), np.float32)
    with pytest.raises(ValueError, match=rf"^bins must be at most {MAX_BINS} .*got 2147483648$"):
        getattr(mefast, fn)(data, bins=2**31)
    assert getattr(mefast, fn)(data, blocks=1, bins=MAX_BINS).shape[-1] % MAX_BINS == 0
