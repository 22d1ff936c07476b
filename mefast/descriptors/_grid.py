"""Block grids shared by the LBP-SIP, LBP-MOP, 3DHOG, HIGO and HOOF kernels: an exact partition of positions.

``n`` positions cut into ``k`` parts: part ``b`` is ``[b * s, (b + 1) * s)`` with ``s = n // k`` and the last part
takes the remainder (the paper-mode partition of Bi-WOOF and LBP-TOP with ``overlap=0``). Also what those
descriptors share around their Numba kernels: the checks of their common options, the grey clip, the grid of a
clip's centre voxels with its frames cut among threads, the runner of kernel parts and the per-plane
normalisation of the histograms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._backend import require_cpu
from .._validation import check_float32_range, check_int, check_paper_only, check_video, to_gray
from ..errors import ShapeError
from ._numba import n_threads_for

__all__ = [
    "CentreGrid",
    "block_features",
    "centre_grid",
    "check_bins",
    "check_block_options",
    "check_grid",
    "gray_clip",
    "part_bounds",
    "part_index",
    "part_of",
    "run_parts",
]

NORMALIZE = ("none", "per_block_plane")
#: Most orientation bins a histogram descriptor takes: a tenth of a degree each. Far beyond any use, and it keeps a
#: mistyped count from allocating its output (bins=2**31 had Bi-WOOF killed for memory).
MAX_BINS = 3600


def check_bins(bins: object) -> int:
    """The orientation bin count ``bins`` as an int in [2, :data:`MAX_BINS`], raising ``ValueError`` naming it."""
    n = check_int(bins, "bins", minimum=2)
    if n > MAX_BINS:
        raise ValueError(f"bins must be at most {MAX_BINS} (a tenth of a degree each), got {n}")
    return n


def check_grid(blocks: object, name: str = "blocks") -> tuple[int, int]:
    """``blocks`` (an int or a pair) as ``(rows, cols)``, raising ``ValueError`` naming it."""
    msg = f"{name} must be a positive integer or a pair (rows, cols) of them, got {blocks!r}"
    try:
        pair = (blocks, blocks) if isinstance(blocks, int | np.integer) else tuple(blocks)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(msg) from None
    if len(pair) != 2:
        raise ValueError(msg)
    rows, cols = (check_int(b, name, minimum=1, message=msg) for b in pair)
    return rows, cols


def part_bounds(n: int, k: int, what: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Half-open ``(lo, hi)`` of each of ``k`` parts of ``n`` positions."""
    if k > n:
        raise ShapeError(f"{k} {what} need at least {k} positions, got {n}")
    s = n // k
    lo = np.arange(k, dtype=np.int64) * s
    hi = lo + s
    hi[-1] = n
    return lo, hi


def part_index(lo: NDArray[np.int64], hi: NDArray[np.int64]) -> NDArray[np.int64]:
    """Part index of each position covered by the consecutive half-open parts ``[lo[b], hi[b])``."""
    return np.repeat(np.arange(len(lo), dtype=np.int64), hi - lo)


def part_of(n: int, k: int, what: str) -> NDArray[np.int64]:
    """Part index of each of ``n`` positions cut into ``k`` parts; raises if a part would be empty."""
    return part_index(*part_bounds(n, k, what))


def check_block_options(device: str, mode: object, normalize: object, name: str, label: str) -> None:
    """The checks every descriptor of this family makes first: a CPU device, the paper mode, ``normalize``.

    ``name`` (the function) is named by a refused device, ``label`` (the descriptor) by a refused mode.
    """
    require_cpu(device, name)
    check_paper_only(mode, label)
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")


def gray_clip(video: ArrayLike) -> np.ndarray:
    """``(T, H, W)`` grey clip: uint8 kept, anything else float32 (RGB via BT.601 luma).

    A finite clip with values beyond float32's range (float64 above 3.4e38) raises ``ShapeError``: cast, they
    would be infinite, and the kernels' gradients NaN.
    """
    arr = check_video(video, "video")
    check_float32_range(arr, "video")
    gray = to_gray(arr, "video", channel_axis_ndim=3)
    if gray.dtype == np.uint8:
        return np.ascontiguousarray(gray)
    return np.ascontiguousarray(gray, dtype=np.float32)


def run_parts(kernel: Callable[..., object], calls: Sequence[tuple[Any, ...]]) -> None:
    """``kernel(*args)`` for each ``args`` of ``calls``: inline for one, else one thread each (kernels without GIL)."""
    if len(calls) == 1:
        kernel(*calls[0])
        return
    with ThreadPoolExecutor(len(calls)) as pool:
        for job in [pool.submit(kernel, *args) for args in calls]:
            job.result()


@dataclass(frozen=True)
class CentreGrid:
    """A grey clip's centre voxels (at least ``R_X`` columns, ``R_Y`` rows, ``R_T`` frames from its edges) in blocks.

    ``row_of[y - R_Y]`` is the block row of centre row ``y``, ``[col_lo[c], col_hi[c])`` the centre columns (from 0)
    of block column ``c``, ``tb_of[t - R_T]`` the time block of centre frame ``t``; ``frames`` the thread parts
    ``[t0, t1)`` of the centre frames, in frame indices.
    """

    clip: np.ndarray
    shape: tuple[int, int, int]
    row_of: NDArray[np.int64]
    col_lo: NDArray[np.int64]
    col_hi: NDArray[np.int64]
    tb_of: NDArray[np.int64]
    frames: list[tuple[int, int]]

    def run(self, kernel: Callable[..., object], before: tuple[Any, ...], after: tuple[Any, ...], outs: Any) -> None:
        """``kernel(*before, t0, t1, row_of, col_lo, col_hi, tb_of, *after, outs[k])`` for thread part ``k``."""
        grid = (self.row_of, self.col_lo, self.col_hi, self.tb_of)
        run_parts(kernel, [(*before, t0, t1, *grid, *after, outs[k]) for k, (t0, t1) in enumerate(self.frames)])


def centre_grid(
    video: ArrayLike,
    blocks: object,
    time_blocks: object,
    radius: tuple[int, int, int],
    n_threads: int | None,
    lacking: str,
) -> CentreGrid:
    """Check ``blocks`` and ``time_blocks``, read the clip and lay the block grid over its centre voxels.

    ``radius`` is ``(R_X, R_Y, R_T)``; a clip without centre voxel raises ``ShapeError`` "video of shape ... has
    no {lacking}", a grid with more blocks than centre positions ``ShapeError`` naming the axis.
    """
    rx, ry, rt = radius
    rows, cols = check_grid(blocks)
    tbs = check_int(time_blocks, "time_blocks", minimum=1)
    v = gray_clip(video)
    t, h, w = v.shape
    if t <= 2 * rt or h <= 2 * ry or w <= 2 * rx:
        raise ShapeError(f"video of shape {v.shape} has no {lacking}")
    row_of = part_of(h - 2 * ry, rows, "block rows")
    col_lo, col_hi = part_bounds(w - 2 * rx, cols, "block columns")
    tb_of = part_of(t - 2 * rt, tbs, "time blocks")
    threads = n_threads_for(n_threads, t - 2 * rt)
    lo, hi = part_bounds(t - 2 * rt, threads, "thread parts")
    frames = [(rt + int(a), rt + int(b)) for a, b in zip(lo, hi, strict=True)]
    return CentreGrid(v, (tbs, rows, cols), row_of, col_lo, col_hi, tb_of, frames)


def block_features(hist: NDArray[Any], normalize: str, sizes: tuple[int, ...]) -> NDArray[np.float32]:
    """Block histograms as the flat float32 feature.

    With ``normalize="per_block_plane"`` each consecutive plane segment (``sizes``) of the last axis sums to 1;
    zeros stay zeros.
    """
    out = hist.astype(np.float64)
    if normalize == "per_block_plane":
        start = 0
        for n in sizes:
            seg = out[..., start : start + n]
            total = seg.sum(-1, keepdims=True)
            np.divide(seg, total, out=seg, where=total > 0)
            start += n
    return out.astype(np.float32).reshape(-1)
