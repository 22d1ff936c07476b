"""Reading one clip for ``preprocess``: grey frames, cropped to the face, decoded no larger than the crop needs.

With ``PreprocessOptions.decode="reduced"`` (the default) and a dataset whose ``read_frames`` takes ``gray`` and
``reduction`` (:class:`mefast.datasets.Dataset`):

1. the reference frame (the onset, or ``face``'s ``reference``) is decoded whole, grey; the face is found on a
   copy of it downscaled to :data:`mefast.face.COARSE_SIZE` lines (:func:`mefast.face.detect_face`'s
   ``coarse_size``, unless ``face`` sets it) and its 68 landmarks at full resolution, which give the alignment
   (:func:`mefast.face.face_transform`);
2. the reduction ``r`` (1, 2, 4 or 8) is the largest that leaves at least one decoded pixel per crop pixel
   (:meth:`~mefast.face.FaceTransform.max_reduction`; ``align="none"``: the largest at which the frame still
   covers ``crop_size``), so a reduced decode never upsamples what a whole decode would not;
3. every frame of the clip is decoded grey at ``1/r`` (JPEG: libjpeg's DCT scaling of the luma plane alone, no
   colour planes and no colour conversion) and warped straight into the crop
   (:meth:`~mefast.face.FaceTransform.reduced`).

``decode="full"`` is what ``preprocess`` did before: every frame decoded whole in colour, converted to grey, the
face searched on the whole reference frame (unless ``face`` sets ``coarse_size``), then cropped. Against it, a
1280x720 JPEG frame costs about a third to decode, and the crop differs by what a block mean before the crop
changes (bounded in ``tests/pipeline/test_reading.py``). Datasets whose ``read_frames`` takes only
``(i, first, last)`` are read whole, in colour, and converted, the face searched as in step 1.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import AnnotationError
from ._features import PreprocessOptions, _gray_crop, _gray_frames

__all__ = ["read_clip", "reduction_for_size", "supports_reduced_reads"]


def supports_reduced_reads(dataset: Any) -> bool:
    """Whether ``dataset.read_frames`` takes the ``gray`` and ``reduction`` keywords."""
    read = getattr(dataset, "read_frames", None)
    if read is None:
        return False
    try:
        params = inspect.signature(read).parameters
    except (TypeError, ValueError):
        return False
    return "gray" in params and "reduction" in params


def reduction_for_size(shape: tuple[int, int], size: tuple[int, int], limit: int = 8) -> int:
    """The largest reduction (1, 2, 4, 8) at which a ``shape`` frame still covers ``size`` (``ceil(H/r) >= h``)."""
    h, w = shape
    best = 1
    for r in (2, 4, 8):
        if r <= limit and -(-h // r) >= size[0] and -(-w // r) >= size[1]:
            best = r
    return best


def read_clip(
    dataset: Any, i: int, options: PreprocessOptions
) -> tuple[NDArray[np.uint8], NDArray[np.float32] | None, dict[str, float], int]:
    """The grey crop clip of sample ``i`` that ``compute_features`` works on.

    Returns
    -------
    gray : ndarray of shape (T, h, w), uint8
        The frames onset..offset at ``options.crop_size``: aligned on the face (``align="face"``) or resized.
    landmarks : ndarray of shape (68, 2), float32, or None
        The reference frame's landmarks (the onset's unless ``face`` sets ``reference``) in crop coordinates
        (``align="face"``), else None.
    seconds : dict
        ``"read"`` (decoding) and ``"align"`` (detection, landmarks, crop) wall times.
    reduction : int
        The decode reduction used (1: whole frames).
    """
    from ..face import COARSE_SIZE

    seconds = {"read": 0.0, "align": 0.0}
    row = dataset.samples.iloc[i]
    onset, offset = int(row["onset"]), int(row["offset"])
    # what read_frames returns is checked before use: a custom dataset's float, wide-integer or channels-first
    # frames would otherwise wrap or truncate in a cast to uint8
    name = f"sample {row['sample_id']}: the clip read_frames returned"
    # say so before any frame is read: the reference frame read first is numbered from the onset, and a reduced
    # decode would fail on an empty clip
    if onset < 0 or offset < 0:
        raise AnnotationError(
            f"sample {row['sample_id']}: no frame range (onset {onset}, offset {offset}); see validate()"
        )
    if offset < onset:
        raise AnnotationError(f"offset {offset} is before onset {onset}: the annotation's frame range is empty")
    if options.decode == "reduced":  # the face searched on a downscaled copy of large frames first
        options = dataclasses.replace(options, face={"coarse_size": COARSE_SIZE, **options.face})
    if options.decode == "full" or not supports_reduced_reads(dataset):
        t0 = time.perf_counter()
        video = dataset.read_frames(i)
        seconds["read"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        gray, landmarks = _gray_crop(video, options, name)
        seconds["align"] = time.perf_counter() - t0
        return gray, landmarks, seconds, 1

    import cv2

    h, w = options.crop_size
    if options.align == "face":
        from ..face import _reference_frame, face_transform

        t0 = time.perf_counter()
        face = dict(options.face)
        number = onset + _reference_frame(face.pop("reference", 0), int(row["offset"]) - onset + 1)
        reference = _gray_frames(dataset.read_frames(i, number, number, gray=True), name)[0]
        t1 = time.perf_counter()
        transform = face_transform(reference, size=(h, w), **face)
        r = transform.max_reduction()
        t2 = time.perf_counter()
        # the reference again: the same decode as the others
        frames = _gray_frames(dataset.read_frames(i, gray=True, reduction=r), name)
        t3 = time.perf_counter()
        gray = np.ascontiguousarray(transform.reduced(r).warp(frames), np.uint8)
        seconds["read"] = (t1 - t0) + (t3 - t2)
        seconds["align"] = (t2 - t1) + (time.perf_counter() - t3)
        assert transform.landmarks is not None
        return gray, np.asarray(transform.landmarks, np.float32), seconds, r
    # align="none": the frames are face crops, only resized (area); decode no larger than that needs
    t0 = time.perf_counter()
    first = _gray_frames(dataset.read_frames(i, onset, onset, gray=True), name)[0]
    r = reduction_for_size(first.shape[:2], (h, w))
    frames = _gray_frames(dataset.read_frames(i, gray=True, reduction=r), name)
    t1 = time.perf_counter()
    gray = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    seconds["read"] = t1 - t0
    seconds["align"] = time.perf_counter() - t1
    return gray, None, seconds, r
