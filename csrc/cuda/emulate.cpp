// Host instantiation of the GPU schedules with the sequential executor (exec_host.hpp): the kernels' own
// functors and launch sequence, run on the CPU so the tests can compare them with the CPU core.
#include <cstdint>

#include "api.hpp"
#include "descriptors_driver.hpp"
#include "exec_host.hpp"
#include "tvl1_driver.hpp"

namespace mefast::gpu {

namespace {
HostExec::Order to_order(int order) {
    return order == 0 ? HostExec::Order::forward : order == 1 ? HostExec::Order::reverse : HostExec::Order::shuffled;
}
}  // namespace

void tvl1_pairs_emulated(const float* frames, int nf, int h, int w, const int* i0, const int* i1,
                         std::ptrdiff_t n_pairs, const tvl1::Params& p, int batch_size, int order, float* flows) {
    HostExec ex(to_order(order));
    tvl1_pairs(ex, frames, nf, h, w, i0, i1, n_pairs, p, batch_size, flows);
}

void optical_strain_emulated(const float* flows, std::ptrdiff_t n, int h, int w, int scheme, int order, float* out) {
    HostExec ex(to_order(order));
    optical_strain(ex, flows, n, h, w, scheme, out);
}

void lbp_top_emulated(const LbpClip* clips, std::ptrdiff_t n, int order, float* out) {
    HostExec ex(to_order(order));
    lbp_top_batch(ex, clips, n, out);
}

namespace {
template <class In>
void tim_typed(const In* x, int n, std::ptrdiff_t d, const double* K, int n_out, bool out_uint8, int order, void* out) {
    HostExec ex(to_order(order));
    if (out_uint8)
        tim_frames(ex, x, n, d, K, n_out, static_cast<std::uint8_t*>(out));
    else
        tim_frames(ex, x, n, d, K, n_out, static_cast<float*>(out));
}
}  // namespace

void tim_emulated(const void* x, TimInput in, int n, std::ptrdiff_t d, const double* K, int n_out, bool out_uint8,
                  int order, void* out) {
    switch (in) {
        case TimInput::uint8: tim_typed(static_cast<const std::uint8_t*>(x), n, d, K, n_out, out_uint8, order, out); break;
        case TimInput::float32: tim_typed(static_cast<const float*>(x), n, d, K, n_out, out_uint8, order, out); break;
        case TimInput::float64: tim_typed(static_cast<const double*>(x), n, d, K, n_out, out_uint8, order, out); break;
    }
}

}  // namespace mefast::gpu
