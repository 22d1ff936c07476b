"""Lagrangian (flow-based) two-frame magnification: warp a frame by alpha x the TV-L1 flow."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError
from ._evm import _as_frame

__all__ = ["lagrangian"]

_BORDERS = {"replicate": "BORDER_REPLICATE", "reflect": "BORDER_REFLECT_101", "constant": "BORDER_CONSTANT"}


def _frame(x: ArrayLike, name: str) -> tuple[NDArray[np.float32], np.dtype]:
    """The frame as float32 ([0, 1] for uint8) and the dtype to return.

    Checked as the Eulerian functions check theirs (:func:`~mefast.magnification._evm._as_frame`: either byte
    order, finite, within float32), on any float scale (a warp is linear; nothing is clipped).
    """
    arr, dtype = _as_frame(x, name, unit_range=False)
    return (arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr), dtype


def _out(img: NDArray[np.float32], dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:
        return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    return img.astype(dtype, copy=False)


def _remap(img: NDArray[np.float32], dx: NDArray[np.float32], dy: NDArray[np.float32], border: str) -> NDArray:
    import cv2

    h, w = img.shape[:2]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=getattr(cv2, _BORDERS[border]))


def _splat(img: NDArray[np.float32], fx: NDArray[np.float32], fy: NDArray[np.float32]) -> tuple[NDArray, NDArray]:
    """Forward-splat every pixel p of img bilinearly at p + (fx, fy); return the weighted sum and the weights."""
    h, w = img.shape[:2]
    c = 1 if img.ndim == 2 else img.shape[2]
    vals = img.reshape(h * w, c).astype(np.float64)
    gy, gx = np.mgrid[0:h, 0:w]
    tx = (gx + fx).ravel().astype(np.float64)
    ty = (gy + fy).ravel().astype(np.float64)
    x0, y0 = np.floor(tx).astype(np.int64), np.floor(ty).astype(np.int64)
    ax, ay = tx - x0, ty - y0
    acc = np.zeros((h * w, c))
    wsum = np.zeros(h * w)
    for dx, dy, wt in ((0, 0, (1 - ax) * (1 - ay)), (1, 0, ax * (1 - ay)), (0, 1, (1 - ax) * ay), (1, 1, ax * ay)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h) & (wt > 0)
        idx = yi[ok] * w + xi[ok]
        wsum += np.bincount(idx, weights=wt[ok], minlength=h * w)
        for k in range(c):
            acc[:, k] += np.bincount(idx, weights=wt[ok] * vals[ok, k], minlength=h * w)
    return acc.reshape(img.shape if img.ndim == 3 else (h, w, 1)), wsum.reshape(h, w)


def lagrangian(
    frame0: ArrayLike,
    frame1: ArrayLike,
    flow: ArrayLike | None = None,
    *,
    alpha: float = 5.0,
    source: Literal["apex", "onset"] = "apex",
    mode: Literal["backward", "forward"] = "backward",
    fill: Literal["backward", "inpaint", "none"] = "backward",
    flow_floor: float = 0.05,
    border: Literal["replicate", "reflect", "constant"] = "replicate",
    tvl1_params: str = "accurate",
) -> np.ndarray:
    """Lagrangian magnification of the motion from ``frame0`` (onset) to ``frame1`` (apex).

    With ``F`` the flow onset -> apex (``apex(p + F(p)) = onset(p)``), an onset point ``p`` is moved to
    ``p + (1 + alpha) F(p)``: the same motion convention as :func:`mefast.magnification.evm` (output motion
    ``(1 + alpha) delta``).

    ``mode="backward"`` (default) samples ``source`` bilinearly: ``out(x) = apex(x - alpha F(x))`` (or
    ``onset(x - (1 + alpha) F(x))``), with ``F`` read at the destination instead of the source: exact for a
    constant flow, a position error of about ``alpha^2 |F| |grad F|`` otherwise. ``mode="forward"`` splats every
    onset pixel bilinearly at ``p + (1 + alpha) F(p)`` and divides by the summed weight (collisions are
    weight-averaged); pixels whose weight is below 1e-3 are holes, filled by ``fill``: ``"backward"`` the
    backward-warped value, ``"inpaint"`` OpenCV's Telea inpainting (radius 3), ``"none"`` NaN (float output only).

    Parameters
    ----------
    frame0, frame1 : array_like of shape (H, W) or (H, W, 3)
        Onset and apex, uint8 or float in [0, 1].
    flow : array_like of shape (H, W, 2), optional
        Flow frame0 -> frame1 in pixels; ``mefast.tvl1(frame0, frame1, params=tvl1_params)`` if None.
    alpha : float
        Amplification (0 returns ``source``; with ``source="apex"`` that is frame1).
    flow_floor : float
        Flow vectors shorter than this (pixels) are set to 0 first, so that TV-L1 noise on still skin is not
        amplified.
    border : {"replicate", "reflect", "constant"}
        Border rule of the backward warp.

    Returns
    -------
    ndarray
        Same shape and dtype as the frames.
    """
    a, dtype = _frame(frame0, "frame0")
    b, dtype_b = _frame(frame1, "frame1")
    if a.shape != b.shape or dtype != dtype_b:
        raise ShapeError(f"frame0 and frame1 must have the same shape and dtype, got {a.shape} {dtype} and "
                         f"{b.shape} {dtype_b}")  # fmt: skip
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got {alpha!r}")
    for name, value, allowed in (
        ("source", source, ("apex", "onset")),
        ("mode", mode, ("backward", "forward")),
        ("fill", fill, ("backward", "inpaint", "none")),
        ("border", border, tuple(_BORDERS)),
    ):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")  # fmt: skip
    if fill == "none" and dtype == np.uint8 and mode == "forward":
        raise ValueError("fill='none' marks holes with NaN, which uint8 frames cannot hold; pass float frames")
    h, w = a.shape[:2]
    if flow is None:
        from ..flow import tvl1

        F = tvl1(a, b, params=tvl1_params)
    else:
        F = np.asarray(flow, dtype=np.float32)
        if F.shape != (h, w, 2):
            raise ShapeError(f"flow must have shape {(h, w, 2)} for these frames, got {F.shape}")
        if not np.isfinite(F).all():
            raise ShapeError("flow contains NaN or infinity")
    F = F.copy()
    if flow_floor > 0:
        F[np.hypot(F[..., 0], F[..., 1]) < flow_floor] = 0.0
    src, gain = (b, float(alpha)) if source == "apex" else (a, 1.0 + float(alpha))
    if source == "apex" and (alpha == 0 or not F.any()):
        return _out(b.copy(), dtype)
    back = _remap(src, -gain * F[..., 0], -gain * F[..., 1], border)
    if mode == "backward":
        return _out(back, dtype)
    acc, wsum = _splat(a, (1.0 + alpha) * F[..., 0], (1.0 + alpha) * F[..., 1])
    hole = wsum < 1e-3
    out = (acc / np.maximum(wsum, 1e-12)[..., None]).astype(np.float32)
    out = out[..., 0] if a.ndim == 2 else out
    if hole.any():
        if fill == "backward":
            out[hole] = back[hole]
        elif fill == "none":
            out[hole] = np.nan
        else:
            import cv2

            u8 = np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)
            filled = cv2.inpaint(u8, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32) / 255.0
            out[hole] = filled[hole]
    return _out(out, dtype)
