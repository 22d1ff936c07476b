"""LBP-SIP and LBP-MOP: the two cheaper LBP-TOP variants of Wang et al. (ACCV workshops 2014; PLoS ONE 2015).

LBP-SIP (six intersection points)
    The XY, XT and YT planes through a voxel share six distinct neighbours: D, E, F, G in the frame at radius
    ``R_X`` / ``R_Y`` (right, up, left, down) and A, B in the previous and next frames at ``t -+ R_T``. LBP-TOP with
    four points per plane samples each of them twice; LBP-SIP codes them once, as a 4-bit spatial code
    (16 bins) and a 2-bit temporal code (4 bins): 20 bins per block instead of LBP-TOP's 3 x 16 (the 2.4x
    reduction the tutorial quotes). Bit ``p`` is 1 when the neighbour is >= the centre.
LBP-MOP (mean orthogonal planes)
    Each block volume is averaged along each axis into three mean images: XY (mean over time), XT (mean over
    the block's rows) and YT (mean over its columns); a 2D LBP histogram of each, concatenated. Sums are used
    instead of means: the comparisons are the same and exact for integer clips.

No public reference implementation of either exists, so there is one mode, ``"paper"``. Numba kernels; both
run on the CPU (``device="cuda"`` raises).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .._docs import fill_doc
from .._validation import check_int, core_threads
from ..errors import ShapeError
from ._grid import block_features, centre_grid, check_block_options, check_grid, gray_clip, part_bounds, part_index

__all__ = ["lbp_mop", "lbp_sip"]


def _radius3(radius: object) -> tuple[int, int, int]:
    msg = f"radius must be a positive integer or a triple (R_X, R_Y, R_T) of them, got {radius!r}"
    try:
        r = (radius, radius, radius) if isinstance(radius, int | np.integer) else tuple(radius)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(msg) from None
    if len(r) != 3:
        raise ValueError(msg)
    rx, ry, rt = (check_int(v, "radius", minimum=1, message=msg) for v in r)
    return rx, ry, rt


@njit(cache=True, nogil=True)
def _sip_kernel(v, rx, ry, rt, t0, t1, row_of, col_lo, col_hi, tb_of, hist):  # pragma: no cover - compiled
    """Joint LBP-SIP counts of centre frames ``[t0, t1)`` into ``hist`` (time blocks, rows, cols, 4, 64) int64.

    Each row's 6-bit codes (spatial bits 0-3, temporal bits 4-5) are computed in a vectorised pass, then counted
    into four interleaved histograms (short dependency chains); the caller sums the lanes and marginalises.
    """
    h, w = v.shape[1], v.shape[2]
    n = w - 2 * rx
    code = np.empty(n, np.uint8)
    for t in range(t0, t1):
        tb = tb_of[t - rt]
        for y in range(ry, h - ry):
            hb = hist[tb, row_of[y - ry]]
            # Views starting at the first centre column (left: at 0): indices from 0 let LLVM vectorise.
            cur, left, right = v[t, y, rx:], v[t, y], v[t, y, 2 * rx :]
            up, down = v[t, y - ry, rx:], v[t, y + ry, rx:]
            prev, nxt = v[t - rt, y, rx:], v[t + rt, y, rx:]
            for j in range(n):
                c = cur[j]
                code[j] = (
                    np.uint8(right[j] >= c)
                    | (np.uint8(up[j] >= c) << np.uint8(1))
                    | (np.uint8(left[j] >= c) << np.uint8(2))
                    | (np.uint8(down[j] >= c) << np.uint8(3))
                    | (np.uint8(prev[j] >= c) << np.uint8(4))
                    | (np.uint8(nxt[j] >= c) << np.uint8(5))
                )
            for cb in range(col_lo.shape[0]):
                seg = hb[cb]
                for j in range(col_lo[cb], col_hi[cb]):
                    seg[j & 3, code[j]] += 1


@fill_doc
def lbp_sip(
    video: ArrayLike,
    *,
    radius: int | tuple[int, int, int] = (1, 1, 1),
    blocks: int | tuple[int, int] = (5, 5),
    time_blocks: int = 1,
    normalize: Literal["none", "per_block_plane"] = "per_block_plane",
    mode: Literal["paper"] = "paper",
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """LBP-SIP block histograms of a clip (local binary patterns on six intersection points).

    The six neighbours a centre voxel has on the three orthogonal planes are coded once, as a 4-bit spatial and a
    2-bit temporal code: 20 bins per block, where LBP-TOP with four points per plane has 48.

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        The clip, grey or RGB (BT.601 luma). uint8 is used as it is, other dtypes as float32.
    radius : int or (R_X, R_Y, R_T)
        Distance of the spatial neighbours (pixels) and of the temporal ones (frames). Centre voxels keep a
        border of ``R_X`` columns, ``R_Y`` rows and ``R_T`` frames.
    blocks : int or (rows, cols)
        Grid over the centre pixels: ``n`` centre rows cut into parts of ``n // rows``, the last one taking the
        remainder (the same for columns).
    time_blocks : int
        Parts of the ``T - 2 R_T`` centre frames, cut the same way.
    normalize : {"none", "per_block_plane"}
        Raw counts, or each block's spatial and temporal histograms each summing to 1.
    mode : {"paper"}
        The only definition (no reference implementation is public).
    n_threads : int, optional
        Threads over the centre frames, all cores if None (the kernel releases the GIL).
    {{device_numba}}

    Returns
    -------
    features : ndarray of shape (time_blocks * rows * cols * 20,), float32
        Blocks in order (time block, row, col), col fastest; per block 16 spatial bins then 4 temporal ones.
        Spatial code: bit 0 right ``(x + R_X, y)``, bit 1 up ``(x, y - R_Y)``, bit 2 left, bit 3 down.
        Temporal code: bit 0 the previous frame ``t - R_T``, bit 1 the next ``t + R_T``. Bit = neighbour >= centre.

    {{raises_clip_blocks}}

    Examples
    --------
    >>> import numpy as np, mefast
    >>> clip = np.random.default_rng(0).integers(0, 256, (10, 64, 64), dtype=np.uint8)
    >>> f = mefast.lbp_sip(clip, blocks=(4, 4))
    >>> f.shape, float(f[:16].sum()), float(f[16:20].sum())
    ((320,), 1.0, 1.0)
    """
    check_block_options(device, mode, normalize, "lbp_sip", "LBP-SIP")
    radius3 = _radius3(radius)
    lacking = f"centre voxel for radius (R_X, R_Y, R_T)={radius3}"
    grid = centre_grid(video, blocks, time_blocks, radius3, n_threads, lacking)
    hists = np.zeros((len(grid.frames), *grid.shape, 4, 64), np.int32)
    grid.run(_sip_kernel, (grid.clip, *radius3), (), hists)
    joint = hists.sum(axis=(0, 4), dtype=np.int64).reshape(*grid.shape, 4, 16)  # (temporal code, spatial code)
    return block_features(np.concatenate([joint.sum(-2), joint.sum(-1)], axis=-1), normalize, (16, 4))


@njit(cache=True, nogil=True)
def _mop_sums(v, row_of, col_lo, col_hi, xy, xt, yt):  # pragma: no cover - compiled
    """Sums of the clip along each axis, per block row / column, in contiguous (vectorised) row passes.

    Over time (xy: H x W), over each block row's rows (xt: rows x T x W), over each block column's columns
    (yt: cols x T x H).
    """
    n_t, h, w = v.shape
    for t in range(n_t):
        for y in range(h):
            src = v[t, y]
            xy_row, xt_row = xy[y], xt[row_of[y], t]
            for x in range(w):
                val = src[x]
                xy_row[x] += val
                xt_row[x] += val
            for cb in range(col_lo.shape[0]):
                seg = src[col_lo[cb] : col_hi[cb]]
                acc = yt[cb, t, y] * 0
                for x in range(seg.shape[0]):
                    acc += seg[x]
                yt[cb, t, y] = acc


@njit(cache=True, nogil=True)
def _lbp2d_hist(img, r0, r1, c0, c1, rr, rc, dr, dc, table, out):  # pragma: no cover - compiled
    """2D LBP histogram of ``img[r0:r1, c0:c1]`` (centre pixels keep a border of ``rr`` rows, ``rc`` columns).

    ``dr``/``dc``: the P rounded neighbour offsets (row, col); ``table`` maps codes to bins; counts into ``out``.
    Each row's codes are built one neighbour at a time over the whole row (vectorised compares).
    """
    n_p = dr.shape[0]
    n = (c1 - rc) - (c0 + rc)
    code = np.empty(n, np.int64)
    for r in range(r0 + rr, r1 - rr):
        centre = img[r, c0 + rc : c1 - rc]
        code[:] = 0
        for p in range(n_p):
            nb = img[r + dr[p], c0 + rc + dc[p] : c1 - rc + dc[p]]
            bit = np.int64(1) << p
            for j in range(n):
                code[j] |= bit if nb[j] >= centre[j] else 0
        for j in range(n):
            out[table[code[j]]] += 1


def _offsets(points: int, r_col: int, r_row: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rounded (row, col) offsets of P neighbours at angles 2 pi p / P: col + R cos, row - R sin."""
    phi = 2 * np.pi * np.arange(points) / points
    dc = np.floor(r_col * np.cos(phi) + 0.5).astype(np.int64)
    dr = np.floor(-r_row * np.sin(phi) + 0.5).astype(np.int64)
    return dr, dc


@fill_doc
def lbp_mop(
    video: ArrayLike,
    *,
    radius: int | tuple[int, int, int] = (1, 1, 1),
    points: int = 8,
    blocks: int | tuple[int, int] = (5, 5),
    mapping: Literal["u2", "riu2"] | None = "u2",
    normalize: Literal["none", "per_block_plane"] = "per_block_plane",
    mode: Literal["paper"] = "paper",
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """LBP-MOP block histograms of a clip (LBP of the mean XY, XT and YT planes of each block volume).

    Each block volume is summed along each axis into three images, each described by a 2D LBP histogram: one
    pass over the clip, then codes of three small images instead of one code per voxel.

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        The clip, grey or RGB (BT.601 luma). Integer clips are summed exactly (int64), others in float64.
    radius : int or (R_X, R_Y, R_T)
        LBP radii: the XY mean image uses ``(R_X, R_Y)``, XT ``(R_X, R_T)``, YT ``(R_Y, R_T)`` (column, row).
    points : int
        Neighbours P (3 to 16) at angles ``2 pi p / P``: column ``c + R cos``, row ``r - R sin``, rounded with
        ``floor(v + 0.5)``; bit p = neighbour >= centre.
    blocks : int or (rows, cols)
        Exact partition of the H x W frame (``size // n`` per block, the last one taking the remainder); each
        block needs more than ``2 R`` pixels along each axis, and the clip more than ``2 R_T`` frames.
    mapping : {"u2", "riu2", None}
        Code-to-bin mapping of :func:`mefast.uniform_mapping`; None keeps the ``2**P`` codes.
    normalize : {"none", "per_block_plane"}
        Raw counts, or each (block, plane) histogram summing to 1.
    mode : {"paper"}
        The only definition.
    n_threads : int, optional
        Accepted for the common kernel interface; LBP-MOP's cost is one pass over the clip, run on one thread.
    {{device_numba}}

    Returns
    -------
    features : ndarray of shape (rows * cols * 3 * n_bins,), float32
        Blocks row-major (col fastest); per block the XY, XT and YT histograms (59 bins each for P=8, u2).

    {{raises_clip_blocks}}

    Examples
    --------
    >>> import numpy as np, mefast
    >>> clip = np.random.default_rng(0).integers(0, 256, (10, 64, 64), dtype=np.uint8)
    >>> mefast.lbp_mop(clip, blocks=(4, 4)).shape
    (2832,)
    """
    check_block_options(device, mode, normalize, "lbp_mop", "LBP-MOP")
    core_threads(n_threads)  # validated only (the rule and bound of every n_threads): one pass on one thread
    rx, ry, rt = _radius3(radius)
    p = check_int(points, "points")
    if not 3 <= p <= 16:
        raise ValueError(f"points must be in [3, 16], got {points!r}")
    if mapping is None:
        table, n_bins = np.arange(2**p, dtype=np.int64), 2**p
    else:
        from ._lbptop import uniform_mapping

        tab, n_bins = uniform_mapping(p, mapping)
        table = tab.astype(np.int64)
    rows, cols = check_grid(blocks)
    v = gray_clip(video)
    t, h, w = v.shape
    r_lo, r_hi = part_bounds(h, rows, "block rows")
    c_lo, c_hi = part_bounds(w, cols, "block columns")
    min_h, min_w = int((r_hi - r_lo).min()), int((c_hi - c_lo).min())
    if min_h <= 2 * ry or min_w <= 2 * rx or t <= 2 * rt:
        raise ShapeError(
            f"video of shape {v.shape} cut into {rows}x{cols} blocks ({min_h}x{min_w} pixels at least) has no "
            f"centre pixel for radius (R_X, R_Y, R_T)={(rx, ry, rt)}"
        )
    acc: type[np.number]
    if v.dtype == np.uint8:  # exact; int32 (twice the SIMD lanes) while no sum can overflow it
        acc = np.int32 if 255 * t * max(h, w) < 2**31 else np.int64
    else:  # float32 grey levels
        acc = np.float64
    xy = np.zeros((h, w), acc)
    xt = np.zeros((rows, t, w), acc)
    yt = np.zeros((cols, t, h), acc)
    _mop_sums(v, part_index(r_lo, r_hi), c_lo, c_hi, xy, xt, yt)
    hist = np.zeros((rows, cols, 3, n_bins), np.int64)
    o_xy, o_xt, o_yt = _offsets(p, rx, ry), _offsets(p, rx, rt), _offsets(p, ry, rt)
    for i in range(rows):
        for j in range(cols):
            a, b, c, d = int(r_lo[i]), int(r_hi[i]), int(c_lo[j]), int(c_hi[j])
            _lbp2d_hist(xy, a, b, c, d, ry, rx, *o_xy, table, hist[i, j, 0])
            _lbp2d_hist(xt[i], 0, t, c, d, rt, rx, *o_xt, table, hist[i, j, 1])
            _lbp2d_hist(yt[j], 0, t, a, b, rt, ry, *o_yt, table, hist[i, j, 2])
    return block_features(hist, normalize, (n_bins,))
