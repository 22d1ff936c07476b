// CUDA instantiation of the LBP-TOP and TIM schedules (descriptors_driver.hpp).
#include <cstdint>

#include "api.hpp"
#include "descriptors_driver.hpp"
#include "exec_cuda.cuh"

namespace mefast::gpu {

void lbp_top_cuda(const LbpClip* clips, std::ptrdiff_t n, float* out) {
    CudaExec ex;
    lbp_top_batch(ex, clips, n, out);
}

namespace {
template <class In>
void tim_typed(const In* x, int n, std::ptrdiff_t d, const double* K, int n_out, bool out_uint8, void* out) {
    CudaExec ex;
    if (out_uint8)
        tim_frames(ex, x, n, d, K, n_out, static_cast<std::uint8_t*>(out));
    else
        tim_frames(ex, x, n, d, K, n_out, static_cast<float*>(out));
}
}  // namespace

void tim_cuda(const void* x, TimInput in, int n, std::ptrdiff_t d, const double* K, int n_out, bool out_uint8, void* out) {
    switch (in) {
        case TimInput::uint8: tim_typed(static_cast<const std::uint8_t*>(x), n, d, K, n_out, out_uint8, out); break;
        case TimInput::float32: tim_typed(static_cast<const float*>(x), n, d, K, n_out, out_uint8, out); break;
        case TimInput::float64: tim_typed(static_cast<const double*>(x), n, d, K, n_out, out_uint8, out); break;
    }
}

}  // namespace mefast::gpu
