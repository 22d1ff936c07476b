"""mefast: fast, correct preprocessing and leak-free evaluation for facial micro-expression research."""

from __future__ import annotations

__version__ = "0.1.0"

from ._backend import has_cuda, show_config
from .errors import (
    AnnotationError,
    CudaUnavailableError,
    FaceNotFoundError,
    FrameReadError,
    MefastError,
    ShapeError,
    StoreError,
)
from .flow import (
    TVL1_PRESETS,
    TVL1Params,
    compute_flow,
    flow_to_channels_first,
    optical_strain,
    resize_flow,
    tvl1,
)

__all__ = [
    "AnnotationError",
    "CudaUnavailableError",
    "FaceNotFoundError",
    "FrameReadError",
    "MEStore",
    "MefastError",
    "ShapeError",
    "StoreError",
    "TVL1Params",
    "TVL1_PRESETS",
    "__version__",
    "compute_flow",
    "flow_to_channels_first",
    "has_cuda",
    "optical_strain",
    "resize_flow",
    "show_config",
    "tvl1",
]

# Loaded on first use so that ``import mefast`` stays fast (zarr, joblib and dask are heavy imports).
_LAZY = {"MEStore": "store"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
