"""One calling convention for every kernel wrapper: leading batch dimensions or a batch twin, and keyword-only
``n_threads`` and ``device``, so callers (the pipeline) never inspect signatures."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import mefast
from mefast.data import face_landmarks
from mefast.errors import CudaUnavailableError

# wrapper -> its batch twin (None: it takes leading batch dimensions itself)
KERNELS = {
    "tvl1": "compute_flow",
    "compute_flow": None,
    "optical_strain": None,
    "lbp_top": "lbp_top_batch",
    "lbp_top_batch": None,
    "tim": "tim_batch",
    "tim_batch": None,
    "biwoof": None,
    "mdmo": "mdmo_batch",
    "mdmo_batch": None,
}


@pytest.mark.parametrize("name", list(KERNELS))
def test_every_kernel_takes_n_threads_and_device(name):
    params = inspect.signature(getattr(mefast, name)).parameters
    for arg in ("n_threads", "device"):
        assert arg in params and params[arg].kind is inspect.Parameter.KEYWORD_ONLY, (name, arg)
    assert params["device"].default == "cpu" and params["n_threads"].default is None
    twin = KERNELS[name]
    if twin is not None:  # documented in the wrapper's docstring
        assert twin in getattr(mefast, name).__doc__


def test_cpu_only_kernels_refuse_cuda_and_run_on_auto():
    rng = np.random.default_rng(0)
    flow = rng.normal(size=(2, 40, 40, 2)).astype(np.float32)
    with pytest.raises(CudaUnavailableError, match="biwoof has no CUDA kernel"):
        mefast.biwoof(flow, device="cuda")
    np.testing.assert_array_equal(mefast.biwoof(flow, device="auto"), mefast.biwoof(flow, n_threads=1))
    flows = np.zeros((2, 280, 230, 2), np.float32)
    flows[..., 1] = -1.0
    lm = face_landmarks()
    with pytest.raises(CudaUnavailableError, match="mdmo has no CUDA kernel"):
        mefast.mdmo(flows, lm, device="cuda")
    with pytest.raises(CudaUnavailableError, match="mdmo_batch has no CUDA kernel"):
        mefast.mdmo_batch([flows], [lm], device="cuda")
    np.testing.assert_array_equal(
        mefast.mdmo(flows, lm, n_threads=2, device="auto"), mefast.mdmo_batch([flows], [lm])[0]
    )
    with pytest.raises(ValueError, match="n_threads"):
        mefast.mdmo(flows, lm, n_threads=0)
    with pytest.raises(ValueError, match="device must be"):
        mefast.biwoof(flow, device="gpu")
