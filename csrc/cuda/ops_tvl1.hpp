// Per-pixel operations of batched TV-L1, each the GPU twin of a loop in csrc/src/tvl1*.cpp, written with the
// same expressions in the same order and the shared per-pixel math of mefast/tvl1_pixel.hpp.
//
// Memory layout. Frame images of a pyramid level are contiguous (frame f at f * area). Pair planes have a
// fixed stride N = H * W (the finest level) and a level of h x w uses their first h * w elements.
#pragma once

#include <cmath>
#include <utility>

#include "mefast/median_networks.hpp"
#include "mefast/tvl1_pixel.hpp"
#include "ops_common.hpp"

namespace mefast::gpu {

/// Bilinear resize with pixel-centre alignment (cv::resize INTER_LINEAR), replicated border; the twin of
/// resize_linear() in tvl1_resample.cpp. Item k is image k of a stack; `scale` multiplies the result by `mult`
/// (flow upsampling, where the CPU multiplies the resized plane by 1 / scale_step).
struct ResizeOp {
    const float* src;
    float* dst;
    int sh, sw, dh, dw;
    index_t src_stride, dst_stride;
    float mult;
    bool scale;

    MEFAST_HD void operator()(int k, int i) const {
        const int y = i / dw, x = i - y * dw;
        const float sy_scale = static_cast<float>(sh) / static_cast<float>(dh);
        const float sx_scale = static_cast<float>(sw) / static_cast<float>(dw);
        int xi = 0, yi = 0;
        float a = 0.0f, b = 0.0f;
        tvl1::linear_tap(x, sx_scale, sw, xi, a);
        tvl1::linear_tap(y, sy_scale, sh, yi, b);
        const int xj = mini(xi + 1, sw - 1);
        const float* s = src + static_cast<index_t>(k) * src_stride;
        const float* r0 = s + static_cast<index_t>(yi) * sw;
        const float* r1 = s + static_cast<index_t>(mini(yi + 1, sh - 1)) * sw;
        // Vertical then horizontal, as the CPU's row-buffered loop.
        const float c0 = r0[xi] + b * (r1[xi] - r0[xi]);
        const float c1 = r0[xj] + b * (r1[xj] - r0[xj]);
        const float v = c0 + a * (c1 - c0);
        dst[static_cast<index_t>(k) * dst_stride + i] = scale ? v * mult : v;
    }
};

/// One pass of the separable Gaussian blur (gaussian_blur() in tvl1_resample.cpp), along the rows (Vertical = false) or
/// the columns: taps k[0..2r], replicated border, accumulated from 0 in tap order.
template <bool Vertical>
struct BlurOp {
    const float* src;
    float* dst;
    int h, w;
    index_t stride;
    const float* taps;
    int r;

    MEFAST_HD void operator()(int k, int i) const {
        const int y = i / w, x = i - y * w;
        const float* img = src + static_cast<index_t>(k) * stride;
        float acc = 0.0f;
        if constexpr (Vertical) {
            for (int t = 0; t <= 2 * r; ++t)
                acc += taps[t] * img[static_cast<index_t>(tvl1::clamp_index(y - r + t, h)) * w + x];
        } else {
            const float* row = img + static_cast<index_t>(y) * w;
            for (int t = 0; t <= 2 * r; ++t) acc += taps[t] * row[tvl1::clamp_index(x - r + t, w)];
        }
        dst[static_cast<index_t>(k) * stride + i] = acc;
    }
};
using BlurRowsOp = BlurOp<false>;
using BlurColsOp = BlurOp<true>;

/// (I, dI/dx, dI/dy, 0) of frame k: centred differences, halved one-sided ones on the border
/// (interleave_with_gradient() in tvl1_warp.cpp).
struct GradientOp {
    const float* src;  // frames of the level, contiguous, h * w each
    F4* dst;           // same layout
    int h, w;

    MEFAST_HD void operator()(int k, int i) const {
        const int y = i / w, x = i - y * w;
        const index_t area = static_cast<index_t>(h) * w;
        const float* img = src + static_cast<index_t>(k) * area;
        const float* r = img + static_cast<index_t>(y) * w;
        const float* up = img + static_cast<index_t>(maxi(y - 1, 0)) * w;
        const float* dn = img + static_cast<index_t>(mini(y + 1, h - 1)) * w;
        const int xl = maxi(x - 1, 0), xr = mini(x + 1, w - 1);
        F4 o;
        o.x = r[x];
        o.y = 0.5f * (r[xr] - r[xl]);
        o.z = 0.5f * (dn[x] - up[x]);
        o.w = 0.0f;
        dst[static_cast<index_t>(k) * area + i] = o;
    }
};

/// Warp I1 and its gradient by the current flow and linearise the data term (warp_and_linearise() in
/// tvl1_warp.cpp). Also clears error slot 0 of the pair: the warp's first iteration sums into it.
struct WarpOp {
    const float* I0;  // level frames, contiguous
    const F4* I1c;    // GradientOp output for the level's frames
    const int* f0;    // frame index of I0 for pair k
    const int* f1;    // frame index of I1 for pair k
    const float* u1;
    const float* u2;
    float* ix;
    float* iy;
    float* grad;
    float* rho_c;
    double* err;
    int h, w;
    index_t stride;  // pair plane stride N
    float gamma;            // of the illumination field solved for on this level (0: none)
    const float* held_u3;   // an illumination field held fixed on this level (null: none)
    float held_gamma;       // its weight

    MEFAST_HD void operator()(int k, int i) const {
        const int y = i / w, x = i - y * w;
        const index_t area = static_cast<index_t>(h) * w;
        const index_t q = static_cast<index_t>(k) * stride + i;
        const F4* img = I1c + static_cast<index_t>(f1[k]) * area;
        const float a1 = u1[q], a2 = u2[q];
        float fx = static_cast<float>(x) + a1;
        float fy = static_cast<float>(y) + a2;
        fx = clampf(fx, -2.0f, static_cast<float>(w + 1));
        fy = clampf(fy, -2.0f, static_cast<float>(h + 1));
        const float flx = std::floor(fx), fly = std::floor(fy);
        const int xi = static_cast<int>(flx), yi = static_cast<int>(fly);
        float wx[4], wy[4];
        tvl1::cubic_weights(fx - flx, wx);
        tvl1::cubic_weights(fy - fly, wy);
        float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f;
        const bool inside = xi >= 1 && yi >= 1 && xi + 2 < w && yi + 2 < h;
        MEFAST_UNROLL
        for (int j = 0; j < 4; ++j) {
            const int yy = inside ? yi - 1 + j : tvl1::clamp_index(yi - 1 + j, h);
            const F4* row = img + static_cast<index_t>(yy) * w;
            float r0 = 0.0f, r1 = 0.0f, r2 = 0.0f;
            MEFAST_UNROLL
            for (int t = 0; t < 4; ++t) {
                const int xx = inside ? xi - 1 + t : tvl1::clamp_index(xi - 1 + t, w);
                const F4 v = row[xx];
                r0 += wx[t] * v.x;
                r1 += wx[t] * v.y;
                r2 += wx[t] * v.z;
            }
            acc0 += wy[j] * r0;
            acc1 += wy[j] * r1;
            acc2 += wy[j] * r2;
        }
        const float gx = acc1, gy = acc2;
        ix[q] = gx;
        iy[q] = gy;
        grad[q] = gx * gx + gy * gy + gamma * gamma;
        const float rho = acc0 - gx * a1 - gy * a2 - I0[static_cast<index_t>(f0[k]) * area + i];
        rho_c[q] = held_u3 != nullptr ? tvl1::hold_illumination(rho, held_gamma, held_u3[q]) : rho;
        if (i == 0) err[3 * static_cast<index_t>(k)] = 0.0;
    }
};

/// The planes of the primal-dual iteration of a batch of pairs.
struct DualState {
    const float* ix;
    const float* iy;
    const float* grad;
    const float* rho_c;
    float* u1;
    float* u2;
    float* u3;  // illumination term, only with gamma > 0
    float* p11;
    float* p12;
    float* p21;
    float* p22;
    float* p31;
    float* p32;
    int h, w;
    index_t stride;
    float lt, theta, taut, gamma;
};

/// A per-pixel step of the primal-dual iteration as a launch operation: item k (a pair), pixel i of its h x w
/// level is located once, as column x, row y and index q into the pair planes, and handed to Step::run.
template <class Step>
struct DualStateOp {
    DualState s;

    MEFAST_HD auto operator()(int k, int i) const {
        const int y = i / s.w, x = i - y * s.w;
        return Step::run(s, x, y, static_cast<index_t>(k) * s.stride + i);
    }
};

/// New primal variable at one pixel (primal_row() in tvl1_sweeps.cpp); returns its squared change.
/// Reads u at the pixel and p at the pixel and its left and upper neighbours; writes u at the pixel only,
/// so it runs in place.
template <bool kGamma>
struct PrimalStep {
    static MEFAST_HD float run(const DualState& s, int x, int y, index_t q) {
        const int w = s.w;
        const float a1 = s.u1[q], a2 = s.u2[q], a3 = kGamma ? s.u3[q] : 0.0f;
        const float ixq = s.ix[q], iyq = s.iy[q];
        const float rho = s.rho_c[q] + ixq * a1 + iyq * a2 + (kGamma ? s.gamma * a3 : 0.0f);
        float d1, d2, d3;
        tvl1::threshold(rho, s.grad[q], ixq, iyq, s.gamma, s.lt, d1, d2, d3);
        const float p11l = x > 0 ? s.p11[q - 1] : 0.0f;
        const float p21l = x > 0 ? s.p21[q - 1] : 0.0f;
        const float p12u = y > 0 ? s.p12[q - w] : 0.0f;
        const float p22u = y > 0 ? s.p22[q - w] : 0.0f;
        const float n1 = a1 + d1 + s.theta * (s.p11[q] - p11l + s.p12[q] - p12u);
        const float n2 = a2 + d2 + s.theta * (s.p21[q] - p21l + s.p22[q] - p22u);
        s.u1[q] = n1;
        s.u2[q] = n2;
        float e = (n1 - a1) * (n1 - a1) + (n2 - a2) * (n2 - a2);
        if constexpr (kGamma) {
            const float p31l = x > 0 ? s.p31[q - 1] : 0.0f;
            const float p32u = y > 0 ? s.p32[q - w] : 0.0f;
            const float n3 = a3 + d3 + s.theta * (s.p31[q] - p31l + s.p32[q] - p32u);
            s.u3[q] = n3;
            e += (n3 - a3) * (n3 - a3);
        }
        return e;
    }
};
template <bool kGamma>
using PrimalOp = DualStateOp<PrimalStep<kGamma>>;

/// Dual update at one pixel from the new primal variable (dual_row() in tvl1_sweeps.cpp): forward differences with
/// zero on the last column and row. Reads u (not written by this launch), writes p at the pixel only.
template <bool kGamma>
struct DualStep {
    static MEFAST_HD void run(const DualState& s, int x, int y, index_t q) {
        const int w = s.w;
        const index_t qd = y + 1 < s.h ? q + w : q;
        const bool right = x + 1 < w;
        const float dx1 = right ? s.u1[q + 1] - s.u1[q] : 0.0f;
        const float dx2 = right ? s.u2[q + 1] - s.u2[q] : 0.0f;
        tvl1::dual_update(dx1, s.u1[qd] - s.u1[q], s.taut, s.p11[q], s.p12[q]);
        tvl1::dual_update(dx2, s.u2[qd] - s.u2[q], s.taut, s.p21[q], s.p22[q]);
        if constexpr (kGamma) {
            const float dx3 = right ? s.u3[q + 1] - s.u3[q] : 0.0f;
            tvl1::dual_update(dx3, s.u3[qd] - s.u3[q], s.taut, s.p31[q], s.p32[q]);
        }
    }
};
template <bool kGamma>
using DualOp = DualStateOp<DualStep<kGamma>>;

/// Compare-exchange of wires A < B (min to A, max to B), with std::min/std::max's comparisons.
template <int A, int B, int N>
MEFAST_HD void compare_exchange(float (&v)[N]) {
    const float lo = v[B] < v[A] ? v[B] : v[A];
    const float hi = v[A] < v[B] ? v[B] : v[A];
    v[A] = lo;
    v[B] = hi;
}

/// Sort the K values of window column C (wires C*K .. C*K+K-1) with tvl1_median.cpp's column networks.
template <int K, int C, int N>
MEFAST_HD void sort_column(float (&v)[N]) {
    constexpr int o = C * K;
    if constexpr (K == 5) {
        compare_exchange<o + 0, o + 1>(v);
        compare_exchange<o + 3, o + 4>(v);
        compare_exchange<o + 2, o + 4>(v);
        compare_exchange<o + 2, o + 3>(v);
        compare_exchange<o + 0, o + 3>(v);
        compare_exchange<o + 0, o + 2>(v);
        compare_exchange<o + 1, o + 4>(v);
        compare_exchange<o + 1, o + 3>(v);
        compare_exchange<o + 1, o + 2>(v);
    } else {
        compare_exchange<o + 1, o + 2>(v);
        compare_exchange<o + 0, o + 2>(v);
        compare_exchange<o + 0, o + 1>(v);
    }
}

template <int K, int N, int... C>
MEFAST_HD void sort_columns(float (&v)[N], std::integer_sequence<int, C...>) {
    (sort_column<K, C>(v), ...);
}

/// The pruned one-output median selection network of median_networks.hpp, unrolled at compile time: the table
/// is only read in template arguments, so the wires stay in registers. (The CPU's 3x3 filter uses the same one; its
/// 5x5 filter computes two neighbouring outputs at once with the two-output networks: the same exact median.)
template <int K, int N, std::size_t... I>
MEFAST_HD void median_network(float (&v)[N], std::index_sequence<I...>) {
    if constexpr (K == 5) {
        (compare_exchange<median_net::k5_pairs[2 * I], median_net::k5_pairs[2 * I + 1]>(v), ...);
    } else {
        (compare_exchange<median_net::k3_pairs[2 * I], median_net::k3_pairs[2 * I + 1]>(v), ...);
    }
}

/// Median of a K x K window laid out column-major (wire = col * K + row): sort the columns, then run the pruned
/// selection network. Destroys v.
template <int K>
MEFAST_HD float window_median(float (&v)[K * K]) {
    sort_columns<K>(v, std::make_integer_sequence<int, K>{});
    if constexpr (K == 5) {
        median_network<5>(v, std::make_index_sequence<median_net::k5_size>{});
        return v[median_net::k5_out];
    } else {
        median_network<3>(v, std::make_index_sequence<median_net::k3_size>{});
        return v[median_net::k3_out];
    }
}

/// K x K median filter of u1 and u2 (replicated border) into m1 and m2 (median_filter() in tvl1_median.cpp).
template <int K>
struct MedianOp {
    const float* u1;
    const float* u2;
    float* m1;
    float* m2;
    int h, w;
    index_t stride;

    MEFAST_HD float one(const float* u, int y, int x) const {
        constexpr int R = K / 2;
        float v[K * K];
        MEFAST_UNROLL
        for (int r = 0; r < K; ++r) {
            const float* row = u + static_cast<index_t>(tvl1::clamp_index(y - R + r, h)) * w;
            MEFAST_UNROLL
            for (int c = 0; c < K; ++c) v[c * K + r] = row[tvl1::clamp_index(x - R + c, w)];
        }
        return window_median<K>(v);
    }

    MEFAST_HD void operator()(int k, int i) const {
        const int y = i / w, x = i - y * w;
        const index_t o = static_cast<index_t>(k) * stride;
        m1[o + i] = one(u1 + o, y, x);
        m2[o + i] = one(u2 + o, y, x);
    }
};

/// u1, u2 <- m1, m2 (the median filter's result back into the flow).
struct CopyBackOp {
    const float* m1;
    const float* m2;
    float* u1;
    float* u2;
    index_t stride;

    MEFAST_HD void operator()(int k, int i) const {
        const index_t q = static_cast<index_t>(k) * stride + i;
        u1[q] = m1[q];
        u2[q] = m2[q];
    }
};

/// Interleave (u1, u2) into the (H, W, 2) flow of pair k.
struct FlowOutOp {
    const float* u1;
    const float* u2;
    float* flow;
    index_t stride;

    MEFAST_HD void operator()(int k, int i) const {
        const index_t q = static_cast<index_t>(k) * stride + i;
        flow[2 * q] = u1[q];
        flow[2 * q + 1] = u2[q];
    }
};

}  // namespace mefast::gpu
