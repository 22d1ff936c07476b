// Bindings of the lbp kernels (filled in by the LBP-TOP/TIM work, issue 3).
#include "registers.hpp"

namespace mefast::bindings {
void register_lbp(pybind11::module_& /*m*/) {}
}  // namespace mefast::bindings
