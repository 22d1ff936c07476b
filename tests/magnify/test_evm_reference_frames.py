"""compat="reference" keeps [M]'s third quirk: its butter and Gaussian ideal scripts stop at frame T - 10."""

from __future__ import annotations

import numpy as np
import pytest

import mefast.magnification as mg

# ---------------------------------------------------------------------------------------------------------------
# compat="reference": [M]'s butter and Gaussian ideal scripts stop at frame T - 10


def _clip(t: int = 30, h: int = 12, w: int = 14) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((t, h, w)) * 0.5 + 0.25).astype(np.float32)


def _m_butter(video: np.ndarray, fs: float, fl: float, fh: float, alpha: float) -> np.ndarray:
    """[M] amplify_spatial_lpyr_temporal_butter on the pixels (no pyramid), written out from the script.

    ``butter(1, f / fs)`` (MATLAB normalises by Nyquist), states start at frame 1 (output = input), the loop runs
    ``i = startIndex + 1 : endIndex`` with ``endIndex = len - 10``: T - 10 frames are written.
    """
    from scipy.signal import butter

    bh, ah = butter(1, fh / fs)
    bl, al = butter(1, fl / fs)
    x = video.astype(np.float64)
    lp1 = lp2 = prev = x[0]
    out = [x[0]]
    for i in range(1, len(x) - 10):
        lp1 = (-ah[1] * lp1 + bh[0] * x[i] + bh[1] * prev) / ah[0]
        lp2 = (-al[1] * lp2 + bl[0] * x[i] + bl[1] * prev) / al[0]
        prev = x[i]
        out.append(np.clip(x[i] + alpha * (lp1 - lp2), 0, 1))
    return np.stack(out)


def _m_gdown_ideal(video: np.ndarray, fs: float, fl: float, fh: float, alpha: float) -> np.ndarray:
    """[M] amplify_spatial_Gdown_temporal_ideal at level 0, written out from the script and ideal_bandpassing.m.

    The stack holds frames ``startIndex..endIndex = 1..len - 10``; the FFT runs over those n = T - 10 frames,
    keeps bins ``(k - 1) / n * fs`` in (fl, fh) for k = 1..n (no negative mirror), takes the real part.
    """
    x = video.astype(np.float64)[: len(video) - 10]
    n = len(x)
    freq = np.arange(n) / n * fs
    spec = np.fft.fft(x, axis=0)
    spec[~((freq > fl) & (freq < fh))] = 0
    return np.clip(x + alpha * np.fft.ifft(spec, axis=0).real, 0, 1)


def test_reference_butter_stops_at_t_minus_10():
    v = _clip()
    kw = {"temporal": "butter", "fl": 0.5, "fh": 10.0, "alpha": 4.0, "pyramid": None}
    got = mg.evm(v, 30.0, compat="reference", **kw)
    assert got.shape == (20, *v.shape[1:])
    np.testing.assert_allclose(got, _m_butter(v, 30.0, 0.5, 10.0, 4.0), atol=2e-6)
    assert mg.evm(v, 30.0, **kw).shape == v.shape  # paper mode: every frame
    # with the pyramid too: the paper mode's first T - 10 frames at half the cutoffs; the last 10 frames unread
    lap = {"temporal": "butter", "alpha": 4.0, "lambda_c": 4.0}
    got = mg.evm(v, 30.0, compat="reference", fl=0.5, fh=10.0, **lap)
    np.testing.assert_array_equal(got, mg.evm(v, 30.0, fl=0.25, fh=5.0, **lap)[:20])
    other_tail = np.concatenate([v[:20], v[:10]])
    np.testing.assert_array_equal(got, mg.evm(other_tail, 30.0, compat="reference", fl=0.5, fh=10.0, **lap))


def test_reference_gaussian_ideal_filters_and_returns_t_minus_10_frames():
    v = _clip()
    kw = {"temporal": "ideal", "pyramid": "gaussian", "gauss_level": 0, "fl": 2.0, "fh": 7.0, "alpha": 3.0}
    got = mg.evm(v, 30.0, compat="reference", **kw)
    assert got.shape == (20, *v.shape[1:])
    np.testing.assert_allclose(got, _m_gdown_ideal(v, 30.0, 2.0, 7.0, 3.0), atol=2e-6)
    # the FFT runs over the T - 10 frames [M] reads, not over the clip cut after filtering
    x = v.astype(np.float64)
    spec = np.fft.fft(x, axis=0)
    spec[~((np.arange(30) / 30 * 30.0 > 2.0) & (np.arange(30) / 30 * 30.0 < 7.0))] = 0
    cut = np.clip(x + 3.0 * np.fft.ifft(spec, axis=0).real, 0, 1)[:20]  # filtered over T frames, then cut
    assert np.abs(got - cut).max() > 1e-2
    assert mg.evm(v, 30.0, **kw).shape == v.shape  # paper mode: every frame
    g2 = {**kw, "gauss_level": 2}  # the last 10 frames are not read
    other_tail = np.concatenate([v[:20], v[:10]])
    np.testing.assert_array_equal(mg.evm(v, 30.0, compat="reference", **g2),
                                  mg.evm(other_tail, 30.0, compat="reference", **g2))  # fmt: skip


@pytest.mark.parametrize("kw", [{"temporal": "butter"}, {"temporal": "ideal", "pyramid": "gaussian"}])
def test_reference_mode_needs_more_than_10_frames(kw):
    v = _clip(t=10)
    with pytest.raises(ValueError, match=r"stops 10 frames before the end.*needs at least 11 frames, got 10"):
        mg.evm(v, 30.0, compat="reference", fl=0.5, fh=10.0, **kw)
    assert mg.evm(_clip(t=11), 30.0, compat="reference", fl=0.5, fh=10.0, **kw).shape[0] == 1
