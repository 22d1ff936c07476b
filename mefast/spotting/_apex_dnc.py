"""Divide-and-conquer apex spotting (Liong et al. 2015, 2018; spec 5a ``"dnc"``).

Each frame's LBP block histograms are compared with the first (onset) frame's: the dissimilarity of a block is
``1 - r``, ``r`` the Pearson correlation of the two histograms (:func:`lbp_dissimilarity`). The clip's frames are
then halved repeatedly, keeping the half whose dissimilarities sum higher, until one frame is left
(:func:`dnc_index`). The papers do not say how an odd range is split nor which half a tie keeps; the rules here
are mefast's choice (spec 5a: unverified).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError

__all__ = ["dnc_index", "lbp_dissimilarity"]


def lbp_dissimilarity(hist: ArrayLike) -> NDArray[np.float64]:
    """``(T, nb)`` dissimilarity ``1 - corr(h_t, h_0)`` of each frame's block histograms to the first frame's.

    Parameters
    ----------
    hist : array_like of shape (T, nb, bins)
        Per frame and block a histogram (mefast: LBP u2, 59 bins, from ``block_lbp``).

    Returns
    -------
    ndarray of shape (T, nb), float64
        ``1 - r`` in [0, 2]; 0 for the first frame. A block whose histogram is constant in either frame (a block
        left empty by the eye mask: all zeros) has no correlation: its dissimilarity is 0 where the two histograms
        are equal and 1 otherwise.
    """
    h = np.asarray(hist, np.float64)
    if h.ndim != 3 or h.shape[0] < 1 or h.shape[2] < 2:
        raise ShapeError(f"hist must be (T, blocks, bins) with at least 2 bins, got shape {h.shape}")
    c = h - h.mean(-1, keepdims=True)
    c0 = c[:1]
    num = (c * c0).sum(-1)
    den = np.sqrt((c * c).sum(-1) * (c0 * c0).sum(-1))
    ok = den > 0
    r = np.where(ok, num / np.where(ok, den, 1.0), np.where((h == h[:1]).all(-1), 1.0, 0.0))
    d = 1.0 - np.clip(r, -1.0, 1.0)
    d[0] = 0.0
    return d


def dnc_index(scores: ArrayLike) -> int:
    """The frame divide and conquer keeps from a per-frame score sequence (0-based).

    Rule (mefast's choice; the papers leave it open): the range ``[lo, hi]`` starts as the whole clip and is split
    into ``[lo, mid]`` and ``[mid + 1, hi]`` with ``mid = (lo + hi) // 2`` (an odd-length range gives the earlier
    half the extra frame); the half with the larger sum of scores is kept, a tie (equal sums) keeps the earlier
    half; this repeats until one frame is left. About ``log2(T)`` halvings.

    Parameters
    ----------
    scores : array_like of shape (T,)
        Finite per-frame scores (``"dnc"``: the LBP dissimilarity to the onset), T >= 1.

    Returns
    -------
    int

    Examples
    --------
    >>> dnc_index([0, 4, 4, 4, 0, 9, 0, 0])  # [0..3] sums 12 > 9; [2, 3] > [0, 1]; 2 and 3 tie: the earlier
    2
    """
    s = np.asarray(scores, np.float64)
    if s.ndim != 1:
        raise ShapeError(f"scores must be 1-D (one per frame), got shape {s.shape}")
    if len(s) == 0:
        raise ValueError("scores must hold at least one frame")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    lo, hi = 0, len(s) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if s[lo : mid + 1].sum() >= s[mid + 1 : hi + 1].sum():
            hi = mid
        else:
            lo = mid + 1
    return lo
