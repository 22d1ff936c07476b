"""The 36 facial regions of interest of MDMO, built from 68 iBUG landmarks.

The regions follow the MDMO definition as the MEB library implements it (spec ``descriptors.md`` §5.2): 22
auxiliary points (six above the eyebrows, the rest midpoints between landmarks) and 36 quadrilaterals whose
vertices are landmarks or auxiliary points. Only landmark indices below 60 are used, where the 66-point
(Multi-PIE/DRMF) and the 68-point iBUG schemes agree, so the table serves either landmark model.

Points are ``(x, y)`` in pixels, x to the right and y downwards; the auxiliary points above the eyebrows are
clamped at ``y >= 0``.
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import DELTA_PER_IOD, check_landmarks, check_size

__all__ = ["N_ROIS", "RIGID_LANDMARKS", "check_landmarks", "mdmo_roi_masks", "mdmo_rois", "roi_delta"]

#: Number of MDMO regions.
N_ROIS = 36

#: Landmarks that move with the head but hardly with facial actions: the jaw contour from below the temples
#: to above the chin (1-5, 11-15; 0 and 16 sit next to the brow tails and follow AU1/AU2, the chin 6-10 moves
#: with the lips and the jaw) and the nose bridge below the brows (28-30; 27 sits between the inner brow ends,
#: the nostrils move with AU9/AU10). MDMO's optical-flow-driven alignment fits the head motion to these.
RIGID_LANDMARKS: tuple[int, ...] = (1, 2, 3, 4, 5, 11, 12, 13, 14, 15, 28, 29, 30)

# Auxiliary point T_i is stored at row 68 + i of the combined point table.
_T = 68
# T_i = landmark shifted up by delta, for i in this table (T3 is the midpoint of T2 and T4).
_ABOVE_BROW = {0: 17, 1: 19, 2: 21, 4: 22, 5: 24, 6: 26}
# T_i = midpoint of two landmarks; the duplicate pairs (T9/T11, T10/T12, T13/T17, T14/T21) are part of the
# definition.
_MIDPOINTS = {
    7: (3, 29), 8: (13, 29), 9: (4, 33), 10: (12, 33), 11: (4, 33), 12: (12, 33), 13: (5, 59),
    14: (11, 55), 15: (2, 41), 16: (14, 46), 17: (5, 59), 18: (6, 58), 19: (8, 57), 20: (10, 56),
    21: (11, 55),
}  # fmt: skip


def _t(i: int) -> int:
    return _T + i


# Vertices of R1..R36 in order: an int < 68 is landmark L_i, _t(i) is auxiliary point T_i.
_ROI_VERTICES = np.array(
    [
        (17, _t(0), _t(1), 19), (19, _t(1), _t(2), 21), (21, _t(2), _t(3), 27), (27, _t(3), _t(4), 22),
        (22, _t(4), _t(5), 24), (24, _t(5), _t(6), 26), (1, 0, 17, 36), (36, 17, 19, 38),
        (38, 19, 21, 39), (39, 21, 27, 28), (28, 27, 22, 42), (42, 22, 24, 43),
        (43, 24, 26, 45), (45, 26, 16, 15), (3, 2, _t(15), _t(7)), (_t(7), _t(15), 41, 39),
        (_t(7), 39, 28, 29), (29, 28, 42, _t(8)), (_t(8), 42, 46, _t(16)), (_t(8), _t(16), 14, 13),
        (_t(11), _t(7), 29, 33), (33, 29, _t(8), _t(12)), (_t(13), _t(9), 33, 59), (55, 33, _t(10), _t(14)),
        (_t(18), _t(17), 59, 58), (_t(19), _t(18), 58, 57), (_t(20), _t(19), 57, 56),
        (_t(21), _t(20), 56, 55), (4, 3, _t(7), _t(11)), (_t(12), _t(8), 13, 12),
        (5, 4, _t(9), _t(13)), (_t(14), _t(10), 12, 11), (6, 5, _t(17), _t(18)),
        (8, 6, _t(18), _t(19)), (10, 8, _t(19), _t(20)), (11, 10, _t(20), _t(21)),
    ],
    dtype=np.intp,
)  # fmt: skip


def roi_delta(landmarks: ArrayLike) -> float:
    """Default height of the forehead regions: 0.45 times the distance between the eye centres.

    The eye centres are the means of landmarks 36-41 and 42-47.
    """
    pts = check_landmarks(landmarks)
    iod = float(np.linalg.norm(pts[42:48].mean(axis=0) - pts[36:42].mean(axis=0)))
    return DELTA_PER_IOD * iod


def _all_points(pts: NDArray[np.float64], delta: float) -> NDArray[np.float64]:
    """Landmarks followed by the 22 auxiliary points: a ``(90, 2)`` table indexed by ``_ROI_VERTICES``."""
    aux = np.empty((22, 2), np.float64)
    for i, j in _ABOVE_BROW.items():
        aux[i] = (pts[j, 0], max(pts[j, 1] - delta, 0.0))
    aux[3] = 0.5 * (aux[2] + aux[4])
    for i, (a, b) in _MIDPOINTS.items():
        aux[i] = 0.5 * (pts[a] + pts[b])
    return np.concatenate([pts, aux])


def check_delta(delta: object) -> float | None:
    """``delta`` as a float, or None: a real number (not a bool or a string), finite and >= 0."""
    if delta is None:
        return None
    msg = f"delta must be a finite number of pixels >= 0 (or None), got {delta!r}"
    if isinstance(delta, bool | np.bool_) or not isinstance(delta, numbers.Real):
        raise ValueError(msg)  # float('3') and float(True) would pass
    d = float(delta)
    if not np.isfinite(d) or d < 0:
        raise ValueError(msg)
    return d


def _resolve_delta(pts: NDArray[np.float64], delta: float | None) -> float:
    d = check_delta(delta)
    return roi_delta(pts) if d is None else d


def mdmo_rois(landmarks: ArrayLike, *, delta: float | None = None) -> NDArray[np.float32]:
    """The 36 MDMO regions of interest as quadrilaterals.

    Parameters
    ----------
    landmarks : array_like of shape (68, 2)
        iBUG 68-point landmarks of the first frame, ``(x, y)`` in pixels.
    delta : float, optional
        Height in pixels of the six forehead regions above the eyebrows. MEB uses a fixed 20 px; the
        default, 0.45 times the distance between the eye centres, matches that at MEB's 112x112 crops and
        scales with the face.

    Returns
    -------
    rois : ndarray of shape (36, 4, 2), float32
        Vertices ``(x, y)`` of regions R1..R36 in the order of the MDMO definition.

    Examples
    --------
    >>> import mefast
    >>> from mefast.data import face_landmarks
    >>> mefast.mdmo_rois(face_landmarks()).shape
    (36, 4, 2)
    """
    pts = check_landmarks(landmarks)
    table = _all_points(pts, _resolve_delta(pts, delta))
    return table[_ROI_VERTICES].astype(np.float32)


def _rasterise(rois: NDArray, shape: tuple[int, int], rounding: Literal["round", "truncate"]) -> list[NDArray[np.intp]]:
    """Flat pixel indices of each filled polygon, boundary included (OpenCV ``drawContours``, filled)."""
    import cv2

    h, w = shape
    verts = np.rint(rois) if rounding == "round" else np.trunc(rois)
    verts = verts.astype(np.int32)
    out = []
    for quad in verts:
        # Fill in the quad's own bounding box (clipped to the image), then map back to image indices.
        lo = np.maximum(quad.min(axis=0), 0)
        hi = np.minimum(quad.max(axis=0), (w - 1, h - 1))
        if (hi < lo).any():
            out.append(np.zeros(0, np.intp))
            continue
        mask = np.zeros((hi[1] - lo[1] + 1, hi[0] - lo[0] + 1), np.uint8)
        cv2.drawContours(mask, [(quad - lo).reshape(-1, 1, 2)], 0, 1, thickness=-1)
        ys, xs = np.nonzero(mask)
        out.append((ys + lo[1]) * w + (xs + lo[0]))
    return out


def mdmo_roi_masks(
    landmarks: ArrayLike,
    shape: tuple[int, int],
    *,
    delta: float | None = None,
    rounding: Literal["round", "truncate"] = "round",
) -> NDArray[np.bool_]:
    """Pixel masks of the 36 MDMO regions.

    Parameters
    ----------
    landmarks : array_like of shape (68, 2)
        iBUG landmarks, ``(x, y)`` in pixels, inside the image.
    shape : tuple of int
        ``(H, W)`` of the image.
    delta : float, optional
        Forehead region height, see :func:`mdmo_rois`.
    rounding : {"round", "truncate"}
        How vertices become pixel coordinates: to the nearest pixel, or truncated as MEB does.

    Returns
    -------
    masks : ndarray of shape (36, H, W), bool
        Each polygon filled with its boundary, so neighbouring regions share their boundary pixels.
    """
    h, w = check_size(shape, "shape")
    pts = check_landmarks(landmarks, image_shape=(h, w))
    if rounding not in ("round", "truncate"):
        raise ValueError(f"rounding must be 'round' or 'truncate', got {rounding!r}")
    rois = _all_points(pts, _resolve_delta(pts, delta))[_ROI_VERTICES]
    masks = np.zeros((N_ROIS, h * w), bool)
    for k, idx in enumerate(_rasterise(rois, (h, w), rounding)):
        masks[k, idx] = True
    return masks.reshape(N_ROIS, h, w)


def roi_pixel_lists(
    landmarks: NDArray[np.float64], shape: tuple[int, int], delta: float | None, rounding: Literal["round", "truncate"]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The regions as compressed pixel lists for the kernels: ``pix[ptr[k]:ptr[k+1]]`` are region k's flat indices."""
    rois = _all_points(landmarks, _resolve_delta(landmarks, delta))[_ROI_VERTICES]
    lists = _rasterise(rois, shape, rounding)
    ptr = np.zeros(N_ROIS + 1, np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    pix = np.concatenate(lists).astype(np.int64) if ptr[-1] else np.zeros(0, np.int64)
    return ptr, pix
