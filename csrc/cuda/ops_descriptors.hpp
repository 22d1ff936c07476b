// Per-element operations of LBP-TOP and TIM on the GPU, twins of csrc/src/lbp_top.cpp and csrc/src/tim.cpp built
// on the shared per-pixel math (mefast/lbp_pixel.hpp, mefast/tim.hpp). Same conventions as ops_tvl1.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mefast/lbp_pixel.hpp"
#include "mefast/lbp_top.hpp"
#include "mefast/tim.hpp"
#include "ops_common.hpp"

namespace mefast::gpu {

/// Count one voxel in a histogram bin: an atomic add on the device, a plain one in the sequential emulation.
MEFAST_HD void count_bin(std::uint32_t* h) {
#if defined(__CUDA_ARCH__)
    atomicAdd(h, 1u);
#else
    ++*h;
#endif
}

/// The shape-dependent part of an lbp::Plan that the kernel needs by value (offsets and bilinear taps).
struct LbpGeometry {
    int H, W, border, time_border, Hi, Wi, Tc;
    int bins, rows, cols, n_blocks;
    int points[3];
    bool bilinear, legacy;
    std::ptrdiff_t off[3][lbp::kMaxPoints];
    lbp::BilinearTap taps[3][lbp::kMaxPoints];
};

/// Codes of one centre voxel on the three planes, mapped to bins, counted in every block the voxel belongs to
/// (accumulate() in lbp_top.cpp). Item k = centre frame offset rt, element i = y * Wi + x.
template <class V>
struct LbpTopOp {
    const V* clip;
    const std::uint16_t* table[3];
    const int* row_a;
    const int* row_b;
    const int* col_a;
    const int* col_b;
    const int* t_a;
    const int* t_b;
    std::uint32_t* hist;  // n_blocks * 3 * bins
    LbpGeometry g;
    // meb mode: what the centre's column, row and frame add to a rounded offset (lbp::Plan::shift_x, shift_y,
    // shift_t); null where the plan's vector is empty.
    const std::ptrdiff_t* shift_x;
    const std::ptrdiff_t* shift_y;
    const std::ptrdiff_t* shift_t;

    MEFAST_HD std::ptrdiff_t offset(int q, int k, int x, int y, int rt) const {
        const std::ptrdiff_t tap = static_cast<std::ptrdiff_t>(q) * lbp::kMaxPoints + k;
        std::ptrdiff_t o = g.off[q][k];
        if (shift_x != nullptr) o += shift_x[tap * g.Wi + x];
        if (shift_y != nullptr) o += shift_y[tap * g.Hi + y];
        if (shift_t != nullptr) o += shift_t[tap * g.Tc + rt];
        return o;
    }

    MEFAST_HD void count(long blk, const std::uint32_t (&bin)[3]) const {
        std::uint32_t* h = hist + blk * 3 * static_cast<long>(g.bins);
        count_bin(h + bin[0]);
        count_bin(h + bin[1]);
        count_bin(h + bin[2]);
    }

    MEFAST_HD void operator()(int rt, int i) const {
        const int y = i / g.Wi, x = i - y * g.Wi;
        const std::ptrdiff_t HW = static_cast<std::ptrdiff_t>(g.H) * g.W;
        const V* c = clip + static_cast<std::ptrdiff_t>(rt + g.time_border) * HW +
                     static_cast<std::ptrdiff_t>(y + g.border) * g.W + (x + g.border);
        std::uint32_t bin[3];
        for (int q = 0; q < 3; ++q) {
            std::uint32_t code = 0;
            if (g.bilinear) {
                for (int k = 0; k < g.points[q]; ++k) code |= lbp::bilinear_bit(c, g.taps[q][k]) << k;
            } else {
                for (int k = 0; k < g.points[q]; ++k) code |= lbp::bit(c[offset(q, k, x, y, rt)], c[0]) << k;
            }
            bin[q] = static_cast<std::uint32_t>(q * g.bins) + table[q][code];
        }
        const int ta = t_a[rt], tb = t_b[rt], ra = row_a[y], rb = row_b[y], ca = col_a[x], cb = col_b[x];
        const long R = g.rows, C = g.cols;
        if (g.legacy) {  // MEB: the cur block, and the new block when it differs (a negative one wraps once)
            count((ta * R + ra) * C + ca, bin);
            if (tb != ta || rb != ra || cb != ca) {
                const long b = tb * R * C + rb * C + cb;
                count(b < 0 ? b + g.n_blocks : b, bin);
            }
        } else {  // every block containing the voxel
            for (int t = ta; t <= tb; ++t)
                for (int r = ra; r <= rb; ++r)
                    for (int cc = ca; cc <= cb; ++cc) count((t * R + r) * C + cc, bin);
        }
    }
};

MEFAST_HD double tim_in(std::uint8_t v) { return static_cast<double>(static_cast<std::int32_t>(v)); }
MEFAST_HD double tim_in(float v) { return static_cast<double>(v); }
MEFAST_HD double tim_in(double v) { return v; }
MEFAST_HD void tim_out(double v, float* o) { *o = static_cast<float>(v); }
MEFAST_HD void tim_out(double v, std::uint8_t* o) { *o = tim::to_uint8(v); }

/// Output frames 4k .. 4k+3 of TIM at element e: sum_i Kp[i, j] x[i, e] in double, i ascending (tile_full() in
/// tim.cpp). Kp is the weight matrix padded to nj (a multiple of 4) columns with zeros.
template <class In, class Out>
struct TimOp {
    const In* x;
    const double* Kp;
    Out* out;
    int n, nj, n_out;
    index_t d;

    MEFAST_HD void operator()(int k, int e) const {
        const int j0 = 4 * k;
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
        const double* kr = Kp + j0;
        for (int i = 0; i < n; ++i, kr += nj) {
            const double v = tim_in(x[static_cast<index_t>(i) * d + e]);
            a0 += kr[0] * v;
            a1 += kr[1] * v;
            a2 += kr[2] * v;
            a3 += kr[3] * v;
        }
        const double acc[4] = {a0, a1, a2, a3};
        for (int jj = 0; jj < 4 && j0 + jj < n_out; ++jj) tim_out(acc[jj], out + static_cast<index_t>(j0 + jj) * d + e);
    }
};

}  // namespace mefast::gpu
