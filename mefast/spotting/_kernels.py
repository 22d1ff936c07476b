"""Numba kernels of the long-video pass: block means and MDMD block values (compiled once, cached on disk)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["block_mean_kernel", "mdmd_kernel"]


@njit(cache=True, nogil=True)
def block_mean_kernel(maps, gather, count):  # pragma: no cover - compiled
    """``(n, nb)`` mean over each block's pixels of ``(n, P_inner)`` flattened inner maps."""
    n = maps.shape[0]
    nb = gather.shape[0]
    out = np.zeros((n, nb), np.float32)
    for i in range(n):
        for b in range(nb):
            m = count[b]
            s = 0.0
            for j in range(m):
                s += maps[i, gather[b, j]]
            out[i, b] = s / m if m > 0 else 0.0
    return out


@njit(cache=True, nogil=True)
def mdmd_kernel(u1, v1, u2, v2, gather, count):  # pragma: no cover - compiled
    """MDMD block values: in the fullest quadrant bin of flow 1, the mean of the top third of |f1| - |f2|.

    Quadrants by the signs of (u, v) (bin edges on the axes: ``v < 0`` is up): 0 = left-up, 1 = right-up,
    2 = right-down, 3 = left-down; ties between bins go to the lower bin.
    """
    n = u1.shape[0]
    nb = gather.shape[0]
    out = np.zeros((n, nb), np.float32)
    tmp = np.empty(gather.shape[1], np.float64)
    for i in range(n):
        for b in range(nb):
            m = count[b]
            if m == 0:
                continue
            c = np.zeros(4, np.int64)
            for j in range(m):
                p = gather[b, j]
                q = (1 if u1[i, p] >= 0 else 0) if v1[i, p] < 0 else (2 if u1[i, p] >= 0 else 3)
                c[q] += 1
            best = 0
            for q in range(1, 4):
                if c[q] > c[best]:
                    best = q
            k = 0
            for j in range(m):
                p = gather[b, j]
                q = (1 if u1[i, p] >= 0 else 0) if v1[i, p] < 0 else (2 if u1[i, p] >= 0 else 3)
                if q == best:
                    tmp[k] = np.hypot(u1[i, p], v1[i, p]) - np.hypot(u2[i, p], v2[i, p])
                    k += 1
            top = (k + 2) // 3
            vals = np.partition(tmp[:k], k - top)  # the top third in the last ``top`` places, in any order
            s = 0.0
            for j in range(k - top, k):
                s += vals[j]
            out[i, b] = s / top
    return out
