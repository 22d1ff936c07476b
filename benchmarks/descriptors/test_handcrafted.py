"""LBP-SIP, LBP-MOP, 3DHOG, HIGO, HOOF and Bi-WOOF's ablations: mefast's Numba kernels against the brute-force
NumPy references of the test suite (``tests/descriptors/_reference_handcrafted.py``), one thread, side by side.

* The video descriptors on a random 50x340x280 uint8 clip (CASME II's frame size), 5x5 blocks.
* LBP-SIP against mefast's own LBP-TOP (C++ core) on the same clip with the same radius 3 and 8x8 blocks: the
  reason LBP-SIP exists (six neighbours instead of 3 x 8, 20 bins per block instead of 177).
* HOOF and Bi-WOOF without its local weight on a random 256x256 flow, 5x5 blocks, 8 bins.

mefast's results equal the references (exactly for counts, to float rounding otherwise) before anything is timed.

Run: python -m pytest benchmarks/descriptors/test_handcrafted.py --benchmark-enable --benchmark-only -q
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import mefast

_spec = importlib.util.spec_from_file_location(
    "_reference_handcrafted", Path(__file__).parents[2] / "tests" / "descriptors" / "_reference_handcrafted.py"
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)  # type: ignore[union-attr]

CLIP = "50x340x280 clip, 5x5 blocks"


@pytest.fixture(scope="module")
def clip():
    return np.random.default_rng(0).integers(0, 256, (50, 340, 280), dtype=np.uint8)


@pytest.fixture(scope="module")
def flow():
    rng = np.random.default_rng(1)
    return rng.normal(size=(256, 256, 2)).astype(np.float32), rng.random((256, 256)).astype(np.float32)


VIDEO = {
    "lbpsip": (lambda v: mefast.lbp_sip(v, n_threads=1), ref.lbp_sip, True),
    "lbpmop": (lambda v: mefast.lbp_mop(v, n_threads=1), ref.lbp_mop, True),
    "hog3d": (lambda v: mefast.hog3d(v, n_threads=1), ref.gradient_histograms, False),
    "higo": (lambda v: mefast.higo(v, n_threads=1), lambda v: ref.gradient_histograms(v, weighted=False), True),
}


@pytest.mark.parametrize("name", list(VIDEO))
def test_video_numpy(benchmark, report, clip, name):
    benchmark.pedantic(VIDEO[name][1], args=(clip,), rounds=2, iterations=1)
    report(f"{name} {CLIP}", "NumPy reference (whole-array, bincount per block)", benchmark, baseline=True)


@pytest.mark.parametrize("name", list(VIDEO))
def test_video_mefast(benchmark, report, clip, name):
    mine, theirs, exact = VIDEO[name]
    got, want = mine(clip), theirs(clip)
    if exact:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)  # float32 of the same normalised counts
    else:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    benchmark(mine, clip)
    report(f"{name} {CLIP}", f"mefast.{name} (Numba, 1 thread)", benchmark)


def test_lbp_top_same_clip(benchmark, report, clip):
    benchmark(mefast.lbp_top, clip, radius=3, blocks=(8, 8), n_threads=1)
    report("lbp-sip vs lbp-top 50x340x280 R=3 8x8", "mefast.lbp_top P=8 u2 (C++, 1 thread)", benchmark, baseline=True)


def test_lbp_top_four_points_same_clip(benchmark, report, clip):
    benchmark(mefast.lbp_top, clip, radius=3, points=4, mapping=None, blocks=(8, 8), n_threads=1)
    report("lbp-sip vs lbp-top 50x340x280 R=3 8x8", "mefast.lbp_top P=4 raw codes (C++, 1 thread)", benchmark)


def test_lbp_sip_same_clip(benchmark, report, clip):
    sip = mefast.lbp_sip(clip, radius=3, blocks=(8, 8), normalize="none").reshape(64, 20)
    top = mefast.lbp_top(clip, radius=3, points=4, mapping=None, blocks=(8, 8), normalize="none").reshape(64, 3, 16)
    np.testing.assert_array_equal(sip[:, :16], top[:, 0])
    benchmark(mefast.lbp_sip, clip, radius=3, blocks=(8, 8), n_threads=1)
    report("lbp-sip vs lbp-top 50x340x280 R=3 8x8", "mefast.lbp_sip (Numba, 1 thread)", benchmark)


FLOW = {
    "hoof": (lambda f, s: mefast.hoof(f, n_threads=1), lambda f, s: ref.hoof(f)),
    "biwoof local_weights=False": (
        lambda f, s: mefast.biwoof(f, s, local_weights=False, n_threads=1),
        lambda f, s: ref.biwoof_paper(f, s, local_weights=False),
    ),
}


@pytest.mark.parametrize("name", list(FLOW))
def test_flow_numpy(benchmark, report, flow, name):
    benchmark(FLOW[name][1], *flow)
    report(f"{name} 256x256 flow, 5x5 blocks", "NumPy reference (arctan2, bincount per block)", benchmark,
           baseline=True)  # fmt: skip


@pytest.mark.parametrize("name", list(FLOW))
def test_flow_mefast(benchmark, report, flow, name):
    mine, theirs = FLOW[name]
    np.testing.assert_allclose(mine(*flow), theirs(*flow), rtol=1e-5, atol=1e-7)
    benchmark(mine, *flow)
    report(f"{name} 256x256 flow, 5x5 blocks", "mefast (Numba, 1 thread)", benchmark)
