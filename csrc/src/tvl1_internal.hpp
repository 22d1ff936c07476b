// Internals of the CPU TV-L1, shared by its source files (not installed, not API):
//   tvl1.cpp          pyramids, the coarse-to-fine solve, warm starts, the public entry points (tvl1.hpp)
//   tvl1_resample.cpp bilinear resize and Gaussian blur (pyramid levels, upsampled flows)
//   tvl1_warp.cpp     the bicubic warp of I1 and its gradient, and the linearised data term
//   tvl1_sweeps.cpp   the fused, pipelined primal-dual sweeps of one warp
//   tvl1_median.cpp   the 3x3 and 5x5 median filters of the flow
// The per-pixel math the CUDA kernels share is in mefast/tvl1_pixel.hpp.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace mefast::tvl1::detail {

// A float buffer whose resize() leaves new elements uninitialised: every buffer is written before it is read
// (or filled explicitly), and zero-filling ~20 planes per pair would cost more than a whole coarse level.
template <class T>
struct UninitAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = UninitAllocator<U>;
    };
    UninitAllocator() = default;
    template <class U>
    UninitAllocator(const UninitAllocator<U>&) noexcept {}
    template <class U>
    void construct(U* ptr) noexcept {
        ::new (static_cast<void*>(ptr)) U;
    }
    template <class U, class... Args>
    void construct(U* ptr, Args&&... args) {
        ::new (static_cast<void*>(ptr)) U(std::forward<Args>(args)...);
    }
};
using Plane = std::vector<float, UninitAllocator<float>>;

// Lanes of a (indices 0 .. n-1) and b (n .. 2n-1) picked by constant indices, for n-lane vector-extension values
// (Index: an int vector of n lanes; the median's LaneIndex, the warp's TapIndex): GCC takes the indices as an
// Index value, clang as arguments.
#if defined(__clang__)
#define MEFAST_SHUFFLE(Index, a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#elif defined(__GNUC__)
#define MEFAST_SHUFFLE(Index, a, b, ...) __builtin_shuffle(a, b, Index{__VA_ARGS__})
#endif

// tvl1_resample.cpp
void resize_linear(const float* src, int sh, int sw, float* dst, int dh, int dw);
void gaussian_blur(float* img, int h, int w, float sigma, float* tmp);

// tvl1_median.cpp: k = 3 or 5 (anything else leaves img as it is); scratch holds median_scratch_floats(k, w).
std::size_t median_scratch_floats(int k, int w);
void median_filter_scratch(float* img, int h, int w, int k, float* scratch);

// tvl1_warp.cpp: I1 interleaved with its gradient (out4: h x w x 4), then per warp sampled at x + (u1, u2) and
// the data term linearised around it into ix, iy, grad and rho_c (held_u3: an illumination field held on this
// level, or null); scratch holds warp_scratch_floats(w).
void interleave_with_gradient(const float* I, int h, int w, float* out4);
constexpr std::size_t warp_scratch_floats(int w) { return 14 * static_cast<std::size_t>(w); }
void warp_and_linearise(const float* I0, const float* I1c, const float* u1, const float* u2, int h, int w,
                        float gamma, const float* held_u3, float held_gamma, float* ix, float* iy, float* grad,
                        float* rho_c, float* scratch);

// tvl1_sweeps.cpp: the planes and constants of one level's sweeps, set by solve().
struct State {
    int h = 0, w = 0;
    const float* ix = nullptr;
    const float* iy = nullptr;
    const float* grad = nullptr;
    const float* rho_c = nullptr;
    float* u1 = nullptr;
    float* u2 = nullptr;
    float* u3 = nullptr;
    float* p11 = nullptr;
    float* p12 = nullptr;
    float* p21 = nullptr;
    float* p22 = nullptr;
    float* p31 = nullptr;
    float* p32 = nullptr;
    const float* zeros = nullptr;  // a row of w zeros: the dual variable "above" row 0
    float lt = 0, theta = 0, taut = 0, gamma = 0;
};

// One warp's inner loop: at most n sweeps, while the last one's sum of squared updates exceeds eps (error, the
// caller's, exceeds it on entry); returns the last sweep's sum. sweeps_gamma updates the illumination field too.
double sweeps(const State& s, int n, double eps, double error);
double sweeps_gamma(const State& s, int n, double eps, double error);

}  // namespace mefast::tvl1::detail
