// Per-pixel LBP-TOP math (shared spec section 2), written once for the CPU loops and the CUDA kernels:
// the bit test, bilinear sampling with its tie rule, the u2/riu2 pattern tests and the 1-D block membership
// formulas of Zhao's block code (which MEB ports).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "mefast/common.hpp"

namespace mefast::lbp {

/// Bit of one neighbour: 1 iff neighbour >= centre (ties count as 1).
template <class V>
MEFAST_HD std::uint32_t bit(V neighbour, V centre) {
    return neighbour >= centre ? 1u : 0u;
}

/// Number of set bits of a code (P <= 16 here; a loop keeps it identical on host and device).
MEFAST_HD int popcount16(std::uint32_t v) {
    int n = 0;
    for (; v != 0u; v &= v - 1u) ++n;
    return n;
}

/// U(code): number of 0/1 transitions in the circular P-bit string (Ojala et al. 2002).
MEFAST_HD int transitions(std::uint32_t code, int P) {
    const std::uint32_t mask = (1u << P) - 1u;
    const std::uint32_t rot = ((code << 1) | (code >> (P - 1))) & mask;
    return popcount16((code ^ rot) & mask);
}

/// One bilinearly interpolated neighbour: four corners (offsets from the centre, in elements) and the
/// fractional position along the outer axis (fa) and the inner axis (fb).
struct BilinearTap {
    std::ptrdiff_t o00, o01, o10, o11;  // (floor a, floor b), (floor a, ceil b), (ceil a, floor b), (ceil a, ceil b)
    double fa, fb;
};

/// Interpolated value of one tap, in double; with fa = fb = 0 it is the corner value exactly.
/// Same expression order as scikit-image's bilinear_interpolation (rows outer, columns inner).
template <class V>
MEFAST_HD double bilinear_value(const V* centre, const BilinearTap& t) {
    const double top = (1.0 - t.fb) * static_cast<double>(centre[t.o00]) + t.fb * static_cast<double>(centre[t.o01]);
    const double bot = (1.0 - t.fb) * static_cast<double>(centre[t.o10]) + t.fb * static_cast<double>(centre[t.o11]);
    return (1.0 - t.fa) * top + t.fa * bot;
}

/// Bit of a bilinear tap. An exact tie (interpolated value == centre, which integer-valued frames produce when
/// symmetric neighbours cancel) must count as 1; double rounding noise would otherwise decide it. Differences
/// below 2^-44 of the magnitudes involved are taken as ties: far above the rounding noise (~2^-51), far below
/// any genuine difference of 8-bit or float32 data.
template <class V>
MEFAST_HD std::uint32_t bilinear_bit(const V* centre, const BilinearTap& t) {
    const double c = static_cast<double>(centre[0]);
    const double v = bilinear_value(centre, t);
    const double scale = std::fabs(static_cast<double>(centre[t.o00])) + std::fabs(static_cast<double>(centre[t.o01])) +
                         std::fabs(static_cast<double>(centre[t.o10])) + std::fabs(static_cast<double>(centre[t.o11])) +
                         std::fabs(c);
    return (v - c) >= -scale * 0x1p-44 ? 1u : 0u;
}

// ---------------------------------------------------------------------------------------------------------
// Block membership of Zhao's block code (LBPTOP-block, MEB), spec 2.6 and 2.7. Arithmetic in double, as the
// references do it, so the rare non-integer steps round the same way.

/// First ("cur") block of inner position r (0-based) along one spatial axis, before clamping.
MEFAST_HD double legacy_cur(int r, int block, int over) {
    if (r - block < 0) return 0.0;
    return std::floor(static_cast<double>(r - block) / static_cast<double>(block - over) + 1.0);
}

/// Second ("new") block of inner position r given its clamped cur block, before clamping.
MEFAST_HD double legacy_new(int r, double cur, int block, int over) {
    return std::ceil((static_cast<double>(r + 1) + (cur + 1.0) * static_cast<double>(over)) / static_cast<double>(block)) -
           1.0;
}

/// First time block of centre frame offset r_t (0-based), before clamping; one frame of overlap.
MEFAST_HD double legacy_cur_t(int rt, int block_t) {
    if (rt - block_t < 0) return 0.0;
    return std::ceil(static_cast<double>(rt - block_t) / static_cast<double>(block_t - 1) + 1.0) - 1.0;
}

/// Second time block of centre frame offset r_t given its clamped cur block, before clamping.
MEFAST_HD double legacy_new_t(int rt, double cur_t, int block_t) {
    return std::ceil((static_cast<double>(rt) + (cur_t + 1.0)) / static_cast<double>(block_t)) - 1.0;
}

}  // namespace mefast::lbp
