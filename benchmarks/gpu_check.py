#!/usr/bin/env python3
"""Every GPU check of mefast in one run (a few minutes on one H100): CUDA against the CPU core for every
function with stated tolerances, then throughput against the peers. Prints a summary table; exits 1 if a
check fails.

Run it from the repository on a machine with an NVIDIA GPU::

    python benchmarks/gpu_check.py                 # builds what is missing, then checks (about 2 + 2 minutes)
    python benchmarks/gpu_check.py --json out.json # also writes every number as JSON

Needs Python >= 3.11 with numpy, pybind11, cmake and ninja (or make), and nvcc (on PATH or in
/usr/local/cuda/bin). If ``import mefast._cuda`` fails, the script builds ``mefast._core`` and ``mefast._cuda``
for this interpreter with CMake into ``build/gpu-check/`` (``-DMEFAST_CUDA=ON``, for the GPU it runs on:
``CMAKE_CUDA_ARCHITECTURES=native``) and imports the package from there; the equivalent install is
``MEFAST_CUDA=ON pip install --no-build-isolation -e .``. OpenCV's DualTVL1, the throughput peer, needs
``cv2.optflow`` (opencv-contrib-python-headless): without it that row says so and the TV-L1 ratio is given
against mefast's own single-thread CPU core only. On a GPU machine without network, bring the wheel along::

    pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
        -d wheels opencv-contrib-python-headless            # where the network is
    pip install --no-deps --target /tmp/site wheels/*.whl   # on the GPU machine
    PYTHONPATH=/tmp/site python benchmarks/gpu_check.py

``--emulate`` runs the whole script without a GPU on the kernels' host emulation (small inputs; the numbers
mean nothing), to test the script itself where mefast._cuda is built.

Checks (tolerances are printed with each row):

* ``tvl1_pairs``: the three presets and gamma + 3x3 median on face pairs of 340x280 with known flow; batching
  (``batch_size=1``) against one batch. Same algorithm as the CPU core, float rounding only, so the mean
  difference is tiny; a rare pixel near a median-filter or thresholding switch can move further, hence a
  looser bound on the maximum. The endpoint errors to the known flow must agree.
* ``optical_strain``: the three derivative schemes, exact up to float rounding.
* ``lbp_top`` and ``tim`` (when the module has them): the same numbers as the CPU core.
* ``preprocess``: clips/s of the whole preprocessing of a CASME II-sized synthetic corpus (every default
  feature, every core as workers) with ``device="cuda"`` next to the CPU, the two stores checked to agree.
* Throughput at 340x280: TV-L1 pairs/s for batches of 1, 16 and 256 distinct face pairs (every pair its own
  two frames, so a batch of b pairs builds 2 b image pyramids: no frame is shared or repeated) with OpenCV's
  default parameters against OpenCV's single-thread DualTVL1 with identical parameters (goal: >= 1000x at equal
  accuracy: the GPU's EPE at most 1.05x OpenCV's on the same pairs, the ones OpenCV ran),
  LBP-TOP clips/s and TIM clips/s against the CPU core on all cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "gpu-check"
SIZE = (340, 280)  # (H, W), the face-crop size of the specs' measurements
N_CHECK = 16  # pairs compared with the CPU core per TV-L1 case
BATCHES = (1, 16, 256)  # TV-L1 batch sizes timed
N_DISTINCT = max(BATCHES)  # distinct face pairs behind the timed batches: every timed pair is a different pair
SCALE = 1  # 1, or less to shrink every workload (--emulate)


def log(msg: str = "") -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------------
# Build and import


def _probe_import() -> bool:
    code = "import mefast._cuda, mefast._core"
    return subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True).returncode == 0


def build(arch: str, jobs: int) -> Path:
    """Configure and build _core and _cuda for this interpreter; return an importable package root."""
    import pybind11

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    cfg = [
        "cmake", "-S", str(ROOT), "-B", str(BUILD), "-DCMAKE_BUILD_TYPE=Release", "-DMEFAST_CUDA=ON",
        f"-DCMAKE_CUDA_ARCHITECTURES={arch}", f"-DPython_EXECUTABLE={sys.executable}",
        f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", f"-DSKBUILD_PROJECT_VERSION={version}",
    ]  # fmt: skip
    if shutil.which("ninja") and not (BUILD / "Makefile").exists():
        cfg += ["-G", "Ninja"]
    t0 = time.perf_counter()
    log(f"building mefast._core and mefast._cuda into {BUILD} (CUDA architectures: {arch}) ...")
    if subprocess.run(cfg, stdout=subprocess.DEVNULL).returncode != 0:
        if arch != "native":
            raise SystemExit("CMake configuration failed (see above)")
        log("CMake could not target 'native' (CMake < 3.24 or no GPU seen at build time): using 80-real;90")
        shutil.rmtree(BUILD, ignore_errors=True)
        cfg = [
            c if not c.startswith("-DCMAKE_CUDA_ARCHITECTURES=") else "-DCMAKE_CUDA_ARCHITECTURES=80-real;90"
            for c in cfg
        ]
        subprocess.run(cfg, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(BUILD), "--target", "_core", "_cuda", "-j", str(jobs)], check=True)
    log(f"built in {time.perf_counter() - t0:.0f} s")
    # A package directory: the sources (linked) plus the two extensions.
    pkg = BUILD / "pkg" / "mefast"
    shutil.rmtree(pkg.parent, ignore_errors=True)
    pkg.mkdir(parents=True)
    for entry in (ROOT / "mefast").iterdir():
        if entry.name != "__pycache__" and not entry.name.endswith(".so"):
            (pkg / entry.name).symlink_to(entry)
    for so in list(BUILD.glob("_core*.so")) + list(BUILD.glob("csrc/cuda/_cuda*.so")):
        shutil.copy2(so, pkg / so.name)
    return pkg.parent


PKG_ROOT: Path | None = None  # where the freshly built package lives, when the script built it


def prepare_import(args: argparse.Namespace) -> None:
    global PKG_ROOT
    if args.emulate or (not args.rebuild and _probe_import()):
        return
    root = build(args.arch, args.jobs)
    PKG_ROOT = root
    sys.path.insert(0, str(root))
    import mefast

    if Path(mefast.__file__).parent != root / "mefast":
        raise SystemExit(
            f"an installed mefast ({mefast.__file__}) shadows the fresh build in {root}: run in an environment "
            "without it, or install with MEFAST_CUDA=ON pip install --no-build-isolation -e ."
        )


class _Emulated:
    """mefast._cuda with its kernels run by the host emulation: exercises this script without a GPU."""

    def __init__(self, mod: Any) -> None:
        self._mod = mod

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mod, name)

    def device_count(self) -> int:
        return 1

    def device_status(self) -> str:
        return "ok (host emulation, no GPU: the numbers below mean nothing)"

    def device_info(self, index: int = 0) -> dict[str, Any]:
        return {"name": "host emulation", "compute_capability": (0, 0), "multiprocessors": 0, "total_memory": 0}

    def schedule(self, batch_size: int) -> Any:
        return self._mod.emulation(order=0, batch_size=batch_size)

    def tvl1_pairs(self, frames, i0, i1, params, n_threads=0):
        return self.schedule(0).tvl1_pairs(frames, i0, i1, params, n_threads)

    def optical_strain(self, flows, scheme=0, n_threads=0):
        return self.schedule(0).optical_strain(flows, scheme, n_threads)

    def lbp_top(self, videos, params, n_threads=0):
        return self.schedule(0).lbp_top(videos, params, n_threads)

    def tim(self, frames, params, n_threads=0):
        return self.schedule(0).tim(frames, params, n_threads)


def cuda_module() -> Any:
    from mefast._backend import _cuda_module

    mod = _cuda_module()
    if mod is None:
        raise RuntimeError("mefast._cuda is not importable")
    return mod


# ---------------------------------------------------------------------------------------------------------
# Results


@dataclass
class Check:
    function: str
    case: str
    max_diff: float
    mean_diff: float
    tolerance: str
    ok: bool
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rate:
    name: str
    unit: str
    value: float | None
    note: str = ""


class Report:
    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.rates: list[Rate] = []
        self.goals: list[tuple[str, bool | None, str]] = []
        self.env: dict[str, Any] = {}
        self.errors: list[str] = []

    def guard(self, what: str, fn: Callable[[], None]) -> None:
        """Run one section; a crash is recorded as a failure and the next section still runs."""
        t0 = time.perf_counter()
        try:
            fn()
        except Exception:  # noqa: BLE001 - every failure is reported in the summary
            self.errors.append(f"{what}: {traceback.format_exc()}")
            log(f"!! {what} failed:\n{traceback.format_exc()}")
        log(f"-- {what}: {time.perf_counter() - t0:.1f} s")


def _diff(a, b) -> tuple[float, float, float]:
    import numpy as np

    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    return float(d.max()), float(d.mean()), float(np.quantile(d, 0.999))


def _median_time(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------------------
# Inputs


def face_batch(n_distinct: int, n_pairs: int, seed0: int = 0):
    """Frames (2 n_distinct, H, W) float32, pair indexes tiled to n_pairs, and the known flow of each pair.

    With ``n_pairs > n_distinct`` pairs repeat (and the CUDA driver, which builds each frame's pyramid once per
    call, would do less work per pair): the throughput rows ask for ``n_pairs == n_distinct``.
    """
    import numpy as np

    from mefast.testing import face_flow_pair

    pairs = [face_flow_pair(SIZE, amplitude=1.0, seed=seed0 + s) for s in range(n_distinct)]
    frames = np.stack([p.frame0 for p in pairs] + [p.frame1 for p in pairs]).astype(np.float32)
    k = np.arange(n_pairs) % n_distinct
    i0 = k.astype(np.int32)
    i1 = (k + n_distinct).astype(np.int32)
    truth = np.stack([pairs[j].flow for j in k])
    return frames, i0, i1, truth, pairs


# ---------------------------------------------------------------------------------------------------------
# Sections


def environment(rep: Report) -> None:
    import numpy as np

    import mefast

    _cuda = cuda_module()
    n = _cuda.device_count()
    rep.env = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "cuda_build": dict(_cuda.build_info()),
        "device_count": n,
        "device_status": _cuda.device_status(),
        "mefast_has_cuda": mefast.has_cuda(),
    }
    if n > 0:
        rep.env["device"] = dict(_cuda.device_info(0))
    try:
        import cv2

        rep.env["opencv"] = cv2.__version__
        rep.env["opencv_optflow"] = hasattr(cv2, "optflow")
    except ImportError:
        rep.env["opencv"] = None
        rep.env["opencv_optflow"] = False
    for k, v in rep.env.items():
        log(f"  {k}: {v}")
    if n == 0:
        raise RuntimeError(f"no CUDA device visible: {_cuda.device_status()}")


def check_tvl1(rep: Report) -> None:
    import numpy as np

    import mefast
    from mefast import _core

    _cuda = cuda_module()
    from mefast.testing import endpoint_error

    frames, i0, i1, truth, _ = face_batch(N_CHECK, N_CHECK, seed0=100)
    cases = [
        ("opencv (OpenCV defaults)", mefast.TVL1Params.preset("opencv")),
        ("accurate", mefast.TVL1Params.preset("accurate")),
        ("fast", mefast.TVL1Params.preset("fast")),
        ("robust (illumination held at full size, finest_warps)", mefast.TVL1Params.preset("robust")),
        (
            "robust, 4 iterations per pass at full size (finest_inner_iterations)",
            mefast.TVL1Params.preset("robust").replace(finest_inner_iterations=4),
        ),
        ("opencv + gamma 0.1 + median 3", mefast.TVL1Params(gamma=0.1, median_filtering=3)),
    ]
    tol = "mean<=1e-3, p99.9<=0.02, max<=0.5 px, |dEPE|<=0.002"
    for name, params in cases:
        d = params._core_params
        cpu = _core.tvl1_pairs(frames, i0, i1, d, 0)
        gpu = _cuda.tvl1_pairs(frames, i0, i1, d)
        mx, mean, p999 = _diff(gpu, cpu)
        e_cpu, e_gpu = endpoint_error(cpu, truth), endpoint_error(gpu, truth)
        ok = mean <= 1e-3 and p999 <= 0.02 and mx <= 0.5 and abs(e_cpu - e_gpu) <= 0.002
        rep.checks.append(
            Check(
                "tvl1_pairs",
                f"{name}, {N_CHECK} pairs {SIZE[0]}x{SIZE[1]}",
                mx,
                mean,
                tol,
                ok,
                {"p99.9": p999, "epe_cpu": e_cpu, "epe_gpu": e_gpu},
            )  # fmt: skip
        )
    d = mefast.TVL1Params.preset("opencv")._core_params
    n = min(4, N_CHECK)
    whole = _cuda.tvl1_pairs(frames, i0[:n], i1[:n], d)
    single = _cuda.schedule(batch_size=1).tvl1_pairs(frames, i0[:n], i1[:n], d)
    mx, mean, _ = _diff(whole, single)
    rep.checks.append(Check("tvl1_pairs", f"batch_size=1 vs one batch of {n}", mx, mean, "max<=1e-3 px", mx <= 1e-3))
    # the public API takes float frames in [0, 1] (the batch holds grey levels, as the core's tvl1_pairs takes them)
    video = frames[[i0[0], i1[0], i0[0], i1[0]]] / np.float32(255)
    cpu = mefast.compute_flow(video, params="fast", device="cpu")
    gpu = mefast.compute_flow(video, params="fast", device="cuda")
    mx, mean, p999 = _diff(gpu, cpu)
    rep.checks.append(
        Check(
            "compute_flow",
            "device='cuda', fast, 4 frames",
            mx,
            mean,
            "mean<=1e-3, max<=0.5 px",
            mean <= 1e-3 and mx <= 0.5,
        )
    )


def check_strain(rep: Report) -> None:
    import numpy as np

    import mefast
    from mefast import _core

    _cuda = cuda_module()

    rng = np.random.default_rng(0)
    flows = rng.normal(size=(64 // SCALE, *SIZE, 2)).astype(np.float32)
    for scheme, name in enumerate(["central", "backward", "sobel_meb"]):
        gpu = _cuda.optical_strain(flows, scheme)
        cpu = _core.optical_strain(flows, scheme, 0)
        mx, mean, _ = _diff(gpu, cpu)
        rel = mx / float(np.abs(cpu).max())
        rep.checks.append(
            Check(
                "optical_strain",
                f"{name}, {len(flows)} fields {SIZE[0]}x{SIZE[1]}",
                mx,
                mean,
                "max <= 1e-6 relative",
                rel <= 1e-6,
            )
        )
    f = flows[:3]
    mx, mean, _ = _diff(mefast.optical_strain(f, device="cuda"), mefast.optical_strain(f))
    rep.checks.append(Check("optical_strain", "public API, device='cuda'", mx, mean, "max<=1e-5", mx <= 1e-5))


def _clips(n: int, t: int, seed: int = 0):
    """n face clips (t, H, W) uint8 with smooth motion."""
    import numpy as np

    from mefast.testing import face_flow_pair

    rng = np.random.default_rng(seed)
    out = []
    for s in range(n):
        p = face_flow_pair(SIZE, amplitude=1.0, seed=seed + s)
        a, b = p.frame1.astype(np.float32), p.frame0.astype(np.float32)
        w = np.linspace(0, 1, t, dtype=np.float32)[:, None, None]
        clip = (1 - w) * a + w * b + rng.normal(0, 1.0, size=(t, *SIZE)).astype(np.float32)
        out.append(np.clip(np.rint(clip), 0, 255).astype(np.uint8))
    return out


def check_lbp_tim(rep: Report) -> None:
    import numpy as np

    import mefast

    _cuda = cuda_module()

    if not hasattr(_cuda, "lbp_top"):
        rep.checks.append(Check("lbp_top", "not in this build of mefast._cuda", float("nan"), float("nan"), "-", False))
    else:
        clips = _clips(4, 10)
        cases = {
            "defaults (paper, u2, 8x8 blocks)": {},
            "MEB mode": {"mode": "reference"},
            "bilinear riu2, 2 time blocks, overlap": {
                "sampling": "bilinear", "mapping": "riu2", "time_blocks": 2, "overlap": 0.2,
            },
        }  # fmt: skip
        for name, kw in cases.items():
            cpu = mefast.lbp_top_batch(clips, **kw)
            gpu = mefast.lbp_top_batch(clips, device="cuda", **kw)
            mx, mean, _ = _diff(gpu, cpu)
            case = f"{name}, {len(clips)} clips"
            rep.checks.append(Check("lbp_top", case, mx, mean, "max<=1e-6 (same counts)", mx <= 1e-6))
    if not hasattr(_cuda, "tim"):
        rep.checks.append(Check("tim", "not in this build of mefast._cuda", float("nan"), float("nan"), "-", False))
    else:
        clip = _clips(1, 60, seed=7)[0]
        for out in ("float", "uint8"):
            cpu = mefast.tim(clip, 10, output=out)
            gpu = mefast.tim(clip, 10, output=out, device="cuda")
            mx, mean, _ = _diff(gpu, cpu)
            tol, ok = ("max<=1e-3 grey levels", mx <= 1e-3) if out == "float" else ("max<=1 grey level", mx <= 1)
            rep.checks.append(Check("tim", f"60->10 frames {SIZE[0]}x{SIZE[1]}, output={out}", mx, mean, tol, ok))
        rgb = np.repeat(clip[:20, ..., None], 3, axis=-1)
        mx, mean, _ = _diff(mefast.tim(rgb, 7, device="cuda"), mefast.tim(rgb, 7))
        rep.checks.append(Check("tim", "RGB 20->7 frames", mx, mean, "max<=1e-3", mx <= 1e-3))


def throughput_tvl1(rep: Report, quick: bool) -> None:
    import numpy as np

    import mefast
    from mefast import _core

    _cuda = cuda_module()
    from mefast.testing import endpoint_error

    params = mefast.TVL1Params.preset("opencv")  # OpenCV's DualTVL1 defaults
    d = params._core_params
    big = max(BATCHES)
    assert N_DISTINCT >= big, "every timed pair must be a distinct pair"
    frames, i0, i1, truth, pairs = face_batch(N_DISTINCT, big, seed0=0)
    _cuda.tvl1_pairs(frames, i0[:1], i1[:1], d)  # context, module load
    gpu_rate = {}
    for b in BATCHES:
        reps = 2 if (b == big or quick) else 5
        t = _median_time(lambda b=b: _cuda.tvl1_pairs(frames, i0[:b], i1[:b], d), reps)
        gpu_rate[b] = b / t
        rep.rates.append(
            Rate(
                f"TV-L1 {SIZE[0]}x{SIZE[1]} GPU, batch {b}, distinct pairs",
                "pairs/s",
                b / t,
                f"{t * 1e3 / b:.3f} ms/pair",
            )
        )
    flows_gpu = _cuda.tvl1_pairs(frames, i0[:big], i1[:big], d)
    epe_gpu = endpoint_error(flows_gpu, truth[:big])  # all the timed pairs

    # mefast's own CPU core, one thread and all cores.
    n_cpu = max(1, (8 if quick else 16) // SCALE)
    n_all = max(1, 64 // SCALE)
    _core.tvl1_pairs(frames, i0[:1], i1[:1], d, 1)  # warm-up
    t1 = _median_time(lambda: _core.tvl1_pairs(frames, i0[:n_cpu], i1[:n_cpu], d, 1), 1)
    tall = _median_time(lambda: _core.tvl1_pairs(frames, i0[:n_all], i1[:n_all], d, 0), 1)
    cpu1_rate = n_cpu / t1
    rep.rates.append(Rate("TV-L1 mefast CPU, 1 thread", "pairs/s", cpu1_rate))
    rep.rates.append(Rate(f"TV-L1 mefast CPU, {os.cpu_count()} threads", "pairs/s", n_all / tall))

    # OpenCV DualTVL1, one thread, identical parameters.
    cv_rate, epe_cv, epe_gpu_same, note = None, None, None, ""
    try:
        import cv2

        if not hasattr(cv2, "optflow"):
            raise ImportError("cv2.optflow missing: install opencv-contrib-python-headless")
        cv2.setNumThreads(1)
        of = cv2.optflow.DualTVL1OpticalFlow_create(
            tau=params.tau, lambda_=params.lambda_, theta=params.theta, nscales=params.nscales,
            warps=params.warps, epsilon=params.epsilon, innnerIterations=params.inner_iterations,
            outerIterations=params.outer_iterations, scaleStep=params.scale_step, gamma=params.gamma,
            medianFiltering=params.median_filtering, useInitialFlow=False,
        )  # fmt: skip
        n_cv = min(N_DISTINCT, 2 if quick else 4)
        of.calc(pairs[0].frame0, pairs[0].frame1, None)  # warm-up
        flows_cv = []
        t0 = time.perf_counter()
        for k in range(n_cv):
            flows_cv.append(of.calc(pairs[k].frame0, pairs[k].frame1, None))
        cv_rate = n_cv / (time.perf_counter() - t0)
        epe_cv = endpoint_error(np.stack(flows_cv), truth[:n_cv])
        epe_gpu_same = endpoint_error(flows_gpu[:n_cv], truth[:n_cv])
        note = f"EPE opencv {epe_cv:.4f} vs mefast GPU {epe_gpu_same:.4f} on the same {n_cv} pairs"
    except ImportError as e:
        note = f"unavailable ({e})"
    rep.rates.append(Rate("TV-L1 OpenCV DualTVL1, 1 thread", "pairs/s", cv_rate, note))
    if cv_rate:
        ratio = gpu_rate[big] / cv_rate
        rep.goals.append(  # accuracy on the same pairs: OpenCV runs only the first n_cv
            (f"TV-L1 GPU batch {big} distinct pairs / OpenCV 1 thread = {ratio:.0f}x (goal >= 1000x at equal "
             "accuracy)", ratio >= 1000 and epe_gpu_same <= epe_cv * 1.05, note)
        )  # fmt: skip
    rep.goals.append(
        (
            f"TV-L1 GPU batch {big} distinct pairs / mefast CPU 1 thread = {gpu_rate[big] / cpu1_rate:.0f}x",
            None,
            f"GPU EPE {epe_gpu:.4f} on all {big} pairs",
        )
    )


def throughput_descriptors(rep: Report, quick: bool) -> None:
    import mefast

    _cuda = cuda_module()

    if hasattr(_cuda, "lbp_top"):
        clips = _clips(8 // SCALE, 10) * max(1, (8 if quick else 32) // SCALE)  # 64 or 256 clips of 10 frames
        mefast.lbp_top_batch(clips[:2], device="cuda")
        t = _median_time(lambda: mefast.lbp_top_batch(clips, device="cuda"), 3)
        rep.rates.append(Rate(f"LBP-TOP GPU, {len(clips)} clips 10x{SIZE[0]}x{SIZE[1]}", "clips/s", len(clips) / t))
        n_cpu = min(len(clips), 32)
        t = _median_time(lambda: mefast.lbp_top_batch(clips[:n_cpu]), 1)
        rep.rates.append(Rate(f"LBP-TOP CPU core, {os.cpu_count()} threads", "clips/s", n_cpu / t))
    if hasattr(_cuda, "tim"):
        clips = _clips(4, 60, seed=3)
        n = max(1, (16 if quick else 64) // SCALE)
        mefast.tim(clips[0], 10, device="cuda")
        t = _median_time(lambda: [mefast.tim(clips[k % 4], 10, device="cuda") for k in range(n)], 3)
        rep.rates.append(Rate(f"TIM GPU, 60->10 frames {SIZE[0]}x{SIZE[1]}", "clips/s", n / t))
        m = max(1, 16 // SCALE)
        t = _median_time(lambda: [mefast.tim(clips[k % 4], 10) for k in range(m)], 1)
        rep.rates.append(Rate(f"TIM CPU core, {os.cpu_count()} threads", "clips/s", m / t))


def throughput_preprocess(rep: Report, quick: bool, emulate: bool) -> None:
    """Clips/s of the whole preprocessing, every default feature, ``device="cuda"`` next to the CPU (issue 17.7).

    A CASME II-sized synthetic corpus (340x280 JPEG frames, 30-80 per clip; 2 tiny clips with ``--emulate``) is
    preprocessed twice into fresh stores with every core as worker processes, once per device, after one warm-up
    clip each (CUDA contexts, Numba compilation, dlib's model). The stores must agree: onset -> apex flows within
    0.05 px mean endpoint difference (float rounding and the GPU's own reduction order), TIM frames exactly.
    MDMO differs by design (cold batched flows on the GPU, warm-started on the CPU) and is not compared.
    """
    import tempfile

    import numpy as np

    from mefast import MEStore, datasets
    from mefast.datasets.synthetic import write_synthetic
    from mefast.pipeline import PreprocessOptions, preprocess

    if emulate:  # in-process: the emulation shim lives in this process only
        spec = {"n_subjects": 1, "clips_per_subject": 2, "size": (96, 80), "n_frames": (6, 8)}
        opts, size, n_jobs = {"crop_size": (32, 32), "lbptop": {"blocks": (2, 2)}}, (16, 16), 1
    else:
        spec = {"n_subjects": 8 if quick else 15, "clips_per_subject": 8 if quick else 17, "size": (340, 280),
                "n_frames": (30, 80)}  # fmt: skip
        opts, size, n_jobs = {}, (128, 128), os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="mefast-gpu-check-"))
    try:
        root, ann = write_synthetic(work / "corpus", corpora=("casme2",), seed=0, n_jobs=n_jobs, **spec)["casme2"]
        ds = datasets.load("casme2", root, ann)
        stores, rates = {}, {}
        frame = "x".join(map(str, spec["size"]))
        for device in ("cpu", "cuda"):
            options = PreprocessOptions(device=device, **opts)
            kw = {"size": size, "options": options, "n_jobs": n_jobs, "progress": False, "pack": False}
            preprocess(ds.subset([0]), work / f"warm-{device}.zarr", **kw)
            t0 = time.perf_counter()
            report = preprocess(ds, work / f"{device}.zarr", **kw)
            dt = time.perf_counter() - t0
            if not report.complete:
                raise RuntimeError(f"preprocess on {device}: {report.summary()}")
            stores[device], rates[device] = MEStore.open(work / f"{device}.zarr"), len(ds) / dt
            what = f"preprocess {len(ds)} clips {frame}, every default feature, {device}, {n_jobs} workers"
            rep.rates.append(Rate(what, "clips/s", rates[device]))
        flow = {d: st.read("flow", slice(None)) for d, st in stores.items()}
        epe = np.linalg.norm(flow["cuda"] - flow["cpu"], axis=1)
        same_frames = bool(
            np.array_equal(stores["cuda"].read("frames", slice(None)), stores["cpu"].read("frames", slice(None)))
        )
        rep.checks.append(Check("preprocess", f"{len(ds)} clips, cuda store vs cpu store", float(epe.max()),
                                float(epe.mean()), "flow mean EPE difference < 0.05 px, TIM frames equal",
                                bool(epe.mean() < 0.05) and same_frames))  # fmt: skip
        rep.goals.append((f"preprocess on the GPU vs the CPU: {rates['cuda'] / rates['cpu']:.2f}x clips/s", None,
                          f"{rates['cuda']:.1f} vs {rates['cpu']:.1f} clips/s, {n_jobs} workers each"))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def gpu_tests(rep: Report) -> None:
    """The gpu-marked tests of tests/backend/test_cuda.py (and the rest of that file), in a subprocess."""
    import tempfile

    env = dict(os.environ)
    if PKG_ROOT is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PKG_ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [
        sys.executable, "-m", "pytest", str(ROOT / "tests" / "backend" / "test_cuda.py"), "-q",
        "-p", "no:cacheprovider",
        "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
        "-o", "addopts=-ra --strict-markers --import-mode=importlib",
    ]  # fmt: skip
    # Outside the repository, so the source tree's mefast/ (without the built extensions) is not imported.
    r = subprocess.run(cmd, cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, timeout=600)
    tail = [line for line in r.stdout.strip().splitlines() if line.strip()][-1:] or ["(no output)"]
    log(r.stdout[-3000:] + r.stderr[-2000:])
    skipped_gpu = "no CUDA GPU visible" in r.stdout
    ok = r.returncode == 0 and not skipped_gpu
    rep.checks.append(Check("pytest", f"tests/backend/test_cuda.py: {tail[0][:60]}", float("nan"), float("nan"),
                            "all pass, none skipped for lack of a GPU", ok))  # fmt: skip


# ---------------------------------------------------------------------------------------------------------


def summary(rep: Report) -> bool:
    dev = rep.env.get("device", {})
    build = rep.env.get("cuda_build", {})
    log("\n" + "=" * 110)
    log(
        f"mefast GPU check: {dev.get('name', '?')} (sm_{''.join(map(str, dev.get('compute_capability', ())))}, "
        f"{dev.get('multiprocessors', '?')} SMs), runtime {build.get('runtime_version')}, "
        f"driver {build.get('driver_version')}, built for {build.get('cuda_architectures')}"
    )
    log("=" * 110)
    log("CUDA against the CPU core")
    log(f"  {'function':<15}{'case':<44}{'max |d|':>10}{'mean |d|':>11}  {'tolerance':<54}result")
    for c in rep.checks:
        log(f"  {c.function:<15}{c.case:<44}{c.max_diff:>10.2e}{c.mean_diff:>11.2e}  {c.tolerance:<54}"
            f"{'PASS' if c.ok else 'FAIL'}")  # fmt: skip
        if c.extra:
            log("  " + " " * 15 + ", ".join(f"{k} {v:.4g}" for k, v in c.extra.items()))
    log("Throughput")
    for r in rep.rates:
        v = "n/a" if r.value is None else f"{r.value:,.1f}"
        log(f"  {r.name:<52}{v:>14} {r.unit:<8} {r.note}")
    log("Goals")
    for text, ok, note in rep.goals:
        mark = "info" if ok is None else ("PASS" if ok else "FAIL")
        log(f"  [{mark}] {text}  ({note})")
    for e in rep.errors:
        log(f"  [FAIL] section crashed: {e.splitlines()[0]}")
    passed = all(c.ok for c in rep.checks) and not rep.errors and all(ok is not False for _, ok, _ in rep.goals)
    log(f"overall: {'PASS' if passed else 'FAIL'}")
    return passed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="native", help="CMAKE_CUDA_ARCHITECTURES for the build (default: native)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 4, help="build jobs")
    ap.add_argument("--rebuild", action="store_true", help="build even if mefast._cuda imports")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and smaller batches")
    ap.add_argument("--json", type=Path, help="write all results to this JSON file")
    ap.add_argument("--no-tests", action="store_true", help="skip running tests/backend/test_cuda.py with pytest")
    ap.add_argument(
        "--emulate", action="store_true", help="no GPU: run the kernels' host emulation on small inputs to test "
        "this script itself (needs mefast._cuda importable; the numbers mean nothing)"
    )  # fmt: skip
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    prepare_import(args)
    if args.emulate:
        global SIZE, N_CHECK, BATCHES, N_DISTINCT, SCALE
        SIZE, N_CHECK, BATCHES, N_DISTINCT, SCALE = (96, 80), 2, (1, 2, 4), 4, 8
        from mefast import _backend

        shim = _Emulated(cuda_module())
        _backend._cuda_module = lambda: shim  # type: ignore[assignment]
    rep = Report()
    rep.guard("environment", lambda: environment(rep))
    if rep.env.get("device_count", 0) > 0:
        rep.guard("tvl1 correctness", lambda: check_tvl1(rep))
        rep.guard("strain correctness", lambda: check_strain(rep))
        rep.guard("lbp_top/tim correctness", lambda: check_lbp_tim(rep))
        rep.guard("tvl1 throughput", lambda: throughput_tvl1(rep, args.quick))
        rep.guard("lbp_top/tim throughput", lambda: throughput_descriptors(rep, args.quick))
        rep.guard("preprocess throughput", lambda: throughput_preprocess(rep, args.quick, args.emulate))
        if not args.emulate and not args.no_tests:
            rep.guard("pytest tests/backend/test_cuda.py", lambda: gpu_tests(rep))
    ok = summary(rep)
    log(f"total {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"env": rep.env, "checks": [asdict(c) for c in rep.checks], "rates": [asdict(r) for r in rep.rates],
                 "goals": rep.goals, "errors": rep.errors, "passed": ok},
                indent=2, default=str,
            )
        )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
