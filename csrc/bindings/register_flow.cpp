// Bindings of TV-L1: tvl1_pairs(frames, i0, i1, params..., n_threads) over a stack of frames.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "array_checks.hpp"
#include "mefast/tvl1.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {

tvl1::Params params_from_dict(const py::dict& d) {
    tvl1::Params p;
    auto get_f = [&](const char* k, float& v) {
        if (d.contains(k)) v = d[k].cast<float>();
    };
    auto get_i = [&](const char* k, int& v) {
        if (d.contains(k)) v = d[k].cast<int>();
    };
    get_f("tau", p.tau);
    get_f("lambda_", p.lambda);
    get_f("theta", p.theta);
    get_f("gamma", p.gamma);
    get_i("nscales", p.nscales);
    get_i("warps", p.warps);
    get_f("epsilon", p.epsilon);
    get_i("inner_iterations", p.inner_iterations);
    get_i("outer_iterations", p.outer_iterations);
    get_f("scale_step", p.scale_step);
    get_i("median_filtering", p.median_filtering);
    get_f("presmooth_sigma", p.presmooth_sigma);
    if (d.contains("pyramid_smoothing")) p.pyramid_smoothing = d["pyramid_smoothing"].cast<bool>();
    get_i("min_size", p.min_size);
    return p;
}

py::array_t<float> tvl1_pairs(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                              const py::dict& params, int n_threads) {
    require_ndim(frames, 3, "frames");
    require_ndim(i0, 1, "i0");
    require_ndim(i1, 1, "i1");
    if (i0.shape(0) != i1.shape(0)) throw std::invalid_argument("i0 and i1 must have the same length");
    const auto nf = frames.shape(0);
    const int h = int_extent(frames, 1, "frames"), w = int_extent(frames, 2, "frames");
    const auto n_pairs = i0.shape(0);
    // Copies, so the indices checked here are the ones used after the GIL is released.
    const std::vector<int> a(i0.data(), i0.data() + i0.shape(0));
    const std::vector<int> b(i1.data(), i1.data() + i1.shape(0));
    for (py::ssize_t k = 0; k < n_pairs; ++k) {
        if (a[k] < 0 || a[k] >= nf || b[k] < 0 || b[k] >= nf) {
            std::ostringstream os;
            os << "pair " << k << " indexes frames (" << a[k] << ", " << b[k] << ") outside [0, " << nf << ")";
            throw std::invalid_argument(os.str());
        }
    }
    const tvl1::Params p = params_from_dict(params);
    tvl1::validate(p);
    if (h < 3 || w < 3) {
        std::ostringstream os;
        os << "frames of shape (" << h << ", " << w << ") are too small: TV-L1 needs at least 3 x 3 pixels";
        throw std::invalid_argument(os.str());
    }
    const int levels = tvl1::effective_scales(p, h, w);
    const bool adapt = params.contains("adapt_scales") && params["adapt_scales"].cast<bool>();
    if (levels < p.nscales && !adapt) {
        std::ostringstream os;
        os << "frames of " << h << " x " << w << " px are too small for nscales=" << p.nscales
           << " with scale_step=" << p.scale_step << " (each level must keep both sides >= " << p.min_size
           << " px): use nscales=" << levels << " or less, or adapt_scales=True";
        throw std::invalid_argument(os.str());
    }
    py::array_t<float> out({static_cast<py::ssize_t>(n_pairs), static_cast<py::ssize_t>(h),
                            static_cast<py::ssize_t>(w), static_cast<py::ssize_t>(2)});
    const float* f = frames.data();
    const int* pa = a.data();
    const int* pb = b.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        tvl1::compute_pairs(f, h, w, pa, pb, n_pairs, p, n_threads, o);
    }
    return out;
}

}  // namespace

void register_flow(py::module_& m) {
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
            const auto p = params_from_dict(params);
            tvl1::validate(p);
            return tvl1::effective_scales(p, h, w);
        },
        py::arg("params"), py::arg("h"), py::arg("w"));
}

}  // namespace mefast::bindings
