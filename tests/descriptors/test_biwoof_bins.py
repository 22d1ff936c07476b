"""Bi-WOOF's bin decisions on adversarial vectors: exactly on a bin edge, a float32 step from one, at angles that
``arctan2`` rounds onto an axis, and at magnitudes whose float32 squares underflow or overflow.

The kernel bins most vectors by their octant (signs and ``|v| > |u|``) or by a fast angle, and sends the doubtful
ones through ``arctan2``; every vector must land where the NumPy definitions put it: ``np.histogram`` of
``arctan2`` in radians (the benchmark's NumPy Bi-WOOF), the same in degrees (the brute-force reference of
test_biwoof.py) and biwoof.m's histc rules for ``mode="reference"``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import mefast

from .test_biwoof import _reference

_F32 = np.float32


def _adversarial_vectors() -> np.ndarray:
    """(N, 2) float32 (u, v): edges of every bin count used below, their float32 neighbours, near-axis angles."""
    one = _F32(1.0)
    up, down = np.nextafter(one, _F32(2.0)), np.nextafter(one, _F32(0.0))
    pairs = [(1, 1), (1, up), (1, down), (up, 1), (down, 1)]  # the diagonal and a float32 step either side
    tiny = [0.0, -0.0, 1e-45, 1e-38, 1e-30, 1e-17, 2e-16, 1e-15, 9.9e-14, 1e-13, 1.01e-13, 1e-12, 1e-7]
    pairs += [(1, t) for t in tiny] + [(t, 1) for t in tiny]  # on, or a hair from, an axis
    out = []
    for scale in (1.0, 3e-5, 1e-18, 1e-20, 1e-40, 1e18, 1e20, 3e38):  # float32 squares under/overflow at the ends
        for a, b in pairs:
            for su, sv in itertools.product((1, -1), repeat=2):
                out.append((su * _F32(a) * _F32(scale), sv * _F32(b) * _F32(scale)))
    vec = np.array(out, np.float32)
    finite = np.isfinite(vec).all(axis=1)
    return np.unique(vec[finite], axis=0)


def _numpy_radians_bin(u: np.ndarray, v: np.ndarray, bins: int) -> np.ndarray:
    """The benchmark's definition: ``arctan2`` in float64, 180 degrees wrapped to -180, ``np.histogram`` bins."""
    theta = np.arctan2(v.astype(np.float64), u.astype(np.float64))
    theta[theta >= np.pi] = -np.pi
    return np.array([np.histogram(t, bins=bins, range=(-np.pi, np.pi))[0].argmax() for t in theta])


@pytest.mark.parametrize("bins", [8, 4, 2, 6, 12, 16])
def test_adversarial_vectors_land_in_the_numpy_bin(bins):
    vec = _adversarial_vectors()
    moving = np.hypot(vec[:, 0].astype(np.float64), vec[:, 1].astype(np.float64)) > 0
    vec = vec[moving]
    flow = vec.reshape(-1, 1, 1, 2)  # a stack of 1x1 clips: each feature is its one vector's one-hot bin
    ones = np.ones(flow.shape[:-1], np.float32)
    got = mefast.biwoof(flow, ones, blocks=1, bins=bins, n_threads=1)
    assert np.count_nonzero(got, axis=1).tolist() == [1] * len(vec)
    want = _numpy_radians_bin(vec[:, 0], vec[:, 1], bins)
    bad = np.flatnonzero(got.argmax(axis=1) != want)
    assert bad.size == 0, f"{bins} bins: {vec[bad[:5]].tolist()} in {got.argmax(axis=1)[bad[:5]]}, not {want[bad[:5]]}"
    for k in range(0, len(vec), 7):  # and the degree-based brute-force reference agrees
        ref = _reference(flow[k, ..., :], ones[k], (1, 1), bins, "paper")
        assert int(np.argmax(ref)) == want[k]


@pytest.mark.parametrize("bins", [8, 4, 2, 6])
def test_adversarial_vectors_reference_mode_follows_histc(bins):
    vec = _adversarial_vectors()
    flow = vec.reshape(-1, 1, 1, 2)
    ones = np.ones(flow.shape[:-1], np.float32)
    got = mefast.biwoof(flow, ones, blocks=1, bins=bins, mode="reference", n_threads=1)
    want = np.stack([_reference(flow[k], ones[k], (1, 1), bins, "reference") for k in range(len(vec))])
    bad = np.flatnonzero(((got > 0) != (want > 0)).any(axis=1))
    assert bad.size == 0, f"{bins} bins: {vec[bad[:5]].tolist()}"


@pytest.mark.parametrize("local_weights", [True, False])
def test_adversarial_block_sums_match_the_reference(local_weights):
    """Whole blocks of adversarial vectors mixed with ordinary ones: the summed, weighted feature matches."""
    vec = _adversarial_vectors()
    small = vec[np.abs(vec).max(axis=1) <= 10]  # magnitudes the float32 tolerance can compare
    rng = np.random.default_rng(5)
    n = 40 * 40
    flow = rng.normal(0, 1, (n, 2)).astype(np.float32)
    flow[rng.choice(n, small.shape[0], replace=False)] = small
    flow = flow.reshape(40, 40, 2)
    strain = rng.uniform(0, 1, (40, 40)).astype(np.float32)
    for bins, mode in itertools.product((8, 4, 6), ("paper", "reference")):
        got = mefast.biwoof(flow, strain, blocks=(4, 3), bins=bins, mode=mode, local_weights=local_weights)
        want = _reference(flow, strain, (4, 3), bins, mode, local_weights=local_weights)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_non_finite_flow_is_found_by_the_kernel():
    """With a strain given, the flow's finite check happens inside the kernel: still a clear error."""
    flow = np.zeros((6, 6, 2), np.float32)
    ones = np.ones((6, 6), np.float32)
    for bad, bins in ((np.nan, 8), (np.inf, 8), (-np.inf, 6), (np.nan, 6)):
        flow[2, 3, 1] = bad
        with pytest.raises(mefast.errors.ShapeError, match="NaN"):
            mefast.biwoof(flow, ones, blocks=2, bins=bins)
    wide = np.zeros((6, 6, 2))
    wide[1, 1, 0] = 1e300
    with pytest.raises(mefast.errors.ShapeError, match="float32 range"):
        mefast.biwoof(wide, ones, blocks=2)
    many = np.zeros((4, 6, 6, 2), np.float32)
    many[3, 0, 0, 0] = np.nan
    with pytest.raises(mefast.errors.ShapeError, match="NaN"):
        mefast.biwoof(many, np.ones((4, 6, 6), np.float32), blocks=2, n_threads=2)


def test_strain_beyond_float32_range_is_rejected():
    strain = np.ones((8, 8))
    strain[2, 2] = 1e300
    with pytest.raises(mefast.errors.ShapeError, match="float32 range"):
        mefast.biwoof(np.ones((8, 8, 2), np.float32), strain, blocks=2)
    strain[2, 2] = -1e-30
    with pytest.raises(mefast.errors.ShapeError, match=">= 0"):
        mefast.biwoof(np.ones((8, 8, 2), np.float32), strain, blocks=2)


@pytest.mark.parametrize("mode", ["paper", "reference"])
@pytest.mark.parametrize("bins", [8, 6])
def test_tall_blocks_and_partial_row_groups_match_the_reference(mode, bins, rng):
    """Blocks taller than the kernel's float32 accumulation span and heights that leave a partial group of rows:
    the sums stay within float32 rounding of the float64 reference."""
    flow = rng.normal(0, 2.0, (301, 23, 2)).astype(np.float32)
    strain = rng.uniform(0, 1, (301, 23)).astype(np.float32)
    for blocks in ((1, 2), (3, 1), (7, 5)):
        got = mefast.biwoof(flow, strain, blocks=blocks, bins=bins, mode=mode)
        np.testing.assert_allclose(got, _reference(flow, strain, blocks, bins, mode), rtol=1e-5, atol=1e-7)


def test_negative_zero_strain_is_a_valid_magnitude():
    flow = np.random.default_rng(2).normal(0, 1, (12, 12, 2)).astype(np.float32)
    strain = np.full((12, 12), 0.5, np.float32)
    strain[3:6, 3:6] = 0.0
    signed = strain.copy()
    signed[3:6, 3:6] = -0.0
    np.testing.assert_array_equal(mefast.biwoof(flow, signed, blocks=3), mefast.biwoof(flow, strain, blocks=3))
