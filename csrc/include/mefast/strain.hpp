// Optical strain magnitude of a flow field (Shreve et al.; see shared spec section 1).
#pragma once

#include <cmath>
#include <cstddef>

#include "mefast/common.hpp"

namespace mefast::strain {

enum class Scheme : int {
    central = 0,    // numpy.gradient: centred inside, one-sided first differences on the border
    backward = 1,   // f[i] - f[i-1], first row/column 0 (MEAN's computeStrain)
    sobel_meb = 2,  // MEB: unnormalised Sobel, zero padding, swapped axes and its shear term
};

/// |eps| = sqrt(u_x^2 + v_y^2 + 0.5 (u_y + v_x)^2): the Frobenius norm of the symmetric gradient.
MEFAST_HD float magnitude(float ux, float uy, float vx, float vy) {
    const float s = uy + vx;
    return std::sqrt(ux * ux + vy * vy + 0.5f * s * s);
}

/// MEB's formula on its (axis-swapped) Sobel responses a=S0(u), b=S1(u), c=S0(v), d=S1(v).
MEFAST_HD float magnitude_meb(float a, float b, float c, float d) {
    return std::sqrt(a * a + d * d + 0.5f * (b * b + c * c));
}

/// flows: n fields of h x w x 2 (u, v). out: n x h x w. Requires h, w >= 2.
void compute(const float* flows, std::ptrdiff_t n, int h, int w, Scheme scheme, int n_threads, float* out);

}  // namespace mefast::strain
