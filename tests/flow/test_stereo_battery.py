"""The layered synthetic stereo pairs: disparity, occlusions and seeds checked against the scene's geometry."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mefast.testing import REPORT_SEED_BASE, stereo_battery

SIZE = (60, 90)


def test_layout_seeds_and_reproducibility():
    tuning = stereo_battery("tuning", size=SIZE, n_seeds=2)
    report = stereo_battery("report", size=SIZE, n_seeds=2)
    assert [c.name for c in tuning] == ["layered-stereo/seed0", "layered-stereo/seed1"]
    assert all(c.seed < REPORT_SEED_BASE for c in tuning) and all(c.seed >= REPORT_SEED_BASE for c in report)
    assert not np.array_equal(tuning[0].frame0, report[0].frame0)
    again = stereo_battery("tuning", size=SIZE, n_seeds=1)[0]  # a case does not depend on how many are drawn
    for a, b in ((tuning[0].frame0, again.frame0), (tuning[0].frame1, again.frame1), (tuning[0].flow, again.flow)):
        np.testing.assert_array_equal(a, b)
    for c in tuning + report:
        assert c.frame0.shape == c.frame1.shape == SIZE and c.frame0.dtype == np.uint8
        assert c.flow.shape == (*SIZE, 2) and c.valid.shape == SIZE
        u = c.flow[..., 0]
        assert np.all(c.flow[..., 1] == 0) and np.all(u <= -2.0) and u.min() >= -15.0
        assert 0.6 < c.valid.mean() < 0.995  # occlusions exist, and most pixels are seen in both views
        assert c.amplitude == pytest.approx(float(-u[c.valid].min()))
        assert np.ptp(u) > 5  # layers at different depths: disparities a few pixels apart


def test_right_view_sampled_at_the_true_flow_gives_the_left_view():
    """frame0(x) = frame1(x + flow(x)) on valid pixels, to interpolation and rounding; not with a wrong flow.

    Most valid pixels match within a grey level; the mean is larger (mixed pixels at depth edges, which no warp
    reproduces), so the sub-pixel check is that the true flow gives a smaller mean residual than the true flow
    shifted by a tenth of a pixel either way, and far smaller than a pixel's shift, the opposite sign or a
    constant disparity.
    """
    clean = stereo_battery("tuning", size=SIZE, n_seeds=3, noise=0.0, gain=0.0, offset=0.0)  # geometry only
    y, x = np.mgrid[0 : SIZE[0], 0 : SIZE[1]].astype(np.float64)
    for c in clean:
        right, left = c.frame1.astype(np.float64), c.frame0.astype(np.float64)

        def residual(u, right=right, left=left, c=c):
            warped = ndimage.map_coordinates(right, [y, x + u], order=3, mode="nearest")
            return np.abs(warped - left)[c.valid]

        u = c.flow[..., 0].astype(np.float64)
        good = residual(u)
        assert np.median(good) < 1.0 and good.mean() < 3.0, (c.name, np.median(good), good.mean())
        for shift in (-0.1, 0.1):
            assert residual(u + shift).mean() > 1.05 * good.mean(), (c.name, shift)
        for wrong in (u - 1.0, u + 1.0, -u, np.full_like(u, np.median(u))):
            assert residual(wrong).mean() > 2.5 * good.mean(), c.name


def test_invalid_pixels_are_occluded_by_a_nearer_surface_or_leave_the_frame():
    """Each invalid pixel lands, in the right view, where a nearer surface lands too, or outside the frame.

    Checked from the disparities alone, one point per pixel (``supersample=1``: with anti-aliasing a pixel is
    invalid when any part of it is hidden, and an occluder can be hidden in the left view): pixel p of row r
    is hidden when some q of the same row with a clearly larger disparity lands within a pixel of p's landing
    point ``x_p - d_p``.
    """
    cases = stereo_battery("tuning", size=SIZE, n_seeds=3, noise=0.0, gain=0.0, offset=0.0, supersample=1)
    w = SIZE[1]
    xs = np.arange(w, dtype=np.float64)
    for c in cases:
        d = -c.flow[..., 0].astype(np.float64)
        land = xs[None, :] - d
        hidden = np.zeros(SIZE, bool)
        for r in range(SIZE[0]):
            nearer = d[r][None, :] > d[r][:, None] + 0.5  # [p, q]: q is clearly in front of p
            close = np.abs(land[r][None, :] - land[r][:, None]) < 1.0
            hidden[r] = (nearer & close).any(axis=1)
        outside = land < -0.5
        occluded = ~c.valid & ~outside
        assert (~c.valid[outside]).all()  # leaving the frame is never valid
        assert occluded.mean() > 0.02
        assert hidden[occluded].mean() > 0.98, (c.name, hidden[occluded].mean())
        # occlusions are on the left of nearer surfaces in the left view: one begins within 15 px to the right
        nearer_on_right = np.zeros(SIZE, bool)
        for k in range(1, 16):
            nearer_on_right[:, :-k] |= d[:, k:] > d[:, :-k] + 0.5
        assert nearer_on_right[occluded].mean() > 0.98
        # and an occlusion map that ignored the z-order (everything valid inside the frame) is far off
        assert hidden[c.valid].mean() < 0.2 * hidden[occluded].mean()


def test_noise_and_camera_response_are_applied_per_view():
    (noisy,) = stereo_battery("tuning", size=SIZE, n_seeds=1, noise=2.0, gain=0.0, offset=0.0)
    (flat,) = stereo_battery("tuning", size=SIZE, n_seeds=1, noise=0.0, gain=0.0, offset=0.0)
    d0 = noisy.frame0.astype(float) - flat.frame0
    d1 = noisy.frame1.astype(float) - flat.frame1
    assert 1.5 < d0.std() < 2.5 and 1.5 < d1.std() < 2.5
    assert abs(np.corrcoef(d0.ravel(), d1.ravel())[0, 1]) < 0.2
    np.testing.assert_array_equal(noisy.flow, flat.flow)
    np.testing.assert_array_equal(noisy.valid, flat.valid)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="noise"):
        stereo_battery(size=SIZE, noise=-1.0)
    with pytest.raises(ValueError, match="max_disp"):
        stereo_battery(size=SIZE, min_disp=5.0, max_disp=6.0)
    with pytest.raises(ValueError, match="gain"):
        stereo_battery(size=SIZE, gain=1.5)
    with pytest.raises(ValueError, match="supersample"):
        stereo_battery(size=SIZE, supersample=0)
    with pytest.raises(ValueError, match="size"):
        stereo_battery(size=(8, 90))
    with pytest.raises(ValueError, match="split"):
        stereo_battery("validation", size=SIZE)
