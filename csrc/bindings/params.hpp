// Parameter parsing and boundary checks shared by the CPU bindings (register_flow.cpp, register_lbp.cpp) and the
// CUDA module (csrc/cuda/module.cpp), so both backends accept exactly the same input with the same messages.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "array_checks.hpp"
#include "mefast/lbp_top.hpp"
#include "mefast/tvl1.hpp"

namespace mefast::bindings {

// ------------------------------------------------------------------------------------------------- TV-L1

/// The dict of TVL1Params._core_dict().
inline tvl1::Params tvl1_params_from_dict(const pybind11::dict& d) {
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

/// A validated tvl1_pairs request. The pair indices are copies, so the indices checked here are the ones used
/// after the GIL is released.
struct Tvl1Pairs {
    pybind11::ssize_t nf = 0, n_pairs = 0;
    int h = 0, w = 0;
    tvl1::Params p;
    std::vector<int> i0, i1;
};

inline Tvl1Pairs check_tvl1_pairs(const carray<float>& frames, const carray<int>& i0, const carray<int>& i1,
                                  const pybind11::dict& params) {
    require_ndim(frames, 3, "frames");
    require_ndim(i0, 1, "i0");
    require_ndim(i1, 1, "i1");
    if (i0.shape(0) != i1.shape(0)) throw std::invalid_argument("i0 and i1 must have the same length");
    Tvl1Pairs in;
    in.nf = frames.shape(0);
    in.h = int_extent(frames, 1, "frames");
    in.w = int_extent(frames, 2, "frames");
    in.n_pairs = i0.shape(0);
    in.i0.assign(i0.data(), i0.data() + in.n_pairs);
    in.i1.assign(i1.data(), i1.data() + in.n_pairs);
    for (pybind11::ssize_t k = 0; k < in.n_pairs; ++k) {
        const int a = in.i0[static_cast<std::size_t>(k)], b = in.i1[static_cast<std::size_t>(k)];
        if (a < 0 || a >= in.nf || b < 0 || b >= in.nf) {
            std::ostringstream os;
            os << "pair " << k << " indexes frames (" << a << ", " << b << ") outside [0, " << in.nf << ")";
            throw std::invalid_argument(os.str());
        }
    }
    in.p = tvl1_params_from_dict(params);
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
    return in;
}

inline pybind11::array_t<float> flows_array(const Tvl1Pairs& in) {
    return pybind11::array_t<float>({in.n_pairs, static_cast<pybind11::ssize_t>(in.h),
                                     static_cast<pybind11::ssize_t>(in.w), static_cast<pybind11::ssize_t>(2)});
}

// ------------------------------------------------------------------------------------------------- LBP-TOP

template <class E>
E parse_enum(const pybind11::dict& d, const char* key, std::initializer_list<std::pair<const char*, E>> options,
             E dflt) {
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
void parse_ints(const pybind11::dict& d, const char* key, int* out) {
    if (!d.contains(key)) return;
    const auto v = d[key].cast<std::vector<int>>();
    if (v.size() != N)
        throw std::invalid_argument(std::string(key) + " must have " + std::to_string(N) + " values, got " +
                                    std::to_string(v.size()));
    for (std::size_t i = 0; i < N; ++i) out[i] = v[i];
}

/// The dict of mefast.descriptors.lbptop's parameters, validated.
inline lbp::Params lbp_params_from_dict(const pybind11::dict& d) {
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

}  // namespace mefast::bindings
