// Eulerian video magnification: see mefast/evm.hpp and the shared spec magnification-spotting.md section 1.
// * Pyramid levels keep the even samples (ceil(n / 2)), so any frame size works; reduce = binomial [1 4 6 4 1]/16
//   with reflect-101 borders, then decimation; expand = zero insertion + 2 x the same kernel. Both are tables of
//   (index, weight) taps per output row and column built once per level, so borders cost nothing special.
// * Only the levels with a non-zero amplification are stored and reconstructed: with the reference schedule the
//   finest band and the residual are never built, so a frame costs one reduce and one expand at full resolution.
// * The band is reconstructed alone and added to the input (linear EVM), so alpha = 0 returns the input bit-exact.
#include "mefast/evm.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace mefast::evm {

int auto_levels(int h, int w) {
    int n = 0;
    while (h >= 5 && w >= 5) {
        ++n;
        h /= 2;
        w /= 2;
    }
    return 1 + n;
}

std::vector<float> level_alphas(int h, int w, int levels, double alpha, double lambda_c, double exaggeration) {
    // EVMParams' bound (validate()): before the per-level vector is allocated from it.
    if (levels < 1 || levels > 30)
        throw std::invalid_argument("levels must be in [1, 30], got " + std::to_string(levels));
    if (!(lambda_c > 0)) throw std::invalid_argument("lambda_c must be > 0");
    std::vector<float> a(static_cast<std::size_t>(levels), 0.0f);
    double lambda = std::sqrt(static_cast<double>(h) * h + static_cast<double>(w) * w) / 3.0;  // at the residual
    for (int l = levels - 1; l >= 0; --l) {
        if (l != levels - 1 && l != 0) a[static_cast<std::size_t>(l)] = band_alpha(lambda, alpha, lambda_c, exaggeration);
        lambda /= 2.0;
    }
    return a;
}

void validate(const Params& p, int h, int w) {
    if (h < 1 || w < 1) throw std::invalid_argument("frames must be at least 1 x 1");
    validate(p);
}

void validate(const Params& p) {
    const auto bad_alpha = [](float a) { return !std::isfinite(a); };
    switch (p.pyramid) {
        case Pyramid::laplacian:
            if (p.levels < 1 || p.levels > 30)
                throw std::invalid_argument("levels must be in [1, 30], got " + std::to_string(p.levels));
            if (static_cast<int>(p.alphas.size()) != p.levels)
                throw std::invalid_argument("need one alpha per pyramid level (" + std::to_string(p.levels) + "), got " +
                                            std::to_string(p.alphas.size()));
            break;
        case Pyramid::gaussian:
            if (p.levels < 0 || p.levels > 30)
                throw std::invalid_argument("gauss_level must be in [0, 30], got " + std::to_string(p.levels));
            if (p.alphas.size() != 1) throw std::invalid_argument("the Gaussian path takes one alpha");
            break;
        case Pyramid::none:
            if (p.alphas.size() != 1) throw std::invalid_argument("pyramid=None takes one alpha");
            break;
        default:
            throw std::invalid_argument("unknown pyramid kind");
    }
    if (std::any_of(p.alphas.begin(), p.alphas.end(), bad_alpha)) throw std::invalid_argument("alpha must be finite");
    std::ostringstream got;  // floats as Python prints them (6 significant digits at most)
    if (!std::isfinite(p.chroma_attenuation)) {
        got << p.chroma_attenuation;
        throw std::invalid_argument("chroma_attenuation must be finite, got " + got.str());
    }
    if (p.temporal == Temporal::iir && !(p.r1 > 0 && p.r1 <= 1 && p.r2 >= 0 && p.r2 < 1 && p.r1 > p.r2)) {
        got << "r1=" << p.r1 << ", r2=" << p.r2;
        throw std::invalid_argument("the IIR pair needs 0 <= r2 < r1 <= 1, got " + got.str());
    }
    const double coef[6] = {p.high_b0, p.high_b1, p.high_a1, p.low_b0, p.low_b1, p.low_a1};
    for (double v : coef)
        if (!std::isfinite(v)) throw std::invalid_argument("the Butterworth coefficients must be finite");
    if (p.temporal == Temporal::butter && (std::fabs(p.high_a1) >= 1.0 || std::fabs(p.low_a1) >= 1.0))
        throw std::invalid_argument("the Butterworth low-passes must be stable (|a1| < 1)");
}

namespace {

using Taps = Representation::Taps;

Taps zero_taps() {
    Taps t{};
    for (int j = 0; j < 5; ++j) {
        t.idx[j] = 0;
        t.wt[j] = 0.0f;
    }
    return t;
}

/// Reduce n -> ceil(n/2): output i reads reflect101(2i + j - 2), weight binom5(j).
std::vector<Taps> reduce_taps(int n) {
    const int m = half_up(n);
    std::vector<Taps> taps(static_cast<std::size_t>(m));
    for (int i = 0; i < m; ++i) {
        Taps t = zero_taps();
        for (int j = 0; j < 5; ++j) {
            t.idx[j] = reflect101(2 * i + j - 2, n);
            t.wt[j] = binom5(j);
        }
        taps[static_cast<std::size_t>(i)] = t;
    }
    return taps;
}

/// Expand ceil(n/2) -> n: zero insertion, then 2 x binom5 with reflect-101 on the length-n grid. Reflection
/// keeps parity, so each output reads at most 3 source samples; weights are normalised to sum 1 (they already do
/// for n >= 2).
std::vector<Taps> expand_taps(int n) {
    std::vector<Taps> taps(static_cast<std::size_t>(n));
    for (int y = 0; y < n; ++y) {
        Taps t = zero_taps();
        int k = 0;
        float sum = 0.0f;
        for (int j = 0; j < 5; ++j) {
            const int r = reflect101(y + j - 2, n);
            if (r % 2 != 0) continue;
            const float wgt = 2.0f * binom5(j);
            int s = 0;
            while (s < k && t.idx[s] != r / 2) ++s;
            if (s == k) {
                t.idx[k] = r / 2;
                t.wt[k] = 0.0f;
                ++k;
            }
            t.wt[s] += wgt;
            sum += wgt;
        }
        if (k > 3) throw std::logic_error("expand_taps: more than 3 taps");
        for (int s = 0; s < k; ++s) t.wt[s] /= sum;
        taps[static_cast<std::size_t>(y)] = t;
    }
    return taps;
}

/// Bicubic (Keys a = -0.5) resampling n -> m with pixel centres aligned, replicated borders.
std::vector<Taps> cubic_taps(int n, int m) {
    std::vector<Taps> taps(static_cast<std::size_t>(m));
    const double scale = static_cast<double>(n) / m;
    for (int x = 0; x < m; ++x) {
        const double s = (x + 0.5) * scale - 0.5;
        const int i0 = static_cast<int>(std::floor(s));
        float w[4];
        keys_weights(static_cast<float>(s - i0), w);
        Taps t = zero_taps();
        for (int j = 0; j < 4; ++j) {
            t.idx[j] = std::min(std::max(i0 - 1 + j, 0), n - 1);
            t.wt[j] = w[j];
        }
        taps[static_cast<std::size_t>(x)] = t;
    }
    return taps;
}

/// dst[x] = sum_j wt_j * rows_j[x]: the vertical pass, vectorised over x.
MEFAST_TARGET_CLONES void combine_rows(const float* src, int w, const Taps& t, int n_taps, float* MEFAST_RESTRICT dst) {
    const float* r0 = src + static_cast<std::ptrdiff_t>(t.idx[0]) * w;
    const float* r1 = src + static_cast<std::ptrdiff_t>(t.idx[1]) * w;
    const float* r2 = src + static_cast<std::ptrdiff_t>(t.idx[2]) * w;
    const float w0 = t.wt[0], w1 = t.wt[1], w2 = t.wt[2];
    if (n_taps == 3) {
        for (int x = 0; x < w; ++x) dst[x] = w0 * r0[x] + w1 * r1[x] + w2 * r2[x];
        return;
    }
    const float* r3 = src + static_cast<std::ptrdiff_t>(t.idx[3]) * w;
    const float w3 = t.wt[3];
    if (n_taps == 4) {
        for (int x = 0; x < w; ++x) dst[x] = w0 * r0[x] + w1 * r1[x] + w2 * r2[x] + w3 * r3[x];
        return;
    }
    const float* r4 = src + static_cast<std::ptrdiff_t>(t.idx[4]) * w;
    const float w4 = t.wt[4];
    for (int x = 0; x < w; ++x) dst[x] = w0 * r0[x] + w1 * r1[x] + w2 * r2[x] + w3 * r3[x] + w4 * r4[x];
}

/// Horizontal reduce of one row of length n into ceil(n/2) samples; the interior without tables.
MEFAST_TARGET_CLONES void reduce_row(const float* MEFAST_RESTRICT src, int n, const Taps* taps,
                                     float* MEFAST_RESTRICT dst) {
    const int m = half_up(n);
    // Interior outputs i with 2i - 2 >= 0 and 2i + 2 <= n - 1.
    const int i_lo = 1, i_hi = (n - 3) / 2;
    auto table = [&](int i) {
        const Taps& t = taps[i];
        dst[i] = t.wt[0] * src[t.idx[0]] + t.wt[1] * src[t.idx[1]] + t.wt[2] * src[t.idx[2]] + t.wt[3] * src[t.idx[3]] +
                 t.wt[4] * src[t.idx[4]];
    };
    if (i_hi < i_lo) {
        for (int i = 0; i < m; ++i) table(i);
        return;
    }
    table(0);
    for (int i = i_lo; i <= i_hi; ++i) {
        const float* s = src + 2 * i - 2;
        dst[i] = 0.0625f * (s[0] + s[4]) + 0.25f * (s[1] + s[3]) + 0.375f * s[2];
    }
    for (int i = i_hi + 1; i < m; ++i) table(i);
}

/// Horizontal expand of one row of m = ceil(n/2) samples to n; interior by the two polyphase formulas.
MEFAST_TARGET_CLONES void expand_row(const float* MEFAST_RESTRICT src, int n, const Taps* taps,
                                     float* MEFAST_RESTRICT dst) {
    auto table = [&](int y) {
        const Taps& t = taps[y];
        dst[y] = t.wt[0] * src[t.idx[0]] + t.wt[1] * src[t.idx[1]] + t.wt[2] * src[t.idx[2]];
    };
    // Interior pairs (2i, 2i+1) with 2i - 2 >= 0 and 2i + 2 <= n - 1.
    const int i_lo = 1, i_hi = (n - 3) / 2;
    if (i_hi < i_lo) {
        for (int y = 0; y < n; ++y) table(y);
        return;
    }
    table(0);
    table(1);
    for (int i = i_lo; i <= i_hi; ++i) {
        const float a = src[i - 1], b = src[i], c = src[i + 1];
        dst[2 * i] = 0.125f * (a + c) + 0.75f * b;
        dst[2 * i + 1] = 0.5f * (b + c);
    }
    for (int y = 2 * i_hi + 2; y < n; ++y) table(y);
}

MEFAST_TARGET_CLONES void add_into(float* MEFAST_RESTRICT dst, const float* MEFAST_RESTRICT src, std::ptrdiff_t n) {
    for (std::ptrdiff_t i = 0; i < n; ++i) dst[i] += src[i];
}

MEFAST_TARGET_CLONES void sub_into(float* MEFAST_RESTRICT dst, const float* MEFAST_RESTRICT a,
                                   const float* MEFAST_RESTRICT b, std::ptrdiff_t n) {
    for (std::ptrdiff_t i = 0; i < n; ++i) dst[i] = a[i] - b[i];
}

}  // namespace

Representation::Representation(int h, int w, const Params& p) : h_(h), w_(w), pyramid_(p.pyramid) {
    validate(p, h, w);
    const int n_levels = p.pyramid == Pyramid::laplacian ? p.levels : (p.pyramid == Pyramid::gaussian ? p.levels + 1 : 1);
    int lh = h, lw = w;
    for (int l = 0; l < n_levels; ++l) {
        levels_.push_back({lh, lw, -1});
        lh = half_up(lh);
        lw = half_up(lw);
    }
    for (int l = 0; l + 1 < n_levels; ++l) {
        red_r_.push_back(reduce_taps(levels_[l].h));
        red_c_.push_back(reduce_taps(levels_[l].w));
        exp_r_.push_back(expand_taps(levels_[l].h));
        exp_c_.push_back(expand_taps(levels_[l].w));
    }
    const std::ptrdiff_t hw = static_cast<std::ptrdiff_t>(h) * w;
    scratch_ = 4 * hw + 16;
    if (p.pyramid == Pyramid::laplacian) {
        alphas_ = p.alphas;
        lo_ = 0;
        hi_ = -1;
        for (int l = 0; l < n_levels; ++l)
            if (alphas_[static_cast<std::size_t>(l)] != 0.0f) {
                if (hi_ < 0) lo_ = l;
                hi_ = l;
            }
        for (int l = lo_; l <= hi_; ++l) {
            levels_[l].offset = size_;
            size_ += static_cast<std::ptrdiff_t>(levels_[l].h) * levels_[l].w;
        }
    } else {
        alphas_ = p.alphas;
        const Level& top = levels_.back();
        levels_.back().offset = 0;
        size_ = static_cast<std::ptrdiff_t>(top.h) * top.w;
        if (p.pyramid == Pyramid::gaussian) {
            cub_r_ = cubic_taps(top.h, h);
            cub_c_ = cubic_taps(top.w, w);
        }
    }
}

void Representation::reduce(const float* src, int l, float* dst, float* tmp) const {
    const Level& a = levels_[l];
    const Level& b = levels_[l + 1];
    const auto& rt = red_r_[l];
    const auto& ct = red_c_[l];
    for (int i = 0; i < b.h; ++i) {
        float* row = tmp;  // one vertical-pass row at a time stays in L1
        combine_rows(src, a.w, rt[i], 5, row);
        reduce_row(row, a.w, ct.data(), dst + static_cast<std::ptrdiff_t>(i) * b.w);
    }
}

void Representation::expand(const float* src, int l, float* dst, float* tmp) const {
    const Level& a = levels_[l];      // target size
    const Level& b = levels_[l + 1];  // source size
    const auto& rt = exp_r_[l];
    const auto& ct = exp_c_[l];
    for (int r = 0; r < b.h; ++r)
        expand_row(src + static_cast<std::ptrdiff_t>(r) * b.w, a.w, ct.data(), tmp + static_cast<std::ptrdiff_t>(r) * a.w);
    for (int y = 0; y < a.h; ++y) combine_rows(tmp, a.w, rt[y], 3, dst + static_cast<std::ptrdiff_t>(y) * a.w);
}

void Representation::decompose(const float* plane, float* coeffs, float* scratch) const {
    const std::ptrdiff_t hw = static_cast<std::ptrdiff_t>(h_) * w_;
    float* buf_a = scratch;
    float* buf_b = scratch + hw;
    float* tmp = scratch + 2 * hw;
    float* up = scratch + 3 * hw;
    const float* g = plane;
    auto next_buf = [&](const float* cur) { return cur == buf_a ? buf_b : buf_a; };
    if (pyramid_ == Pyramid::none) {
        std::copy(plane, plane + hw, coeffs);
        return;
    }
    if (pyramid_ == Pyramid::gaussian) {
        for (int l = 0; l + 1 < static_cast<int>(levels_.size()); ++l) {
            float* nx = next_buf(g);
            reduce(g, l, nx, tmp);
            g = nx;
        }
        std::copy(g, g + size_, coeffs);
        return;
    }
    if (hi_ < lo_) return;
    const int n_levels = static_cast<int>(levels_.size());
    for (int l = 0; l < lo_; ++l) {
        float* nx = next_buf(g);
        reduce(g, l, nx, tmp);
        g = nx;
    }
    for (int l = lo_; l <= hi_; ++l) {
        const Level& lv = levels_[l];
        const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(lv.h) * lv.w;
        float* out = coeffs + lv.offset;
        if (l == n_levels - 1) {
            std::copy(g, g + n, out);
            break;
        }
        float* nx = next_buf(g);
        reduce(g, l, nx, tmp);
        expand(nx, l, up, tmp);
        sub_into(out, g, up, n);
        g = nx;
    }
}

void Representation::amplify(float* coeffs, float gain) const {
    if (pyramid_ != Pyramid::laplacian) {
        const float a = alphas_[0] * gain;
        for (std::ptrdiff_t i = 0; i < size_; ++i) coeffs[i] *= a;
        return;
    }
    for (int l = lo_; l <= hi_; ++l) {
        const Level& lv = levels_[l];
        const float a = alphas_[static_cast<std::size_t>(l)] * gain;
        float* c = coeffs + lv.offset;
        const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(lv.h) * lv.w;
        for (std::ptrdiff_t i = 0; i < n; ++i) c[i] *= a;
    }
}

void Representation::reconstruct_add(const float* coeffs, float* plane, float* scratch, bool accumulate) const {
    const std::ptrdiff_t hw = static_cast<std::ptrdiff_t>(h_) * w_;
    if (!accumulate && (pyramid_ != Pyramid::laplacian || hi_ < lo_)) {
        std::fill(plane, plane + hw, 0.0f);
        accumulate = true;
    }
    if (pyramid_ == Pyramid::none) {
        add_into(plane, coeffs, hw);
        return;
    }
    float* buf_a = scratch;
    float* buf_b = scratch + hw;
    float* tmp = scratch + 2 * hw;
    if (pyramid_ == Pyramid::gaussian) {
        const Level& top = levels_.back();
        // Horizontal pass of every source row into tmp (top.h x w), then vertical rows added into the plane.
        for (int r = 0; r < top.h; ++r) {
            const float* s = coeffs + static_cast<std::ptrdiff_t>(r) * top.w;
            float* d = tmp + static_cast<std::ptrdiff_t>(r) * w_;
            for (int x = 0; x < w_; ++x) {
                const Taps& t = cub_c_[static_cast<std::size_t>(x)];
                d[x] = t.wt[0] * s[t.idx[0]] + t.wt[1] * s[t.idx[1]] + t.wt[2] * s[t.idx[2]] + t.wt[3] * s[t.idx[3]];
            }
        }
        for (int y = 0; y < h_; ++y) {
            combine_rows(tmp, w_, cub_r_[static_cast<std::size_t>(y)], 4, buf_a);
            add_into(plane + static_cast<std::ptrdiff_t>(y) * w_, buf_a, w_);
        }
        return;
    }
    if (hi_ < lo_) return;
    const Level& top = levels_[hi_];
    float* R = buf_a;
    float* U = buf_b;
    std::copy(coeffs + top.offset, coeffs + top.offset + static_cast<std::ptrdiff_t>(top.h) * top.w, R);
    for (int l = hi_ - 1; l >= 0; --l) {
        const Level& lv = levels_[l];
        float* dst = (l == 0 && !accumulate) ? plane : U;  // the last expand writes the plane directly
        expand(R, l, dst, tmp);
        if (l >= lo_) add_into(dst, coeffs + lv.offset, static_cast<std::ptrdiff_t>(lv.h) * lv.w);
        if (dst == plane) return;
        std::swap(R, U);
    }
    if (accumulate)
        add_into(plane, R, hw);
    else
        std::copy(R, R + hw, plane);
}

// ------------------------------------------------------------------------------------------------- frames

namespace {

// Colour conversion loops: non-template, restrict-qualified and cloned for AVX2 so that they vectorise.
MEFAST_TARGET_CLONES void yiq_planes_u8(const std::uint8_t* MEFAST_RESTRICT rgb, std::ptrdiff_t n,
                                        float* MEFAST_RESTRICT y, float* MEFAST_RESTRICT i,
                                        float* MEFAST_RESTRICT q) {
    constexpr float s = 1.0f / 255.0f;
    for (std::ptrdiff_t k = 0; k < n; ++k) {
        const float r = rgb[3 * k] * s, g = rgb[3 * k + 1] * s, b = rgb[3 * k + 2] * s;
        rgb_to_yiq(r, g, b, y[k], i[k], q[k]);
    }
}

MEFAST_TARGET_CLONES void yiq_planes_f32(const float* MEFAST_RESTRICT rgb, std::ptrdiff_t n, float* MEFAST_RESTRICT y,
                                         float* MEFAST_RESTRICT i, float* MEFAST_RESTRICT q) {
    for (std::ptrdiff_t k = 0; k < n; ++k) rgb_to_yiq(rgb[3 * k], rgb[3 * k + 1], rgb[3 * k + 2], y[k], i[k], q[k]);
}

MEFAST_TARGET_CLONES void grey_plane_u8(const std::uint8_t* MEFAST_RESTRICT src, std::ptrdiff_t n,
                                        float* MEFAST_RESTRICT dst) {
    for (std::ptrdiff_t k = 0; k < n; ++k) dst[k] = src[k] * (1.0f / 255.0f);
}

MEFAST_TARGET_CLONES void store_rgb_u8(const std::uint8_t* MEFAST_RESTRICT in, const float* MEFAST_RESTRICT dy,
                                       const float* MEFAST_RESTRICT di, const float* MEFAST_RESTRICT dq,
                                       std::ptrdiff_t n, std::uint8_t* MEFAST_RESTRICT out) {
    for (std::ptrdiff_t k = 0; k < n; ++k) {
        float r, g, b;
        yiq_to_rgb(dy[k], di[k], dq[k], r, g, b);
        out[3 * k] = static_cast<std::uint8_t>(clampf(in[3 * k] + 255.0f * r, 0.0f, 255.0f) + 0.5f);
        out[3 * k + 1] = static_cast<std::uint8_t>(clampf(in[3 * k + 1] + 255.0f * g, 0.0f, 255.0f) + 0.5f);
        out[3 * k + 2] = static_cast<std::uint8_t>(clampf(in[3 * k + 2] + 255.0f * b, 0.0f, 255.0f) + 0.5f);
    }
}

MEFAST_TARGET_CLONES void store_rgb_f32(const float* MEFAST_RESTRICT in, const float* MEFAST_RESTRICT dy,
                                        const float* MEFAST_RESTRICT di, const float* MEFAST_RESTRICT dq,
                                        std::ptrdiff_t n, bool clip, float* MEFAST_RESTRICT out) {
    const float lo = clip ? 0.0f : -3.0e38f, hi = clip ? 1.0f : 3.0e38f;
    for (std::ptrdiff_t k = 0; k < n; ++k) {
        float r, g, b;
        yiq_to_rgb(dy[k], di[k], dq[k], r, g, b);
        out[3 * k] = clampf(in[3 * k] + r, lo, hi);
        out[3 * k + 1] = clampf(in[3 * k + 1] + g, lo, hi);
        out[3 * k + 2] = clampf(in[3 * k + 2] + b, lo, hi);
    }
}

MEFAST_TARGET_CLONES void store_grey_u8(const std::uint8_t* MEFAST_RESTRICT in, const float* MEFAST_RESTRICT d,
                                        std::ptrdiff_t n, std::uint8_t* MEFAST_RESTRICT out) {
    for (std::ptrdiff_t k = 0; k < n; ++k)
        out[k] = static_cast<std::uint8_t>(clampf(in[k] + 255.0f * d[k], 0.0f, 255.0f) + 0.5f);
}

MEFAST_TARGET_CLONES void store_grey_f32(const float* MEFAST_RESTRICT in, const float* MEFAST_RESTRICT d,
                                         std::ptrdiff_t n, bool clip, float* MEFAST_RESTRICT out) {
    const float lo = clip ? 0.0f : -3.0e38f, hi = clip ? 1.0f : 3.0e38f;
    for (std::ptrdiff_t k = 0; k < n; ++k) out[k] = clampf(in[k] + d[k], lo, hi);
}

/// Interleaved frame -> C planes in [0, 1] (YIQ for colour).
void load_planes(const std::uint8_t* frame, std::ptrdiff_t hw, int c, float* planes) {
    if (c == 1)
        grey_plane_u8(frame, hw, planes);
    else
        yiq_planes_u8(frame, hw, planes, planes + hw, planes + 2 * hw);
}

void load_planes(const float* frame, std::ptrdiff_t hw, int c, float* planes) {
    if (c == 1)
        std::copy(frame, frame + hw, planes);
    else
        yiq_planes_f32(frame, hw, planes, planes + hw, planes + 2 * hw);
}

/// out = frame + delta (delta planes in YIQ for colour), clipped and converted (uint8: rounded, saturated).
void store_frame(const std::uint8_t* frame, const float* delta, std::ptrdiff_t hw, int c, bool, std::uint8_t* out) {
    if (c == 1)
        store_grey_u8(frame, delta, hw, out);
    else
        store_rgb_u8(frame, delta, delta + hw, delta + 2 * hw, hw, out);
}

void store_frame(const float* frame, const float* delta, std::ptrdiff_t hw, int c, bool clip, float* out) {
    if (c == 1)
        store_grey_f32(frame, delta, hw, clip, out);
    else
        store_rgb_f32(frame, delta, delta + hw, delta + 2 * hw, hw, clip, out);
}

struct Scratch {
    std::vector<float> planes, rep;
};

std::vector<Scratch> make_scratch(int n_workers, std::ptrdiff_t plane_floats, std::ptrdiff_t rep_floats) {
    std::vector<Scratch> s(static_cast<std::size_t>(n_workers));
    for (auto& x : s) {
        x.planes.resize(static_cast<std::size_t>(plane_floats));
        x.rep.resize(static_cast<std::size_t>(rep_floats));
    }
    return s;
}

template <class T>
void decompose_frames(const Representation& rep, const T* video, std::ptrdiff_t n, std::ptrdiff_t hw, int c,
                      int n_threads, float* coeffs, std::vector<Scratch>& scratch) {
    const std::ptrdiff_t P = rep.size();
    parallel_for_workers(n, n_threads, [&](std::ptrdiff_t f, int wk) {
        Scratch& s = scratch[static_cast<std::size_t>(wk)];
        load_planes(video + f * hw * c, hw, c, s.planes.data());
        for (int ch = 0; ch < c; ++ch)
            rep.decompose(s.planes.data() + ch * hw, coeffs + (f * c + ch) * P, s.rep.data());
    });
}

template <class T>
void add_frames(const Representation& rep, const Params& p, const T* video, std::ptrdiff_t n, std::ptrdiff_t hw,
                int c, float* band, int n_threads, T* out, std::vector<Scratch>& scratch) {
    const std::ptrdiff_t P = rep.size();
    parallel_for_workers(n, n_threads, [&](std::ptrdiff_t f, int wk) {
        Scratch& s = scratch[static_cast<std::size_t>(wk)];
        for (int ch = 0; ch < c; ++ch) {
            const float gain = ch == 0 ? 1.0f : p.chroma_attenuation;
            float* b = band + (f * c + ch) * P;
            float* plane = s.planes.data() + ch * hw;
            if (gain == 0.0f) {
                std::fill(plane, plane + hw, 0.0f);
                continue;
            }
            rep.amplify(b, gain);
            rep.reconstruct_add(b, plane, s.rep.data(), false);
        }
        store_frame(video + f * hw * c, s.planes.data(), hw, c, p.clip, out + f * hw * c);
    });
}

void check_frames(int t, int h, int w, int c) {
    if (t < 1 || h < 1 || w < 1) throw std::invalid_argument("the video must have at least one 1 x 1 frame");
    if (c != 1 && c != 3) throw std::invalid_argument("frames must be grey (1 channel) or RGB (3 channels)");
}

}  // namespace

template <class T>
void decompose_video(const T* video, int t, int h, int w, int c, const Params& p, int n_threads, float* coeffs) {
    check_frames(t, h, w, c);
    const Representation rep(h, w, p);
    const std::ptrdiff_t hw = static_cast<std::ptrdiff_t>(h) * w;
    auto scratch = make_scratch(resolve_threads(n_threads, t), c * hw, rep.scratch_size());
    decompose_frames(rep, video, t, hw, c, n_threads, coeffs, scratch);
}

template <class T>
void add_band(const T* video, int t, int h, int w, int c, const Params& p, float* band, int n_threads, T* out) {
    check_frames(t, h, w, c);
    const Representation rep(h, w, p);
    const std::ptrdiff_t hw = static_cast<std::ptrdiff_t>(h) * w;
    auto scratch = make_scratch(resolve_threads(n_threads, t), c * hw, rep.scratch_size());
    add_frames(rep, p, video, t, hw, c, band, n_threads, out, scratch);
}

template <class T>
void magnify_causal(const T* video, int t, int h, int w, int c, const Params& p, int n_threads, T* out) {
    check_frames(t, h, w, c);
    if (p.temporal == Temporal::external) throw std::invalid_argument("magnify_causal needs a causal temporal filter");
    const Representation rep(h, w, p);
    const std::ptrdiff_t hw = static_cast<std::ptrdiff_t>(h) * w, P = rep.size(), K = c * P;
    const int nt = resolve_threads(n_threads, t);
    const std::ptrdiff_t chunk = std::max<std::ptrdiff_t>(4, 2 * nt);
    std::vector<float> buf(static_cast<std::size_t>(chunk * K));
    auto scratch = make_scratch(nt, c * hw, rep.scratch_size());  // once for every chunk
    std::vector<float> s1(static_cast<std::size_t>(K)), s2(static_cast<std::size_t>(K)), s3(static_cast<std::size_t>(K));
    const float r1 = p.r1, r2 = p.r2;
    const float hb0 = static_cast<float>(p.high_b0), hb1 = static_cast<float>(p.high_b1),
                ha1 = static_cast<float>(p.high_a1);
    const float lb0 = static_cast<float>(p.low_b0), lb1 = static_cast<float>(p.low_b1), la1 = static_cast<float>(p.low_a1);
    constexpr std::ptrdiff_t kBlock = 2048;
    for (std::ptrdiff_t start = 0; start < t; start += chunk) {
        const std::ptrdiff_t n = std::min<std::ptrdiff_t>(chunk, t - start);
        decompose_frames(rep, video + start * hw * c, n, hw, c, n_threads, buf.data(), scratch);
        if (start == 0) {  // states start at frame 0, whose band is 0 (its output is the input) [M]
            std::copy(buf.begin(), buf.begin() + K, s1.begin());
            std::copy(buf.begin(), buf.begin() + K, s2.begin());
            std::copy(buf.begin(), buf.begin() + K, s3.begin());
            std::fill(buf.begin(), buf.begin() + K, 0.0f);
        }
        const std::ptrdiff_t f0 = start == 0 ? 1 : 0;
        const std::ptrdiff_t n_blocks = (K + kBlock - 1) / kBlock;
        parallel_for(n_blocks, n_threads, [&](std::ptrdiff_t blk) {
            const std::ptrdiff_t k0 = blk * kBlock, k1 = std::min(K, k0 + kBlock);
            float* y1 = s1.data();
            float* y2 = s2.data();
            float* xp = s3.data();
            for (std::ptrdiff_t f = f0; f < n; ++f) {
                float* x = buf.data() + f * K;
                switch (p.temporal) {
                    case Temporal::iir:
                        for (std::ptrdiff_t k = k0; k < k1; ++k) x[k] = iir_step(x[k], r1, r2, y1[k], y2[k]);
                        break;
                    case Temporal::butter:
                        for (std::ptrdiff_t k = k0; k < k1; ++k) {
                            const float xv = x[k];
                            y1[k] = lowpass1_step(xv, xp[k], y1[k], hb0, hb1, ha1);
                            y2[k] = lowpass1_step(xv, xp[k], y2[k], lb0, lb1, la1);
                            xp[k] = xv;
                            x[k] = y1[k] - y2[k];
                        }
                        break;
                    case Temporal::diff:
                        for (std::ptrdiff_t k = k0; k < k1; ++k) x[k] -= xp[k];
                        break;
                    default:
                        break;
                }
            }
        });
        add_frames(rep, p, video + start * hw * c, n, hw, c, buf.data(), n_threads, out + start * hw * c, scratch);
    }
}

template <class T>
void magnify_pair(const T* frame0, const T* frame1, int h, int w, int c, const Params& p, T* out) {
    check_frames(1, h, w, c);
    const Representation rep(h, w, p);
    const std::ptrdiff_t hw = static_cast<std::ptrdiff_t>(h) * w, K = c * rep.size();
    std::vector<float> d0(static_cast<std::size_t>(K)), d1(static_cast<std::size_t>(K));
    auto scratch = make_scratch(1, c * hw, rep.scratch_size());
    decompose_frames(rep, frame0, 1, hw, c, 1, d0.data(), scratch);
    decompose_frames(rep, frame1, 1, hw, c, 1, d1.data(), scratch);
    for (std::ptrdiff_t k = 0; k < K; ++k) d1[static_cast<std::size_t>(k)] -= d0[static_cast<std::size_t>(k)];
    add_frames(rep, p, frame1, 1, hw, c, d1.data(), 1, out, scratch);
}

#define MEFAST_EVM_INSTANTIATE(T)                                                                                     \
    template void decompose_video<T>(const T*, int, int, int, int, const Params&, int, float*);                       \
    template void add_band<T>(const T*, int, int, int, int, const Params&, float*, int, T*);                           \
    template void magnify_causal<T>(const T*, int, int, int, int, const Params&, int, T*);                            \
    template void magnify_pair<T>(const T*, const T*, int, int, int, const Params&, T*);
MEFAST_EVM_INSTANTIATE(float)
MEFAST_EVM_INSTANTIATE(std::uint8_t)
#undef MEFAST_EVM_INSTANTIATE

}  // namespace mefast::evm
