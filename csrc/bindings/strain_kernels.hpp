// optical_strain for every backend: the checks, then Backend::optical_strain without the GIL (see kernels.hpp).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "array_checks.hpp"
#include "mefast/strain.hpp"

namespace mefast::bindings {

template <class Backend>
void register_strain_kernels(pybind11::module_& m, const Backend& backend) {
    namespace py = pybind11;
    m.def(
        "optical_strain",
        [backend](const py::array& flows_arg, int scheme, int n_threads) {
            const carray<float> flows = require_carray<float>(flows_arg, "flows");
            require_ndim(flows, 4, "flows");
            if (flows.shape(3) != 2)
                throw std::invalid_argument("flows must have shape (N, H, W, 2), got " + shape_str(flows));
            const int h = int_extent(flows, 1, "flows"), w = int_extent(flows, 2, "flows");
            if (h < 2 || w < 2)
                throw std::invalid_argument("optical strain needs flow fields of at least 2 x 2, got " +
                                            shape_str(flows));
            if (scheme < 0 || scheme > 2) throw std::invalid_argument("unknown strain scheme " + std::to_string(scheme));
            const auto n = flows.shape(0);
            require_index32<Backend>(flows, "flows", n, static_cast<py::ssize_t>(h) * w * 4);
            py::array_t<float> out({n, static_cast<py::ssize_t>(h), static_cast<py::ssize_t>(w)});
            const float* f = flows.data();
            float* o = out.mutable_data();
            {
                py::gil_scoped_release release;
                backend.optical_strain(f, n, h, w, static_cast<strain::Scheme>(scheme), n_threads, o);
            }
            return out;
        },
        py::arg("flows"), py::arg("scheme") = 0, py::arg("n_threads") = 0,
        "Strain magnitude of float32 (N, H, W, 2) flows; scheme 0 central, 1 backward, 2 MEB Sobel.\n"
        "Runs without the GIL (CPU: on n_threads threads, 0: all).");
}

}  // namespace mefast::bindings
