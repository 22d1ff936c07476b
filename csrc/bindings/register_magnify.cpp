// Bindings of Eulerian video magnification (mefast/evm.hpp). Every entry point takes the same parameter dict
// (built by mefast.magnify._evm._core_params), validates shapes and parameters with the GIL held, then runs
// without it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "array_checks.hpp"
#include "mefast/evm.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {

evm::Params evm_params_from_dict(const py::dict& d) {
    evm::Params p;
    const std::string pyr = d.contains("pyramid") ? d["pyramid"].cast<std::string>() : "laplacian";
    if (pyr == "laplacian")
        p.pyramid = evm::Pyramid::laplacian;
    else if (pyr == "gaussian")
        p.pyramid = evm::Pyramid::gaussian;
    else if (pyr == "none")
        p.pyramid = evm::Pyramid::none;
    else
        throw std::invalid_argument("pyramid must be 'laplacian', 'gaussian' or 'none', got '" + pyr + "'");
    const std::string tmp = d.contains("temporal") ? d["temporal"].cast<std::string>() : "iir";
    if (tmp == "iir")
        p.temporal = evm::Temporal::iir;
    else if (tmp == "butter")
        p.temporal = evm::Temporal::butter;
    else if (tmp == "diff")
        p.temporal = evm::Temporal::diff;
    else if (tmp == "external")
        p.temporal = evm::Temporal::external;
    else
        throw std::invalid_argument("temporal must be 'iir', 'butter', 'diff' or 'external', got '" + tmp + "'");
    if (d.contains("levels")) p.levels = d["levels"].cast<int>();
    if (d.contains("alphas")) p.alphas = d["alphas"].cast<std::vector<float>>();
    if (d.contains("r1")) p.r1 = d["r1"].cast<float>();
    if (d.contains("r2")) p.r2 = d["r2"].cast<float>();
    if (d.contains("butter_high")) {
        auto c = d["butter_high"].cast<std::vector<double>>();
        if (c.size() != 3) throw std::invalid_argument("butter_high must be (b0, b1, a1)");
        p.high_b0 = c[0], p.high_b1 = c[1], p.high_a1 = c[2];
    }
    if (d.contains("butter_low")) {
        auto c = d["butter_low"].cast<std::vector<double>>();
        if (c.size() != 3) throw std::invalid_argument("butter_low must be (b0, b1, a1)");
        p.low_b0 = c[0], p.low_b1 = c[1], p.low_a1 = c[2];
    }
    if (d.contains("chroma_attenuation")) p.chroma_attenuation = d["chroma_attenuation"].cast<float>();
    if (d.contains("clip")) p.clip = d["clip"].cast<bool>();
    return p;
}

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

bool is_u8(const py::array& v) { return v.dtype().is(py::dtype::of<std::uint8_t>()); }

py::array evm_magnify(const py::array& video, const py::dict& params, int n_threads) {
    const Geometry g = video_geometry(video, "video");
    const evm::Params p = evm_params_from_dict(params);
    evm::validate(p, g.h, g.w);
    if (p.temporal == evm::Temporal::external)
        throw std::invalid_argument("evm_magnify runs the causal filters (iir, butter, diff); use evm_add_band");
    py::array out(video.dtype(), std::vector<py::ssize_t>(video.shape(), video.shape() + video.ndim()));
    const void* in = video.data();
    void* o = out.mutable_data();
    const bool u8 = is_u8(video);
    {
        py::gil_scoped_release release;
        if (u8)
            evm::magnify_causal(static_cast<const std::uint8_t*>(in), g.t, g.h, g.w, g.c, p, n_threads,
                                static_cast<std::uint8_t*>(o));
        else
            evm::magnify_causal(static_cast<const float*>(in), g.t, g.h, g.w, g.c, p, n_threads, static_cast<float*>(o));
    }
    return out;
}

py::array_t<float> evm_decompose(const py::array& video, const py::dict& params, int n_threads) {
    const Geometry g = video_geometry(video, "video");
    const evm::Params p = evm_params_from_dict(params);
    const evm::Representation rep(g.h, g.w, p);  // validates
    py::array_t<float> out({static_cast<py::ssize_t>(g.t), static_cast<py::ssize_t>(g.c),
                            static_cast<py::ssize_t>(rep.size())});
    const void* in = video.data();
    float* o = out.mutable_data();
    const bool u8 = is_u8(video);
    {
        py::gil_scoped_release release;
        if (u8)
            evm::decompose_video(static_cast<const std::uint8_t*>(in), g.t, g.h, g.w, g.c, p, n_threads, o);
        else
            evm::decompose_video(static_cast<const float*>(in), g.t, g.h, g.w, g.c, p, n_threads, o);
    }
    return out;
}

py::array evm_add_band(const py::array& video, const carray<float>& band, const py::dict& params, int n_threads) {
    const Geometry g = video_geometry(video, "video");
    const evm::Params p = evm_params_from_dict(params);
    const evm::Representation rep(g.h, g.w, p);
    if (band.ndim() != 3 || band.shape(0) != g.t || band.shape(1) != g.c || band.shape(2) != rep.size())
        throw std::invalid_argument("band must have shape (" + std::to_string(g.t) + ", " + std::to_string(g.c) + ", " +
                                    std::to_string(rep.size()) + ") for this video and parameters, got " +
                                    shape_str(band));
    py::array_t<float> work(std::vector<py::ssize_t>(band.shape(), band.shape() + 3));  // amplified in place
    std::copy(band.data(), band.data() + band.size(), work.mutable_data());
    py::array out(video.dtype(), std::vector<py::ssize_t>(video.shape(), video.shape() + video.ndim()));
    const void* in = video.data();
    void* o = out.mutable_data();
    float* b = work.mutable_data();
    const bool u8 = is_u8(video);
    {
        py::gil_scoped_release release;
        if (u8)
            evm::add_band(static_cast<const std::uint8_t*>(in), g.t, g.h, g.w, g.c, p, b, n_threads,
                          static_cast<std::uint8_t*>(o));
        else
            evm::add_band(static_cast<const float*>(in), g.t, g.h, g.w, g.c, p, b, n_threads, static_cast<float*>(o));
    }
    return out;
}

py::array evm_pair(py::array frame0, py::array frame1, const py::dict& params) {
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
    const evm::Params p = evm_params_from_dict(params);
    evm::validate(p, g.h, g.w);
    py::array out(frame0.dtype(), shape);
    const void* a = frame0.data();
    const void* b = frame1.data();
    void* o = out.mutable_data();
    const bool u8 = is_u8(frame0);
    {
        py::gil_scoped_release release;
        if (u8)
            evm::magnify_pair(static_cast<const std::uint8_t*>(a), static_cast<const std::uint8_t*>(b), g.h, g.w, g.c, p,
                              static_cast<std::uint8_t*>(o));
        else
            evm::magnify_pair(static_cast<const float*>(a), static_cast<const float*>(b), g.h, g.w, g.c, p,
                              static_cast<float*>(o));
    }
    return out;
}

}  // namespace

void register_magnify(py::module_& m) {
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
