// mefast._cuda: the CUDA backend = device queries + the kernel registrations shared with mefast._core
// (csrc/bindings/kernels.hpp), so every kernel has _core's signature, checks and messages. Parameter structs are
// mefast._core's classes (imported first). cudart is linked statically: the module imports on machines without a
// GPU or driver, where device_count() is 0 and device_status() says why.
//
//   _cuda.tvl1_pairs(...), ...           the GPU (pairs batched to fit free device memory)
//   _cuda.emulated.tvl1_pairs(...), ...  the same kernels and schedule run sequentially on the CPU, elements of each
//                                        launch in shuffled order (testing without a GPU)
//   _cuda.schedule(batch_size)           a namespace of the GPU kernels with a fixed TV-L1 batch size
//   _cuda.emulation(order, batch_size)   a namespace of emulated kernels with another visiting order / batch size
#include <pybind11/pybind11.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "api.hpp"
#include "backends.hpp"
#include "kernels.hpp"

namespace py = pybind11;

namespace mefast::bindings {
namespace {

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

/// A fresh module object holding the kernels of one backend instance.
template <class Backend>
py::module_ kernel_namespace(const std::string& name, const std::string& doc, const Backend& backend) {
    py::module_ ns = py::reinterpret_borrow<py::module_>(py::module_::import("types").attr("ModuleType")(name, doc));
    register_kernels(ns, backend);
    return ns;
}

void check_schedule(int order, int batch_size) {
    if (order < 0 || order > 2) throw std::invalid_argument("order must be 0 (forward), 1 (reverse) or 2 (shuffled)");
    if (batch_size < 0) throw std::invalid_argument("batch_size must be >= 0 (0: as many as fit)");
}

}  // namespace
}  // namespace mefast::bindings

PYBIND11_MODULE(_cuda, m, py::mod_gil_not_used()) {
    using namespace mefast::bindings;
    py::module_::import("mefast._core");  // registers the parameter structs the kernels take
    m.doc() = "mefast CUDA kernels (batched TV-L1 flow, optical strain, LBP-TOP, TIM) with mefast._core's signatures; "
              "cudart linked statically";
    m.def("build_info", &build_info, "CUDA compiler, target architectures, runtime and driver versions.");
    m.def(
        "device_count", [] { return mefast::gpu::query_devices().count; },
        "Number of visible CUDA devices; 0 (never an error) without a GPU or a recent enough driver.");
    m.def(
        "device_status", [] { return mefast::gpu::query_devices().status; },
        "'ok', or why no CUDA device is usable (the CUDA runtime's error name and message).");
    m.def("device_info", &device_info, py::arg("index") = 0, "Name, compute capability, SMs and memory of a device.");
    register_kernels(m, CudaBackend{});
    py::module_ emulated = m.def_submodule(
        "emulated", "The CUDA kernels and schedule run sequentially on the CPU, in shuffled element order: "
                    "_cuda's functions, for testing without a GPU.");
    register_kernels(emulated, EmulatedBackend{});
    m.def(
        "schedule",
        [](int batch_size) {
            check_schedule(2, batch_size);
            return kernel_namespace("mefast._cuda.schedule", "GPU kernels with a fixed TV-L1 batch size",
                                    CudaBackend{batch_size});
        },
        py::arg("batch_size"), "The GPU kernels with batch_size TV-L1 pairs iterated at once (0: as many as fit).");
    m.def(
        "emulation",
        [](int order, int batch_size) {
            check_schedule(order, batch_size);
            return kernel_namespace("mefast._cuda.emulation", "emulated CUDA kernels", EmulatedBackend{order, batch_size});
        },
        py::arg("order") = 2, py::arg("batch_size") = 0,
        "Emulated kernels visiting each launch's elements in order 0 (forward), 1 (reverse) or 2 (shuffled), with\n"
        "batch_size TV-L1 pairs at once (0: as many as fit).");
}
