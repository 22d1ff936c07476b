// Host entry points of the CUDA backend, free of CUDA types so plain C++ (the bindings) can call them.
// Inputs are validated by the callers: the kernel bindings shared with the CPU module (csrc/bindings/kernels.hpp).
#pragma once

#include <cstddef>
#include <string>

#include "mefast/lbp_top.hpp"
#include "mefast/tvl1.hpp"

namespace mefast::gpu {

/// Visible devices; never throws. On failure (no driver, driver too old, no device) count is 0 and
/// status says why.
struct DeviceQuery {
    int count = 0;
    std::string status;
};
DeviceQuery query_devices();

/// Properties of device `index` (throws std::runtime_error when it cannot be queried).
struct DeviceProperties {
    std::string name;
    int major = 0, minor = 0;
    int multiprocessors = 0;
    std::size_t total_memory = 0;
};
DeviceProperties device_properties(int index);

/// Runtime and driver versions as integers (1000 * major + 10 * minor); driver 0 when there is none.
int runtime_version();
int driver_version();

/// Batched TV-L1 on the current device: pairs (frames[i0[k]] -> frames[i1[k]]) of nf host frames of h x w;
/// flows: n_pairs x h x w x 2 on the host. batch_size <= 0 sizes the batch from free device memory.
void tvl1_pairs_cuda(const float* frames, int nf, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n_pairs,
                     const tvl1::Params& p, int batch_size, float* flows);

/// Optical strain of n host flow fields (n x h x w x 2) into out (n x h x w) on the current device.
void optical_strain_cuda(const float* flows, std::ptrdiff_t n, int h, int w, int scheme, float* out);

/// The same schedules and per-element functors run sequentially on the CPU (order: 0 forward, 1 reverse,
/// 2 shuffled), for testing the GPU code paths without a GPU.
void tvl1_pairs_emulated(const float* frames, int nf, int h, int w, const int* i0, const int* i1,
                         std::ptrdiff_t n_pairs, const tvl1::Params& p, int batch_size, int order, float* flows);
void optical_strain_emulated(const float* flows, std::ptrdiff_t n, int h, int w, int scheme, int order, float* out);

/// One clip of an LBP-TOP batch: its data (uint8 or float32, C-contiguous (T, H, W)) and its plan.
using LbpClip = lbp::ClipRef;

/// LBP-TOP features of n clips (plans from the same Params) into out (n x feature_length), on the device.
void lbp_top_cuda(const LbpClip* clips, std::ptrdiff_t n, float* out);
void lbp_top_emulated(const LbpClip* clips, std::ptrdiff_t n, int order, float* out);

/// Element types of TIM's input.
enum class TimInput : int { uint8 = 0, float32 = 1, float64 = 2 };

/// TIM of one clip of n frames of d elements by the weight matrix K (n x n_out, row-major, host): out is
/// n_out x d, float32 or (out_uint8) uint8 rounded as tim::to_uint8.
void tim_cuda(const void* x, TimInput in, int n, std::ptrdiff_t d, const double* K, int n_out, bool out_uint8, void* out);
void tim_emulated(const void* x, TimInput in, int n, std::ptrdiff_t d, const double* K, int n_out, bool out_uint8,
                  int order, void* out);

}  // namespace mefast::gpu
