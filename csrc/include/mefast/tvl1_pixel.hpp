// Per-pixel arithmetic of TV-L1 (Zach, Pock & Bischof 2007; Sanchez, Meinhardt-Llopis & Facciolo, IPOL 2013).
// Shared by the CPU loops (csrc/src/tvl1*.cpp) and the CUDA kernels (cuda/), so the CPU tests check the GPU math too.
#pragma once

#include <cmath>

#include "mefast/common.hpp"

namespace mefast::tvl1 {

/// Point-wise thresholding step (the TH operator): the data-term proximal step for one pixel.
/// rho = rho_c + Ix*u1 + Iy*u2 (+ gamma*u3) is the linearised residual; lt = lambda*theta.
/// Writes the increments (d1, d2, d3) so that v = u + d. Branch-free so loops vectorise.
MEFAST_HD void threshold(float rho, float grad, float ix, float iy, float gamma, float lt, float& d1,
                         float& d2, float& d3) {
    const float ltg = lt * grad;
    // The three cases of the TH operator; grad (|grad I|^2 + gamma^2) > eps guards the division.
    const float fi = grad > 1.1920929e-07f ? -rho / grad : 0.0f;
    const float s = rho < -ltg ? lt : (rho > ltg ? -lt : fi);
    d1 = s * ix;
    d2 = s * iy;
    d3 = s * gamma;
}

/// The linearised residual's constant with an illumination field u3 held fixed (on levels finer than
/// gamma_finest_level): the term gamma * u3 of rho moves into rho_c, and the level is solved without gamma.
MEFAST_HD float hold_illumination(float rho_c, float gamma, float u3) { return rho_c + gamma * u3; }

/// Projected dual ascent for one component pair: p <- (p + taut * du) / (1 + taut * |du|).
MEFAST_HD void dual_update(float dx, float dy, float taut, float& px, float& py) {
    const float inv = 1.0f / (1.0f + taut * std::sqrt(dx * dx + dy * dy));
    px = (px + taut * dx) * inv;
    py = (py + taut * dy) * inv;
}

/// Cubic convolution weights (Keys' kernel with a = -0.75, OpenCV's INTER_CUBIC) for a fractional offset
/// t in [0, 1): taps at -1, 0, 1, 2. This kernel, sharper than Catmull-Rom (a = -0.5), is what makes the
/// warps match OpenCV's DualTVL1 (and it gives the lower endpoint error of the two on face images).
MEFAST_HD void cubic_weights(float t, float w[4]) {
    constexpr float a = -0.75f;
    const float s = 1.0f - t;
    // |x| <= 1: (a+2)|x|^3 - (a+3)|x|^2 + 1;  1 < |x| < 2: a|x|^3 - 5a|x|^2 + 8a|x| - 4a.
    const float u = 1.0f + t, r = 2.0f - t;
    w[0] = ((a * u - 5.0f * a) * u + 8.0f * a) * u - 4.0f * a;
    w[1] = ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;
    w[2] = ((a + 2.0f) * s - (a + 3.0f)) * s * s + 1.0f;
    w[3] = ((a * r - 5.0f * a) * r + 8.0f * a) * r - 4.0f * a;
}

/// Source sample i and weight a of output sample x of a linear resize with pixel-centre alignment (cv::resize
/// INTER_LINEAR; scale = source size / output size, n source samples): clamped at 0, the last sample repeated past
/// the far border. Shared by resize_linear() in tvl1_resample.cpp and the CUDA ResizeOp.
MEFAST_HD void linear_tap(int x, float scale, int n, int& i, float& a) {
    float f = (static_cast<float>(x) + 0.5f) * scale - 0.5f;
    f = f < 0.0f ? 0.0f : f;
    i = static_cast<int>(f);
    a = f - static_cast<float>(i);
    if (i >= n - 1) {
        i = n - 1;
        a = 0.0f;
    }
}

/// Clamp an index to [0, n-1] (replicated border).
MEFAST_HD int clamp_index(int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

}  // namespace mefast::tvl1
