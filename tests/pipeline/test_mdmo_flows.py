"""MDMO computed at a reduced resolution (PreprocessOptions.mdmo_size) stays close to the crop-resolution one.

Tolerance (paper mode, synthetic face clips with smooth motion growing over the clip, 256 -> 128): the 36
normalised magnitudes correlate at >= 0.95, the complex region vectors ``rho * exp(i theta)`` have a cosine
similarity >= 0.95 and the median angle differs by < 0.2 rad. For scale: computing the full-resolution flows
with the ``opencv`` preset instead of ``fast`` moves MDMO by about as much (rho correlation 0.95-0.98, cosine
0.97, median angle 0.19-0.22 rad, measured on the same clips).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

import mefast
from mefast.data import face_image, face_landmarks
from mefast.flow import TVL1Params
from mefast.pipeline._features import PreprocessOptions, compute_features
from mefast.pipeline._mdmo_flows import mdmo_feature, mdmo_grid
from mefast.testing import smooth_field, warp_image

CROP = (256, 256)
FAST = TVL1Params.preset("per-frame")  # what preprocess uses for MDMO's flows (PreprocessOptions.mdmo_flow)


@pytest.fixture(scope="module")
def face():
    img = face_image()
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    video, transform = mefast.crop_align(gray[None], size=CROP, landmarks=face_landmarks())
    return video[0], np.asarray(transform.landmarks.points, np.float64)


def _clip(face, seed, n=12):
    base = smooth_field(*CROP, 2.0, seed=seed)
    frames = [warp_image(face.astype(np.float32), (t / (n - 1)) * base) for t in range(n)]
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", [0, 1])
def test_half_resolution_mdmo_is_close(face, seed):
    img, lm = face
    clip = _clip(img, seed)
    full = mdmo_feature(clip, lm, size=CROP, params=FAST, mdmo_options={}, n_threads=1)
    half = mdmo_feature(clip, lm, size=(128, 128), params=FAST, mdmo_options={}, n_threads=1)
    rf, rh, tf, th = full[0::2], half[0::2], full[1::2], half[1::2]
    assert rf.max() == pytest.approx(1.0) and rh.max() == pytest.approx(1.0)
    assert np.corrcoef(rf, rh)[0, 1] >= 0.95
    zf, zh = rf * np.exp(1j * tf), rh * np.exp(1j * th)
    assert np.real(np.vdot(zh, zf)) / (np.linalg.norm(zf) * np.linalg.norm(zh)) >= 0.95
    assert np.median(np.abs((tf - th + np.pi) % (2 * np.pi) - np.pi)) < 0.2


def test_full_size_is_the_plain_computation(face):
    img, lm = face
    clip = _clip(img, 2, n=4)
    got = mdmo_feature(clip, lm, size=CROP, params=FAST, mdmo_options={}, n_threads=1)
    want = mefast.mdmo(mefast.compute_flow(clip, reference="first", params=FAST), lm)
    np.testing.assert_array_equal(got, want)


def test_downscaled_landmarks_follow_the_resize(face):
    """A pure translation of (2, -4) crop pixels is (1, -2) at half size: every region points the same way."""
    img, lm = face
    shifted = np.roll(img, (-4, 2), axis=(0, 1))
    clip = np.stack([img, shifted])
    feat = mdmo_feature(clip, lm, size=(128, 128), params=FAST, mdmo_options={"align": False}, n_threads=1)
    theta = feat[1::2][feat[0::2] > 0.5]
    assert len(theta) > 30
    expect = np.arctan2(-4.0, 2.0) % (2 * np.pi)
    assert np.median(np.abs((theta - expect + np.pi) % (2 * np.pi) - np.pi)) < 0.15


def test_grid_rules():
    assert mdmo_grid((256, 256), (128, 128), {}) == (128, 128)
    assert mdmo_grid((96, 200), (128, 128), {}) == (96, 128)  # never larger than the crop
    assert mdmo_grid((256, 256), None, {}) == (256, 256)
    assert mdmo_grid((256, 256), (128, 128), {"mode": "reference"}) == (256, 256)  # MEB's absolute numbers
    assert mdmo_grid((256, 256), (128, 128), {"delta": 30.0}) == (256, 256)  # delta is in crop pixels


def test_options_validate_and_pipeline_uses_the_grid(face):
    with pytest.raises(ValueError, match="mdmo_size"):
        PreprocessOptions(mdmo_size=(8, 8))
    assert PreprocessOptions().mdmo_size == (128, 128)
    assert PreprocessOptions(mdmo_size=None).to_dict()["mdmo_size"] is None
    img, lm = face
    clip = _clip(img, 3, n=4)
    rgb = np.repeat(clip[..., None], 3, axis=-1)
    opts = PreprocessOptions(crop_size=CROP, align="none", face={"method": "template"})
    out, _ = compute_features(rgb, 2, features=["mdmo"], size=(64, 64), options=opts)
    # align="none" finds the landmarks on the onset frame; the MDMO is the one computed at 128 x 128 with them
    from mefast.pipeline._features import _landmarks

    marks = _landmarks(clip[0], opts)
    np.testing.assert_array_equal(out["mdmo"], mdmo_feature(clip, marks, size=(128, 128), params=FAST,
                                                            mdmo_options={}, n_threads=1, warm_start=True))  # fmt: skip
    # mdmo_warm_start=False: every flow computed from scratch, as compute_flow without warm_start
    cold = dataclasses.replace(opts, mdmo_warm_start=False)
    out, _ = compute_features(rgb, 2, features=["mdmo"], size=(64, 64), options=cold)
    np.testing.assert_array_equal(out["mdmo"], mdmo_feature(clip, marks, size=(128, 128), params=FAST,
                                                            mdmo_options={}, n_threads=1))  # fmt: skip
    with pytest.raises(TypeError, match="mdmo_warm_start must be a bool"):
        PreprocessOptions(mdmo_warm_start="yes")
    assert PreprocessOptions().mdmo_warm_start is True and cold.to_dict()["mdmo_warm_start"] is False
