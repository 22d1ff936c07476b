"""Bi-WOOF, Bi-Weighted Oriented Optical Flow (Liong, See, Wong & Phan, SP:IC 62, 2018).

The onset-to-apex flow is cut into a grid of blocks. Each block gets an orientation histogram in which every
pixel votes its flow magnitude (local weight), normalised to sum 1, then multiplied by the block's optical
strain (global weight); the concatenated blocks are normalised to unit L2 norm. Spec: ``descriptors.md`` §4.

Two modes:

``"paper"``
    ``bins`` equal bins over [-180, 180) degrees (180 wraps to -180), an exact partition into blocks (the last
    row and column of blocks take the remainder), global weight = mean strain of the block. A block without
    motion contributes zeros and a still face gives the zero vector.
``"reference"``
    Reproduces the authors' ``biwoof.m``: its block bounds, which reach one pixel past the nominal edges on
    each inner side; its histogram edges ``-180:360/bins:179`` with MATLAB ``histc`` semantics, so the last bin
    counts only angles equal to its left edge (135 degrees for 8 bins) and angles above it are dropped; and the
    *sum* of the block's strain as its weight. Where ``biwoof.m`` divides zero by zero (a block whose motion is
    all dropped or zero, or an all-zero result) mefast gives zeros instead of NaN.

Angles are ``atan2(v, u)`` in image coordinates (v points down), so upward motion lies in (-180, 0) degrees.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .._backend import require_cpu
from .._validation import check_finite, check_int, check_numeric
from ..errors import ShapeError
from ._grid import check_grid
from ._numba import EDGE_MARGIN, as_finite_float32, atan2_approx, n_threads_for

__all__ = ["biwoof", "biwoof_block_bounds"]

_MODES = ("paper", "reference")


@njit(cache=True, nogil=True)
def _exact_bin(u, v, n_bins, reference):  # pragma: no cover - compiled
    """Bin of (u, v) from ``arctan2``; -1 when histc drops the angle.

    Paper bins over [-pi, pi) (+pi wraps to bin 0), or biwoof.m's histc bins (edges -180 + k * 360 / n_bins,
    the last bin only its edge).
    """
    theta = np.arctan2(v, u)
    if reference == 0:
        b = int(np.floor((theta + np.pi) * n_bins / (2.0 * np.pi)))
        if b >= n_bins:
            b = 0 if theta >= np.pi else n_bins - 1  # 180 degrees wraps to -180
        return b
    step = 360.0 / n_bins
    deg = max(theta * (180.0 / np.pi), -180.0)  # atan2 = -pi is -180 exactly
    last_edge = -180.0 + (n_bins - 1) * step
    if deg > last_edge:
        return -1
    if deg == last_edge:
        return n_bins - 1
    b = min(max(int(np.floor((deg + 180.0) / step)), 0), n_bins - 2)
    while b > 0 and deg < -180.0 + b * step:
        b -= 1
    while b < n_bins - 2 and deg >= -180.0 + (b + 1) * step:
        b += 1
    return b


@njit(cache=True, nogil=True)
def _biwoof_kernel(flows, strains, row_lo, row_hi, col_lo, col_hi, n_bins, reference, local_w, global_w, out):  # noqa: E501  # pragma: no cover
    """Bi-WOOF of each clip into ``out`` (N, n_rows * n_cols * n_bins) float64.

    flows (N, H, W, 2) float32, strains (N, H, W) float32, block bounds as half-open int64 ranges,
    ``reference`` 0 (paper) or 1 (biwoof.m). Per clip, a vectorised pass gives every pixel its magnitude and
    bin code (``n_bins``: dropped, ``n_bins + 1``: too close to an edge for the fast angle, resolved with
    ``arctan2``), then each block sums its pixels into four interleaved histograms (short dependency chains).
    """
    n, h, w = flows.shape[0], flows.shape[1], flows.shape[2]
    n_rows = row_lo.shape[0]
    n_cols = col_lo.shape[0]
    code = np.empty((h, w), np.uint32)  # unsigned: no negative-index checks in the scatter below
    mag = np.empty((h, w))
    scale = n_bins / (2.0 * np.pi)
    margin = EDGE_MARGIN * scale
    dropped = n_bins
    exact = n_bins + 1
    hist = np.zeros((4, n_bins + 2))
    strain4 = np.zeros(4)
    for i in range(n):
        for y in range(h):
            # Row views indexed from 0: LLVM proves the indices non-negative and vectorises the loop.
            src, c_row, m_row = flows[i, y].reshape(-1), code[y], mag[y]
            near = 0
            for x in range(w):
                u = np.float64(src[2 * x])
                v = np.float64(src[2 * x + 1])
                t = (atan2_approx(v, u) + np.pi) * scale  # in [0, n_bins]
                b = int(t)
                fr = t - b
                is_near = (fr < margin) | (fr > 1.0 - margin)
                c = dropped if (reference != 0) & (b == n_bins - 1) else b  # histc drops (last edge, 180)
                c_row[x] = exact if is_near else c
                near += is_near
                mg = np.sqrt(u * u + v * v)
                m_row[x] = mg if local_w != 0 else (1.0 if mg > 0.0 else 0.0)  # ablation: moving pixels vote 1
            if near > 0:
                for x in range(w):
                    if c_row[x] == exact:
                        b = _exact_bin(np.float64(src[2 * x]), np.float64(src[2 * x + 1]), n_bins, reference)
                        c_row[x] = b if b >= 0 else dropped
        pos = 0
        for r in range(n_rows):
            for c in range(n_cols):
                hist[:] = 0.0
                strain4[:] = 0.0
                x0, x1 = col_lo[c], col_hi[c]
                for y in range(row_lo[r], row_hi[r]):
                    c_seg, m_seg, s_seg = code[y, x0:x1], mag[y, x0:x1], strains[i, y, x0:x1]
                    for j in range(x1 - x0):
                        lane = j & 3
                        hist[lane, c_seg[j]] += m_seg[j]
                        strain4[lane] += s_seg[j]
                total = 0.0
                for b in range(n_bins):
                    total += hist[0, b] + hist[1, b] + hist[2, b] + hist[3, b]
                strain_sum = strain4[0] + strain4[1] + strain4[2] + strain4[3]
                if reference == 0:
                    weight = strain_sum / ((row_hi[r] - row_lo[r]) * (col_hi[c] - col_lo[c]))
                else:
                    weight = strain_sum
                if global_w == 0:
                    weight = 1.0  # ablation: no strain weight
                for b in range(n_bins):
                    votes = hist[0, b] + hist[1, b] + hist[2, b] + hist[3, b]
                    out[i, pos + b] = votes / total * weight if total > 0.0 else 0.0
                pos += n_bins
        norm = 0.0
        for j in range(pos):
            norm += out[i, j] * out[i, j]
        if norm > 0.0:
            norm = np.sqrt(norm)
            for j in range(pos):
                out[i, j] /= norm


def biwoof_block_bounds(
    height: int, width: int, blocks: tuple[int, int], mode: Literal["paper", "reference"] = "paper"
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Pixel ranges of the Bi-WOOF blocks: ``(row_lo, row_hi, col_lo, col_hi)``, half-open.

    ``"paper"``: block b covers ``[b * s, (b + 1) * s)`` with ``s = size // n``; the last one ends at the
    border. ``"reference"``: ``biwoof.m``'s ``[0, s]``, ``[b * s - 1, (b + 1) * s]``, ..., ``[(n - 1) * s - 1,
    size - 1]`` (inclusive), clipped to the image.
    """

    def one(size: int, n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        s = size // n
        b = np.arange(n)
        if mode == "paper":
            lo, hi = b * s, (b + 1) * s
            hi[-1] = size
        else:
            lo = np.maximum(b * s - 1, 0)
            hi = np.minimum((b + 1) * s + 1, size)
            hi[-1] = size
        return lo.astype(np.int64), hi.astype(np.int64)

    rl, rh = one(height, blocks[0])
    cl, ch = one(width, blocks[1])
    return rl, rh, cl, ch


def _check_blocks(blocks: int | tuple[int, int], h: int, w: int) -> tuple[int, int]:
    rows, cols = check_grid(blocks)
    if rows > h or cols > w:
        raise ValueError(
            f"blocks={blocks!r} ({rows}x{cols}) is finer than the {h}x{w} flow: at least one pixel per block"
        )
    return rows, cols


def biwoof(
    flow: ArrayLike,
    strain: ArrayLike | None = None,
    *,
    blocks: int | tuple[int, int] = (5, 5),
    bins: int = 8,
    mode: Literal["paper", "reference"] = "paper",
    local_weights: bool = True,
    global_weights: bool = True,
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """Bi-WOOF feature of the onset-to-apex flow of one clip or a stack of clips.

    Parameters
    ----------
    flow : array_like of shape (..., H, W, 2)
        Onset-to-apex optical flow (u right, v down), one clip or a stack (batched: all clips in one call).
    strain : array_like of shape (..., H, W), optional
        Optical strain magnitude of each flow (>= 0); computed with :func:`mefast.optical_strain` (central
        differences) when not given.
    blocks : int or (int, int)
        Grid of blocks, rows x columns (the paper and ``biwoof.m``: 5 x 5).
    bins : int
        Orientation bins per block (the paper: 8).
    mode : {"paper", "reference"}
        The clean definition or a reproduction of ``biwoof.m`` (see the module docstring).
    local_weights : bool
        Pixels vote their flow magnitude (True, Bi-WOOF) or 1 for every moving pixel (False: the tutorial's
        "without local weight" ablation).
    global_weights : bool
        Blocks weighted by their optical strain (True, Bi-WOOF) or all by 1 (False: the "without global
        weight" ablation; with ``local_weights`` it is then the L2-normalised block HOOF, :func:`mefast.hoof`).
    n_threads : int, optional
        Threads over a stack of clips, all cores if None (the kernel releases the GIL).
    device : {"cpu", "auto"}
        Where to compute: the Numba kernel runs on the CPU (``"cuda"`` raises ``CudaUnavailableError``).

    Returns
    -------
    feature : ndarray of shape (..., rows * cols * bins), float32
        Blocks row-major (rows outer, columns inner), each ``bins`` long with bin k = [-180 + k * 360 / bins,
        -180 + (k + 1) * 360 / bins) degrees; unit L2 norm, or zeros for a still face.

    Raises
    ------
    ShapeError
        Flow not (..., H, W, 2) or holding NaN/infinity; strain of another shape, non-finite or negative.

    Examples
    --------
    >>> import numpy as np, mefast
    >>> y, x = np.mgrid[0:100, 0:100].astype(np.float32)
    >>> flow = np.stack([0.05 * x, np.zeros_like(x)], axis=-1)    # a stretch: every vector points right
    >>> feat = mefast.biwoof(flow)
    >>> feat.shape, np.flatnonzero(feat)[:3], round(float(feat[4]), 6)
    ((200,), array([ 4, 12, 20]), 0.2)
    """
    require_cpu(device, "biwoof")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    bins = check_int(bins, "bins", minimum=2)
    shape = np.shape(flow)
    if len(shape) < 3 or shape[-1] != 2:
        raise ShapeError(f"flow must have shape (..., H, W, 2), got shape {shape}")
    f = as_finite_float32(flow, "flow")
    lead, (h, w) = f.shape[:-3], f.shape[-3:-1]
    rows, cols = _check_blocks(blocks, h, w)
    stack = f.reshape(-1, h, w, 2)
    if strain is None:
        from ..flow import optical_strain

        s = optical_strain(stack)
    else:
        s = np.asarray(strain)
        if s.shape != f.shape[:-1]:
            raise ShapeError(f"strain must have the flow's shape without its last axis, {f.shape[:-1]}, got {s.shape}")
        check_numeric(s, "strain", what="a numeric array")
        check_finite(s, "strain")
        if (s < 0).any():
            raise ShapeError(f"strain must be a magnitude (>= 0), got a minimum of {float(s.min())}")
        s = np.ascontiguousarray(s, dtype=np.float32).reshape(-1, h, w)
    bounds = biwoof_block_bounds(h, w, (rows, cols), mode)
    n = stack.shape[0]
    out = np.zeros((n, rows * cols * int(bins)), np.float64)
    ref = 1 if mode == "reference" else 0
    for flag, flag_name in ((local_weights, "local_weights"), (global_weights, "global_weights")):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(f"{flag_name} must be True or False, got {flag!r}")
    weights = (int(bool(local_weights)), int(bool(global_weights)))
    threads = n_threads_for(n_threads, n)
    if threads == 1:
        _biwoof_kernel(stack, s, *bounds, int(bins), ref, *weights, out)
    else:
        parts = np.array_split(np.arange(n), threads)
        with ThreadPoolExecutor(threads) as pool:
            jobs = [
                pool.submit(_biwoof_kernel, stack[p[0] : p[-1] + 1], s[p[0] : p[-1] + 1], *bounds, int(bins), ref,
                            *weights, out[p[0] : p[-1] + 1])
                for p in parts
            ]  # fmt: skip
            for j in jobs:
                j.result()
    return out.astype(np.float32).reshape(*lead, -1)
