// lbp_top for every backend: the checks, then Backend::lbp_top without the GIL (see kernels.hpp).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "array_checks.hpp"
#include "mefast/lbp_top.hpp"

namespace mefast::bindings {

/// A clip must be a C-contiguous (T, H, W) uint8 or float32 array: the core never copies or casts.
/// Returns true for uint8.
inline bool check_clip(const pybind11::array& a, const std::string& what) {
    namespace py = pybind11;
    if (a.ndim() != 3) throw std::invalid_argument(what + " must have 3 dimensions (T, H, W), got shape " + shape_str(a));
    if (!(a.flags() & py::array::c_style)) throw std::invalid_argument(what + " must be C-contiguous");
    if (a.dtype().is(py::dtype::of<std::uint8_t>())) return true;
    if (a.dtype().is(py::dtype::of<float>())) return false;
    throw std::invalid_argument(what + " must be uint8 or float32, got dtype " + std::string(py::str(a.dtype())));
}

/// The plan of a checked clip (make_plan validates its shape against the parameters).
inline lbp::Plan clip_plan(const lbp::Params& p, const pybind11::array& a, const std::string& what) {
    check_clip(a, what);
    return lbp::make_plan(p, int_extent(a, 0, what.c_str()), int_extent(a, 1, what.c_str()),
                          int_extent(a, 2, what.c_str()), what);
}

template <class Backend>
void register_lbp_kernels(pybind11::module_& m, const Backend& backend) {
    namespace py = pybind11;
    m.def(
        "lbp_top",
        [backend](const std::vector<py::array>& videos, const lbp::Params& p, int n_threads) {
            lbp::validate(p);
            const auto n = static_cast<py::ssize_t>(videos.size());
            std::vector<lbp::Plan> plans;
            plans.reserve(videos.size());
            for (py::ssize_t i = 0; i < n; ++i) {
                const py::array& a = videos[static_cast<std::size_t>(i)];
                const std::string what = n == 1 ? "video" : "videos[" + std::to_string(i) + "]";
                plans.push_back(clip_plan(p, a, what));
                require_index32<Backend>(a, what.c_str(), 1, a.nbytes());
            }
            std::vector<lbp::ClipRef> refs;
            for (py::ssize_t i = 0; i < n; ++i) {
                const py::array& a = videos[static_cast<std::size_t>(i)];
                refs.push_back({a.data(), a.dtype().is(py::dtype::of<std::uint8_t>()),
                                &plans[static_cast<std::size_t>(i)]});
            }
            py::array_t<float> out({n, static_cast<py::ssize_t>(lbp::feature_length(p))});
            float* o = out.mutable_data();
            {
                py::gil_scoped_release release;
                backend.lbp_top(refs.data(), n, n_threads, o);
            }
            return out;
        },
        py::arg("videos"), py::arg("params"), py::arg("n_threads") = 0,
        "LBP-TOP features of a list of C-contiguous (T, H, W) uint8 or float32 clips (shapes may differ).\n"
        "Returns float32 (N, D). Runs without the GIL (CPU: on n_threads threads, 0: all).");
}

}  // namespace mefast::bindings
