// The CPU module's registration functions, one per binding area (register_<area>.cpp): parameter structs and
// CPU-only helpers. The kernels of every backend are registered by register_kernels() (kernels.hpp).
#pragma once

#include <pybind11/pybind11.h>

namespace mefast::bindings {
void register_flow(pybind11::module_& m);
void register_lbp(pybind11::module_& m);
void register_tim(pybind11::module_& m);
void register_magnify(pybind11::module_& m);  // register_magnify.cpp (Eulerian magnification, CPU only)
}  // namespace mefast::bindings
