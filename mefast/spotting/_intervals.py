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

The MEGC2020 MDMD baseline's interval rule is :func:`runs_to_intervals`: every run of frames over ``T`` is an
interval, kept when its length lies in the expression type's range; :func:`megc2020_mdmd` holds its settings
(``k`` = 0.4 s / 1.3 s, ``p = 0.01``, the CAS(ME)^2 and SAMM-LV length filters). ``mefast.spot(...,
preset="megc2020")`` spots with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .._validation import check_int, check_numeric

__all__ = [
    "INTERVAL_METHODS",
    "MEGC2020_MDMD_P",
    "MDMDBaseline",
    "fd_score",
    "mdmd_score",
    "megc2020_mdmd",
    "peaks_to_intervals",
    "runs_to_intervals",
    "score",
    "strain_score",
    "threshold",
]

INTERVAL_METHODS = ("fd", "mdmd", "strain")

#: Threshold position of the MEGC2020 MDMD baseline (spec 5b; [B] sweeps p = 0.01 .. 0.99 and reports 0.01).
MEGC2020_MDMD_P = 0.01
#: The baseline's window, seconds: k = 12/39 frames at 30 fps, 80/260 at 200 fps ([B] ``cmd.m``).
_MEGC2020_K_S = {"micro": 0.4, "macro": 1.3}
#: The baseline's interval lengths kept, frames (shortest, longest or None), per frame rate: CAS(ME)^2 at 30 fps
#: and SAMM-LV at 200 fps ([B] ``evaluation_all_p.py``).
_MEGC2020_LENGTHS: dict[float, dict[str, tuple[int, int | None]]] = {
    30.0: {"micro": (7, 16), "macro": (17, None)},
    200.0: {"micro": (47, 105), "macro": (106, None)},
}


@dataclass(frozen=True)
class MDMDBaseline:
    """Settings of the MEGC2020 MDMD baseline for one frame rate and expression type (spec 5b).

    Attributes
    ----------
    k : int
        Window (flow lag) in frames.
    p : float
        Threshold position.
    lengths : (int, int or None)
        Shortest and longest run kept, frames (None: no upper bound).
    """

    k: int
    p: float
    lengths: tuple[int, int | None]


def megc2020_mdmd(fps: float, kind: str, *, lengths: tuple[int, int | None] | None = None) -> MDMDBaseline:
    """The MEGC2020 MDMD baseline's settings (spec 5b): ``k``, ``p = 0.01`` and the run lengths kept.

    Parameters
    ----------
    fps : float
        Frame rate: ``k = round(0.4 fps)`` (micro) or ``round(1.3 fps)`` (macro), the baseline's 12/39 frames at
        30 fps and 80/260 at 200 fps.
    kind : {"micro", "macro"}
    lengths : (int, int or None), optional
        Run lengths kept, frames. Default: the baseline's, ME 7-16 / MaE >= 17 at 30 fps (CAS(ME)^2) and
        47-105 / >= 106 at 200 fps (SAMM-LV); other frame rates have none and must pass them.

    Returns
    -------
    MDMDBaseline

    Examples
    --------
    >>> megc2020_mdmd(30, "micro")
    MDMDBaseline(k=12, p=0.01, lengths=(7, 16))
    """
    if kind not in _MEGC2020_K_S:
        raise ValueError(f"kind must be 'micro' or 'macro', got {kind!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if lengths is None:
        table = next((v for f, v in _MEGC2020_LENGTHS.items() if abs(float(fps) - f) < 1e-6), None)
        if table is None:
            raise ValueError(
                f"the MEGC2020 baseline's length filters are given for 30 fps (CAS(ME)^2) and 200 fps (SAMM-LV), "
                f"got fps={fps}; pass lengths=(shortest, longest or None) in frames"
            )
        lengths = table[kind]
    return MDMDBaseline(max(1, round(_MEGC2020_K_S[kind] * float(fps))), MEGC2020_MDMD_P, _check_lengths(lengths))


def _check_lengths(lengths: object) -> tuple[int, int | None]:
    """``(shortest, longest or None)`` run lengths with 1 <= shortest <= longest, as Python ints."""

    def whole(v: object) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool)

    if isinstance(lengths, tuple | list) and len(lengths) == 2:
        lo, hi = lengths[0], lengths[1]
        if whole(lo) and lo >= 1 and (hi is None or (whole(hi) and hi >= lo)):
            return int(lo), None if hi is None else int(hi)
    raise ValueError(f"lengths must be (shortest, longest or None) with 1 <= shortest <= longest, got {lengths!r}")


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
    return np.nan_to_num(np.maximum(_mdmd_frames(mdmd, k, m=m), 0.0), nan=0.0)


def _mdmd_frames(mdmd: NDArray, k: int, *, m: int = 12) -> NDArray[np.float64]:
    """The MDMD frame value ``F_i`` at frame ``i`` (the baseline's ``F``, before :func:`megc2020_contrast`).

    NaN for the frames without one (the first ``k`` and the last ``k``), not clipped at 0.
    """
    return _shift(_top_mean(np.asarray(mdmd, np.float64), m), -k)


def megc2020_contrast(f: NDArray, k: int) -> NDArray[np.float64]:
    """The MEGC2020 MDMD baseline's score: the contrast of the MDMD frame value ``f`` ([B] ``cmd.m``).

    ``C_i = F_i - (F_{i-d} + F_{i+d}) / 2`` with ``d = k - 1``, so that a slow drift of the MDMD value cancels
    and does not move the threshold. Scored on frames ``k + d .. n - 3k - d - 1`` (0-based), NaN elsewhere: the
    baseline's bounds (its loop runs over ``1 + k + m .. l - k - m`` with ``l = n - 2k`` the number of MDMD
    values, so the last ``2k`` frames that have both neighbours are never scored); kept, for comparison.

    Parameters
    ----------
    f : ndarray of shape (n,)
        MDMD frame value per frame (NaN where there is none: the first and last ``k``).
    k : int
        The window, frames.

    Returns
    -------
    c : ndarray of shape (n,), float64
    """
    f = np.asarray(f, np.float64)
    n, d = len(f), max(int(k) - 1, 0)
    c = np.full(n, np.nan)
    lo, hi = k + d, n - 3 * k - d
    if hi > lo:
        i = np.arange(lo, hi)
        c[lo:hi] = f[i] - 0.5 * (f[i - d] + f[i + d])
    return c


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


def _score(c: NDArray, p: float) -> NDArray[np.float64]:
    """A 1-D numeric per-frame score as float64, after checking the threshold position ``p`` in [0, 1]."""
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    arr = check_numeric(c, "c", what="a numeric score")
    if arr.ndim != 1:
        raise ValueError(f"c must be a 1-D score (one value per frame), got shape {arr.shape}")
    return arr.astype(np.float64)


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

    c = _score(c, p)
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


def runs_to_intervals(
    c: NDArray, *, p: float = MEGC2020_MDMD_P, lengths: tuple[int, int | None] | None = None
) -> NDArray[np.float64]:
    """Runs of frames over the threshold, as ``(n, 3)`` rows ``(onset, offset, score)`` (the MEGC2020 baseline).

    Spec 5b's MDMD rule: ``T = mean(C) + p (max(C) - mean(C))``; the frames with ``C > T`` form intervals, one
    per run of consecutive frames, kept when ``shortest <= offset - onset + 1 <= longest``.

    Parameters
    ----------
    c : ndarray of shape (T,)
        Score per frame; NaN marks frames without one: they are left out of ``T`` and are never over it.
    p : float
        Threshold position in [0, 1] (default the baseline's 0.01).
    lengths : (int, int or None), optional
        Shortest and longest run kept, frames (None: no upper bound); default every run. See
        :func:`megc2020_mdmd` for the baseline's.

    Returns
    -------
    intervals : ndarray of shape (n, 3), float64
        Inclusive frames of each run kept and its highest score (the baseline writes 1.0; the score orders the
        default matching), in time order.
    """
    c = _score(c, p)
    lo, hi = (1, None) if lengths is None else _check_lengths(lengths)
    finite = np.isfinite(c)
    if not finite.any():
        return np.zeros((0, 3))
    over = finite & (np.where(finite, c, -np.inf) > threshold(c[finite], p))
    rows = [(a, b - 1, c[a:b].max()) for a, b in _runs(over) if lo <= b - a and (hi is None or b - a <= hi)]
    return np.asarray(rows, np.float64).reshape(-1, 3)
