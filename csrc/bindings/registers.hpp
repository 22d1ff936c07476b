// One registration function per binding area; each lives in register_<area>.cpp.
#pragma once

#include <pybind11/pybind11.h>

namespace mefast::bindings {
void register_flow(pybind11::module_& m);
void register_strain(pybind11::module_& m);
void register_lbp(pybind11::module_& m);
void register_tim(pybind11::module_& m);
}  // namespace mefast::bindings
