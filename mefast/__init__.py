"""mefast: fast, correct preprocessing and leak-free evaluation for facial micro-expression research."""

from __future__ import annotations

from ._backend import has_cuda, show_config
from ._lazy import lazy_attributes as _lazy_attributes
from ._version import __version__
from .errors import (
    AnnotationError,
    CudaUnavailableError,
    FaceNotFoundError,
    FrameRangeError,
    FrameReadError,
    MefastError,
    ShapeError,
    StoreError,
)
from .flow import (
    TVL1,
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
    "Evaluation",
    "FaceNotFoundError",
    "FrameRangeError",
    "FrameReadError",
    "LabelLeakError",
    "MEStore",
    "MefastError",
    "PreprocessOptions",
    "PreprocessReport",
    "Protocol",
    "ProtocolError",
    "ShapeError",
    "StoreError",
    "TVL1",
    "TVL1Params",
    "TVL1_PRESETS",
    "__version__",
    "au_metrics",
    "biwoof",
    "dmdsp",
    "higo",
    "hog3d",
    "hoof",
    "classification_metrics",
    "compute_flow",
    "crop_align",
    "cross_validate",
    "datasets",
    "detect_face",
    "flow_to_channels_first",
    "has_cuda",
    "landmarks68",
    "lbp_mop",
    "lbp_sip",
    "lbp_top",
    "lbp_top_batch",
    "magnification",
    "magnify",
    "make_protocol",
    "mdmo",
    "mdmo_batch",
    "mdmo_rois",
    "optical_strain",
    "preprocess",
    "resize_flow",
    "select_frames",
    "show_config",
    "spot",
    "spotting",
    "tim",
    "tim_batch",
    "tim_weights",
    "tvl1",
    "uniform_mapping",
    "viz",
]

# Loaded on first use so that ``import mefast`` stays fast (zarr, joblib and dask are heavy imports).
_LAZY = {"MEStore": "store"}
_LAZY.update({name: "pipeline" for name in ("PreprocessOptions", "PreprocessReport", "preprocess")})
# Evaluation protocols and metrics (pandas); the torch layer stays in ``mefast.train``, never imported here.
_LAZY.update(
    {
        name: "protocols"
        for name in ("Evaluation", "LabelLeakError", "Protocol", "ProtocolError", "cross_validate", "make_protocol")
    }  # fmt: skip
)
_LAZY.update({name: "metrics" for name in ("au_metrics", "classification_metrics")})
# Bi-WOOF and MDMO (Numba, slow to import) and the face tools.
_LAZY.update({"biwoof": "descriptors._biwoof", "mdmo_rois": "descriptors.roi"})
_LAZY.update({name: "descriptors._mdmo" for name in ("mdmo", "mdmo_batch")})
_LAZY.update({name: "face" for name in ("crop_align", "detect_face", "landmarks68")})
# LBP-TOP and TIM (C++ core).
_LAZY.update({name: "descriptors._lbptop" for name in ("lbp_top", "lbp_top_batch", "uniform_mapping")})
_LAZY.update({name: "descriptors._tim" for name in ("tim", "tim_batch", "tim_weights")})
# The rest of the tutorial's hand-crafted methods (Numba / NumPy).
_LAZY.update({"lbp_sip": "descriptors._lbpsip", "lbp_mop": "descriptors._lbpsip", "hoof": "descriptors._hoof"})
_LAZY.update({"hog3d": "descriptors._hog3d", "higo": "descriptors._hog3d"})
_LAZY.update({"dmdsp": "descriptors._sampling", "select_frames": "descriptors._sampling"})

# Subpackages reached as attributes (``mefast.datasets.load``) without importing them with mefast.
# Spotting: mefast.spot (long-video features, baselines and MEGC scoring live in mefast.spotting).
_LAZY.update({"spot": "spotting._spot"})
# Motion magnification: mefast.magnify (EVM in the C++ core; Lagrangian, learned) lives in mefast.magnification.
_LAZY.update({"magnify": "magnification"})
# Pictures: mefast.viz (colour coding numpy only; figures need the viz extra, loaded on first use).
_SUBPACKAGES = ("datasets", "spotting", "magnification", "viz")

__getattr__, __dir__ = _lazy_attributes(globals(), _LAZY, _SUBPACKAGES)
