"""Face detection, 68-point landmarks and crop/align on the public-domain astronaut photograph (scikit-image),
checked against the landmarks dlib found on it (shipped with mefast), with and without dlib installed."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

import mefast
from mefast import face
from mefast.data import face_image, face_landmarks
from mefast.descriptors.roi import roi_delta
from mefast.errors import FaceNotFoundError, ShapeError

OFFSET = np.array([140.0, 20.0])  # face_image() is astronaut()[20:300, 140:370]
DETECTORS = face.available_detectors()
MIRROR = face._MIRROR


def _dlib_ready():
    return "dlib" in DETECTORS and face.dlib_model_path() is not None


needs_dlib = pytest.mark.skipif(not _dlib_ready(), reason="dlib or its 68-point model is not installed")


@pytest.fixture
def no_dlib(monkeypatch):
    """Make ``import dlib`` fail, as on a machine without the mefast[landmarks] extra."""
    monkeypatch.setitem(sys.modules, "dlib", None)


def _iod(points):
    return float(np.linalg.norm(points[36:42].mean(0) - points[42:48].mean(0)))


def _err(points, truth):
    """Mean landmark error in units of the inter-ocular distance."""
    return float(np.linalg.norm(np.asarray(points) - truth, axis=1).mean() / _iod(truth))


def _box_matches(box, truth):
    """The box sits on the face the landmarks describe: centred on it and about its size."""
    lo, hi = truth.min(0), truth.max(0)
    width = hi[0] - lo[0]
    centre = np.array([box.x + box.width / 2, box.y + box.height / 2])
    return np.abs(centre - (lo + hi) / 2).max() < 0.25 * width and 0.7 < box.width / width < 1.4


# ---------------------------------------------------------------------------------------------------------
# Detection


def test_auto_prefers_dlib_and_lbp_is_always_there():
    assert "lbp" in DETECTORS  # scikit-image is a dependency
    assert face._resolve_detector("auto") == DETECTORS[0]
    try:
        import dlib  # noqa: F401
    except ImportError:
        assert "dlib" not in DETECTORS
    else:
        assert DETECTORS[0] == "dlib"


@pytest.mark.parametrize("detector", DETECTORS)
def test_detects_the_astronaut(detector):
    box = face.detect_face(face_image(), detector=detector)
    assert isinstance(box, face.FaceBox)
    assert _box_matches(box, face_landmarks())
    full = mefast.detect_face(astronaut(), detector=detector)  # 512x512, face about 90 px wide
    assert _box_matches(full, face_landmarks() + OFFSET)


@pytest.mark.parametrize("detector", DETECTORS)
def test_largest_face_wins(detector):
    canvas = np.full((300, 420, 3), 200, np.uint8)
    canvas[10:290, 10:240] = face_image()
    small = cv2.resize(face_image(), None, fx=0.6, fy=0.6)
    canvas[50 : 50 + small.shape[0], 260 : 260 + small.shape[1]] = small
    box = face.detect_face(canvas, detector=detector)
    assert _box_matches(box, face_landmarks() + 10)


@pytest.mark.parametrize("detector", DETECTORS)
def test_tight_face_crop_is_found_through_padding(detector):
    lo, hi = face_landmarks().min(0).astype(int), face_landmarks().max(0).astype(int)
    tight = face_image()[lo[1] : hi[1], lo[0] : hi[0]]
    box = face.detect_face(tight, detector=detector)
    assert box.width >= 0.6 * tight.shape[1] and box.x + box.width <= tight.shape[1]


@pytest.mark.parametrize("detector", DETECTORS)
@pytest.mark.parametrize("kind", ["grey", "noise"])
def test_no_face_raises(detector, kind):
    img = np.full((200, 200), 128, np.uint8)
    if kind == "noise":
        img = np.random.default_rng(0).integers(0, 256, (200, 200)).astype(np.uint8)
    with pytest.raises(FaceNotFoundError, match=f"no face found in the 200x200 image by the '{detector}'"):
        face.detect_face(img, detector=detector)
    with pytest.raises(ValueError):  # FaceNotFoundError is a ValueError
        mefast.crop_align(np.stack([img, img]), detector=detector)


def test_float_images_are_in_unit_range():
    img = face_image()
    assert face.detect_face(img.astype(np.float32) / 255, detector="lbp") == face.detect_face(img, detector="lbp")


@pytest.mark.parametrize(
    ("image", "match"),
    [(np.zeros(50), "dimensions"), (np.zeros((40, 40, 4)), "RGB"), (np.full((40, 40), np.nan), "NaN"),
     (np.zeros((4, 40), np.uint8), "too small")],
)  # fmt: skip
def test_bad_images(image, match):
    with pytest.raises(ShapeError, match=match):
        face.detect_face(image)


@pytest.mark.parametrize("detector", ["auto", *DETECTORS])
@pytest.mark.parametrize("upsample", [-1, 4, 2**40, 1.0, True, "1"])
def test_bad_upsample_is_refused(detector, upsample):
    """upsample=-1 reached dlib, whose pybind11 TypeError ran to 610 characters ('__call__(): incompatible function
    arguments ...'); a large value would upsample the image 4x per step until memory ran out."""
    msg = rf"^upsample must be an integer in \[0, 3\] \(each step quadruples the pixels\), got {upsample!r}$"
    with pytest.raises(ValueError, match=msg):
        face.detect_face(face_image(), detector=detector, upsample=upsample)


@needs_dlib
def test_numpy_integer_upsample_is_an_integer():
    img = face_image()
    assert face.detect_face(img, detector="dlib", upsample=np.int64(1)) == face.detect_face(
        img, detector="dlib", upsample=1
    )
    assert face.MAX_UPSAMPLE == 3


def test_bad_or_missing_detector(monkeypatch):
    with pytest.raises(ValueError, match="detector must be one of"):
        face.detect_face(face_image(), detector="yunet")
    monkeypatch.delenv("MEFAST_FACE_CASCADE", raising=False)
    if "haar" not in face.available_detectors():  # OpenCV 5.0 wheels ship no cascades
        with pytest.raises(ImportError, match="MEFAST_FACE_CASCADE"):
            face.detect_face(face_image(), detector="haar")


def test_cascade_file_from_the_environment(monkeypatch, tmp_path):
    from skimage.data import lbp_frontal_face_cascade_filename

    monkeypatch.setenv("MEFAST_FACE_CASCADE", str(tmp_path / "missing.xml"))
    assert "haar" in face.available_detectors()
    with pytest.raises(FileNotFoundError, match="missing.xml"):
        face.detect_face(face_image(), detector="haar")
    # OpenCV's own LBP frontal-face cascade (as scikit-image ships it): OpenCV 4 runs it, OpenCV 5 cannot load it.
    monkeypatch.setenv("MEFAST_FACE_CASCADE", lbp_frontal_face_cascade_filename())
    if cv2.CascadeClassifier(lbp_frontal_face_cascade_filename()).empty():
        with pytest.raises(ValueError, match="could not load"):
            face.detect_face(face_image(), detector="haar")
    else:
        assert _box_matches(face.detect_face(face_image(), detector="haar"), face_landmarks())


# ---------------------------------------------------------------------------------------------------------
# Landmarks


@needs_dlib
def test_dlib_landmarks_match_the_shipped_ones():
    lm = mefast.landmarks68(face_image())
    assert lm.source == "dlib" and not lm.approximate
    assert lm.points.shape == (68, 2) and lm.points.dtype == np.float32
    np.testing.assert_allclose(lm.points, face_landmarks(), atol=2.0)
    full = mefast.landmarks68(astronaut())
    assert _err(full.points, face_landmarks() + OFFSET) < 0.03
    np.testing.assert_array_equal(np.asarray(full), full.points)  # usable as an array


@needs_dlib
def test_model_path_from_argument_and_environment(monkeypatch, tmp_path):
    path = face.dlib_model_path()
    assert path is not None and path.name == "shape_predictor_68_face_landmarks.dat"
    lm = face.landmarks68(face_image(), model=path, method="dlib")
    monkeypatch.setenv("MEFAST_DLIB_MODEL", str(path))
    np.testing.assert_array_equal(face.landmarks68(face_image(), method="dlib").points, lm.points)
    monkeypatch.setenv("MEFAST_DLIB_MODEL", str(tmp_path / "nope.dat"))
    with pytest.raises(FileNotFoundError, match="MEFAST_DLIB_MODEL"):
        face.landmarks68(face_image())
    with pytest.raises(FileNotFoundError, match="from model"):
        face.dlib_model_path(tmp_path / "other.dat")


def test_model_is_located_without_importing_its_package():
    before = "face_recognition_models" in sys.modules
    face.dlib_model_path()
    assert ("face_recognition_models" in sys.modules) == before


def test_dlib_method_without_dlib_fails_clearly(no_dlib):
    assert "dlib" not in face.available_detectors()
    with pytest.raises(ImportError, match=r"mefast\[landmarks\]"):
        face.landmarks68(face_image(), method="dlib")
    with pytest.raises(ImportError, match="not available"):
        face.detect_face(face_image(), detector="dlib")


@pytest.mark.parametrize("detector", DETECTORS)
@pytest.mark.parametrize("mirrored", [False, True])
def test_template_landmarks_are_approximate_but_close(detector, mirrored):
    img = astronaut()
    truth = face_landmarks().astype(np.float64) + OFFSET
    if mirrored:
        img = np.ascontiguousarray(img[:, ::-1])
        truth = np.column_stack([img.shape[1] - 1 - truth[MIRROR, 0], truth[MIRROR, 1]])
    lm = face.landmarks68(img, method="template", detector=detector)
    assert lm.approximate and lm.source == "template"
    assert _err(lm.points, truth) < 0.25


def test_template_follows_the_given_box():
    box = face.detect_face(face_image(), detector="lbp")
    lm = face.landmarks68(face_image(), box, method="template", detector="lbp")
    moved = face.landmarks68(
        face_image(), (box.x + 5, box.y - 3, box.width, box.height), method="template", detector="lbp"
    )
    np.testing.assert_allclose(moved.points - lm.points, np.broadcast_to([5, -3], (68, 2)), atol=1e-4)
    with pytest.raises(ValueError, match="positive width"):
        face.landmarks68(face_image(), (0, 0, -4, 10))
    with pytest.raises(ValueError, match="outside"):
        face.landmarks68(face_image(), (500, 10, 40, 40))


def test_without_dlib_everything_falls_back(no_dlib):
    lm = face.landmarks68(face_image())
    assert lm.approximate and lm.source == "template"
    clip, transform = mefast.crop_align(np.stack([face_image()] * 2), size=(96, 96))
    assert clip.shape == (2, 96, 96, 3) and transform.landmarks.approximate
    assert _err(transform.unmap_points(transform.landmarks.points), face_landmarks()) < 0.25


# ---------------------------------------------------------------------------------------------------------
# Crop and align


def _rotated(img, degrees, centre):
    m = cv2.getRotationMatrix2D(tuple(float(c) for c in centre), degrees, 1.0)
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE), m


def _replicated_warp(frame, matrix, size):
    """OpenCV's warp with a replicated border: what FaceTransform.warp computes, the slow way."""
    h, w = size
    return cv2.warpAffine(frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize(
    ("scale", "degrees", "shift", "padded"),
    [
        (2.0, 5.0, (4.0, -6.0), False),  # the crop inside the frame: no padding
        (1.4, 8.0, (-40.0, 30.0), True),  # past the left and top edges, upsampled, rotated
        (0.9, -12.0, (60.0, -20.0), True),  # past the right and top edges
    ],
)
@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_warp_matches_opencvs_replicated_border(scale, degrees, shift, padded, channels, dtype):
    rng = np.random.default_rng(0)
    shape = (3, 90, 120) if channels is None else (3, 90, 120, channels)
    smooth = cv2.GaussianBlur(rng.random((90, 120 * (channels or 1))).astype(np.float32), (0, 0), 2)
    frame = (255 * smooth / smooth.max()).reshape(shape[1:])
    frames = np.stack([np.roll(frame, k, axis=1) for k in range(3)]).astype(dtype)
    matrix = cv2.getRotationMatrix2D((60.0, 45.0), degrees, scale)
    matrix[:, 2] += shift
    transform = face.FaceTransform(matrix, (100, 110))
    assert (transform._inverse_and_padding((90, 120))[1] is not None) == padded
    got = transform.warp(frames)
    assert got.shape == (3, 100, 110, *(() if channels is None else (channels,))) and got.dtype == dtype
    want = np.stack([_replicated_warp(f, matrix, (100, 110)) for f in frames])
    diff = np.abs(got.astype(np.float64) - want)
    if dtype == np.uint8:  # fixed-point coordinates: at most one grey level, on very few pixels
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=0.5)
    assert np.array_equal(transform.warp(frames[0]), got[0])  # one frame as a clip of one


def test_warp_of_a_degenerate_transform_falls_back_to_opencvs_border():
    # a crop of a 1000-fold enlarged frame: padding it would cost more than the warp, so it is not padded
    matrix = np.array([[0.001, 0.0, 50.0], [0.0, 0.001, 50.0]])
    transform = face.FaceTransform(matrix, (100, 100))
    assert transform._inverse_and_padding((60, 80))[1] is None
    frame = np.arange(60 * 80, dtype=np.float32).reshape(60, 80)
    np.testing.assert_allclose(transform.warp(frame), _replicated_warp(frame, matrix, (100, 100)), rtol=0, atol=0.5)


@pytest.mark.parametrize("method", ["auto", "template"])
def test_crop_align_output_and_transform(method):
    video = np.stack([astronaut()] * 3)
    clip, transform = mefast.crop_align(video, size=(112, 96), method=method)
    assert clip.shape == (3, 112, 96, 3) and clip.dtype == np.uint8
    assert transform.matrix.shape == (2, 3) and transform.size == (112, 96)
    pts = transform.landmarks.points
    # Every landmark and MDMO's forehead regions lie in the crop; the eye line is level.
    assert (pts >= 0).all() and (pts[:, 0] <= 95).all() and (pts[:, 1] <= 111).all()
    assert (pts[17:27, 1] - roi_delta(pts) > 0).all()
    left, right = pts[36:42].mean(0), pts[42:48].mean(0)
    assert abs(left[1] - right[1]) < 1e-3
    # The transform: a similarity, inverse consistent, the same warp for every frame.
    lin = transform.matrix[:, :2]
    assert lin[0, 0] == pytest.approx(lin[1, 1]) and lin[0, 1] == pytest.approx(-lin[1, 0])
    np.testing.assert_allclose(transform.unmap_points(transform.map_points(pts)), pts, atol=1e-4)
    np.testing.assert_array_equal(transform.warp(video[1]), clip[1])
    np.testing.assert_array_equal(clip[0], clip[2])
    again = mefast.crop_align(video, size=(112, 96), method=method)  # deterministic
    np.testing.assert_array_equal(again.video, clip)
    np.testing.assert_array_equal(again.transform.matrix, transform.matrix)


@needs_dlib
def test_crop_align_levels_a_tilted_head_and_maps_landmarks_exactly():
    centre = face_landmarks()[27:36].mean(0) + OFFSET
    tilted, m = _rotated(astronaut(), 12.0, centre)
    clip, transform = mefast.crop_align(tilted[None], size=(128, 128))
    truth = (face_landmarks() + OFFSET) @ m[:, :2].T + m[:, 2]  # the shipped landmarks, tilted
    eye_line = truth[42:48].mean(0) - truth[36:42].mean(0)
    tilt = np.degrees(np.arctan2(eye_line[1], eye_line[0]))  # about -9: the photo's own 3 degrees, then 12 more
    assert transform.rotation == pytest.approx(-tilt, abs=0.5)  # measured 0.18 degrees off
    pts = transform.landmarks.points
    left, right = pts[36:42].mean(0), pts[42:48].mean(0)
    assert abs(left[1] - right[1]) < 1e-3
    # The mapped landmarks are where dlib finds them on the crop itself.
    found = mefast.landmarks68(clip[0])
    assert _err(found.points, pts) < 0.035  # measured 0.014
    # And, mapped back, where the shipped landmarks are once rotated into the tilted frame.
    assert _err(transform.unmap_points(pts), truth) < 0.04  # measured 0.015


def test_crop_align_keeps_the_motion_between_frames():
    frame0 = astronaut()
    shift = np.array([3.0, -2.0])
    frame1 = cv2.warpAffine(frame0, np.array([[1, 0, shift[0]], [0, 1, shift[1]]]), (512, 512))
    clip, transform = mefast.crop_align(np.stack([frame0, frame1]), size=(128, 128), method="template")
    g = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float64) for f in clip]
    (dx, dy), _ = cv2.phaseCorrelate(g[0], g[1], cv2.createHanningWindow((128, 128), cv2.CV_64F))
    np.testing.assert_allclose([dx, dy], transform.matrix[:, :2] @ shift, atol=0.035)  # measured 0.013 px


@pytest.mark.parametrize(
    ("dtype", "out"), [(np.uint8, np.uint8), (np.float32, np.float32), (np.float64, np.float64), (np.int32, np.float32)]
)
def test_crop_align_dtypes_and_grey(dtype, out):
    grey = cv2.cvtColor(face_image(), cv2.COLOR_RGB2GRAY)
    video = np.stack([grey, grey]).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        video = video / 255  # floats lie in [0, 1]
    clip, transform = mefast.crop_align(video, size=(64, 64), detector="lbp", method="template")
    assert clip.shape == (2, 64, 64) and clip.dtype == out


def test_caller_landmarks_and_box():
    video = np.stack([face_image()] * 2)
    clip, transform = mefast.crop_align(video, landmarks=face_landmarks())
    assert transform.landmarks.source == "caller" and not transform.landmarks.approximate
    np.testing.assert_allclose(transform.unmap_points(transform.landmarks.points), face_landmarks(), atol=1e-4)
    template = face.landmarks68(face_image(), method="template", detector="lbp")
    _, t2 = mefast.crop_align(video, landmarks=template)
    assert t2.landmarks.approximate and t2.landmarks.source == "template"
    box = face.detect_face(face_image(), detector="lbp")
    by_box = mefast.crop_align(video, box=box, detector="lbp", method="template")
    by_detector = mefast.crop_align(video, detector="lbp", method="template")
    np.testing.assert_array_equal(by_box.video, by_detector.video)


def test_crop_align_bad_input():
    video = np.stack([face_image()] * 2)
    lm = face_landmarks()
    with pytest.raises(ShapeError, match=r"\(68, 2\)"):
        mefast.crop_align(video, landmarks=lm[:, :1])
    bad = lm.copy()
    bad[3] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        mefast.crop_align(video, landmarks=bad)
    with pytest.raises(ShapeError, match="outside the 280x230 image by more than half its size"):
        mefast.crop_align(video, landmarks=lm + 400)  # far outside: another image's landmarks
    with pytest.raises(ShapeError, match="eye centres"):
        mefast.crop_align(video, landmarks=np.full((68, 2), 50.0))
    with pytest.raises(ShapeError, match=r"\(T, H, W\)"):
        mefast.crop_align(face_image()[..., 0])
    with pytest.raises(ValueError, match="size"):
        mefast.crop_align(video, size=(4, 4), landmarks=lm)
    with pytest.raises(ValueError, match="margin"):
        mefast.crop_align(video, margin=-0.1, landmarks=lm)
    with pytest.raises(ValueError, match="reference"):
        mefast.crop_align(video, reference=2, landmarks=lm)


@pytest.mark.parametrize(
    ("method", "detector"),
    [
        pytest.param("template", "lbp", id="template-lbp"),
        pytest.param(
            "template",
            "haar",
            id="template-haar",
            marks=pytest.mark.skipif("haar" not in face.available_detectors(), reason="no Haar cascade"),
        ),
        pytest.param("dlib", "dlib", id="dlib", marks=needs_dlib),
    ],
)
def test_landmarks68_of_a_tight_crop_are_accepted_back(method, detector):
    # A tight crop (as the corpora's Cropped folders are) cuts the jaw and chin: their landmarks lie just outside.
    tight = np.ascontiguousarray(face_image()[60:150, 45:125])
    lm = face.landmarks68(tight, method=method, detector=detector)
    h, w = tight.shape[:2]
    outside = (lm.points[:, 0] < 0) | (lm.points[:, 0] > w - 1) | (lm.points[:, 1] < 0) | (lm.points[:, 1] > h - 1)
    assert outside.any()  # the case in question
    given = mefast.crop_align(tight[None], landmarks=lm, size=(64, 64))
    detected = mefast.crop_align(tight[None], method=method, detector=detector, size=(64, 64))
    np.testing.assert_array_equal(given.video, detected.video)
    assert face.face_transform(tight, landmarks=lm.points, size=(64, 64)).landmarks.source == "caller"


def test_caller_landmarks_just_outside_the_frame_are_accepted():
    tight = np.ascontiguousarray(face_image()[60:150, 45:125])
    lm = face_landmarks() - (45, 60)  # the full face's landmarks in the crop: jaw and chin outside it
    clip, transform = mefast.crop_align(tight[None], landmarks=lm, size=(64, 64))
    assert clip.shape == (1, 64, 64, 3)
    np.testing.assert_allclose(transform.unmap_points(transform.landmarks.points), lm, atol=1e-3)
    bad = lm.copy()
    bad[8] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        mefast.crop_align(tight[None], landmarks=bad)
