// TIM by its closed form: the weight matrix, then one register-tiled product over the pixel axis.
// * Pixels are processed in slices of kE; for each slice and each group of kJ output frames the kJ x kE
//   accumulators stay in registers while the n input frames stream past, so every input element is read from
//   memory once and converted to double once per group.
// * Double accumulation keeps uint8 output exact after rounding (float32 would drift by ~1e-3 grey levels over
//   60 frames and flip roundings near .5).
#include "mefast/tim.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace mefast::tim {

void validate(const Params& p) {
    if (p.n_frames < 1)
        throw std::invalid_argument("n_frames must be an integer >= 1, got " + std::to_string(p.n_frames));
    if (p.n_frames > kMaxFrames)
        throw std::invalid_argument("TIM needs 1 to " + std::to_string(kMaxFrames) +
                                    " input and output frames, got n_frames=" + std::to_string(p.n_frames));
    if (p.output != Output::float32 && p.output != Output::uint8)
        throw std::invalid_argument("unknown TIM output code " + std::to_string(static_cast<int>(p.output)));
}

void validate_frames(const Params& p, long long n, const char* shape) {
    validate(p);
    if (n < 1) throw std::invalid_argument(std::string("frames must hold at least one frame, got ") + shape);
    if (n > kMaxFrames)
        throw std::invalid_argument("TIM needs 1 to " + std::to_string(kMaxFrames) +
                                    " input and output frames, got frames of shape " + shape +
                                    " and n_frames=" + std::to_string(p.n_frames));
}

void weights(int n, int n_out, double* K) {
    if (n < 1 || n_out < 1 || n > kMaxFrames || n_out > kMaxFrames)
        throw std::invalid_argument("TIM needs 1 to " + std::to_string(kMaxFrames) + " input and output frames, got n=" +
                                    std::to_string(n) + ", n_out=" + std::to_string(n_out));
    // K[i, j] = 1/n + (2/n) sum_k a_k[i] b_k[j], a_k[i] = cos(pi k (2i + 1) / 2n), b_k[j] = cos(pi k (2 s_j + 1) / 2n).
    // k runs outermost and the sums accumulate in K itself, each (i, j) from 0.0 in the order k = 1..n-1 (so bit for
    // bit as one dot product per entry), with O(n + n_out) scratch: a_k, b_k and the columns' positions.
    // Exact rational position s_j = j (n-1) / (n_out-1) = num / den: on an input frame when the division is exact.
    std::vector<int> cols;  // output frames between two input frames, the ones the sums are for
    std::vector<long long> nums, dens;
    for (int j = 0; j < n_out; ++j) {
        const long long num = n_out == 1 ? 0LL : static_cast<long long>(j) * (n - 1);
        const long long den = n_out == 1 ? 1LL : static_cast<long long>(n_out - 1);
        const bool on_frame = num % den == 0;
        for (int i = 0; i < n; ++i)
            K[static_cast<std::ptrdiff_t>(i) * n_out + j] = on_frame && i == num / den ? 1.0 : 0.0;
        if (on_frame) continue;
        cols.push_back(j);
        nums.push_back(num);
        dens.push_back(den);
    }
    const std::size_t m = cols.size();
    if (m == 0) return;
    // a_k[i] depends on k (2i + 1) mod 4n only (cospi_ratio reduces its argument so): one table of the 4n values.
    const long long period = 4LL * n;
    std::vector<double> cos_4n(static_cast<std::size_t>(period)), a(static_cast<std::size_t>(n)), b(m);
    for (long long r = 0; r < period; ++r) cos_4n[static_cast<std::size_t>(r)] = cospi_ratio(r, 2LL * n);
    for (int k = 1; k < n; ++k) {
        for (int i = 0; i < n; ++i) {
            const long long r = static_cast<long long>(k) * (2 * i + 1) % period;
            a[static_cast<std::size_t>(i)] = cos_4n[static_cast<std::size_t>(r)];
        }
        for (std::size_t c = 0; c < m; ++c) b[c] = cospi_ratio(k * (2 * nums[c] + dens[c]), 2LL * n * dens[c]);
        for (int i = 0; i < n; ++i) {
            double* Ki = K + static_cast<std::ptrdiff_t>(i) * n_out;
            const double ai = a[static_cast<std::size_t>(i)];
            for (std::size_t c = 0; c < m; ++c) Ki[cols[c]] += ai * b[c];
        }
    }
    for (int i = 0; i < n; ++i) {
        double* Ki = K + static_cast<std::ptrdiff_t>(i) * n_out;
        for (std::size_t c = 0; c < m; ++c) Ki[cols[c]] = 1.0 / n + 2.0 / n * Ki[cols[c]];
    }
}

namespace {

constexpr int kJ = 4;                       // output frames per register tile
constexpr int kE = 16;                      // pixels per register tile
constexpr std::ptrdiff_t kSlice = 2048;     // pixels per task

template <class Out>
MEFAST_INLINE Out convert(double v);
template <>
MEFAST_INLINE float convert<float>(double v) {
    return static_cast<float>(v);
}
template <>
MEFAST_INLINE std::uint8_t convert<std::uint8_t>(double v) {
    return to_uint8(v);
}

// One kJ x kE tile: outputs j0..j0+kJ-1 (Kp is K padded to a multiple of kJ columns), pixels e..e+kE-1.
// x rows are dx apart, output rows dout apart.
template <class In, class Out>
MEFAST_INLINE void tile_full(const In* MEFAST_RESTRICT x, std::ptrdiff_t dx, int n, const double* MEFAST_RESTRICT Kp,
                             int nj, int j0, int n_out, std::ptrdiff_t e, Out* MEFAST_RESTRICT out,
                             std::ptrdiff_t dout) {
    static_assert(kJ == 4, "tile_full holds four accumulator rows");
    double a0[kE] = {}, a1[kE] = {}, a2[kE] = {}, a3[kE] = {};
    for (int i = 0; i < n; ++i) {
        // Row pointers formed from i inside the loop: stepping them after the last frame would form pointers
        // past the end of the clip (and of Kp), which is undefined behaviour even if never dereferenced.
        const In* xi = x + static_cast<std::ptrdiff_t>(i) * dx + e;
        const double* k = Kp + static_cast<std::ptrdiff_t>(i) * nj + j0;
        const double k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3];
#pragma omp simd
        for (int u = 0; u < kE; ++u) {
            const double v = static_cast<double>(xi[u]);
            a0[u] += k0 * v;
            a1[u] += k1 * v;
            a2[u] += k2 * v;
            a3[u] += k3 * v;
        }
    }
    const double* acc[kJ] = {a0, a1, a2, a3};
    for (int jj = 0; jj < kJ && j0 + jj < n_out; ++jj) {
        Out* o = out + static_cast<std::ptrdiff_t>(j0 + jj) * dout + e;
        for (int u = 0; u < kE; ++u) o[u] = convert<Out>(acc[jj][u]);
    }
}

// Pixels [0, len) of x (rows dx apart) -> out (rows dout apart).
template <class In, class Out>
MEFAST_TARGET_CLONES void slice(const In* x, std::ptrdiff_t dx, int n, const double* Kp, int nj, int n_out,
                                std::ptrdiff_t len, Out* out, std::ptrdiff_t dout) {
    std::ptrdiff_t e = 0;
    for (; e + kE <= len; e += kE)
        for (int j0 = 0; j0 < n_out; j0 += kJ) tile_full<In, Out>(x, dx, n, Kp, nj, j0, n_out, e, out, dout);
    for (; e < len; ++e) {  // tail: fewer than kE pixels
        for (int j = 0; j < n_out; ++j) {
            double acc = 0.0;
            for (int i = 0; i < n; ++i)
                acc += Kp[static_cast<std::ptrdiff_t>(i) * nj + j] * static_cast<double>(x[static_cast<std::ptrdiff_t>(i) * dx + e]);
            out[static_cast<std::ptrdiff_t>(j) * dout + e] = convert<Out>(acc);
        }
    }
}

// uint8 rows are first widened to float (exact) in a per-task buffer that stays in L2: the float kernel
// vectorises far better than a fused uint8 -> double conversion.
MEFAST_TARGET_CLONES void widen(const std::uint8_t* x, std::ptrdiff_t d, int n, std::ptrdiff_t len, float* buf) {
    for (int i = 0; i < n; ++i) {
        const std::uint8_t* xi = x + static_cast<std::ptrdiff_t>(i) * d;
        float* bi = buf + static_cast<std::ptrdiff_t>(i) * len;
        for (std::ptrdiff_t e = 0; e < len; ++e) bi[e] = static_cast<float>(xi[e]);
    }
}

}  // namespace

template <class In, class Out>
void interpolate(const In* frames, int n, std::ptrdiff_t d, const double* K, int n_out, int n_threads, Out* out) {
    const int nj = (n_out + kJ - 1) / kJ * kJ;
    std::vector<double> Kp(static_cast<std::size_t>(n) * nj, 0.0);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n_out; ++j) Kp[static_cast<std::size_t>(i) * nj + j] = K[static_cast<std::ptrdiff_t>(i) * n_out + j];
    const std::ptrdiff_t n_slices = (d + kSlice - 1) / kSlice;
    parallel_for(n_slices, n_threads, [&](std::ptrdiff_t s) {
        const std::ptrdiff_t e0 = s * kSlice, len = std::min(d, e0 + kSlice) - e0;
        if constexpr (std::is_same_v<In, std::uint8_t>) {
            std::vector<float> buf(static_cast<std::size_t>(n) * len);
            widen(frames + e0, d, n, len, buf.data());
            slice<float, Out>(buf.data(), len, n, Kp.data(), nj, n_out, len, out + e0, d);
        } else {
            slice<In, Out>(frames + e0, d, n, Kp.data(), nj, n_out, len, out + e0, d);
        }
    });
}

template void interpolate<std::uint8_t, float>(const std::uint8_t*, int, std::ptrdiff_t, const double*, int, int, float*);
template void interpolate<float, float>(const float*, int, std::ptrdiff_t, const double*, int, int, float*);
template void interpolate<double, float>(const double*, int, std::ptrdiff_t, const double*, int, int, float*);
template void interpolate<std::uint8_t, std::uint8_t>(const std::uint8_t*, int, std::ptrdiff_t, const double*, int, int,
                                                      std::uint8_t*);
template void interpolate<float, std::uint8_t>(const float*, int, std::ptrdiff_t, const double*, int, int, std::uint8_t*);
template void interpolate<double, std::uint8_t>(const double*, int, std::ptrdiff_t, const double*, int, int,
                                                std::uint8_t*);

}  // namespace mefast::tim
