"""``PreprocessOptions.device``: the C++ kernels of preprocess on the CUDA backend (emulated here), checked up front."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mefast import MEStore, StoreError
from mefast._backend import _cuda_module, has_cuda
from mefast.errors import CudaUnavailableError
from mefast.pipeline import PreprocessOptions, preprocess

from .test_pipeline import write_tiny

CROP = (32, 32)  # small: the emulation runs the CUDA kernels one thread at a time
SIZE = (16, 16)
FEATURES = "flow,strain,lbptop,biwoof,mdmo,frames"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny(tmp_path_factory.mktemp("tiny"), n=2)


def _run(tiny, path, device, **kw):
    opts = PreprocessOptions(crop_size=CROP, device=device, mdmo_warm_start=False, lbptop={"blocks": (2, 2)}, **kw)
    return preprocess(tiny, path, features=FEATURES, size=SIZE, options=opts, n_jobs=1, progress=False)


@pytest.mark.skipif(_cuda_module() is None, reason="mefast._cuda not built (no CUDA toolkit when mefast was built)")
def test_cuda_kernels_store_what_the_cpu_stores(tiny, tmp_path):
    """Every feature from the emulated CUDA kernels equals the CPU's up to float rounding; the device is recorded."""
    cpu, gpu = MEStore.open(_run(tiny, tmp_path / "cpu.zarr", "cpu").store), None
    report = _run(tiny, tmp_path / "gpu.zarr", "emulated-cuda")
    assert report.complete and not report.failures
    gpu = MEStore.open(tmp_path / "gpu.zarr")
    assert gpu.attrs["parameters"]["options"]["device"] == "emulated-cuda"
    assert cpu.attrs["parameters"]["options"]["device"] == "cpu"
    for i in range(len(tiny)):
        np.testing.assert_allclose(gpu.read("flow", i), cpu.read("flow", i), atol=2e-3)
        assert np.abs(cpu.read("flow", i)).max() > 0.2  # there is motion to get right
        np.testing.assert_allclose(gpu.read("strain", i), cpu.read("strain", i), atol=2e-3)
        np.testing.assert_allclose(gpu.read("mdmo", i), cpu.read("mdmo", i), atol=2e-3)
        np.testing.assert_allclose(gpu.read("biwoof", i), cpu.read("biwoof", i), atol=2e-2)
        np.testing.assert_array_equal(gpu.read("frames", i), cpu.read("frames", i))  # TIM: the same numbers
        np.testing.assert_array_equal(gpu.read("lbptop", i), cpu.read("lbptop", i))
    # a store is resumed with the device it was started with
    with pytest.raises(StoreError, match=re.escape("options.device: 'emulated-cuda' -> 'cpu'")):
        _run(tiny, tmp_path / "gpu.zarr", "cpu")


@pytest.mark.skipif(has_cuda(), reason="a GPU is visible")
def test_cuda_without_a_gpu_fails_before_any_work(tiny, tmp_path):
    with pytest.raises(CudaUnavailableError, match="device='cuda'"):
        _run(tiny, tmp_path / "s.zarr", "cuda")
    assert not (tmp_path / "s.zarr").exists()
    # "auto" falls back to the CPU here, and records what ran
    assert _run(tiny, tmp_path / "auto.zarr", "auto").complete
    assert MEStore.open(tmp_path / "auto.zarr").attrs["parameters"]["options"]["device"] == "cpu"


def test_unknown_device():
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'auto', got 'gpu'"):
        PreprocessOptions(device="gpu")
