// The CPU backend of the kernel bindings (see kernels.hpp): the C++ core's thread-pooled kernels.
#pragma once

#include <cstddef>

#include "mefast/lbp_top.hpp"
#include "mefast/strain.hpp"
#include "mefast/tim.hpp"
#include "mefast/tvl1.hpp"

namespace mefast::bindings {

struct CpuBackend {
    static constexpr const char* name = "cpu";
    static constexpr bool index32 = false;

    void tvl1_pairs(const float* frames, int /*nf*/, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n,
                    const tvl1::Params& p, int n_threads, float* flows) const {
        tvl1::compute_pairs(frames, h, w, i0, i1, n, p, n_threads, flows);
    }
    void optical_strain(const float* flows, std::ptrdiff_t n, int h, int w, strain::Scheme scheme, int n_threads,
                        float* out) const {
        strain::compute(flows, n, h, w, scheme, n_threads, out);
    }
    void lbp_top(const lbp::ClipRef* clips, std::ptrdiff_t n, int n_threads, float* out) const {
        lbp::compute_batch(clips, n, n_threads, out);
    }
    template <class In, class Out>
    void tim(const In* x, int n, std::ptrdiff_t d, const double* K, int n_out, int n_threads, Out* out) const {
        tim::interpolate<In, Out>(x, n, d, K, n_out, n_threads, out);
    }
};

}  // namespace mefast::bindings
