// mefast._core: the compiled CPU kernels.
//
// Registration: register_<area>(m) (register_<area>.cpp) binds an area's parameter structs and CPU-only helpers;
// register_kernels(m, CpuBackend{}) then binds every kernel that all backends share (tvl1_pairs, optical_strain,
// lbp_top, tim), the same template that csrc/cuda/module.cpp instantiates for the CUDA backend and its CPU
// emulation. To add an area for all backends, follow the steps at the top of kernels.hpp; a CPU-only area
// adds its register_<area>(m) below.
#include <pybind11/pybind11.h>

#include "cpu_backend.hpp"
#include "kernels.hpp"
#include "mefast/common.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace {

py::dict build_info() {
    py::dict d;
    d["version"] = MEFAST_VERSION;
    d["compiler"] = MEFAST_COMPILER;
    d["cxx_flags"] = MEFAST_CXX_FLAGS;
    d["build_type"] = MEFAST_BUILD_TYPE;
    d["cxx_standard"] = static_cast<long>(__cplusplus);
    const std::string omp = MEFAST_OPENMP_VERSION;
    d["openmp"] = omp.empty() ? py::object(py::none()) : py::object(py::str(omp));
    d["simd"] = MEFAST_SIMD_MODE;
    d["target_clones"] = static_cast<bool>(MEFAST_HAS_TARGET_CLONES);
#if MEFAST_HAS_TARGET_CLONES
    __builtin_cpu_init();
    d["cpu_avx2_fma"] = static_cast<bool>(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
#else
    d["cpu_avx2_fma"] = py::none();
#endif
    d["hardware_threads"] = mefast::hardware_threads();
    return d;
}

}  // namespace

PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
    m.doc() = "mefast compiled CPU kernels (TV-L1 flow, optical strain, LBP-TOP, TIM)";
    m.def("build_info", &build_info, "Compiler, flags, OpenMP and SIMD of this build.");
    mefast::bindings::register_flow(m);
    mefast::bindings::register_lbp(m);
    mefast::bindings::register_tim(m);
    mefast::bindings::register_kernels(m, mefast::bindings::CpuBackend{});
    mefast::bindings::register_magnify(m);
}
