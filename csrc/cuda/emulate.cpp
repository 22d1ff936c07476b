// Host instantiation of the GPU schedules with the sequential executor (exec_host.hpp): the kernels' own
// functors and launch sequence, run on the CPU so the tests can compare them with the CPU core.
#include "api.hpp"
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

}  // namespace mefast::gpu
