// The kernels of every backend, registered once.
//
// How to add a binding area (say "magnify") for all backends:
//   1. csrc/bindings/magnify_kernels.hpp: `template <class Backend> void register_magnify_kernels(
//      py::module_& m, const Backend& backend)` that validates the arguments with the GIL held (parameter structs
//      through their C++ validate()), allocates the output, then calls `backend.magnify(...)` inside
//      py::gil_scoped_release. Every check lives here, so every backend accepts the same input with the same
//      messages. Use require_index32<Backend>() for sizes the CUDA kernels index with int.
//   2. Each backend gets the raw entry point, without Python types: `void magnify(const float*, ..., int n_threads,
//      float* out) const` in CpuBackend (cpu_backend.hpp), and in CudaBackend / EmulatedBackend
//      (csrc/cuda/backends.hpp) when the area has a CUDA schedule.
//   3. Add `register_magnify_kernels(m, backend);` to register_kernels() below: mefast._core, mefast._cuda and
//      mefast._cuda.emulated then all expose it with the same signature (keep mefast/_core.pyi and _cuda.pyi in
//      step), and Python reaches it as `mefast._backend.kernels(device).magnify(...)`.
//   A CPU-only area (no CUDA schedule yet) registers in its own register_<area>.cpp, called from module.cpp, as
//   the CPU-only helpers (TVL1Engine, lbp_layout, ...) do; its parameter struct is bound there with field() and
//   finish_struct() (bind_struct.hpp), which both modules share. Eulerian magnification (register_magnify.cpp:
//   EVMParams, evm_*) is such an area: CPU only, in mefast._core alone, so _cuda.pyi does not declare it and the
//   kernel section shared by _core.pyi and _cuda.pyi lists only the four kernels below.
//
// A Backend provides, all called without the GIL on validated input:
//   static constexpr const char* name;   // "cpu", "cuda", "emulated-cuda": used in messages
//   static constexpr bool index32;       // its kernels index with int: require_index32 refuses larger arrays
//   void tvl1_pairs(const float* frames, int nf, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n,
//                   const tvl1::Params&, int n_threads, float* flows) const;
//   void optical_strain(const float* flows, std::ptrdiff_t n, int h, int w, strain::Scheme, int n_threads,
//                       float* out) const;
//   void lbp_top(const lbp::ClipRef* clips, std::ptrdiff_t n, int n_threads, float* out) const;
//   template <class In, class Out> void tim(const In* x, int n, std::ptrdiff_t d, const double* K, int n_out,
//                                           int n_threads, Out* out) const;
#pragma once

#include <pybind11/pybind11.h>

#include "flow_kernels.hpp"
#include "lbp_kernels.hpp"
#include "strain_kernels.hpp"
#include "tim_kernels.hpp"

namespace mefast::bindings {

template <class Backend>
void register_kernels(pybind11::module_& m, const Backend& backend) {
    register_flow_kernels(m, backend);
    register_strain_kernels(m, backend);
    register_lbp_kernels(m, backend);
    register_tim_kernels(m, backend);
}

}  // namespace mefast::bindings
