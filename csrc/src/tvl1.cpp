// TV-L1 optical flow, CPU. See tvl1.hpp for the contract and tvl1_pixel.hpp for the per-pixel math.
//
// Where the time goes and what this file does about it:
// * The primal-dual iteration is one fused sweep per iteration: row y gets its new u (thresholding,
//   divergence of p, update, squared change for the stopping test) and then row y-1 gets its dual update,
//   which needs the new u of rows y-1 and y. Every value is read before it is overwritten, so the sweep is
//   exactly the textbook iteration, with ~10 float planes streamed once instead of ~40 array passes. The
//   sweeps of a warp are pipelined, a few rows apart, so that on frames larger than the cache each row is
//   fetched once for several sweeps (sweeps_impl).
// * Loops are written branch-free over whole rows so they vectorise (the sweep's planes are padded so that the
//   neighbours past a row's ends can be read and discarded, leaving no scalar remainder on power-of-two widths);
//   they are compiled for AVX-512, AVX2+FMA and baseline x86-64, dispatched at load time (MEFAST_TARGET_CLONES).
// * Warping samples I1 and its gradient with one set of bicubic weights from an interleaved 4-channel image:
//   per row, the positions and weights of all pixels in one vector loop, then per pixel one 16-float load per
//   row of taps.
// * Each frame's pyramid is built once (Pyramid), so the pairs of compute_from_reference share the reference's;
//   there a warm start replaces the pyramid of every frame but the first of a run by the previous flow.
// * The median filter sorts window columns once per row and then runs a pruned selection network
//   (median_networks.hpp) across lanes.
#include "mefast/tvl1.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "mefast/common.hpp"
#include "mefast/median_networks.hpp"
#include "mefast/tvl1_pixel.hpp"

namespace mefast::tvl1 {
namespace {

// A float buffer whose resize() leaves new elements uninitialised: every buffer is written before it is read
// (or filled explicitly), and zero-filling ~20 planes per pair would cost more than a whole coarse level.
template <class T>
struct UninitAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = UninitAllocator<U>;
    };
    UninitAllocator() = default;
    template <class U>
    UninitAllocator(const UninitAllocator<U>&) noexcept {}
    template <class U>
    void construct(U* ptr) noexcept {
        ::new (static_cast<void*>(ptr)) U;
    }
    template <class U, class... Args>
    void construct(U* ptr, Args&&... args) {
        ::new (static_cast<void*>(ptr)) U(std::forward<Args>(args)...);
    }
};
using Plane = std::vector<float, UninitAllocator<float>>;

template <class T>
std::string str(const T& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// ---------------------------------------------------------------------------------------------------------
// Resampling

// Bilinear resize with pixel-centre alignment (cv::resize INTER_LINEAR), replicated border. Each output row is
// first blended vertically over the whole source row (vectorised), then sampled horizontally.
MEFAST_TARGET_CLONES void resize_linear(const float* src, int sh, int sw, float* dst, int dh, int dw) {
    const float sy_scale = static_cast<float>(sh) / static_cast<float>(dh);
    const float sx_scale = static_cast<float>(sw) / static_cast<float>(dw);
    std::vector<int> x0(static_cast<std::size_t>(dw)), x1(static_cast<std::size_t>(dw));
    std::vector<float> ax(static_cast<std::size_t>(dw)), row(static_cast<std::size_t>(sw));
    for (int x = 0; x < dw; ++x) {
        int i = 0;
        float a = 0.0f;
        linear_tap(x, sx_scale, sw, i, a);
        x0[x] = i;
        x1[x] = std::min(i + 1, sw - 1);
        ax[x] = a;
    }
    float* MEFAST_RESTRICT rb = row.data();
    for (int y = 0; y < dh; ++y) {
        int j = 0;
        float b = 0.0f;
        linear_tap(y, sy_scale, sh, j, b);
        const float* MEFAST_RESTRICT r0 = src + static_cast<std::ptrdiff_t>(j) * sw;
        const float* MEFAST_RESTRICT r1 = src + static_cast<std::ptrdiff_t>(std::min(j + 1, sh - 1)) * sw;
        for (int x = 0; x < sw; ++x) rb[x] = r0[x] + b * (r1[x] - r0[x]);
        float* out = dst + static_cast<std::ptrdiff_t>(y) * dw;
        for (int x = 0; x < dw; ++x) out[x] = rb[x0[x]] + ax[x] * (rb[x1[x]] - rb[x0[x]]);
    }
}

// Separable Gaussian blur (radius ceil(3 sigma), replicated border), in place; tmp holds h * w floats.
// Both passes loop over taps outside and pixels inside, so the pixel loops vectorise.
MEFAST_TARGET_CLONES void gaussian_blur(float* img, int h, int w, float sigma, float* tmp) {
    if (!(sigma > 0.0f)) return;
    const int r = std::max(1, static_cast<int>(std::ceil(3.0f * sigma)));
    std::vector<float> k(static_cast<std::size_t>(2 * r + 1));
    float sum = 0.0f;
    for (int i = -r; i <= r; ++i) {
        k[i + r] = std::exp(-0.5f * static_cast<float>(i * i) / (sigma * sigma));
        sum += k[i + r];
    }
    for (auto& v : k) v /= sum;
    std::vector<float> line(static_cast<std::size_t>(w + 2 * r));
    float* MEFAST_RESTRICT ln = line.data();
    for (int y = 0; y < h; ++y) {
        const float* row = img + static_cast<std::ptrdiff_t>(y) * w;
        for (int x = 0; x < r; ++x) {
            ln[x] = row[0];
            ln[w + r + x] = row[w - 1];
        }
        std::copy(row, row + w, ln + r);
        float* MEFAST_RESTRICT out = tmp + static_cast<std::ptrdiff_t>(y) * w;
        for (int x = 0; x < w; ++x) out[x] = k[0] * ln[x];
        for (int i = 1; i <= 2 * r; ++i) {
            const float kv = k[i];
            for (int x = 0; x < w; ++x) out[x] += kv * ln[x + i];
        }
    }
    for (int y = 0; y < h; ++y) {
        float* MEFAST_RESTRICT out = img + static_cast<std::ptrdiff_t>(y) * w;
        const float* MEFAST_RESTRICT first = tmp + static_cast<std::ptrdiff_t>(clamp_index(y - r, h)) * w;
        for (int x = 0; x < w; ++x) out[x] = k[0] * first[x];
        for (int i = 1; i <= 2 * r; ++i) {
            const float* MEFAST_RESTRICT src = tmp + static_cast<std::ptrdiff_t>(clamp_index(y - r + i, h)) * w;
            const float kv = k[i];
            for (int x = 0; x < w; ++x) out[x] += kv * src[x];
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Median filter of a flow component, k = 3 or 5, replicated border.
//
// Per output row: the k source rows, padded, with every window column (k values) sorted once; then run the
// comparator networks of median_networks.hpp on kMedianLanes outputs at a time, expanded at compile
// time (constant wire indices), so the 8-lane values live in vector registers. 3x3: one network per output on its
// 9 column-sorted values. 5x5: two neighbouring outputs at once, whose windows share 4 columns: one network on the
// 20 shared values leaves their ranks 7..12, and per output a 10-comparator network merges those 6 with the
// output's own fifth column (71 comparators for two outputs instead of 2 x 82 for one network each). There the
// sorted rows are split into their even and odd columns, so that lane l of a block (outputs 2l and 2l+1) loads
// contiguous values; each source row is padded once into a ring of 5 rows, before its own output row overwrites
// it, and a window's 5 rows are split and column-sorted in registers. Either way the result is the exact median
// (tests: scipy's median_filter), computed in place with a few rows of scratch.

constexpr int kMedianLanes = 8;
#if defined(__GNUC__) || defined(__clang__)
// Eight lanes as one value (one AVX register, two SSE registers), so the network stays in registers.
typedef float Lanes __attribute__((vector_size(kMedianLanes * sizeof(float))));
MEFAST_INLINE Lanes lanes_min(Lanes a, Lanes b) { return a < b ? a : b; }
MEFAST_INLINE Lanes lanes_max(Lanes a, Lanes b) { return a < b ? b : a; }
// Lanes of a (indices 0 .. n-1) and b (n .. 2n-1) picked by constant indices, for n-lane values (Index: an int
// vector of n lanes, LaneIndex for Lanes, TapIndex for the warp's 16-float Taps): GCC takes the indices as an
// Index value, clang as arguments.
typedef int LaneIndex __attribute__((vector_size(kMedianLanes * sizeof(int))));
typedef int TapIndex __attribute__((vector_size(16 * sizeof(int))));
#if defined(__clang__)
#define MEFAST_SHUFFLE(Index, a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define MEFAST_SHUFFLE(Index, a, b, ...) __builtin_shuffle(a, b, Index{__VA_ARGS__})
#endif
#else
struct Lanes {
    float v[kMedianLanes];
    float& operator[](int i) { return v[i]; }
    float operator[](int i) const { return v[i]; }
};
MEFAST_INLINE Lanes lanes_min(Lanes a, Lanes b) {
    Lanes r;
    for (int l = 0; l < kMedianLanes; ++l) r[l] = std::min(a[l], b[l]);
    return r;
}
MEFAST_INLINE Lanes lanes_max(Lanes a, Lanes b) {
    Lanes r;
    for (int l = 0; l < kMedianLanes; ++l) r[l] = std::max(a[l], b[l]);
    return r;
}
#endif

MEFAST_INLINE Lanes load_lanes(const float* p) {
    Lanes v;
    std::memcpy(&v, p, sizeof(Lanes));
    return v;
}

// The first n (<= 2 * kMedianLanes) values of a[0], b[0], a[1], b[1], ... stored at dst: a whole block as two
// vector stores of the interleaved lanes.
MEFAST_INLINE void store_interleaved(float* dst, Lanes a, Lanes b, int n) {
#if defined(__GNUC__) || defined(__clang__)
    if (n == 2 * kMedianLanes) {
        const Lanes lo = MEFAST_SHUFFLE(LaneIndex, a, b, 0, 8, 1, 9, 2, 10, 3, 11);
        const Lanes hi = MEFAST_SHUFFLE(LaneIndex, a, b, 4, 12, 5, 13, 6, 14, 7, 15);
        std::memcpy(dst, &lo, sizeof(Lanes));
        std::memcpy(dst + kMedianLanes, &hi, sizeof(Lanes));
        return;
    }
#endif
    for (int l = 0; 2 * l < n; ++l) {
        dst[2 * l] = a[l];
        if (2 * l + 1 < n) dst[2 * l + 1] = b[l];
    }
}

// The 3x3 filter works in place with a ring of 2 output rows: output row y goes to ring row y % 2 and is copied
// back into the image (here) after output row y + 1, the last one that reads source row y.
MEFAST_INLINE void write_back_row(float* img, int w, const float* ring, int y) {
    if (y < 0) return;
    const float* src = ring + static_cast<std::ptrdiff_t>(y % 2) * w;
    std::copy(src, src + w, img + static_cast<std::ptrdiff_t>(y) * w);
}

// A comparator network of median_networks.hpp: `size` pairs (a, b), each putting the minimum in a, the maximum in b.
struct Median3 {
    static constexpr const unsigned char* pairs = median_net::k3_pairs;
    static constexpr int size = median_net::k3_size;
};
struct Shared5 {
    static constexpr const unsigned char* pairs = median_net::k5_shared_pairs;
    static constexpr int size = median_net::k5_shared_size;
};
struct Select5 {
    static constexpr const unsigned char* pairs = median_net::k5_select_pairs;
    static constexpr int size = median_net::k5_select_size;
};

template <int A, int B>
MEFAST_INLINE void compare_exchange(Lanes* v) {
    const Lanes lo = lanes_min(v[A], v[B]);
    const Lanes hi = lanes_max(v[A], v[B]);
    v[A] = lo;
    v[B] = hi;
}

template <class Net, std::size_t... I>
MEFAST_INLINE void run_network(Lanes* v, std::index_sequence<I...>) {
    (compare_exchange<Net::pairs[2 * I], Net::pairs[2 * I + 1]>(v), ...);
}

template <class Net>
MEFAST_INLINE void run_network(Lanes* v) {
    run_network<Net>(v, std::make_index_sequence<Net::size>{});
}

// The 3 source rows of the 3x3 filter's output row y (row r: source row y - 1 + r, replicated at the top and
// bottom) into 3 rows of pw = w + 2 values from `cols`, each padded with its border value on both sides. Then
// every column is sorted: row r holds, at each position, the r-th smallest of the column's 3 values.
MEFAST_INLINE void sorted_columns3(const float* img, int h, int w, int y, float* cols, int pw) {
    for (int r = 0; r < 3; ++r) {
        const float* src = img + static_cast<std::ptrdiff_t>(clamp_index(y - 1 + r, h)) * w;
        float* dst = cols + static_cast<std::ptrdiff_t>(r) * pw;
        dst[0] = src[0];
        std::copy(src, src + w, dst + 1);
        dst[w + 1] = src[w - 1];
    }
    auto ce = [&](int a, int b) {
        float* MEFAST_RESTRICT pa = cols + static_cast<std::ptrdiff_t>(a) * pw;
        float* MEFAST_RESTRICT pb = cols + static_cast<std::ptrdiff_t>(b) * pw;
#pragma omp simd
        for (int x = 0; x < pw; ++x) {
            const float lo = std::min(pa[x], pb[x]);
            const float hi = std::max(pa[x], pb[x]);
            pa[x] = lo;
            pb[x] = hi;
        }
    };
    ce(1, 2); ce(0, 2); ce(0, 1);
}

// The 5x5 filter's output pairs q (x = 2q and 2q + 1) of a row of w, in blocks of kMedianLanes pairs.
MEFAST_INLINE int median5_blocks(int w) { return ((w + 1) / 2 + kMedianLanes - 1) / kMedianLanes; }

// Values per even (or odd) half of a padded row of the 5x5 filter: the last block's pairs read columns up to
// q + 2 of each half; rounded up to whole lanes, which split the padded rows into halves.
MEFAST_INLINE int median5_half(int w) { return (median5_blocks(w) + 1) * kMedianLanes; }

// Scratch floats of median_filter_scratch() for rows of w pixels.
std::size_t median_scratch_floats(int k, int w) {
    if (k == 5)  // 5 padded source rows of 2 halves, their 5 even and 5 odd halves (median_filter_5)
        return 20 * static_cast<std::size_t>(median5_half(w));
    return 3 * static_cast<std::size_t>(w + 2) + 2 * static_cast<std::size_t>(w);  // 3 sorted rows, 2 output rows
}

MEFAST_TARGET_CLONES void median_filter_3(float* img, int h, int w, float* scratch) {
    const int pw = w + 2;
    float* cols = scratch;          // 3 rows of pw: padded, column-sorted
    float* ring = scratch + 3 * pw;  // 2 output rows (write_back_row)
    for (int y = 0; y < h; ++y) {
        sorted_columns3(img, h, w, y, cols, pw);
        float* orow = ring + static_cast<std::ptrdiff_t>(y % 2) * w;
        for (int x0 = 0; x0 < w; x0 += kMedianLanes) {
            Lanes v[9];
            if (x0 + kMedianLanes <= w) {
                for (int c = 0; c < 3; ++c)
                    for (int r = 0; r < 3; ++r) v[c * 3 + r] = load_lanes(cols + static_cast<std::ptrdiff_t>(r) * pw + x0 + c);
            } else {  // the last block: lanes past the row repeat its last output's window
                float tmp[kMedianLanes];
                for (int c = 0; c < 3; ++c)
                    for (int r = 0; r < 3; ++r) {
                        for (int l = 0; l < kMedianLanes; ++l)
                            tmp[l] = cols[static_cast<std::ptrdiff_t>(r) * pw + std::min(x0 + l, w - 1) + c];
                        v[c * 3 + r] = load_lanes(tmp);
                    }
            }
            run_network<Median3>(v);
            const int n = std::min(kMedianLanes, w - x0);
            for (int l = 0; l < n; ++l) orow[x0 + l] = v[median_net::k3_out][l];
        }
        write_back_row(img, w, ring, y - 1);
    }
    write_back_row(img, w, ring, h - 1);
}

// The even (pairs 2i) and odd (2i + 1) values of the 2 kMedianLanes floats at p.
MEFAST_INLINE void load_deinterleaved(const float* p, Lanes& even, Lanes& odd) {
#if defined(__GNUC__) || defined(__clang__)
    const Lanes a = load_lanes(p), b = load_lanes(p + kMedianLanes);
    even = MEFAST_SHUFFLE(LaneIndex, a, b, 0, 2, 4, 6, 8, 10, 12, 14);
    odd = MEFAST_SHUFFLE(LaneIndex, a, b, 1, 3, 5, 7, 9, 11, 13, 15);
#else
    for (int l = 0; l < kMedianLanes; ++l) {
        even[l] = p[2 * l];
        odd[l] = p[2 * l + 1];
    }
#endif
}

// Lanes a and b ordered, with std::min and std::max's choice between equal values (a comparator of sort5).
MEFAST_INLINE void order_lanes(Lanes& a, Lanes& b) {
    Lanes lo, hi;
#if defined(__GNUC__) || defined(__clang__)
    lo = b < a ? b : a;
    hi = a < b ? b : a;
#else
    for (int l = 0; l < kMedianLanes; ++l) {
        lo[l] = std::min(a[l], b[l]);
        hi[l] = std::max(a[l], b[l]);
    }
#endif
    a = lo;
    b = hi;
}

// Sorts 5 values per lane: a 9-comparator network.
MEFAST_INLINE void sort5(Lanes* v) {
    order_lanes(v[0], v[1]);
    order_lanes(v[3], v[4]);
    order_lanes(v[2], v[4]);
    order_lanes(v[2], v[3]);
    order_lanes(v[0], v[3]);
    order_lanes(v[0], v[2]);
    order_lanes(v[1], v[4]);
    order_lanes(v[1], v[3]);
    order_lanes(v[1], v[2]);
}

MEFAST_TARGET_CLONES void median_filter_5(float* img, int h, int w, float* scratch) {
    constexpr int L = kMedianLanes;
    // Output pair q is x = 2q and 2q + 1; its windows span the padded columns 2q .. 2q + 5, which are the even
    // columns q .. q + 2 and the odd ones q .. q + 2. Blocks of L pairs; the rows are padded so that the last
    // block reads inside them (its outputs past w are computed from border values and not stored).
    const int blocks = median5_blocks(w);
    const int nq = median5_half(w);
    const int pw = 2 * nq;
    float* rows = scratch;        // 5 padded source rows, a ring: source row s (unclamped) in slot s mod 5
    float* even = rows + 5 * pw;  // 5 rows of nq: the even columns of the window rows, sorted down each column
    float* odd = even + 5 * nq;   // 5 rows of nq: the odd columns
    // Source row s (clamped to the image: replicated border), padded with its border values, into its slot. Each
    // is padded once, at output row s - 2, before output row s overwrites it: so the outputs go straight into img.
    auto pad = [&](int s) {
        const float* src = img + static_cast<std::ptrdiff_t>(clamp_index(s, h)) * w;
        float* dst = rows + static_cast<std::ptrdiff_t>((s + 5) % 5) * pw;
        std::fill_n(dst, 2, src[0]);
        std::copy(src, src + w, dst + 2);
        std::fill(dst + 2 + w, dst + pw, src[w - 1]);
    };
    for (int s = -2; s < 2; ++s) pad(s);
    for (int y = 0; y < h; ++y) {
        pad(y + 2);
        // The 5 window rows split into even and odd columns, each column sorted.
        const float* win[5];
        for (int r = 0; r < 5; ++r) win[r] = rows + static_cast<std::ptrdiff_t>((y + r + 3) % 5) * pw;
        for (int i0 = 0; i0 < nq; i0 += L) {
            Lanes e[5], o[5];
            for (int r = 0; r < 5; ++r) load_deinterleaved(win[r] + 2 * i0, e[r], o[r]);
            sort5(e);
            sort5(o);
            for (int r = 0; r < 5; ++r) {
                std::memcpy(even + static_cast<std::ptrdiff_t>(r) * nq + i0, &e[r], sizeof(Lanes));
                std::memcpy(odd + static_cast<std::ptrdiff_t>(r) * nq + i0, &o[r], sizeof(Lanes));
            }
        }
        float* orow = img + static_cast<std::ptrdiff_t>(y) * w;
        for (int q0 = 0; q0 < blocks * L; q0 += L) {
            // row r of padded column 2q + j, for the L pairs q = q0 .. q0 + L - 1
            auto column = [&](int j, int r) {
                const float* half = (j % 2 == 0 ? even : odd) + static_cast<std::ptrdiff_t>(r) * nq;
                return load_lanes(half + q0 + j / 2);
            };
            Lanes shared[20];  // the 4 columns both windows hold, 2q + 1 .. 2q + 4 (wire = column * 5 + row)
            for (int c = 0; c < 4; ++c)
                for (int r = 0; r < 5; ++r) shared[c * 5 + r] = column(c + 1, r);
            run_network<Shared5>(shared);
            Lanes left[11], right[11];  // ranks 7..12 of the shared values, then the window's own fifth column
            for (int i = 0; i < 6; ++i) left[i] = right[i] = shared[median_net::k5_shared_out[i]];
            for (int r = 0; r < 5; ++r) {
                left[6 + r] = column(0, r);
                right[6 + r] = column(5, r);
            }
            run_network<Select5>(left);
            run_network<Select5>(right);
            const int x0 = 2 * q0;
            store_interleaved(orow + x0, left[median_net::k5_select_out], right[median_net::k5_select_out],
                              std::min(2 * L, w - x0));
        }
    }
}

void median_filter_scratch(float* img, int h, int w, int k, float* scratch) {
    if (k == 5)
        median_filter_5(img, h, w, scratch);
    else if (k == 3)
        median_filter_3(img, h, w, scratch);
}

// ---------------------------------------------------------------------------------------------------------
// Gradient and warping

// Centred differences with one-sided (halved) differences on the border, as OpenCV's DualTVL1.
// Writes an interleaved image: (I, dI/dx, dI/dy, 0) per pixel.
void interleave_with_gradient(const float* I, int h, int w, float* out4) {
    for (int y = 0; y < h; ++y) {
        const float* r = I + static_cast<std::ptrdiff_t>(y) * w;
        const float* up = I + static_cast<std::ptrdiff_t>(std::max(y - 1, 0)) * w;
        const float* dn = I + static_cast<std::ptrdiff_t>(std::min(y + 1, h - 1)) * w;
        float* o = out4 + static_cast<std::ptrdiff_t>(y) * w * 4;
        for (int x = 0; x < w; ++x) {
            const int xl = std::max(x - 1, 0), xr = std::min(x + 1, w - 1);
            o[4 * x + 0] = r[x];
            o[4 * x + 1] = 0.5f * (r[xr] - r[xl]);
            o[4 * x + 2] = 0.5f * (dn[x] - up[x]);
            o[4 * x + 3] = 0.0f;
        }
    }
}

// Warp I1 (and its gradient) by the current flow and linearise the data term around it:
// ix, iy = grad I1(x + u), grad = |grad I1(x + u)|^2 (+ gamma^2), rho_c = I1(x + u) - grad I1 . u - I0.
// The three channels are interpolated together: each tap is one 4-float load of the interleaved image.
#if defined(__GNUC__) || defined(__clang__)
typedef float Quad __attribute__((vector_size(4 * sizeof(float))));
MEFAST_INLINE Quad load_quad(const float* p) {
    Quad q;
    std::memcpy(&q, p, sizeof(Quad));
    return q;
}
#else
struct Quad {
    float v[4];
    float& operator[](int i) { return v[i]; }
    float operator[](int i) const { return v[i]; }
    Quad operator*(float s) const { Quad r; for (int c = 0; c < 4; ++c) r.v[c] = v[c] * s; return r; }
    Quad& operator+=(const Quad& o) { for (int c = 0; c < 4; ++c) v[c] += o.v[c]; return *this; }
    Quad operator+(const Quad& o) const { Quad r = *this; r += o; return r; }
};
MEFAST_INLINE Quad load_quad(const float* p) {
    Quad q;
    for (int c = 0; c < 4; ++c) q.v[c] = p[c];
    return q;
}
#endif

// The 4 taps of one pixel in one row of the interleaved image: 16 contiguous floats (4 taps x 4 channels).
#if defined(__GNUC__) || defined(__clang__)
typedef float Taps __attribute__((vector_size(16 * sizeof(float))));
#else
struct Taps {
    float v[16] = {};
    float operator[](int i) const { return v[i]; }
    Taps operator*(float s) const { Taps r; for (int c = 0; c < 16; ++c) r.v[c] = v[c] * s; return r; }
    Taps operator+(const Taps& o) const { Taps r; for (int c = 0; c < 16; ++c) r.v[c] = v[c] + o.v[c]; return r; }
};
#endif
MEFAST_INLINE Taps load_taps(const float* p) {
    Taps t;
    std::memcpy(&t, p, sizeof(Taps));
    return t;
}
MEFAST_INLINE Quad quad_of(const Taps& t, int i) { return Quad{t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]}; }

MEFAST_INLINE void cubic_weights4(float t, float& w0, float& w1, float& w2, float& w3) {
    float c[4];
    cubic_weights(t, c);
    w0 = c[0];
    w1 = c[1];
    w2 = c[2];
    w3 = c[3];
}

// Whether all 4 x 4 taps of pixel x (sample at xs[x], ys[x]) lie inside the h x w image.
MEFAST_INLINE bool taps_inside(const int* xs, const int* ys, int x, int w, int h) {
    return xs[x] >= 1 && ys[x] >= 1 && xs[x] + 2 < w && ys[x] + 2 < h;
}

// The 4 x 4 taps of pixel x (around its sample at xs[x], ys[x] plus its fractions) weighted down each column by
// the vertical weights wy (4 planes of w) and summed: 4 taps x 4 channels. The taps must lie inside the image.
MEFAST_INLINE Taps vertical_taps(const float* I1c, int w, const float* wy, const int* xs, const int* ys, int x) {
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(w) * 4;
    const float* base = I1c + (ys[x] - 1) * stride + 4 * (xs[x] - 1);
    return load_taps(base) * wy[x] + load_taps(base + stride) * wy[w + x] +
           load_taps(base + 2 * stride) * wy[2 * w + x] + load_taps(base + 3 * stride) * wy[3 * w + x];
}

// The samples (I, dI/dx, dI/dy, 0) of pixel x into qs[4x .. 4x + 3]: bicubic over the 4 x 4 taps, vertically and
// then horizontally (wx, wy: 4 planes of w weights each); past the image's border the taps are clamped.
MEFAST_INLINE void warp_pixel(const float* I1c, int w, int h, const float* wx, const float* wy, const int* xs,
                              const int* ys, int x, float* qs) {
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(w) * 4;
    const int xi = xs[x], yi = ys[x];
    const float wx0 = wx[x], wx1 = wx[w + x], wx2 = wx[2 * w + x], wx3 = wx[3 * w + x];
    Quad acc;
    if (taps_inside(xs, ys, x, w, h)) {
        const Taps col = vertical_taps(I1c, w, wy, xs, ys, x);
        acc = quad_of(col, 0) * wx0 + quad_of(col, 1) * wx1 + quad_of(col, 2) * wx2 + quad_of(col, 3) * wx3;
    } else {
        const float wxv[4] = {wx0, wx1, wx2, wx3}, wyv[4] = {wy[x], wy[w + x], wy[2 * w + x], wy[3 * w + x]};
        acc = Quad{0.0f, 0.0f, 0.0f, 0.0f};
        for (int i = 0; i < 4; ++i) {
            const std::ptrdiff_t cx = 4 * static_cast<std::ptrdiff_t>(clamp_index(xi - 1 + i, w));
            Quad c = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int j = 0; j < 4; ++j) c += load_quad(I1c + clamp_index(yi - 1 + j, h) * stride + cx) * wyv[j];
            acc += c * wxv[i];
        }
    }
    std::memcpy(qs + 4 * static_cast<std::ptrdiff_t>(x), &acc, sizeof(Quad));
}

#if defined(__GNUC__) || defined(__clang__)
// The tap columns of 4 pixels (c[p]: taps 0..3 of pixel p, 4 channels each) regrouped by tap: t[i] holds tap i of
// pixels 0, 1, 2, 3 (a transpose of 4 x 4 blocks of 4 floats).
MEFAST_INLINE void taps_by_tap(const Taps c[4], Taps t[4]) {
    const Taps p = MEFAST_SHUFFLE(TapIndex, c[0], c[1], 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const Taps q = MEFAST_SHUFFLE(TapIndex, c[0], c[1], 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    const Taps r = MEFAST_SHUFFLE(TapIndex, c[2], c[3], 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const Taps s = MEFAST_SHUFFLE(TapIndex, c[2], c[3], 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    t[0] = MEFAST_SHUFFLE(TapIndex, p, r, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    t[1] = MEFAST_SHUFFLE(TapIndex, p, r, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    t[2] = MEFAST_SHUFFLE(TapIndex, q, s, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    t[3] = MEFAST_SHUFFLE(TapIndex, q, s, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
}

// w[0..3] spread over 16 lanes, each 4 times: one horizontal weight per pixel for its 4 channels. Reads w[0..15],
// which at pixel x <= w - 4 of a horizontal weight plane stays inside warp_and_linearise's scratch of 14 w floats
// (the vertical weights and the rest follow the horizontal ones).
MEFAST_INLINE Taps spread_weights(const float* w) {
    const Taps v = load_taps(w);
    return MEFAST_SHUFFLE(TapIndex, v, v, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
}
#endif

// Per row: first the sample positions and cubic weights of every pixel (a loop that vectorises), then per pixel
// the 4 x 4 taps, each row of taps one 16-float load, weighted vertically and then horizontally, into a row of
// (I, Ix, Iy) samples, and last the linearised data term of the row from them (a loop that vectorises).
// held_u3: an illumination field held fixed on this level (null: none), whose term held_gamma * u3 enters rho_c
// as a constant (rho = rho_c + grad I1 . u + gamma u3; the CUDA WarpOp does the same).
MEFAST_TARGET_CLONES void warp_and_linearise(const float* I0, const float* I1c, const float* u1, const float* u2,
                                             int h, int w, float gamma, const float* held_u3, float held_gamma,
                                             float* MEFAST_RESTRICT ix, float* MEFAST_RESTRICT iy,
                                             float* MEFAST_RESTRICT grad, float* MEFAST_RESTRICT rho_c,
                                             float* MEFAST_RESTRICT scratch) {
    const float gamma2 = gamma * gamma;
    float* MEFAST_RESTRICT wx = scratch;          // 4 planes of w: horizontal weights
    float* MEFAST_RESTRICT wy = scratch + 4 * w;  // 4 planes of w: vertical weights
    int* MEFAST_RESTRICT xs = reinterpret_cast<int*>(scratch + 8 * w);
    int* MEFAST_RESTRICT ys = reinterpret_cast<int*>(scratch + 9 * w);
    float* MEFAST_RESTRICT qs = scratch + 10 * w;  // 4 floats per pixel: I, dI/dx, dI/dy at the warped position
    for (int y = 0; y < h; ++y) {
        const std::ptrdiff_t o = static_cast<std::ptrdiff_t>(y) * w;
        const float* MEFAST_RESTRICT a1 = u1 + o;
        const float* MEFAST_RESTRICT a2 = u2 + o;
        float* MEFAST_RESTRICT wx0p = wx;
        float* MEFAST_RESTRICT wx1p = wx + w;
        float* MEFAST_RESTRICT wx2p = wx + 2 * w;
        float* MEFAST_RESTRICT wx3p = wx + 3 * w;
        float* MEFAST_RESTRICT wy0p = wy;
        float* MEFAST_RESTRICT wy1p = wy + w;
        float* MEFAST_RESTRICT wy2p = wy + 2 * w;
        float* MEFAST_RESTRICT wy3p = wy + 3 * w;
        const float fw = static_cast<float>(w + 1), fh = static_cast<float>(h + 1), fyy = static_cast<float>(y);
#pragma omp simd
        for (int x = 0; x < w; ++x) {
            float fx = static_cast<float>(x) + a1[x];
            float fy = fyy + a2[x];
            // Clamped with NaN mapped to -2 (std::max(-2, NaN) is -2): a NaN flow must not reach the float ->
            // int conversion below, which is undefined for NaN.
            fx = std::min(std::max(-2.0f, fx), fw);
            fy = std::min(std::max(-2.0f, fy), fh);
            const float flx = std::floor(fx), fly = std::floor(fy);
            xs[x] = static_cast<int>(flx);
            ys[x] = static_cast<int>(fly);
            cubic_weights4(fx - flx, wx0p[x], wx1p[x], wx2p[x], wx3p[x]);
            cubic_weights4(fy - fly, wy0p[x], wy1p[x], wy2p[x], wy3p[x]);
        }
        int x = 0;
#if defined(__GNUC__) || defined(__clang__)
        // Four pixels at a time when all four sample inside the image: each one's 4 rows of taps weighted
        // vertically as below, then the four regrouped by tap (taps_by_tap), so that the horizontal weighting is
        // 4 multiply-adds on 16 lanes (4 pixels x 4 channels) instead of 16 on 4 lanes: the same operations per
        // value, in the same order, as one pixel at a time.
        for (; x + 4 <= w; x += 4) {
            bool inside = true;
            for (int p = 0; p < 4; ++p) inside = inside && taps_inside(xs, ys, x + p, w, h);
            if (!inside) {
                for (int p = 0; p < 4; ++p) warp_pixel(I1c, w, h, wx, wy, xs, ys, x + p, qs);
                continue;
            }
            Taps col[4];
            for (int p = 0; p < 4; ++p) col[p] = vertical_taps(I1c, w, wy, xs, ys, x + p);
            Taps t[4];
            taps_by_tap(col, t);
            const Taps acc = t[0] * spread_weights(wx + x) + t[1] * spread_weights(wx + w + x) +
                             t[2] * spread_weights(wx + 2 * w + x) + t[3] * spread_weights(wx + 3 * w + x);
            std::memcpy(qs + 4 * static_cast<std::ptrdiff_t>(x), &acc, sizeof(Taps));
        }
#endif
        for (; x < w; ++x) warp_pixel(I1c, w, h, wx, wy, xs, ys, x, qs);
        const float* MEFAST_RESTRICT i0 = I0 + o;
        float* MEFAST_RESTRICT oix = ix + o;
        float* MEFAST_RESTRICT oiy = iy + o;
        float* MEFAST_RESTRICT ogr = grad + o;
        float* MEFAST_RESTRICT orc = rho_c + o;
        const float* MEFAST_RESTRICT hu3 = held_u3 != nullptr ? held_u3 + o : nullptr;
        auto linearise = [&](auto held) {  // one loop each with and without a held field, so both vectorise
#pragma omp simd
            for (int x = 0; x < w; ++x) {
                const float gx = qs[4 * x + 1], gy = qs[4 * x + 2];
                oix[x] = gx;
                oiy[x] = gy;
                ogr[x] = gx * gx + gy * gy + gamma2;
                const float rho = qs[4 * x] - gx * a1[x] - gy * a2[x] - i0[x];
                orc[x] = decltype(held)::value ? hold_illumination(rho, held_gamma, hu3[x]) : rho;
            }
        };
        if (hu3 != nullptr)
            linearise(std::true_type{});
        else
            linearise(std::false_type{});
    }
}

// ---------------------------------------------------------------------------------------------------------
// The fused primal-dual sweep

struct State {
    int h = 0, w = 0;
    const float* ix = nullptr;
    const float* iy = nullptr;
    const float* grad = nullptr;
    const float* rho_c = nullptr;
    float* u1 = nullptr;
    float* u2 = nullptr;
    float* u3 = nullptr;
    float* p11 = nullptr;
    float* p12 = nullptr;
    float* p21 = nullptr;
    float* p22 = nullptr;
    float* p31 = nullptr;
    float* p32 = nullptr;
    const float* zeros = nullptr;  // a row of w zeros: the dual variable "above" row 0
    float lt = 0, theta = 0, taut = 0, gamma = 0;
};

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

MEFAST_TARGET_CLONES double sweeps(const State& s, int n, double eps, double error) {
    return sweeps_impl<false>(s, n, eps, error);
}
MEFAST_TARGET_CLONES double sweeps_gamma(const State& s, int n, double eps, double error) {
    return sweeps_impl<true>(s, n, eps, error);
}

// ---------------------------------------------------------------------------------------------------------
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
        const std::size_t wsz = 14 * static_cast<std::size_t>(w);
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

void median_filter(float* img, int h, int w, int k) {
    if (k != 3 && k != 5) throw std::invalid_argument("median filter size must be 3 or 5, got " + str(k));
    if (h <= 0 || w <= 0) return;  // nothing to filter (the kernel would read the border of an empty row)
    Plane scratch(median_scratch_floats(k, w));
    median_filter_scratch(img, h, w, k, scratch.data());
}

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
