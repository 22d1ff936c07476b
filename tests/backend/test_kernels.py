"""Backend selection (``mefast._backend.kernels``, always) and the compiled backends' shared boundary: one set of
kernel signatures for mefast._core, mefast._cuda and its CPU emulation, the CUDA module's device queries.

The kernels' numbers are checked by each kernel's own tests (tests/flow, tests/descriptors) through the
``backend`` fixture (cpu, emulated-cuda, cuda).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import mefast
from mefast import _backend, _core
from mefast.errors import CudaUnavailableError
from mefast.testing import face_flow_pair

CUDA = _backend._cuda_module()
needs_module = pytest.mark.skipif(CUDA is None, reason="mefast._cuda not built (no CUDA toolkit at build time)")
KERNELS = ["tvl1_pairs", "optical_strain", "lbp_top", "tim"]


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

    def tvl1_pairs(self, frames, i0, i1, params, n_threads=0):
        self.calls.append(("tvl1_pairs", frames, i0, i1, params))
        return _core.tvl1_pairs(frames, i0, i1, params, 1)

    def optical_strain(self, flows, scheme=0, n_threads=0):
        self.calls.append(("optical_strain", flows, scheme))
        return _core.optical_strain(flows, scheme, 1)

    def lbp_top(self, videos, params, n_threads=0):
        self.calls.append(("lbp_top", videos, params))
        return _core.lbp_top(videos, params, 1)

    def tim(self, frames, params, n_threads=0):
        self.calls.append(("tim", frames, params.n_frames, params.output))
        return _core.tim(frames, params, 1)


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
    with pytest.raises(CudaUnavailableError, match="built without its CUDA module"):
        _flow_calls()[name]("emulated-cuda")


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
    # bound parameter struct (built once by TVL1Params); flows as (N, H, W, 2) float32 and the strain scheme.
    assert frames.dtype == np.float32 and frames.flags.c_contiguous and frames.shape == (2, *f0.shape)
    np.testing.assert_array_equal(frames[0], f0.astype(np.float32))
    assert i0.dtype == np.int32 and i1.dtype == np.int32 and list(i0) == [0] and list(i1) == [1]
    assert isinstance(params, _core.TVL1Params) and params is FAST._core_params
    assert {f: getattr(params, f) for f in params._fields} == {f: getattr(FAST, f) for f in params._fields}
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
    assert isinstance(params, _core.LBPTOPParams) and params.blocks == (2, 2) and (n_out, output) == (5, "float")
    assert frames.dtype == np.uint8 and frames.flags.c_contiguous


def test_unknown_device_is_rejected():
    f0, f1 = _frames()
    with pytest.raises(ValueError, match="device must be"):
        mefast.tvl1(f0, f1, device="gpu")
    with pytest.raises(ValueError, match="device must be"):
        _backend.kernels("tpu")


def test_kernels_picks_the_module():
    assert _backend.kernels("cpu") is _core
    if CUDA is not None:
        assert _backend.kernels("emulated-cuda") is CUDA.emulated
        assert _backend.kernels("auto") is (CUDA if mefast.has_cuda() else _core)


def test_no_wrapper_branches_on_the_backend():
    """Python picks a backend in one place: no module but _backend names _cuda or resolves devices itself."""
    root = Path(mefast.__file__).parent
    pattern = re.compile(r"_cuda_module|_backend import[^\n]*\bresolve_device\b|mefast\._cuda\b")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "_backend.py" and pattern.search(path.read_text())
    ]
    assert offenders == []


# ---------------------------------------------------------------------------------------------------------
# One boundary: the same kernels and signatures in every compiled backend


def _signature(fn) -> str:
    return fn.__doc__.splitlines()[0]


@needs_module
def test_every_backend_has_the_cores_kernel_signatures():
    namespaces = {
        "_cuda": CUDA,
        "_cuda.emulated": CUDA.emulated,
        "emulation(1, 2)": CUDA.emulation(order=1, batch_size=2),
        "schedule(1)": CUDA.schedule(batch_size=1),
    }
    for name in KERNELS:
        core = _signature(getattr(_core, name))
        assert "params: mefast._core." in core or name == "optical_strain"
        for label, ns in namespaces.items():
            assert _signature(getattr(ns, name)) == core, (label, name)
    with pytest.raises(ValueError, match="order must be"):
        CUDA.emulation(order=3)
    with pytest.raises(ValueError, match="batch_size must be"):
        CUDA.schedule(batch_size=-1)


def test_stubs_declare_the_same_kernels():
    """mefast/_core.pyi declares the kernels once; mefast/_cuda.pyi re-exports exactly those, nothing else."""
    root = Path(mefast.__file__).parent

    def section(name: str) -> str:
        text = (root / name).read_text()
        start = text.index("# ---- kernels of every backend")
        body = text[text.index("\n", start) :]
        return body[: body.index("# ----")].strip()

    core, cuda = section("_core.pyi"), section("_cuda.pyi")
    assert all(f"def {k}(" in core for k in KERNELS)
    assert sorted(cuda.splitlines()) == sorted(f"from mefast._core import {k} as {k}" for k in KERNELS)
    assert "def " not in (root / "_cuda.pyi").read_text().split("# ---- kernels of every backend")[1].split("# ----")[0]


# ---------------------------------------------------------------------------------------------------------
# The compiled module without a GPU: import and device queries


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
