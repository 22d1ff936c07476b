// TIM, the temporal interpolation model of Zhou, Zhao & Pietikainen (CVPR 2011), by its closed form (shared spec
// section 3.2): every output frame is one fixed linear combination of the input frames, the same for every pixel,
//
//   x(s) = sum_i K_i(s) x_i,   K_i(s) = 1/n + (2/n) sum_{k=1}^{n-1} cos(pi k (i + 1/2) / n) cos(pi k (s + 1/2) / n)
//
// (0-based frame index i and position s in [0, n-1]; DCT-II interpolation). Output frame j sits at
// s_j = j (n-1) / (n_out-1); n_out = 1 gives s_0 = 0, the first frame. This equals the graph-embedding model
// (SVD + path-graph Laplacian) whenever that model is defined, i.e. on clips whose centred frames are linearly
// independent, and stays defined on every other clip. Cost: an (n x n_out) weight matrix and one
// (n_out x n) . (n x d) product, accumulated in double.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "mefast/common.hpp"

namespace mefast::tim {

/// cos(pi p / q) for integers p >= 0, q > 0, with the argument reduced exactly (in integers) to [0, 1/2], so
/// cos(pi/2) is exactly 0 and symmetric positions get exactly symmetric weights.
MEFAST_HD double cospi_ratio(long long p, long long q) {
    const double pi = 3.14159265358979323846;
    long long r = p % (2 * q);         // cos has period 2
    if (r > q) r = 2 * q - r;          // cos(pi (2 - x)) = cos(pi x): now r / q in [0, 1]
    double sign = 1.0;
    if (2 * r > q) {                   // cos(pi (1 - x)) = -cos(pi x): now r / q in [0, 1/2]
        r = q - r;
        sign = -1.0;
    }
    if (2 * r == q) return 0.0;
    if (4 * r > q) return sign * std::sin(pi * static_cast<double>(q - 2 * r) / static_cast<double>(2 * q));
    return sign * std::cos(pi * static_cast<double>(r) / static_cast<double>(q));
}

/// K_i(s) for 0-based input frame i of an n-frame clip at the exact rational position s = num / den:
/// 1/n + (2/n) sum_k cos(pi k (2i + 1) / 2n) cos(pi k (2 num + den) / (2 n den)).
MEFAST_HD double weight(int n, int i, long long num, long long den) {
    double acc = 0.0;
    for (int k = 1; k < n; ++k)
        acc += cospi_ratio(static_cast<long long>(k) * (2 * i + 1), 2LL * n) *
               cospi_ratio(static_cast<long long>(k) * (2 * num + den), 2LL * n * den);
    return 1.0 / n + 2.0 / n * acc;
}

/// Largest n and n_out the exact integer reduction supports (products stay below 2^62).
constexpr int kMaxFrames = 65536;

/// Element type of the interpolated frames.
enum class Output : int { float32 = 0, uint8 = 1 };

/// Parameters of a TIM call, bound to Python as mefast._core.TIMParams.
struct Params {
    int n_frames = 1;                 // output frames, 1..kMaxFrames
    Output output = Output::float32;  // float32, or uint8 rounded half away from zero and saturated
};

/// Throws std::invalid_argument naming the first invalid parameter.
void validate(const Params& p);

/// Throws std::invalid_argument unless an n-frame clip (n counted in 64 bits, before any narrowing) can be
/// interpolated with p: 1 <= n <= kMaxFrames. Called before the weights or the output are allocated.
void validate_frames(const Params& p, long long n, const char* shape);

/// Uint8 output: round half away from zero and saturate to [0, 255], as MATLAB's uint8() does.
MEFAST_HD std::uint8_t to_uint8(double v) {
    if (!(v >= 0.5)) return 0;  // also maps NaN to 0 (inputs are validated finite before this point)
    if (v >= 254.5) return 255;
    return static_cast<std::uint8_t>(std::floor(v + 0.5));
}

/// The (n x n_out) weight matrix, row-major: K[i * n_out + j]. Output positions that fall exactly on an input
/// frame (j (n-1) divisible by n_out-1: always the first and last frame, and every frame when n_out == n) get
/// that frame's unit vector, which the formula gives in exact arithmetic, so those outputs copy their input
/// frame bit for bit. Requires 1 <= n, n_out <= kMaxFrames. O(n^2 n_out) time, O(n + n_out) scratch besides K.
void weights(int n, int n_out, double* K);

/// out[j, e] = sum_i K[i, j] frames[i, e] for frames of n x d elements (In = uint8, float or double), accumulated
/// in double. Out = float or uint8 (to_uint8). The d axis is split among n_threads threads (<= 0: all cores).
template <class In, class Out>
void interpolate(const In* frames, int n, std::ptrdiff_t d, const double* K, int n_out, int n_threads, Out* out);

}  // namespace mefast::tim
