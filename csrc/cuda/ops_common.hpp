// Building blocks of the batched GPU kernels, compiled by nvcc for the device and by the host compiler for
// the sequential emulation (exec_host.hpp) that runs the very same functors without a GPU.
//
// Execution model. Every kernel is "for each (item k, element i)": k is a pair (or a frame, or a flow field)
// of the batch, i a pixel of it. An operation is a small functor with
//     MEFAST_HD void operator()(int k, int i) const            (for_each)
//     MEFAST_HD float operator()(int k, int i) const           (for_each_sum: returns a term of a per-k sum)
// and a gate (a functor bool(int k)) decides which items take part in a launch. Operations only read and
// write memory of their own item k, and within an item they may write element i only after reading
// everything they need: the emulation runs the elements in shuffled order to prove it.
#pragma once

#include <cstddef>

#include "mefast/common.hpp"

// Full unrolling of small fixed loops (values stay in registers on the device).
#if defined(__CUDA_ARCH__)
#define MEFAST_UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define MEFAST_UNROLL _Pragma("GCC unroll 32")
#else
#define MEFAST_UNROLL
#endif

namespace mefast::gpu {

using index_t = std::ptrdiff_t;

/// Four floats loaded as one 16-byte access: (I, dI/dx, dI/dy, 0) of a warped image.
struct alignas(16) F4 {
    float x, y, z, w;
};

/// Gate of launches that run every item.
struct AllItems {
    static constexpr bool kAlways = true;
    MEFAST_HD bool operator()(int /*k*/) const { return true; }
};

/// Per-pair error slots of the primal-dual loop, three per pair (err[3 k + s]).
/// Iteration `it` of a warp reads slot (it + 2) % 3 (the previous iteration's squared update) to decide
/// whether the pair still iterates, sums its own squared update into slot it % 3 and clears slot
/// (it + 1) % 3 for the next iteration. The three slots are distinct, so no launch reads a slot that the
/// same launch writes, and a pair that stopped keeps a zero in the slot its next iteration reads.
MEFAST_HD int err_slot_read(int it) { return (it + 2) % 3; }
MEFAST_HD int err_slot_sum(int it) { return it % 3; }
MEFAST_HD int err_slot_clear(int it) { return (it + 1) % 3; }

/// Gate of iteration `it` of a warp: the CPU loop's `error > scaled_eps`, with error = +inf before the
/// first iteration of a warp.
struct ActivePairs {
    static constexpr bool kAlways = false;
    const double* err = nullptr;
    int it = 0;
    double eps = 0.0;
    MEFAST_HD bool operator()(int k) const {
        return it == 0 || err[3 * static_cast<index_t>(k) + err_slot_read(it)] > eps;
    }
};

/// Clamp v to [lo, hi] with the comparisons of std::min(std::max(v, lo), hi).
MEFAST_HD float clampf(float v, float lo, float hi) {
    const float a = v < lo ? lo : v;
    return hi < a ? hi : a;
}

MEFAST_HD int mini(int a, int b) { return b < a ? b : a; }
MEFAST_HD int maxi(int a, int b) { return a < b ? b : a; }

}  // namespace mefast::gpu
