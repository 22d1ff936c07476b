"""The long-video feature pass of spotting at 640x480, against an OpenCV loop doing the same work; its memory.

* ``spotting feature pass``: frames/s of :func:`mefast.spotting.long_video_features` on 640x480 grey frames of a
  synthetic recording (face moved by planted expressions, blinks and drift) with the defaults for a 30 fps corpus
  (lags 4 and 14: flow ``t -> t+k`` per lag, optical strain, block LBP histograms and MDMD block values at
  128x128, 6x6 blocks), 2 threads, against a loop of what ME spotting code does per frame with OpenCV and NumPy:
  ``cv2.resize``, OpenCV's DualTVL1 with the same TV-L1 settings as mefast's ``fast`` preset (3 levels x 0.5,
  2 warps, 15 inner iterations, no median filter) for each lag, strain by ``np.gradient``, LBP codes by NumPy
  shifts and per-block ``np.bincount``, MDMD per block in NumPy. Goal: faster than the corpora's 30 fps capture.
* ``spotting memory``: peak traced memory (tracemalloc) and growth of the resident memory of the pass over a
  lazily generated 10 000-frame 640x480 video, the features consumed chunk by chunk (as the store writer does),
  after a short warm-up run (JIT compilation and imports are one-time costs, not per-video memory).

Correctness first: the peer's block flow magnitudes agree with mefast's (same frames, same lags) within 0.05 px
on average, and the memory run covers every frame.

Run: ``python -m pytest benchmarks/spotting --benchmark-enable --benchmark-only -q -s``. With benchmarks disabled
(CI's smoke run) the videos are 40 frames and each body runs once.
"""

from __future__ import annotations

import time
import tracemalloc

import cv2
import numpy as np
import psutil
import pytest

from mefast.spotting import FeatureOptions, iter_features, long_video_features
from mefast.spotting._features import FrameGeometry, _u2_table, block_lbp
from mefast.spotting._synthetic import iter_frames, make_long_recording

SIZE = (480, 640)
LAGS = (4, 14)
THREADS = 2


def _full(config) -> bool:
    return bool(config.getoption("benchmark_enable", False))


@pytest.fixture(scope="module")
def recording(request):
    n = 330 if _full(request.config) else 32
    rec = make_long_recording(11, n_frames=max(n, 240), n_micro=2, n_macro=1, n_blinks=2, grey=True)
    frames = [cv2.resize(f, SIZE[::-1], interpolation=cv2.INTER_CUBIC) for f in iter_frames(rec, 0, n)]
    lm = rec.landmarks * np.array([SIZE[1] / 128, SIZE[0] / 128])
    return frames, lm


def _options(n_threads: int = THREADS) -> FeatureOptions:
    return FeatureOptions(lags=LAGS, features=("lbp", "mag", "strain", "mdmd"), n_threads=n_threads)


def _peer(frames: list[np.ndarray], lm: np.ndarray) -> dict[str, np.ndarray]:
    """What a spotting script does per frame with OpenCV and NumPy (same geometry and work as mefast's pass)."""
    cv2.setNumThreads(THREADS)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create(
        scaleStep=0.5, nscales=3, warps=2, innnerIterations=15, outerIterations=1, epsilon=0.02, medianFiltering=1
    )
    small = [cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA).astype(np.float32) for f in frames]
    smooth = [cv2.GaussianBlur(f, (0, 0), 0.8).astype(np.uint8) for f in small]  # mefast's presmoothing
    geo = FrameGeometry((128, 128), (6, 6), lm * np.array([128 / SIZE[1], 128 / SIZE[0]]), True)
    ys, xs = geo.nose
    table = _u2_table()
    n = len(frames)
    out: dict[str, list] = {"lbp": []}
    for t in range(n):
        out["lbp"].append(block_lbp(small[t][None], geo, table)[0])  # same histogram code: the flows are the work
    flows: dict[int, list] = {}
    for k in LAGS:
        fl = []
        for t in range(n):
            if t + k < n:
                f = tvl1.calc(smooth[t], smooth[t + k], None)
                f -= f[ys, xs].mean(axis=(0, 1))
            else:
                f = np.full((128, 128, 2), np.nan, np.float32)
            fl.append(f)
        flows[k] = fl
        mags, strains, mdmds = [], [], []
        for t in range(n):
            f = fl[t]
            mag = np.hypot(f[..., 0], f[..., 1])
            uy, ux = np.gradient(f[..., 0])
            vy, vx = np.gradient(f[..., 1])
            strain = np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2)
            inner = geo.block_of
            keep = inner >= 0
            cnt = np.maximum(geo.block_count, 1)
            mags.append(np.bincount(inner[keep], weights=mag[1:-1, 1:-1][keep], minlength=36) / cnt)
            strains.append(np.bincount(inner[keep], weights=strain[1:-1, 1:-1][keep], minlength=36) / cnt)
            if t + 2 * k < n:
                f2 = f + fl[t + k]
                d = (mag - np.hypot(f2[..., 0], f2[..., 1]))[1:-1, 1:-1]
                u, v = f[1:-1, 1:-1, 0], f[1:-1, 1:-1, 1]
                q = np.where(v < 0, np.where(u >= 0, 1, 0), np.where(u >= 0, 2, 3))
                vals = np.zeros(36)
                for b in range(36):
                    m = inner == b
                    qb, db = q[m], d[m]
                    sel = np.sort(db[qb == np.bincount(qb, minlength=4).argmax()])[::-1]
                    vals[b] = sel[: -(-len(sel) // 3)].mean()
                mdmds.append(vals)
            else:
                mdmds.append(np.full(36, np.nan))
        out[f"mag{k}"], out[f"strain{k}"], out[f"mdmd{k}"] = mags, strains, mdmds
    return {name: np.asarray(v, np.float32) for name, v in out.items()}


@pytest.fixture(scope="module")
def reference(recording):
    frames, lm = recording
    n = min(len(frames), 40)
    return _peer(frames[:n], lm), long_video_features(frames[:n], _options(), landmarks=lm)


def test_feature_pass_peer_opencv_loop(benchmark, report, recording, reference):
    peer, mine = reference
    for k in LAGS:
        a, b = peer[f"mag{k}"], mine[f"mag{k}"]
        ok = np.isfinite(a).all(1)
        assert np.abs(a[ok] - b[ok]).mean() < 0.05, k  # same features, two TV-L1 implementations
    frames, lm = recording
    _time_feature_pass(benchmark, report, "OpenCV DualTVL1 + NumPy loop", _peer, frames, lm, baseline=True)


def test_feature_pass_mefast(benchmark, report, recording):
    frames, lm = recording
    name = "mefast long_video_features"
    _time_feature_pass(benchmark, report, name, long_video_features, frames, _options(), landmarks=lm)


def _time_feature_pass(benchmark, report, name: str, compute, frames, *args, baseline: bool = False, **kwargs) -> None:
    """Time one feature pass ``compute(frames, *args, **kwargs)`` (one round) and record it with its frames/s."""
    secs = []

    def run():
        t0 = time.perf_counter()
        compute(frames, *args, **kwargs)
        secs.append(time.perf_counter() - t0)

    benchmark.pedantic(run, rounds=1, iterations=1)
    report(f"spotting feature pass, {len(frames)} frames 640x480, {THREADS} cores", name, benchmark,
           baseline=baseline, frames_per_s=len(frames) / secs[-1])  # fmt: skip


def _lazy_video(n: int):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((SIZE[0] + 16, SIZE[1] + 16)).astype(np.float32) * 255, (0, 0), 3.0)
    for t in range(n):
        m = np.float32([[1, 0, 4 + 2 * np.sin(t / 30)], [0, 1, 8]])
        yield cv2.warpAffine(base, m, (SIZE[1], SIZE[0])).astype(np.uint8)


def test_memory_10000_frames(benchmark, report, request):
    n = 10_000 if _full(request.config) else 32
    proc = psutil.Process()
    result = {}

    opts = FeatureOptions(lags=(4,), n_threads=THREADS)
    for _ in iter_features(_lazy_video(3 * opts.chunk), opts, landmarks=None):  # one-time costs (JIT, imports) first
        pass

    def run():
        rss0 = proc.memory_info().rss
        peak_rss = rss0
        tracemalloc.start()
        count = 0
        try:
            for chunk in iter_features(_lazy_video(n), opts, landmarks=None):
                count += len(chunk)
                peak_rss = max(peak_rss, proc.memory_info().rss)
            result["traced"] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        result["count"], result["rss_growth"] = count, peak_rss - rss0

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert result["count"] == n
    video_mb = n * SIZE[0] * SIZE[1] / 2**20
    report(f"spotting memory, {n} frames 640x480", "mefast iter_features (lags 4, default features)", benchmark,
           peak_traced_mib=result["traced"] / 2**20, rss_growth_mib=result["rss_growth"] / 2**20,
           video_as_uint8_mib=video_mb)  # fmt: skip
