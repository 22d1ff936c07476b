"""detect_face on large frames: the coarse search on a downscaled copy against the search of the whole frame.

The reference is the detector run on the whole 1280x720 frame (``coarse_size=None``, what detect_face does by
default); the coarse box (``coarse_size=COARSE_SIZE``, as preprocess asks for it), refined by dlib's landmark
model at full resolution, must give the same landmarks within what the model's own jitter is (a fraction of the
inter-ocular distance), and a face too small for the copy must still be found.
"""

from __future__ import annotations

import inspect

import cv2
import numpy as np
import pytest

from mefast import face
from mefast.data import face_image

DETECTORS = face.available_detectors()
needs_dlib = pytest.mark.skipif(
    "dlib" not in DETECTORS or face.dlib_model_path() is None, reason="dlib or its 68-point model is not installed"
)


def _frame(zoom: float, seed: int = 0) -> np.ndarray:
    """A 1280x720 grey frame holding the astronaut face at ``zoom`` times its 230x280 photograph."""
    rng = np.random.default_rng(seed)
    img = cv2.resize(face_image(gray=True), None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
    canvas = np.full((720, 1280), 110, np.uint8)
    h, w = img.shape
    top, left = (720 - h) // 2, (1280 - w) // 2 - 40
    canvas[top : top + h, left : left + w] = img
    return np.clip(canvas + rng.normal(0, 1.5, canvas.shape), 0, 255).astype(np.uint8)


def _iod(points):
    return float(np.linalg.norm(points[36:42].mean(0) - points[42:48].mean(0)))


@pytest.mark.parametrize("detector", DETECTORS)
def test_coarse_box_is_the_whole_frame_box(detector):
    frame = _frame(2.2)
    coarse = face.detect_face(frame, detector=detector, coarse_size=face.COARSE_SIZE)
    whole = face.detect_face(frame, detector=detector, coarse_size=None)
    a = np.array([coarse.x, coarse.y, coarse.x + coarse.width, coarse.y + coarse.height], float)
    b = np.array([whole.x, whole.y, whole.x + whole.width, whole.y + whole.height], float)
    assert np.abs(a - b).max() < 0.2 * whole.width, (coarse, whole)  # the same face, about the same box


@needs_dlib
@pytest.mark.parametrize("zoom", [1.6, 2.2])
def test_landmarks_from_the_coarse_box_match_the_whole_frame_ones(zoom):
    frame = _frame(zoom)
    coarse = np.asarray(face.landmarks68(frame, method="dlib", detector="dlib", coarse_size=face.COARSE_SIZE))
    whole = np.asarray(face.landmarks68(frame, method="dlib", detector="dlib", coarse_size=None))
    err = np.linalg.norm(coarse - whole, axis=1).mean() / _iod(whole)
    assert err < 0.02, err  # measured 0.5-1 % on the synthetic CAS(ME)^3 frames


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_face_too_small_for_the_copy_is_found_on_the_whole_frame(detector, monkeypatch):
    frame = _frame(1.2)  # a face of about 110 px
    calls = []
    real = face._boxes
    monkeypatch.setattr(face, "_boxes", lambda name, gray, up: calls.append(gray.shape) or real(name, gray, up))
    box = face.detect_face(frame, detector=detector, coarse_size=48)  # 8 px in the copy: too small for any
    assert calls[0] == (48, 85) and calls[1] == frame.shape  # the copy first, then the whole frame
    assert box == face.detect_face(frame, detector=detector, coarse_size=None)


def test_small_images_and_upsample_skip_the_copy(monkeypatch):
    calls = []
    real = face._boxes
    monkeypatch.setattr(face, "_boxes", lambda name, gray, up: calls.append(gray.shape) or real(name, gray, up))
    face.detect_face(face_image(), detector="lbp", coarse_size=face.COARSE_SIZE)  # 280 x 230: smaller than 1.5 x 256
    assert calls == [(280, 230)]
    if "dlib" in DETECTORS:
        calls.clear()
        face.detect_face(_frame(2.2), detector="dlib", upsample=0, coarse_size=face.COARSE_SIZE)
        assert calls == [(720, 1280)]


def test_the_public_functions_search_the_whole_image_by_default(monkeypatch):
    """The coarse search changes boxes (and so crops) a little: it is asked for, never a default."""
    for fn in (face.detect_face, face.landmarks68, face.crop_align, face.face_transform):
        assert inspect.signature(fn).parameters["coarse_size"].default is None, fn.__name__
    frame = _frame(2.2)
    calls = []
    real = face._boxes
    monkeypatch.setattr(face, "_boxes", lambda name, gray, up: calls.append(gray.shape) or real(name, gray, up))
    face.detect_face(frame, detector="lbp")
    assert calls == [frame.shape]


def test_coarse_size_is_checked():
    with pytest.raises(ValueError, match="coarse_size"):
        face.detect_face(_frame(2.2), coarse_size=8)


def test_boxes_too_small_in_the_copy_are_searched_for_at_full_resolution(monkeypatch):
    frame = _frame(2.2)  # a face of about 330 px: about 65 px in a 144-line copy, found there by the LBP cascade
    calls = []
    real = face._boxes

    def spy(name, gray, up):
        found = real(name, gray, up)
        calls.append((gray.shape, [b[2] for b in found]))
        return found

    monkeypatch.setattr(face, "_boxes", spy)
    box = face.detect_face(frame, detector="lbp", coarse_size=144)
    (copy_shape, widths), (whole_shape, _) = calls
    assert copy_shape == (144, 256) and widths and max(widths) < face.COARSE_MIN_FACE
    assert whole_shape == frame.shape  # the coarse box was not used
    assert box == face.detect_face(frame, detector="lbp", coarse_size=None)


def test_template_landmarks_follow_the_whole_frame_box(monkeypatch):
    """The template has no model to refine a coarse box: its box is searched for on the whole frame."""
    frame = _frame(2.2)
    calls = []
    real = face._boxes
    monkeypatch.setattr(face, "_boxes", lambda name, gray, up: calls.append(gray.shape) or real(name, gray, up))
    lm = face.landmarks68(frame, method="template", detector="lbp", coarse_size=face.COARSE_SIZE)
    on_frame = [c for c in calls if c != face_image().shape[:2]]  # not the template's own image
    assert on_frame == [frame.shape]  # no copy searched
    assert lm.approximate
    np.testing.assert_array_equal(lm.points, face.landmarks68(frame, method="template", detector="lbp",
                                                              coarse_size=None).points)  # fmt: skip
