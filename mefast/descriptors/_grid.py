"""Block grids shared by the LBP-SIP, LBP-MOP, 3DHOG and HIGO kernels: an exact partition of positions.

``n`` positions cut into ``k`` parts: part ``b`` is ``[b * s, (b + 1) * s)`` with ``s = n // k`` and the last part
takes the remainder (the paper-mode partition of Bi-WOOF and LBP-TOP with ``overlap=0``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .._validation import check_int
from ..errors import ShapeError

__all__ = ["check_grid", "part_of", "part_bounds"]


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


def part_of(n: int, k: int, what: str) -> NDArray[np.int64]:
    """Part index of each of ``n`` positions cut into ``k`` parts; raises if a part would be empty."""
    if k > n:
        raise ShapeError(f"{k} {what} need at least {k} positions, got {n}")
    s = n // k
    return np.minimum(np.arange(n) // s, k - 1).astype(np.int64)


def part_bounds(n: int, k: int, what: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Half-open ``(lo, hi)`` of each of ``k`` parts of ``n`` positions."""
    if k > n:
        raise ShapeError(f"{k} {what} need at least {k} positions, got {n}")
    s = n // k
    lo = np.arange(k, dtype=np.int64) * s
    hi = lo + s
    hi[-1] = n
    return lo, hi
