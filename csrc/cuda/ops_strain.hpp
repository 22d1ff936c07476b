// Optical strain magnitude per pixel, the GPU twin of csrc/src/strain.cpp: the same stencils and the shared
// magnitude formulas of mefast/strain.hpp.
#pragma once

#include "mefast/strain.hpp"
#include "ops_common.hpp"

namespace mefast::gpu {

/// Item k is flow field k of a (n, h, w, 2) stack; writes strain[k, y, x].
struct StrainOp {
    const float* flows;
    float* out;
    int h, w;
    int scheme;  // strain::Scheme

    // Component c (0 = u, 1 = v) of field f at (y, x).
    MEFAST_HD float at(const float* f, int y, int x, int c) const {
        return f[(static_cast<index_t>(y) * w + x) * 2 + c];
    }

    MEFAST_HD float ddx(const float* f, int y, int x, int c) const {
        if (scheme == static_cast<int>(strain::Scheme::backward)) return x == 0 ? 0.0f : at(f, y, x, c) - at(f, y, x - 1, c);
        if (x == 0) return at(f, y, 1, c) - at(f, y, 0, c);
        if (x == w - 1) return at(f, y, x, c) - at(f, y, x - 1, c);
        return 0.5f * (at(f, y, x + 1, c) - at(f, y, x - 1, c));
    }

    MEFAST_HD float ddy(const float* f, int y, int x, int c) const {
        if (scheme == static_cast<int>(strain::Scheme::backward)) return y == 0 ? 0.0f : at(f, y, x, c) - at(f, y - 1, x, c);
        if (y == 0) return at(f, 1, x, c) - at(f, 0, x, c);
        if (y == h - 1) return at(f, y, x, c) - at(f, y - 1, x, c);
        return 0.5f * (at(f, y + 1, x, c) - at(f, y - 1, x, c));
    }

    // scipy.ndimage.sobel with zero padding; axis 0 differentiates down the rows.
    MEFAST_HD float zat(const float* f, int y, int x, int c) const {
        return (y < 0 || y >= h || x < 0 || x >= w) ? 0.0f : at(f, y, x, c);
    }

    MEFAST_HD float sobel(const float* f, int y, int x, int c, int axis) const {
        if (axis == 0)
            return (zat(f, y + 1, x - 1, c) + 2.0f * zat(f, y + 1, x, c) + zat(f, y + 1, x + 1, c)) -
                   (zat(f, y - 1, x - 1, c) + 2.0f * zat(f, y - 1, x, c) + zat(f, y - 1, x + 1, c));
        return (zat(f, y - 1, x + 1, c) + 2.0f * zat(f, y, x + 1, c) + zat(f, y + 1, x + 1, c)) -
               (zat(f, y - 1, x - 1, c) + 2.0f * zat(f, y, x - 1, c) + zat(f, y + 1, x - 1, c));
    }

    MEFAST_HD void operator()(int k, int i) const {
        const int y = i / w, x = i - y * w;
        const index_t area = static_cast<index_t>(h) * w;
        const float* f = flows + static_cast<index_t>(k) * area * 2;
        float m;
        if (scheme == static_cast<int>(strain::Scheme::sobel_meb)) {
            m = strain::magnitude_meb(sobel(f, y, x, 0, 0), sobel(f, y, x, 0, 1), sobel(f, y, x, 1, 0),
                                      sobel(f, y, x, 1, 1));
        } else {
            m = strain::magnitude(ddx(f, y, x, 0), ddy(f, y, x, 0), ddx(f, y, x, 1), ddy(f, y, x, 1));
        }
        out[static_cast<index_t>(k) * area + i] = m;
    }
};

}  // namespace mefast::gpu
