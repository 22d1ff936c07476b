"""Peak picking of the interval spotters (spec 5b): the non-negative contrast scores and SOFTNet's signed ones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

from mefast.spotting import peaks_to_intervals


def test_spec_oracle_s5_one_peak() -> None:
    c = np.array([0, 0, 0, 4, 0, 0, 0, 0], float)  # T = 0.5 + 0.5 (4 - 0.5) = 2.25
    np.testing.assert_array_equal(peaks_to_intervals(c, 2, p=0.5), [[1, 5, 4]])
    assert len(peaks_to_intervals(np.zeros(8), 2)) == 0  # a contrast score nowhere positive: nothing


def _negative_scores(k: int) -> np.ndarray:
    s = np.full(300, -0.08)  # a linear regressor's scores: every one negative, one expression at 100-111
    s[100:112] = -0.01
    s[-k:] = 0.0  # a zero tail (what predict_scores gave the last k frames, which have no input, until they became NaN)
    return s


def test_signed_scores_follow_find_peaks_whatever_their_sign() -> None:
    k, p = 6, 0.55
    rng = np.random.default_rng(0)
    for c in (_negative_scores(k), rng.normal(-1.0, 0.3, 200), rng.normal(0.2, 0.3, 200)):
        t = c.mean() + p * (c.max() - c.mean())
        want, _ = find_peaks(c, height=t, distance=k)
        got = peaks_to_intervals(c, k, p=p, signed=True)
        assert len(want) > 0
        np.testing.assert_array_equal(got[:, 0], np.maximum(want - k, 0))
        np.testing.assert_array_equal(got[:, 2], c[want])
    assert len(peaks_to_intervals(np.full(50, -1.0), 3, signed=True)) == 0  # a flat score has no peak


def test_softnet_spots_an_expression_in_all_negative_scores() -> None:
    pytest.importorskip("torch")
    from mefast.train.softnet import smooth_scores, softnet_intervals

    k, p = 6, 0.55
    s = _negative_scores(k)
    s[-k:] = np.nan  # predict_scores' value for the last k frames (no input)
    sm = smooth_scores(s, k)
    ok = np.flatnonzero(np.isfinite(sm))  # complete windows only
    want, _ = find_peaks(sm[ok], height=sm[ok].mean() + p * (sm[ok].max() - sm[ok].mean()), distance=k)
    want = ok[want]
    got = softnet_intervals(s, k, p)
    assert want.tolist() == [106]
    np.testing.assert_array_equal(got, [[100, 112, sm[106]]])


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((-3,), {}, r"^k must be an integer >= 1, got -3$"),  # gave rows with onset > offset
        ((0,), {}, r"^k must be an integer >= 1, got 0$"),
        ((2.5,), {}, r"^k must be an integer >= 1, got 2\.5$"),  # gave fractional frames
        ((True,), {}, r"^k must be an integer >= 1, got True$"),
        ((3,), {"n_frames": 50}, r"^n_frames must be an integer >= len\(c\) = 100, got 50$"),  # offset < onset
        ((3,), {"n_frames": 120.0}, r"^n_frames must be an integer >= len\(c\) = 100, got 120\.0$"),
        ((3,), {"distance": 0}, r"^distance must be an integer >= 1, got 0$"),
        ((3,), {"distance": 1.5}, r"^distance must be an integer >= 1, got 1\.5$"),
    ],
)
def test_bad_window_and_length_are_refused(args, kwargs, match) -> None:
    """Review repro_peaks.py: k=-3 returned onset-after-offset rows, k=2.5 fractional frames."""
    c = np.random.default_rng(0).random(100)
    with pytest.raises(ValueError, match=match):
        peaks_to_intervals(c, *args, **kwargs)


def test_score_must_be_one_numeric_value_per_frame() -> None:
    """A 2-D score failed inside numpy ('all the input arrays must have same number of dimensions ...')."""
    c = np.random.default_rng(0).random(100)
    with pytest.raises(ValueError, match=r"^c must be a 1-D score \(one value per frame\), got shape \(10, 10\)$"):
        peaks_to_intervals(c.reshape(10, 10), 3)
    with pytest.raises(ValueError, match=r"^c must be a 1-D score \(one value per frame\), got shape \(10, 10\)$"):
        peaks_to_intervals(c.reshape(10, 10), 3, signed=True)
    with pytest.raises(ValueError, match=r"^c must be a numeric score, got dtype <U1$"):
        peaks_to_intervals(np.array(["a", "b"]), 3)
    # NumPy integers are integers, and a longer video than the score is fine
    got = peaks_to_intervals(c, np.int32(3), n_frames=np.int64(100), distance=np.uint8(3))
    np.testing.assert_array_equal(got, peaks_to_intervals(c, 3))
    assert peaks_to_intervals(c, 3, n_frames=120)[-1, 1] == 100  # the last peak, 97, is not clipped at 99
    assert peaks_to_intervals([0, 0, 5, 0], 1).tolist() == [[1, 3, 5]]
