// The CUDA backends of the kernel bindings (csrc/bindings/kernels.hpp): the GPU, and the CPU emulation that runs
// the same kernels' functors and launch schedule sequentially (emulate.cpp), for testing without a GPU. Both
// index with int (index32). n_threads is accepted for the common signature and unused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "api.hpp"
#include "mefast/lbp_top.hpp"
#include "mefast/strain.hpp"
#include "mefast/tvl1.hpp"

namespace mefast::bindings {

namespace detail {
template <class In>
constexpr gpu::TimInput tim_input() {
    if constexpr (std::is_same_v<In, std::uint8_t>)
        return gpu::TimInput::uint8;
    else if constexpr (std::is_same_v<In, float>)
        return gpu::TimInput::float32;
    else
        return gpu::TimInput::float64;
}
}  // namespace detail

struct CudaBackend {
    static constexpr const char* name = "CUDA";
    static constexpr bool index32 = true;
    int batch_size = 0;  // TV-L1 pairs iterated at once (0: as many as fit in free device memory)

    void tvl1_pairs(const float* frames, int nf, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n,
                    const tvl1::Params& p, int /*n_threads*/, float* flows) const {
        gpu::tvl1_pairs_cuda(frames, nf, h, w, i0, i1, n, p, batch_size, flows);
    }
    void optical_strain(const float* flows, std::ptrdiff_t n, int h, int w, strain::Scheme scheme, int /*n_threads*/,
                        float* out) const {
        gpu::optical_strain_cuda(flows, n, h, w, static_cast<int>(scheme), out);
    }
    void lbp_top(const lbp::ClipRef* clips, std::ptrdiff_t n, int /*n_threads*/, float* out) const {
        gpu::lbp_top_cuda(clips, n, out);
    }
    template <class In, class Out>
    void tim(const In* x, int n, std::ptrdiff_t d, const double* K, int n_out, int /*n_threads*/, Out* out) const {
        gpu::tim_cuda(x, detail::tim_input<In>(), n, d, K, n_out, std::is_same_v<Out, std::uint8_t>, out);
    }
};

struct EmulatedBackend {
    static constexpr const char* name = "CUDA";  // same limits and messages as the GPU it stands in for
    static constexpr bool index32 = true;
    int order = 2;       // elements of each launch visited 0 forward, 1 reverse, 2 shuffled
    int batch_size = 0;  // as CudaBackend

    void tvl1_pairs(const float* frames, int nf, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n,
                    const tvl1::Params& p, int /*n_threads*/, float* flows) const {
        gpu::tvl1_pairs_emulated(frames, nf, h, w, i0, i1, n, p, batch_size, order, flows);
    }
    void optical_strain(const float* flows, std::ptrdiff_t n, int h, int w, strain::Scheme scheme, int /*n_threads*/,
                        float* out) const {
        gpu::optical_strain_emulated(flows, n, h, w, static_cast<int>(scheme), order, out);
    }
    void lbp_top(const lbp::ClipRef* clips, std::ptrdiff_t n, int /*n_threads*/, float* out) const {
        gpu::lbp_top_emulated(clips, n, order, out);
    }
    template <class In, class Out>
    void tim(const In* x, int n, std::ptrdiff_t d, const double* K, int n_out, int /*n_threads*/, Out* out) const {
        gpu::tim_emulated(x, detail::tim_input<In>(), n, d, K, n_out, std::is_same_v<Out, std::uint8_t>, order, out);
    }
};

}  // namespace mefast::bindings
