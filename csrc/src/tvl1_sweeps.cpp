// The primal-dual sweeps of the CPU TV-L1 (tvl1_internal.hpp lists the files).

#include <cstddef>

#include "mefast/common.hpp"
#include "mefast/tvl1_pixel.hpp"
#include "tvl1_internal.hpp"

namespace mefast::tvl1::detail {
namespace {

// One row of the three components of a variable: of u, of the dual's x parts (p11, p21, p31) or of its y parts
// (p12, p22, p32). The third is null without kGamma. __restrict__: no two rows a sweep reads alias.
template <typename T>
struct Rows3 {
    T* MEFAST_RESTRICT c1;
    T* MEFAST_RESTRICT c2;
    T* MEFAST_RESTRICT c3;
};

// The rows at offset o of the planes c1, c2, c3 (c3 only with kGamma).
template <bool kGamma, typename T>
MEFAST_INLINE Rows3<T> rows3(T* c1, T* c2, T* c3, std::ptrdiff_t o) {
    return {c1 + o, c2 + o, kGamma ? c3 + o : nullptr};
}

// New primal variable of row y; returns the sum of squared changes over the row.
template <bool kGamma>
MEFAST_INLINE float primal_row(const State& s, int y) {
    const int w = s.w;
    const std::ptrdiff_t o = static_cast<std::ptrdiff_t>(y) * w;
    const float* MEFAST_RESTRICT ix = s.ix + o;
    const float* MEFAST_RESTRICT iy = s.iy + o;
    const float* MEFAST_RESTRICT gr = s.grad + o;
    const float* MEFAST_RESTRICT rc = s.rho_c + o;
    const Rows3<float> u = rows3<kGamma>(s.u1, s.u2, s.u3, o);
    const Rows3<const float> px = rows3<kGamma, const float>(s.p11, s.p21, s.p31, o);
    const Rows3<const float> py = rows3<kGamma, const float>(s.p12, s.p22, s.p32, o);
    // The y parts of the row above (zeros above row 0).
    const Rows3<const float> pyu = y > 0 ? rows3<kGamma, const float>(s.p12, s.p22, s.p32, o - w)
                                         : rows3<kGamma, const float>(s.zeros, s.zeros, s.zeros, 0);
    const float lt = s.lt, theta = s.theta, gamma = s.gamma;

    auto body = [&](int x, float p11l, float p21l, float p31l) {
        const float a1 = u.c1[x], a2 = u.c2[x], a3 = kGamma ? u.c3[x] : 0.0f;
        const float rho = rc[x] + ix[x] * a1 + iy[x] * a2 + (kGamma ? gamma * a3 : 0.0f);
        float d1, d2, d3;
        threshold(rho, gr[x], ix[x], iy[x], gamma, lt, d1, d2, d3);
        const float n1 = a1 + d1 + theta * (px.c1[x] - p11l + py.c1[x] - pyu.c1[x]);
        const float n2 = a2 + d2 + theta * (px.c2[x] - p21l + py.c2[x] - pyu.c2[x]);
        u.c1[x] = n1;
        u.c2[x] = n2;
        float e = (n1 - a1) * (n1 - a1) + (n2 - a2) * (n2 - a2);
        if constexpr (kGamma) {
            const float n3 = a3 + d3 + theta * (px.c3[x] - p31l + py.c3[x] - pyu.c3[x]);
            u.c3[x] = n3;
            e += (n3 - a3) * (n3 - a3);
        }
        return e;
    };
    // Whole rows in one vector loop: the left neighbour of x = 0 is read (the previous row's last value, or
    // the plane's front padding on row 0) and replaced by zero.
    float err = 0.0f;
#pragma omp simd reduction(+ : err)
    for (int x = 0; x < w; ++x) {
        const float l11 = px.c1[x - 1], l21 = px.c2[x - 1], l31 = kGamma ? px.c3[x - 1] : 0.0f;
        err += body(x, x > 0 ? l11 : 0.0f, x > 0 ? l21 : 0.0f, x > 0 ? l31 : 0.0f);
    }
    return err;
}

// Dual update of row y from the (already updated) primal rows y and y+1.
template <bool kGamma>
MEFAST_INLINE void dual_row(const State& s, int y) {
    const int w = s.w;
    const std::ptrdiff_t o = static_cast<std::ptrdiff_t>(y) * w;
    const std::ptrdiff_t od = y + 1 < s.h ? o + w : o;  // last row: zero vertical difference
    const Rows3<const float> u = rows3<kGamma, const float>(s.u1, s.u2, s.u3, o);
    const Rows3<const float> ud = rows3<kGamma, const float>(s.u1, s.u2, s.u3, od);
    const Rows3<float> px = rows3<kGamma>(s.p11, s.p21, s.p31, o);
    const Rows3<float> py = rows3<kGamma>(s.p12, s.p22, s.p32, o);
    const float taut = s.taut;
    // Whole rows in one vector loop: the right neighbour of x = w-1 is read (the next row's first value, or the
    // plane's back padding on the last row) and its difference replaced by zero.
#pragma omp simd
    for (int x = 0; x < w; ++x) {
        const bool in = x + 1 < w;
        const float r1 = u.c1[x + 1], r2 = u.c2[x + 1];
        dual_update(in ? r1 - u.c1[x] : 0.0f, ud.c1[x] - u.c1[x], taut, px.c1[x], py.c1[x]);
        dual_update(in ? r2 - u.c2[x] : 0.0f, ud.c2[x] - u.c2[x], taut, px.c2[x], py.c2[x]);
        if constexpr (kGamma) {
            const float r3 = u.c3[x + 1];
            dual_update(in ? r3 - u.c3[x] : 0.0f, ud.c3[x] - u.c3[x], taut, px.c3[x], py.c3[x]);
        }
    }
}

// The sweeps of one warp's inner loop, `for (i = 0; error > eps && i < n; ++i) error = sweep();` with sweep()
// the fused sweep above (primal row y, then dual row y-1, for y = 0 .. h-1, then dual row h-1), computed
// pipelined: up to kSweepDepth sweeps run at once, each a few rows behind the one before it, so a row's planes
// are used by all of them while they are in cache instead of being streamed from memory once per sweep (the ~10
// planes of a 1280x720 level are ~40 MB, more than the last-level cache; at 340x280 they fit, and the
// pipelining changes little). Every sweep does the same arithmetic on the same values in the same order as
// alone, so the result is bit for bit the loop's:
// * A sweep does primal row r once the sweep before it has done primal row r+1 and dual row r (its
//   `next` >= r+2): then every value it reads is the previous sweep's final one, and nothing the previous
//   sweep has still to read (rows r+1 and on) is overwritten.
// * A sweep starts only once the one before it is sure not to be the last: its error so far (a sum of
//   squares, in row order, so it only grows) already exceeds eps. Near convergence that happens late in the
//   sweep, and the sweeps run one after the other as before.
// Levels smaller than kPipelineMinPixels (whose planes stay in the caches anyway) run the sweeps one after the
// other: there, switching between the rows of several sweeps cost 1-4 % (interleaved A/B on 340x280 and 185x125
// pairs).
// error: the caller's error, > eps on entry; returns the last sweep's error.
constexpr int kSweepDepth = 4;
constexpr std::size_t kPipelineMinPixels = std::size_t{1} << 18;  // 512 x 512; ~10 MB of planes

// One sweep's progress through the rows (sweeps_impl).
struct SweepLane {
    int next = 0;      // the next primal row; h + 1 once the sweep is done (its last dual row included)
    double err = 0.0;  // its error so far
};

// Primal row lane.next, the dual row above it, and after the last row the last dual row. Always inlined, not a
// lambda: a lambda's body is a function of its own, compiled for the baseline target rather than for each of
// the caller's MEFAST_TARGET_CLONES.
template <bool kGamma>
MEFAST_INLINE void sweep_row(const State& s, SweepLane& lane) {
    const int y = lane.next;
    lane.err += static_cast<double>(primal_row<kGamma>(s, y));
    if (y > 0) dual_row<kGamma>(s, y - 1);
    if (++lane.next == s.h) {
        dual_row<kGamma>(s, s.h - 1);
        lane.next = s.h + 1;
    }
}

template <bool kGamma>
MEFAST_INLINE double sweeps_impl(const State& s, int n, double eps, double error) {
    const int done = s.h + 1;
    if (static_cast<std::size_t>(s.h) * static_cast<std::size_t>(s.w) < kPipelineMinPixels) {
        for (int i = 0; error > eps && i < n; ++i) {
            SweepLane lane;
            while (lane.next != done) sweep_row<kGamma>(s, lane);
            error = lane.err;
        }
        return error;
    }
    SweepLane lanes[kSweepDepth];
    int first = 0, active = 0, started = 0;  // the running sweeps, oldest first: lanes[(first + i) % kSweepDepth]
    for (;;) {
        const double newest = active > 0 ? lanes[(first + active - 1) % kSweepDepth].err : error;
        if (active < kSweepDepth && started < n && newest > eps) {
            lanes[(first + active++) % kSweepDepth] = SweepLane{};
            ++started;
        }
        if (active == 0) return error;
        sweep_row<kGamma>(s, lanes[first]);
        for (int i = 1; i < active; ++i) {
            SweepLane& lane = lanes[(first + i) % kSweepDepth];
            const int ahead = lanes[(first + i - 1) % kSweepDepth].next;
            while (lane.next != done && (ahead == done || lane.next + 2 <= ahead)) sweep_row<kGamma>(s, lane);
        }
        // (a sweep behind one that finished runs to its own end in the same step, so it may have finished too)
        while (active > 0 && lanes[first].next == done) {
            error = lanes[first].err;
            first = (first + 1) % kSweepDepth;
            --active;
        }
    }
}

}  // namespace

// One warp's inner loop (sweeps_impl), without and with the illumination term (tvl1_internal.hpp).
MEFAST_TARGET_CLONES double sweeps(const State& s, int n, double eps, double error) {
    return sweeps_impl<false>(s, n, eps, error);
}
MEFAST_TARGET_CLONES double sweeps_gamma(const State& s, int n, double eps, double error) {
    return sweeps_impl<true>(s, n, eps, error);
}

}  // namespace mefast::tvl1::detail
