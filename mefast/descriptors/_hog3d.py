"""3DHOG (Polikovsky, Kameda & Ohta, ICDP 2009) and HIGO (Li et al., TAC 2018): gradient orientation histograms.

Both take the spatio-temporal gradient of the clip by central differences at every interior voxel,
``g_x = I(t, y, x+1) - I(t, y, x-1)``, ``g_y = I(t, y+1, x) - I(t, y-1, x)``, ``g_t = I(t+1, y, x) - I(t-1, y, x)``,
and bin its projection on each orthogonal plane by angle: XY ``atan2(g_y, g_x)``, XT ``atan2(g_t, g_x)``, YT
``atan2(g_t, g_y)``, ``bins`` equal bins over [-180, 180) degrees (180 wraps to -180). Per block (a grid over the
interior pixels and time parts over the interior frames) one histogram per plane:

``hog3d``
    every voxel votes the magnitude of the projected gradient (3DHOG of the early CASME baselines);
``higo``
    every voxel with a non-zero projected gradient votes 1 (histogram of image gradient orientation: the
    magnitude-free variant, robust to illumination contrast).

Voxels without gradient vote nothing: a still clip gives zeros, never NaN. A clip beyond float32's range (float64
above 3.4e38) raises ``ShapeError`` (``_grid.gray_clip``), and the kernel sends a non-finite gradient to the
sink bin as well, so no value can index outside the histograms. One mode, ``"paper"``. Numba; the
angle comes from a fast polynomial and only angles within ``EDGE_MARGIN`` of a bin edge are recomputed with
``arctan2``, so every vote lands in exactly the bin ``arctan2`` gives it.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import numpy as np
from numba import njit, types
from numba.extending import overload
from numpy.typing import ArrayLike, NDArray

from .._docs import fill_doc
from .._twins import options_of
from ._grid import block_features, centre_grid, check_bins, check_block_options
from ._numba import EDGE_MARGIN, angle_bin, atan2_approx

__all__ = ["higo", "hog3d"]


@njit(cache=True, nogil=True, inline="always")
def _neighbours(v, t, y):  # pragma: no cover - compiled
    """Row views around row ``y`` of frame ``t``, aligned on the interior columns (element j is column j + 1).

    ``left, right`` (x -/+ 1), ``up, down`` (y -/+ 1), ``prev, nxt`` (t -/+ 1): the central differences of all
    three row kernels. Inlined (Numba IR inlining), so it costs nothing in the loops.
    """
    return v[t, y], v[t, y, 2:], v[t, y - 1, 1:], v[t, y + 1, 1:], v[t - 1, y, 1:], v[t + 1, y, 1:]


@njit(cache=True, nogil=True, error_model="numpy")
def _bin_row(a_row, b_row, c_row, w_row, n_bins, scale, margin, weighted):  # pragma: no cover - compiled
    """Bin code and vote of each (a, b) of a row (see ``_hog_kernel``); returns how many need ``arctan2``.

    A zero gradient goes to the sink bin, and so does a non-finite one (only a non-finite clip has one, and the
    wrappers refuse those): its angle is NaN, which no bin index may be made of.
    """
    sink = np.uint32(n_bins)
    exact = np.uint32(n_bins + 1)
    top = np.float64(n_bins) - 0.5
    near = 0
    for j in range(a_row.shape[0]):
        a = a_row[j]
        b = b_row[j]
        m2 = a * a + b * b
        binned = (m2 != 0.0) & (m2 < np.inf)  # False for NaN too
        tt = (atan2_approx(a, b) + np.pi) * scale
        k = np.uint32(min(tt, top))
        fr = tt - np.floor(tt)
        is_near = ((fr < margin) | (fr > 1.0 - margin)) & binned
        c_row[j] = (exact if is_near else k) if binned else sink
        w_row[j] = np.sqrt(m2) if weighted else 1.0
        near += np.int64(is_near)
    return near


@njit(cache=True, nogil=True)
def _gradient_kernel(v, t0, t1, row_of, col_lo, col_hi, tb_of, spec, weighted, out):  # pragma: no cover - compiled
    """Votes of the interior frames ``[t0, t1)`` into ``out``, row by row; the row kernel follows the arguments.

    ``out`` (time blocks, rows, cols, 3, 4, n_bins + 1) float64 with ``spec`` the bin count: :func:`_float_votes`
    (any clip dtype); with ``spec`` the uint8 bin table: :func:`_u8_votes`; ``out`` (time blocks, rows, cols,
    4, m**3) int32 with the table: :func:`_joint_votes` (HIGO of a uint8 clip). The choice is made when the
    kernel is compiled (``_row_votes`` and ``_work`` are overloaded on the types) and the row kernel is inlined.
    """
    work = _work(out, spec, v.shape[2] - 2)
    for t in range(t0, t1):
        tb = tb_of[t - 1]
        for y in range(1, v.shape[1] - 1):
            _row_votes(_neighbours(v, t, y), out[tb, row_of[y - 1]], col_lo, col_hi, work, spec, weighted)


def _row_votes(rows, hb, col_lo, col_hi, work, spec, weighted):
    """Votes of one interior row into ``hb``, its block row of the output; compiled code only."""
    raise NotImplementedError("_row_votes runs inside _gradient_kernel")


def _work(out, spec, n):
    """Work buffers of the row kernel for rows of ``n`` interior pixels; compiled code only."""
    raise NotImplementedError("_work runs inside _gradient_kernel")


def _float_votes(rows, hb, col_lo, col_hi, work, spec, weighted):  # pragma: no cover - compiled
    """Votes of one row into ``hb`` (block cols, 3, 4, n_bins + 1) float64, any clip dtype; ``spec``: n_bins.

    Vectorised passes compute the three gradient components, then per plane every voxel's bin (``n_bins``: no
    gradient, a sink bin dropped later; ``n_bins + 1``: within ``EDGE_MARGIN`` of an edge, resolved with
    ``arctan2``) and vote; the votes go into four interleaved lanes (short dependency chains).
    """
    left, right, up, down, prev, nxt = rows
    grad, code, vote = work
    n, n_bins = grad.shape[1], spec
    scale = n_bins / (2.0 * np.pi)
    margin = EDGE_MARGIN * scale
    exact = n_bins + 1
    gx, gy, gt = grad[0], grad[1], grad[2]
    for j in range(n):
        gx[j] = np.float64(right[j]) - np.float64(left[j])
        gy[j] = np.float64(down[j]) - np.float64(up[j])
        gt[j] = np.float64(nxt[j]) - np.float64(prev[j])
    for plane in range(3):
        a_row = gy if plane == 0 else gt
        b_row = gy if plane == 2 else gx
        c_row, w_row = code[plane], vote[plane]
        near = _bin_row(a_row, b_row, c_row, w_row, n_bins, scale, margin, weighted)
        if near > 0:
            for j in range(n):
                if c_row[j] == exact:
                    c_row[j] = angle_bin(a_row[j], b_row[j], n_bins)
    for cb in range(col_lo.shape[0]):
        seg = hb[cb]
        for plane in range(3):
            sp, c_row, w_row = seg[plane], code[plane], vote[plane]
            for j in range(col_lo[cb], col_hi[cb]):
                sp[j & 3, c_row[j]] += w_row[j]


def _u8_votes(rows, hb, col_lo, col_hi, work, spec, weighted):  # pragma: no cover - compiled
    """:func:`_float_votes` for uint8 clips, with the bins looked up instead of computed.

    Gradient components are integers in [-255, 255], so every plane's bin is a lookup in ``spec`` (511 x 511,
    built with ``arctan2``; the sink bin for a zero gradient).
    """
    left, right, up, down, prev, nxt = rows
    idx, vote = work
    table = spec
    i0, i1, i2 = idx[0], idx[1], idx[2]
    w0, w1, w2 = vote[0], vote[1], vote[2]
    for j in range(idx.shape[1]):
        gx = np.int32(right[j]) - np.int32(left[j])
        gy = np.int32(down[j]) - np.int32(up[j])
        gt = np.int32(nxt[j]) - np.int32(prev[j])
        i0[j] = (gy + 255) * 511 + gx + 255
        i1[j] = (gt + 255) * 511 + gx + 255
        i2[j] = (gt + 255) * 511 + gy + 255
        if weighted:
            w0[j] = np.sqrt(np.float64(gx * gx + gy * gy))
            w1[j] = np.sqrt(np.float64(gx * gx + gt * gt))
            w2[j] = np.sqrt(np.float64(gy * gy + gt * gt))
    for cb in range(col_lo.shape[0]):
        s0, s1, s2 = hb[cb, 0], hb[cb, 1], hb[cb, 2]
        for j in range(col_lo[cb], col_hi[cb]):
            lane = j & 3
            s0[lane, table[i0[j]]] += w0[j]
            s1[lane, table[i1[j]]] += w1[j]
            s2[lane, table[i2[j]]] += w2[j]


def _joint_votes(rows, hb, col_lo, col_hi, work, spec, weighted):  # pragma: no cover - compiled
    """HIGO counts of a uint8 row as one joint code per voxel, one scatter instead of three (never ``weighted``).

    Code ``(k_xy * m + k_xt) * m + k_yt`` with ``m = n_bins + 1`` (sink included), counted into ``hb`` (block
    cols, 4 lanes, m**3) int32 with the bin table ``spec``; the caller marginalises the planes.
    """
    left, right, up, down, prev, nxt = rows
    code, table = work, spec
    m = np.int32(hb.shape[-1] ** (1.0 / 3.0) + 0.5)
    for j in range(code.shape[0]):
        gx = np.int32(right[j]) - np.int32(left[j]) + 255
        gy = np.int32(down[j]) - np.int32(up[j]) + 255
        gt = np.int32(nxt[j]) - np.int32(prev[j]) + 255
        k0 = np.int32(table[gy * 511 + gx])
        k1 = np.int32(table[gt * 511 + gx])
        k2 = np.int32(table[gt * 511 + gy])
        code[j] = (k0 * m + k1) * m + k2
    for cb in range(col_lo.shape[0]):
        seg = hb[cb]
        for j in range(col_lo[cb], col_hi[cb]):
            seg[j & 3, code[j]] += 1


@overload(_row_votes, inline="always")
def _row_votes_for(rows, hb, col_lo, col_hi, work, spec, weighted):
    if hb.ndim == 3:
        return _joint_votes
    return _u8_votes if isinstance(spec, types.Array) else _float_votes


@overload(_work, inline="always")
def _work_for(out, spec, n):
    if out.ndim == 5:
        return lambda out, spec, n: np.empty(n, np.int32)
    if isinstance(spec, types.Array):
        return lambda out, spec, n: (np.empty((3, n), np.int32), np.ones((3, n)))
    return lambda out, spec, n: (np.empty((3, n)), np.empty((3, n), np.uint32), np.empty((3, n)))


@functools.lru_cache(maxsize=8)
def _u8_table(n_bins: int) -> NDArray[np.uint8]:
    """Bin of ``atan2(a, b)`` for integer ``a, b`` in [-255, 255] (``n_bins`` for the zero vector), flattened."""
    g = np.arange(-255, 256, dtype=np.float64)
    a, b = np.meshgrid(g, g, indexing="ij")
    k = np.floor((np.arctan2(a, b) / (2.0 * np.pi) + 0.5) * n_bins).astype(np.int64)  # as angle_bin: in turns
    k[k >= n_bins] = 0
    k[(a == 0) & (b == 0)] = n_bins
    return k.astype(np.uint8).reshape(-1)


def _gradient_histograms(
    video: ArrayLike,
    blocks: object,
    time_blocks: object,
    bins: object,
    normalize: str,
    mode: str,
    n_threads: int | None,
    device: str,
    weighted: bool,
    what: str,
) -> NDArray[np.float32]:
    check_block_options(device, mode, normalize, what, what)
    n_bins = check_bins(bins)
    lacking = f"interior voxel: {what} needs at least 3 x 3 x 3"
    grid = centre_grid(video, blocks, time_blocks, (1, 1, 1), n_threads, lacking)
    v = grid.clip
    if v.dtype == np.uint8 and not weighted and n_bins <= 16:
        m = n_bins + 1
        joints = np.zeros((len(grid.frames), *grid.shape, 4, m**3), np.int32)
        grid.run(_gradient_kernel, (v,), (_u8_table(n_bins), False), joints)
        cube = joints.sum(axis=(0, 4), dtype=np.int64).reshape(*grid.shape, m, m, m)
        planes = [cube.sum(axis=(4, 5)), cube.sum(axis=(3, 5)), cube.sum(axis=(3, 4))]  # XY, XT, YT
        return block_features(np.stack(planes, axis=3)[..., :n_bins], normalize, (n_bins,))  # drop the sink bin
    spec = _u8_table(n_bins) if v.dtype == np.uint8 and n_bins < 255 else n_bins
    hists = np.zeros((len(grid.frames), *grid.shape, 3, 4, n_bins + 1), np.float64)
    grid.run(_gradient_kernel, (v,), (spec, weighted), hists)
    hist = hists.sum(axis=(0, 5))[..., :n_bins]  # threads and lanes; drop the sink bin
    return block_features(hist, normalize, (n_bins,))


@fill_doc
def hog3d(
    video: ArrayLike,
    *,
    blocks: int | tuple[int, int] = (5, 5),
    time_blocks: int = 1,
    bins: int = 8,
    normalize: Literal["none", "per_block_plane"] = "per_block_plane",
    mode: Literal["paper"] = "paper",
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """3DHOG: magnitude-weighted orientation histograms of the spatio-temporal gradient per block and plane.

    Every interior voxel votes the magnitude of its gradient projected on each orthogonal plane into the bin of
    the projection's angle (see the module docstring); :func:`higo` is the magnitude-free variant.

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        The clip, grey or RGB (BT.601 luma); at least 3 x 3 x 3.
    blocks : int or (rows, cols)
        Grid over the ``(H - 2) x (W - 2)`` interior pixels: ``n // k`` per block, the last taking the remainder.
    time_blocks : int
        Parts of the ``T - 2`` interior frames, cut the same way.
    bins : int
        Orientation bins per plane (>= 2).
    normalize : {"none", "per_block_plane"}
        Raw votes, or each (block, plane) histogram summing to 1 (zeros where it has no vote).
    mode : {"paper"}
        The only definition.
    n_threads : int, optional
        Threads over the frames, all cores if None (the kernel releases the GIL).
    {{device_numba}}

    Returns
    -------
    features : ndarray of shape (time_blocks * rows * cols * 3 * bins,), float32
        Blocks in order (time block, row, col), col fastest; per block the XY, XT and YT histograms; bin k covers
        ``[-180 + k * 360 / bins, -180 + (k + 1) * 360 / bins)`` degrees. Every voxel votes the magnitude of
        its projected gradient.

    {{raises_clip_blocks}}

    Examples
    --------
    >>> import numpy as np, mefast
    >>> clip = np.random.default_rng(0).integers(0, 256, (10, 64, 64), dtype=np.uint8)
    >>> mefast.hog3d(clip, blocks=(4, 4)).shape
    (384,)
    """
    return _gradient_histograms(video, blocks, time_blocks, bins, normalize, mode, n_threads, device, True, "hog3d")


@options_of(hog3d)
def higo(video: ArrayLike, **options: Any) -> NDArray[np.float32]:
    """HIGO: magnitude-free orientation histograms of the spatio-temporal gradient per block and plane.

    :func:`hog3d` with a vote of 1 instead of the gradient's magnitude: the same parameters, raises and layout.

    Parameters
    ----------
    video, blocks, time_blocks, bins, normalize, mode, n_threads, device
        As for :func:`hog3d`.

    Returns
    -------
    features : ndarray of shape (time_blocks * rows * cols * 3 * bins,), float32
        As for :func:`hog3d`, every voxel with a non-zero projected gradient voting 1 into its bin.

    Examples
    --------
    >>> import numpy as np, mefast
    >>> still = np.full((5, 16, 16), 7, np.uint8)
    >>> float(np.abs(mefast.higo(still, blocks=2)).sum())
    0.0
    """
    return _gradient_histograms(video, **options, weighted=False, what="higo")
