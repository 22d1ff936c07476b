"""Interval spotting baselines on the per-frame features of a long video (spec 5b).

Each method turns the features into a spotting score ``C`` per frame; :func:`peaks_to_intervals` thresholds it
at ``T = mean(C) + p (max(C) - mean(C))``, keeps peaks at least ``k`` frames apart and returns
``[peak - k, peak + k]`` intervals with the peak's score. The scores below are non-negative (a score nowhere
positive spots nothing); SOFTNet's regressed scores may be negative (``signed=True``).

``"fd"`` (Moilanen et al. 2014; Li et al. 2018)
    ``AFF_i`` = mean of the block LBP histograms at ``i - k`` and ``i + k``; per block the chi-squared distance
    of frame ``i`` to ``AFF_i``; ``F_i`` = mean of the ``M`` largest; contrast
    ``C_i = max(0, F_i - (F_{i-k} + F_{i+k}) / 2)``.
``"mdmd"`` (Wang et al. 2017, the MEGC2020 baseline's sliding window)
    ``F_i`` = mean of the ``M`` largest MDMD block values of the flows ``i-k -> i`` and ``i-k -> i+k`` (an
    expression that comes and goes moves a lot at ``i`` and little at ``i + k``; slow motion cancels).
``"strain"``
    ``F_i`` = mean of the ``M`` largest block strains of the flow ``i-k -> i``, with the same contrast as
    ``"fd"`` (optical strain is blind to head translation).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from .._validation import check_int, check_numeric

__all__ = ["INTERVAL_METHODS", "fd_score", "mdmd_score", "peaks_to_intervals", "score", "strain_score", "threshold"]

INTERVAL_METHODS = ("fd", "mdmd", "strain")


def _top_mean(x: NDArray, m: int) -> NDArray[np.float64]:
    """Mean of the ``m`` largest values along the last axis (NaN rows stay NaN)."""
    m = max(1, min(int(m), x.shape[-1]))
    part = -np.sort(-np.nan_to_num(x, nan=-np.inf), axis=-1)[..., :m]
    out = part.mean(-1)
    out[~np.isfinite(out)] = np.nan
    return out


def _shift(x: NDArray, d: int) -> NDArray[np.float64]:
    """``y[i] = x[i + d]`` with NaN outside."""
    y = np.full(x.shape, np.nan, np.float64)
    n = len(x)
    if d >= 0:
        if d < n:
            y[: n - d] = x[d:]
    elif -d < n:
        y[-d:] = x[: n + d]
    return y


def _runs(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """``(n, 2)`` half-open ``[start, stop)`` of the runs of True in a 1-D mask, in order."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return edges.reshape(-1, 2).astype(np.int64)


def _contrast(f: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    c = f - 0.5 * (_shift(f, -k) + _shift(f, k))
    return np.nan_to_num(np.maximum(c, 0.0), nan=0.0)


def fd_score(lbp: NDArray, k: int, *, m: int = 12) -> NDArray[np.float64]:
    """Feature-difference score of ``(T, nb, bins)`` block LBP histograms at window half-length ``k``."""
    h = np.asarray(lbp, np.float64)
    aff = 0.5 * (_shift(h, -k) + _shift(h, k))
    den = h + aff
    with np.errstate(invalid="ignore", divide="ignore"):
        chi = np.where(den > 0, (h - aff) ** 2 / np.where(den > 0, den, 1.0), 0.0).sum(-1)
    chi[np.isnan(aff).any(-1)] = np.nan
    return _contrast(_top_mean(chi, m), k)


def mdmd_score(mdmd: NDArray, k: int, *, m: int = 12) -> NDArray[np.float64]:
    """MDMD score of ``(T, nb)`` block values (computed at frame ``i - k``, scored at frame ``i``)."""
    f = _top_mean(np.asarray(mdmd, np.float64), m)
    return np.nan_to_num(np.maximum(_shift(f, -k), 0.0), nan=0.0)


def strain_score(strain: NDArray, k: int, *, m: int = 12) -> NDArray[np.float64]:
    """Optical-strain score of ``(T, nb)`` block strains of the flows ``t -> t+k`` (scored at ``t + k``)."""
    f = _shift(_top_mean(np.asarray(strain, np.float64), m), -k)
    return _contrast(f, k)


def score(features: Mapping[str, NDArray], method: str, k: int, *, m: int = 12) -> NDArray[np.float64]:
    """The spotting score of ``method`` from the feature arrays of the long-video pass."""
    if method == "fd":
        return fd_score(_need(features, "lbp"), k, m=m)
    if method == "mdmd":
        return mdmd_score(_need(features, f"mdmd{k}"), k, m=m)
    if method == "strain":
        return strain_score(_need(features, f"strain{k}"), k, m=m)
    raise ValueError(f"unknown interval method {method!r}; choose one of {INTERVAL_METHODS} or 'softnet'")


def _need(features: Mapping[str, NDArray], name: str) -> NDArray:
    if name not in features:
        raise KeyError(f"the features hold no {name!r} (computed: {sorted(features)}); add it to FeatureOptions")
    return features[name]


def threshold(c: NDArray, p: float) -> float:
    """``T = mean(C) + p (max(C) - mean(C))``."""
    c = np.asarray(c, np.float64)
    if c.size == 0:
        return 0.0
    mean = float(np.nanmean(c))
    return mean + float(p) * (float(np.nanmax(c)) - mean)


def peaks_to_intervals(
    c: NDArray,
    k: int,
    *,
    p: float = 0.5,
    distance: int | None = None,
    n_frames: int | None = None,
    signed: bool = False,
) -> NDArray[np.float64]:
    """Peaks of a score above the threshold, as ``(n, 3)`` rows ``(onset, offset, score)``.

    Parameters
    ----------
    c : ndarray of shape (T,)
        Spotting score, one value per frame.
    k : int
        Half window, at least 1: each peak ``j`` gives ``[j - k, j + k]`` clipped to the video.
    p : float
        Threshold position in [0, 1] between the mean and the maximum.
    distance : int, optional
        Smallest distance between peaks, at least 1 (default ``k``).
    n_frames : int, optional
        Length of the video, at least ``len(c)`` and 1 (default ``len(c)``).
    signed : bool
        The score may be negative (a regressor's output, SOFTNet's): the peaks are
        ``find_peaks(c, height=T, distance=distance)`` as spec 5b and SOFTNet's code write it, whatever the
        score's sign (a peak on the first or last frame is not one). NaN marks frames without a score: they
        are left out of ``T``, and each run of scored frames is searched alone (its first and last frames are
        not peaks; ``distance`` holds within a run). Otherwise (the non-negative contrast
        scores of ``"fd"``, ``"mdmd"``, ``"strain"``) a score that is nowhere positive has no peaks, the
        threshold is at least 1e-12, and a peak on the first or last frame counts.
    """
    from scipy.signal import find_peaks

    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    arr = check_numeric(c, "c", what="a numeric score")
    if arr.ndim != 1:
        raise ValueError(f"c must be a 1-D score (one value per frame), got shape {arr.shape}")
    c = arr.astype(np.float64)
    k = check_int(k, "k", minimum=1)
    if n_frames is None:
        n = len(c)
    else:
        least = max(1, len(c))
        msg = f"n_frames must be an integer >= len(c) = {least}, got {n_frames!r}"
        n = check_int(n_frames, "n_frames", minimum=least, message=msg)
    dist = k if distance is None else check_int(distance, "distance", minimum=1)
    if signed:
        finite = np.isfinite(c)
        if not finite.any():
            return np.zeros((0, 3))
        t = threshold(c[finite], p)
        # Frames without a score (NaN) are no part of the score: each run of scored frames is searched alone,
        # as find_peaks searches SOFTNet's cropped array (its first and last frames are not peaks).
        found = [a + find_peaks(c[a:b], height=t, distance=dist)[0] for a, b in _runs(finite)]
        peaks = np.concatenate(found).astype(np.int64)
    else:
        c = np.nan_to_num(c, nan=0.0)
        if c.size == 0 or not np.any(c > 0):
            return np.zeros((0, 3))
        # find_peaks misses a peak on the first or last sample: pad with zeros.
        peaks, _ = find_peaks(np.concatenate([[0.0], c, [0.0]]), height=max(threshold(c, p), 1e-12), distance=dist)
        peaks = peaks - 1
    rows = [(max(0, j - k), min(n - 1, j + k), c[j]) for j in peaks]
    return np.asarray(rows, np.float64).reshape(-1, 3)
