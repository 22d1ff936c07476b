// Bindings of TIM: tim(frames, n_out, output, n_threads) and the weight matrix tim_weights(n, n_out).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "array_checks.hpp"
#include "mefast/tim.hpp"
#include "registers.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {

template <class In, class Out>
py::array run(const py::array& frames, int n_out, int n_threads) {
    const int n = int_extent(frames, 0, "frames");
    std::vector<py::ssize_t> shape(frames.shape(), frames.shape() + frames.ndim());
    py::ssize_t d = 1;
    for (std::size_t k = 1; k < shape.size(); ++k) d *= shape[k];
    shape[0] = n_out;
    std::vector<double> K(static_cast<std::size_t>(n) * n_out);
    tim::weights(n, n_out, K.data());
    py::array_t<Out> out(shape);
    const In* x = static_cast<const In*>(frames.data());
    Out* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        tim::interpolate<In, Out>(x, n, d, K.data(), n_out, n_threads, o);
    }
    return std::move(out);
}

template <class Out>
py::array dispatch(const py::array& frames, int n_out, int n_threads) {
    if (frames.dtype().is(py::dtype::of<std::uint8_t>())) return run<std::uint8_t, Out>(frames, n_out, n_threads);
    if (frames.dtype().is(py::dtype::of<float>())) return run<float, Out>(frames, n_out, n_threads);
    if (frames.dtype().is(py::dtype::of<double>())) return run<double, Out>(frames, n_out, n_threads);
    throw std::invalid_argument("frames must be uint8, float32 or float64, got dtype " +
                                std::string(py::str(frames.dtype())));
}

py::array tim_frames(const py::array& frames, int n_out, const std::string& output, int n_threads) {
    if (frames.ndim() < 2)
        throw std::invalid_argument("frames must have shape (T, ...) with at least 2 dimensions, got " +
                                    shape_str(frames));
    if (!(frames.flags() & py::array::c_style)) throw std::invalid_argument("frames must be C-contiguous");
    if (frames.shape(0) < 1) throw std::invalid_argument("frames must hold at least one frame, got " + shape_str(frames));
    if (n_out < 1) throw std::invalid_argument("n_frames must be >= 1, got " + std::to_string(n_out));
    // Checked before run() allocates the (T x n_out) weight matrix and the output from these counts.
    if (frames.shape(0) > tim::kMaxFrames || n_out > tim::kMaxFrames)
        throw std::invalid_argument("TIM needs 1 to " + std::to_string(tim::kMaxFrames) +
                                    " input and output frames, got frames of shape " + shape_str(frames) +
                                    " and n_frames=" + std::to_string(n_out));
    if (output == "float") return dispatch<float>(frames, n_out, n_threads);
    if (output == "uint8") return dispatch<std::uint8_t>(frames, n_out, n_threads);
    throw std::invalid_argument("output must be 'float' or 'uint8', got '" + output + "'");
}

py::array_t<double> tim_weights(int n, int n_out) {
    if (n < 1 || n_out < 1 || n > tim::kMaxFrames || n_out > tim::kMaxFrames)  // before allocating n x n_out
        throw std::invalid_argument("tim_weights needs 1 <= n, n_out <= " + std::to_string(tim::kMaxFrames) +
                                    ", got n=" + std::to_string(n) + ", n_out=" + std::to_string(n_out));
    py::array_t<double> K({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(n_out)});
    tim::weights(n, n_out, K.mutable_data());
    return K;
}

}  // namespace

void register_tim(py::module_& m) {
    m.def("tim", &tim_frames, py::arg("frames"), py::arg("n_out"), py::arg("output") = "float",
          py::arg("n_threads") = 0,
          "TIM of a C-contiguous (T, ...) uint8, float32 or float64 clip to n_out frames by the closed form.\n"
          "output 'float' gives float32, 'uint8' rounds half away from zero and saturates. Runs without the GIL.");
    m.def("tim_weights", &tim_weights, py::arg("n"), py::arg("n_out"),
          "The (n, n_out) float64 weight matrix K: output frame j = sum_i K[i, j] * frame i.");
}

}  // namespace mefast::bindings
