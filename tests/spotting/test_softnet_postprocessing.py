"""SOFTNet's spotting step (spec 5b) against a reference written from the spec's text and [S]'s crop.

Review finding (softnet_post.py): predict_scores gave the last k frames, which have no input pair, a score of 0,
and the smoothing cut its windows at both ends; those invented scores entered the threshold and the peak search,
and 9 of 300 random score sequences gave other intervals than SOFTNet's.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

torch = pytest.importorskip("torch")

from mefast.spotting import spot_features  # noqa: E402
from mefast.train.softnet import SOFTNet, predict_scores, smooth_scores, softnet_intervals  # noqa: E402


def _reference(s: np.ndarray, k: int, p: float = 0.55) -> list[tuple[int, int, float]]:
    """Spec 5b from its text: s_bar_j = mean(s_{j-k} .. s_{j+k-1}) on complete windows only, as [S] keeps them
    (``agg[k:-k]``: k <= j <= n-k-1 for the n frames that have a score); T = mean + p (max - mean) of those;
    find_peaks(height=T, distance=k); interval [j - k, j + k]."""
    n = len(s)
    js = np.arange(k, n - k)
    agg = np.array([s[j - k : j + k].mean() for j in js])
    t = agg.mean() + p * (agg.max() - agg.mean())
    peaks, _ = find_peaks(agg, height=t, distance=k)
    return [(int(js[i] - k), int(js[i] + k), float(agg[i])) for i in peaks]


def _random_scores(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    s = -0.05 + 0.02 * rng.standard_normal(n)
    for c in rng.integers(10, n - 10, 3):
        s[c - 3 : c + 3] += rng.uniform(0.2, 0.8)
    return s


def _rows(a: np.ndarray) -> list[tuple[int, int, float]]:
    return [(int(on), int(off), float(sc)) for on, off, sc in a]


def test_intervals_follow_the_spec_on_random_scores() -> None:
    """The reviewer's 300 sequences: the last k frames have no score (NaN, as predict_scores now gives them);
    before the fix they were 0 and 9 of the 300 sequences differed (7 even without the zero tail)."""
    rng = np.random.default_rng(3)
    k = 6
    for _ in range(300):
        s = _random_scores(rng, 120 - k, k)
        want = _reference(s, k)
        full = np.concatenate([s, np.full(k, np.nan)])  # one value per frame; the last k frames have none
        for got in (softnet_intervals(full, k, 0.55), softnet_intervals(s, k, 0.55)):
            assert [r[:2] for r in _rows(got)] == [r[:2] for r in want]
            np.testing.assert_allclose(got[:, 2], [r[2] for r in want], rtol=1e-12)


def test_smoothing_keeps_complete_windows_only() -> None:
    s = np.arange(20, dtype=float)
    s[-3:] = np.nan  # 17 frames with a score
    k = 3
    sm = smooth_scores(s, k)
    assert sm.shape == (20,)
    ok = np.flatnonzero(np.isfinite(sm))
    assert ok.tolist() == list(range(k, 17 - k))  # [S]'s agg[k:-k] of the 17 scores
    for j in ok:
        assert sm[j] == pytest.approx(s[j - k : j + k].mean())


def test_too_few_scored_frames_spot_nothing() -> None:
    s = np.concatenate([np.ones(6), np.full(3, np.nan)])  # 6 scores < 2k + 1 for k = 3: no complete window
    assert softnet_intervals(s, 3).shape == (0, 3)
    assert np.isnan(smooth_scores(s, 3)).all()


def test_predict_scores_marks_frames_without_input_as_nan() -> None:
    torch.manual_seed(0)
    model = SOFTNet().eval()
    x = np.random.default_rng(0).random((30, 3, 42, 42)).astype(np.float32)
    x[-4:] = np.nan  # the last k = 4 frames have no partner t + k
    s = predict_scores(model, x)
    assert s.shape == (30,)
    assert np.isnan(s[-4:]).all() and np.isfinite(s[:-4]).all()


def test_spot_features_softnet_equals_the_reference() -> None:
    """End to end through spot_features: a model's scores of the frames with an input, the reference's rows."""
    torch.manual_seed(1)
    model = SOFTNet().eval()
    k = 4
    rng = np.random.default_rng(1)
    x = rng.random((90, 3, 42, 42)).astype(np.float32)
    x[-k:] = np.nan
    got = spot_features({f"softnet{k}": x}, method="softnet", k=k, model=model)
    s = predict_scores(model, x)[:-k]
    want = _reference(s, k, 0.55)
    assert len(want) > 0
    assert [r[:2] for r in _rows(got)] == [r[:2] for r in want]
    np.testing.assert_allclose(got[:, 2], [r[2] for r in want], rtol=1e-6)


def test_smoothing_refuses_a_bad_score_or_window() -> None:
    with pytest.raises(ValueError, match=r"^s must be a 1-D score \(one value per frame\), got shape \(3, 3\)$"):
        smooth_scores(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match=r"^k must be an integer >= 1, got 0$"):
        smooth_scores(np.zeros(9), 0)
