"""Shape, dtype and value checks shared by the public wrappers.

Each check raises :class:`mefast.errors.ShapeError` (a ``ValueError``) with the argument's name and the
offending shape, dtype or value, then returns the array converted once to the dtype the kernel expects.
"""

from __future__ import annotations

import operator
import os
import warnings
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ShapeError

__all__ = [
    "DELTA_PER_IOD",
    "as_gray_float",
    "check_bool",
    "check_finite",
    "check_float32_range",
    "check_flow",
    "check_int",
    "check_landmarks",
    "check_mode",
    "check_paper_only",
    "check_numeric",
    "check_size",
    "check_uint8_video",
    "check_video",
    "core_threads",
    "is_numeric_dtype",
    "to_gray",
]

# ITU-R BT.601 luma weights, as cv2.cvtColor(RGB2GRAY).
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def is_numeric_dtype(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is an integer or floating-point dtype (bool is not numeric here)."""
    return dtype != np.bool_ and (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))


def check_numeric(x: ArrayLike, name: str, *, what: str = "an integer or floating-point array") -> np.ndarray:
    """``x`` as an ndarray, raising :class:`ShapeError` ("``name`` must be ``what``, got dtype ...") unless numeric."""
    arr = np.asarray(x)
    if not is_numeric_dtype(arr.dtype):
        raise ShapeError(f"{name} must be {what}, got dtype {arr.dtype}")
    return arr


#: Largest value of a C ``int``, the type of the C++ core's counts and sizes.
C_INT_MAX = 2**31 - 1
#: Smallest value of a C ``int``.
C_INT_MIN = -(2**31)


def check_int(
    value: object,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    message: str | None = None,
    error: type[Exception] = ValueError,
) -> int:
    """Validate an integer argument and return it as ``int``.

    Python and NumPy integers (anything with ``__index__``) are accepted; bools, floats (even ``3.0``),
    strings and None are not.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the message.
    minimum : int, optional
        The smallest value allowed.
    maximum : int, optional
        The largest value allowed (``C_INT_MAX`` for a count the C++ core takes as a C ``int``).
    message : str, optional
        The message of the error; default ``"<name> must be an integer[ in [minimum, maximum]], got <value>"``
        (or ``>= minimum``, ``<= maximum`` with one bound).
    error : type of Exception
        What to raise (``ValueError``, or ``TypeError`` where a wrong type is a type error).
    """
    if message is None:
        if minimum is not None and maximum is not None:
            bound = f" in [{minimum}, {maximum}]"
        elif minimum is not None:
            bound = f" >= {minimum}"
        else:
            bound = f" <= {maximum}" if maximum is not None else ""
        message = f"{name} must be an integer{bound}, got {value!r}"
    if isinstance(value, bool | np.bool_):
        raise error(message)
    try:
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise error(message) from None
    if (minimum is not None and n < minimum) or (maximum is not None and n > maximum):
        raise error(message)
    return n


def check_bool(value: object, name: str) -> bool:
    """``value`` as ``bool``, raising ``ValueError`` ("``name`` must be True or False, got ...") unless it is one.

    Python and NumPy bools only: a flag given as ``"no"``, ``1`` or ``None`` would otherwise choose a branch by
    its truthiness without a word.
    """
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_size(size: object, name: str = "size", *, minimum: int = 1) -> tuple[int, int]:
    """Parse an image size ``(H, W)`` of two integers, each at least ``minimum``, into a tuple of ints."""
    try:
        h, w = (check_int(v, name) for v in size)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (height, width), got {size!r}") from None
    if h < minimum or w < minimum:
        if minimum == 1:
            raise ValueError(f"{name} must be two positive integers (height, width), got {size!r}")
        raise ValueError(f"{name} must be at least ({minimum}, {minimum}), got {size!r}")
    return h, w


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds NaN or infinity, naming the first bad index."""
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ShapeError(f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in bad)})")


def check_float32_range(arr: np.ndarray, name: str) -> None:
    """Raise :class:`ShapeError` when ``arr`` holds a value that float32 cannot hold (it would become infinite).

    The range check of the inputs that float32 kernels read: a finite float64 beyond +-3.4e38 turns into
    infinity when cast, and the kernels into NaN bins or infinite output. Only floating dtypes wider than
    float32 can fail (float16 and integers up to 64 bits fit). ``arr`` must be finite (checked before: NaN
    would read as out of range); nothing is converted or copied.
    """
    if arr.dtype.kind != "f" or arr.dtype.itemsize <= 4 or arr.size == 0:
        return
    big = max(float(arr.max()), -float(arr.min()))
    with np.errstate(over="ignore"):
        fits = bool(np.isfinite(np.float32(big)))  # rounds as the cast does: up to float32's max is kept
    if not fits:
        raise ShapeError(f"{name} holds values beyond the float32 range (largest magnitude {big:g})")


def to_gray(arr: np.ndarray, name: str, *, channel_axis_ndim: int) -> np.ndarray:
    """Convert ``(..., H, W, 3)`` RGB to grey with BT.601 luma weights; pass grey arrays through."""
    if arr.ndim == channel_axis_ndim + 1:
        if arr.shape[-1] != 3:
            raise ShapeError(f"{name} with {arr.ndim} dimensions must be RGB (last axis 3), got shape {arr.shape}")
        return np.tensordot(arr.astype(np.float32, copy=False), _LUMA, axes=([-1], [0]))
    if arr.ndim != channel_axis_ndim:
        raise ShapeError(
            f"{name} must have {channel_axis_ndim} dimensions (grey) or {channel_axis_ndim + 1} (RGB), "
            f"got shape {arr.shape}"
        )
    return arr


def as_gray_float(x: ArrayLike, name: str, *, ndim: int, scale_float: bool = True) -> NDArray[np.float32]:
    """Validate an image (``ndim=2``) or video (``ndim=3``), grey or RGB, and return grey float32 in [0, 255].

    uint8 and other integer input is taken as grey levels. Floating input is taken to lie in [0, 1] and is
    multiplied by 255 when ``scale_float`` (OpenCV's DualTVL1 convention, which keeps ``lambda`` meaningful).
    """
    arr = check_numeric(x, name)
    check_finite(arr, name)
    is_float = np.issubdtype(arr.dtype, np.floating)
    gray = to_gray(arr, name, channel_axis_ndim=ndim)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(gray, dtype=np.float32)
        if is_float and scale_float:
            out = out * np.float32(255.0)
    if not np.isfinite(out).all():  # finite input, but beyond float32 once converted (and scaled)
        bad = np.argwhere(~np.isfinite(out))[0]
        raise ShapeError(
            f"{name} has values too large for float32 grey levels (first at index {tuple(int(i) for i in bad)})"
        )
    return out


def check_video(x: ArrayLike, name: str = "video", *, min_frames: int = 1) -> np.ndarray:
    """Validate a ``(T, H, W)`` or ``(T, H, W, 3)`` video and return it as a numeric ndarray."""
    arr = check_numeric(x, name)
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        raise ShapeError(f"{name} must have shape (T, H, W) or (T, H, W, 3), got shape {arr.shape}")
    if arr.shape[0] < min_frames:
        raise ShapeError(f"{name} needs at least {min_frames} frames, got {arr.shape[0]} (shape {arr.shape})")
    check_finite(arr, name)
    return arr


def check_uint8_video(x: ArrayLike, name: str = "video") -> NDArray[np.uint8]:
    """Validate a ``(T, H, W)`` or ``(T, H, W, 3)`` video of grey levels and return it as uint8.

    uint8 passes unchanged. Other integer dtypes are grey levels and must lie in 0..255. Floating input follows
    the project's convention for float images: finite values in [0, 1] (interpolation overshoot clipped),
    scaled by 255 and rounded.

    Parameters
    ----------
    x : array_like
        The frames, channels last.
    name : str
        What the messages call it (``"sample casme2/01/EP01_03: the clip read_frames returned"``).

    Returns
    -------
    ndarray of shape (T, H, W) or (T, H, W, 3), uint8

    Raises
    ------
    ShapeError
        Another dtype (bool, complex, object), another shape (channels first, RGBA, no frame or pixel), NaN or
        infinity, or values outside 0..255 (integers) or not on the [0, 1] scale (floats:
        :func:`check_unit_range`; overshoot within its slack is clipped); the message names ``name`` and what
        was found.
    """
    arr = np.asarray(x)
    if not is_numeric_dtype(arr.dtype):
        raise ShapeError(f"{name} must be uint8 grey levels (0-255) or float in [0, 1], got dtype {arr.dtype}")
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        first = arr.ndim == 4 and arr.shape[1] in (1, 3, 4)
        hint = "; channels first? they must be the last axis" if first else ""
        raise ShapeError(f"{name} must have shape (T, H, W) or (T, H, W, 3), got shape {arr.shape}{hint}")
    if min(arr.shape[:3]) < 1:
        raise ShapeError(f"{name} must hold at least one frame of 1 x 1 pixels, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    check_finite(arr, name)
    if np.issubdtype(arr.dtype, np.integer):
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi > 255:
            raise ShapeError(f"{name} holds values {lo}..{hi} ({arr.dtype}); integer frames are grey levels 0..255")
        return arr.astype(np.uint8)
    if check_unit_range(arr, name):
        arr = np.clip(arr, 0, 1)  # interpolation overshoot
    return np.rint(arr * np.float32(255)).astype(np.uint8)


#: How far float frames may stray outside [0, 1] and still count as on that scale: what interpolation overshoots
#: by (a bicubic resize of a face clip reaches -0.33..1.38). Beyond it, they are taken for grey levels on another
#: scale (0..255 as floats) and refused: they would come back saturated.
UNIT_RANGE_SLACK = 0.5


def check_unit_range(arr: np.ndarray, name: str) -> bool:
    """Check that finite float frames are on the [0, 1] scale; return whether any value lies outside [0, 1].

    Values up to :data:`UNIT_RANGE_SLACK` outside are accepted (the caller clips them, or its output is clipped);
    further out, :class:`ShapeError` names ``name``, the range found and what to pass instead.
    """
    if arr.size == 0:
        return False
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -UNIT_RANGE_SLACK or hi > 1 + UNIT_RANGE_SLACK:
        raise ShapeError(
            f"{name} holds values in [{lo:.6g}, {hi:.6g}] ({arr.dtype}); float frames must lie in [0, 1] "
            f"(up to {UNIT_RANGE_SLACK:g} outside it, interpolation overshoot, is clipped; pass uint8 for grey "
            "levels 0..255, or divide by 255)"
        )
    return lo < 0 or hi > 1


def check_flow(x: ArrayLike, name: str = "flow", *, min_ndim: int = 3) -> NDArray[np.float32]:
    """Validate a ``(..., H, W, 2)`` flow and return it as C-contiguous float32."""
    arr = check_numeric(x, name)
    if arr.ndim < min_ndim or arr.shape[-1] != 2:
        raise ShapeError(f"{name} must have shape (..., H, W, 2), got shape {arr.shape}")
    check_finite(arr, name)
    check_float32_range(arr, name)
    return np.ascontiguousarray(arr, dtype=np.float32)


#: Most threads a caller may ask for (or the CPU count, where that is more): far beyond any useful count, and
#: within the C int the core takes (2**31 there was a 1,100-4,700-character pybind11 TypeError).
_MAX_THREADS = 1024


def core_threads(n_threads: object) -> int:
    """Validate a user thread count and return it, or 0 (the core's "all cores") for None.

    Integers from 1 to 1024 (or to the CPU count, where that is more) are accepted; bools, floats, larger
    counts and anything else raise ``ValueError``. Counts above the CPU count are kept (the kernels start at
    most one thread per work item).
    """
    if n_threads is None:
        return 0
    msg = f"n_threads must be a positive integer or None (all cores), got {n_threads!r}"
    n = check_int(n_threads, "n_threads", minimum=1, message=msg)
    limit = max(_MAX_THREADS, os.cpu_count() or 1)
    if n > limit:
        raise ValueError(f"n_threads must be at most {limit} (or None: all cores), got {n_threads!r}")
    return n


#: Fraction of the inter-ocular distance (between the eye centres) used as the default height ``delta`` of
#: the forehead regions. MEB's fixed 20 px corresponds to about 0.45 of the inter-ocular distance of its
#: 112x112 face crops, so this keeps MEB's geometry at any resolution.
DELTA_PER_IOD = 0.45


def check_landmarks(
    landmarks: ArrayLike, name: str = "landmarks", *, image_shape: tuple[int, int] | None = None
) -> NDArray[np.float64]:
    """Validate 68 ``(x, y)`` landmarks and return them as a float64 ``(68, 2)`` array.

    Parameters
    ----------
    landmarks : array_like of shape (68, 2)
        iBUG 68-point landmarks, ``(x, y)`` in pixels.
    name : str
        Name used in error messages.
    image_shape : tuple of int, optional
        ``(H, W)``; when given, every landmark must lie inside the image, ``0 <= x <= W-1`` and
        ``0 <= y <= H-1``.

    Raises
    ------
    ShapeError
        Wrong shape or dtype, NaN or infinite values, or a landmark outside the image.
    """
    arr = check_numeric(landmarks, name, what="a numeric array of shape (68, 2)")
    if arr.shape != (68, 2):
        raise ShapeError(f"{name} must have shape (68, 2) (iBUG 68 points, (x, y) in pixels), got {arr.shape}")
    pts = arr.astype(np.float64)
    if not np.isfinite(pts).all():
        bad = int(np.argwhere(~np.isfinite(pts))[0, 0])
        raise ShapeError(f"{name} contains NaN or infinity (first at landmark {bad}: {tuple(pts[bad])})")
    if image_shape is not None:
        h, w = image_shape
        outside = (pts[:, 0] < 0) | (pts[:, 0] > w - 1) | (pts[:, 1] < 0) | (pts[:, 1] > h - 1)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise ShapeError(
                f"{name}: {int(outside.sum())} landmark(s) lie outside the {h}x{w} image, first landmark {i} "
                f"at (x, y) = ({pts[i, 0]:.2f}, {pts[i, 1]:.2f})"
            )
    return pts


#: The descriptor modes: the clean definition, and the reproduction of the reference code bin for bin.
MODES: tuple[str, ...] = ("paper", "reference")
#: The type of a validated descriptor mode (what :func:`check_mode` returns).
Mode = Literal["paper", "reference"]
#: Old names of ``"reference"``, accepted with a DeprecationWarning.
_OLD_MODE_NAMES: frozenset[str] = frozenset({"meb"})


def check_paper_only(mode: object, what: str) -> None:
    """Raise ``ValueError`` unless ``mode`` is ``"paper"``.

    ``"paper"`` is the only mode of a descriptor (``what``, named in the message) with no public reference
    implementation to reproduce.
    """
    if mode != "paper":
        raise ValueError(f"mode must be 'paper' ({what} has no reference implementation), got {mode!r}")


def check_mode(mode: object, name: str = "mode", *, stacklevel: int = 3) -> Mode:
    """Validate a descriptor mode: ``"paper"`` or ``"reference"`` (reproduce the reference code bin for bin).

    ``"meb"``, the old name of ``"reference"`` in :func:`mefast.lbp_top` and :func:`mefast.mdmo`, is accepted
    with a ``DeprecationWarning`` and gives the same output. ``stacklevel`` points the warning at the caller of
    the public function (3 when that function calls this directly).
    """
    if isinstance(mode, str) and mode in _OLD_MODE_NAMES:
        warnings.warn(
            f"{name}={mode!r} is deprecated; use {name}='reference' (the same output)",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        return "reference"
    if mode not in MODES:
        raise ValueError(f"{name} must be one of {MODES}, got {mode!r}")
    return "paper" if mode == "paper" else "reference"
