"""Helpers shared by the Bi-WOOF and MDMO kernels: a fast angle, a fast finite check, the thread count.

Binning a flow vector by its angle needs the angle only to within its distance to the nearest bin edge. The
kernels compute every angle with :func:`atan2_approx` (a polynomial with selects instead of branches, so that
LLVM vectorises the loops that call it; max error 2.4e-6 rad) and recompute with ``numpy.arctan2`` the rare
vectors within :data:`EDGE_MARGIN` of an edge, so every vector lands in exactly the bin ``arctan2`` gives it.
(Bi-WOOF with 2, 4 or 8 bins needs no angle at all: it bins by octant, see ``_biwoof._octant_row``.)

Numba's on-disk cache keys a kernel on its own source file only: after editing this module, touch
``_biwoof.py``, ``_mdmo.py`` and ``_hog3d.py`` (or delete their ``__pycache__``) so that their cached kernels are
rebuilt.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .._validation import check_finite, check_float32_range, check_numeric, core_threads
from ..errors import ShapeError

__all__ = ["EDGE_MARGIN", "angle_bin", "angle_bin_edges", "as_finite_float32", "atan2_approx", "n_threads_for"]

#: Angles closer than this (radians) to a bin edge are recomputed with ``arctan2``: four times the
#: approximation's worst error.
EDGE_MARGIN = 1e-5


def angle_bin_edges(n_bins: int) -> NDArray[np.float64]:
    """The ``n_bins + 1`` edges ``-pi + 2 pi k / n_bins`` of equal angle bins, as :func:`angle_bin` places them.

    Computed in turns, ``(k / n_bins - 1/2) 2 pi``, so that an edge at 0, +-pi/2, +-pi/4 or +-pi is the very
    float ``arctan2`` returns for that direction (``np.linspace(-pi, pi, 51)[25]`` is 4.4e-16, which put an
    exactly rightward vector in the bin below 0).
    """
    return (np.arange(n_bins + 1) / n_bins - 0.5) * (2.0 * np.pi)


@njit(cache=True, nogil=True, inline="always")
def angle_bin(a, b, n_bins):  # pragma: no cover - compiled
    """Bin of the angle ``arctan2(a, b)`` among ``n_bins`` equal bins from -pi (edges :func:`angle_bin_edges`).

    Bin k holds ``edge_k <= theta < edge_(k+1)``; 180 degrees wraps to bin 0 (-180). Computed in turns,
    ``floor((theta / 2 pi + 1/2) n_bins)``: for a direction on an edge (integer gradients reach the multiples of
    45 degrees exactly) every step is exact, where ``(theta + pi) n_bins / 2 pi`` rounds 180 degrees with 11 bins
    to 10.999... (bin 10, not 0) and 0 degrees with 22 bins to bin 10 (not 11).
    """
    k = int(np.floor((np.arctan2(a, b) / (2.0 * np.pi) + 0.5) * n_bins))
    return 0 if k >= n_bins else k


# atan(a) ~ a + a s (C1 + C2 s + C3 s^2 + C4 s^3 + C5 s^4), s = a^2, 0 <= a <= 1: a least-squares fit,
# reweighted towards equal ripple, on 20 001 Chebyshev points of [0, 1]; max |error| 2.36e-6 (tested).
_C1, _C2, _C3, _C4, _C5 = -0.33296597, 0.19518285, -0.11981881, 0.05580609, -0.01280835


@njit(cache=True, nogil=True, inline="always")
def atan2_approx(v, u):  # pragma: no cover - compiled
    """``atan2(v, u)`` within 2.4e-6 rad, in [-pi, pi], as float64.

    0 for the zero vector; the sign of a zero ``v`` is ignored (+pi, never -pi, for ``u < 0``).
    """
    au = abs(np.float64(u))
    av = abs(np.float64(v))
    a = min(au, av) / max(max(au, av), 1e-300)
    s = a * a
    r = a + a * s * (_C1 + s * (_C2 + s * (_C3 + s * (_C4 + s * _C5))))
    r = np.pi / 2 - r if av > au else r
    r = np.pi - r if u < 0 else r
    return -r if v < 0 else r


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _all_finite(a):  # pragma: no cover - compiled
    """True when no element is NaN or infinite.

    x - x is 0 for finite x and NaN otherwise; reassociation only lets the sum vectorise, NaN semantics stay.
    """
    flat = a.reshape(-1)
    acc = np.float32(0.0)
    for i in range(flat.shape[0]):
        acc += flat[i] - flat[i]
    return acc == 0.0


def as_finite_float32(x: ArrayLike, name: str) -> NDArray[np.float32]:
    """``x`` as C-contiguous float32, raising :class:`ShapeError` for a non-numeric dtype or non-finite values.

    The finite check runs in Numba (a quarter of ``np.isfinite(x).all()``'s time on a clip of flows); only a
    failing array pays for NumPy's search of the first bad index.
    """
    arr = check_numeric(x, name)
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, reported below
        out = np.ascontiguousarray(arr, dtype=np.float32)
    if out.size and not _all_finite(out):
        check_finite(arr, name)
        check_float32_range(arr, name)  # finite, so the cast overflowed: this raises, as for the video inputs
        raise ShapeError(f"{name} holds values beyond the float32 range")  # pragma: no cover - raised above
    return out


def n_threads_for(n_threads: int | None, n_jobs: int) -> int:
    """Threads for ``n_jobs`` clips: ``n_threads`` (all cores if None), at most one per clip."""
    n = core_threads(n_threads) or os.cpu_count() or 1
    return max(1, min(n, n_jobs))
