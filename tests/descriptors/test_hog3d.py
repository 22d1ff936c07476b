"""3DHOG and HIGO against a brute-force NumPy reference and analytic clips."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mefast
from mefast.errors import CudaUnavailableError, ShapeError

from . import _reference_handcrafted as ref


@pytest.mark.parametrize(
    ("shape", "blocks", "time_blocks", "bins"),
    [((7, 23, 19), (3, 2), 1, 8), ((9, 26, 30), (4, 5), 2, 12), ((3, 5, 5), (1, 1), 1, 5)],
)
def test_matches_reference(shape, blocks, time_blocks, bins):
    rng = np.random.default_rng(sum(shape))
    clip = rng.integers(0, 6, shape, dtype=np.uint8)  # many zero and axis-aligned gradients (bin edges)
    kw = {"blocks": blocks, "time_blocks": time_blocks, "bins": bins, "n_threads": 2}
    higo = mefast.higo(clip, normalize="none", **kw)
    np.testing.assert_array_equal(higo, ref.gradient_histograms(clip, blocks, time_blocks, bins, False, False))
    hog = mefast.hog3d(clip, **kw)
    np.testing.assert_allclose(hog, ref.gradient_histograms(clip, blocks, time_blocks, bins, True), rtol=1e-5)
    assert hog.shape == higo.shape == (time_blocks * blocks[0] * blocks[1] * 3 * bins,)


def test_float_clip_and_threads():
    clip = np.random.default_rng(5).random((8, 20, 18)).astype(np.float32)
    one = mefast.hog3d(clip, blocks=2, normalize="none", n_threads=1)
    np.testing.assert_allclose(one, mefast.hog3d(clip, blocks=2, normalize="none", n_threads=2), rtol=1e-6)
    np.testing.assert_allclose(one, ref.gradient_histograms(clip, (2, 2), 1, 8, True, False), rtol=1e-5)


def test_still_clip_gives_zeros():
    still = np.full((6, 12, 12), 100, np.uint8)
    for fn in (mefast.hog3d, mefast.higo):
        f = fn(still, blocks=2)
        assert np.isfinite(f).all() and not f.any()


def test_horizontal_ramp_votes_one_bin_per_plane():
    """I = x: the gradient is (1, 0, 0); XY and XT angles are 0 degrees (bin 4 of 8), YT has no gradient."""
    ramp = np.broadcast_to(np.arange(20, dtype=np.float32), (5, 16, 20))
    f = mefast.hog3d(ramp, blocks=2).reshape(4, 3, 8)
    np.testing.assert_array_equal(f[:, 0], np.eye(8)[[4] * 4])
    np.testing.assert_array_equal(f[:, 1], np.eye(8)[[4] * 4])
    assert not f[:, 2].any()
    # HIGO ignores the contrast: a steeper ramp gives the same feature
    np.testing.assert_array_equal(mefast.higo(ramp, blocks=2), mefast.higo(ramp * 7 + ramp**2 / 50, blocks=2))


@pytest.mark.parametrize("bins", [8, 11, 15, 20, 22, 24, 30])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_gradients_on_a_bin_edge_land_above_it(bins, dtype):
    """A gradient exactly at d degrees (a multiple of 45) votes in bin floor((d + 180) bins / 360), 180 in bin 0.

    Integer arithmetic gives the expected bin; the angle computed as (theta + pi) bins / 2 pi rounded 180 degrees
    with 11 bins to 10.999 (bin 10) and 0 degrees with 22 bins to bin 10 (not 11).
    """
    y, x = np.mgrid[0:9, 0:9]
    for (gx, gy), deg in {(1, 0): 0, (1, 1): 45, (0, 1): 90, (-1, 1): 135, (-1, 0): 180, (-1, -1): -135,
                          (0, -1): -90, (1, -1): -45}.items():  # fmt: skip
        frame = 100 + 5 * gx * x + 5 * gy * y  # XY gradient (gx, gy), angle atan2(gy, gx) with y down
        clip = np.broadcast_to(frame, (3, 9, 9)).astype(dtype)
        expected = ((deg + 180) * bins // 360) % bins
        for fn in (mefast.higo, mefast.hog3d):
            xy = fn(clip, blocks=1, bins=bins, normalize="none")[:bins]
            assert np.flatnonzero(xy).tolist() == [expected], (fn.__name__, deg, np.flatnonzero(xy))


def test_bad_input_names_the_problem():
    with pytest.raises(ShapeError, match="video must have shape"):
        mefast.hog3d(np.zeros((10, 10)))
    with pytest.raises(ShapeError, match="interior"):
        mefast.higo(np.zeros((2, 10, 10)))
    with pytest.raises(ShapeError, match="block columns"):
        mefast.hog3d(np.zeros((5, 10, 10)), blocks=(2, 9))
    with pytest.raises(ValueError, match="bins"):
        mefast.hog3d(np.zeros((5, 10, 10)), bins=0)
    with pytest.raises(ValueError, match="time_blocks"):
        mefast.higo(np.zeros((5, 10, 10)), time_blocks=0)
    with pytest.raises(CudaUnavailableError, match="higo"):
        mefast.higo(np.zeros((5, 10, 10)), device="cuda")


def _run_isolated(code: str) -> str:
    """Run ``code`` in a fresh interpreter (a crash there fails the test instead of killing pytest); its stdout."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode} (negative: killed by that signal)\n{proc.stderr[-2000:]}"
    return proc.stdout


def test_values_beyond_float32_are_refused():
    """A finite float64 clip beyond float32's range was cast to inf, its gradients NaN, the bins out of range.

    Review repro: ``v[:, :, 20] = 1e39; mefast.hog3d(v)`` (and higo) died of SIGSEGV. Now ``ShapeError``, grey
    and RGB; up to float32's largest value the clip is still taken.
    """
    out = _run_isolated(
        """
        import numpy as np, mefast
        v = np.random.default_rng(0).random((9, 40, 40))
        v[:, :, 20] = 1e39
        rgb = np.repeat(v[..., None], 3, axis=-1)
        for fn in (mefast.hog3d, mefast.higo):
            for clip in (v, -v, rgb):
                try:
                    fn(clip)
                except mefast.errors.ShapeError as e:
                    print(e)
        """
    )
    assert out.splitlines() == ["video holds values beyond the float32 range (largest magnitude 1e+39)"] * 6
    v = np.random.default_rng(0).random((9, 40, 40))
    v[:, :, 20] = float(np.finfo(np.float32).max)
    for fn in (mefast.hog3d, mefast.higo):
        assert np.isfinite(fn(v)).all()
        np.testing.assert_array_equal(fn(v), fn(v.astype(np.float32)))


def test_kernel_sends_non_finite_gradients_to_the_sink():
    """The kernel itself never makes a bin index of a NaN angle (the wrappers refuse such clips before it)."""
    out = _run_isolated(
        """
        import numpy as np, mefast
        from mefast.descriptors import _grid
        _grid.gray_clip = lambda video: np.ascontiguousarray(video, dtype=np.float32)  # no check: the raw kernel
        v = np.random.default_rng(0).random((9, 40, 40)).astype(np.float32)
        v[:, :, 20] = np.inf
        v[4, 10, 10] = -np.inf
        v[2, 30, 30] = np.nan
        for fn in (mefast.hog3d, mefast.higo):
            for bins in (8, 11):
                f = fn(v, bins=bins, time_blocks=2, normalize="none")
                print(fn.__name__, f.shape, bool(np.isfinite(f).all()))
        """
    )
    assert out.split() == ["hog3d", "(1200,)", "True", "hog3d", "(1650,)", "True"] + [
        "higo", "(1200,)", "True", "higo", "(1650,)", "True"]  # fmt: skip
