"""Data shipped with mefast.

``astronaut_face.png`` is a crop (rows 20-300, columns 140-370) of ``skimage.data.astronaut()``, the NASA
portrait of Eileen Collins, which is in the public domain. It is the face behind the synthetic dataset,
the demo and the tests. ``astronaut_face_landmarks68.npy`` holds its 68 iBUG landmarks (x, y) in pixels,
found once by dlib's shape predictor and checked by eye; shipping them keeps the demo and tests offline.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
from numpy.typing import NDArray

__all__ = ["face_image", "face_landmarks"]


def face_image(*, gray: bool = False) -> NDArray[np.uint8]:
    """Return the public-domain astronaut face photograph.

    Parameters
    ----------
    gray : bool
        Return ``(280, 230)`` grey levels (BT.601 luma) instead of ``(280, 230, 3)`` RGB.

    Returns
    -------
    image : ndarray of uint8
    """
    import cv2

    raw = resources.files(__name__).joinpath("astronaut_face.png").read_bytes()
    bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:  # only a damaged installation gets here
        raise OSError("mefast's bundled astronaut_face.png could not be decoded")
    out = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY if gray else cv2.COLOR_BGR2RGB)
    return np.asarray(out, dtype=np.uint8)


def face_landmarks() -> NDArray[np.float32]:
    """Return the 68 iBUG landmarks of :func:`face_image` as an ``(68, 2)`` float32 array of (x, y)."""
    with resources.files(__name__).joinpath("astronaut_face_landmarks68.npy").open("rb") as f:
        return np.load(f).astype(np.float32)
