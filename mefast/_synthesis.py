"""Image synthesis with known motion: smooth displacement fields, warping and image pairs of known flow.

Used by the synthetic dataset, the tests, benchmarks and the demo; :mod:`mefast.testing` re-exports it.

A real photograph is warped by a known smooth displacement field, so the exact flow of the pair is known.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["FlowPair", "endpoint_error", "face_flow_pair", "smooth_field", "warp_image"]


class FlowPair(NamedTuple):
    """Two frames and the exact flow between them: ``frame1(x + flow) = frame0(x)``."""

    frame0: NDArray[np.uint8]
    frame1: NDArray[np.uint8]
    flow: NDArray[np.float32]


def smooth_field(height: int, width: int, amplitude: float = 1.0, *, seed: int = 0) -> NDArray[np.float32]:
    """A smooth, face-like displacement field: low-frequency sinusoids plus three Gaussian bumps.

    The bumps sit where brows and a mouth corner are in a face crop. ``amplitude=1`` gives a maximum
    displacement of about 2 px, the size of micro-expression motion.

    Returns
    -------
    field : ndarray of shape (height, width, 2), float32
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    yn, xn = y / height, x / width
    ph = rng.uniform(0, 2 * np.pi, 4)
    u = 0.35 * np.sin(2 * np.pi * xn + ph[0]) * np.cos(np.pi * yn + ph[1])
    v = 0.35 * np.cos(2 * np.pi * yn + ph[2]) * np.sin(np.pi * xn + ph[3])
    bumps = [(0.30, 0.33, 0.0, -1.9), (0.30, 0.67, 0.0, -1.9), (0.72, 0.68, 1.6, -0.8)]
    for cy, cx, du, dv in bumps:
        g = np.exp(-(((yn - cy) / 0.08) ** 2 + ((xn - cx) / 0.10) ** 2))
        u += du * g
        v += dv * g
    return (amplitude * np.stack([u, v], axis=-1)).astype(np.float32)


def warp_image(image: NDArray, field: NDArray) -> NDArray[np.float32]:
    """Sample ``image`` at ``x + field(x)`` (bicubic, replicated border): ``out(x) = image(x + field(x))``."""
    import cv2

    h, w = image.shape[:2]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    mx = gx + field[..., 0].astype(np.float32)
    my = gy + field[..., 1].astype(np.float32)
    out = cv2.remap(image.astype(np.float32), mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.float32)


def face_flow_pair(size: tuple[int, int] = (340, 280), amplitude: float = 1.0, *, seed: int = 0) -> FlowPair:
    """The astronaut face resampled to ``size = (H, W)`` and a second frame warped by :func:`smooth_field`.

    ``frame0(x) = frame1(x + flow(x))`` exactly before rounding to uint8, which is the flow convention of
    :func:`mefast.tvl1`.
    """
    import cv2

    from .data import face_image

    h, w = size
    # The face region used by the specs' measurements: rows 40-258, columns 165-344 of the original.
    face = face_image(gray=True)[20:238, 25:204].astype(np.float32)
    base = cv2.resize(face, (w, h), interpolation=cv2.INTER_AREA if h * w < face.size else cv2.INTER_CUBIC)
    flow = smooth_field(h, w, amplitude, seed=seed)
    frame1 = np.clip(np.rint(base), 0, 255).astype(np.uint8)
    frame0 = np.clip(np.rint(warp_image(base, flow)), 0, 255).astype(np.uint8)
    return FlowPair(frame0, frame1, flow)


def endpoint_error(flow: NDArray, truth: NDArray, *, border: int = 0) -> float:
    """Mean endpoint error ``mean |flow - truth|``, optionally ignoring a border of ``border`` pixels."""
    d = np.asarray(flow, np.float64) - np.asarray(truth, np.float64)
    if border:
        d = d[..., border:-border, border:-border, :]
    return float(np.mean(np.sqrt((d**2).sum(axis=-1))))
