// mefast._cuda: the CUDA backend. Same arguments, validation and messages as mefast._core's functions,
// so mefast/flow.py routes device="cuda" here unchanged. cudart is linked statically: the module imports on
// machines without a GPU or driver, where device_count() is 0 and device_status() says why.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <pybind11/stl.h>

#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "api.hpp"
#include "array_checks.hpp"
#include "mefast/lbp_top.hpp"
#include "mefast/tim.hpp"
#include "mefast/tvl1.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {

// The dict of TVL1Params._core_dict(), read as register_flow.cpp reads it.
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

struct PairsInput {
    int nf = 0, h = 0, w = 0;
    py::ssize_t n_pairs = 0;
    tvl1::Params p;
};

// The checks of register_flow.cpp's tvl1_pairs, in the same order and with the same messages.
PairsInput check_pairs(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                       const py::dict& params) {
    require_ndim(frames, 3, "frames");
    require_ndim(i0, 1, "i0");
    require_ndim(i1, 1, "i1");
    if (i0.shape(0) != i1.shape(0)) throw std::invalid_argument("i0 and i1 must have the same length");
    PairsInput in;
    const auto nf = frames.shape(0);
    in.h = static_cast<int>(frames.shape(1));
    in.w = static_cast<int>(frames.shape(2));
    in.n_pairs = i0.shape(0);
    auto a = i0.unchecked<1>();
    auto b = i1.unchecked<1>();
    for (py::ssize_t k = 0; k < in.n_pairs; ++k) {
        if (a(k) < 0 || a(k) >= nf || b(k) < 0 || b(k) >= nf) {
            std::ostringstream os;
            os << "pair " << k << " indexes frames (" << a(k) << ", " << b(k) << ") outside [0, " << nf << ")";
            throw std::invalid_argument(os.str());
        }
    }
    in.p = params_from_dict(params);
    tvl1::validate(in.p);
    if (in.h < 3 || in.w < 3) {
        std::ostringstream os;
        os << "frames of shape (" << in.h << ", " << in.w << ") are too small: TV-L1 needs at least 3 x 3 pixels";
        throw std::invalid_argument(os.str());
    }
    const int levels = tvl1::effective_scales(in.p, in.h, in.w);
    const bool adapt = params.contains("adapt_scales") && params["adapt_scales"].cast<bool>();
    if (levels < in.p.nscales && !adapt) {
        std::ostringstream os;
        os << "frames of " << in.h << " x " << in.w << " px are too small for nscales=" << in.p.nscales
           << " with scale_step=" << in.p.scale_step << " (each level must keep both sides >= " << in.p.min_size
           << " px): use nscales=" << levels << " or less, or adapt_scales=True";
        throw std::invalid_argument(os.str());
    }
    if (nf > 2147483647 || static_cast<long long>(in.h) * in.w > 2147483647LL / 4)
        throw std::invalid_argument("frames " + shape_str(frames) + " are too large for the CUDA backend");
    in.nf = static_cast<int>(nf);
    return in;
}

py::array_t<float> flows_array(const PairsInput& in) {
    return py::array_t<float>({static_cast<py::ssize_t>(in.n_pairs), static_cast<py::ssize_t>(in.h),
                               static_cast<py::ssize_t>(in.w), static_cast<py::ssize_t>(2)});
}

py::array_t<float> tvl1_pairs(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                              const py::dict& params, int batch_size) {
    const PairsInput in = check_pairs(frames, i0, i1, params);
    auto out = flows_array(in);
    const float* f = frames.data();
    const int* a = i0.data();
    const int* b = i1.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        gpu::tvl1_pairs_cuda(f, in.nf, in.h, in.w, a, b, in.n_pairs, in.p, batch_size, o);
    }
    return out;
}

py::array_t<float> tvl1_pairs_emulated(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                                       const py::dict& params, int batch_size, int order) {
    const PairsInput in = check_pairs(frames, i0, i1, params);
    if (order < 0 || order > 2) throw std::invalid_argument("order must be 0 (forward), 1 (reverse) or 2 (shuffled)");
    auto out = flows_array(in);
    const float* f = frames.data();
    const int* a = i0.data();
    const int* b = i1.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        gpu::tvl1_pairs_emulated(f, in.nf, in.h, in.w, a, b, in.n_pairs, in.p, batch_size, order, o);
    }
    return out;
}

// The checks of register_strain.cpp.
void check_strain(const carray<float>& flows, int scheme) {
    require_ndim(flows, 4, "flows");
    if (flows.shape(3) != 2) throw std::invalid_argument("flows must have shape (N, H, W, 2), got " + shape_str(flows));
    const auto h = flows.shape(1), w = flows.shape(2);
    if (h < 2 || w < 2) throw std::invalid_argument("optical strain needs flow fields of at least 2 x 2, got " + shape_str(flows));
    if (scheme < 0 || scheme > 2) throw std::invalid_argument("unknown strain scheme " + std::to_string(scheme));
    if (flows.shape(0) > 2147483647 || h * w > 2147483647 / 4)
        throw std::invalid_argument("flows " + shape_str(flows) + " are too large for the CUDA backend");
}

py::array_t<float> optical_strain(const carray<float>& flows, int scheme) {
    check_strain(flows, scheme);
    const auto n = flows.shape(0);
    const int h = static_cast<int>(flows.shape(1)), w = static_cast<int>(flows.shape(2));
    py::array_t<float> out({n, static_cast<py::ssize_t>(h), static_cast<py::ssize_t>(w)});
    const float* f = flows.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        gpu::optical_strain_cuda(f, n, h, w, scheme, o);
    }
    return out;
}

py::array_t<float> optical_strain_emulated(const carray<float>& flows, int scheme, int order) {
    check_strain(flows, scheme);
    if (order < 0 || order > 2) throw std::invalid_argument("order must be 0 (forward), 1 (reverse) or 2 (shuffled)");
    const auto n = flows.shape(0);
    const int h = static_cast<int>(flows.shape(1)), w = static_cast<int>(flows.shape(2));
    py::array_t<float> out({n, static_cast<py::ssize_t>(h), static_cast<py::ssize_t>(w)});
    const float* f = flows.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        gpu::optical_strain_emulated(f, n, h, w, scheme, order, o);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// LBP-TOP: the parameter dict and clip checks of register_lbp.cpp (same keys, defaults and messages).

template <class E>
E parse_enum(const py::dict& d, const char* key, std::initializer_list<std::pair<const char*, E>> options, E dflt) {
    if (!d.contains(key)) return dflt;
    const std::string v = d[key].cast<std::string>();
    std::ostringstream names;
    for (const auto& [name, value] : options) {
        if (v == name) return value;
        names << (names.tellp() > 0 ? ", " : "") << "'" << name << "'";
    }
    throw std::invalid_argument(std::string(key) + " must be one of " + names.str() + ", got '" + v + "'");
}

template <std::size_t N>
void parse_ints(const py::dict& d, const char* key, int* out) {
    if (!d.contains(key)) return;
    const auto v = d[key].cast<std::vector<int>>();
    if (v.size() != N)
        throw std::invalid_argument(std::string(key) + " must have " + std::to_string(N) + " values, got " +
                                    std::to_string(v.size()));
    for (std::size_t i = 0; i < N; ++i) out[i] = v[i];
}

lbp::Params lbp_params_from_dict(const py::dict& d) {
    using namespace lbp;
    Params p;
    parse_ints<3>(d, "radius", p.radius);
    parse_ints<3>(d, "points", p.points);
    int blocks[2] = {p.rows, p.cols};
    parse_ints<2>(d, "blocks", blocks);
    p.rows = blocks[0];
    p.cols = blocks[1];
    if (d.contains("time_blocks")) p.time_blocks = d["time_blocks"].cast<int>();
    if (d.contains("overlap")) p.overlap = d["overlap"].cast<double>();
    p.mapping = parse_enum<Mapping>(d, "mapping", {{"none", Mapping::none}, {"u2", Mapping::u2}, {"riu2", Mapping::riu2}},
                                    Mapping::u2);
    p.sampling = parse_enum<Sampling>(d, "sampling", {{"rounded", Sampling::rounded}, {"bilinear", Sampling::bilinear}},
                                      Sampling::rounded);
    p.ordering = parse_enum<Ordering>(d, "ordering", {{"orig", Ordering::orig}, {"block", Ordering::block}},
                                      Ordering::orig);
    p.mode = parse_enum<Mode>(d, "mode", {{"paper", Mode::paper}, {"meb", Mode::meb}}, Mode::paper);
    p.normalize = parse_enum<Normalize>(d, "normalize",
                                        {{"none", Normalize::none},
                                         {"per_block_plane", Normalize::per_block_plane},
                                         {"per_plane", Normalize::per_plane},
                                         {"global_l1", Normalize::global_l1}},
                                        Normalize::per_block_plane);
    lbp::validate(p);
    return p;
}

bool check_clip(const py::array& a, const std::string& what) {
    if (a.ndim() != 3) throw std::invalid_argument(what + " must have 3 dimensions (T, H, W), got shape " + shape_str(a));
    if (!(a.flags() & py::array::c_style)) throw std::invalid_argument(what + " must be C-contiguous");
    if (a.dtype().is(py::dtype::of<std::uint8_t>())) return true;
    if (a.dtype().is(py::dtype::of<float>())) return false;
    throw std::invalid_argument(what + " must be uint8 or float32, got dtype " + std::string(py::str(a.dtype())));
}

template <class Run>
py::array_t<float> lbp_top_impl(const std::vector<py::array>& videos, const py::dict& params, Run run) {
    const lbp::Params p = lbp_params_from_dict(params);
    const auto n = static_cast<py::ssize_t>(videos.size());
    std::vector<lbp::Plan> plans;
    plans.reserve(videos.size());
    for (py::ssize_t i = 0; i < n; ++i) {
        const py::array& a = videos[static_cast<std::size_t>(i)];
        const std::string what = n == 1 ? "video" : "videos[" + std::to_string(i) + "]";
        check_clip(a, what);
        if (a.size() > 2147483647 / 4) throw std::invalid_argument(what + " is too large for the CUDA backend");
        plans.push_back(lbp::make_plan(p, static_cast<int>(a.shape(0)), static_cast<int>(a.shape(1)),
                                       static_cast<int>(a.shape(2)), what));
    }
    std::vector<gpu::LbpClip> clips;
    for (py::ssize_t i = 0; i < n; ++i) {
        const py::array& a = videos[static_cast<std::size_t>(i)];
        clips.push_back({a.data(), a.dtype().is(py::dtype::of<std::uint8_t>()), &plans[static_cast<std::size_t>(i)]});
    }
    py::array_t<float> out({n, static_cast<py::ssize_t>(lbp::feature_length(p))});
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        run(clips.data(), static_cast<std::ptrdiff_t>(n), o);
    }
    return out;
}

py::array_t<float> lbp_top(const std::vector<py::array>& videos, const py::dict& params) {
    return lbp_top_impl(videos, params, [](const gpu::LbpClip* c, std::ptrdiff_t n, float* o) { gpu::lbp_top_cuda(c, n, o); });
}

py::array_t<float> lbp_top_emulated(const std::vector<py::array>& videos, const py::dict& params, int order) {
    if (order < 0 || order > 2) throw std::invalid_argument("order must be 0 (forward), 1 (reverse) or 2 (shuffled)");
    return lbp_top_impl(videos, params,
                        [order](const gpu::LbpClip* c, std::ptrdiff_t n, float* o) { gpu::lbp_top_emulated(c, n, order, o); });
}

// ---------------------------------------------------------------------------------------------------------
// TIM: the checks of register_tim.cpp.

template <class Run>
py::array tim_impl(const py::array& frames, int n_out, const std::string& output, Run run) {
    if (frames.ndim() < 2)
        throw std::invalid_argument("frames must have shape (T, ...) with at least 2 dimensions, got " + shape_str(frames));
    if (!(frames.flags() & py::array::c_style)) throw std::invalid_argument("frames must be C-contiguous");
    if (frames.shape(0) < 1) throw std::invalid_argument("frames must hold at least one frame, got " + shape_str(frames));
    if (n_out < 1) throw std::invalid_argument("n_frames must be >= 1, got " + std::to_string(n_out));
    if (output != "float" && output != "uint8")
        throw std::invalid_argument("output must be 'float' or 'uint8', got '" + output + "'");
    gpu::TimInput in;
    if (frames.dtype().is(py::dtype::of<std::uint8_t>()))
        in = gpu::TimInput::uint8;
    else if (frames.dtype().is(py::dtype::of<float>()))
        in = gpu::TimInput::float32;
    else if (frames.dtype().is(py::dtype::of<double>()))
        in = gpu::TimInput::float64;
    else
        throw std::invalid_argument("frames must be uint8, float32 or float64, got dtype " + std::string(py::str(frames.dtype())));
    const int n = static_cast<int>(frames.shape(0));
    std::vector<py::ssize_t> shape(frames.shape(), frames.shape() + frames.ndim());
    py::ssize_t d = 1;
    for (std::size_t k = 1; k < shape.size(); ++k) d *= shape[k];
    if (d > 2147483647 / 4) throw std::invalid_argument("frames " + shape_str(frames) + " are too large for the CUDA backend");
    shape[0] = n_out;
    std::vector<double> K(static_cast<std::size_t>(n) * n_out);
    tim::weights(n, n_out, K.data());
    const bool u8 = output == "uint8";
    py::array out = u8 ? py::array(py::array_t<std::uint8_t>(shape)) : py::array(py::array_t<float>(shape));
    const void* x = frames.data();
    void* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        run(x, in, n, static_cast<std::ptrdiff_t>(d), K.data(), n_out, u8, o);
    }
    return out;
}

py::array tim(const py::array& frames, int n_out, const std::string& output) {
    return tim_impl(frames, n_out, output, [](const void* x, gpu::TimInput in, int n, std::ptrdiff_t d, const double* K,
                                              int n_out_, bool u8, void* o) { gpu::tim_cuda(x, in, n, d, K, n_out_, u8, o); });
}

py::array tim_emulated(const py::array& frames, int n_out, const std::string& output, int order) {
    if (order < 0 || order > 2) throw std::invalid_argument("order must be 0 (forward), 1 (reverse) or 2 (shuffled)");
    return tim_impl(frames, n_out, output,
                    [order](const void* x, gpu::TimInput in, int n, std::ptrdiff_t d, const double* K, int n_out_,
                            bool u8, void* o) { gpu::tim_emulated(x, in, n, d, K, n_out_, u8, order, o); });
}

py::dict device_info(int index) {
    const auto q = gpu::query_devices();
    if (index < 0 || index >= q.count) {
        std::ostringstream os;
        os << "no CUDA device " << index << " (" << q.count << " visible: " << q.status << ")";
        throw std::invalid_argument(os.str());
    }
    const auto d = gpu::device_properties(index);
    py::dict r;
    r["name"] = d.name;
    r["compute_capability"] = py::make_tuple(d.major, d.minor);
    r["multiprocessors"] = d.multiprocessors;
    r["total_memory"] = d.total_memory;
    return r;
}

py::dict build_info() {
    py::dict d;
    d["version"] = MEFAST_VERSION;
    d["cuda_compiler"] = MEFAST_CUDA_COMPILER;
    d["cuda_architectures"] = MEFAST_CUDA_ARCHITECTURES;
    d["cudart"] = "static";
    d["runtime_version"] = gpu::runtime_version();
    d["driver_version"] = gpu::driver_version();
    return d;
}

}  // namespace
}  // namespace mefast::bindings

PYBIND11_MODULE(_cuda, m, py::mod_gil_not_used()) {
    using namespace mefast::bindings;
    m.doc() = "mefast CUDA kernels (batched TV-L1 flow, optical strain, LBP-TOP, TIM); cudart linked statically";
    m.def("build_info", &build_info, "CUDA compiler, target architectures, runtime and driver versions.");
    m.def(
        "device_count", [] { return mefast::gpu::query_devices().count; },
        "Number of visible CUDA devices; 0 (never an error) without a GPU or a recent enough driver.");
    m.def(
        "device_status", [] { return mefast::gpu::query_devices().status; },
        "'ok', or why no CUDA device is usable (the CUDA runtime's error name and message).");
    m.def("device_info", &device_info, py::arg("index") = 0, "Name, compute capability, SMs and memory of a device.");
    m.def("tvl1_pairs", &tvl1_pairs, py::arg("frames").noconvert(), py::arg("i0").noconvert(),
          py::arg("i1").noconvert(), py::arg("params"), py::arg("batch_size") = 0,
          "TV-L1 flow for pairs (frames[i0[k]] -> frames[i1[k]]) of a float32 (N, H, W) stack in [0, 255], on the\n"
          "GPU, as _core.tvl1_pairs. Frames are uploaded once; batch_size pairs (0: as many as fit) iterate at\n"
          "once, each stopping on its own epsilon test. Returns float32 (n_pairs, H, W, 2). Releases the GIL.");
    m.def("optical_strain", &optical_strain, py::arg("flows").noconvert(), py::arg("scheme") = 0,
          "Strain magnitude of float32 (N, H, W, 2) flows on the GPU, as _core.optical_strain.");
    m.def("tvl1_pairs_emulated", &tvl1_pairs_emulated, py::arg("frames").noconvert(), py::arg("i0").noconvert(),
          py::arg("i1").noconvert(), py::arg("params"), py::arg("batch_size") = 0, py::arg("order") = 2,
          "tvl1_pairs' kernels and schedule run sequentially on the CPU (testing without a GPU). order: 0\n"
          "forward, 1 reverse, 2 shuffled element order within each launch.");
    m.def("optical_strain_emulated", &optical_strain_emulated, py::arg("flows").noconvert(), py::arg("scheme") = 0,
          py::arg("order") = 2, "optical_strain's kernel run sequentially on the CPU (testing without a GPU).");
    m.def("lbp_top", &lbp_top, py::arg("videos"), py::arg("params"),
          "LBP-TOP features of a list of C-contiguous (T, H, W) uint8/float32 clips on the GPU, as _core.lbp_top:\n"
          "float32 (N, D). Releases the GIL.");
    m.def("lbp_top_emulated", &lbp_top_emulated, py::arg("videos"), py::arg("params"), py::arg("order") = 2,
          "lbp_top's kernel run sequentially on the CPU (testing without a GPU).");
    m.def("tim", &tim, py::arg("frames"), py::arg("n_out"), py::arg("output") = "float",
          "TIM of a C-contiguous (T, ...) uint8/float32/float64 clip to n_out frames on the GPU, as _core.tim.");
    m.def("tim_emulated", &tim_emulated, py::arg("frames"), py::arg("n_out"), py::arg("output") = "float",
          py::arg("order") = 2, "tim's kernel run sequentially on the CPU (testing without a GPU).");
}
