// LBP-TOP's parameter struct (mefast._core.LBPTOPParams) and its CPU-only helpers: raw code volumes, mapping
// tables and the feature layout (for tests and inspection). The lbp_top kernel of every backend is in
// lbp_kernels.hpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "array_checks.hpp"
#include "bind_struct.hpp"
#include "lbp_kernels.hpp"
#include "mefast/lbp_top.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {

void register_lbp(py::module_& m) {
    using namespace lbp;
    py::class_<Params> c(m, "LBPTOPParams", "lbp::Params, the C++ core's LBP-TOP parameters.");
    field(c, "radius", &Params::radius, "(R_X, R_Y, R_T), integers in [1, 64]");
    field(c, "points", &Params::points, "(P_XY, P_XT, P_YT), 3 to 16");
    c.def_property(
        "blocks", [](const Params& p) { return py::make_tuple(p.rows, p.cols); },
        [](py::object self, const py::handle& value) {
            if (!py::isinstance<py::sequence>(value) || py::len(value) != 2)
                detail::wrong_value(self, "blocks", value, "must be 2 integers");
            auto seq = py::reinterpret_borrow<py::sequence>(value);
            const int rows = detail::to_field<int>(self, "blocks", seq[0]);
            const int cols = detail::to_field<int>(self, "blocks", seq[1]);
            auto& p = self.cast<Params&>();
            p.rows = rows;
            p.cols = cols;
        },
        "(rows, cols) of the spatial block grid");
    field(c, "time_blocks", &Params::time_blocks, "time parts");
    field(c, "overlap", &Params::overlap, "block overlap ratio in [0, 1)");
    enum_field(c, "mapping", &Params::mapping, {{"none", Mapping::none}, {"u2", Mapping::u2}, {"riu2", Mapping::riu2}},
               "code-to-bin mapping");
    enum_field(c, "sampling", &Params::sampling, {{"rounded", Sampling::rounded}, {"bilinear", Sampling::bilinear}},
               "neighbour sampling");
    enum_field(c, "ordering", &Params::ordering, {{"orig", Ordering::orig}, {"block", Ordering::block}},
               "XT/YT sampling geometry");
    enum_field(c, "mode", &Params::mode, {{"paper", Mode::paper}, {"meb", Mode::meb}}, "clean or MEB-reproducing");
    enum_field(c, "normalize", &Params::normalize,
               {{"none", Normalize::none},
                {"per_block_plane", Normalize::per_block_plane},
                {"per_plane", Normalize::per_plane},
                {"global_l1", Normalize::global_l1}},
               "histogram normalisation");
    finish_struct(c, [](const Params& p) { lbp::validate(p); });

    m.def(
        "lbp_top_codes",
        [](const py::array& video, const Params& p) {
            lbp::validate(p);
            const bool u8 = check_clip(video, "video");
            const Plan pl = clip_plan(p, video, "video");
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
        },
        py::arg("video"), py::arg("params"),
        "Raw LBP codes of every centre voxel: uint16 (T - 2 R_T, H - 2B, W - 2B, 3), planes XY, XT, YT.");
    m.def(
        "lbp_mapping",
        [](int P, const std::string& kind) {
            Params p;
            py::cast(&p, py::return_value_policy::reference).attr("mapping") = kind;  // one rule for the names
            int n_bins = 0;
            const auto t = lbp::mapping_table(P, p.mapping, &n_bins);
            py::array_t<std::uint16_t> table(static_cast<py::ssize_t>(t.size()));
            std::copy(t.begin(), t.end(), table.mutable_data());
            return py::make_tuple(table, n_bins);
        },
        py::arg("points"), py::arg("mapping"),
        "(table, n_bins): the code -> bin table (uint16, 2**points) of mapping 'none', 'u2' or 'riu2'.");
    m.def(
        "lbp_layout",
        [](const Params& p) {
            lbp::validate(p);
            py::dict d;
            d["bins"] = lbp::bins_per_plane(p);
            d["n_blocks"] = static_cast<py::ssize_t>(p.time_blocks) * p.rows * p.cols;
            d["length"] = static_cast<py::ssize_t>(lbp::feature_length(p));
            d["border"] = std::max(p.radius[0], p.radius[1]);
            d["time_border"] = p.radius[2];
            return d;
        },
        py::arg("params"), "Feature layout of the parameters: bins per plane, blocks, length, borders.");
}

}  // namespace mefast::bindings
