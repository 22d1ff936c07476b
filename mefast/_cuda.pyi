# Type stubs of the CUDA module (csrc/cuda/module.cpp); keep in step with it. Its kernels are registered from the
# same C++ templates as mefast._core's (csrc/bindings/kernels.hpp), so their stubs are _core.pyi's, re-exported.
from types import ModuleType
from typing import Any

# ---- kernels of every backend (kernels.hpp): _core.pyi declares them once, this module re-exports them ----
from mefast._core import lbp_top as lbp_top
from mefast._core import optical_strain as optical_strain
from mefast._core import tim as tim
from mefast._core import tvl1_pairs as tvl1_pairs

# ---- device queries ----------------------------------------------------------------------------------------
def build_info() -> dict[str, Any]: ...
def device_count() -> int: ...
def device_status() -> str: ...
def device_info(index: int = 0) -> dict[str, Any]: ...

# ---- other schedules: namespaces with the same four kernels ------------------------------------------------
emulated: ModuleType  # the CUDA kernels and schedule run sequentially on the CPU (shuffled element order)

def schedule(batch_size: int) -> ModuleType: ...
def emulation(order: int = 2, batch_size: int = 0) -> ModuleType: ...
