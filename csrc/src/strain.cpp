#include "mefast/strain.hpp"

#include <algorithm>

namespace mefast::strain {
namespace {

// Unnormalised Sobel with zero padding, as scipy.ndimage.sobel(mode="constant").
// axis 0: difference down the rows, [1, 2, 1] smoothing along the row; axis 1: the transpose.
inline float sobel(const float* f, int h, int w, int y, int x, int c, int axis) {
    auto at = [&](int yy, int xx) {
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) return 0.0f;
        return f[(static_cast<std::ptrdiff_t>(yy) * w + xx) * 2 + c];
    };
    if (axis == 0)
        return (at(y + 1, x - 1) + 2.0f * at(y + 1, x) + at(y + 1, x + 1)) -
               (at(y - 1, x - 1) + 2.0f * at(y - 1, x) + at(y - 1, x + 1));
    return (at(y - 1, x + 1) + 2.0f * at(y, x + 1) + at(y + 1, x + 1)) -
           (at(y - 1, x - 1) + 2.0f * at(y, x - 1) + at(y + 1, x - 1));
}

// Finite-difference schemes, one row at a time. Rows: the vertical difference is fy * (dn - up), with
// (up, dn, fy) = (y-1, y+1, 1/2) inside and one-sided at the borders (central), or (y-1, y, 1) and 0 on the
// first row (backward). Columns likewise; the inner columns run branch-free so the loop vectorises. Compiled for
// the baseline ISA (no FMA contraction), so it rounds exactly as the CUDA twin and its CPU emulation do.
void finite_differences(const float* f, int h, int w, Scheme s, float* out) {
    const bool central = s == Scheme::central;
    for (int y = 0; y < h; ++y) {
        int up, dn;
        float fy;
        if (central) {
            up = y > 0 ? y - 1 : 0;
            dn = y + 1 < h ? y + 1 : h - 1;
            fy = (y > 0 && y + 1 < h) ? 0.5f : 1.0f;
        } else {
            up = y > 0 ? y - 1 : 0;
            dn = y;
            fy = y > 0 ? 1.0f : 0.0f;
        }
        const float* MEFAST_RESTRICT r = f + static_cast<std::ptrdiff_t>(y) * w * 2;
        const float* MEFAST_RESTRICT ru = f + static_cast<std::ptrdiff_t>(up) * w * 2;
        const float* MEFAST_RESTRICT rd = f + static_cast<std::ptrdiff_t>(dn) * w * 2;
        float* MEFAST_RESTRICT o = out + static_cast<std::ptrdiff_t>(y) * w;
        auto at = [&](int x, int xl, int xr, float fx) {
            const float ux = fx * (r[2 * xr] - r[2 * xl]);
            const float vx = fx * (r[2 * xr + 1] - r[2 * xl + 1]);
            const float uy = fy * (rd[2 * x] - ru[2 * x]);
            const float vy = fy * (rd[2 * x + 1] - ru[2 * x + 1]);
            return magnitude(ux, uy, vx, vy);
        };
        if (central) {
#pragma omp simd
            for (int x = 1; x < w - 1; ++x) o[x] = at(x, x - 1, x + 1, 0.5f);
            o[0] = at(0, 0, 1, 1.0f);
            o[w - 1] = at(w - 1, w - 2, w - 1, 1.0f);
        } else {
#pragma omp simd
            for (int x = 1; x < w; ++x) o[x] = at(x, x - 1, x, 1.0f);
            o[0] = at(0, 0, 0, 0.0f);
        }
    }
}

void sobel_meb(const float* f, int h, int w, float* out) {
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            out[static_cast<std::ptrdiff_t>(y) * w + x] =
                magnitude_meb(sobel(f, h, w, y, x, 0, 0), sobel(f, h, w, y, x, 0, 1), sobel(f, h, w, y, x, 1, 0),
                              sobel(f, h, w, y, x, 1, 1));
}

void one(const float* f, int h, int w, Scheme s, float* out) {
    if (s == Scheme::sobel_meb)
        sobel_meb(f, h, w, out);
    else
        finite_differences(f, h, w, s, out);
}

}  // namespace

void compute(const float* flows, std::ptrdiff_t n, int h, int w, Scheme scheme, int n_threads, float* out) {
    const std::ptrdiff_t px = static_cast<std::ptrdiff_t>(h) * w;
    parallel_for(n, n_threads, [&](std::ptrdiff_t i) { one(flows + i * px * 2, h, w, scheme, out + i * px); });
}

}  // namespace mefast::strain
