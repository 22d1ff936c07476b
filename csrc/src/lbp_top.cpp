// LBP-TOP kernels. How the work is laid out:
// * A plan per clip shape holds the neighbour offsets, the code -> bin tables and the block membership of every
//   centre row, column and frame, so the hot loop only compares, looks up and counts.
// * Rounded sampling computes the codes of a whole row of centres per plane with the neighbour loop unrolled
//   (P known at compile time): branch-free compares and ors over contiguous memory that vectorise (32 voxels
//   per AVX2 op on uint8 frames). Bilinear sampling interpolates one neighbour at a time over the row, in
//   double, vectorised too.
// * meb mode rounds absolute coordinates, floor(c + offset + 0.5), as MEB does; paper mode rounds each offset once.
//   They differ only where an offset is a half-integer up to float noise (P = 6, 12 with R = 1, 3): there the plan
//   holds per-column, per-row and per-frame corrections (Plan::shift_x); a row's offsets take its row and frame
//   corrections before the same fast compare, and the few columns with a column correction are redone after it.
// * Each row's codes are mapped to bins once, then counted into the histograms of the blocks the row's runs of
//   pixels belong to. legacy (meb) membership: a pixel counts in its cur block and, if different, its new block.
//   rect (paper): in every block that contains it.
// * Frames of a clip are split among threads with a private histogram each; clips of a batch go one per thread.
#include "mefast/lbp_top.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace mefast::lbp {
namespace {

constexpr double kPi = 3.14159265358979323846;

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

std::string triple(const int v[3]) {
    std::ostringstream os;
    os << "(" << v[0] << ", " << v[1] << ", " << v[2] << ")";
    return os.str();
}

// Bins of mapping m for P points, as mapping_table() counts them, without building the table.
long long mapping_bins(int P, Mapping m) {
    if (m == Mapping::none) return 1LL << P;
    if (m == Mapping::u2) return static_cast<long long>(P) * (P - 1) + 3;
    return P + 2;  // riu2
}

// ---------------------------------------------------------------------------------------------------------
// Sampling geometry (spec 2.2): real offsets (dx, dy, dt) of neighbour p on plane q.

struct Offset3 {
    double dx, dy, dt;
};

Offset3 neighbour_offset(const Params& p, int q, int k) {
    // The angle as MEB and the Matlab code compute it: (2 pi k) / P.
    const double phi = (2.0 * kPi * k) / p.points[q];
    const double c = std::cos(phi), s = std::sin(phi);
    const double rx = p.radius[0], ry = p.radius[1], rt = p.radius[2];
    const bool orig = p.ordering == Ordering::orig;
    switch (q) {
        case 0: return {rx * c, -ry * s, 0.0};
        case 1: return orig ? Offset3{rx * c, 0.0, rt * s} : Offset3{rx * c, 0.0, -rt * s};
        default: return orig ? Offset3{0.0, -ry * s, rt * c} : Offset3{0.0, -rx * c, -rt * s};
    }
}

// MEB's rounding of one coordinate, as an offset from the centre (spec 2.3): floor(c + offset + 0.5) - c, in double
// and in numpy's order: the product offset = R cos(phi) is rounded before it is added to c (the volatile round
// trip keeps -ffp-contract=fast from fusing them into one multiply-add), then 0.5 is added.
double meb_rounded_offset(int c, double offset) {
    const volatile double o = offset;
    const double cd = static_cast<double>(c);
    return std::floor(cd + o + 0.5) - cd;
}

// meb mode, tap k of plane q whose offset d along axis a (0: x, 1: y, 2: t) is a half-integer up to float
// noise. Returns MEB's rounded offset at the last centre position along that axis, where c is large enough to
// absorb the noise (the rounding of most positions); where a position rounds otherwise (small c, within the first
// 30 positions for R <= 8), the difference in elements goes to the plan's shift table of that axis
// (Plan::shift_x).
double shift_positions(Plan& pl, int q, int k, int a, double d) {
    const int n[3] = {pl.Wi, pl.Hi, pl.Tc};
    const int first[3] = {pl.border + 1, pl.border + 1, pl.time_border};  // MEB's xc, yc (1-based) and i
    const std::ptrdiff_t stride[3] = {1, pl.W, static_cast<std::ptrdiff_t>(pl.H) * pl.W};
    std::vector<std::ptrdiff_t>& shift = a == 0 ? pl.shift_x : a == 1 ? pl.shift_y : pl.shift_t;
    const std::size_t tap = static_cast<std::size_t>(q * kMaxPoints + k) * n[a];
    const double base = meb_rounded_offset(first[a] + n[a] - 1, d);
    for (int i = 0; i < n[a] - 1; ++i) {
        const double delta = meb_rounded_offset(first[a] + i, d) - base;
        if (delta == 0.0) continue;
        if (shift.empty()) shift.assign(static_cast<std::size_t>(3 * kMaxPoints) * n[a], 0);
        shift[tap + i] = static_cast<std::ptrdiff_t>(delta) * stride[a];
        pl.shifted = true;
    }
    return base;
}

// scikit-image's snapping of sample positions: round to 5 decimals (removes 1e-16 residues of cos(pi/2)).
double snap5(double v) { return std::nearbyint(v * 1e5) / 1e5; }

// ---------------------------------------------------------------------------------------------------------
// Block membership (spec 2.6, 2.7)

struct Axis {
    int block = 0, over = 0, step = 0;
};

Axis block_axis(int n, int k, double overlap, bool clamp_over) {
    Axis a;
    const double noover = std::ceil(static_cast<double>(n) / k) - 1.0;
    double over = std::ceil(noover * overlap) - 1.0;
    if (clamp_over && over < 0.0) over = 0.0;
    a.over = static_cast<int>(over);
    a.block = static_cast<int>(std::floor(static_cast<double>(n + a.over * (k - 1)) / k));
    a.step = a.block - a.over;
    return a;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Parameters and mappings

void validate(const Params& p) {
    const char* names[3] = {"R_X", "R_Y", "R_T"};
    for (int i = 0; i < 3; ++i) {
        if (p.radius[i] < 1 || p.radius[i] > 64) {
            std::ostringstream os;
            os << "radius=" << triple(p.radius) << " is invalid: " << names[i] << " must be an integer in [1, 64]";
            fail(os.str());
        }
        if (p.points[i] < 3 || p.points[i] > kMaxPoints) {
            std::ostringstream os;
            os << "points=" << triple(p.points) << " is invalid: each plane needs 3 to " << kMaxPoints << " points";
            fail(os.str());
        }
    }
    if (p.rows < 1 || p.cols < 1 || p.rows > kMaxBlocks || p.cols > kMaxBlocks) {
        std::ostringstream os;
        os << "blocks=(" << p.rows << ", " << p.cols << ") is invalid: rows and cols must be in [1, " << kMaxBlocks
           << "]";
        fail(os.str());
    }
    if (p.time_blocks < 1 || p.time_blocks > kMaxBlocks)
        fail("time_blocks=" + std::to_string(p.time_blocks) + " is invalid: must be in [1, " +
             std::to_string(kMaxBlocks) + "]");
    if (!(p.overlap >= 0.0 && p.overlap < 1.0)) {
        std::ostringstream os;
        os << "overlap=" << p.overlap << " is invalid: must be in [0, 1)";
        fail(os.str());
    }
    const int m = static_cast<int>(p.mapping), s = static_cast<int>(p.sampling), o = static_cast<int>(p.ordering);
    const int md = static_cast<int>(p.mode), nz = static_cast<int>(p.normalize);
    if (m < 0 || m > 2) fail("unknown mapping code " + std::to_string(m));
    if (s < 0 || s > 1) fail("unknown sampling code " + std::to_string(s));
    if (o < 0 || o > 1) fail("unknown ordering code " + std::to_string(o));
    if (md < 0 || md > 1) fail("unknown mode code " + std::to_string(md));
    if (nz < 0 || nz > 3) fail("unknown normalize code " + std::to_string(nz));
    // Block and histogram indices are int (Plan::n_blocks, the CUDA histograms): both counts must fit.
    constexpr long long kMaxInt = std::numeric_limits<int>::max();
    const long long n_blocks = static_cast<long long>(p.time_blocks) * p.rows * p.cols;
    long long bins = 0;
    for (int q = 0; q < 3; ++q) bins = std::max(bins, mapping_bins(p.points[q], p.mapping));
    if (n_blocks > kMaxInt || n_blocks * 3 * bins > kMaxInt) {  // the product only when n_blocks <= INT_MAX: < 2^50
        std::ostringstream os;
        os << "blocks=(" << p.rows << ", " << p.cols << ") with time_blocks=" << p.time_blocks << " is invalid: "
           << n_blocks << " blocks";
        if (n_blocks <= kMaxInt) os << " of 3 x " << bins << " bins, a feature of " << n_blocks * 3 * bins << " values";
        os << "; at most " << kMaxInt << " are supported";
        fail(os.str());
    }
    if (p.mode == Mode::meb) {
        if (p.sampling == Sampling::bilinear)
            fail("sampling='bilinear' is not part of MEB's LBPTOP (it rounds every offset): use mode='paper'");
        if (p.points[2] > p.points[1]) {
            std::ostringstream os;
            os << "points=" << triple(p.points)
               << " cannot run in mode='reference': MEB maps YT codes with the XT table, so P_YT must not exceed P_XT";
            fail(os.str());
        }
    }
}

std::vector<std::uint16_t> mapping_table(int P, Mapping m, int* n_bins) {
    if (P < 3 || P > kMaxPoints) fail("mapping needs 3 to 16 points, got P=" + std::to_string(P));
    const std::uint32_t n = 1u << P;
    std::vector<std::uint16_t> t(n);
    if (m == Mapping::none) {
        for (std::uint32_t c = 0; c < n; ++c) t[c] = static_cast<std::uint16_t>(c);
        *n_bins = static_cast<int>(n);
    } else if (m == Mapping::u2) {
        const int last = P * (P - 1) + 2;
        int next = 0;
        for (std::uint32_t c = 0; c < n; ++c)
            t[c] = static_cast<std::uint16_t>(transitions(c, P) <= 2 ? next++ : last);
        *n_bins = last + 1;
    } else if (m == Mapping::riu2) {
        for (std::uint32_t c = 0; c < n; ++c)
            t[c] = static_cast<std::uint16_t>(transitions(c, P) <= 2 ? popcount16(c) : P + 1);
        *n_bins = P + 2;
    } else {
        fail("unknown mapping code " + std::to_string(static_cast<int>(m)));
    }
    return t;
}

int bins_per_plane(const Params& p) {
    int best = 0;
    for (int q = 0; q < 3; ++q) {
        int nb = 0;
        mapping_table(p.points[q], p.mapping, &nb);
        best = std::max(best, nb);
    }
    return best;
}

std::ptrdiff_t feature_length(const Params& p) {
    return static_cast<std::ptrdiff_t>(p.time_blocks) * p.rows * p.cols * 3 * bins_per_plane(p);
}

// ---------------------------------------------------------------------------------------------------------
// The plan

Plan make_plan(const Params& p, int T, int H, int W, const std::string& what) {
    validate(p);
    Plan pl;
    pl.p = p;
    pl.T = T;
    pl.H = H;
    pl.W = W;
    pl.border = std::max(p.radius[0], p.radius[1]);
    pl.time_border = p.radius[2];
    pl.Hi = H - 2 * pl.border;
    pl.Wi = W - 2 * pl.border;
    pl.Tc = T - 2 * pl.time_border;
    const bool meb = p.mode == Mode::meb;

    auto too_small = [&](const std::string& detail) {
        std::ostringstream os;
        os << what << " of shape (T, H, W) = (" << T << ", " << H << ", " << W << ") is too small for radius="
           << triple(p.radius) << ", blocks=(" << p.rows << ", " << p.cols << "), time_blocks=" << p.time_blocks;
        if (meb) os << " in mode='reference'";  // the Python name of Mode::meb
        os << ": " << detail;
        fail(os.str());
    };
    if (pl.Tc < p.time_blocks) {
        std::ostringstream os;
        os << "it needs at least " << 2LL * pl.time_border + p.time_blocks << " frames (" << pl.time_border
           << " border frames on each side and one centre frame per time block)";
        too_small(os.str());
    }
    if (pl.Hi < p.rows || pl.Wi < p.cols) {
        std::ostringstream os;
        os << "it needs at least " << 2LL * pl.border + p.rows << " x " << 2LL * pl.border + p.cols
           << " px (a border of " << pl.border << " px and one centre pixel per block)";
        too_small(os.str());
    }

    // Mapping tables.
    int nb[3];
    for (int q = 0; q < 3; ++q) pl.table[q] = mapping_table(p.points[q], p.mapping, &nb[q]);
    if (meb) pl.table[2] = pl.table[1];  // MEB indexes the YT histogram with code_xt
    pl.bins = std::max(nb[0], std::max(nb[1], nb[2]));
    pl.n_blocks = p.time_blocks * p.rows * p.cols;

    // Sampling offsets: the rounded offset of every tap, and the bilinear corners and weights.
    const std::ptrdiff_t sx = 1, sy = W, st = static_cast<std::ptrdiff_t>(H) * W;
    const bool absolute = meb && p.sampling == Sampling::rounded;
    for (int q = 0; q < 3; ++q) {
        for (int k = 0; k < p.points[q]; ++k) {
            const Offset3 o = neighbour_offset(p, q, k);
            // Rounded: floor(offset + 0.5). meb mode rounds the absolute coordinate instead; only an offset within
            // float noise of a half-integer (|offset - floor(offset + 0.5)| close to 0.5) can round differently at
            // different centres: the two sums of c + offset + 0.5 err by at most 2^-20 < 1e-6 for |c| < 2^31, so
            // a tap further than 1e-6 from a half-integer rounds as here at every centre.
            const double d[3] = {o.dx, o.dy, o.dt};
            double r[3];
            for (int a = 0; a < 3; ++a) {
                r[a] = std::floor(d[a] + 0.5);
                if (absolute && std::fabs(d[a] - r[a]) >= 0.5 - 1e-6) r[a] = shift_positions(pl, q, k, a, d[a]);
            }
            pl.off[q][k] = static_cast<std::ptrdiff_t>(r[2]) * st + static_cast<std::ptrdiff_t>(r[1]) * sy +
                           static_cast<std::ptrdiff_t>(r[0]) * sx;
            // Bilinear: outer axis a, inner axis b (XY: y, x; XT: t, x; YT: t, y).
            double va, vb;
            std::ptrdiff_t sa, sb;
            if (q == 0) {
                va = o.dy, vb = o.dx, sa = sy, sb = sx;
            } else if (q == 1) {
                va = o.dt, vb = o.dx, sa = st, sb = sx;
            } else {
                va = o.dt, vb = o.dy, sa = st, sb = sy;
            }
            va = snap5(va);
            vb = snap5(vb);
            const double fa0 = std::floor(va), fb0 = std::floor(vb);
            BilinearTap& tap = pl.taps[q][k];
            tap.fa = va - fa0;
            tap.fb = vb - fb0;
            const std::ptrdiff_t a0 = static_cast<std::ptrdiff_t>(fa0), b0 = static_cast<std::ptrdiff_t>(fb0);
            const std::ptrdiff_t a1 = a0 + (tap.fa > 0.0 ? 1 : 0), b1 = b0 + (tap.fb > 0.0 ? 1 : 0);
            tap.o00 = a0 * sa + b0 * sb;
            tap.o01 = a0 * sa + b1 * sb;
            tap.o10 = a1 * sa + b0 * sb;
            tap.o11 = a1 * sa + b1 * sb;
        }
    }

    // Spatial membership.
    auto spatial = [&](int n, int k, const char* axis, std::vector<int>& a, std::vector<int>& b) {
        const Axis g = block_axis(n, k, p.overlap, !meb);
        a.assign(n, 0);
        b.assign(n, 0);
        if (meb) {
            if (g.block < 1 || g.step < 1) {
                std::ostringstream os;
                os << "MEB's block geometry along " << axis << " gives block size " << g.block << " and step "
                   << g.step << " for " << n << " centre positions and " << k << " blocks (MEB divides by zero "
                   << "here); use fewer blocks, a larger overlap or mode='paper'";
                too_small(os.str());
            }
            for (int r = 0; r < n; ++r) {
                const double cur = std::min(legacy_cur(r, g.block, g.over), static_cast<double>(k - 1));
                const double nw = std::min(legacy_new(r, cur, g.block, g.over), static_cast<double>(k - 1));
                a[r] = static_cast<int>(cur);
                b[r] = static_cast<int>(nw);
            }
        } else {
            for (int r = 0; r < n; ++r) {
                int first = -1, last = -1;
                for (int blk = 0; blk < k; ++blk) {
                    const int s = blk * g.step;
                    const int e = blk == k - 1 ? n - 1 : s + g.block - 1;
                    if (r >= s && r <= e) {
                        if (first < 0) first = blk;
                        last = blk;
                    }
                }
                a[r] = first;
                b[r] = last;
            }
        }
    };
    spatial(pl.Hi, p.rows, "the rows", pl.row_a, pl.row_b);
    spatial(pl.Wi, p.cols, "the columns", pl.col_a, pl.col_b);

    // Temporal membership.
    pl.t_a.assign(pl.Tc, 0);
    pl.t_b.assign(pl.Tc, 0);
    const int nt = p.time_blocks;
    if (meb) {
        // MEB: BlockT from the whole clip and the *spatial* border, one frame of overlap (spec 2.7).
        const int block_t =
            static_cast<int>(std::floor(static_cast<double>(T - 2 * pl.border + (nt - 1)) / static_cast<double>(nt)));
        for (int rt = 0; rt < pl.Tc; ++rt) {
            double cur = legacy_cur_t(rt, block_t);
            if (cur >= nt) cur = nt - 1;
            double nw = legacy_new_t(rt, cur, block_t);
            if (nw >= nt) nw = nt - 1;
            if (!(cur >= 0.0) || !(nw >= 0.0)) {
                std::ostringstream os;
                os << "MEB's time partition is undefined here (BlockT = " << block_t << " gives time block "
                   << (cur >= 0.0 ? nw : cur) << " for centre frame " << rt + pl.time_border
                   << "; MEB would fail or index the wrong block); use fewer time_blocks, a longer clip or "
                      "mode='paper'";
                too_small(os.str());
            }
            pl.t_a[rt] = static_cast<int>(cur);
            pl.t_b[rt] = static_cast<int>(nw);
        }
        // A negative new block wraps once (numpy indexing); MEB raises IndexError below -n_blocks.
        const int min_t = *std::min_element(pl.t_b.begin(), pl.t_b.end());
        const int min_r = *std::min_element(pl.row_b.begin(), pl.row_b.end());
        const int min_c = *std::min_element(pl.col_b.begin(), pl.col_b.end());
        const long min_flat = static_cast<long>(min_t) * p.rows * p.cols + static_cast<long>(min_r) * p.cols + min_c;
        if (min_flat < -pl.n_blocks) {
            std::ostringstream os;
            os << "with overlap=" << p.overlap << " MEB's block formulas give block (" << min_t << ", " << min_r
               << ", " << min_c << "), which its histogram indexing rejects (IndexError); use a non-zero overlap, "
               << "more blocks or mode='paper'";
            too_small(os.str());
        }
    } else {
        const int block_t = pl.Tc / nt;
        for (int rt = 0; rt < pl.Tc; ++rt) pl.t_a[rt] = pl.t_b[rt] = std::min(rt / block_t, nt - 1);
    }
    return pl;
}

// ---------------------------------------------------------------------------------------------------------
// Hot loops

namespace {

// Codes of n consecutive centres on one plane with rounded offsets: out[x] = sum_k (c[x + off_k] >= c[x]) << k.
// With P known at compile time the neighbour loop unrolls and the pixel loop vectorises (contiguous loads,
// compares, shifts and ors; each code written once).
template <int P, class V, class C>
MEFAST_INLINE void code_row_fixed(const V* MEFAST_RESTRICT c, int n, const std::ptrdiff_t* off, C* MEFAST_RESTRICT out) {
    std::ptrdiff_t o[P];
    for (int k = 0; k < P; ++k) o[k] = off[k];
#pragma omp simd
    for (int x = 0; x < n; ++x) {
        const V centre = c[x];
        unsigned code = 0;
        for (int k = 0; k < P; ++k) code |= static_cast<unsigned>(c[x + o[k]] >= centre) << k;
        out[x] = static_cast<C>(code);
    }
}

// Any P: one pass over the row per neighbour.
template <class V, class C>
MEFAST_INLINE void code_row_any(const V* MEFAST_RESTRICT c, int n, const std::ptrdiff_t* off, int P,
                                C* MEFAST_RESTRICT out) {
    for (int x = 0; x < n; ++x) out[x] = 0;
    for (int k = 0; k < P; ++k) {
        const V* MEFAST_RESTRICT nb = c + off[k];
        for (int x = 0; x < n; ++x) out[x] = static_cast<C>(out[x] | (static_cast<unsigned>(nb[x] >= c[x]) << k));
    }
}

template <class V, class C>
MEFAST_INLINE void code_row_rounded(const V* c, int n, const std::ptrdiff_t* off, int P, C* out) {
    switch (P) {
        case 4: code_row_fixed<4>(c, n, off, out); break;
        case 6: code_row_fixed<6>(c, n, off, out); break;
        case 8: code_row_fixed<8>(c, n, off, out); break;
        case 12: code_row_fixed<12>(c, n, off, out); break;
        case 16: code_row_fixed<16>(c, n, off, out); break;
        default: code_row_any(c, n, off, P, out); break;
    }
}

// Bilinear sampling, one neighbour at a time over the row: the interpolation vectorises in double.
template <class V, class C>
MEFAST_INLINE void code_row_bilinear(const V* MEFAST_RESTRICT c, int n, const BilinearTap* taps, int P,
                                     C* MEFAST_RESTRICT out) {
    for (int x = 0; x < n; ++x) out[x] = 0;
    for (int k = 0; k < P; ++k) {
        const BilinearTap tap = taps[k];
#pragma omp simd
        for (int x = 0; x < n; ++x) out[x] = static_cast<C>(out[x] | (bilinear_bit(c + x, tap) << k));
    }
}

struct Run {
    int x0, x1;  // [x0, x1)
    int a, b;    // legacy: cur and new column block; rect: the column block (a == b)
};

std::vector<Run> column_runs(const Plan& pl) {
    std::vector<Run> runs;
    const int n = pl.Wi;
    if (pl.p.mode == Mode::meb) {
        int x0 = 0;
        for (int x = 1; x <= n; ++x) {
            if (x == n || pl.col_a[x] != pl.col_a[x0] || pl.col_b[x] != pl.col_b[x0]) {
                runs.push_back({x0, x, pl.col_a[x0], pl.col_b[x0]});
                x0 = x;
            }
        }
    } else {
        for (int blk = 0; blk < pl.p.cols; ++blk) {
            int x0 = -1, x1 = -1;
            for (int x = 0; x < n; ++x) {
                if (pl.col_a[x] <= blk && blk <= pl.col_b[x]) {
                    if (x0 < 0) x0 = x;
                    x1 = x + 1;
                }
            }
            runs.push_back({x0, x1, blk, blk});
        }
    }
    return runs;
}

// One clone-dispatched function per (input, code) type, so each plane's compare loop is compiled (and
// vectorised) for AVX-512, AVX2 and baseline x86-64 on its own.
#define MEFAST_LBP_ROWS(SUFFIX, V, C)                                                                          \
    MEFAST_TARGET_CLONES void code_row_##SUFFIX(const V* c, int n, const std::ptrdiff_t* off, int P, C* out) {  \
        code_row_rounded<V, C>(c, n, off, P, out);                                                           \
    }                                                                                                        \
    MEFAST_TARGET_CLONES void bilinear_row_##SUFFIX(const V* c, int n, const BilinearTap* taps, int P, C* out) { \
        code_row_bilinear<V, C>(c, n, taps, P, out);                                                         \
    }
MEFAST_LBP_ROWS(u8_c8, std::uint8_t, std::uint8_t)
MEFAST_LBP_ROWS(u8_c16, std::uint8_t, std::uint16_t)
MEFAST_LBP_ROWS(f32_c8, float, std::uint8_t)
MEFAST_LBP_ROWS(f32_c16, float, std::uint16_t)
#undef MEFAST_LBP_ROWS

inline void code_row(const std::uint8_t* c, int n, const std::ptrdiff_t* off, int P, std::uint8_t* out) {
    code_row_u8_c8(c, n, off, P, out);
}
inline void code_row(const std::uint8_t* c, int n, const std::ptrdiff_t* off, int P, std::uint16_t* out) {
    code_row_u8_c16(c, n, off, P, out);
}
inline void code_row(const float* c, int n, const std::ptrdiff_t* off, int P, std::uint8_t* out) {
    code_row_f32_c8(c, n, off, P, out);
}
inline void code_row(const float* c, int n, const std::ptrdiff_t* off, int P, std::uint16_t* out) {
    code_row_f32_c16(c, n, off, P, out);
}
inline void code_row(const std::uint8_t* c, int n, const BilinearTap* taps, int P, std::uint8_t* out) {
    bilinear_row_u8_c8(c, n, taps, P, out);
}
inline void code_row(const std::uint8_t* c, int n, const BilinearTap* taps, int P, std::uint16_t* out) {
    bilinear_row_u8_c16(c, n, taps, P, out);
}
inline void code_row(const float* c, int n, const BilinearTap* taps, int P, std::uint8_t* out) {
    bilinear_row_f32_c8(c, n, taps, P, out);
}
inline void code_row(const float* c, int n, const BilinearTap* taps, int P, std::uint16_t* out) {
    bilinear_row_f32_c16(c, n, taps, P, out);
}

// meb mode where some rounded offsets depend on the centre (Plan::shift_x, shift_y, shift_t). The columns where a
// tap's column offset differs from the row's, gathered once per call from the dense shift_x: columns near the
// left edge, where c + offset still carries the float noise.
struct ColumnFix {
    int x, k;
    std::ptrdiff_t shift;
};
struct ColumnFixes {
    std::vector<ColumnFix> fix;  // by plane, then tap, then column
    int begin[4] = {};           // plane q's fixes are fix[begin[q] .. begin[q + 1])
};

ColumnFixes column_fixes(const Plan& pl) {
    ColumnFixes f;
    for (int q = 0; q < 3; ++q) {
        f.begin[q] = static_cast<int>(f.fix.size());
        if (pl.shift_x.empty()) continue;
        for (int k = 0; k < pl.p.points[q]; ++k) {
            const std::ptrdiff_t* sx = pl.shift_x.data() + static_cast<std::size_t>(q * kMaxPoints + k) * pl.Wi;
            for (int x = 0; x < pl.Wi; ++x)
                if (sx[x] != 0) f.fix.push_back({x, k, sx[x]});
        }
    }
    f.begin[3] = static_cast<int>(f.fix.size());
    return f;
}

// Kept out of line: inlined, this rare path made the common row loop of accumulate() measurably slower.
#if defined(__GNUC__) || defined(__clang__)
#define MEFAST_LBP_OUT_OF_LINE __attribute__((noinline))
#else
#define MEFAST_LBP_OUT_OF_LINE
#endif

// One plane of a row with shifted offsets: the offsets of this row (its row and frame shifts added) through the
// same fast compare, then the bits of the column fixes redone.
template <class V, class C>
MEFAST_LBP_OUT_OF_LINE void shifted_row(const V* centre, const Plan& pl, const ColumnFixes& fixes, int q, int rt,
                                        int y, C* out) {
    const int P = pl.p.points[q];
    std::ptrdiff_t off[kMaxPoints] = {};
    for (int k = 0; k < P; ++k) {
        const std::size_t tap = static_cast<std::size_t>(q * kMaxPoints + k);
        off[k] = pl.off[q][k];
        if (!pl.shift_y.empty()) off[k] += pl.shift_y[tap * pl.Hi + y];
        if (!pl.shift_t.empty()) off[k] += pl.shift_t[tap * pl.Tc + rt];
    }
    code_row(centre, pl.Wi, off, P, out);
    for (int i = fixes.begin[q]; i < fixes.begin[q + 1]; ++i) {
        const ColumnFix& f = fixes.fix[static_cast<std::size_t>(i)];
        const unsigned b = bit(centre[f.x + off[f.k] + f.shift], centre[f.x]);
        out[f.x] = static_cast<C>((out[f.x] & ~(1u << f.k)) | (b << f.k));
    }
}

// Codes of the centre row y of centre frame rt (offsets from the first centre row and frame) on the three planes.
template <class V, class C>
void row_codes(const V* centre, const Plan& pl, const ColumnFixes& fixes, int rt, int y, C* code) {
    const int n = pl.Wi;
    for (int q = 0; q < 3; ++q) {
        C* out = code + static_cast<std::ptrdiff_t>(q) * n;
        if (pl.p.sampling == Sampling::bilinear)
            code_row(centre, n, pl.taps[q], pl.p.points[q], out);
        else if (pl.shifted)
            shifted_row(centre, pl, fixes, q, rt, y, out);
        else
            code_row(centre, n, pl.off[q], pl.p.points[q], out);
    }
}

MEFAST_INLINE void count_run(std::uint32_t* MEFAST_RESTRICT h, const std::uint32_t* MEFAST_RESTRICT b0,
                             const std::uint32_t* MEFAST_RESTRICT b1, const std::uint32_t* MEFAST_RESTRICT b2, int x0,
                             int x1) {
    for (int x = x0; x < x1; ++x) {
        ++h[b0[x]];
        ++h[b1[x]];
        ++h[b2[x]];
    }
}

inline int wrap_block(long blk, int n_blocks) { return static_cast<int>(blk < 0 ? blk + n_blocks : blk); }

// Histograms of centre frames [t0, t1) (offsets from the first centre frame) into hist (n_blocks * 3 * bins).
template <class V, class C>
void accumulate(const V* clip, const Plan& pl, int t0, int t1, std::uint32_t* hist) {
    const int n = pl.Wi, bins = pl.bins, R = pl.p.rows, Cc = pl.p.cols;
    const std::ptrdiff_t HW = static_cast<std::ptrdiff_t>(pl.H) * pl.W;
    const std::ptrdiff_t block_stride = 3 * static_cast<std::ptrdiff_t>(bins);
    const bool legacy = pl.p.mode == Mode::meb;
    const std::vector<Run> runs = column_runs(pl);
    const ColumnFixes fixes = column_fixes(pl);
    std::vector<C> code(3 * static_cast<std::size_t>(n));
    std::vector<std::uint32_t> bin(3 * static_cast<std::size_t>(n));
    const std::uint16_t* tab[3] = {pl.table[0].data(), pl.table[1].data(), pl.table[2].data()};
    const std::uint32_t* b0 = bin.data();
    const std::uint32_t* b1 = b0 + n;
    const std::uint32_t* b2 = b1 + n;

    for (int rt = t0; rt < t1; ++rt) {
        const int ta = pl.t_a[rt], tb = pl.t_b[rt];
        const V* frame = clip + static_cast<std::ptrdiff_t>(rt + pl.time_border) * HW;
        for (int y = 0; y < pl.Hi; ++y) {
            const V* centre = frame + static_cast<std::ptrdiff_t>(y + pl.border) * pl.W + pl.border;
            row_codes<V, C>(centre, pl, fixes, rt, y, code.data());
            for (int q = 0; q < 3; ++q) {
                const C* cq = code.data() + static_cast<std::ptrdiff_t>(q) * n;
                std::uint32_t* bq = bin.data() + static_cast<std::ptrdiff_t>(q) * n;
                const std::uint32_t base = static_cast<std::uint32_t>(q * bins);
                const std::uint16_t* tq = tab[q];
                for (int x = 0; x < n; ++x) bq[x] = base + tq[cq[x]];
            }
            const int ra = pl.row_a[y], rb = pl.row_b[y];
            if (legacy) {
                for (const Run& run : runs) {
                    const long blk_a = (static_cast<long>(ta) * R + ra) * Cc + run.a;
                    count_run(hist + blk_a * block_stride, b0, b1, b2, run.x0, run.x1);
                    if (tb != ta || rb != ra || run.b != run.a) {
                        const long blk_b = static_cast<long>(tb) * R * Cc + static_cast<long>(rb) * Cc + run.b;
                        count_run(hist + wrap_block(blk_b, pl.n_blocks) * block_stride, b0, b1, b2, run.x0, run.x1);
                    }
                }
            } else {
                for (int t = ta; t <= tb; ++t)
                    for (int r = ra; r <= rb; ++r)
                        for (const Run& run : runs) {
                            const long blk = (static_cast<long>(t) * R + r) * Cc + run.a;
                            count_run(hist + blk * block_stride, b0, b1, b2, run.x0, run.x1);
                        }
            }
        }
    }
}


template <class V, class C>
void compute_impl(const V* clip, const Plan& pl, int n_threads, float* out) {
    const std::ptrdiff_t D = static_cast<std::ptrdiff_t>(pl.n_blocks) * 3 * pl.bins;
    const int chunks = resolve_threads(n_threads, pl.Tc);
    std::vector<std::uint32_t> hist(static_cast<std::size_t>(chunks) * D, 0u);
    parallel_for(chunks, chunks, [&](std::ptrdiff_t k) {
        const int t0 = static_cast<int>(pl.Tc * k / chunks), t1 = static_cast<int>(pl.Tc * (k + 1) / chunks);
        accumulate<V, C>(clip, pl, t0, t1, hist.data() + k * D);
    });
    for (int k = 1; k < chunks; ++k)
        for (std::ptrdiff_t i = 0; i < D; ++i) hist[i] += hist[k * D + i];
    finalize(hist.data(), pl, out);
}

bool narrow_codes(const Plan& pl) {
    return std::max(pl.p.points[0], std::max(pl.p.points[1], pl.p.points[2])) <= 8;
}

}  // namespace

template <class V>
void compute(const V* clip, const Plan& plan, int n_threads, float* out) {
    if (narrow_codes(plan))
        compute_impl<V, std::uint8_t>(clip, plan, n_threads, out);
    else
        compute_impl<V, std::uint16_t>(clip, plan, n_threads, out);
}

template void compute<std::uint8_t>(const std::uint8_t*, const Plan&, int, float*);
template void compute<float>(const float*, const Plan&, int, float*);

void compute_batch(const ClipRef* clips, std::ptrdiff_t n, int n_threads, float* out) {
    if (n <= 0) return;
    const std::ptrdiff_t D = feature_length(clips[0].plan->p);
    auto one = [&](std::ptrdiff_t i, int threads) {
        const ClipRef& c = clips[i];
        if (c.is_uint8)
            compute(static_cast<const std::uint8_t*>(c.data), *c.plan, threads, out + i * D);
        else
            compute(static_cast<const float*>(c.data), *c.plan, threads, out + i * D);
    };
    const int nt = n_threads <= 0 ? hardware_threads() : n_threads;
    if (n >= nt) {
        parallel_for(n, nt, [&](std::ptrdiff_t i) { one(i, 1); });
    } else {
        for (std::ptrdiff_t i = 0; i < n; ++i) one(i, nt);
    }
}

template <class V>
void codes(const V* clip, const Plan& pl, std::uint16_t* out) {
    const int n = pl.Wi;
    const std::ptrdiff_t HW = static_cast<std::ptrdiff_t>(pl.H) * pl.W;
    std::vector<std::uint16_t> code(3 * static_cast<std::size_t>(n));
    const ColumnFixes fixes = column_fixes(pl);
    for (int rt = 0; rt < pl.Tc; ++rt) {
        for (int y = 0; y < pl.Hi; ++y) {
            const V* centre = clip + static_cast<std::ptrdiff_t>(rt + pl.time_border) * HW +
                              static_cast<std::ptrdiff_t>(y + pl.border) * pl.W + pl.border;
            row_codes<V, std::uint16_t>(centre, pl, fixes, rt, y, code.data());
            std::uint16_t* o = out + (static_cast<std::ptrdiff_t>(rt) * pl.Hi + y) * n * 3;
            for (int x = 0; x < n; ++x)
                for (int q = 0; q < 3; ++q) o[x * 3 + q] = code[static_cast<std::size_t>(q) * n + x];
        }
    }
}

template void codes<std::uint8_t>(const std::uint8_t*, const Plan&, std::uint16_t*);
template void codes<float>(const float*, const Plan&, std::uint16_t*);

void finalize(const std::uint32_t* hist, const Plan& pl, float* out) {
    const int bins = pl.bins, nb = pl.n_blocks;
    const std::ptrdiff_t D = static_cast<std::ptrdiff_t>(nb) * 3 * bins;
    auto sum = [&](std::ptrdiff_t from, std::ptrdiff_t count, std::ptrdiff_t stride, int n_seg) {
        double s = 0;
        for (int j = 0; j < n_seg; ++j)
            for (std::ptrdiff_t i = 0; i < count; ++i) s += hist[from + j * stride + i];
        return s;
    };
    auto scale = [&](std::ptrdiff_t from, std::ptrdiff_t count, std::ptrdiff_t stride, int n_seg, double s) {
        const double inv = s > 0 ? 1.0 / s : 0.0;
        for (int j = 0; j < n_seg; ++j)
            for (std::ptrdiff_t i = 0; i < count; ++i) {
                const std::ptrdiff_t k = from + j * stride + i;
                out[k] = static_cast<float>(hist[k] * inv);
            }
    };
    switch (pl.p.normalize) {
        case Normalize::none:
            for (std::ptrdiff_t k = 0; k < D; ++k) out[k] = static_cast<float>(hist[k]);
            break;
        case Normalize::per_block_plane:
            for (std::ptrdiff_t hq = 0; hq < static_cast<std::ptrdiff_t>(nb) * 3; ++hq)
                scale(hq * bins, bins, 0, 1, sum(hq * bins, bins, 0, 1));
            break;
        case Normalize::per_plane:
            for (int q = 0; q < 3; ++q)
                scale(static_cast<std::ptrdiff_t>(q) * bins, bins, 3 * static_cast<std::ptrdiff_t>(bins), nb,
                      sum(static_cast<std::ptrdiff_t>(q) * bins, bins, 3 * static_cast<std::ptrdiff_t>(bins), nb));
            break;
        case Normalize::global_l1:
            scale(0, D, 0, 1, sum(0, D, 0, 1));
            break;
    }
}

}  // namespace mefast::lbp
