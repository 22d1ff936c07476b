// Eulerian video magnification (mefast/evm.hpp), CPU only: its parameter struct (mefast._core.EVMParams, built by
// mefast.magnification._evm) and the kernels. Every entry point validates shapes and parameters with the GIL held,
// then runs without it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "array_checks.hpp"
#include "bind_struct.hpp"
#include "mefast/evm.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {

struct Geometry {
    int t = 0, h = 0, w = 0, c = 1;
};

/// (T, H, W) or (T, H, W, 3), C-contiguous uint8 or float32.
Geometry video_geometry(const py::array& v, const char* name) {
    if (!(v.ndim() == 3 || (v.ndim() == 4 && v.shape(3) == 3)))
        throw std::invalid_argument(std::string(name) + " must have shape (T, H, W) or (T, H, W, 3), got " +
                                    shape_str(v));
    if (!(v.flags() & py::array::c_style)) throw std::invalid_argument(std::string(name) + " must be C-contiguous");
    if (!v.dtype().is(py::dtype::of<std::uint8_t>()) && !v.dtype().is(py::dtype::of<float>()))
        throw std::invalid_argument(std::string(name) + " must be uint8 or float32, got dtype " +
                                    std::string(py::str(v.dtype())));
    Geometry g;
    g.t = int_extent(v, 0, name);
    g.h = int_extent(v, 1, name);
    g.w = int_extent(v, 2, name);
    g.c = v.ndim() == 4 ? 3 : 1;
    if (g.t < 1 || g.h < 1 || g.w < 1)
        throw std::invalid_argument(std::string(name) + " must hold at least one frame of 1 x 1, got " + shape_str(v));
    return g;
}

/// f(T{}) with T the element type of v (uint8 or float32, checked by video_geometry), without the GIL.
template <class F>
void run_typed(const py::array& v, F&& f) {
    const bool u8 = v.dtype().is(py::dtype::of<std::uint8_t>());
    py::gil_scoped_release release;
    if (u8)
        f(std::uint8_t{});
    else
        f(float{});
}

/// An uninitialised array of v's shape and dtype.
py::array empty_like(const py::array& v) {
    return py::array(v.dtype(), std::vector<py::ssize_t>(v.shape(), v.shape() + v.ndim()));
}

py::array evm_magnify(const py::array& video, const evm::Params& p, int n_threads) {
    const Geometry g = video_geometry(video, "video");
    evm::validate(p, g.h, g.w);
    if (p.temporal == evm::Temporal::external)
        throw std::invalid_argument("evm_magnify runs the causal filters (iir, butter, diff); use evm_add_band");
    py::array out = empty_like(video);
    const void* in = video.data();
    void* o = out.mutable_data();
    run_typed(video, [&](auto zero) {
        using T = decltype(zero);
        evm::magnify_causal(static_cast<const T*>(in), g.t, g.h, g.w, g.c, p, n_threads, static_cast<T*>(o));
    });
    return out;
}

py::array_t<float> evm_decompose(const py::array& video, const evm::Params& p, int n_threads) {
    const Geometry g = video_geometry(video, "video");
    const evm::Representation rep(g.h, g.w, p);  // validates
    py::array_t<float> out({static_cast<py::ssize_t>(g.t), static_cast<py::ssize_t>(g.c),
                            static_cast<py::ssize_t>(rep.size())});
    const void* in = video.data();
    float* o = out.mutable_data();
    run_typed(video, [&](auto zero) {
        using T = decltype(zero);
        evm::decompose_video(static_cast<const T*>(in), g.t, g.h, g.w, g.c, p, n_threads, o);
    });
    return out;
}

py::array evm_add_band(const py::array& video, const carray<float>& band, const evm::Params& p, int n_threads) {
    const Geometry g = video_geometry(video, "video");
    const evm::Representation rep(g.h, g.w, p);
    if (band.ndim() != 3 || band.shape(0) != g.t || band.shape(1) != g.c || band.shape(2) != rep.size())
        throw std::invalid_argument("band must have shape (" + std::to_string(g.t) + ", " + std::to_string(g.c) + ", " +
                                    std::to_string(rep.size()) + ") for this video and parameters, got " +
                                    shape_str(band));
    py::array_t<float> work(std::vector<py::ssize_t>(band.shape(), band.shape() + 3));  // amplified in place
    std::copy(band.data(), band.data() + band.size(), work.mutable_data());
    py::array out = empty_like(video);
    const void* in = video.data();
    void* o = out.mutable_data();
    float* b = work.mutable_data();
    run_typed(video, [&](auto zero) {
        using T = decltype(zero);
        evm::add_band(static_cast<const T*>(in), g.t, g.h, g.w, g.c, p, b, n_threads, static_cast<T*>(o));
    });
    return out;
}

py::array evm_pair(py::array frame0, py::array frame1, const evm::Params& p) {
    // Frames (H, W) or (H, W, 3), checked as one-frame videos.
    if (frame0.ndim() < 2 || frame0.ndim() > 3)
        throw std::invalid_argument("frame0 must have shape (H, W) or (H, W, 3), got " + shape_str(frame0));
    std::vector<py::ssize_t> shape(frame0.shape(), frame0.shape() + frame0.ndim());
    std::vector<py::ssize_t> shape1(frame1.shape(), frame1.shape() + frame1.ndim());
    if (shape != shape1)
        throw std::invalid_argument("frame0 and frame1 must have the same shape, got " + shape_str(frame0) + " and " +
                                    shape_str(frame1));
    if (!frame0.dtype().is(frame1.dtype())) throw std::invalid_argument("frame0 and frame1 must have the same dtype");
    std::vector<py::ssize_t> vshape = shape;
    vshape.insert(vshape.begin(), 1);
    const py::array v0 = frame0.reshape(vshape);
    const Geometry g = video_geometry(v0, "frame0");
    video_geometry(frame1.reshape(vshape), "frame1");
    evm::validate(p, g.h, g.w);
    py::array out(frame0.dtype(), shape);
    const void* a = frame0.data();
    const void* b = frame1.data();
    void* o = out.mutable_data();
    run_typed(frame0, [&](auto zero) {
        using T = decltype(zero);
        evm::magnify_pair(static_cast<const T*>(a), static_cast<const T*>(b), g.h, g.w, g.c, p, static_cast<T*>(o));
    });
    return out;
}

}  // namespace

void register_magnify(py::module_& m) {
    using evm::Params;
    py::class_<Params> c(m, "EVMParams", "evm::Params, the C++ core's Eulerian magnification parameters.");
    enum_field(c, "pyramid", &Params::pyramid,
               {{"laplacian", evm::Pyramid::laplacian}, {"gaussian", evm::Pyramid::gaussian}, {"none", evm::Pyramid::none}},
               "spatial decomposition: Laplacian pyramid, one Gaussian level, or the pixels");
    field(c, "levels", &Params::levels, "laplacian: levels including the residual; gaussian: decimations");
    field(c, "alphas", &Params::alphas,
          "amplification per Laplacian level, finest first (one value for gaussian and none)");
    enum_field(c, "temporal", &Params::temporal,
               {{"iir", evm::Temporal::iir}, {"butter", evm::Temporal::butter}, {"diff", evm::Temporal::diff},
                {"external", evm::Temporal::external}},
               "causal temporal filter run by the core, or 'external' (the band is given: the ideal filter)");
    field(c, "r1", &Params::r1, "IIR pair: rate of the faster low-pass");
    field(c, "r2", &Params::r2, "IIR pair: rate of the slower low-pass");
    field_group<double>(c, "high", "Butterworth low-pass at the upper cutoff",
                        {{"b0", &Params::high_b0}, {"b1", &Params::high_b1}, {"a1", &Params::high_a1}});
    field_group<double>(c, "low", "Butterworth low-pass at the lower cutoff",
                        {{"b0", &Params::low_b0}, {"b1", &Params::low_b1}, {"a1", &Params::low_a1}});
    field(c, "chroma_attenuation", &Params::chroma_attenuation, "gain on the I and Q bands of colour video");
    field(c, "clip", &Params::clip, "clip float output to [0, 1]");
    finish_struct(c, [](const Params& p) { evm::validate(p); });
    m.def("evm_auto_levels", &evm::auto_levels, py::arg("h"), py::arg("w"),
          "matlabPyrTools' 'auto' Laplacian pyramid height for binom5 (levels including the residual).");
    m.def(
        "evm_level_alphas",
        [](int h, int w, int levels, double alpha, double lambda_c, double exaggeration) {
            if (h < 1 || w < 1) throw std::invalid_argument("frame size must be positive");
            return evm::level_alphas(h, w, levels, alpha, lambda_c, exaggeration);
        },
        py::arg("h"), py::arg("w"), py::arg("levels"), py::arg("alpha"), py::arg("lambda_c"), py::arg("exaggeration"),
        "Per-level alpha of the reference code (finest first; finest band and residual 0).");
    m.def("evm_magnify", &evm_magnify, py::arg("video"), py::arg("params"), py::arg("n_threads") = 0,
          "Linear EVM of a uint8/float32 (T, H, W[, 3]) video with a causal temporal filter; same dtype out.");
    m.def("evm_decompose", &evm_decompose, py::arg("video"), py::arg("params"), py::arg("n_threads") = 0,
          "(T, C, P) float32 coefficients of each frame's YIQ planes (only the levels with alpha != 0).");
    m.def("evm_add_band", &evm_add_band, py::arg("video"), py::arg("band"), py::arg("params"), py::arg("n_threads") = 0,
          "video + reconstruction of the band (T, C, P) amplified per level and chroma-attenuated.");
    m.def("evm_pair", &evm_pair, py::arg("frame0"), py::arg("frame1"), py::arg("params"),
          "Two-frame EVM: frame1 + reconstruction of alpha_l (L_l(frame1) - L_l(frame0)).");
}

}  // namespace mefast::bindings
