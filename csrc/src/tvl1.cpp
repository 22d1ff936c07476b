// TV-L1 optical flow, CPU: pyramids, the coarse-to-fine solve, warm starts and the public entry points. See
// tvl1.hpp for the contract, tvl1_pixel.hpp for the per-pixel math, and tvl1_internal.hpp for the other files.
//
// Where the time goes and what the files do about it:
// * The primal-dual iteration is one fused sweep per iteration (tvl1_sweeps.cpp): row y gets its new u
//   (thresholding, divergence of p, update, squared change for the stopping test) and then row y-1 gets its dual
//   update, which needs the new u of rows y-1 and y. Every value is read before it is overwritten, so the sweep is
//   exactly the textbook iteration, with ~10 float planes streamed once instead of ~40 array passes. The
//   sweeps of a warp are pipelined, a few rows apart, so that on frames larger than the cache each row is
//   fetched once for several sweeps (sweeps_impl).
// * Loops are written branch-free over whole rows so they vectorise (the sweep's planes are padded so that the
//   neighbours past a row's ends can be read and discarded, leaving no scalar remainder on power-of-two widths);
//   they are compiled for AVX-512, AVX2+FMA and baseline x86-64, dispatched at load time (MEFAST_TARGET_CLONES).
// * Warping (tvl1_warp.cpp) samples I1 and its gradient with one set of bicubic weights from an interleaved
//   4-channel image: per row, the positions and weights of all pixels in one vector loop, then per pixel one
//   16-float load per row of taps.
// * Each frame's pyramid is built once (Pyramid), so the pairs of compute_from_reference share the reference's;
//   there a warm start replaces the pyramid of every frame but the first of a run by the previous flow.
// * The median filter (tvl1_median.cpp) sorts window columns once per row and then runs a pruned selection
//   network (median_networks.hpp) across lanes.

#include "mefast/tvl1.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "mefast/common.hpp"
#include "tvl1_internal.hpp"

namespace mefast::tvl1 {
namespace {

using namespace detail;

// One pair, all scales

// One frame at every pyramid level: level 0 is the (pre-smoothed) frame, level s is level s-1 (anti-aliased,
// when p.pyramid_smoothing) resized by scale_step. Built once per frame, so a reference frame's pyramid can be
// shared by all the pairs that start from it.
struct Pyramid {
    struct Image {
        int h = 0, w = 0;
        Plane I;
    };
    std::vector<Image> levels;

    // Levels 0 .. nlevels-1 of the h x w image `in`; blur_a and tmp hold h * w floats each.
    void build(const float* in, int h, int w, const Params& p, int nlevels, float* blur_a, float* tmp) {
        const std::size_t npx = static_cast<std::size_t>(h) * w;
        if (levels.size() < static_cast<std::size_t>(nlevels)) levels.resize(static_cast<std::size_t>(nlevels));
        levels[0].h = h;
        levels[0].w = w;
        levels[0].I.assign(in, in + npx);
        if (p.presmooth_sigma > 0.0f) gaussian_blur(levels[0].I.data(), h, w, p.presmooth_sigma, tmp);
        const float aa_sigma =
            p.pyramid_smoothing ? 0.6f * std::sqrt(1.0f / (p.scale_step * p.scale_step) - 1.0f) : 0.0f;
        for (int s = 1; s < nlevels; ++s) {
            const Image& prev = levels[s - 1];
            Image& cur = levels[s];
            cur.h = static_cast<int>(std::lround(prev.h * static_cast<double>(p.scale_step)));
            cur.w = static_cast<int>(std::lround(prev.w * static_cast<double>(p.scale_step)));
            cur.I.resize(static_cast<std::size_t>(cur.h) * cur.w);
            const float* src = prev.I.data();
            if (aa_sigma > 0.0f) {
                std::copy_n(prev.I.data(), static_cast<std::size_t>(prev.h) * prev.w, blur_a);
                gaussian_blur(blur_a, prev.h, prev.w, aa_sigma, tmp);
                src = blur_a;
            }
            resize_linear(src, prev.h, prev.w, cur.I.data(), cur.h, cur.w);
        }
    }
};

// Every buffer one pair needs, sized for the finest level and reused by all levels and, in a batch, by all
// the pairs one thread computes (so a batch allocates and faults in its memory once per thread).
struct Workspace {
    Pyramid pyr0, pyr1;
    Plane I1c, ix, iy, grad, rho_c, u1, u2, u3, p11, p12, p21, p22, p31, p32, zeros, med_scratch, up, blur_a,
        warp_scratch;

    // The sweep reads one value before (p11, p21, p31) and after (u1, u2, u3) each plane: padding of kPad
    // floats on both sides (the planes start at data() + kPad), zeroed once.
    static constexpr std::size_t kPad = 16;

    void reserve(std::size_t n, int w, int k, bool gamma) {
        for (Plane* pl : {&ix, &iy, &grad, &rho_c, &p12, &p22, &up, &blur_a})
            if (pl->size() < n) pl->resize(n);
        for (Plane* pl : {&u1, &u2, &p11, &p21})
            if (pl->size() < n + 2 * kPad) pl->assign(n + 2 * kPad, 0.0f);
        if (I1c.size() < 4 * n) I1c.resize(4 * n);
        if (gamma) {
            if (p32.size() < n) p32.resize(n);
            for (Plane* pl : {&u3, &p31})
                if (pl->size() < n + 2 * kPad) pl->assign(n + 2 * kPad, 0.0f);
        }
        if (zeros.size() < static_cast<std::size_t>(w)) zeros.assign(static_cast<std::size_t>(w), 0.0f);
        const std::size_t wsz = warp_scratch_floats(w);
        if (warp_scratch.size() < wsz) warp_scratch.resize(wsz);
        const std::size_t med = k > 1 ? median_scratch_floats(k, w) : 0;
        if (med_scratch.size() < med) med_scratch.resize(med);
    }
};

// The coarse-to-fine solve of one pair from the pyramids of its two frames, from level `start` down to 0.
// init: null (the flow starts at zero on level `start`, the coarsest level, as OpenCV's) or, with start == 0,
// the flow to start from, interleaved (u, v) at h x w (a warm start). p0 needs levels 0 .. start, p1 too.
// ws.reserve() was called for the finest level. With a warm start, the illumination field (gamma) starts from
// ws.u3 as the previous solve in ws left it, the previous pair's field: a chain of warm starts carries it, as
// it carries the flow (started from zero at full size, the field takes more iterations than a warp has, and
// the flow follows the brightness change instead, further with each pair of the chain).
void solve(Workspace& ws, const Pyramid& p0, const Pyramid& p1, int start, const Params& p, const float* init,
           float* flow) {
    const bool use_gamma = p.gamma != 0.0f;
    const int k = p.median_filtering;
    Plane &I1c = ws.I1c, &ix = ws.ix, &iy = ws.iy, &grad = ws.grad, &rho_c = ws.rho_c, &u1 = ws.u1, &u2 = ws.u2,
          &u3 = ws.u3, &p11 = ws.p11, &p12 = ws.p12, &p21 = ws.p21, &p22 = ws.p22, &p31 = ws.p31, &p32 = ws.p32,
          &med_scratch = ws.med_scratch, &up = ws.up;
    {
        const std::size_t cn = static_cast<std::size_t>(p1.levels[start].h) * p1.levels[start].w;
        if (init == nullptr) {
            std::fill_n(u1.begin(), cn, 0.0f);
            std::fill_n(u2.begin(), cn, 0.0f);
        } else {
            for (std::size_t i = 0; i < cn; ++i) {
                u1[i] = init[2 * i];
                u2[i] = init[2 * i + 1];
            }
        }
        if (use_gamma && init == nullptr) std::fill_n(u3.begin(), cn, 0.0f);
    }

    State st;
    st.lt = p.lambda * p.theta;
    st.theta = p.theta;
    st.taut = p.tau / p.theta;
    st.zeros = ws.zeros.data();

    for (int s = start; s >= 0; --s) {
        const float* I0 = p0.levels[s].I.data();
        const float* I1 = p1.levels[s].I.data();
        const int lh = p1.levels[s].h, lw = p1.levels[s].w;
        const std::size_t ln = static_cast<std::size_t>(lh) * lw;
        const double scaled_eps = static_cast<double>(p.epsilon) * p.epsilon * static_cast<double>(ln);
        // The illumination field is updated on levels gamma_finest_level and coarser (and on the start level);
        // on the finer ones it is held at its upsampled value, a fixed part of the data term's constant.
        const bool update_gamma = updates_illumination(p, s, start);
        const bool hold_gamma = use_gamma && !update_gamma;
        interleave_with_gradient(I1, lh, lw, I1c.data());
        std::fill_n(p11.begin() + Workspace::kPad, ln, 0.0f);
        std::fill_n(p12.begin(), ln, 0.0f);
        std::fill_n(p21.begin() + Workspace::kPad, ln, 0.0f);
        std::fill_n(p22.begin(), ln, 0.0f);
        if (update_gamma) {
            std::fill_n(p31.begin() + Workspace::kPad, ln, 0.0f);
            std::fill_n(p32.begin(), ln, 0.0f);
        }
        st.h = lh;
        st.w = lw;
        st.ix = ix.data();
        st.iy = iy.data();
        st.grad = grad.data();
        st.rho_c = rho_c.data();
        st.u1 = u1.data();
        st.u2 = u2.data();
        st.u3 = update_gamma ? u3.data() : nullptr;
        st.p11 = p11.data() + Workspace::kPad;
        st.p12 = p12.data();
        st.p21 = p21.data() + Workspace::kPad;
        st.p22 = p22.data();
        st.p31 = update_gamma ? p31.data() + Workspace::kPad : nullptr;
        st.p32 = update_gamma ? p32.data() : nullptr;
        st.gamma = update_gamma ? p.gamma : 0.0f;

        for (int warp = 0, nw = warps_on_level(p, s); warp < nw; ++warp) {
            warp_and_linearise(I0, I1c.data(), u1.data(), u2.data(), lh, lw, st.gamma, hold_gamma ? u3.data() : nullptr,
                               p.gamma, ix.data(), iy.data(), grad.data(), rho_c.data(), ws.warp_scratch.data());
            double error = std::numeric_limits<double>::max();
            for (int outer = 0; error > scaled_eps && outer < p.outer_iterations; ++outer) {
                if (k > 1) {
                    median_filter_scratch(u1.data(), lh, lw, k, med_scratch.data());
                    median_filter_scratch(u2.data(), lh, lw, k, med_scratch.data());
                }
                const int ni = inner_on_level(p, s);
                error = update_gamma ? sweeps_gamma(st, ni, scaled_eps, error) : sweeps(st, ni, scaled_eps, error);
            }
        }
        if (s == 0) break;
        // Upsample the flow to the next finer level and scale the vectors.
        const int fh = p1.levels[s - 1].h, fw = p1.levels[s - 1].w;
        const float inv = 1.0f / p.scale_step;
        auto upsample = [&](Plane& u, bool scale) {
            resize_linear(u.data(), lh, lw, up.data(), fh, fw);
            const std::size_t fn = static_cast<std::size_t>(fh) * fw;
            for (std::size_t i = 0; i < fn; ++i) u[i] = scale ? up[i] * inv : up[i];
        };
        upsample(u1, true);
        upsample(u2, true);
        if (use_gamma) upsample(u3, false);
    }
    const std::size_t n = static_cast<std::size_t>(p1.levels[0].h) * p1.levels[0].w;
    for (std::size_t i = 0; i < n; ++i) {
        flow[2 * i] = u1[i];
        flow[2 * i + 1] = u2[i];
    }
}

void run_pair(Workspace& ws, const float* I0in, const float* I1in, int h, int w, const Params& p, float* flow) {
    const int nscales = effective_scales(p, h, w);
    ws.reserve(static_cast<std::size_t>(h) * w, w, p.median_filtering, p.gamma != 0.0f);
    ws.pyr0.build(I0in, h, w, p, nscales, ws.blur_a.data(), ws.up.data());
    ws.pyr1.build(I1in, h, w, p, nscales, ws.blur_a.data(), ws.up.data());
    solve(ws, ws.pyr0, ws.pyr1, nscales - 1, p, nullptr, flow);
}

}  // namespace

// validate(), validate_size() and effective_scales() live with Params in mefast/tvl1_params.hpp.

void compute(const float* I0, const float* I1, int h, int w, const Params& p, float* flow) {
    Workspace ws;
    run_pair(ws, I0, I1, h, w, p, flow);
}

void compute_pairs(const float* frames, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n_pairs,
                   const Params& p, int n_threads, float* flows) {
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(h) * w;
    std::vector<Workspace> ws(static_cast<std::size_t>(resolve_threads(n_threads, n_pairs)));
    parallel_for_workers(n_pairs, n_threads, [&](std::ptrdiff_t k, int worker) {
        run_pair(ws[static_cast<std::size_t>(worker)], frames + i0[k] * n, frames + i1[k] * n, h, w, p,
                 flows + k * n * 2);
    });
}

void compute_from_reference(const float* reference, const float* frames, std::ptrdiff_t n, int h, int w,
                            const Params& p, std::ptrdiff_t chain, int n_threads, float* flows) {
    if (n <= 0) return;
    const int nscales = effective_scales(p, h, w);
    const std::ptrdiff_t npx = static_cast<std::ptrdiff_t>(h) * w;
    Pyramid ref;
    {
        Plane a(static_cast<std::size_t>(npx)), b(static_cast<std::size_t>(npx));
        ref.build(reference, h, w, p, nscales, a.data(), b.data());
    }
    // Runs of `len` frames: each starts cold, the others start from the previous frame's flow.
    const std::ptrdiff_t len = chain <= 0 ? 1 : chain;
    const std::ptrdiff_t n_runs = (n + len - 1) / len;
    std::vector<Workspace> ws(static_cast<std::size_t>(resolve_threads(n_threads, n_runs)));
    parallel_for_workers(n_runs, n_threads, [&](std::ptrdiff_t r, int worker) {
        Workspace& wk = ws[static_cast<std::size_t>(worker)];
        wk.reserve(static_cast<std::size_t>(npx), w, p.median_filtering, p.gamma != 0.0f);
        const std::ptrdiff_t first = r * len, end = std::min(n, first + len);
        for (std::ptrdiff_t k = first; k < end; ++k) {
            const bool warm = k > first;  // then wk's last solve was frame k-1's: its illumination field carries
            wk.pyr1.build(frames + k * npx, h, w, p, warm ? 1 : nscales, wk.blur_a.data(), wk.up.data());
            solve(wk, ref, wk.pyr1, warm ? 0 : nscales - 1, p, warm ? flows + (k - 1) * npx * 2 : nullptr,
                  flows + k * npx * 2);
        }
    });
}

struct Engine::Impl {
    Params p;
    Workspace ws;
    std::mutex m;
};

Engine::Engine(const Params& p) : impl_(std::make_unique<Impl>()) {
    validate(p);
    impl_->p = p;
}

Engine::~Engine() = default;

const Params& Engine::params() const { return impl_->p; }

void Engine::compute_pairs(const float* frames, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n_pairs,
                           float* flows) {
    std::lock_guard<std::mutex> lock(impl_->m);
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(h) * w;
    for (std::ptrdiff_t k = 0; k < n_pairs; ++k)
        run_pair(impl_->ws, frames + i0[k] * n, frames + i1[k] * n, h, w, impl_->p, flows + k * n * 2);
}

}  // namespace mefast::tvl1
