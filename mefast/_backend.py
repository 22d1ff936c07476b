"""Backends: what was built and is visible, the one place a kernel backend is chosen, ``show_config``.

:func:`kernels` returns the module (``_core``, ``_cuda`` or ``_cuda.emulated``) whose kernels run on a device.
"""

from __future__ import annotations

import functools
import importlib
import os
import platform
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from .errors import CudaUnavailableError

if TYPE_CHECKING:
    from . import _core

__all__ = ["Device", "Kernels", "has_cuda", "kernels", "require_cpu", "resolve_device", "show_config"]

Device = Literal["cpu", "cuda", "auto"]
Backend = Literal["cpu", "cuda", "emulated-cuda"]


class Kernels(Protocol):
    """The kernels every backend module has, with one signature (``mefast/_core.pyi``, ``mefast/_cuda.pyi``).

    Arrays are validated and converted by the public wrappers; parameters arrive as the C++ core's bound
    structs, checked by their C++ ``validate``. ``n_threads`` (0: all cores) is used by the CPU backend.
    """

    def tvl1_pairs(
        self,
        frames: NDArray[np.float32],
        i0: NDArray[np.int32],
        i1: NDArray[np.int32],
        params: _core.TVL1Params,
        n_threads: int = 0,
    ) -> NDArray[np.float32]: ...
    def optical_strain(
        self, flows: NDArray[np.float32], scheme: int = 0, n_threads: int = 0
    ) -> NDArray[np.float32]: ...
    def lbp_top(
        self, videos: Sequence[np.ndarray], params: _core.LBPTOPParams, n_threads: int = 0
    ) -> NDArray[np.float32]: ...
    def tim(self, frames: np.ndarray, params: _core.TIMParams, n_threads: int = 0) -> np.ndarray: ...


@functools.cache
def _cuda_module() -> Any | None:
    try:
        return importlib.import_module("mefast._cuda")
    except ImportError:
        return None


def has_cuda() -> bool:
    """Return True when the CUDA module was built and at least one GPU is visible (checked on demand)."""
    mod = _cuda_module()
    if mod is None:
        return False
    try:
        return int(mod.device_count()) > 0
    except RuntimeError:
        return False


def resolve_device(device: str) -> Backend:
    """Map ``"cpu" | "cuda" | "auto"`` to the backend that will run.

    ``"emulated-cuda"`` (for tests) runs the CUDA kernels and launch schedule sequentially on the CPU; it
    needs the CUDA module but no GPU.

    Raises
    ------
    CudaUnavailableError
        ``device="cuda"`` without a CUDA build or a visible GPU; ``"emulated-cuda"`` without a CUDA build.
    ValueError
        Unknown device name.
    """
    if device == "cpu":
        return "cpu"
    if device == "auto":
        return "cuda" if has_cuda() else "cpu"
    if device in ("cuda", "emulated-cuda"):
        if _cuda_module() is None:
            raise CudaUnavailableError(
                f"device={device!r} was requested but mefast was built without its CUDA module "
                "(build it where a CUDA toolkit is found: MEFAST_CUDA=AUTO, the default, or ON)"
            )
        if device == "emulated-cuda":
            return "emulated-cuda"
        if not has_cuda():
            raise CudaUnavailableError("device='cuda' was requested but no CUDA GPU is visible")
        return "cuda"
    raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")


def runs_on(device: str) -> Backend:
    """The backend that :func:`kernels` picks for ``device``, checked now.

    For code that records it or plans around it without calling a kernel: ``preprocess`` records the device of
    a run (``"auto"`` resolved) and computes MDMO's flows cold off the CPU.

    Raises
    ------
    CudaUnavailableError, ValueError
        As :func:`resolve_device`.
    """
    return resolve_device(device)


def require_cpu(device: str, what: str) -> None:
    """Check ``device`` for a kernel that runs only on the CPU (the Numba descriptors).

    ``"cpu"`` and ``"auto"`` run it; ``"cuda"`` raises :class:`CudaUnavailableError` naming ``what``.
    """
    if device in ("cpu", "auto"):
        return
    if device in ("cuda", "emulated-cuda"):
        raise CudaUnavailableError(f"{what} has no CUDA kernel (it runs on the CPU): use device='cpu' or 'auto'")
    raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")


@functools.cache
def _cpu_kernels() -> Kernels:
    from . import _core

    return cast(Kernels, _core)


def kernels(device: str = "cpu") -> Kernels:
    """The kernel module that runs on ``device``: the one place where Python picks a backend.

    Parameters
    ----------
    device : {"cpu", "cuda", "auto", "emulated-cuda"}
        See :func:`resolve_device`.

    Returns
    -------
    Kernels
        ``mefast._core``, ``mefast._cuda`` or ``mefast._cuda.emulated``: modules with the same kernel
        functions and signatures (registered from one C++ template per area).
    """
    backend = resolve_device(device)
    if backend == "cpu":
        return _cpu_kernels()
    mod = _cuda_module()
    cuda: Any = mod  # not None: resolve_device checked the import
    return cast(Kernels, cuda if backend == "cuda" else cuda.emulated)


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - a missing optional package is reported, not raised
        return "not installed"


def config() -> dict[str, Any]:
    """Versions, build information and backend status as a dict."""
    from . import _core
    from ._version import __version__

    numba_threading = "not loaded"
    if "numba" in sys.modules:
        numba_threading = str(getattr(sys.modules["numba"].config, "THREADING_LAYER", "?"))
    info: dict[str, Any] = {
        "mefast": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "core": dict(_core.build_info()),
        "cuda_module_built": _cuda_module() is not None,
        "cuda_gpu_visible": has_cuda(),
        "cpu_count": os.cpu_count(),
        "numba_threading_layer": numba_threading,
    }
    for pkg in ("numpy", "opencv-contrib-python-headless", "numba", "zarr", "dask", "joblib", "torch", "pandas"):
        info[pkg] = _version(pkg)
    return info


def show_config() -> None:
    """Print versions, the core's build information (compiler, flags, OpenMP, SIMD) and CUDA status.

    Paste its output into bug reports.
    """
    info = config()
    core = info.pop("core")
    width = max(len(k) for k in [*info, *core]) + 2
    print("mefast configuration")  # noqa: T201 - this function's job is to print
    for k, v in info.items():
        print(f"  {k:<{width}}{v}")  # noqa: T201
    print("core build")  # noqa: T201
    for k, v in core.items():
        print(f"  {k:<{width}}{v}")  # noqa: T201
