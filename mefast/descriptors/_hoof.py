"""HOOF, histograms of oriented optical flow (Chaudhry et al., CVPR 2009), per block, magnitude-weighted.

The micro-expression baselines of the tutorial ("HOOF (apex & onset)", Liong et al. 2018) compute HOOF of the
onset-to-apex flow on a grid of blocks: every pixel of a block votes its flow magnitude into the bin of its
angle, and each block's histogram is normalised to sum 1. Without the final L2 norm and the strain weights it
is Bi-WOOF's local-weight histogram (:func:`mefast.biwoof` with ``global_weights=False`` is the L2-normalised
concatenation of the same block histograms).

Binning (``symmetric``):

``False`` (default)
    ``bins`` equal bins of ``atan2(v, u)`` over [-180, 180) degrees (180 wraps to -180), as Bi-WOOF's paper mode.
``True``
    Chaudhry's mirror-symmetric binning: the angle of ``(|u|, v)`` in [-90, 90] degrees cut into ``bins``
    equal bins (90 in the last), so motion to the left and to the right of the vertical axis share a bin.

Angles are in image coordinates (v points down). Pixels with zero flow vote nothing; a block without motion
gives zeros (never NaN). One mode, ``"paper"`` (Chaudhry's MATLAB code is not public). Numba, CPU only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .._backend import require_cpu
from .._docs import fill_doc
from .._validation import check_paper_only
from ..errors import ShapeError
from ._grid import check_bins, check_grid, part_bounds, run_parts
from ._numba import angle_bin_edges, as_finite_float32, n_threads_for

__all__ = ["hoof"]


@njit(cache=True, nogil=True)
def _hoof_kernel(flows, row_lo, row_hi, col_lo, col_hi, n_bins, out):  # pragma: no cover - compiled
    """Mirror-symmetric HOOF of each flow of ``flows`` (N, H, W, 2) float32 into ``out`` (N, blocks * bins) float64.

    The default (not symmetric) binning is Bi-WOOF's kernel, whatever the thread count.
    """
    n_rows, n_cols = row_lo.shape[0], col_lo.shape[0]
    for i in range(flows.shape[0]):
        pos = 0
        for r in range(n_rows):
            for c in range(n_cols):
                for y in range(row_lo[r], row_hi[r]):
                    for x in range(col_lo[c], col_hi[c]):
                        u = np.float64(flows[i, y, x, 0])
                        v = np.float64(flows[i, y, x, 1])
                        m = np.sqrt(u * u + v * v)
                        if m == 0.0:
                            continue
                        # in half-turns, so an edge's direction is exact (as _numba.angle_bin)
                        b = int(np.floor((np.arctan2(v, abs(u)) / np.pi + 0.5) * n_bins))
                        b = min(b, n_bins - 1)
                        out[i, pos + b] += m
                total = 0.0
                for b in range(n_bins):
                    total += out[i, pos + b]
                if total > 0.0:
                    for b in range(n_bins):
                        out[i, pos + b] /= total
                pos += n_bins


@fill_doc
def hoof(
    flow: ArrayLike,
    *,
    blocks: int | tuple[int, int] = (5, 5),
    bins: int = 8,
    symmetric: bool = False,
    mode: Literal["paper"] = "paper",
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """Block HOOF of one onset-to-apex flow or a stack of them.

    Every pixel of a block votes its flow magnitude into the bin of its angle. Leading dimensions are a batch:
    a stack of flows runs in one call, the flows split among threads.

    Parameters
    ----------
    flow : array_like of shape (..., H, W, 2)
        Optical flow (u right, v down), one or a stack.
    blocks : int or (rows, cols)
        Grid of blocks: ``size // n`` pixels per block, the last row and column of blocks take the remainder.
    bins : int
        Orientation bins per block (>= 2).
    symmetric : bool
        Chaudhry's left-right symmetric binning (see the module docstring).
    mode : {"paper"}
        The only definition.
    n_threads : int, optional
        Threads over a stack of flows, all cores if None (the kernel releases the GIL).
    {{device_numba}}

    Returns
    -------
    feature : ndarray of shape (..., rows * cols * bins), float32
        Blocks row-major (col fastest), each histogram summing to 1, or zeros where the block has no motion.
        Bin k covers ``[-180 + k * 360 / bins, -180 + (k + 1) * 360 / bins)`` degrees (``symmetric``:
        ``[-90 + k * 180 / bins, ...)``).

    Raises
    ------
    ShapeError
        Flow not (..., H, W, 2), non-numeric, holding NaN/infinity, or smaller than the block grid.
    ValueError
        An invalid parameter (named in the message).

    Examples
    --------
    >>> import numpy as np, mefast
    >>> flow = np.zeros((40, 40, 2), np.float32); flow[..., 0] = 1.0     # everything moves right
    >>> f = mefast.hoof(flow, blocks=2, bins=8)
    >>> f.shape, np.flatnonzero(f).tolist()
    ((32,), [4, 12, 20, 28])
    """
    require_cpu(device, "hoof")
    check_paper_only(mode, "HOOF")
    n_bins = check_bins(bins)
    if not isinstance(symmetric, bool | np.bool_):
        raise ValueError(f"symmetric must be True or False, got {symmetric!r}")
    shape = np.shape(flow)
    if len(shape) < 3 or shape[-1] != 2:
        raise ShapeError(f"flow must have shape (..., H, W, 2), got shape {shape}")
    f = as_finite_float32(flow, "flow")
    lead, (h, w) = f.shape[:-3], f.shape[-3:-1]
    rows, cols = check_grid(blocks)
    row_lo, row_hi = part_bounds(h, rows, "block rows")
    col_lo, col_hi = part_bounds(w, cols, "block columns")
    stack = f.reshape(-1, h, w, 2)
    n = stack.shape[0]
    out = np.zeros((n, rows * cols * n_bins), np.float64)
    if n == 0:  # an empty stack: no thread parts to split it into
        return out.astype(np.float32).reshape(*lead, rows * cols * n_bins)
    sym = bool(symmetric)
    lo, hi = part_bounds(n, n_threads_for(n_threads, n), "thread parts")
    parts = list(zip(lo, hi, strict=True))
    if sym:
        run_parts(_hoof_kernel, [(stack[a:b], row_lo, row_hi, col_lo, col_hi, n_bins, out[a:b]) for a, b in parts])
    else:
        # Bi-WOOF's vectorised kernel with the strain weights off computes the same block histograms (each
        # summing to 1), L2-normalised over the whole vector: undo that by normalising each block again.
        from ._biwoof import _biwoof_kernel

        strain = np.zeros((n, h, w), np.float32)
        edges = angle_bin_edges(n_bins)  # Bi-WOOF's paper-mode bin edges
        run_parts(
            _biwoof_kernel,
            [
                (stack[a:b], strain[a:b], row_lo, row_hi, col_lo, col_hi, edges, n_bins, 0, 1, 0, out[a:b])
                for a, b in parts
            ],
        )
        blocks_view = out.reshape(n, rows * cols, n_bins)
        total = blocks_view.sum(-1, keepdims=True)
        np.divide(blocks_view, total, out=blocks_view, where=total > 0)
    return out.astype(np.float32).reshape(*lead, rows * cols * n_bins)
