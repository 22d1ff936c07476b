// Bindings of TV-L1: tvl1_pairs(frames, i0, i1, params..., n_threads) over a stack of frames.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <vector>

#include "array_checks.hpp"
#include "params.hpp"
#include "mefast/tvl1.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {


py::array_t<float> tvl1_pairs(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                              const py::dict& params, int n_threads) {
    const Tvl1Pairs in = check_tvl1_pairs(frames, i0, i1, params);
    auto out = flows_array(in);
    const float* f = frames.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        tvl1::compute_pairs(f, in.h, in.w, in.i0.data(), in.i1.data(), in.n_pairs, in.p, n_threads, o);
    }
    return out;
}

}  // namespace

void register_flow(py::module_& m) {
    py::class_<tvl1::Engine>(m, "TVL1Engine",
                             "TV-L1 with buffers kept between calls; pairs(frames, i0, i1) like tvl1_pairs, one "
                             "thread, calls on one object serialised.")
        .def(py::init([](const py::dict& params) {
                 return std::make_unique<tvl1::Engine>(tvl1_params_from_dict(params));
             }),
             py::arg("params"))
        .def(
            "pairs",
            [](tvl1::Engine& e, const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
               const py::dict& params) {
                const Tvl1Pairs in = check_tvl1_pairs(frames, i0, i1, params);
                auto out = flows_array(in);
                const float* f = frames.data();
                float* o = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    e.compute_pairs(f, in.h, in.w, in.i0.data(), in.i1.data(), in.n_pairs, o);
                }
                return out;
            },
            py::arg("frames").noconvert(), py::arg("i0").noconvert(), py::arg("i1").noconvert(), py::arg("params"),
            "Flows of the pairs; params (the dict the engine was made with) supplies the size checks.");
    m.def("tvl1_pairs", &tvl1_pairs, py::arg("frames").noconvert(), py::arg("i0").noconvert(),
          py::arg("i1").noconvert(), py::arg("params"), py::arg("n_threads") = 0,
          "TV-L1 flow for pairs (frames[i0[k]] -> frames[i1[k]]) of a float32 (N, H, W) stack in [0, 255].\n"
          "Returns float32 (n_pairs, H, W, 2). Runs without the GIL on n_threads threads (0: all).");
    m.def(
        "_median_filter",
        [](const carray<float>& img, int k) {
            require_ndim(img, 2, "img");
            const int h = int_extent(img, 0, "img"), w = int_extent(img, 1, "img");
            py::array_t<float> out({img.shape(0), img.shape(1)});
            std::copy(img.data(), img.data() + img.size(), out.mutable_data());
            float* o = out.mutable_data();
            py::gil_scoped_release release;
            tvl1::median_filter(o, h, w, k);
            return out;
        },
        py::arg("img").noconvert(), py::arg("k"),
        "Median filter (k = 3 or 5, replicated border) used between TV-L1 iterations; for tests.");
    m.def(
        "tvl1_effective_scales",
        [](const py::dict& params, int h, int w) {
            const auto p = tvl1_params_from_dict(params);
            tvl1::validate(p);
            return tvl1::effective_scales(p, h, w);
        },
        py::arg("params"), py::arg("h"), py::arg("w"));
}

}  // namespace mefast::bindings
