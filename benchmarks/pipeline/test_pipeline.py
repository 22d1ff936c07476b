"""Batch preprocessing: a CASME II-sized synthetic corpus into a store, on 2 cores, joblib vs Dask, and a peer.

* ``pipeline all features``: ``mefast.preprocess`` of 255 clips (15 subjects x 17 clips, 340x280 face frames,
  30 to 80 frames from onset to offset) with every feature (flow, strain, LBP-TOP, Bi-WOOF, MDMO, TIM frames)
  on 2 worker processes, with joblib and with a Dask LocalCluster, cold (the first run: its workers start for
  it) and warm (3 more rounds on running workers). Reported: clips/s, ms per clip of every step (summed over
  workers), and the peak resident memory of all processes of the run.
  Goal: under 2 minutes for the 255 clips.
* ``pipeline flow+strain``: the onset->apex flow and strain of 32 clips, mefast.preprocess against the loop
  most ME code runs (OpenCV's DualTVL1 with its defaults, numpy strain) on the same aligned crops, 2 threads.
  The ratio row runs mefast with the same TV-L1 parameters as the peer (preset ``opencv`` = OpenCV's
  defaults); mefast's default preset (``accurate``) is its own row.

Correctness is asserted before timing: stores complete and identical between backends, the stored arrays
equal to the public API on a clip, and each flow row's flow (at the stored 128x128) against the peer's on
the same clips: with the same parameters within a mean endpoint difference of 0.02 px (about 2x what was
measured), the ``accurate`` preset within 0.1 px.

Run: ``python -m pytest benchmarks/pipeline --benchmark-enable --benchmark-only -q -s``. The corpus (about 14 000
JPEG frames) is written once to ``$MEFAST_BENCH_DIR`` (default: the temp dir) and reused. Benchmarks are
disabled by default (CI's smoke run): then the corpus is 3 small clips in pytest's temp dir, the stores are
written in-process, and each body runs once.
"""

from __future__ import annotations

import importlib.util
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

import mefast
from mefast import MEStore
from mefast.face import COARSE_SIZE
from mefast.pipeline import ALL_FEATURES, PreprocessOptions, preprocess

# The corpus writer and run monitor shared with the other pipeline benchmarks (not importable by name under
# pytest's importlib mode).
_spec = importlib.util.spec_from_file_location("_mefast_bench_shared", Path(__file__).with_name("_shared.py"))
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)

N_JOBS = 2
SIZE = (128, 128)
FULL = {"n_subjects": 15, "clips_per_subject": 17, "size": (340, 280), "n_frames": (30, 80)}  # 255 clips
SMALL = {"n_subjects": 1, "clips_per_subject": 3, "size": (128, 128), "n_frames": (8, 10)}


@pytest.fixture(scope="module")
def corpus(smoke, tmp_path_factory):
    cache = tmp_path_factory.mktemp("corpus") if smoke else None  # None: $MEFAST_BENCH_DIR, else the temp dir
    return _shared.synthetic_corpus("casme2", SMALL if smoke else FULL, cache, n_jobs=N_JOBS), smoke


def _run(ds, path: Path, backend: str, features=ALL_FEATURES, n_jobs: int = N_JOBS, options=None, client=None):
    with _shared.PeakMemory() as mem:
        report = preprocess(ds, path, features=features, size=SIZE, backend=backend, n_jobs=n_jobs,
                            options=options, client=client, overwrite=True, progress=False)  # fmt: skip
    assert report.complete, report.summary()
    return report, mem.peak


def _metrics(report, peak: int) -> dict[str, float]:
    per_clip = {f"{k}_ms": 1e3 * v / report.computed for k, v in report.step_seconds.items()}
    return {"clips_per_s": report.computed / report.seconds, "peak_mem_mb": peak / 2**20, **per_clip}


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    """A joblib store of the corpus, checked against the public API on one clip."""
    ds, small = corpus
    path = tmp_path_factory.mktemp("bench") / "ref.zarr"
    report, _ = _run(ds, path, "joblib", n_jobs=1 if small else N_JOBS)  # the smoke run spawns no workers
    st = MEStore.open(path)
    i = len(ds) // 2
    row = ds.samples.iloc[i]
    gray = ds.read_frames(i, gray=True)  # the JPEGs' luma, as preprocess decodes it (here at full size: r = 1)
    clip = mefast.crop_align(gray, size=PreprocessOptions().crop_size, coarse_size=COARSE_SIZE).video  # as preprocess
    apex = ds.frame_numbers[i].index(int(row["apex"])) - ds.frame_numbers[i].index(int(row["onset"]))
    flow = mefast.resize_flow(mefast.tvl1(clip[0], clip[apex], params="accurate"), SIZE)
    np.testing.assert_array_equal(st.read("flow", i), mefast.flow_to_channels_first(flow))
    return st, report


def _fresh_workers(backend: str):
    """What a first run starts its workers on: joblib's loky pool shut down (the next run spawns new processes),
    or, for Dask, None (preprocess starts a LocalCluster for the run)."""
    if backend == "joblib":
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)


@pytest.mark.parametrize("backend", ["joblib", "dask"])
def test_preprocess_all_features(benchmark, report, corpus, reference, tmp_path, backend):
    """The corpus on 2 workers, cold and warm.

    Cold: the first run, its worker processes started for it (each imports mefast, loads the face models and
    Numba's compiled kernels before its first clip); recorded as ``cold_s``. Warm: 3 more rounds on running
    workers (joblib's reused loky pool; a Dask LocalCluster started before them and passed as ``client``), the
    benchmark's timed rounds. Identical work on both sides: same corpus, features, size and 2 workers.
    """
    ds, small = corpus
    if small and backend == "dask":
        pytest.skip("smoke run: the Dask path is exercised by tests/pipeline/test_pipeline_reliability.py")
    ref, _ = reference
    path = tmp_path / f"{backend}.zarr"
    n_jobs = 1 if small else N_JOBS
    result = {}
    _fresh_workers(backend)
    t0 = time.perf_counter()
    _run(ds, path, backend, n_jobs=n_jobs)
    cold_s = time.perf_counter() - t0
    cluster = None
    if backend == "dask":
        from distributed import Client

        from mefast.pipeline._executors import _local_cluster

        cluster = _local_cluster(N_JOBS)  # the cluster preprocess starts, started beforehand
        client = Client(cluster)
        client.run(lambda: None)  # the workers are up before the first timed round
        _run(ds, path, backend, n_jobs=n_jobs, client=client)  # their first run: warm-up, not timed

    def run():
        kw = {"client": client} if cluster is not None else {}
        result["out"] = _run(ds, path, backend, n_jobs=n_jobs, **kw)

    try:
        benchmark.pedantic(run, rounds=1 if small else 3, iterations=1)
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
    rep, peak = result["out"]  # the last round's report and peak memory
    got = MEStore.open(path)
    for name in ref.features:  # identical stores, whichever backend wrote them
        np.testing.assert_array_equal(got.read(name, slice(None)), ref.read(name, slice(None)), err_msg=name)
    report(f"pipeline all features, {len(ds)} clips, {N_JOBS} workers", f"mefast preprocess ({backend})", benchmark,
           baseline=backend == "joblib", cold_s=cold_s, **_metrics(rep, peak))  # fmt: skip
    print(f"\n{backend}: cold {cold_s:.1f} s; {rep.summary()}\npeak memory of all processes: {peak / 2**20:.0f} MiB")


DECODE_ROWS = {
    "grey": "decode only (every frame, as preprocess reads it: grey, 2 threads)",
    "colour": "decode only (every frame in colour, 2 threads)",
}


@pytest.mark.parametrize("mode", list(DECODE_ROWS))
def test_decode_only(benchmark, report, corpus, mode):
    """The floor of any preprocessing: decoding every frame the pipeline reads (onset..offset), 2 threads.

    ``grey`` decodes as preprocess does (a JPEG's luma plane, ``read_frames(gray=True)``; these 340x280 frames
    need no reduced decode): the floor the whole-corpus ratio is taken against. ``colour`` (decode + BGR->RGB)
    is what reading the frames for display costs, shown for reference.
    """
    ds, _ = corpus
    n_frames = {}
    gray = mode == "grey"

    def decode(i: int) -> int:
        return len(ds.read_frames(i, gray=gray))  # cv2.imread releases the GIL

    def run():
        with ThreadPoolExecutor(N_JOBS) as pool:
            n_frames["n"] = sum(pool.map(decode, range(len(ds))))

    benchmark.pedantic(run, rounds=3, iterations=1)
    assert n_frames["n"] >= 8 * len(ds)  # every clip read whole
    report(f"pipeline all features, {len(ds)} clips, {N_JOBS} workers", DECODE_ROWS[mode], benchmark,
           n_frames=n_frames["n"])  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# flow + strain: mefast against the OpenCV DualTVL1 loop of typical ME code, on the same aligned crops.

N_PEER = 32
# Largest mean endpoint difference (px, at the stored 128x128) between the peer's flow and mefast's on the
# same clips: same parameters (preset "opencv"), and mefast's default preset.
AGREEMENT = {"opencv": 0.02, "accurate": 0.1}


def _strain_numpy(flow: np.ndarray) -> np.ndarray:
    uy, ux = np.gradient(flow[..., 0])
    vy, vx = np.gradient(flow[..., 1])
    return np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2).astype(np.float32)


def _peer(ds, rows) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per clip: read the onset and apex frames, align, OpenCV DualTVL1 (defaults), resize, numpy strain."""
    cv2.setNumThreads(N_JOBS)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    crop = PreprocessOptions().crop_size
    out = []
    for i in rows:
        row = ds.samples.iloc[i]
        onset = ds.read_frames(i, int(row["onset"]), int(row["onset"]))[0]
        apex = ds.read_frames(i, int(row["apex"]), int(row["apex"]))[0]
        pair = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (onset, apex)])
        a, b = mefast.crop_align(pair, size=crop, coarse_size=COARSE_SIZE).video  # the face found as preprocess does
        flow = mefast.resize_flow(tvl1.calc(a, b, None), SIZE)
        out.append((flow, _strain_numpy(flow)))
    return out


@pytest.fixture(scope="module")
def peer_rows(corpus):
    ds, small = corpus
    return list(range(1 if small else N_PEER))


@pytest.fixture(scope="module")
def peer_flows(corpus, peer_rows):
    """The peer's flows of the first clips, to check every mefast flow row against before timing."""
    ds, small = corpus
    return _peer(ds, peer_rows[: 1 if small else 4])


def test_flow_strain_peer_opencv_loop(benchmark, report, corpus, peer_rows, peer_flows):
    ds, _ = corpus
    for flow, strain in peer_flows:
        assert np.isfinite(flow).all() and np.abs(flow).max() > 0.05  # the synthetic clips move
        np.testing.assert_allclose(strain, _strain_numpy(flow))
    seconds = []

    def run():
        t0 = time.perf_counter()
        _peer(ds, peer_rows)
        seconds.append(time.perf_counter() - t0)

    benchmark.pedantic(run, rounds=1, iterations=1)
    report(f"pipeline flow+strain, {len(peer_rows)} clips, {N_JOBS} cores", "OpenCV DualTVL1 loop (defaults)",
           benchmark, baseline=True, clips_per_s=len(peer_rows) / seconds[-1])  # fmt: skip


@pytest.mark.parametrize("preset", ["opencv", "accurate"])
def test_flow_strain_mefast(benchmark, report, corpus, peer_rows, peer_flows, tmp_path, preset):
    ds, small = corpus
    sub = ds.subset(peer_rows)
    options = PreprocessOptions(flow=preset)
    n_jobs = 1 if small else N_JOBS
    # accuracy before timing: the first clips against the peer's flows of the same clips
    check = tmp_path / "check.zarr"
    _run(ds.subset(peer_rows[: len(peer_flows)]), check, "joblib", ("flow", "strain"), n_jobs, options)
    st = MEStore.open(check)
    diffs = []
    for k, (flow, _) in enumerate(peer_flows):
        mine = np.moveaxis(st.read("flow", k), 0, -1)
        np.testing.assert_array_equal(st.read("strain", k), mefast.optical_strain(mine))
        diffs.append(float(np.linalg.norm(mine - flow, axis=-1).mean()))
    assert max(diffs) < AGREEMENT[preset], (preset, diffs)
    path = tmp_path / "fs.zarr"
    result = {}

    def run():
        result["out"] = _run(sub, path, "joblib", ("flow", "strain"), n_jobs, options)

    benchmark.pedantic(run, rounds=1, iterations=1)
    rep, peak = result["out"]
    same = " (the peer's TV-L1 parameters)" if preset == "opencv" else " (mefast's default)"
    report(f"pipeline flow+strain, {len(peer_rows)} clips, {N_JOBS} cores", f"mefast preprocess, preset {preset}{same}",
           benchmark, max_flow_diff_to_peer_px=max(diffs), **_metrics(rep, peak))  # fmt: skip
