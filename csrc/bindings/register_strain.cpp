// Bindings of the optical strain kernel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <sstream>

#include "array_checks.hpp"
#include "mefast/strain.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {

py::array_t<float> optical_strain(const carray<float>& flows, int scheme, int n_threads) {
    require_ndim(flows, 4, "flows");
    if (flows.shape(3) != 2) throw std::invalid_argument("flows must have shape (N, H, W, 2), got " + shape_str(flows));
    const int h = int_extent(flows, 1, "flows"), w = int_extent(flows, 2, "flows");
    if (h < 2 || w < 2) throw std::invalid_argument("optical strain needs flow fields of at least 2 x 2, got " + shape_str(flows));
    if (scheme < 0 || scheme > 2) throw std::invalid_argument("unknown strain scheme " + std::to_string(scheme));
    const auto n = flows.shape(0);
    py::array_t<float> out({n, static_cast<py::ssize_t>(h), static_cast<py::ssize_t>(w)});
    const float* f = flows.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        strain::compute(f, n, h, w, static_cast<strain::Scheme>(scheme), n_threads, o);
    }
    return out;
}

}  // namespace

void register_strain(py::module_& m) {
    m.def("optical_strain", &optical_strain, py::arg("flows").noconvert(), py::arg("scheme") = 0,
          py::arg("n_threads") = 0,
          "Strain magnitude of float32 (N, H, W, 2) flows; scheme 0 central, 1 backward, 2 MEB Sobel.");
}

}  // namespace mefast::bindings
