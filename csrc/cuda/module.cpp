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
#include "params.hpp"
#include "mefast/lbp_top.hpp"
#include "mefast/tim.hpp"
#include "mefast/tvl1.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {


// The checks of the CPU binding (params.hpp), plus the CUDA backend's 32-bit index limits.
Tvl1Pairs check_pairs(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                      const py::dict& params) {
    Tvl1Pairs in = check_tvl1_pairs(frames, i0, i1, params);
    if (in.nf > 2147483647 || static_cast<long long>(in.h) * in.w > 2147483647LL / 4)
        throw std::invalid_argument("frames " + shape_str(frames) + " are too large for the CUDA backend");
    return in;
}


// The checks, then run(frames, nf, h, w, i0, i1, n_pairs, params, out) without the GIL: the CUDA path and its
// sequential CPU emulation share everything but the runner.
template <class Run>
py::array_t<float> tvl1_pairs_impl(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                                   const py::dict& params, Run run) {
    const Tvl1Pairs in = check_pairs(frames, i0, i1, params);
    auto out = flows_array(in);
    const float* f = frames.data();
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        run(f, static_cast<int>(in.nf), in.h, in.w, in.i0.data(), in.i1.data(), in.n_pairs, in.p, o);
    }
    return out;
}

py::array_t<float> tvl1_pairs(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                              const py::dict& params, int batch_size) {
    return tvl1_pairs_impl(frames, i0, i1, params,
                           [&](const float* f, int nf, int h, int w, const int* a, const int* b, std::ptrdiff_t n,
                               const tvl1::Params& p, float* o) {
                               gpu::tvl1_pairs_cuda(f, nf, h, w, a, b, n, p, batch_size, o);
                           });
}

py::array_t<float> tvl1_pairs_emulated(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                                       const py::dict& params, int batch_size, int order) {
    if (order < 0 || order > 2) throw std::invalid_argument("order must be 0 (forward), 1 (reverse) or 2 (shuffled)");
    return tvl1_pairs_impl(frames, i0, i1, params,
                           [&](const float* f, int nf, int h, int w, const int* a, const int* b, std::ptrdiff_t n,
                               const tvl1::Params& p, float* o) {
                               gpu::tvl1_pairs_emulated(f, nf, h, w, a, b, n, p, batch_size, order, o);
                           });
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
