// The median filters of the CPU TV-L1's flow (tvl1_internal.hpp lists the files).

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "mefast/common.hpp"
#include "mefast/median_networks.hpp"
#include "mefast/tvl1.hpp"
#include "mefast/tvl1_pixel.hpp"
#include "tvl1_internal.hpp"

namespace mefast::tvl1::detail {
namespace {

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
// Indices for MEFAST_SHUFFLE (tvl1_internal.hpp) of two Lanes.
typedef int LaneIndex __attribute__((vector_size(kMedianLanes * sizeof(int))));
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
                    for (int r = 0; r < 3; ++r)
                        v[c * 3 + r] = load_lanes(cols + static_cast<std::ptrdiff_t>(r) * pw + x0 + c);
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

}  // namespace

// Scratch floats of median_filter_scratch() for rows of w pixels.
std::size_t median_scratch_floats(int k, int w) {
    if (k == 5)  // 5 padded source rows of 2 halves, their 5 even and 5 odd halves (median_filter_5)
        return 20 * static_cast<std::size_t>(median5_half(w));
    return 3 * static_cast<std::size_t>(w + 2) + 2 * static_cast<std::size_t>(w);  // 3 sorted rows, 2 output rows
}

void median_filter_scratch(float* img, int h, int w, int k, float* scratch) {
    if (k == 5)
        median_filter_5(img, h, w, scratch);
    else if (k == 3)
        median_filter_3(img, h, w, scratch);
}

}  // namespace mefast::tvl1::detail

namespace mefast::tvl1 {

void median_filter(float* img, int h, int w, int k) {
    if (k != 3 && k != 5) throw std::invalid_argument("median filter size must be 3 or 5, got " + std::to_string(k));
    if (h <= 0 || w <= 0) return;  // nothing to filter (the kernel would read the border of an empty row)
    detail::Plane scratch(detail::median_scratch_floats(k, w));
    detail::median_filter_scratch(img, h, w, k, scratch.data());
}

}  // namespace mefast::tvl1
