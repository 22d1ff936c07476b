#include "mefast/strain.hpp"

#include <algorithm>

namespace mefast::strain {
namespace {

// Derivative of component c (0 = u, 1 = v) along x and y at (y, x) for the finite-difference schemes.
inline float ddx(const float* f, int h, int w, int y, int x, int c, Scheme s) {
    (void)h;
    const float* r = f + static_cast<std::ptrdiff_t>(y) * w * 2;
    if (s == Scheme::backward) return x == 0 ? 0.0f : r[2 * x + c] - r[2 * (x - 1) + c];
    if (x == 0) return r[2 + c] - r[c];
    if (x == w - 1) return r[2 * x + c] - r[2 * (x - 1) + c];
    return 0.5f * (r[2 * (x + 1) + c] - r[2 * (x - 1) + c]);
}

inline float ddy(const float* f, int h, int w, int y, int x, int c, Scheme s) {
    auto at = [&](int yy) { return f[(static_cast<std::ptrdiff_t>(yy) * w + x) * 2 + c]; };
    if (s == Scheme::backward) return y == 0 ? 0.0f : at(y) - at(y - 1);
    if (y == 0) return at(1) - at(0);
    if (y == h - 1) return at(y) - at(y - 1);
    return 0.5f * (at(y + 1) - at(y - 1));
}

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

void one(const float* f, int h, int w, Scheme s, float* out) {
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            float m;
            if (s == Scheme::sobel_meb) {
                m = magnitude_meb(sobel(f, h, w, y, x, 0, 0), sobel(f, h, w, y, x, 0, 1), sobel(f, h, w, y, x, 1, 0),
                                  sobel(f, h, w, y, x, 1, 1));
            } else {
                m = magnitude(ddx(f, h, w, y, x, 0, s), ddy(f, h, w, y, x, 0, s), ddx(f, h, w, y, x, 1, s),
                              ddy(f, h, w, y, x, 1, s));
            }
            out[static_cast<std::ptrdiff_t>(y) * w + x] = m;
        }
    }
}

}  // namespace

void compute(const float* flows, std::ptrdiff_t n, int h, int w, Scheme scheme, int n_threads, float* out) {
    const std::ptrdiff_t px = static_cast<std::ptrdiff_t>(h) * w;
    parallel_for(n, n_threads, [&](std::ptrdiff_t i) { one(flows + i * px * 2, h, w, scheme, out + i * px); });
}

}  // namespace mefast::strain
