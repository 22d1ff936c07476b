// tvl1_pairs for every backend: the checks, then Backend::tvl1_pairs without the GIL (see kernels.hpp).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <sstream>
#include <stdexcept>
#include <vector>

#include "array_checks.hpp"
#include "mefast/tvl1.hpp"

namespace mefast::bindings {

template <class Backend>
pybind11::array_t<float> tvl1_pairs(const Backend& backend, const pybind11::array& frames_arg,
                                    const pybind11::array& i0_arg, const pybind11::array& i1_arg,
                                    const tvl1::Params& p, int n_threads) {
    namespace py = pybind11;
    const carray<float> frames = require_carray<float>(frames_arg, "frames");
    const carray<int> i0 = require_carray<int>(i0_arg, "i0"), i1 = require_carray<int>(i1_arg, "i1");
    require_ndim(frames, 3, "frames");
    require_ndim(i0, 1, "i0");
    require_ndim(i1, 1, "i1");
    if (i0.shape(0) != i1.shape(0)) throw std::invalid_argument("i0 and i1 must have the same length");
    const py::ssize_t nf = frames.shape(0), n_pairs = i0.shape(0);
    const int h = int_extent(frames, 1, "frames"), w = int_extent(frames, 2, "frames");
    // Copies: the indices checked here are the ones read after the GIL is released.
    const std::vector<int> a(i0.data(), i0.data() + n_pairs), b(i1.data(), i1.data() + n_pairs);
    for (py::ssize_t k = 0; k < n_pairs; ++k) {
        const int s = a[static_cast<std::size_t>(k)], t = b[static_cast<std::size_t>(k)];
        if (s < 0 || s >= nf || t < 0 || t >= nf) {
            std::ostringstream os;
            os << "pair " << k << " indexes frames (" << s << ", " << t << ") outside [0, " << nf << ")";
            throw std::invalid_argument(os.str());
        }
    }
    tvl1::validate(p);
    tvl1::validate_size(p, h, w);
    require_index32<Backend>(frames, "frames", nf, static_cast<py::ssize_t>(h) * w * 4);
    py::array_t<float> out({n_pairs, static_cast<py::ssize_t>(h), static_cast<py::ssize_t>(w), py::ssize_t{2}});
    const float* f = frames.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        backend.tvl1_pairs(f, static_cast<int>(nf), h, w, a.data(), b.data(), n_pairs, p, n_threads, o);
    }
    return out;
}

template <class Backend>
void register_flow_kernels(pybind11::module_& m, const Backend& backend) {
    namespace py = pybind11;
    m.def(
        "tvl1_pairs",
        [backend](const py::array& frames, const py::array& i0, const py::array& i1, const tvl1::Params& p,
                  int n_threads) { return tvl1_pairs(backend, frames, i0, i1, p, n_threads); },
        py::arg("frames"), py::arg("i0"), py::arg("i1"), py::arg("params"), py::arg("n_threads") = 0,
        "TV-L1 flow for pairs (frames[i0[k]] -> frames[i1[k]]) of a float32 (N, H, W) stack in [0, 255].\n"
        "Returns float32 (n_pairs, H, W, 2). Runs without the GIL (CPU: on n_threads threads, 0: all).");
}

}  // namespace mefast::bindings
