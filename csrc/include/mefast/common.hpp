// Shared building blocks of the mefast kernels: host/device qualifiers, SIMD dispatch, a small parallel loop.
// No global state: every function takes what it needs as arguments.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

// Per-pixel math is written once and compiled for the CPU loops and, under nvcc, for the CUDA kernels.
// Always inlined on the CPU too: a helper that is not inlined into a MEFAST_TARGET_CLONES function is compiled
// for the baseline ISA only, which would undo the AVX2 clone.
#if defined(__CUDACC__)
#define MEFAST_HD __host__ __device__ __forceinline__
#define MEFAST_INLINE __forceinline__
#elif defined(__GNUC__) || defined(__clang__)
#define MEFAST_HD inline __attribute__((always_inline))
#define MEFAST_INLINE inline __attribute__((always_inline))
#else
#define MEFAST_HD inline
#define MEFAST_INLINE inline
#endif

// Hot CPU loops are compiled twice, for baseline x86-64 and for x86-64-v3 (AVX2 + FMA), and the right clone
// is picked at load time, so a portable wheel still runs the AVX2 code where the CPU has it.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(MEFAST_NATIVE_BUILD) && \
    !defined(__CUDACC__) && defined(__linux__)
#define MEFAST_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define MEFAST_HAS_TARGET_CLONES 1
#else
#define MEFAST_TARGET_CLONES
#define MEFAST_HAS_TARGET_CLONES 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MEFAST_RESTRICT __restrict__
#else
#define MEFAST_RESTRICT
#endif

namespace mefast {

/// Number of hardware threads, at least 1.
inline int hardware_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

/// Resolve a user thread count: <= 0 means all hardware threads; never more than the work items.
inline int resolve_threads(int n_threads, std::ptrdiff_t n_items) {
    int n = n_threads <= 0 ? hardware_threads() : n_threads;
    if (n_items < n) n = static_cast<int>(std::max<std::ptrdiff_t>(1, n_items));
    return n;
}

/// Run fn(i, worker) for i in [0, n) on n_threads threads (<= 0: all cores), dynamically scheduled; worker is
/// the calling thread's index in [0, resolve_threads(n_threads, n)), for per-thread scratch space. The first
/// exception thrown by any item is rethrown on the calling thread after all threads have stopped.
template <class Fn>
void parallel_for_workers(std::ptrdiff_t n, int n_threads, Fn&& fn) {
    if (n <= 0) return;
    const int nt = resolve_threads(n_threads, n);
    if (nt == 1) {
        for (std::ptrdiff_t i = 0; i < n; ++i) fn(i, 0);
        return;
    }
    std::atomic<std::ptrdiff_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&](int id) {
        for (;;) {
            const std::ptrdiff_t i = next.fetch_add(1);
            if (i >= n) return;
            try {
                fn(i, id);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                next.store(n);
            }
        }
    };
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    worker(omp_get_thread_num());
#else
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(nt - 1));
    for (int t = 1; t < nt; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (auto& th : pool) th.join();
#endif
    if (error) std::rethrow_exception(error);
}

/// Run fn(i) for i in [0, n) on n_threads threads; see parallel_for_workers.
template <class Fn>
void parallel_for(std::ptrdiff_t n, int n_threads, Fn&& fn) {
    parallel_for_workers(n, n_threads, [&](std::ptrdiff_t i, int) { fn(i); });
}

}  // namespace mefast
