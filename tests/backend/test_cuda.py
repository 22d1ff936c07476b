"""The CUDA backend: device selection (always), the kernels' host emulation (when mefast._cuda is built) and
the GPU against the CPU core (``gpu`` marker, skipped without a visible GPU).

Without a GPU the emulation is what checks the GPU code paths: ``_cuda.*_emulated`` run the kernels' own
per-element functors and launch schedule sequentially, visiting the elements of every launch in shuffled
order, so a kernel that read a value written by another thread of the same launch would give a different
result than the CPU core.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import mefast
from mefast import _backend, _core
from mefast.errors import CudaUnavailableError
from mefast.testing import endpoint_error, face_flow_pair

CUDA = _backend._cuda_module()
needs_module = pytest.mark.skipif(CUDA is None, reason="mefast._cuda not built (MEFAST_CUDA=ON and a CUDA toolkit)")

SMALL = (64, 56)  # 5 pyramid levels at OpenCV's defaults, fast enough for the sequential emulation


@pytest.fixture(scope="module")
def small_stack():
    a = face_flow_pair(SMALL, amplitude=1.0, seed=0)
    b = face_flow_pair(SMALL, amplitude=1.0, seed=1)
    frames = np.stack([a.frame0, a.frame1, b.frame0, b.frame1]).astype(np.float32)
    i0 = np.array([0, 2, 1], np.int32)
    i1 = np.array([1, 3, 0], np.int32)
    return frames, i0, i1


def _params(preset: str, **changes) -> dict:
    return mefast.TVL1Params.preset(preset).replace(**changes)._core_dict()


# ---------------------------------------------------------------------------------------------------------
# Device selection, with a stand-in for the compiled module


class FakeCuda:
    """Stands in for mefast._cuda: reports `n` devices and records calls, answering with the CPU core."""

    def __init__(self, n: int = 1, fail: bool = False):
        self.n, self.fail, self.calls = n, fail, []

    def device_count(self) -> int:
        if self.fail:
            raise RuntimeError("cudaErrorUnknown")
        return self.n

    def tvl1_pairs(self, frames, i0, i1, params, batch_size=0):
        self.calls.append(("tvl1_pairs", frames, i0, i1, params))
        return _core.tvl1_pairs(frames, i0, i1, params, 1)

    def optical_strain(self, flows, scheme=0):
        self.calls.append(("optical_strain", flows, scheme))
        return _core.optical_strain(flows, scheme, 1)

    def lbp_top(self, videos, params):
        self.calls.append(("lbp_top", videos, params))
        return _core.lbp_top(videos, params, 1)

    def tim(self, frames, n_out, output="float"):
        self.calls.append(("tim", frames, n_out, output))
        return _core.tim(frames, n_out, output, 1)


def _use(monkeypatch, module) -> None:
    monkeypatch.setattr(_backend, "_cuda_module", lambda: module)


def _frames():
    p = face_flow_pair((48, 40), amplitude=1.0, seed=3)
    return p.frame0, p.frame1


FAST = mefast.TVL1Params(nscales=2, warps=2)


def _flow_calls():
    f0, f1 = _frames()
    video = np.stack([f0, f1, f0])
    flow = np.zeros((2, 24, 20, 2), np.float32)
    flow[..., 0] = np.linspace(0, 1, 20, dtype=np.float32)
    clip = np.stack([f0, f1] * 4)
    return {
        "tvl1": lambda dev: mefast.tvl1(f0, f1, params=FAST, device=dev),
        "compute_flow": lambda dev: mefast.compute_flow(video, params=FAST, device=dev),
        "optical_strain": lambda dev: mefast.optical_strain(flow, device=dev),
        "lbp_top": lambda dev: mefast.lbp_top(clip, blocks=(2, 2), device=dev),
        "tim": lambda dev: mefast.tim(clip, 5, device=dev),
    }


FUNCTIONS = ["tvl1", "compute_flow", "optical_strain", "lbp_top", "tim"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_cuda_without_module_raises(monkeypatch, name):
    _use(monkeypatch, None)
    with pytest.raises(CudaUnavailableError, match="built without its CUDA module"):
        _flow_calls()[name]("cuda")


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("fake", [FakeCuda(n=0), FakeCuda(fail=True)], ids=["no-device", "driver-error"])
def test_cuda_without_gpu_raises_and_auto_falls_back(monkeypatch, name, fake):
    _use(monkeypatch, fake)
    call = _flow_calls()[name]
    with pytest.raises(CudaUnavailableError, match="no CUDA GPU is visible"):
        call("cuda")
    np.testing.assert_array_equal(call("auto"), call("cpu"))
    assert fake.calls == []
    assert not mefast.has_cuda()


def test_cuda_error_is_a_runtime_error():
    assert issubclass(CudaUnavailableError, RuntimeError) and issubclass(CudaUnavailableError, mefast.MefastError)


@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_visible_gpu_routes_to_the_cuda_module(monkeypatch, device):
    fake = FakeCuda(n=1)
    _use(monkeypatch, fake)
    f0, f1 = _frames()
    flow = mefast.tvl1(f0, f1, params=FAST, device=device)
    strain = mefast.optical_strain(flow, deriv="sobel_meb", device=device)
    (name, frames, i0, i1, params), (sname, flows, scheme) = fake.calls
    assert name == "tvl1_pairs" and sname == "optical_strain"
    # The contract of mefast._cuda: validated, C-contiguous float32 frames in [0, 255], int32 indexes, the
    # parameter dict of the CPU core; flows as (N, H, W, 2) float32 and the strain scheme's number.
    assert frames.dtype == np.float32 and frames.flags.c_contiguous and frames.shape == (2, *f0.shape)
    np.testing.assert_array_equal(frames[0], f0.astype(np.float32))
    assert i0.dtype == np.int32 and i1.dtype == np.int32 and list(i0) == [0] and list(i1) == [1]
    assert params == FAST._core_dict()
    assert flows.shape == (1, *f0.shape, 2) and flows.dtype == np.float32 and scheme == 2
    assert flow.shape == (*f0.shape, 2) and strain.shape == f0.shape


def test_visible_gpu_routes_descriptors_to_the_cuda_module(monkeypatch):
    fake = FakeCuda(n=1)
    _use(monkeypatch, fake)
    calls = _flow_calls()
    np.testing.assert_array_equal(calls["lbp_top"]("cuda"), calls["lbp_top"]("cpu"))
    np.testing.assert_array_equal(calls["tim"]("auto"), calls["tim"]("cpu"))
    (name, videos, params), (tname, frames, n_out, output) = fake.calls
    assert name == "lbp_top" and tname == "tim"
    assert isinstance(videos, list) and videos[0].dtype == np.uint8 and videos[0].flags.c_contiguous
    assert params["blocks"] in ((2, 2), [2, 2]) and (n_out, output) == (5, "float")
    assert frames.dtype == np.uint8 and frames.flags.c_contiguous


def test_unknown_device_is_rejected():
    f0, f1 = _frames()
    with pytest.raises(ValueError, match="device must be"):
        mefast.tvl1(f0, f1, device="gpu")


# ---------------------------------------------------------------------------------------------------------
# The compiled module without a GPU: import, device queries, and the kernels' host emulation


@needs_module
def test_module_imports_and_reports_devices():
    n = CUDA.device_count()
    assert isinstance(n, int) and n >= 0
    status = CUDA.device_status()
    assert (status == "ok") == (n > 0), status
    info = CUDA.build_info()
    assert info["cudart"] == "static" and info["version"] == mefast.__version__
    assert "80" in info["cuda_architectures"] and "90" in info["cuda_architectures"]
    assert info["runtime_version"] >= 11000
    if n == 0:
        with pytest.raises(ValueError, match="no CUDA device 0"):
            CUDA.device_info(0)


@needs_module
@pytest.mark.parametrize(
    "preset, changes",
    [
        ("opencv", {}),
        ("opencv", {"median_filtering": 3, "gamma": 0.2}),
        ("opencv", {"epsilon": 0.0, "outer_iterations": 2, "inner_iterations": 7}),
        ("accurate", {}),
        ("fast", {"median_filtering": 1}),
    ],
    ids=["opencv", "median3-gamma", "full-budget", "accurate", "fast"],
)
def test_emulated_kernels_match_the_cpu_core(small_stack, preset, changes):
    frames, i0, i1 = small_stack
    params = _params(preset, **changes)
    cpu = _core.tvl1_pairs(frames, i0, i1, params, 1)
    emu = CUDA.tvl1_pairs_emulated(frames, i0, i1, params, batch_size=2, order=2)
    assert emu.shape == cpu.shape and emu.dtype == np.float32
    diff = np.abs(emu - cpu)
    # Same algorithm, float rounding only (FMA contraction and summation order differ), which TV-L1's
    # thresholds and median filter can amplify at a few pixels: hence the looser bound on the maximum.
    assert diff.mean() < 1e-4 and diff.max() < 0.05, (diff.mean(), diff.max())


@needs_module
def test_emulation_is_independent_of_element_order_and_batching(small_stack):
    # A kernel reading a neighbour that the same launch overwrites would depend on the visiting order.
    frames, i0, i1 = small_stack
    params = _params("opencv", gamma=0.1)
    ref = CUDA.tvl1_pairs_emulated(frames, i0, i1, params, batch_size=0, order=0)
    for order, batch in [(1, 0), (2, 1), (2, 2)]:
        out = CUDA.tvl1_pairs_emulated(frames, i0, i1, params, batch_size=batch, order=order)
        np.testing.assert_array_equal(out, ref, err_msg=f"order={order} batch_size={batch}")


@needs_module
@pytest.mark.parametrize("scheme", [0, 1, 2], ids=["central", "backward", "sobel_meb"])
def test_emulated_strain_matches_the_cpu_core(rng, scheme):
    flows = rng.normal(size=(3, 9, 7, 2)).astype(np.float32)
    np.testing.assert_array_equal(CUDA.optical_strain_emulated(flows, scheme), _core.optical_strain(flows, scheme, 1))


def _clips(n=3, t=9, size=(40, 36)):
    rng = np.random.default_rng(5)
    out = []
    for s in range(n):
        p = face_flow_pair(size, amplitude=1.0, seed=s)
        c = np.stack([p.frame1, p.frame0] * t)[:t].astype(np.float32) + rng.normal(0, 2, (t, *size))
        out.append(np.clip(np.rint(c), 0, 255).astype(np.uint8))
    return out


LBP_CASES = [
    {},
    {"mode": "meb"},
    {"sampling": "bilinear", "mapping": "riu2", "time_blocks": 2, "overlap": 0.2},
    {"mapping": "none", "points": [4, 6, 8], "radius": [1, 2, 2], "blocks": [3, 2], "normalize": "per_plane"},
    {"mode": "meb", "overlap": 0.3, "time_blocks": 2, "normalize": "global_l1", "blocks": [4, 4]},
]


@needs_module
@pytest.mark.parametrize("params", LBP_CASES, ids=["defaults", "meb", "bilinear-riu2", "none-mixed", "meb-overlap"])
def test_emulated_lbp_top_matches_the_cpu_core(params):
    params = {"blocks": [2, 2], **params}
    clips = _clips()
    np.testing.assert_array_equal(CUDA.lbp_top_emulated(clips, params), _core.lbp_top(clips, params, 1))
    floats = [c.astype(np.float32) for c in clips]
    np.testing.assert_array_equal(CUDA.lbp_top_emulated(floats, params, order=1), _core.lbp_top(floats, params, 1))


@needs_module
def test_emulated_lbp_top_rejects_what_the_core_rejects():
    cases = [([np.zeros((3, 20, 20), np.uint8)], "too small"), ([np.zeros((9, 20), np.uint8)], "3 dimensions")]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            _core.lbp_top(bad, {}, 1)
        with pytest.raises(ValueError, match=message):
            CUDA.lbp_top_emulated(bad, {})
    with pytest.raises(ValueError, match="mapping must be one of"):
        CUDA.lbp_top_emulated(_clips(1), {"mapping": "u3"})


@needs_module
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("output", ["float", "uint8"])
def test_emulated_tim_matches_the_cpu_core(dtype, output):
    clip = _clips(1, t=12)[0].astype(dtype)
    for n_out in (1, 5, 12, 23):
        np.testing.assert_array_equal(CUDA.tim_emulated(clip, n_out, output), _core.tim(clip, n_out, output, 1))
    rgb = np.repeat(clip[..., None], 3, axis=-1)
    np.testing.assert_array_equal(CUDA.tim_emulated(rgb, 7, output), _core.tim(rgb, 7, output, 1))


@needs_module
@pytest.mark.parametrize(
    "i0, i1, shape, params, message",
    [
        ([0], [5], (2, 32, 32), {}, r"pair 0 indexes frames \(0, 5\) outside \[0, 2\)"),
        ([0], [1], (2, 2, 32), {"nscales": 1}, "too small"),
        ([0], [1], (2, 32, 32), {}, "too small for nscales=5"),
        ([0], [1], (2, 64, 64), {"tau": 0.5}, "tau"),
    ],
    ids=["index", "tiny", "nscales", "tau"],
)
def test_invalid_input_raises_as_the_cpu_core(i0, i1, shape, params, message):
    frames = np.zeros(shape, np.float32)
    a, b = np.array(i0, np.int32), np.array(i1, np.int32)
    d = {**mefast.TVL1Params(nscales=params.get("nscales", 5))._core_dict(), **params}
    for fn in (lambda: _core.tvl1_pairs(frames, a, b, d, 1), lambda: CUDA.tvl1_pairs_emulated(frames, a, b, d)):
        with pytest.raises(ValueError, match=message):
            fn()
    if CUDA.device_count() > 0:
        with pytest.raises(ValueError, match=message):
            CUDA.tvl1_pairs(frames, a, b, d)


@needs_module
def test_strain_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, H, W, 2\)"):
        CUDA.optical_strain_emulated(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(TypeError):
        CUDA.optical_strain_emulated(np.zeros((1, 4, 4, 2), np.float64))  # the core never casts


# ---------------------------------------------------------------------------------------------------------
# On a GPU: every CUDA function against the CPU core


@pytest.fixture(scope="module")
def face_stack():
    pairs = [face_flow_pair((340, 280), amplitude=1.0, seed=s) for s in range(3)]
    frames = np.stack([p.frame0 for p in pairs] + [p.frame1 for p in pairs]).astype(np.float32)
    i0 = np.array([0, 1, 2], np.int32)
    i1 = np.array([3, 4, 5], np.int32)
    truth = np.stack([p.flow for p in pairs])
    return frames, i0, i1, truth


@pytest.mark.gpu
@pytest.mark.parametrize("preset", ["opencv", "accurate", "fast"])
def test_gpu_tvl1_matches_cpu(face_stack, preset):
    frames, i0, i1, truth = face_stack
    params = _params(preset)
    cpu = _core.tvl1_pairs(frames, i0, i1, params, 0)
    gpu = CUDA.tvl1_pairs(frames, i0, i1, params)
    diff = np.abs(gpu - cpu)
    assert diff.mean() < 1e-3 and np.quantile(diff, 0.999) < 0.05, (diff.mean(), diff.max())
    assert abs(endpoint_error(gpu, truth) - endpoint_error(cpu, truth)) < 0.002


@pytest.mark.gpu
def test_gpu_batching_and_gamma_match_cpu(face_stack):
    frames, i0, i1, _ = face_stack
    params = _params("opencv", gamma=0.1, median_filtering=3)
    cpu = _core.tvl1_pairs(frames, i0, i1, params, 0)
    whole = CUDA.tvl1_pairs(frames, i0, i1, params, batch_size=0)
    one_by_one = CUDA.tvl1_pairs(frames, i0, i1, params, batch_size=1)
    assert np.abs(whole - one_by_one).max() < 1e-3
    assert np.abs(whole - cpu).mean() < 1e-3


@pytest.mark.gpu
def test_gpu_public_api_matches_cpu():
    p = face_flow_pair((96, 80), amplitude=1.0, seed=4)
    video = np.stack([p.frame1, p.frame0, p.frame1, p.frame0])
    cpu = mefast.compute_flow(video, params="accurate", device="cpu")
    gpu = mefast.compute_flow(video, params="accurate", device="cuda")
    assert np.abs(gpu - cpu).mean() < 1e-3
    np.testing.assert_allclose(mefast.optical_strain(gpu, device="cuda"), mefast.optical_strain(gpu), atol=1e-5)
    auto = mefast.tvl1(p.frame0, p.frame1, device="auto")  # a visible GPU is used
    assert np.abs(auto - mefast.tvl1(p.frame0, p.frame1, device="cuda")).max() < 1e-3


@pytest.mark.gpu
@pytest.mark.parametrize("scheme", [0, 1, 2], ids=["central", "backward", "sobel_meb"])
def test_gpu_strain_matches_cpu(rng, scheme):
    flows = rng.normal(size=(5, 61, 47, 2)).astype(np.float32)
    gpu = CUDA.optical_strain(flows, scheme)
    np.testing.assert_allclose(gpu, _core.optical_strain(flows, scheme, 1), rtol=1e-6, atol=1e-6)


@pytest.mark.gpu
def test_gpu_calls_from_threads_are_independent(small_stack):
    frames, i0, i1 = small_stack
    params = _params("opencv")
    ref = CUDA.tvl1_pairs(frames, i0, i1, params)
    out = [None] * 4

    def run(j):
        out[j] = CUDA.tvl1_pairs(frames, i0, i1, params)

    threads = [threading.Thread(target=run, args=(j,)) for j in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in out:
        assert np.abs(o - ref).max() < 1e-3


@pytest.mark.gpu
@pytest.mark.parametrize("params", LBP_CASES, ids=["defaults", "meb", "bilinear-riu2", "none-mixed", "meb-overlap"])
def test_gpu_lbp_top_matches_cpu(params):
    clips = _clips(4, t=10, size=(120, 100))
    params = {"blocks": [4, 4], **params}
    np.testing.assert_array_equal(CUDA.lbp_top(clips, params), _core.lbp_top(clips, params, 0))


@pytest.mark.gpu
@pytest.mark.parametrize("output", ["float", "uint8"])
def test_gpu_tim_matches_cpu(output):
    clip = _clips(1, t=30, size=(120, 100))[0]
    gpu = mefast.tim(clip, 10, output=output, device="cuda")
    cpu = mefast.tim(clip, 10, output=output)
    assert gpu.dtype == cpu.dtype and gpu.shape == cpu.shape
    # Double accumulation in the same order: equal but for the last bit of a sum, which can move a uint8
    # rounding that sits exactly on .5 by one grey level.
    assert np.abs(gpu.astype(np.float64) - cpu).max() <= (1 if output == "uint8" else 1e-4)
