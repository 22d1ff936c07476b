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

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .._backend import require_cpu
from .._validation import check_bool, check_finite, check_numeric
from ..errors import ShapeError
from ._grid import check_bins, check_grid
from ._numba import EDGE_MARGIN, angle_bin_edges, as_finite_float32, atan2_approx, n_threads_for

__all__ = ["biwoof", "biwoof_block_bounds"]

_MODES = ("paper", "reference")


#: A vector is resolved with ``arctan2`` (not by its octant) when its smaller component is below this fraction of
#: its larger one: ``arctan2`` may then round the angle onto an axis (an edge of every bin count that ``_octant_row``
#: serves), while any other float32 vector lies at least 1e-13 rad from every axis and 2.9e-8 rad from every
#: diagonal, far beyond ``arctan2``'s rounding (1e-16 rad).
_NEAR_AXIS = np.float32(1e-13)
#: Squared magnitudes outside [_LO2, _HI2] (and NaN) are resolved in float64: float32 squares there lose precision
#: to underflow or overflow.
_LO2 = np.float32(1e-36)
_HI2 = np.float32(1e36)
#: Rows summed in the float32 per-column accumulators before they are added into the float64 block sums.
_FLUSH_ROWS = 64
#: Rows added into the accumulators per pass (``_accumulate`` is written for four).
_GROUP = 4
#: Codes that no accumulator counts: a vector to resolve with ``arctan2``, and one that biwoof.m's histc drops.
_RESOLVE = np.float32(-1.0)
_DROP = np.float32(-2.0)


@njit(cache=True, nogil=True)
def _exact_bin(u, v, n_bins, reference, edges):  # pragma: no cover - compiled
    """Bin of (u, v) from ``arctan2``, exactly as the NumPy definitions bin it; -1 when histc drops the angle.

    Paper mode: ``np.histogram`` over ``edges`` (``angle_bin_edges(n_bins)``) after 180 degrees wraps
    to -180: the bin k with ``edges[k] <= theta < edges[k + 1]`` (NumPy's own index computation and correction).
    Reference mode: biwoof.m's histc bins (edges -180 + k * 360 / n_bins degrees, the last bin only its edge).
    """
    theta = np.arctan2(v, u)
    if reference == 0:
        if theta >= np.pi:
            theta = -np.pi  # 180 degrees wraps to -180
        b = int((theta - edges[0]) * (n_bins / (edges[n_bins] - edges[0])))
        b = min(max(b, 0), n_bins - 1)
        if theta < edges[b]:
            b -= 1
        elif b < n_bins - 1 and theta >= edges[b + 1]:
            b += 1
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
def _octant_row(src, code, mag, local_w):  # pragma: no cover - compiled
    """Octant (0..7, the 45-degree bins from -180) and float32 magnitude of each vector of one row.

    ``src`` is the row's interleaved (u, v) float32. The octant follows from signs and ``|v| > |u|``, which are
    exact on the float32 inputs. Vectors on or within ``_NEAR_AXIS`` of an axis, on a diagonal, or of a
    magnitude that float32 squares cannot hold get ``_RESOLVE``; the function returns whether there was one.
    A branch-free loop that LLVM vectorises.
    """
    zero, one, two, four = np.float32(0.0), np.float32(1.0), np.float32(2.0), np.float32(4.0)
    any_resolve = False
    for x in range(code.shape[0]):
        u = src[2 * x]
        v = src[2 * x + 1]
        au = abs(u)
        av = abs(v)
        s2 = u * u + v * v
        resolve = (not ((s2 >= _LO2) & (s2 <= _HI2))) | (min(au, av) < _NEAR_AXIS * max(au, av)) | (au == av)
        any_resolve |= resolve
        up = v > 0
        odd = up == (u < 0)  # quadrants: 0 lower-left, 1 lower-right, 2 upper-right, 3 upper-left
        octant = (four if up else zero) + (two if odd else zero) + (one if (av > au) != odd else zero)
        code[x] = _RESOLVE if resolve else octant
        mg = np.sqrt(s2)
        mag[x] = mg if local_w != 0 else (one if mg > zero else zero)  # ablation: moving pixels vote 1
    return any_resolve


@njit(cache=True, nogil=True)
def _angle_row(src, code, mag, n_bins, reference, local_w):  # pragma: no cover - compiled
    """Bin and float32 magnitude of each vector of one row, for any bin count, from the fast angle.

    Vectors within ``EDGE_MARGIN`` of a bin edge or of an awkward magnitude get ``_RESOLVE``; the bin that
    biwoof.m's histc drops gets ``_DROP``. Returns whether a vector needs resolving.
    """
    zero, one = np.float32(0.0), np.float32(1.0)
    scale = n_bins / (2.0 * np.pi)
    margin = EDGE_MARGIN * scale
    any_resolve = False
    for x in range(code.shape[0]):
        u = src[2 * x]
        v = src[2 * x + 1]
        s2 = u * u + v * v
        t = (atan2_approx(v, u) + np.pi) * scale  # in [0, n_bins]
        b = int(t)
        fr = t - b
        resolve = (fr < margin) | (fr > 1.0 - margin) | (not ((s2 >= _LO2) & (s2 <= _HI2)))
        any_resolve |= resolve
        c = _DROP if (reference != 0) & (b == n_bins - 1) else np.float32(b)
        code[x] = _RESOLVE if resolve else c
        mg = np.sqrt(s2)
        mag[x] = mg if local_w != 0 else (one if mg > zero else zero)
    return any_resolve


@njit(cache=True, nogil=True)
def _accumulate(code, mag, s0, s1, s2, s3, acc, sacc):  # pragma: no cover - compiled
    """Add a group of ``_GROUP`` rows into the per-column accumulators.

    ``acc[k, x]`` gains ``mag[j, x]`` for every row j with ``code[j, x] == k``, and ``sacc`` the strain rows
    ``s0..s3``. Per column, not per block: long loops without scatter that LLVM vectorises; a group of rows per pass
    loads and stores each accumulator once for four rows.
    """
    zero = np.float32(0.0)
    c0, c1, c2, c3 = code[0], code[1], code[2], code[3]
    m0, m1, m2, m3 = mag[0], mag[1], mag[2], mag[3]
    if acc.shape[0] == 8:
        a0, a1, a2, a3, a4, a5, a6, a7 = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
        for x in range(c0.shape[0]):
            p, q, r, t = m0[x], m1[x], m2[x], m3[x]
            e, f, g, h = c0[x], c1[x], c2[x], c3[x]
            # one line per bin: the unrolled accumulation LLVM vectorises
            # fmt: off
            a0[x] += ((p if e == 0 else zero) + (q if f == 0 else zero)) + ((r if g == 0 else zero) + (t if h == 0 else zero))  # noqa: E501
            a1[x] += ((p if e == 1 else zero) + (q if f == 1 else zero)) + ((r if g == 1 else zero) + (t if h == 1 else zero))  # noqa: E501
            a2[x] += ((p if e == 2 else zero) + (q if f == 2 else zero)) + ((r if g == 2 else zero) + (t if h == 2 else zero))  # noqa: E501
            a3[x] += ((p if e == 3 else zero) + (q if f == 3 else zero)) + ((r if g == 3 else zero) + (t if h == 3 else zero))  # noqa: E501
            a4[x] += ((p if e == 4 else zero) + (q if f == 4 else zero)) + ((r if g == 4 else zero) + (t if h == 4 else zero))  # noqa: E501
            a5[x] += ((p if e == 5 else zero) + (q if f == 5 else zero)) + ((r if g == 5 else zero) + (t if h == 5 else zero))  # noqa: E501
            a6[x] += ((p if e == 6 else zero) + (q if f == 6 else zero)) + ((r if g == 6 else zero) + (t if h == 6 else zero))  # noqa: E501
            a7[x] += ((p if e == 7 else zero) + (q if f == 7 else zero)) + ((r if g == 7 else zero) + (t if h == 7 else zero))  # noqa: E501
            # fmt: on
    else:
        for k in range(acc.shape[0]):
            ak = acc[k]
            kf = np.float32(k)
            for x in range(c0.shape[0]):
                ak[x] += ((m0[x] if c0[x] == kf else zero) + (m1[x] if c1[x] == kf else zero)) + (
                    (m2[x] if c2[x] == kf else zero) + (m3[x] if c3[x] == kf else zero))  # fmt: skip
    for x in range(s0.shape[0]):
        sacc[x] += (s0[x] + s1[x]) + (s2[x] + s3[x])


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _flush(acc, sacc, col_lo, col_hi, bin_of, hist, ssum):  # pragma: no cover - compiled
    """Add the float32 column accumulators into the float64 block sums, then zero them.

    Code k counts in bin ``bin_of[k]``. Reassociation only reorders these sums (the bins are already decided).
    """
    for c in range(col_lo.shape[0]):
        x0, x1 = col_lo[c], col_hi[c]
        for k in range(acc.shape[0]):
            seg = acc[k, x0:x1]
            t = 0.0
            for j in range(seg.shape[0]):
                t += np.float64(seg[j])
            hist[c, bin_of[k]] += t
        seg = sacc[x0:x1]
        t = 0.0
        for j in range(seg.shape[0]):
            t += np.float64(seg[j])
        ssum[c] += t
    acc[:] = 0.0
    sacc[:] = 0.0


@njit(cache=True, nogil=True)
def _biwoof_kernel(flows, strains, row_lo, row_hi, col_lo, col_hi, edges, n_bins, reference, local_w, global_w, out):  # noqa: E501  # pragma: no cover
    """Bi-WOOF of each clip into ``out`` (N, n_rows * n_cols * n_bins) float64; False if a flow is not finite.

    A non-finite flow vector leaves that clip's output meaningless (the caller raises).

    flows (N, H, W, 2) float32, strains (N, H, W) float32, block bounds as half-open int64 ranges, ``edges``
    the paper-mode bin edges (``angle_bin_edges(n_bins)``), ``reference`` 0 (paper) or 1 (biwoof.m).
    One pass over each band of block rows: per row, every vector's code (its octant when ``n_bins`` divides 8,
    else its bin from the fast angle) and magnitude, added into float32 per-column accumulators that are
    summed per block into float64 every ``_FLUSH_ROWS`` rows. The rare vectors the fast codes cannot place
    with certainty go straight into the float64 block sums through :func:`_exact_bin`.
    """
    n, w = flows.shape[0], flows.shape[2]
    n_rows = row_lo.shape[0]
    n_cols = col_lo.shape[0]
    octants = n_bins == 2 or n_bins == 4 or n_bins == 8
    n_codes = 8 if octants else n_bins
    shift = 0 if n_bins == 8 else (1 if n_bins == 4 else 2)
    bin_of = np.empty(n_codes, np.int64)  # code -> bin, n_bins: histc drops it
    for k in range(n_codes):
        b = k >> shift if octants else k
        bin_of[k] = n_bins if (reference != 0) & (b == n_bins - 1) else b
    code = np.empty((_GROUP, w), np.float32)
    mag = np.empty((_GROUP, w), np.float32)
    no_strain = np.zeros(w, np.float32)
    acc = np.zeros((n_codes, w), np.float32)
    sacc = np.zeros(w, np.float32)
    hist = np.zeros((n_cols, n_bins + 1))
    ssum = np.zeros(n_cols)
    finite = True
    for i in range(n):
        pos = 0
        for r in range(n_rows):
            hist[:] = 0.0
            ssum[:] = 0.0
            pending = 0
            for y0 in range(row_lo[r], row_hi[r], _GROUP):
                for j in range(_GROUP):
                    y = y0 + j
                    c_row, m_row = code[j], mag[j]
                    if y >= row_hi[r]:  # past the band's last row: a row that counts nowhere
                        c_row[:] = _DROP
                        continue
                    src = flows[i, y].reshape(-1)
                    if octants:
                        resolve = _octant_row(src, c_row, m_row, local_w)
                    else:
                        resolve = _angle_row(src, c_row, m_row, n_bins, reference, local_w)
                    if resolve:
                        for x in range(w):
                            if c_row[x] != _RESOLVE:
                                continue
                            u = np.float64(src[2 * x])
                            v = np.float64(src[2 * x + 1])
                            m = np.sqrt(u * u + v * v)
                            if not np.isfinite(m):
                                finite = False
                                continue
                            b = _exact_bin(u, v, n_bins, reference, edges)
                            if b < 0:
                                continue
                            if local_w == 0:
                                m = 1.0 if m > 0.0 else 0.0
                            for c in range(n_cols):
                                if col_lo[c] <= x < col_hi[c]:
                                    hist[c, b] += m
                last = row_hi[r] - 1
                _accumulate(code, mag, strains[i, y0], strains[i, y0 + 1] if y0 + 1 <= last else no_strain,
                            strains[i, y0 + 2] if y0 + 2 <= last else no_strain,
                            strains[i, y0 + 3] if y0 + 3 <= last else no_strain, acc, sacc)  # fmt: skip
                pending += _GROUP
                if pending >= _FLUSH_ROWS:
                    _flush(acc, sacc, col_lo, col_hi, bin_of, hist, ssum)
                    pending = 0
            _flush(acc, sacc, col_lo, col_hi, bin_of, hist, ssum)
            for c in range(n_cols):
                total = 0.0
                for b in range(n_bins):
                    total += hist[c, b]
                if global_w == 0:
                    weight = 1.0  # ablation: no strain weight
                elif reference == 0:
                    weight = ssum[c] / ((row_hi[r] - row_lo[r]) * (col_hi[c] - col_lo[c]))
                else:
                    weight = ssum[c]
                for b in range(n_bins):
                    out[i, pos + b] = hist[c, b] / total * weight if total > 0.0 else 0.0
                pos += n_bins
        norm = 0.0
        for j in range(pos):
            norm += out[i, j] * out[i, j]
        if norm > 0.0:
            norm = np.sqrt(norm)
            for j in range(pos):
                out[i, j] /= norm
    return finite


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


@njit(cache=True, nogil=True)
def _max_bits(bits):  # pragma: no cover - compiled
    """Largest element of a uint32 array (the bit patterns of a float32 one); an integer max vectorises."""
    flat = bits.reshape(-1)
    m = np.uint32(0)
    for i in range(flat.shape[0]):
        m = max(m, flat[i])
    return m


#: Bit pattern of float32 +infinity: a float32 is finite and >= +0 exactly when its pattern is below this.
_INF_BITS = 0x7F800000


def _numeric(x: ArrayLike, name: str, what: str = "an integer or floating-point array") -> np.ndarray:
    """:func:`check_numeric`, answering the common float32/float64 ndarray without its dtype tests."""
    if type(x) is np.ndarray and (x.dtype == np.float32 or x.dtype == np.float64):
        return x
    return check_numeric(x, name, what=what)


def _contiguous_float32(a: np.ndarray) -> NDArray[np.float32]:
    """``a`` as C-contiguous float32; values beyond float32's range become inf without a warning."""
    if a.dtype == np.float32:
        return np.ascontiguousarray(a)
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(a, dtype=np.float32)


def _checked_strain(strain: ArrayLike, shape: tuple[int, ...]) -> NDArray[np.float32]:
    """``strain`` as C-contiguous float32 (N, H, W), checked in one Numba pass; a failing one is explained."""
    s = np.asarray(strain)
    if s.shape != shape:
        raise ShapeError(f"strain must have the flow's shape without its last axis, {shape}, got {s.shape}")
    _numeric(s, "strain", what="a numeric array")
    s32 = _contiguous_float32(s)
    if s32.size and _max_bits(s32.view(np.uint32)) >= _INF_BITS:  # NaN, infinity, a negative value or -0.0
        check_finite(s, "strain")
        if (s < 0).any():
            raise ShapeError(f"strain must be a magnitude (>= 0), got a minimum of {float(s.min())}")
        if np.isinf(s32).any():
            raise ShapeError(f"strain holds values beyond the float32 range (largest {float(np.abs(s).max()):g})")
    return s32.reshape(-1, *shape[-2:])


@functools.lru_cache(maxsize=32)
def _layout(
    h: int, w: int, rows: int, cols: int, mode: Literal["paper", "reference"], bins: int
) -> tuple[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]], NDArray[np.float64]]:
    """The kernel's block bounds and paper-mode bin edges, computed once per geometry (never written to)."""
    return biwoof_block_bounds(h, w, (rows, cols), mode), angle_bin_edges(bins)


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
        Flow not (..., H, W, 2) or holding NaN/infinity; strain of another shape, non-finite or negative. Also
        a flow or strain so large that the float32 computation would overflow (the features would be NaN):
        a flow whose optical strain overflows (derivatives beyond about 1e19 pixels, see
        :func:`mefast.optical_strain`), or a strain whose float32 column sums overflow (from about 5e36).
        The feature does not change when the flow or the strain is scaled, so scale such input down.

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
    bins = check_bins(bins)
    shape = np.shape(flow)
    if len(shape) < 3 or shape[-1] != 2:
        raise ShapeError(f"flow must have shape (..., H, W, 2), got shape {shape}")
    if strain is None:
        f = as_finite_float32(flow, "flow")
    else:  # the kernel checks every flow vector on its way (below): no separate pass over the flow
        f = _contiguous_float32(_numeric(flow, "flow"))  # beyond float32's range: inf, reported below
    lead, (h, w) = f.shape[:-3], f.shape[-3:-1]
    rows, cols = _check_blocks(blocks, h, w)
    stack = f.reshape(-1, h, w, 2)
    if strain is None:
        from ..flow import optical_strain

        s = optical_strain(stack)
    else:
        s = _checked_strain(strain, f.shape[:-1])
    bounds, edges = _layout(h, w, rows, cols, mode, bins)
    n = stack.shape[0]
    out = np.zeros((n, rows * cols * bins), np.float64)
    ref = 1 if mode == "reference" else 0
    weights = (int(check_bool(local_weights, "local_weights")), int(check_bool(global_weights, "global_weights")))
    threads = n_threads_for(n_threads, n)
    if threads == 1:
        finite = _biwoof_kernel(stack, s, *bounds, edges, bins, ref, *weights, out)
    else:
        parts = np.array_split(np.arange(n), threads)
        with ThreadPoolExecutor(threads) as pool:
            jobs = [
                pool.submit(_biwoof_kernel, stack[p[0] : p[-1] + 1], s[p[0] : p[-1] + 1], *bounds, edges,
                            bins, ref, *weights, out[p[0] : p[-1] + 1])
                for p in parts
            ]  # fmt: skip
            finite = all([j.result() for j in jobs])
    if not finite:
        as_finite_float32(flow, "flow")  # raises, naming the problem
        raise ShapeError("flow contains NaN or infinity")  # pragma: no cover - the line above raises
    if not np.isfinite(out).all():  # the strain overflowed the float32 column sums (out is small: a feature each)
        name, what = ("strain", "strain") if strain is not None else ("flow", "flow's optical strain")
        raise ShapeError(
            f"{name} is too large for Bi-WOOF: the float32 sums of the {what} (largest {float(s.max()):g}) "
            f"overflow; Bi-WOOF does not change when the {name} is scaled, so scale it down"
        )
    return out.astype(np.float32).reshape(*lead, rows * cols * bins)  # not -1: lead may hold a 0
