// TIM's parameter struct (mefast._core.TIMParams) and its weight matrix. The tim kernel of every backend is in
// tim_kernels.hpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bind_struct.hpp"
#include "mefast/tim.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {

void register_tim(py::module_& m) {
    using tim::Params;
    py::class_<Params> c(m, "TIMParams", "tim::Params, the C++ core's TIM parameters.");
    field(c, "n_frames", &Params::n_frames, "output frames");
    enum_field(c, "output", &Params::output, {{"float", tim::Output::float32}, {"uint8", tim::Output::uint8}},
               "'float' (float32) or 'uint8' (rounded half away from zero, saturated)");
    finish_struct(c, [](const Params& p) { tim::validate(p); });
    m.attr("TIM_MAX_FRAMES") = tim::kMaxFrames;  // most input and output frames TIM takes
    m.def(
        "tim_weights",
        [](int n, int n_out) {
            if (n < 1 || n_out < 1 || n > tim::kMaxFrames || n_out > tim::kMaxFrames)  // before allocating n x n_out
                throw std::invalid_argument("tim_weights needs 1 <= n, n_out <= " + std::to_string(tim::kMaxFrames) +
                                            ", got n=" + std::to_string(n) + ", n_out=" + std::to_string(n_out));
            py::array_t<double> K({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n_out)});
            double* k = K.mutable_data();
            {
                py::gil_scoped_release release;  // O(n^2 n_out) work
                tim::weights(n, n_out, k);
            }
            return K;
        },
        py::arg("n"), py::arg("n_out"),
        "The (n, n_out) float64 weight matrix K: output frame j = sum_i K[i, j] * frame i. Runs without the GIL.");
}

}  // namespace mefast::bindings
