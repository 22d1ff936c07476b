// Resampling for the CPU TV-L1: pyramid levels and upsampled flows (tvl1_internal.hpp lists the files).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "mefast/common.hpp"
#include "mefast/tvl1_pixel.hpp"
#include "tvl1_internal.hpp"

namespace mefast::tvl1::detail {

// Bilinear resize with pixel-centre alignment (cv::resize INTER_LINEAR), replicated border. Each output row is
// first blended vertically over the whole source row (vectorised), then sampled horizontally.
MEFAST_TARGET_CLONES void resize_linear(const float* src, int sh, int sw, float* dst, int dh, int dw) {
    const float sy_scale = static_cast<float>(sh) / static_cast<float>(dh);
    const float sx_scale = static_cast<float>(sw) / static_cast<float>(dw);
    std::vector<int> x0(static_cast<std::size_t>(dw)), x1(static_cast<std::size_t>(dw));
    std::vector<float> ax(static_cast<std::size_t>(dw)), row(static_cast<std::size_t>(sw));
    for (int x = 0; x < dw; ++x) {
        int i = 0;
        float a = 0.0f;
        linear_tap(x, sx_scale, sw, i, a);
        x0[x] = i;
        x1[x] = std::min(i + 1, sw - 1);
        ax[x] = a;
    }
    float* MEFAST_RESTRICT rb = row.data();
    for (int y = 0; y < dh; ++y) {
        int j = 0;
        float b = 0.0f;
        linear_tap(y, sy_scale, sh, j, b);
        const float* MEFAST_RESTRICT r0 = src + static_cast<std::ptrdiff_t>(j) * sw;
        const float* MEFAST_RESTRICT r1 = src + static_cast<std::ptrdiff_t>(std::min(j + 1, sh - 1)) * sw;
        for (int x = 0; x < sw; ++x) rb[x] = r0[x] + b * (r1[x] - r0[x]);
        float* out = dst + static_cast<std::ptrdiff_t>(y) * dw;
        for (int x = 0; x < dw; ++x) out[x] = rb[x0[x]] + ax[x] * (rb[x1[x]] - rb[x0[x]]);
    }
}

// Separable Gaussian blur (radius ceil(3 sigma), replicated border), in place; tmp holds h * w floats.
// Both passes loop over taps outside and pixels inside, so the pixel loops vectorise.
MEFAST_TARGET_CLONES void gaussian_blur(float* img, int h, int w, float sigma, float* tmp) {
    if (!(sigma > 0.0f)) return;
    const int r = std::max(1, static_cast<int>(std::ceil(3.0f * sigma)));
    std::vector<float> k(static_cast<std::size_t>(2 * r + 1));
    float sum = 0.0f;
    for (int i = -r; i <= r; ++i) {
        k[i + r] = std::exp(-0.5f * static_cast<float>(i * i) / (sigma * sigma));
        sum += k[i + r];
    }
    for (auto& v : k) v /= sum;
    std::vector<float> line(static_cast<std::size_t>(w + 2 * r));
    float* MEFAST_RESTRICT ln = line.data();
    for (int y = 0; y < h; ++y) {
        const float* row = img + static_cast<std::ptrdiff_t>(y) * w;
        for (int x = 0; x < r; ++x) {
            ln[x] = row[0];
            ln[w + r + x] = row[w - 1];
        }
        std::copy(row, row + w, ln + r);
        float* MEFAST_RESTRICT out = tmp + static_cast<std::ptrdiff_t>(y) * w;
        for (int x = 0; x < w; ++x) out[x] = k[0] * ln[x];
        for (int i = 1; i <= 2 * r; ++i) {
            const float kv = k[i];
            for (int x = 0; x < w; ++x) out[x] += kv * ln[x + i];
        }
    }
    for (int y = 0; y < h; ++y) {
        float* MEFAST_RESTRICT out = img + static_cast<std::ptrdiff_t>(y) * w;
        const float* MEFAST_RESTRICT first = tmp + static_cast<std::ptrdiff_t>(clamp_index(y - r, h)) * w;
        for (int x = 0; x < w; ++x) out[x] = k[0] * first[x];
        for (int i = 1; i <= 2 * r; ++i) {
            const float* MEFAST_RESTRICT src = tmp + static_cast<std::ptrdiff_t>(clamp_index(y - r + i, h)) * w;
            const float kv = k[i];
            for (int x = 0; x < w; ++x) out[x] += kv * src[x];
        }
    }
}

}  // namespace mefast::tvl1::detail
