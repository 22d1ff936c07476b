"""LBP-TOP: local binary patterns on three orthogonal planes (Zhao & Pietikäinen, TPAMI 2007), in the C++ core.

Two modes share one kernel:

``mode="paper"``
    The clean definition. Sampling geometry of Zhao & Huang's original ``LBPTOP.m`` (``ordering="orig"``),
    rectangular (possibly overlapping) blocks in which every pixel counts once per block that contains it,
    equal time parts, each (block, plane) histogram normalised to sum 1.
``mode="reference"``  (``"meb"``, its old name, still works with a DeprecationWarning)
    Reproduces MEB's ``LBPTOP`` (tvaranka/meb, a port of Zhao's block code) bin for bin, quirks included: its
    plane geometry (``ordering="block"``), its rounding of absolute coordinates (see ``sampling``), its overlap
    arithmetic and two-block pixel membership (a pixel counts in its "cur" block and, if different, its "new"
    block, never in all blocks of a 4-way overlap), the missing clamp that makes ``overlap=0`` wrap new block -1
    onto the last block, its time partition (from the whole clip and the *spatial* border), the YT histogram
    indexed with the XT mapping table, raw counts.

See the shared spec ``specs/descriptors.md`` section 2 for the formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .._backend import kernels
from .._docs import fill_doc
from .._twins import options_of
from .._validation import (
    C_INT_MAX,
    C_INT_MIN,
    check_float32_range,
    check_int,
    check_mode,
    check_video,
    core_threads,
    to_gray,
)
from ._batch import clip_items

__all__ = ["lbp_top", "lbp_top_batch", "uniform_mapping"]

Mapping = Literal["u2", "riu2"] | None
_DEFAULT_NORMALIZE = {"paper": "per_block_plane", "meb": "none"}
_DEFAULT_ORDERING = {"paper": "orig", "meb": "block"}


def uniform_mapping(points: int, kind: Literal["u2", "riu2"] = "u2") -> tuple[NDArray[np.uint16], int]:
    """Code-to-bin table of the uniform LBP mappings (Ojala et al., TPAMI 2002).

    Parameters
    ----------
    points : int
        Number of neighbours P, 3 to 16.
    kind : {"u2", "riu2"}
        ``"u2"``: uniform codes (at most two circular 0/1 transitions) get bins 0, 1, 2, ... in increasing code
        order and every other code the last bin, P(P-1)+3 bins in all (59 for P=8); this is MATLAB's
        ``getmapping(P, 'u2')`` and MEB's ``get_mapping``. ``"riu2"``: rotation-invariant uniform, the number of
        ones for uniform codes and P+1 for the rest, P+2 bins (scikit-image's ``method="uniform"``).

    Returns
    -------
    table : ndarray of shape (2**points,), uint16
        ``table[code]`` is the bin of ``code``.
    n_bins : int

    Examples
    --------
    >>> import mefast
    >>> table, n_bins = mefast.uniform_mapping(8)
    >>> n_bins, int(table[0]), int(table[7]), int(table[255]), int(table[5])
    (59, 0, 6, 57, 58)
    """
    p = check_int(points, "points")
    if kind not in ("u2", "riu2"):
        raise ValueError(f"kind must be 'u2' or 'riu2', got {kind!r}")
    if not 3 <= p <= 16:
        raise ValueError(f"points must be in [3, 16], got {points!r}")
    table, n_bins = _core.lbp_mapping(p, kind)
    return table, int(n_bins)


@fill_doc
def lbp_top(
    video: ArrayLike,
    *,
    radius: int | tuple[int, int, int] = (3, 3, 3),
    points: int | tuple[int, int, int] = (8, 8, 8),
    blocks: int | tuple[int, int] = (8, 8),
    time_blocks: int = 1,
    overlap: float = 0.0,
    mapping: Mapping = "u2",
    sampling: Literal["rounded", "bilinear"] = "rounded",
    normalize: Literal["none", "per_block_plane", "per_plane", "global_l1"] | None = None,
    mode: Literal["paper", "reference"] = "paper",
    ordering: Literal["orig", "block"] | None = None,
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """LBP-TOP block histograms of a clip.

    One clip; its batch twin is :func:`lbp_top_batch` (many clips on a thread pool).

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        The clip, grey or RGB (converted with BT.601 luma weights). uint8 clips are used as they are; any
        other dtype is converted to float32 once (values closer than float32 resolution then tie; values
        beyond float32's range, +-3.4e38, are refused).
    radius : int or (R_X, R_Y, R_T)
        Sampling radii in pixels and frames (integers >= 1). Centre voxels keep a border of
        ``B = max(R_X, R_Y)`` pixels and ``R_T`` frames.
    points : int or (P_XY, P_XT, P_YT)
        Neighbours per plane, 3 to 16.
    blocks : int or (rows, cols)
        Spatial block grid over the centre pixels; each block needs at least one centre row and column.
    time_blocks : int
        Number of time parts over the ``Tc = T - 2 R_T`` centre frames. ``paper``: consecutive parts of
        ``Tc // time_blocks`` frames, the last one taking the remainder. ``reference``: MEB's partition, whose
        part length comes from the whole clip and the spatial border and whose parts share a frame.
    overlap : float
        Overlap ratio in [0, 1) of Zhao's block code: with ``n`` centre positions and ``k`` blocks along an
        axis, ``over = ceil((ceil(n/k) - 1) * overlap) - 1`` (clamped at 0 in ``paper`` mode), block size
        ``floor((n + over (k-1)) / k)``, step ``size - over``; the last block extends to the end.
    mapping : {"u2", "riu2", None}
        Code-to-bin mapping (see :func:`uniform_mapping`); None keeps the 2**P raw codes.
    sampling : {"rounded", "bilinear"}
        ``"rounded"``: neighbour offsets rounded to the nearest integer (``floor(v + 0.5)``), as every
        reference does by default; the features are then invariant to any strictly increasing grey-level
        transform. ``paper`` mode rounds each offset once; ``reference`` mode rounds the absolute coordinate as
        MEB does, ``floor(c + v + 0.5)`` in double with MEB's 1-based column and row and 0-based frame. The two
        differ only where an offset is a half-integer up to float noise (P = 6 or 12 with R = 1 or 3, e.g.
        ``3 cos 60° = 1.5000000000000004``): MEB's rounded offset then depends on the centre's position.
        ``"bilinear"`` (``paper`` mode only): neighbours interpolated bilinearly at their exact positions
        (rounded to 5 decimals, as scikit-image does), in double; exact ties count as 1.
    normalize : {"none", "per_block_plane", "per_plane", "global_l1"}, optional
        ``"none"``: raw counts. ``"per_block_plane"``: each (block, plane) histogram sums to 1.
        ``"per_plane"``: each plane's histograms, over all blocks, sum to 1. ``"global_l1"``: the whole vector
        sums to 1. Default: ``"per_block_plane"`` in ``paper`` mode, ``"none"`` (MEB) in ``reference`` mode.
    mode : {"paper", "reference"}
        See the module docstring. ``"reference"`` reproduces MEB's ``LBPTOP(video, 0, T-1, R_X, R_Y, R_T, points,
        R_T, B, rows, cols, overlap, time_blocks, "u2")`` with its frames on the first axis here. MEB's
        ``calculate_lbptop`` uses only frames 0-9 of each clip (TIM-expanded to 10 frames when shorter): pass
        ``video[:10]`` (or ``tim(video, 10)``) to reproduce its features.
    ordering : {"orig", "block"}, optional
        Sampling geometry of the XT and YT planes (spec 2.2). ``"orig"`` (Zhao & Huang's ``LBPTOP.m``): XT
        samples ``(x + R_X cos a, t + R_T sin a)``, YT samples ``(y - R_Y sin a, t + R_T cos a)``.
        ``"block"`` (Zhao's block code, MEB): XT ``(x + R_X cos a, t - R_T sin a)``, YT
        ``(y - R_X cos a, t - R_T sin a)``. The two give the same histograms up to a fixed bin permutation.
        Default: ``"orig"`` in ``paper`` mode, ``"block"`` in ``reference`` mode.
    n_threads : int, optional
        Threads over the frames, all cores if None. The kernel runs without the GIL.
    {{device_core}}

    Returns
    -------
    features : ndarray of shape (time_blocks * rows * cols * 3 * n_bins,), float32
        Block-major: blocks in order (time block, row, col) with col fastest; per block the XY, XT and YT
        histograms, each ``n_bins`` long, where ``n_bins`` is the largest bin count of the three planes'
        mappings (planes with fewer bins are zero-padded). Bit ``p`` of a code is 1 when neighbour ``p`` (at
        angle ``2 pi p / P``) is >= the centre.

    Raises
    ------
    ValueError
        A clip that is not (T, H, W) or (T, H, W, 3), holds NaN or infinity or values beyond float32's range,
        or is too small for the radius and the block grid; any invalid parameter (the message names it and
        its value).

    Examples
    --------
    >>> import numpy as np, mefast
    >>> clip = np.random.default_rng(0).integers(0, 256, (10, 64, 64), dtype=np.uint8)
    >>> f = mefast.lbp_top(clip, blocks=(4, 4))
    >>> f.shape, f.dtype
    ((2832,), dtype('float32'))
    >>> float(f[:59].sum())  # each (block, plane) histogram sums to 1
    1.0
    """
    params = _params(radius, points, blocks, time_blocks, overlap, mapping, sampling, normalize, mode, ordering)
    clip = _clip(video, "video")
    return _run([clip], params, n_threads, device)[0]


@options_of(lbp_top)
@fill_doc
def lbp_top_batch(
    videos: Sequence[ArrayLike] | ArrayLike, *, n_threads: int | None, device: str, **options: Any
) -> NDArray[np.float32]:
    """LBP-TOP of many clips at once, one clip per thread of a pool that runs without the GIL.

    Parameters
    ----------
    videos : sequence of array_like, or array_like of shape (N, T, H, W) or (N, T, H, W, 3)
        The clips; in a sequence they may differ in length and size.
    radius, points, blocks, time_blocks, overlap, mapping, sampling, normalize, mode, ordering
        As for :func:`lbp_top`.
    n_threads : int, optional
        Threads, all cores if None: one clip per thread when there are enough clips, else the frames of each
        clip are split among the threads.
    {{device_core}}

    Returns
    -------
    features : ndarray of shape (N, D), float32
        Row ``i`` equals ``lbp_top(videos[i], ...)``.

    Examples
    --------
    >>> import numpy as np, mefast
    >>> rng = np.random.default_rng(0)
    >>> clips = [rng.integers(0, 256, (t, 40, 48), dtype=np.uint8) for t in (8, 12, 20)]
    >>> mefast.lbp_top_batch(clips, blocks=(2, 2)).shape
    (3, 708)
    """
    params = _params(**options, stacklevel=5)  # frames: check_mode, _params, here, options_of's wrapper, the caller
    clips = [_clip(v, f"videos[{i}]") for i, v in enumerate(clip_items(videos))]
    if not clips:
        return np.zeros((0, int(_core.lbp_layout(params)["length"])), np.float32)  # validates params
    return _run(clips, params, n_threads, device)


# ---------------------------------------------------------------------------------------------------------


def _ints(value: Any, n: int, name: str) -> tuple[int, ...]:
    message = f"{name} must be an integer or a tuple of {n} integers in [{C_INT_MIN}, {C_INT_MAX}], got {value!r}"
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return (_c_int(value, name, message),) * n
    try:
        vals = tuple(value)
    except TypeError:
        raise ValueError(message) from None
    if len(vals) != n:
        raise ValueError(message)
    return tuple(_c_int(v, name, message) for v in vals)


def _c_int(value: Any, name: str, message: str) -> int:
    # The C int the core's struct holds (its setter's refusal names the struct, not the argument); the core's
    # validate then checks each value's meaning (R_X in [1, 64], ...).
    return check_int(value, name, minimum=C_INT_MIN, maximum=C_INT_MAX, message=message)


def _params(
    radius: Any,
    points: Any,
    blocks: Any,
    time_blocks: Any,
    overlap: Any,
    mapping: Any,
    sampling: Any,
    normalize: Any,
    mode: Any,
    ordering: Any,
    *,
    stacklevel: int = 4,
) -> _core.LBPTOPParams:
    """The C++ core's parameter struct: arguments converted here, the rules checked by its ``validate``."""
    p = _core.LBPTOPParams()
    # First: the defaults below depend on it. The core calls the reference mode by its old name, "meb".
    p.mode = "meb" if check_mode(mode, stacklevel=stacklevel) == "reference" else "paper"
    p.radius = _ints(radius, 3, "radius")
    p.points = _ints(points, 3, "points")
    p.blocks = _ints(blocks, 2, "blocks")
    p.time_blocks = _c_int(
        time_blocks, "time_blocks", f"time_blocks must be an integer in [{C_INT_MIN}, {C_INT_MAX}], got {time_blocks!r}"
    )
    try:
        p.overlap = float(overlap)
    except (TypeError, ValueError):
        raise ValueError(f"overlap must be a number in [0, 1), got {overlap!r}") from None
    p.mapping = "none" if mapping is None else mapping
    p.sampling = sampling
    p.normalize = _DEFAULT_NORMALIZE[p.mode] if normalize is None else normalize
    p.ordering = _DEFAULT_ORDERING[p.mode] if ordering is None else ordering
    p.validate()
    return p


def _clip(video: ArrayLike, name: str) -> np.ndarray:
    arr = check_video(video, name)
    check_float32_range(arr, name)  # the float kernels read float32: a larger value would become inf
    if arr.ndim == 4:
        arr = to_gray(arr, name, channel_axis_ndim=3)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    return np.ascontiguousarray(arr, dtype=np.float32)


def _run(
    clips: list[np.ndarray], params: _core.LBPTOPParams, n_threads: int | None, device: str
) -> NDArray[np.float32]:
    return kernels(device).lbp_top(clips, params, core_threads(n_threads))
