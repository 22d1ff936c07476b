"""The held-out flow battery: disjoint seed splits, exact ground truth, reproducible cases, a real stereo pair."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mefast.testing import (
    AMPLITUDES,
    BATTERY_IMAGES,
    REPORT_SEED_BASE,
    battery_image,
    flow_battery,
    random_smooth_field,
    split_seeds,
    stereo_ground_truth,
)

SMALL = (68, 56)


def test_report_and_tuning_seeds_are_disjoint():
    report, tuning = split_seeds("report", 1000), split_seeds("tuning", 1000)
    assert not set(report) & set(tuning)
    assert min(report) == REPORT_SEED_BASE > max(split_seeds("tuning", 1_000_000))
    with pytest.raises(ValueError, match="split"):
        split_seeds("test", 3)
    with pytest.raises(ValueError, match="n must be"):
        split_seeds("report", 0)


def test_splits_give_different_fields_and_cases_do_not_depend_on_the_others():
    kw = dict(size=SMALL, amplitudes=(1.0,), n_seeds=2)
    report = flow_battery("report", images=("chelsea",), **kw)
    tuning = flow_battery("tuning", images=("chelsea",), **kw)
    assert not np.allclose(report[0].flow, tuning[0].flow)
    both = flow_battery("report", images=("astronaut", "chelsea"), **kw)
    for a, b in zip(report, both[2:], strict=True):  # drawing astronaut's cases first changes nothing
        assert a.name == b.name
        np.testing.assert_array_equal(a.frame0, b.frame0)
        np.testing.assert_array_equal(a.flow, b.flow)


def test_battery_layout_and_names():
    cases = flow_battery(size=SMALL, n_seeds=1)
    assert len(cases) == len(BATTERY_IMAGES) * len(AMPLITUDES)
    assert len({c.name for c in cases}) == len(cases)
    for c in cases:
        assert c.frame0.shape == c.frame1.shape == SMALL and c.frame0.dtype == np.uint8
        assert c.flow.shape == (*SMALL, 2) and c.seed >= REPORT_SEED_BASE
        assert np.hypot(c.flow[..., 0], c.flow[..., 1]).max() == pytest.approx(c.amplitude, rel=1e-5)


def test_frames_follow_the_flow_convention_of_tvl1():
    """frame0(x) = frame1(x + flow(x)): checked with scipy's spline sampling, not the battery's own warp."""
    (case,) = flow_battery(size=(120, 100), images=("astronaut",), amplitudes=(4.0,), n_seeds=1, noise=0.0)
    base = battery_image("astronaut", (120, 100))
    np.testing.assert_array_equal(case.frame1, np.clip(np.rint(base), 0, 255))
    y, x = np.mgrid[0:120, 0:100].astype(np.float64)
    coords = [y + case.flow[..., 1], x + case.flow[..., 0]]
    expected = ndimage.map_coordinates(base.astype(np.float64), coords, order=3, mode="nearest")
    inner = (slice(8, -8), slice(8, -8))
    err = np.abs(case.frame0.astype(np.float64) - expected)[inner]
    wrong_sign = ndimage.map_coordinates(base.astype(np.float64), [y - case.flow[..., 1], x - case.flow[..., 0]],
                                         order=3, mode="nearest")  # fmt: skip
    assert err.mean() < 0.6  # rounding to uint8 plus the two cubic kernels' difference
    assert np.abs(case.frame0 - wrong_sign)[inner].mean() > 5 * err.mean()


def test_noise_is_independent_per_frame():
    (case,) = flow_battery(size=SMALL, images=("cameraman",), amplitudes=(0.5,), n_seeds=1, noise=2.0)
    (clean,) = flow_battery(size=SMALL, images=("cameraman",), amplitudes=(0.5,), n_seeds=1, noise=0.0)
    d1 = case.frame1.astype(float) - clean.frame1
    d0 = case.frame0.astype(float) - clean.frame0
    assert 1.5 < d1.std() < 2.5 and 1.5 < d0.std() < 2.5
    assert abs(np.corrcoef(d0.ravel(), d1.ravel())[0, 1]) < 0.2


def test_random_fields_are_smooth_and_scaled():
    rng = np.random.default_rng(REPORT_SEED_BASE)
    f = random_smooth_field(100, 80, 3.0, rng).astype(np.float64)
    assert np.hypot(f[..., 0], f[..., 1]).max() == pytest.approx(3.0, rel=1e-6)
    # a gradient below 1 px/px keeps the warp one-to-one (no folding); measured 0.35 for this draw
    assert np.abs(np.diff(f, axis=0)).max() < 0.5 and np.abs(np.diff(f, axis=1)).max() < 0.5
    with pytest.raises(ValueError, match="max_disp"):
        random_smooth_field(10, 10, 0.0, rng)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown battery image 'lena'"):
        battery_image("lena")
    with pytest.raises(ValueError, match="noise"):
        flow_battery(size=SMALL, noise=-1.0)
    with pytest.raises(ValueError, match="scale"):
        stereo_ground_truth(scale=0.0)


def test_stereo_pair_ground_truth_sign_and_mask():
    case = stereo_ground_truth()
    assert case.frame0.shape == (125, 185) and case.valid.mean() > 0.6
    assert np.all(case.flow[..., 1] == 0) and np.all(case.flow[..., 0][case.valid] < 0)
    # warping the right view by the true flow gives the left view far better than no motion, or the flipped sign
    y, x = np.mgrid[0:125, 0:185].astype(np.float64)
    right = case.frame1.astype(np.float64)

    def warped(sign):
        return ndimage.map_coordinates(right, [y, x + sign * case.flow[..., 0]], order=1, mode="nearest")

    left = case.frame0.astype(np.float64)
    good, none, flipped = (np.abs(warped(s) - left)[case.valid].mean() for s in (1, 0, -1))
    assert good < 0.4 * none and good < 0.4 * flipped
    assert case.endpoint_error(case.flow) == 0.0
    assert case.endpoint_error(np.zeros_like(case.flow)) == pytest.approx(np.abs(case.flow[..., 0][case.valid]).mean())
