// tim for every backend: the checks (frame counts before any allocation), then the weights and Backend::tim without
// the GIL (see kernels.hpp).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "array_checks.hpp"
#include "mefast/tim.hpp"

namespace mefast::bindings {

namespace detail {

template <class In, class Out, class Backend>
pybind11::array run_tim(const Backend& backend, const pybind11::array& frames, const tim::Params& p, int n_threads) {
    namespace py = pybind11;
    const int n = static_cast<int>(frames.shape(0));  // <= kMaxFrames, checked by the caller
    std::vector<py::ssize_t> shape(frames.shape(), frames.shape() + frames.ndim());
    py::ssize_t d = 1;
    for (std::size_t k = 1; k < shape.size(); ++k) d *= shape[k];
    require_index32<Backend>(frames, "frames", n, d * 4);
    shape[0] = p.n_frames;
    py::array_t<Out> out(shape);
    const In* x = static_cast<const In*>(frames.data());
    Out* o = out.mutable_data();
    {
        // The (T x n_frames) weights too: O(T^2 n_frames) work that must not block other Python threads.
        py::gil_scoped_release release;
        std::vector<double> K(static_cast<std::size_t>(n) * static_cast<std::size_t>(p.n_frames));
        tim::weights(n, p.n_frames, K.data());
        backend.template tim<In, Out>(x, n, static_cast<std::ptrdiff_t>(d), K.data(), p.n_frames, n_threads, o);
    }
    return std::move(out);
}

template <class Out, class Backend>
pybind11::array tim_dtype(const Backend& backend, const pybind11::array& frames, const tim::Params& p, int n_threads) {
    namespace py = pybind11;
    if (frames.dtype().is(py::dtype::of<std::uint8_t>())) return run_tim<std::uint8_t, Out>(backend, frames, p, n_threads);
    if (frames.dtype().is(py::dtype::of<float>())) return run_tim<float, Out>(backend, frames, p, n_threads);
    if (frames.dtype().is(py::dtype::of<double>())) return run_tim<double, Out>(backend, frames, p, n_threads);
    throw std::invalid_argument("frames must be uint8, float32 or float64, got dtype " +
                                std::string(py::str(frames.dtype())));
}

}  // namespace detail

template <class Backend>
void register_tim_kernels(pybind11::module_& m, const Backend& backend) {
    namespace py = pybind11;
    m.def(
        "tim",
        [backend](const py::array& frames, const tim::Params& p, int n_threads) {
            if (frames.ndim() < 2)
                throw std::invalid_argument("frames must have shape (T, ...) with at least 2 dimensions, got " +
                                            shape_str(frames));
            if (!(frames.flags() & py::array::c_style)) throw std::invalid_argument("frames must be C-contiguous");
            // Before the (T x n_frames) weights and the output are allocated from these counts.
            tim::validate_frames(p, static_cast<long long>(frames.shape(0)), shape_str(frames).c_str());
            if (p.output == tim::Output::uint8) return detail::tim_dtype<std::uint8_t>(backend, frames, p, n_threads);
            return detail::tim_dtype<float>(backend, frames, p, n_threads);
        },
        py::arg("frames"), py::arg("params"), py::arg("n_threads") = 0,
        "TIM of a C-contiguous (T, ...) uint8, float32 or float64 clip to params.n_frames frames by the closed\n"
        "form: float32, or uint8 rounded half away from zero and saturated. Runs without the GIL (CPU: on\n"
        "n_threads threads, 0: all).");
}

}  // namespace mefast::bindings
