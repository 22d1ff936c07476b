"""Bi-WOOF and MDMO: mefast's Numba kernels against straightforward NumPy versions of the same definitions,
per clip, one thread; and face detection / 68-point landmarks per frame.

* Bi-WOOF (paper mode, 5x5 blocks, 8 bins) of an onset->apex flow of the astronaut face at 128x128 and
  256x256 (the known flow of ``mefast.testing.face_flow_pair``; its optical strain given to both sides). The
  NumPy version: ``arctan2``/``hypot`` over the image, then ``np.histogram`` with magnitude weights per block.
* MDMO (paper mode, with optical-flow-driven alignment) of a 30-frame clip of flows from the first frame, on
  the face aligned into 128x128 and 256x256 crops. The NumPy version: the region masks, a least-squares
  affine fit on the rigid landmarks per frame, then per frame and region the 8-bin main direction and its
  mean vector with boolean masks and ``np.bincount``.
* Face detection and landmarks on one 512x512 grey frame (scikit-image's astronaut): dlib's HOG detector
  called directly with upsampling 0 (the baseline: the same work as ``mefast.detect_face(detector="dlib",
  upsample=0)``, mefast's default on a frame where the face is found without upsampling), dlib with MEB's
  upsampling of 2 as its own row (a different amount of work, not a speed-up), mefast's ``detect_face`` with
  each available detector, and ``landmarks68`` (dlib's shape predictor, or the mean-shape template).

mefast's results equal the NumPy versions (to float rounding) before anything is timed.

Run: python -m pytest benchmarks/descriptors/test_biwoof_mdmo.py --benchmark-enable --benchmark-only -q
"""

from __future__ import annotations

import numpy as np
import pytest

import mefast
from mefast import face
from mefast.data import face_image, face_landmarks
from mefast.descriptors import mdmo_roi_masks
from mefast.descriptors.roi import RIGID_LANDMARKS
from mefast.testing import face_flow_pair, smooth_field

SIZES = {"128x128": (128, 128), "256x256": (256, 256)}


# ---------------------------------------------------------------------------------------------------------
# Straightforward NumPy versions of the two definitions (paper mode)


def numpy_biwoof(flow, strain, blocks=(5, 5), bins=8):
    h, w = strain.shape
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    mag, theta = np.hypot(u, v), np.arctan2(v, u)
    theta[theta >= np.pi] = -np.pi  # 180 degrees wraps to -180
    sh, sw = h // blocks[0], w // blocks[1]
    feats = []
    for r in range(blocks[0]):
        for c in range(blocks[1]):
            rows = slice(r * sh, h if r == blocks[0] - 1 else (r + 1) * sh)
            cols = slice(c * sw, w if c == blocks[1] - 1 else (c + 1) * sw)
            hist, _ = np.histogram(theta[rows, cols], bins=bins, range=(-np.pi, np.pi), weights=mag[rows, cols])
            total = hist.sum()
            feats.append(hist / total * strain[rows, cols].mean() if total > 0 else np.zeros(bins))
    out = np.concatenate(feats)
    norm = np.linalg.norm(out)
    return out / norm if norm > 0 else out


def numpy_mdmo(flows, landmarks):
    n, h, w = flows.shape[:3]
    masks = mdmo_roi_masks(landmarks, (h, w))
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    rigid = landmarks[list(RIGID_LANDMARKS)]
    ix, iy = np.floor(rigid[:, 0]).astype(int), np.floor(rigid[:, 1]).astype(int)
    fx, fy = (rigid[:, 0] - ix)[:, None], (rigid[:, 1] - iy)[:, None]
    vectors = np.zeros((n, 36, 2))
    for f in range(n):
        fl = flows[f].astype(np.float64)
        at = (
            fl[iy, ix] * (1 - fx) * (1 - fy)
            + fl[iy, ix + 1] * fx * (1 - fy)
            + fl[iy + 1, ix] * (1 - fx) * fy
            + fl[iy + 1, ix + 1] * fx * fy
        )
        design = np.column_stack([rigid + at, np.ones(len(rigid))])
        coef = np.linalg.lstsq(design, rigid, rcond=None)[0]
        xs, ys = gx + fl[..., 0], gy + fl[..., 1]
        u = coef[0, 0] * xs + coef[1, 0] * ys + coef[2, 0] - gx
        v = coef[0, 1] * xs + coef[1, 1] * ys + coef[2, 1] - gy
        moving = np.hypot(u, v) >= 1e-6
        b = np.floor(np.mod(np.arctan2(v, u), 2 * np.pi) / (np.pi / 4) + 0.5).astype(int) % 8
        for k, m in enumerate(masks):
            sel = m & moving
            if not sel.any():
                continue
            bk = b[sel]
            main = bk == np.argmax(np.bincount(bk, minlength=8))
            vectors[f, k] = u[sel][main].mean(), v[sel][main].mean()
    mean = vectors.mean(axis=0)
    rho = np.hypot(mean[:, 0], mean[:, 1])
    theta = np.where(rho > 0, np.mod(np.arctan2(mean[:, 1], mean[:, 0]), 2 * np.pi), 0.0)
    rho = rho / rho.max() if rho.max() > 0 else rho
    return np.column_stack([rho, theta]).ravel()


# ---------------------------------------------------------------------------------------------------------
# Bi-WOOF


@pytest.fixture(scope="module", params=list(SIZES), ids=list(SIZES))
def apex_flow(request):
    flow = face_flow_pair(SIZES[request.param], amplitude=1.0, seed=0).flow
    return request.param, flow, mefast.optical_strain(flow)


def test_biwoof_numpy(benchmark, report, apex_flow):
    size, flow, strain = apex_flow
    np.testing.assert_allclose(mefast.biwoof(flow, strain), numpy_biwoof(flow, strain), rtol=1e-5, atol=1e-7)
    benchmark(numpy_biwoof, flow, strain)
    report(f"biwoof {size} flow, one clip", "NumPy (arctan2 + np.histogram per block)", benchmark, baseline=True)


def test_biwoof_mefast(benchmark, report, apex_flow):
    size, flow, strain = apex_flow
    mefast.biwoof(flow, strain, n_threads=1)  # compiled before timing
    benchmark(mefast.biwoof, flow, strain, n_threads=1)
    report(f"biwoof {size} flow, one clip", "mefast.biwoof (Numba, 1 thread)", benchmark)


# ---------------------------------------------------------------------------------------------------------
# MDMO


@pytest.fixture(scope="module", params=list(SIZES), ids=list(SIZES))
def flow_clip(request):
    """30 flows from the first frame of a face crop (MDMO's input) and the first frame's landmarks."""
    h, w = SIZES[request.param]
    _, transform = mefast.crop_align(face_image()[None], size=(h, w), landmarks=face_landmarks())
    base = smooth_field(h, w, 1.0, seed=1)
    rng = np.random.default_rng(1)
    flows = np.stack([(t / 30) * base + rng.normal(0, 0.05, base.shape) for t in range(1, 31)]).astype(np.float32)
    return request.param, flows, transform.landmarks.points.astype(np.float64)


def test_mdmo_numpy(benchmark, report, flow_clip):
    size, flows, lm = flow_clip
    got, ref = mefast.mdmo(flows, lm), numpy_mdmo(flows, lm)
    np.testing.assert_allclose(got[0::2], ref[0::2], atol=1e-5)
    assert np.abs((got[1::2] - ref[1::2] + np.pi) % (2 * np.pi) - np.pi).max() < 1e-5
    benchmark.pedantic(numpy_mdmo, args=(flows, lm), rounds=3, iterations=1)
    report(f"mdmo 30 flows {size}, one clip", "NumPy (masks, lstsq, bincount)", benchmark, baseline=True)


def test_mdmo_mefast(benchmark, report, flow_clip):
    size, flows, lm = flow_clip
    mefast.mdmo(flows, lm)  # compiled before timing
    benchmark(mefast.mdmo, flows, lm)
    report(f"mdmo 30 flows {size}, one clip", "mefast.mdmo (Numba, 1 thread)", benchmark)


def test_mdmo_meb_mode(benchmark, report, flow_clip):
    size, flows, lm = flow_clip
    assert np.isfinite(mefast.mdmo(flows, lm, mode="reference")).all()
    benchmark(mefast.mdmo, flows, lm, mode="reference")
    report(f"mdmo 30 flows {size}, one clip", "mefast.mdmo mode='reference' (cv2 angles + Numba)", benchmark)


# ---------------------------------------------------------------------------------------------------------
# Face detection and landmarks, per 512x512 frame


@pytest.fixture(scope="module")
def frame():
    from skimage.data import astronaut

    return np.ascontiguousarray(astronaut())


def _has_dlib():
    return "dlib" in face.available_detectors()


def _inside(box, truth) -> bool:
    return box.x < truth[:, 0].mean() < box.x + box.width and box.y < truth[:, 1].mean() < box.y + box.height


@pytest.mark.parametrize("upsample", [0, 2], ids=["upsample 0 (mefast's)", "upsample 2 (MEB's)"])
def test_face_dlib_direct(benchmark, report, frame, upsample):
    if not _has_dlib():
        pytest.skip("dlib is not installed")
    import cv2
    import dlib

    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    detector = dlib.get_frontal_face_detector()
    rects = detector(gray, upsample)
    assert len(rects) >= 1
    r = max(rects, key=lambda r: r.width() * r.height())
    assert _inside(face.FaceBox(r.left(), r.top(), r.width(), r.height()), face_landmarks() + (140, 20))
    # equal rounds for the two sides of the same-work ratio: their fastest rounds are compared
    benchmark.pedantic(detector, args=(gray, upsample), rounds=10 if upsample == 0 else 3, iterations=1)
    name = f"dlib HOG called directly, upsample {upsample}" + (" (MEB's setting)" if upsample else "")
    report("face per 512x512 frame", name, benchmark, baseline=upsample == 0, upsample=upsample)


@pytest.mark.parametrize("detector", face.available_detectors())
def test_face_detect(benchmark, report, frame, detector):
    import cv2

    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)  # the same input as the direct dlib rows
    kwargs = {"detector": detector, "upsample": 0} if detector == "dlib" else {"detector": detector}
    box = face.detect_face(gray, **kwargs)
    assert _inside(box, face_landmarks() + (140, 20))
    benchmark.pedantic(face.detect_face, args=(gray,), kwargs=kwargs, rounds=10, iterations=1)
    suffix = ", upsample 0" if detector == "dlib" else ""
    report("face per 512x512 frame", f"mefast.detect_face detector={detector!r}{suffix}", benchmark)


@pytest.mark.parametrize("method", ["dlib", "template"])
def test_face_landmarks(benchmark, report, frame, method):
    if method == "dlib" and (not _has_dlib() or face.dlib_model_path() is None):
        pytest.skip("dlib or its 68-point model is not installed")
    box = face.detect_face(frame)
    lm = face.landmarks68(frame, box, method=method)
    err = float(np.linalg.norm(lm.points - (face_landmarks() + (140, 20)), axis=1).mean())
    assert err < (2.0 if method == "dlib" else 15.0)
    benchmark(face.landmarks68, frame, box, method=method)
    report("face per 512x512 frame", f"mefast.landmarks68 method={method!r} (given box)", benchmark, err_px=err)


def test_crop_align_clip(benchmark, report, frame):
    video = np.stack([frame] * 30)
    clip, _ = mefast.crop_align(video, size=(128, 128))
    assert clip.shape == (30, 128, 128, 3)
    benchmark.pedantic(mefast.crop_align, args=(video,), kwargs={"size": (128, 128)}, rounds=3, iterations=1)
    report("face per 512x512 frame", "mefast.crop_align, 30 frames (detect + landmarks once)", benchmark)
