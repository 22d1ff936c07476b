"""TV-L1 speed and accuracy: mefast against OpenCV DualTVL1 and DIS (PRESET_MEDIUM), side by side.

Face-sized pairs (340x280 and 128x128) of the astronaut face warped by a known smooth field with
micro-expression-sized motion (max ~2 px), one thread each; then a batch of 64 pairs on all cores.
The endpoint error (EPE) to the known flow is asserted before timing and reported next to each time.

Run: python -m pytest benchmarks/flow --benchmark-only -q
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import mefast
from mefast.testing import endpoint_error, face_flow_pair

SIZES = {"340x280": (340, 280), "128x128": (128, 128)}


@pytest.fixture(scope="module", params=list(SIZES), ids=list(SIZES))
def pair(request):
    cv2.setNumThreads(1)
    return request.param, face_flow_pair(SIZES[request.param], amplitude=1.0, seed=0)


def _opencv_tvl1(p):
    return cv2.optflow.DualTVL1OpticalFlow_create().calc(p.frame0, p.frame1, None)


def _dis(p):
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(p.frame0, p.frame1, None)


def test_opencv_dualtvl1(benchmark, report, pair):
    size, p = pair
    flow = _opencv_tvl1(p)
    epe = endpoint_error(flow, p.flow)
    assert epe < 0.1
    benchmark.pedantic(_opencv_tvl1, args=(p,), rounds=3, iterations=1)
    report(f"tvl1 {size}, 1 thread", "opencv DualTVL1 (defaults)", benchmark, baseline=True, epe=epe)


def test_opencv_dis_medium(benchmark, report, pair):
    size, p = pair
    epe = endpoint_error(_dis(p), p.flow)
    assert epe < 0.2
    benchmark(_dis, p)
    report(f"tvl1 {size}, 1 thread", "opencv DIS medium", benchmark, epe=epe)


@pytest.mark.parametrize("preset", ["opencv", "accurate", "fast"])
def test_mefast_tvl1(benchmark, report, pair, preset):
    size, p = pair
    run = lambda: mefast.tvl1(p.frame0, p.frame1, params=preset)  # noqa: E731
    epe = endpoint_error(run(), p.flow)
    assert epe < 0.1
    benchmark(run)
    report(f"tvl1 {size}, 1 thread", f"mefast tvl1 preset={preset}", benchmark, epe=epe)


# ---------------------------------------------------------------------------------------------------------
# A batch of 64 pairs with all cores: mefast's thread pool against OpenCV with its own thread pool.


@pytest.fixture(scope="module")
def batch():
    pairs = [face_flow_pair((340, 280), amplitude=1.0, seed=s) for s in range(8)]
    video = np.stack([p.frame1 for p in pairs] + [p.frame0 for p in pairs])  # 16 frames
    i0 = np.tile(np.arange(8, 16), 8).astype(np.int32)
    i1 = np.tile(np.arange(0, 8), 8).astype(np.int32)
    truth = np.stack([pairs[k % 8].flow for k in range(64)])
    return video, i0, i1, truth


@pytest.mark.parametrize("preset", ["opencv", "accurate", "fast"])
def test_mefast_batch64(benchmark, report, batch, preset):
    from mefast import _core

    video, i0, i1, truth = batch
    frames = video.astype(np.float32)
    params = mefast.TVL1Params.preset(preset)._core_dict()
    run = lambda: _core.tvl1_pairs(frames, i0, i1, params, 0)  # noqa: E731
    epe = endpoint_error(run(), truth)
    assert epe < 0.1
    benchmark.pedantic(run, rounds=2, iterations=1)
    report("tvl1 batch of 64 pairs 340x280, all cores", f"mefast preset={preset}", benchmark, epe=epe)


def test_opencv_batch64(benchmark, report, batch):
    video, i0, i1, truth = batch
    n = cv2.getNumberOfCPUs()

    def run():
        cv2.setNumThreads(n)
        of = cv2.optflow.DualTVL1OpticalFlow_create()
        out = np.stack([of.calc(video[a], video[b], None) for a, b in zip(i0, i1, strict=True)])
        cv2.setNumThreads(1)
        return out

    if benchmark.disabled:  # smoke run: check the harness on a few pairs only
        of = cv2.optflow.DualTVL1OpticalFlow_create()
        assert endpoint_error(of.calc(video[i0[0]], video[i1[0]], None), truth[0]) < 0.1
        return
    flows = run()
    epe = endpoint_error(flows, truth)
    benchmark.pedantic(run, rounds=1, iterations=1)
    report(
        "tvl1 batch of 64 pairs 340x280, all cores", "opencv DualTVL1, cv2 threads", benchmark, baseline=True, epe=epe
    )
