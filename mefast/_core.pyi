# Type stubs of the compiled CPU core (csrc/bindings/*); keep in step with the bindings. The kernels section is
# mefast/_cuda.pyi's too, by re-export (one C++ template per area registers them in both modules).
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

def build_info() -> dict[str, Any]: ...

# ---- parameter structs (bind_struct.hpp): keyword constructor, validate(), _fields -------------------------
class TVL1Params:  # register_flow.cpp, tvl1::Params
    _fields: tuple[str, ...]
    tau: float
    lambda_: float
    theta: float
    nscales: int
    warps: int
    epsilon: float
    inner_iterations: int
    outer_iterations: int
    scale_step: float
    finest_warps: int
    finest_inner_iterations: int
    gamma: float
    gamma_finest_level: int
    median_filtering: int
    presmooth_sigma: float
    pyramid_smoothing: bool
    min_size: int
    adapt_scales: bool
    def __init__(self, **fields: Any) -> None: ...
    def validate(self) -> None: ...

class LBPTOPParams:  # register_lbp.cpp, lbp::Params
    _fields: tuple[str, ...]
    radius: tuple[int, ...]  # (R_X, R_Y, R_T)
    points: tuple[int, ...]  # (P_XY, P_XT, P_YT)
    blocks: tuple[int, ...]  # (rows, cols)
    time_blocks: int
    overlap: float
    mapping: str  # "none", "u2", "riu2" (other names raise ValueError)
    sampling: str  # "rounded", "bilinear"
    ordering: str  # "orig", "block"
    mode: str  # "paper", "meb"
    normalize: str  # "none", "per_block_plane", "per_plane", "global_l1"
    def __init__(self, **fields: Any) -> None: ...
    def validate(self) -> None: ...

class TIMParams:  # register_tim.cpp, tim::Params
    _fields: tuple[str, ...]
    n_frames: int
    output: str  # "float", "uint8"
    def __init__(self, **fields: Any) -> None: ...
    def validate(self) -> None: ...

# ---- kernels of every backend (kernels.hpp): _cuda.pyi re-exports these -----------------------------------
def tvl1_pairs(
    frames: NDArray[np.float32],
    i0: NDArray[np.int32],
    i1: NDArray[np.int32],
    params: TVL1Params,
    n_threads: int = 0,
) -> NDArray[np.float32]: ...
def optical_strain(flows: NDArray[np.float32], scheme: int = 0, n_threads: int = 0) -> NDArray[np.float32]: ...
def lbp_top(videos: Sequence[np.ndarray], params: LBPTOPParams, n_threads: int = 0) -> NDArray[np.float32]: ...
def tim(frames: np.ndarray, params: TIMParams, n_threads: int = 0) -> np.ndarray: ...

# ---- CPU-only helpers ------------------------------------------------------------------------------------
class TVL1Engine:  # register_flow.cpp
    def __init__(self, params: TVL1Params) -> None: ...
    def pairs(
        self, frames: NDArray[np.float32], i0: NDArray[np.int32], i1: NDArray[np.int32]
    ) -> NDArray[np.float32]: ...
    @property
    def params(self) -> TVL1Params: ...

def tvl1_from_reference(
    reference: NDArray[np.float32],
    frames: NDArray[np.float32],
    params: TVL1Params,
    chain: int = 0,
    n_threads: int = 0,
) -> NDArray[np.float32]: ...
def tvl1_effective_scales(params: TVL1Params, h: int, w: int) -> int: ...
def _median_filter(img: NDArray[np.float32], k: int) -> NDArray[np.float32]: ...
def lbp_top_codes(video: np.ndarray, params: LBPTOPParams) -> NDArray[np.uint16]: ...
def lbp_layout(params: LBPTOPParams) -> dict[str, Any]: ...
def lbp_mapping(points: int, mapping: str) -> tuple[Any, ...]: ...

TIM_MAX_FRAMES: int

def tim_weights(n: int, n_out: int) -> NDArray[np.float64]: ...

# register_magnify.cpp, evm::Params and the Eulerian magnification kernels (CPU only)
class EVMParams:
    _fields: tuple[str, ...]
    pyramid: str
    levels: int
    alphas: list[float]
    temporal: str
    r1: float
    r2: float
    high_b0: float
    high_b1: float
    high_a1: float
    low_b0: float
    low_b1: float
    low_a1: float
    chroma_attenuation: float
    clip: bool
    def __init__(self, **fields: Any) -> None: ...
    def validate(self) -> None: ...

def evm_auto_levels(h: int, w: int) -> int: ...
def evm_level_alphas(
    h: int, w: int, levels: int, alpha: float, lambda_c: float, exaggeration: float
) -> list[float]: ...
def evm_magnify(video: np.ndarray, params: EVMParams, n_threads: int = 0) -> np.ndarray: ...
def evm_decompose(video: np.ndarray, params: EVMParams, n_threads: int = 0) -> NDArray[np.float32]: ...
def evm_add_band(
    video: np.ndarray, band: NDArray[np.float32], params: EVMParams, n_threads: int = 0
) -> np.ndarray: ...
def evm_pair(frame0: np.ndarray, frame1: np.ndarray, params: EVMParams) -> np.ndarray: ...
