// Bindings of LBP-TOP: lbp_top(videos, params, n_threads) over a list of clips, plus the mapping tables, the
// feature layout and raw code volumes (for tests and inspection).
//
// params is a dict: radius (R_X, R_Y, R_T), points (P_XY, P_XT, P_YT), blocks (rows, cols), time_blocks,
// overlap, mapping ("none" | "u2" | "riu2"), sampling ("rounded" | "bilinear"), ordering ("orig" | "block"),
// mode ("paper" | "meb"), normalize ("none" | "per_block_plane" | "per_plane" | "global_l1").
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <sstream>
#include <string>
#include <vector>

#include "array_checks.hpp"
#include "params.hpp"
#include "mefast/lbp_top.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {


py::array_t<float> lbp_top(const std::vector<py::array>& videos, const py::dict& params, int n_threads) {
    const lbp::Params p = lbp_params_from_dict(params);
    const auto n = static_cast<py::ssize_t>(videos.size());
    std::vector<lbp::Plan> plans;
    plans.reserve(videos.size());
    std::vector<lbp::ClipRef> refs;
    for (py::ssize_t i = 0; i < n; ++i) {
        const py::array& a = videos[static_cast<std::size_t>(i)];
        const std::string what = n == 1 ? "video" : "videos[" + std::to_string(i) + "]";
        check_clip(a, what);
        plans.push_back(lbp::make_plan(p, int_extent(a, 0, what.c_str()), int_extent(a, 1, what.c_str()),
                                       int_extent(a, 2, what.c_str()), what));
    }
    for (py::ssize_t i = 0; i < n; ++i) {
        const py::array& a = videos[static_cast<std::size_t>(i)];
        refs.push_back({a.data(), a.dtype().is(py::dtype::of<std::uint8_t>()), &plans[static_cast<std::size_t>(i)]});
    }
    const auto D = static_cast<py::ssize_t>(lbp::feature_length(p));
    py::array_t<float> out({n, D});
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        lbp::compute_batch(refs.data(), n, n_threads, o);
    }
    return out;
}

py::array_t<std::uint16_t> lbp_top_codes(const py::array& video, const py::dict& params) {
    const lbp::Params p = lbp_params_from_dict(params);
    const bool u8 = check_clip(video, "video");
    const lbp::Plan pl = lbp::make_plan(p, int_extent(video, 0, "video"), int_extent(video, 1, "video"),
                                        int_extent(video, 2, "video"), "video");
    py::array_t<std::uint16_t> out({static_cast<py::ssize_t>(pl.Tc), static_cast<py::ssize_t>(pl.Hi),
                                    static_cast<py::ssize_t>(pl.Wi), static_cast<py::ssize_t>(3)});
    std::uint16_t* o = out.mutable_data();
    const void* data = video.data();
    {
        py::gil_scoped_release release;
        if (u8)
            lbp::codes(static_cast<const std::uint8_t*>(data), pl, o);
        else
            lbp::codes(static_cast<const float*>(data), pl, o);
    }
    return out;
}

py::tuple lbp_mapping(int P, const std::string& kind) {
    py::dict d;
    d["mapping"] = kind;
    const lbp::Mapping m = parse_enum<lbp::Mapping>(
        d, "mapping", {{"none", lbp::Mapping::none}, {"u2", lbp::Mapping::u2}, {"riu2", lbp::Mapping::riu2}},
        lbp::Mapping::u2);
    int n_bins = 0;
    const auto t = lbp::mapping_table(P, m, &n_bins);
    py::array_t<std::uint16_t> table(static_cast<py::ssize_t>(t.size()));
    std::copy(t.begin(), t.end(), table.mutable_data());
    return py::make_tuple(table, n_bins);
}

py::dict lbp_layout(const py::dict& params) {
    const lbp::Params p = lbp_params_from_dict(params);
    py::dict d;
    d["bins"] = lbp::bins_per_plane(p);
    d["n_blocks"] = static_cast<py::ssize_t>(p.time_blocks) * p.rows * p.cols;
    d["length"] = static_cast<py::ssize_t>(lbp::feature_length(p));
    d["border"] = std::max(p.radius[0], p.radius[1]);
    d["time_border"] = p.radius[2];
    return d;
}

}  // namespace

void register_lbp(py::module_& m) {
    m.def("lbp_top", &lbp_top, py::arg("videos"), py::arg("params"), py::arg("n_threads") = 0,
          "LBP-TOP features of a list of C-contiguous (T, H, W) uint8 or float32 clips (shapes may differ).\n"
          "Returns float32 (N, D). Runs without the GIL on n_threads threads (0: all).");
    m.def("lbp_top_codes", &lbp_top_codes, py::arg("video"), py::arg("params"),
          "Raw LBP codes of every centre voxel: uint16 (T - 2 R_T, H - 2B, W - 2B, 3), planes XY, XT, YT.");
    m.def("lbp_mapping", &lbp_mapping, py::arg("points"), py::arg("mapping"),
          "(table, n_bins): the code -> bin table (uint16, 2**points) of mapping 'none', 'u2' or 'riu2'.");
    m.def("lbp_layout", &lbp_layout, py::arg("params"),
          "Feature layout of the parameters: bins per plane, blocks, length, borders.");
}

}  // namespace mefast::bindings
