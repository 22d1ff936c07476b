// Batched TV-L1 and optical strain, written once over an executor: CudaExec (exec_cuda.cuh) runs it on the
// GPU; HostExec (exec_host.hpp) runs the same schedule and functors sequentially, in shuffled element order,
// so the algorithm, the index math and the in-place updates are checked against the CPU core without a GPU.
//
// Schedule (csrc/src/tvl1.cpp's run_pair, for every pair of a batch at once):
//   pyramids of all frames (uploaded once) -> per level, coarse to fine: gradient images of the frames,
//   then per warp: warp + linearise, then up to outer x inner iterations of (median filter before each
//   inner block) + primal (with the squared-update sum) + dual, then upsampling of the flow.
// A pair's stopping test (`error > epsilon^2 * area`) gates it on the device (ActivePairs), so pairs stop
// independently and nothing waits for the host. The host only needs to know when *every* pair of the batch
// has stopped, to stop launching: every kPoll iterations it queues a count of active pairs with an
// asynchronous copy and reads the count queued kPoll iterations earlier, which has completed by then or
// soon after, so the GPU never drains. Iterations launched after all pairs stopped are no-ops.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "mefast/tvl1.hpp"
#include "ops_strain.hpp"
#include "ops_tvl1.hpp"

namespace mefast::gpu {

/// Iterations between two polls of the number of active pairs.
constexpr int kPoll = 4;
/// Most pairs in flight at once (the gate table of a launch lives in shared memory).
constexpr int kMaxBatch = 4096;

/// Gaussian taps of gaussian_blur() in tvl1_resample.cpp: radius ceil(3 sigma), normalised in float.
inline std::vector<float> gaussian_taps(float sigma) {
    const int r = std::max(1, static_cast<int>(std::ceil(3.0f * sigma)));
    std::vector<float> k(static_cast<std::size_t>(2 * r + 1));
    float sum = 0.0f;
    for (int i = -r; i <= r; ++i) {
        k[static_cast<std::size_t>(i + r)] = std::exp(-0.5f * static_cast<float>(i * i) / (sigma * sigma));
        sum += k[static_cast<std::size_t>(i + r)];
    }
    for (auto& v : k) v /= sum;
    return k;
}

/// Level sizes of run_pair() in tvl1.cpp.
inline std::vector<std::pair<int, int>> level_sizes(const tvl1::Params& p, int h, int w) {
    const int n = tvl1::effective_scales(p, h, w);
    std::vector<std::pair<int, int>> sizes(static_cast<std::size_t>(n));
    sizes[0] = {h, w};
    for (std::size_t s = 1; s < sizes.size(); ++s) {
        sizes[s].first = static_cast<int>(std::lround(sizes[s - 1].first * static_cast<double>(p.scale_step)));
        sizes[s].second = static_cast<int>(std::lround(sizes[s - 1].second * static_cast<double>(p.scale_step)));
    }
    return sizes;
}

/// Bytes of device memory one pair in flight needs (planes at the finest level, flow output, error slots).
inline std::size_t tvl1_bytes_per_pair(const tvl1::Params& p, int h, int w) {
    const std::size_t planes = 12 + (p.gamma != 0.0f ? 3 : 0) + 2;
    return planes * static_cast<std::size_t>(h) * static_cast<std::size_t>(w) * sizeof(float) + 3 * sizeof(double);
}

namespace detail {

// Blur `n` images of h x w (stride `stride`) in place through `tmp`.
template <class Exec>
void blur(Exec& ex, float* img, float* tmp, int n, int h, int w, index_t stride, const float* taps, int r) {
    ex.for_each(n, h * w, AllItems{}, BlurRowsOp{img, tmp, h, w, stride, taps, r});
    ex.for_each(n, h * w, AllItems{}, BlurColsOp{tmp, img, h, w, stride, taps, r});
}

template <bool kGamma, class Exec>
void iterate_warp(Exec& ex, const tvl1::Params& p, int inner_iterations, const DualState& st, double* err, float* m1,
                  float* m2, int b, double scaled_eps) {
    const int ln = st.h * st.w;
    int it = 0;
    int pending = -1;  // ticket of the last poll, read one poll later
    bool stop = false;
    for (int outer = 0; outer < p.outer_iterations && !stop; ++outer) {
        const ActivePairs at_outer{err, it, scaled_eps};
        if (p.median_filtering == 5) {
            ex.for_each(b, ln, at_outer, MedianOp<5>{st.u1, st.u2, m1, m2, st.h, st.w, st.stride});
        } else if (p.median_filtering == 3) {
            ex.for_each(b, ln, at_outer, MedianOp<3>{st.u1, st.u2, m1, m2, st.h, st.w, st.stride});
        }
        if (p.median_filtering > 1) ex.for_each(b, ln, at_outer, CopyBackOp{m1, m2, st.u1, st.u2, st.stride});
        for (int inner = 0; inner < inner_iterations; ++inner) {
            const ActivePairs gate{err, it, scaled_eps};
            ex.for_each_sum(b, ln, gate, PrimalOp<kGamma>{st}, err, err_slot_sum(it), err_slot_clear(it));
            ex.for_each(b, ln, gate, DualOp<kGamma>{st});
            ++it;
            if (it % kPoll == 0) {
                const int ticket = ex.poll_post(err, err_slot_sum(it - 1), scaled_eps, b);
                if (pending >= 0 && ex.poll_result(pending) == 0) {
                    stop = true;  // every pair had stopped `kPoll` iterations ago: the rest are no-ops
                    break;
                }
                pending = ticket;
            }
        }
    }
}

}  // namespace detail

/// TV-L1 flow of pairs (frames[i0[k]] -> frames[i1[k]]) of a host stack of nf frames of h x w in [0, 255];
/// flows (host): n_pairs x h x w x 2. Parameters must have been validated (tvl1::validate) and the indexes
/// checked. batch_size <= 0: as many pairs in flight as fit in half the free device memory.
template <class Exec>
void tvl1_pairs(Exec& ex, const float* frames, int nf, int h, int w, const int* i0, const int* i1, index_t n_pairs,
                const tvl1::Params& p, int batch_size, float* flows) {
    if (n_pairs <= 0) return;
    const auto sizes = level_sizes(p, h, w);
    const int L = static_cast<int>(sizes.size());
    const index_t N = static_cast<index_t>(h) * w;
    const bool use_gamma = p.gamma != 0.0f;

    // Pyramids of every frame: level s holds nf images of its size, contiguous.
    std::vector<index_t> off(static_cast<std::size_t>(L));
    index_t total = 0;
    for (int s = 0; s < L; ++s) {
        off[static_cast<std::size_t>(s)] = total;
        const index_t area = static_cast<index_t>(sizes[static_cast<std::size_t>(s)].first) * sizes[static_cast<std::size_t>(s)].second;
        total += (static_cast<index_t>(nf) * area + 63) / 64 * 64;
    }
    auto pyr = ex.template alloc<float>(static_cast<std::size_t>(total));
    auto level = [&](int s) { return pyr.data() + off[static_cast<std::size_t>(s)]; };
    ex.upload(level(0), frames, static_cast<std::size_t>(nf) * static_cast<std::size_t>(N));
    {
        const bool pre = p.presmooth_sigma > 0.0f;
        const float aa_sigma =
            p.pyramid_smoothing ? 0.6f * std::sqrt(1.0f / (p.scale_step * p.scale_step) - 1.0f) : 0.0f;
        const bool aa = aa_sigma > 0.0f && L > 1;
        const std::size_t n_scratch = pre || aa ? static_cast<std::size_t>(nf) * static_cast<std::size_t>(N) : 0;
        auto tmp_a = ex.template alloc<float>(n_scratch);
        auto tmp_b = ex.template alloc<float>(aa ? n_scratch : 0);
        if (pre) {
            const auto taps = gaussian_taps(p.presmooth_sigma);
            auto d_taps = ex.template alloc<float>(taps.size());
            ex.upload(d_taps.data(), taps.data(), taps.size());
            detail::blur(ex, level(0), tmp_a.data(), nf, h, w, N, d_taps.data(), static_cast<int>(taps.size() / 2));
        }
        const auto aa_taps = aa ? gaussian_taps(aa_sigma) : std::vector<float>{};
        auto d_aa = ex.template alloc<float>(aa_taps.size());
        if (aa) ex.upload(d_aa.data(), aa_taps.data(), aa_taps.size());
        for (int s = 1; s < L; ++s) {
            const auto [ph, pw] = sizes[static_cast<std::size_t>(s - 1)];
            const auto [lh, lw] = sizes[static_cast<std::size_t>(s)];
            const index_t parea = static_cast<index_t>(ph) * pw, larea = static_cast<index_t>(lh) * lw;
            const float* src = level(s - 1);
            if (aa) {  // blur a copy of the previous level, then resize it
                ex.for_each(nf, ph * pw, AllItems{},
                            BlurRowsOp{src, tmp_a.data(), ph, pw, parea, d_aa.data(), static_cast<int>(aa_taps.size() / 2)});
                ex.for_each(nf, ph * pw, AllItems{},
                            BlurColsOp{tmp_a.data(), tmp_b.data(), ph, pw, parea, d_aa.data(),
                                       static_cast<int>(aa_taps.size() / 2)});
                src = tmp_b.data();
            }
            ex.for_each(nf, lh * lw, AllItems{}, ResizeOp{src, level(s), ph, pw, lh, lw, parea, larea, 1.0f, false});
        }
    }
    auto grad4 = ex.template alloc<F4>(static_cast<std::size_t>(nf) * static_cast<std::size_t>(N));
    auto d_i0 = ex.template alloc<int>(static_cast<std::size_t>(n_pairs));
    auto d_i1 = ex.template alloc<int>(static_cast<std::size_t>(n_pairs));
    ex.upload(d_i0.data(), i0, static_cast<std::size_t>(n_pairs));
    ex.upload(d_i1.data(), i1, static_cast<std::size_t>(n_pairs));

    // Pairs in flight.
    index_t B = batch_size > 0 ? batch_size : 0;
    if (B == 0) {
        const std::size_t per_pair = tvl1_bytes_per_pair(p, h, w);
        B = static_cast<index_t>(ex.free_memory() / 2 / per_pair);
    }
    B = std::max<index_t>(1, std::min<index_t>({B, n_pairs, kMaxBatch}));
    const std::size_t plane = static_cast<std::size_t>(B) * static_cast<std::size_t>(N);
    auto a_ix = ex.template alloc<float>(plane), a_iy = ex.template alloc<float>(plane);
    auto a_grad = ex.template alloc<float>(plane), a_rho = ex.template alloc<float>(plane);
    auto a_u1 = ex.template alloc<float>(plane), a_u2 = ex.template alloc<float>(plane);
    auto a_u3 = ex.template alloc<float>(use_gamma ? plane : 0);
    auto a_p11 = ex.template alloc<float>(plane), a_p12 = ex.template alloc<float>(plane);
    auto a_p21 = ex.template alloc<float>(plane), a_p22 = ex.template alloc<float>(plane);
    auto a_p31 = ex.template alloc<float>(use_gamma ? plane : 0), a_p32 = ex.template alloc<float>(use_gamma ? plane : 0);
    auto a_m1 = ex.template alloc<float>(plane), a_m2 = ex.template alloc<float>(plane);
    auto a_err = ex.template alloc<double>(static_cast<std::size_t>(B) * 3);
    auto a_flow = ex.template alloc<float>(2 * plane);

    for (index_t c0 = 0; c0 < n_pairs; c0 += B) {
        const int b = static_cast<int>(std::min<index_t>(B, n_pairs - c0));
        const std::size_t used = static_cast<std::size_t>(b) * static_cast<std::size_t>(N);
        const int* f0 = d_i0.data() + c0;
        const int* f1 = d_i1.data() + c0;
        // Upsampling swaps a flow plane with the scratch plane m1: these pointers move, the buffers stay.
        float* u1 = a_u1.data();
        float* u2 = a_u2.data();
        float* u3 = a_u3.data();
        float* m1 = a_m1.data();
        ex.fill_zero(u1, used);
        ex.fill_zero(u2, used);
        if (use_gamma) ex.fill_zero(u3, used);
        for (int s = L - 1; s >= 0; --s) {
            const int lh = sizes[static_cast<std::size_t>(s)].first;
            const int lw = sizes[static_cast<std::size_t>(s)].second;
            const int ln = lh * lw;
            const double scaled_eps = static_cast<double>(p.epsilon) * p.epsilon * static_cast<double>(ln);
            // The illumination field is solved for on levels gamma_finest_level and coarser (and on the coarsest
            // level), and held at its upsampled value on the finer ones (solve() in tvl1.cpp).
            const bool update_gamma = tvl1::updates_illumination(p, s, L - 1);
            const bool hold_gamma = use_gamma && !update_gamma;
            ex.for_each(nf, ln, AllItems{}, GradientOp{level(s), grad4.data(), lh, lw});
            for (float* q : {a_p11.data(), a_p12.data(), a_p21.data(), a_p22.data()}) ex.fill_zero(q, used);
            if (update_gamma) {
                ex.fill_zero(a_p31.data(), used);
                ex.fill_zero(a_p32.data(), used);
            }
            DualState st{a_ix.data(), a_iy.data(), a_grad.data(), a_rho.data(), u1, u2, u3,
                         a_p11.data(), a_p12.data(), a_p21.data(), a_p22.data(), a_p31.data(), a_p32.data(),
                         lh, lw, N, p.lambda * p.theta, p.theta, p.tau / p.theta, update_gamma ? p.gamma : 0.0f};
            const int inner = tvl1::inner_on_level(p, s);  // iterations between two median filterings
            for (int warp = 0, nw = tvl1::warps_on_level(p, s); warp < nw; ++warp) {
                ex.for_each(b, ln, AllItems{},
                            WarpOp{level(s), grad4.data(), f0, f1, u1, u2, a_ix.data(), a_iy.data(), a_grad.data(),
                                   a_rho.data(), a_err.data(), lh, lw, N, st.gamma, hold_gamma ? u3 : nullptr,
                                   p.gamma});
                if (update_gamma)
                    detail::iterate_warp<true>(ex, p, inner, st, a_err.data(), m1, a_m2.data(), b, scaled_eps);
                else
                    detail::iterate_warp<false>(ex, p, inner, st, a_err.data(), m1, a_m2.data(), b, scaled_eps);
            }
            if (s == 0) break;
            // Upsample the flow to the next finer level (vectors scaled by 1 / scale_step, u3 not scaled).
            const int fh = sizes[static_cast<std::size_t>(s - 1)].first;
            const int fw = sizes[static_cast<std::size_t>(s - 1)].second;
            const float inv = 1.0f / p.scale_step;
            auto upsample = [&](float*& u, bool scale) {
                ex.for_each(b, fh * fw, AllItems{}, ResizeOp{u, m1, lh, lw, fh, fw, N, N, inv, scale});
                std::swap(u, m1);
            };
            upsample(u1, true);
            upsample(u2, true);
            if (use_gamma) upsample(u3, false);
        }
        ex.for_each(b, static_cast<int>(N), AllItems{}, FlowOutOp{u1, u2, a_flow.data(), N});
        ex.download(flows + c0 * N * 2, a_flow.data(), 2 * used);
    }
    ex.finish();
}

/// Strain magnitude of n host flow fields (n x h x w x 2) into out (n x h x w), in chunks that fit the device.
template <class Exec>
void optical_strain(Exec& ex, const float* flows, index_t n, int h, int w, int scheme, float* out) {
    if (n <= 0) return;
    const index_t area = static_cast<index_t>(h) * w;
    const std::size_t per_field = static_cast<std::size_t>(area) * 3 * sizeof(float);
    const index_t chunk = std::max<index_t>(1, std::min<index_t>(n, static_cast<index_t>(ex.free_memory() / 2 / per_field)));
    auto d_in = ex.template alloc<float>(static_cast<std::size_t>(chunk * area * 2));
    auto d_out = ex.template alloc<float>(static_cast<std::size_t>(chunk * area));
    for (index_t c0 = 0; c0 < n; c0 += chunk) {
        const int m = static_cast<int>(std::min(chunk, n - c0));
        ex.upload(d_in.data(), flows + c0 * area * 2, static_cast<std::size_t>(m * area * 2));
        ex.for_each(m, static_cast<int>(area), AllItems{}, StrainOp{d_in.data(), d_out.data(), h, w, scheme});
        ex.download(out + c0 * area, d_out.data(), static_cast<std::size_t>(m * area));
    }
    ex.finish();
}

}  // namespace mefast::gpu
