"""MDMO step of preprocessing per clip: flows at the crop's resolution against ``PreprocessOptions.mdmo_size``.

``mdmo step per clip``: the ``mdmo`` feature of one aligned 256 x 256 grey clip of 67 frames (CASME II's mean
onset-to-offset length), the onset -> every-frame TV-L1 flows (``PreprocessOptions().mdmo_flow``, 1 thread) plus
MDMO (paper mode),
as ``mefast.preprocess`` runs it: at the crop's resolution (``mdmo_size=None``, the baseline: how it ran before)
and downscaled to 128 x 128 (the default). The clip is the face of ``mefast.data.face_image`` warped by a smooth
field growing over the clip. Each row reports how close its MDMO is to the baseline's: the correlation of the 36
normalised magnitudes and the cosine similarity of the complex region vectors (tests/pipeline/test_mdmo_flows.py
asserts both >= 0.95).

Run: ``python -m pytest benchmarks/perf/test_mdmo_resolution.py --benchmark-enable --benchmark-only -q``.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import mefast
from mefast.data import face_image, face_landmarks
from mefast.pipeline import PreprocessOptions
from mefast.pipeline._mdmo_flows import mdmo_feature
from mefast.testing import smooth_field, warp_image

CROP = (256, 256)
FAST = PreprocessOptions().mdmo_flow  # the settings preprocess uses for these flows (a TVL1Params)


@pytest.fixture(scope="module")
def clip(smoke):
    n = 8 if smoke else 67
    img = face_image()
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    video, transform = mefast.crop_align(gray[None], size=CROP, landmarks=face_landmarks())
    base = smooth_field(*CROP, 2.0, seed=0)
    frames = [warp_image(video[0].astype(np.float32), (t / (n - 1)) * base) for t in range(n)]
    clip = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    lm = np.asarray(transform.landmarks.points, np.float64)
    ref = mdmo_feature(clip, lm, size=CROP, params=FAST, mdmo_options={}, n_threads=1)
    return clip, lm, ref


@pytest.mark.parametrize("size", [CROP, (128, 128)], ids=["256x256 (crop)", "128x128 (mdmo_size)"])
def test_mdmo_step(benchmark, report, clip, size):
    frames, lm, ref = clip
    got = mdmo_feature(frames, lm, size=size, params=FAST, mdmo_options={}, n_threads=1)
    rho_corr = float(np.corrcoef(ref[0::2], got[0::2])[0, 1])
    z0, z1 = ref[0::2] * np.exp(1j * ref[1::2]), got[0::2] * np.exp(1j * got[1::2])
    cosine = float(np.real(np.vdot(z1, z0)) / (np.linalg.norm(z0) * np.linalg.norm(z1)))
    assert rho_corr >= 0.95 and cosine >= 0.95
    benchmark.pedantic(
        mdmo_feature, args=(frames, lm), kwargs={"size": size, "params": FAST, "mdmo_options": {}, "n_threads": 1},
        rounds=3, iterations=1,
    )  # fmt: skip
    name = f"flows + MDMO at {size[0]}x{size[1]}" + (" (before: crop resolution)" if size == CROP else " (default)")
    report(f"mdmo step per clip, {len(frames)} frames 256x256 crop", name, benchmark, baseline=size == CROP,
           rho_corr=rho_corr, cosine=cosine)  # fmt: skip
