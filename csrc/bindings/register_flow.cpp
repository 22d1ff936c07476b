// TV-L1's parameter struct (mefast._core.TVL1Params) and its CPU-only helpers: the reusable TVL1Engine, the
// flows from one reference frame (shared pyramid, optional warm start), the median filter and the pyramid
// depth. The tvl1_pairs kernel of every backend is in flow_kernels.hpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "array_checks.hpp"
#include "bind_struct.hpp"
#include "flow_kernels.hpp"
#include "mefast/tvl1.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {

// One TVL1Engine as the backend of tvl1_pairs' checks and output (one thread, its own buffers).
struct EngineBackend {
    static constexpr const char* name = "cpu";
    static constexpr bool index32 = false;
    tvl1::Engine* e;
    void tvl1_pairs(const float* f, int, int h, int w, const int* a, const int* b, std::ptrdiff_t n,
                    const tvl1::Params&, int, float* o) const {
        e->compute_pairs(f, h, w, a, b, n, o);
    }
};

}  // namespace

void register_flow(py::module_& m) {
    using tvl1::Params;
    py::class_<Params> c(m, "TVL1Params",
                         "tvl1::Params, the C++ core's TV-L1 parameters; built once by mefast.TVL1Params, whose "
                         "fields are these attributes (same names and defaults).");
    field(c, "tau", &Params::tau, "time step of the dual ascent");
    field(c, "lambda_", &Params::lambda, "weight of the data term");
    field(c, "theta", &Params::theta, "coupling of u and v");
    field(c, "nscales", &Params::nscales, "pyramid levels");
    field(c, "warps", &Params::warps, "warps per level");
    field(c, "epsilon", &Params::epsilon, "stopping threshold on the mean squared update");
    field(c, "inner_iterations", &Params::inner_iterations, "iterations between two median filterings");
    field(c, "outer_iterations", &Params::outer_iterations, "median filterings per warp");
    field(c, "scale_step", &Params::scale_step, "size ratio of two pyramid levels");
    field(c, "finest_warps", &Params::finest_warps, "warps on the full-size level (0: warps)");
    field(c, "finest_inner_iterations", &Params::finest_inner_iterations,
          "inner_iterations on the full-size level (0: inner_iterations)");
    field(c, "gamma", &Params::gamma, "weight of the illumination term");
    field(c, "gamma_finest_level", &Params::gamma_finest_level,
          "finest pyramid level that updates the illumination field (0: every level)");
    field(c, "median_filtering", &Params::median_filtering, "median filter size (1: none; 3 or 5)");
    field(c, "presmooth_sigma", &Params::presmooth_sigma, "Gaussian smoothing of both input images");
    field(c, "pyramid_smoothing", &Params::pyramid_smoothing, "Gaussian anti-aliasing before each downsampling");
    field(c, "min_size", &Params::min_size, "smallest side of a pyramid level");
    field(c, "adapt_scales", &Params::adapt_scales, "fewer levels on small frames instead of an error");
    finish_struct(c, [](const Params& p) { tvl1::validate(p); });

    py::class_<tvl1::Engine>(m, "TVL1Engine",
                             "TV-L1 with buffers kept between calls; pairs(frames, i0, i1) like tvl1_pairs, one "
                             "thread, calls on one object serialised.")
        .def(py::init([](const Params& p) { return std::make_unique<tvl1::Engine>(p); }), py::arg("params"))
        .def(
            "pairs",
            [](tvl1::Engine& e, const py::array& frames, const py::array& i0, const py::array& i1) {
                return tvl1_pairs(EngineBackend{&e}, frames, i0, i1, e.params(), 1);
            },
            py::arg("frames"), py::arg("i0"), py::arg("i1"),
            "Flows of the pairs with the engine's parameters: float32 (n_pairs, H, W, 2).")
        .def_property_readonly(
            "params", [](const tvl1::Engine& e) { return Params(e.params()); }, "The parameters (a copy).");
    m.def(
        "tvl1_from_reference",
        [](const py::array& reference_arg, const py::array& frames_arg, const Params& p, py::ssize_t chain,
           int n_threads) {
            const carray<float> reference = require_carray<float>(reference_arg, "reference");
            const carray<float> frames = require_carray<float>(frames_arg, "frames");
            require_ndim(reference, 2, "reference");
            require_ndim(frames, 3, "frames");
            const py::ssize_t n = frames.shape(0);
            const int h = int_extent(frames, 1, "frames"), w = int_extent(frames, 2, "frames");
            if (reference.shape(0) != h || reference.shape(1) != w) {
                std::ostringstream os;
                os << "reference of shape (" << reference.shape(0) << ", " << reference.shape(1)
                   << ") and frames of shape (" << n << ", " << h << ", " << w << "): the frames must have the "
                   << "reference's size";
                throw std::invalid_argument(os.str());
            }
            if (chain < 0) throw std::invalid_argument("chain must be >= 0 (0: no warm start), got " +
                                                       std::to_string(chain));
            tvl1::validate(p);
            tvl1::validate_size(p, h, w);
            py::array_t<float> out({n, static_cast<py::ssize_t>(h), static_cast<py::ssize_t>(w), py::ssize_t{2}});
            const float* r = reference.data();
            const float* f = frames.data();
            float* o = out.mutable_data();
            py::gil_scoped_release release;
            tvl1::compute_from_reference(r, f, n, h, w, p, chain, n_threads, o);
            return out;
        },
        py::arg("reference"), py::arg("frames"), py::arg("params"), py::arg("chain") = 0, py::arg("n_threads") = 0,
        "TV-L1 flow from a float32 (H, W) reference frame to each frame of a float32 (N, H, W) stack, all in\n"
        "[0, 255], the reference's pyramid built once: float32 (N, H, W, 2). chain=0: each flow is tvl1_pairs',\n"
        "bit for bit; chain=k >= 1: runs of k frames, each flow after a run's first warm-started from the\n"
        "previous frame's at the finest level (tvl1::compute_from_reference). CPU only; runs without the GIL\n"
        "on n_threads threads (0: all).");
    m.def(
        "_median_filter",
        [](const py::array& img_arg, int k) {
            const carray<float> img = require_carray<float>(img_arg, "img");
            require_ndim(img, 2, "img");
            const int h = int_extent(img, 0, "img"), w = int_extent(img, 1, "img");
            py::array_t<float> out({img.shape(0), img.shape(1)});
            std::copy(img.data(), img.data() + img.size(), out.mutable_data());
            float* o = out.mutable_data();
            py::gil_scoped_release release;
            tvl1::median_filter(o, h, w, k);
            return out;
        },
        py::arg("img"), py::arg("k"),
        "Median filter (k = 3 or 5, replicated border) used between TV-L1 iterations; for tests.");
    m.def(
        "tvl1_effective_scales",
        [](const Params& p, int h, int w) {
            tvl1::validate(p);
            return tvl1::effective_scales(p, h, w);
        },
        py::arg("params"), py::arg("h"), py::arg("w"), "Pyramid levels used for h x w frames.");
}

}  // namespace mefast::bindings
