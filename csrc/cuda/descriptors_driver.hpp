// LBP-TOP and TIM schedules over an executor (see tvl1_driver.hpp): clips are uploaded once, histograms are
// counted on the device and normalised on the host exactly as lbp_top.cpp's finalize(); TIM is one launch per
// clip over (groups of 4 output frames) x (pixels).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "api.hpp"
#include "mefast/lbp_top.hpp"
#include "ops_descriptors.hpp"

namespace mefast::gpu {


inline LbpGeometry lbp_geometry(const lbp::Plan& pl) {
    LbpGeometry g{};
    g.H = pl.H;
    g.W = pl.W;
    g.border = pl.border;
    g.time_border = pl.time_border;
    g.Hi = pl.Hi;
    g.Wi = pl.Wi;
    g.Tc = pl.Tc;
    g.bins = pl.bins;
    g.rows = pl.p.rows;
    g.cols = pl.p.cols;
    g.n_blocks = pl.n_blocks;
    g.bilinear = pl.p.sampling == lbp::Sampling::bilinear;
    g.legacy = pl.p.mode == lbp::Mode::meb;
    for (int q = 0; q < 3; ++q) {
        g.points[q] = pl.p.points[q];
        for (int k = 0; k < lbp::kMaxPoints; ++k) {
            g.off[q][k] = pl.off[q][k];
            g.taps[q][k] = pl.taps[q][k];
        }
    }
    return g;
}

namespace detail {

// A device buffer that grows on demand, so a batch of same-shaped clips allocates once.
template <class Exec, class T>
struct Grow {
    typename Exec::template Array<T> a{0};
    std::size_t cap = 0;
    T* get(Exec& ex, std::size_t n) {
        if (n > cap) {
            a = ex.template alloc<T>(n);
            cap = n;
        }
        return a.data();
    }
};

template <class Exec, class T>
T* put(Exec& ex, Grow<Exec, T>& buf, const T* src, std::size_t n) {
    T* d = buf.get(ex, n);
    ex.upload(d, src, n);
    return d;
}

}  // namespace detail

/// LBP-TOP features of n clips into out (n x feature_length); every plan comes from the same Params.
template <class Exec>
void lbp_top_batch(Exec& ex, const LbpClip* clips, std::ptrdiff_t n, float* out) {
    if (n <= 0) return;
    const std::ptrdiff_t D = lbp::feature_length(clips[0].plan->p);
    detail::Grow<Exec, std::uint8_t> d_clip;
    detail::Grow<Exec, std::uint16_t> d_tab[3];
    detail::Grow<Exec, int> d_mem[6];
    detail::Grow<Exec, std::uint32_t> d_hist;
    detail::Grow<Exec, std::ptrdiff_t> d_shift[3];
    std::vector<std::uint32_t> hist(static_cast<std::size_t>(D));
    for (std::ptrdiff_t c = 0; c < n; ++c) {
        const lbp::Plan& pl = *clips[c].plan;
        const std::size_t count = static_cast<std::size_t>(pl.T) * pl.H * pl.W;
        const std::size_t bytes = count * (clips[c].is_uint8 ? 1 : sizeof(float));
        std::uint8_t* clip = detail::put(ex, d_clip, static_cast<const std::uint8_t*>(clips[c].data), bytes);
        const std::uint16_t* tab[3];
        for (int q = 0; q < 3; ++q) tab[q] = detail::put(ex, d_tab[q], pl.table[q].data(), pl.table[q].size());
        const std::vector<int>* mem[6] = {&pl.row_a, &pl.row_b, &pl.col_a, &pl.col_b, &pl.t_a, &pl.t_b};
        const int* m[6];
        for (int j = 0; j < 6; ++j) m[j] = detail::put(ex, d_mem[j], mem[j]->data(), mem[j]->size());
        const std::vector<std::ptrdiff_t>* shift[3] = {&pl.shift_x, &pl.shift_y, &pl.shift_t};
        const std::ptrdiff_t* sh[3];
        for (int a = 0; a < 3; ++a)
            sh[a] = shift[a]->empty() ? nullptr : detail::put(ex, d_shift[a], shift[a]->data(), shift[a]->size());
        std::uint32_t* h = d_hist.get(ex, static_cast<std::size_t>(D));
        ex.fill_zero(h, static_cast<std::size_t>(D));
        const LbpGeometry g = lbp_geometry(pl);
        const int n_elems = pl.Hi * pl.Wi;
        if (clips[c].is_uint8) {
            LbpTopOp<std::uint8_t> op{clip, {tab[0], tab[1], tab[2]}, m[0], m[1], m[2], m[3], m[4], m[5], h, g,
                                      sh[0], sh[1], sh[2]};
            ex.for_each(pl.Tc, n_elems, AllItems{}, op);
        } else {
            LbpTopOp<float> op{reinterpret_cast<const float*>(clip), {tab[0], tab[1], tab[2]}, m[0], m[1], m[2], m[3],
                               m[4], m[5], h, g, sh[0], sh[1], sh[2]};
            ex.for_each(pl.Tc, n_elems, AllItems{}, op);
        }
        ex.download(hist.data(), h, static_cast<std::size_t>(D));
        lbp::finalize(hist.data(), pl, out + c * D);
    }
    ex.finish();
}

/// TIM of one clip of n frames of d elements: out (n_out x d) = K^T x with K (n x n_out, row-major, host).
template <class Exec, class In, class Out>
void tim_frames(Exec& ex, const In* x, int n, std::ptrdiff_t d, const double* K, int n_out, Out* out) {
    if (d <= 0) return;
    const int nj = (n_out + 3) / 4 * 4;
    std::vector<double> Kp(static_cast<std::size_t>(n) * nj, 0.0);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n_out; ++j)
            Kp[static_cast<std::size_t>(i) * nj + j] = K[static_cast<std::ptrdiff_t>(i) * n_out + j];
    auto d_K = ex.template alloc<double>(Kp.size());
    auto d_x = ex.template alloc<In>(static_cast<std::size_t>(n) * static_cast<std::size_t>(d));
    auto d_out = ex.template alloc<Out>(static_cast<std::size_t>(n_out) * static_cast<std::size_t>(d));
    ex.upload(d_K.data(), Kp.data(), Kp.size());
    ex.upload(d_x.data(), x, static_cast<std::size_t>(n) * static_cast<std::size_t>(d));
    ex.for_each(nj / 4, static_cast<int>(d), AllItems{}, TimOp<In, Out>{d_x.data(), d_K.data(), d_out.data(), n, nj, n_out, d});
    ex.download(out, d_out.data(), static_cast<std::size_t>(n_out) * static_cast<std::size_t>(d));
    ex.finish();
}

}  // namespace mefast::gpu
