// Per-pixel and per-level arithmetic of Eulerian video magnification (Wu et al., SIGGRAPH 2012; the shared spec
// magnification-spotting.md section 1). Written once for the CPU loops (evm.cpp) and for a CUDA path.
#pragma once

#include <cmath>

#include "mefast/common.hpp"

namespace mefast::evm {

/// Reflect-101 border (OpenCV BORDER_REFLECT_101, matlabPyrTools 'reflect1'): ... 2 1 | 0 1 2 ... n-1 | n-2 ...
MEFAST_HD int reflect101(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) {
        if (i < 0) i = -i;
        if (i >= n) i = 2 * n - 2 - i;
    }
    return i;
}

/// Size of the next pyramid level: the even samples of n, ceil(n / 2).
MEFAST_HD int half_up(int n) { return (n + 1) / 2; }

/// Tap k (0..4) of the binomial kernel [1 4 6 4 1] / 16.
MEFAST_HD float binom5(int k) { return k == 2 ? 0.375f : (k == 1 || k == 3 ? 0.25f : 0.0625f); }

/// One step of the reference code's IIR pair: two first-order low-passes y <- y + r (x - y); band = y1 - y2.
MEFAST_HD float iir_step(float x, float r1, float r2, float& y1, float& y2) {
    y1 += r1 * (x - y1);
    y2 += r2 * (x - y2);
    return y1 - y2;
}

/// One step of a first-order IIR low-pass y[n] = b0 x[n] + b1 x[n-1] - a1 y[n-1] (a0 = 1).
MEFAST_HD float lowpass1_step(float x, float xprev, float y, float b0, float b1, float a1) {
    return b0 * x + b1 * xprev - a1 * y;
}

/// First-order Butterworth low-pass of normalised cutoff wn in (0, 1) (1 = Nyquist) by the bilinear transform,
/// as MATLAB's butter(1, wn): b0 = b1 = K / (1 + K), a1 = (K - 1) / (K + 1) with K = tan(pi wn / 2).
MEFAST_HD void butter1_lowpass(double wn, double& b0, double& b1, double& a1) {
    const double k = std::tan(3.14159265358979323846 * wn / 2.0);
    b0 = k / (1.0 + k);
    b1 = b0;
    a1 = (k - 1.0) / (k + 1.0);
}

/// The attenuated amplification of one Laplacian band of representative wavelength lambda (pixels) [M]:
/// min(alpha, exaggeration * ((1 + alpha) lambda / lambda_c - 1)), clamped at 0.
MEFAST_HD float band_alpha(double lambda, double alpha, double lambda_c, double exaggeration) {
    double a = exaggeration * ((1.0 + alpha) * lambda / lambda_c - 1.0);
    if (a > alpha) a = alpha;
    if (a < 0.0) a = 0.0;
    return static_cast<float>(a);
}

/// RGB -> YIQ (MATLAB rgb2ntsc).
MEFAST_HD void rgb_to_yiq(float r, float g, float b, float& y, float& i, float& q) {
    y = 0.299f * r + 0.587f * g + 0.114f * b;
    i = 0.596f * r - 0.274f * g - 0.322f * b;
    q = 0.211f * r - 0.523f * g + 0.312f * b;
}

/// YIQ -> RGB (MATLAB ntsc2rgb: the inverse of the rgb2ntsc matrix, computed in double and rounded).
MEFAST_HD void yiq_to_rgb(float y, float i, float q, float& r, float& g, float& b) {
    r = y + 0.95617069f * i + 0.62143257f * q;
    g = y - 0.27268860f * i - 0.64681324f * q;
    b = y - 1.10374408f * i + 1.70062309f * q;
}

/// Keys cubic-convolution weights with a = -0.5 (MATLAB imresize 'bicubic') for fractional offset t in [0, 1),
/// taps at -1, 0, 1, 2.
MEFAST_HD void keys_weights(float t, float w[4]) {
    const float t2 = t * t, t3 = t2 * t;
    w[0] = -0.5f * t3 + t2 - 0.5f * t;
    w[1] = 1.5f * t3 - 2.5f * t2 + 1.0f;
    w[2] = -1.5f * t3 + 2.0f * t2 + 0.5f * t;
    w[3] = 0.5f * t3 - 0.5f * t2;
}

/// Clip to [lo, hi].
MEFAST_HD float clampf(float v, float lo, float hi) {
    const float a = v > lo ? v : lo;  // branch-free (maxss / minss)
    return a < hi ? a : hi;
}

}  // namespace mefast::evm
