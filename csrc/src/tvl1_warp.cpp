// The warp of the CPU TV-L1: I1 and its gradient sampled at x + u, and the linearised data term (tvl1_internal.hpp
// lists the files).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "mefast/common.hpp"
#include "mefast/tvl1_pixel.hpp"
#include "tvl1_internal.hpp"

namespace mefast::tvl1::detail {

// Centred differences with one-sided (halved) differences on the border, as OpenCV's DualTVL1.
// Writes an interleaved image: (I, dI/dx, dI/dy, 0) per pixel.
void interleave_with_gradient(const float* I, int h, int w, float* out4) {
    for (int y = 0; y < h; ++y) {
        const float* r = I + static_cast<std::ptrdiff_t>(y) * w;
        const float* up = I + static_cast<std::ptrdiff_t>(std::max(y - 1, 0)) * w;
        const float* dn = I + static_cast<std::ptrdiff_t>(std::min(y + 1, h - 1)) * w;
        float* o = out4 + static_cast<std::ptrdiff_t>(y) * w * 4;
        for (int x = 0; x < w; ++x) {
            const int xl = std::max(x - 1, 0), xr = std::min(x + 1, w - 1);
            o[4 * x + 0] = r[x];
            o[4 * x + 1] = 0.5f * (r[xr] - r[xl]);
            o[4 * x + 2] = 0.5f * (dn[x] - up[x]);
            o[4 * x + 3] = 0.0f;
        }
    }
}

namespace {

// Warp I1 (and its gradient) by the current flow and linearise the data term around it:
// ix, iy = grad I1(x + u), grad = |grad I1(x + u)|^2 (+ gamma^2), rho_c = I1(x + u) - grad I1 . u - I0.
// The three channels are interpolated together: each tap is one 4-float load of the interleaved image.
#if defined(__GNUC__) || defined(__clang__)
typedef float Quad __attribute__((vector_size(4 * sizeof(float))));
MEFAST_INLINE Quad load_quad(const float* p) {
    Quad q;
    std::memcpy(&q, p, sizeof(Quad));
    return q;
}
#else
struct Quad {
    float v[4];
    float& operator[](int i) { return v[i]; }
    float operator[](int i) const { return v[i]; }
    Quad operator*(float s) const { Quad r; for (int c = 0; c < 4; ++c) r.v[c] = v[c] * s; return r; }
    Quad& operator+=(const Quad& o) { for (int c = 0; c < 4; ++c) v[c] += o.v[c]; return *this; }
    Quad operator+(const Quad& o) const { Quad r = *this; r += o; return r; }
};
MEFAST_INLINE Quad load_quad(const float* p) {
    Quad q;
    for (int c = 0; c < 4; ++c) q.v[c] = p[c];
    return q;
}
#endif

// The 4 taps of one pixel in one row of the interleaved image: 16 contiguous floats (4 taps x 4 channels).
#if defined(__GNUC__) || defined(__clang__)
typedef float Taps __attribute__((vector_size(16 * sizeof(float))));
typedef int TapIndex __attribute__((vector_size(16 * sizeof(int))));  // indices for MEFAST_SHUFFLE
#else
struct Taps {
    float v[16] = {};
    float operator[](int i) const { return v[i]; }
    Taps operator*(float s) const { Taps r; for (int c = 0; c < 16; ++c) r.v[c] = v[c] * s; return r; }
    Taps operator+(const Taps& o) const { Taps r; for (int c = 0; c < 16; ++c) r.v[c] = v[c] + o.v[c]; return r; }
};
#endif
MEFAST_INLINE Taps load_taps(const float* p) {
    Taps t;
    std::memcpy(&t, p, sizeof(Taps));
    return t;
}
MEFAST_INLINE Quad quad_of(const Taps& t, int i) { return Quad{t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]}; }

MEFAST_INLINE void cubic_weights4(float t, float& w0, float& w1, float& w2, float& w3) {
    float c[4];
    cubic_weights(t, c);
    w0 = c[0];
    w1 = c[1];
    w2 = c[2];
    w3 = c[3];
}

// Whether all 4 x 4 taps of pixel x (sample at xs[x], ys[x]) lie inside the h x w image.
MEFAST_INLINE bool taps_inside(const int* xs, const int* ys, int x, int w, int h) {
    return xs[x] >= 1 && ys[x] >= 1 && xs[x] + 2 < w && ys[x] + 2 < h;
}

// The 4 x 4 taps of pixel x (around its sample at xs[x], ys[x] plus its fractions) weighted down each column by
// the vertical weights wy (4 planes of w) and summed: 4 taps x 4 channels. The taps must lie inside the image.
MEFAST_INLINE Taps vertical_taps(const float* I1c, int w, const float* wy, const int* xs, const int* ys, int x) {
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(w) * 4;
    const float* base = I1c + (ys[x] - 1) * stride + 4 * (xs[x] - 1);
    return load_taps(base) * wy[x] + load_taps(base + stride) * wy[w + x] +
           load_taps(base + 2 * stride) * wy[2 * w + x] + load_taps(base + 3 * stride) * wy[3 * w + x];
}

// The samples (I, dI/dx, dI/dy, 0) of pixel x into qs[4x .. 4x + 3]: bicubic over the 4 x 4 taps, vertically and
// then horizontally (wx, wy: 4 planes of w weights each); past the image's border the taps are clamped.
MEFAST_INLINE void warp_pixel(const float* I1c, int w, int h, const float* wx, const float* wy, const int* xs,
                              const int* ys, int x, float* qs) {
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(w) * 4;
    const int xi = xs[x], yi = ys[x];
    const float wx0 = wx[x], wx1 = wx[w + x], wx2 = wx[2 * w + x], wx3 = wx[3 * w + x];
    Quad acc;
    if (taps_inside(xs, ys, x, w, h)) {
        const Taps col = vertical_taps(I1c, w, wy, xs, ys, x);
        acc = quad_of(col, 0) * wx0 + quad_of(col, 1) * wx1 + quad_of(col, 2) * wx2 + quad_of(col, 3) * wx3;
    } else {
        const float wxv[4] = {wx0, wx1, wx2, wx3}, wyv[4] = {wy[x], wy[w + x], wy[2 * w + x], wy[3 * w + x]};
        acc = Quad{0.0f, 0.0f, 0.0f, 0.0f};
        for (int i = 0; i < 4; ++i) {
            const std::ptrdiff_t cx = 4 * static_cast<std::ptrdiff_t>(clamp_index(xi - 1 + i, w));
            Quad c = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int j = 0; j < 4; ++j) c += load_quad(I1c + clamp_index(yi - 1 + j, h) * stride + cx) * wyv[j];
            acc += c * wxv[i];
        }
    }
    std::memcpy(qs + 4 * static_cast<std::ptrdiff_t>(x), &acc, sizeof(Quad));
}

#if defined(__GNUC__) || defined(__clang__)
// The tap columns of 4 pixels (c[p]: taps 0..3 of pixel p, 4 channels each) regrouped by tap: t[i] holds tap i of
// pixels 0, 1, 2, 3 (a transpose of 4 x 4 blocks of 4 floats).
MEFAST_INLINE void taps_by_tap(const Taps c[4], Taps t[4]) {
    const Taps p = MEFAST_SHUFFLE(TapIndex, c[0], c[1], 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const Taps q = MEFAST_SHUFFLE(TapIndex, c[0], c[1], 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    const Taps r = MEFAST_SHUFFLE(TapIndex, c[2], c[3], 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const Taps s = MEFAST_SHUFFLE(TapIndex, c[2], c[3], 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    t[0] = MEFAST_SHUFFLE(TapIndex, p, r, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    t[1] = MEFAST_SHUFFLE(TapIndex, p, r, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    t[2] = MEFAST_SHUFFLE(TapIndex, q, s, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    t[3] = MEFAST_SHUFFLE(TapIndex, q, s, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
}

// w[0..3] spread over 16 lanes, each 4 times: one horizontal weight per pixel for its 4 channels. Reads w[0..15],
// which at pixel x <= w - 4 of a horizontal weight plane stays inside warp_and_linearise's scratch
// (warp_scratch_floats: the vertical weights and the rest follow the horizontal ones).
MEFAST_INLINE Taps spread_weights(const float* w) {
    const Taps v = load_taps(w);
    return MEFAST_SHUFFLE(TapIndex, v, v, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
}
#endif

}  // namespace

// Per row: first the sample positions and cubic weights of every pixel (a loop that vectorises), then per pixel
// the 4 x 4 taps, each row of taps one 16-float load, weighted vertically and then horizontally, into a row of
// (I, Ix, Iy) samples, and last the linearised data term of the row from them (a loop that vectorises).
// held_u3: an illumination field held fixed on this level (null: none), whose term held_gamma * u3 enters rho_c
// as a constant (rho = rho_c + grad I1 . u + gamma u3; the CUDA WarpOp does the same).
MEFAST_TARGET_CLONES void warp_and_linearise(const float* I0, const float* I1c, const float* u1, const float* u2,
                                             int h, int w, float gamma, const float* held_u3, float held_gamma,
                                             float* MEFAST_RESTRICT ix, float* MEFAST_RESTRICT iy,
                                             float* MEFAST_RESTRICT grad, float* MEFAST_RESTRICT rho_c,
                                             float* MEFAST_RESTRICT scratch) {
    const float gamma2 = gamma * gamma;
    float* MEFAST_RESTRICT wx = scratch;          // 4 planes of w: horizontal weights
    float* MEFAST_RESTRICT wy = scratch + 4 * w;  // 4 planes of w: vertical weights
    int* MEFAST_RESTRICT xs = reinterpret_cast<int*>(scratch + 8 * w);
    int* MEFAST_RESTRICT ys = reinterpret_cast<int*>(scratch + 9 * w);
    float* MEFAST_RESTRICT qs = scratch + 10 * w;  // 4 floats per pixel: I, dI/dx, dI/dy at the warped position
    for (int y = 0; y < h; ++y) {
        const std::ptrdiff_t o = static_cast<std::ptrdiff_t>(y) * w;
        const float* MEFAST_RESTRICT a1 = u1 + o;
        const float* MEFAST_RESTRICT a2 = u2 + o;
        float* MEFAST_RESTRICT wx0p = wx;
        float* MEFAST_RESTRICT wx1p = wx + w;
        float* MEFAST_RESTRICT wx2p = wx + 2 * w;
        float* MEFAST_RESTRICT wx3p = wx + 3 * w;
        float* MEFAST_RESTRICT wy0p = wy;
        float* MEFAST_RESTRICT wy1p = wy + w;
        float* MEFAST_RESTRICT wy2p = wy + 2 * w;
        float* MEFAST_RESTRICT wy3p = wy + 3 * w;
        const float fw = static_cast<float>(w + 1), fh = static_cast<float>(h + 1), fyy = static_cast<float>(y);
#pragma omp simd
        for (int x = 0; x < w; ++x) {
            float fx = static_cast<float>(x) + a1[x];
            float fy = fyy + a2[x];
            // Clamped with NaN mapped to -2 (std::max(-2, NaN) is -2): a NaN flow must not reach the float ->
            // int conversion below, which is undefined for NaN.
            fx = std::min(std::max(-2.0f, fx), fw);
            fy = std::min(std::max(-2.0f, fy), fh);
            const float flx = std::floor(fx), fly = std::floor(fy);
            xs[x] = static_cast<int>(flx);
            ys[x] = static_cast<int>(fly);
            cubic_weights4(fx - flx, wx0p[x], wx1p[x], wx2p[x], wx3p[x]);
            cubic_weights4(fy - fly, wy0p[x], wy1p[x], wy2p[x], wy3p[x]);
        }
        int x = 0;
#if defined(__GNUC__) || defined(__clang__)
        // Four pixels at a time when all four sample inside the image: each one's 4 rows of taps weighted
        // vertically as below, then the four regrouped by tap (taps_by_tap), so that the horizontal weighting is
        // 4 multiply-adds on 16 lanes (4 pixels x 4 channels) instead of 16 on 4 lanes: the same operations per
        // value, in the same order, as one pixel at a time.
        for (; x + 4 <= w; x += 4) {
            bool inside = true;
            for (int p = 0; p < 4; ++p) inside = inside && taps_inside(xs, ys, x + p, w, h);
            if (!inside) {
                for (int p = 0; p < 4; ++p) warp_pixel(I1c, w, h, wx, wy, xs, ys, x + p, qs);
                continue;
            }
            Taps col[4];
            for (int p = 0; p < 4; ++p) col[p] = vertical_taps(I1c, w, wy, xs, ys, x + p);
            Taps t[4];
            taps_by_tap(col, t);
            const Taps acc = t[0] * spread_weights(wx + x) + t[1] * spread_weights(wx + w + x) +
                             t[2] * spread_weights(wx + 2 * w + x) + t[3] * spread_weights(wx + 3 * w + x);
            std::memcpy(qs + 4 * static_cast<std::ptrdiff_t>(x), &acc, sizeof(Taps));
        }
#endif
        for (; x < w; ++x) warp_pixel(I1c, w, h, wx, wy, xs, ys, x, qs);
        const float* MEFAST_RESTRICT i0 = I0 + o;
        float* MEFAST_RESTRICT oix = ix + o;
        float* MEFAST_RESTRICT oiy = iy + o;
        float* MEFAST_RESTRICT ogr = grad + o;
        float* MEFAST_RESTRICT orc = rho_c + o;
        const float* MEFAST_RESTRICT hu3 = held_u3 != nullptr ? held_u3 + o : nullptr;
        auto linearise = [&](auto held) {  // one loop each with and without a held field, so both vectorise
#pragma omp simd
            for (int x = 0; x < w; ++x) {
                const float gx = qs[4 * x + 1], gy = qs[4 * x + 2];
                oix[x] = gx;
                oiy[x] = gy;
                ogr[x] = gx * gx + gy * gy + gamma2;
                const float rho = qs[4 * x] - gx * a1[x] - gy * a2[x] - i0[x];
                orc[x] = decltype(held)::value ? hold_illumination(rho, held_gamma, hu3[x]) : rho;
            }
        };
        if (hu3 != nullptr)
            linearise(std::true_type{});
        else
            linearise(std::false_type{});
    }
}

}  // namespace mefast::tvl1::detail
