"""What was built and what is visible: CUDA availability, device selection and ``show_config``."""

from __future__ import annotations

import functools
import importlib
import os
import platform
import sys
from typing import Any, Literal

from .errors import CudaUnavailableError

__all__ = ["Device", "has_cuda", "resolve_device", "show_config"]

Device = Literal["cpu", "cuda", "auto"]


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


def resolve_device(device: str) -> Literal["cpu", "cuda"]:
    """Map ``"cpu" | "cuda" | "auto"`` to the backend that will run.

    Raises
    ------
    CudaUnavailableError
        ``device="cuda"`` without a CUDA build or a visible GPU.
    ValueError
        Unknown device name.
    """
    if device == "cpu":
        return "cpu"
    if device == "auto":
        return "cuda" if has_cuda() else "cpu"
    if device == "cuda":
        if _cuda_module() is None:
            raise CudaUnavailableError(
                "device='cuda' was requested but mefast was built without its CUDA module "
                "(rebuild with MEFAST_CUDA=ON and a CUDA toolkit)"
            )
        if not has_cuda():
            raise CudaUnavailableError("device='cuda' was requested but no CUDA GPU is visible")
        return "cuda"
    raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - a missing optional package is reported, not raised
        return "not installed"


def config() -> dict[str, Any]:
    """Versions, build information and backend status as a dict."""
    from . import __version__, _core

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
