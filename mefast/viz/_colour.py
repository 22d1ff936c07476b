"""Flow, strain and heat-map colour coding: numpy in, ``uint8`` RGB out, no matplotlib.

The Middlebury coding follows Baker et al., "A Database and Evaluation Methodology for Optical Flow" (IJCV
2011), and the colour wheel of their ``colorcode.cpp``: 55 hues in six ramps (red-yellow 15, yellow-green 6,
green-cyan 4, cyan-blue 11, blue-magenta 13, magenta-red 6), chosen so that perceptually different directions
get about the same share of the circle. Direction selects the hue, magnitude / ``max_magnitude`` the
saturation (zero motion is white), and vectors longer than ``max_magnitude`` are darkened to 75 %.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError

__all__ = [
    "MIDDLEBURY_HUES",
    "colour_wheel",
    "flow_legend",
    "flow_to_rgb",
    "heat_to_rgb",
    "overlay_heatmap",
    "strain_to_rgb",
    "to_rgb_image",
]

#: Lengths of the six ramps of the Middlebury wheel: RY, YG, GC, CB, BM, MR.
_RAMPS = (15, 6, 4, 11, 13, 6)

#: Where the four axis directions and the four diagonals land on the Middlebury wheel (image coordinates,
#: v pointing down), as wheel position in [0, 55) and the hue (degrees, HSV) of the resulting RGB colour at full
#: saturation. Right is red, down orange-yellow, left cyan, up blue-violet.
MIDDLEBURY_HUES: dict[str, tuple[float, float]] = {
    "right": (0.0, 0.0),
    "right-down": (6.75, 27.0),
    "down": (13.5, 54.0),
    "left-down": (20.25, 112.4),
    "left": (27.0, 190.8),
    "left-up": (33.75, 227.6),
    "up": (40.5, 260.7),
    "right-up": (47.25, 291.8),
}

_SUBSTEPS = 256  # lookup-table entries per wheel step: interpolation error below 0.25 of a uint8 level


def colour_wheel() -> NDArray[np.float32]:
    """The 55 colours of the Middlebury wheel, ``(55, 3)`` float32 RGB in [0, 255].

    Returns
    -------
    ndarray of shape (55, 3), float32
        Row ``k`` is the colour at angle ``k / 55`` of the full circle, starting from pure red (rightward
        motion) and turning through yellow (down), cyan (left) and blue (up).
    """
    rows: list[tuple[float, float, float]] = []
    ry, yg, gc, cb, bm, mr = _RAMPS
    rows += [(255.0, np.floor(255 * i / ry), 0.0) for i in range(ry)]
    rows += [(255.0 - np.floor(255 * i / yg), 255.0, 0.0) for i in range(yg)]
    rows += [(0.0, 255.0, np.floor(255 * i / gc)) for i in range(gc)]
    rows += [(0.0, 255.0 - np.floor(255 * i / cb), 255.0) for i in range(cb)]
    rows += [(np.floor(255 * i / bm), 0.0, 255.0) for i in range(bm)]
    rows += [(255.0, 0.0, 255.0 - np.floor(255 * i / mr)) for i in range(mr)]
    return np.asarray(rows, dtype=np.float32)


def _wheel_table() -> NDArray[np.float32]:
    """The wheel linearly interpolated at ``_SUBSTEPS`` points per step, in [0, 1], last entry = first."""
    wheel = colour_wheel() / 255.0
    n = len(wheel)
    pos = np.arange(n * _SUBSTEPS + 1, dtype=np.float64) / _SUBSTEPS
    k0 = np.floor(pos).astype(np.int64) % n
    k1 = (k0 + 1) % n
    f = (pos - np.floor(pos))[:, None]
    return np.ascontiguousarray(((1 - f) * wheel[k0] + f * wheel[k1]).astype(np.float32))


_TABLE = _wheel_table()
_COMPLEMENT = np.ascontiguousarray((np.float32(255.0) * (1 - _TABLE)).T)  # (3, n): planes


def _as_flow(flow: ArrayLike, name: str = "flow") -> NDArray[np.float32]:
    """``(H, W, 2)`` float32 from ``(H, W, 2)`` or the store's channels-first ``(2, H, W)``."""
    f = np.asarray(flow)
    if f.ndim == 3 and f.shape[-1] != 2 and f.shape[0] == 2:
        f = np.moveaxis(f, 0, -1)
    if f.ndim != 3 or f.shape[-1] != 2:
        raise ShapeError(f"{name} must have shape (H, W, 2) or (2, H, W), got {f.shape}")
    if not np.issubdtype(f.dtype, np.number) or np.issubdtype(f.dtype, np.complexfloating):
        raise ShapeError(f"{name} must be real numbers, got dtype {f.dtype}")
    return f.astype(np.float32, copy=False)


def _check_max(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number or None, got {value!r}")
    return v


def flow_to_rgb(
    flow: ArrayLike,
    max_magnitude: float | None = None,
    coding: Literal["middlebury", "hsv"] = "middlebury",
) -> NDArray[np.uint8]:
    """Colour-code a flow field: direction as hue, magnitude as saturation (Middlebury) or value (HSV).

    Parameters
    ----------
    flow : array_like of shape (H, W, 2) or (2, H, W)
        Flow in pixels, channel 0 = u (right), 1 = v (down); the store's channels-first layout is accepted.
    max_magnitude : float, optional
        Magnitude shown at full saturation. Default: the image's largest finite magnitude (per-image
        scaling); give a fixed value to compare several images. In the Middlebury coding, longer vectors are
        darkened to 75 % of their full-saturation colour.
    coding : {"middlebury", "hsv"}
        ``middlebury``: the colour wheel of Baker et al. (see :data:`MIDDLEBURY_HUES`), zero motion white.
        ``hsv``: OpenCV's tutorial coding, hue = the angle of (u, v) clockwise from +x in the image (0 deg
        red = right, 90 deg = down), full saturation, value = magnitude / ``max_magnitude`` (zero motion
        black).

    Returns
    -------
    ndarray of shape (H, W, 3), uint8
        RGB. Pixels with a non-finite u or v are black.

    Examples
    --------
    >>> import numpy as np
    >>> right = np.zeros((1, 2, 2), np.float32); right[0, 1, 0] = 1.0
    >>> flow_to_rgb(right).tolist()
    [[[255, 255, 255], [255, 0, 0]]]
    """
    f = _as_flow(flow)
    mmax = _check_max(max_magnitude, "max_magnitude")
    if coding not in ("middlebury", "hsv"):
        raise ValueError(f"coding must be 'middlebury' or 'hsv', got {coding!r}")
    u, v = np.ascontiguousarray(f[..., 0]), np.ascontiguousarray(f[..., 1])  # strided views are 2x slower
    rad = u * u
    rad += v * v
    np.sqrt(rad, out=rad)
    all_finite = bool(np.isfinite(rad.max())) if rad.size else True  # NaN and inf reach the max
    if not all_finite:
        finite = np.isfinite(rad)
        u, v = np.where(finite, u, np.float32(0)), np.where(finite, v, np.float32(0))
        rad = np.where(finite, rad, np.float32(0))
    per_image = mmax is None
    if mmax is None:
        mmax = float(rad.max()) if rad.size else 0.0
    scale = np.float32(1.0 / mmax) if mmax > 0 else np.float32(0.0)
    rad *= scale
    if per_image:  # the longest vector is on the rim, not past it by a rounding error
        np.minimum(rad, np.float32(1.0), out=rad)
    if coding == "hsv":
        out = _hsv_coding(u, v, rad)
    else:
        out = _middlebury_coding(u, v, rad)
    if not all_finite:
        out[~finite] = 0
    return out


def _middlebury_coding(u: NDArray[np.float32], v: NDArray[np.float32], rad: NDArray[np.float32]) -> NDArray[np.uint8]:
    n = sum(_RAMPS)
    # Angle of (-u, -v) in [-pi, pi] mapped to [0, n - 1] as in colorcode.cpp: rightward motion at 0 (red).
    pos = np.arctan2(-v, -u)
    pos += np.float32(np.pi)
    pos *= np.float32((n - 1) / (2 * np.pi) * _SUBSTEPS)
    idx = pos.astype(np.int32)
    out = np.empty((*u.shape, 3), np.uint8)
    tmp = np.empty(u.shape, np.float32)
    # One channel at a time on contiguous planes (5x faster than on the interleaved (H, W, 3) array).
    # Inside the unit circle the saturation grows with the radius: 255 - r * (255 - colour), white at r = 0.
    for c in range(3):
        np.take(_COMPLEMENT[c], idx, out=tmp, mode="clip")
        tmp *= rad
        np.subtract(np.float32(255.0), tmp, out=out[..., c], casting="unsafe")  # truncates, as colorcode.cpp
    outside = rad > 1
    if outside.any():  # beyond max_magnitude: the full colour at 75 %
        full = np.take(_TABLE, np.clip(idx[outside], 0, len(_TABLE) - 1), axis=0)
        out[outside] = full * np.float32(0.75 * 255.0)
    return out


def _hsv_table() -> NDArray[np.float32]:
    """Full-saturation RGB in [0, 1] at ``_SUBSTEPS`` points per hue sector, ``(3, 6 * _SUBSTEPS + 1)``."""
    h = np.arange(6 * _SUBSTEPS + 1, dtype=np.float64) / _SUBSTEPS  # hue in sectors of 60 degrees
    # Each channel is clip(2 - d) with d the circular distance (in sectors) to its hue: R 0, G 2, B 4.
    rows = [np.clip(2 - np.abs(np.mod(h - centre + 3, 6) - 3), 0, 1) for centre in (0.0, 2.0, 4.0)]
    return np.asarray(rows, dtype=np.float32)


_HSV = _hsv_table() * np.float32(255.0)


def _hsv_coding(u: NDArray[np.float32], v: NDArray[np.float32], rad: NDArray[np.float32]) -> NDArray[np.uint8]:
    pos = np.arctan2(v, u)  # clockwise from +x in the image (v points down), in [-pi, pi]
    pos += np.float32(2 * np.pi) * (pos < 0)
    pos *= np.float32(3 / np.pi * _SUBSTEPS)
    pos += np.float32(0.5)  # nearest table entry
    idx = pos.astype(np.int32)
    val = np.minimum(rad, np.float32(1.0))
    out = np.empty((*u.shape, 3), np.uint8)
    tmp = np.empty(u.shape, np.float32)
    for c in range(3):
        np.take(_HSV[c], idx, out=tmp, mode="clip")
        tmp *= val
        tmp += np.float32(0.5)  # round to nearest
        out[..., c] = tmp
    return out


def flow_legend(size: int = 129, coding: Literal["middlebury", "hsv"] = "middlebury") -> NDArray[np.uint8]:
    """The colour key of :func:`flow_to_rgb`: a disc of every direction, magnitude 0 (centre) to 1 (rim).

    Parameters
    ----------
    size : int
        Side of the square image in pixels (at least 8).
    coding : {"middlebury", "hsv"}

    Returns
    -------
    ndarray of shape (size, size, 3), uint8
        Outside the disc white. Right in the image is rightward motion, down is downward motion.
    """
    if not isinstance(size, int | np.integer) or size < 8:
        raise ValueError(f"size must be an integer of at least 8, got {size!r}")
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    flow = np.stack([(x - c) / c, (y - c) / c], axis=-1)
    out = flow_to_rgb(flow, max_magnitude=1.0, coding=coding)
    out[np.hypot(flow[..., 0], flow[..., 1]) > 1] = 255
    return out


def heat_to_rgb(values: ArrayLike, *, cmap: Literal["hot", "jet", "gray"] = "hot") -> NDArray[np.uint8]:
    """Map values in [0, 1] to RGB with an analytic colour map (values outside are clipped, NaN black).

    ``hot``: black - red - yellow - white (heat maps); ``jet``: blue - cyan - yellow - red (CAM overlays);
    ``gray``: black - white.
    """
    x = np.asarray(values, dtype=np.float32)
    nan = ~np.isfinite(x)
    x = np.clip(np.where(nan, 0, x), 0, 1)
    if cmap == "hot":
        rgb = np.stack([np.clip(3 * x, 0, 1), np.clip(3 * x - 1, 0, 1), np.clip(3 * x - 2, 0, 1)], axis=-1)
    elif cmap == "jet":
        rgb = np.stack([np.clip(1.5 - np.abs(4 * x - c), 0, 1) for c in (3.0, 2.0, 1.0)], axis=-1)
    elif cmap == "gray":
        rgb = np.repeat(x[..., None], 3, axis=-1)
    else:
        raise ValueError(f"cmap must be 'hot', 'jet' or 'gray', got {cmap!r}")
    out = np.rint(rgb * 255).astype(np.uint8)
    out[nan] = 0
    return out


def strain_to_rgb(
    strain: ArrayLike, max_value: float | None = None, *, cmap: Literal["hot", "jet", "gray"] = "hot"
) -> NDArray[np.uint8]:
    """Heat map of an optical-strain magnitude image.

    Parameters
    ----------
    strain : array_like of shape (H, W)
        Strain magnitude (non-negative; the store's ``strain``).
    max_value : float, optional
        Strain shown at the top of the colour map (default: the image's largest finite value; zero images
        are black).
    cmap : {"hot", "jet", "gray"}
        See :func:`heat_to_rgb`.

    Returns
    -------
    ndarray of shape (H, W, 3), uint8
    """
    s = np.asarray(strain)
    if s.ndim != 2:
        raise ShapeError(f"strain must have shape (H, W), got {s.shape}")
    if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
        raise ShapeError(f"strain must be real numbers, got dtype {s.dtype}")
    s = s.astype(np.float32, copy=False)
    vmax = _check_max(max_value, "max_value")
    if vmax is None:
        finite = s[np.isfinite(s)]
        vmax = float(finite.max()) if finite.size else 0.0
    scaled = s / np.float32(vmax) if vmax > 0 else np.zeros_like(s)
    return heat_to_rgb(scaled, cmap=cmap)


def to_rgb_image(image: ArrayLike, name: str = "image") -> NDArray[np.uint8]:
    """``(H, W, 3)`` uint8 from a grey ``(H, W)`` or RGB ``(H, W, 3)`` image, uint8 or float in [0, 1]."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] != 3):
        raise ShapeError(f"{name} must have shape (H, W) or (H, W, 3), got {img.shape}")
    if img.dtype == np.uint8:
        out = img
    elif np.issubdtype(img.dtype, np.floating) or np.issubdtype(img.dtype, np.bool_):
        out = np.rint(np.clip(np.nan_to_num(img.astype(np.float32)), 0, 1) * 255).astype(np.uint8)
    elif np.issubdtype(img.dtype, np.integer):
        out = np.clip(img, 0, 255).astype(np.uint8)
    else:
        raise ShapeError(f"{name} must be uint8 or float in [0, 1], got dtype {img.dtype}")
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=-1)
    return np.ascontiguousarray(out)


def _resize_bilinear(a: NDArray[np.float32], shape: tuple[int, int]) -> NDArray[np.float32]:
    """Bilinear resize of a 2-D array (pixel centres aligned, as OpenCV's INTER_LINEAR)."""
    h, w = a.shape
    if (h, w) == shape:
        return a
    import cv2

    return np.asarray(cv2.resize(a, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR), dtype=np.float32)


def overlay_heatmap(
    image: ArrayLike,
    heat: ArrayLike,
    *,
    alpha: float = 0.5,
    cmap: Literal["hot", "jet", "gray"] = "jet",
    normalize: bool = False,
) -> NDArray[np.uint8]:
    """Blend a heat map (a CAM, strain, ...) over an image.

    Parameters
    ----------
    image : array_like of shape (H, W) or (H, W, 3)
        The face, uint8 or float in [0, 1].
    heat : array_like of shape (h, w)
        Values in [0, 1] (clipped), resized bilinearly to (H, W) when the shapes differ; NaN counts as 0.
    alpha : float
        Weight of the coloured heat map where ``heat`` is 1; it fades linearly to 0 where ``heat`` is 0, so
        cold regions show the face unchanged.
    cmap : {"jet", "hot", "gray"}
        Colour map of the heat (see :func:`heat_to_rgb`).
    normalize : bool
        Min-max scale ``heat`` to [0, 1] first (a constant map becomes 0).

    Returns
    -------
    ndarray of shape (H, W, 3), uint8
    """
    img = to_rgb_image(image)
    h = np.asarray(heat, dtype=np.float32)
    if h.ndim != 2:
        raise ShapeError(f"heat must have shape (h, w), got {h.shape}")
    if not 0 <= float(alpha) <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    h = np.nan_to_num(h, nan=0.0, posinf=1.0, neginf=0.0)
    if normalize:
        lo, hi = float(h.min()), float(h.max())
        h = (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
    h = np.clip(_resize_bilinear(np.ascontiguousarray(h), img.shape[:2]), 0, 1)
    colour = heat_to_rgb(h, cmap=cmap).astype(np.float32)
    w = (np.float32(alpha) * h)[..., None]
    out = (1 - w) * img.astype(np.float32) + w * colour
    return np.rint(out).astype(np.uint8)
