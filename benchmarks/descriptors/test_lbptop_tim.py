"""LBP-TOP and TIM: mefast against the NumPy peers, side by side on the same face clips.

* LBP-TOP of a 50x340x280 clip (the astronaut face warped a little more each frame, plus sensor noise),
  8x8 blocks, P=8, R=3, u2: a vectorised NumPy LBP-TOP (the peer, ~50 ns per voxel on these machines)
  against mefast on one thread and on all cores; MEB's setting (overlap 0.7, two-block membership) too.
* LBP-TOP on a 9x40x40 crop of that clip: the brute-force per-voxel reference (the loop structure of MEB's
  pure-Python port) against mefast.
* TIM 60 -> 10 and 70 -> 50 frames at 340x280: the graph-embedding model through a thin SVD (what MEB and the
  MATLAB code do) against mefast's closed form.

Results are asserted equal (LBP-TOP) or within 2e-3 grey levels (TIM) before timing. Times are reported per
voxel (every voxel of the clip) next to the ratio to the peer.

Run: python -m pytest benchmarks/descriptors --benchmark-only -q
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import mefast
from mefast.data import face_image
from mefast.testing import smooth_field, warp_image

_spec = importlib.util.spec_from_file_location(
    "_reference_lbp", Path(__file__).resolve().parents[2] / "tests" / "descriptors" / "_reference_lbp.py"
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

H, W = 340, 280


@pytest.fixture(scope="module")
def face_clip():
    """70 frames of a 340x280 face with micro-expression-sized motion growing over time, uint8."""
    face = cv2.resize(face_image(gray=True), (W, H), interpolation=cv2.INTER_AREA).astype(np.float32)
    field = smooth_field(H, W, 1.0, seed=0)
    rng = np.random.default_rng(0)
    frames = [warp_image(face, field * (t / 69)) + rng.normal(0, 1.0, face.shape) for t in range(70)]
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


LBP = dict(radius=(3, 3, 3), points=(8, 8, 8), blocks=(8, 8))


def _ns_per_voxel(benchmark, voxels):
    stats = getattr(benchmark, "stats", None)
    if stats is None or getattr(benchmark, "disabled", False):
        return float("nan")
    return float(stats.stats.median) / voxels * 1e9


# ---------------------------------------------------------------------------------------------------------
# LBP-TOP, 50x340x280


@pytest.fixture(scope="module")
def clip50(face_clip):
    clip = np.ascontiguousarray(face_clip[:50])
    np.testing.assert_allclose(mefast.lbp_top(clip, **LBP), ref.lbp_top_numpy(clip, **LBP), rtol=1e-6)
    return clip


GROUP = "lbptop 50x340x280 P=8 R=3 u2 8x8"


def test_lbptop_numpy_vectorised(benchmark, report, clip50):
    benchmark.pedantic(ref.lbp_top_numpy, args=(clip50,), kwargs=LBP, rounds=3, iterations=1)
    report(GROUP, "numpy vectorised (paper, 1 thread)", benchmark, baseline=True,
           ns_per_voxel=_ns_per_voxel(benchmark, clip50.size))  # fmt: skip


@pytest.mark.parametrize("threads", [1, None], ids=["1 thread", "all cores"])
def test_lbptop_mefast_paper(benchmark, report, clip50, threads):
    benchmark(mefast.lbp_top, clip50, **LBP, n_threads=threads)
    name = f"mefast paper, {'1 thread' if threads else 'all cores'}"
    report(GROUP, name, benchmark, ns_per_voxel=_ns_per_voxel(benchmark, clip50.size))


def test_lbptop_mefast_meb(benchmark, report, clip50):
    # MEB counts a pixel in its cur block and, if different, its new block: per frame and plane that is
    # 2 Hi Wi - (rows with cur == new) (columns with cur == new) counts (spec 2.6).
    meb = mefast.lbp_top(clip50, **LBP, mode="reference", overlap=0.7)
    hi, wi = H - 6, W - 6
    same_r = sum(a == b for a, b in (ref.legacy_axis(hi, 8, 0.7, r) for r in range(hi)))
    same_c = sum(a == b for a, b in (ref.legacy_axis(wi, 8, 0.7, c) for c in range(wi)))
    assert meb.sum() == 3 * (50 - 6) * (2 * hi * wi - same_r * same_c)
    benchmark(mefast.lbp_top, clip50, **LBP, mode="reference", overlap=0.7, n_threads=1)
    report(GROUP, "mefast meb overlap 0.7, 1 thread", benchmark, ns_per_voxel=_ns_per_voxel(benchmark, clip50.size))


def test_lbptop_mefast_batch(benchmark, report, face_clip):
    # 16 TIM10-like clips (10x340x280) on all cores, one clip per thread.
    clips = [np.ascontiguousarray(face_clip[i : i + 10]) for i in range(0, 64, 4)]
    expected = np.stack([ref.lbp_top_numpy(c, **LBP) for c in clips[:2]])
    np.testing.assert_allclose(mefast.lbp_top_batch(clips[:2], **LBP), expected, rtol=1e-6)
    benchmark(mefast.lbp_top_batch, clips, **LBP)
    voxels = sum(c.size for c in clips)
    report("lbptop batch of 16 clips 10x340x280, all cores", "mefast lbp_top_batch", benchmark,
           ns_per_voxel=_ns_per_voxel(benchmark, voxels))  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# LBP-TOP, brute force on a crop

CROP_GROUP = "lbptop 9x40x40 crop, meb setting"


@pytest.fixture(scope="module")
def crop(face_clip):
    c = np.ascontiguousarray(face_clip[:9, 150:190, 120:160])
    kw = dict(LBP, blocks=(2, 2), mode="reference", overlap=0.7)
    np.testing.assert_array_equal(mefast.lbp_top(c, **kw), ref.lbp_top_ref(c, **kw))
    return c, kw


def test_lbptop_bruteforce_reference(benchmark, report, crop):
    c, kw = crop
    benchmark.pedantic(ref.lbp_top_ref, args=(c,), kwargs=kw, rounds=1, iterations=1)
    report(CROP_GROUP, "brute-force per-voxel reference", benchmark, baseline=True,
           ns_per_voxel=_ns_per_voxel(benchmark, c.size))  # fmt: skip


def test_lbptop_mefast_crop(benchmark, report, crop):
    c, kw = crop
    benchmark(mefast.lbp_top, c, **kw, n_threads=1)
    report(CROP_GROUP, "mefast meb, 1 thread", benchmark, ns_per_voxel=_ns_per_voxel(benchmark, c.size))


# ---------------------------------------------------------------------------------------------------------
# TIM


@pytest.fixture(scope="module", params=[(60, 10), (70, 50)], ids=["60to10", "70to50"])
def tim_case(request, face_clip):
    n, n_out = request.param
    video = np.ascontiguousarray(face_clip[:n])
    with threadpool_limits(1):
        expected = ref.tim_graph_embedding(video, n_out)
    np.testing.assert_allclose(mefast.tim(video, n_out), expected, atol=2e-3)
    return n, n_out, video


def test_tim_svd_model(benchmark, report, tim_case):
    n, n_out, video = tim_case

    def run():
        with threadpool_limits(1):
            return ref.tim_graph_embedding(video, n_out)

    benchmark.pedantic(run, rounds=3, iterations=1)
    report(f"tim {n}->{n_out} 340x280", "SVD graph-embedding model (numpy, 1 thread)", benchmark, baseline=True)


@pytest.mark.parametrize("threads", [1, None], ids=["1 thread", "all cores"])
def test_tim_mefast(benchmark, report, tim_case, threads):
    n, n_out, video = tim_case
    benchmark(mefast.tim, video, n_out, n_threads=threads)
    report(f"tim {n}->{n_out} 340x280", f"mefast closed form, {'1 thread' if threads else 'all cores'}", benchmark)
