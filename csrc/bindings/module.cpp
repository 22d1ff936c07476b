// mefast._core: the compiled CPU kernels. One register_<area>() per binding area.
#include <pybind11/pybind11.h>

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
    mefast::bindings::register_strain(m);
    mefast::bindings::register_lbp(m);
    mefast::bindings::register_tim(m);
}
