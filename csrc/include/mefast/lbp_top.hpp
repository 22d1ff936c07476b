// LBP-TOP (Zhao & Pietikainen 2007): block histograms of local binary patterns on three orthogonal planes of a
// (T, H, W) clip. Shared spec section 2 gives the definitions; mefast offers the clean definition ("paper") and
// a mode that reproduces MEB's LBPTOP bin for bin ("meb").
//
// Feature layout (length time_blocks * rows * cols * 3 * bins): blocks in order (time block, row, col) with col
// fastest; per block the XY, XT and YT histograms, each `bins` long, where bins is the largest bin count of the
// three planes' mappings (planes with fewer bins are zero-padded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mefast/common.hpp"
#include "mefast/lbp_pixel.hpp"

namespace mefast::lbp {

enum class Mapping : int { none = 0, u2 = 1, riu2 = 2 };
enum class Sampling : int { rounded = 0, bilinear = 1 };
enum class Ordering : int { orig = 0, block = 1 };  // sampling geometry of LBPTOP-orig / LBPTOP-block and MEB
enum class Mode : int { paper = 0, meb = 1 };
enum class Normalize : int { none = 0, per_block_plane = 1, per_plane = 2, global_l1 = 3 };

constexpr int kMaxPoints = 16;
constexpr int kMaxBlocks = 65535;  // rows, cols and time_blocks (their product and the feature length also <= INT_MAX)

struct Params {
    int radius[3] = {3, 3, 3};  // R_X, R_Y, R_T (integers >= 1)
    int points[3] = {8, 8, 8};  // P_XY, P_XT, P_YT (3..16)
    int rows = 8, cols = 8, time_blocks = 1;  // 1..kMaxBlocks each
    double overlap = 0.0;  // in [0, 1)
    Mapping mapping = Mapping::u2;
    Sampling sampling = Sampling::rounded;
    Ordering ordering = Ordering::orig;
    Mode mode = Mode::paper;
    Normalize normalize = Normalize::per_block_plane;
};

/// Throws std::invalid_argument naming the first invalid parameter.
void validate(const Params& p);

/// Code -> bin table of a P-bit pattern (P in 3..16) and its number of bins: u2 (uniform codes numbered in
/// increasing code order, all others in the last bin: P(P-1)+3 bins), riu2 (number of ones for uniform codes,
/// P+1 for the rest: P+2 bins) or none (identity, 2^P bins).
std::vector<std::uint16_t> mapping_table(int P, Mapping m, int* n_bins);

/// Bins per plane histogram (the largest of the three planes) and the feature length.
int bins_per_plane(const Params& p);
std::ptrdiff_t feature_length(const Params& p);

/// Everything that depends on the clip shape: sampling offsets, mapping tables and block membership. make_plan
/// validates the shape against the parameters and throws std::invalid_argument with `what` (e.g. "video" or
/// "videos[3]") in the message.
struct Plan {
    Params p;
    int T = 0, H = 0, W = 0;
    int border = 0, time_border = 0;  // spatial border B = max(R_X, R_Y), temporal border L_T = R_T
    int Hi = 0, Wi = 0, Tc = 0;       // centre rows, columns and frames
    int bins = 0;
    int n_blocks = 0;
    std::vector<std::uint16_t> table[3];         // per plane (meb: YT indexes the XT table, as MEB does)
    std::ptrdiff_t off[3][kMaxPoints] = {};      // rounded sampling: element offsets from the centre
    // Paper mode rounds each offset, floor(offset + 0.5). meb mode rounds the absolute coordinate, floor(c +
    // offset + 0.5) with c MEB's 1-based column and row and 0-based frame (spec 2.3). Where an offset is a
    // half-integer up to float noise (P = 6 or 12 with R = 1 or 3, ...) that depends on c: off then holds the
    // rounding at the last centre position along the axis, and shift_x, shift_y, shift_t what the centre's
    // column, row and frame add to it (non-zero only where c is small enough to keep the noise: within the first
    // 30 positions for R <= 8), in elements, at [(q * kMaxPoints + k) * n + position] for n = Wi, Hi, Tc. A
    // vector is empty when no tap varies along its axis (always in paper mode, and for P = 4, 8, 16).
    std::vector<std::ptrdiff_t> shift_x, shift_y, shift_t;
    bool shifted = false;                        // any of shift_x, shift_y, shift_t is in use
    BilinearTap taps[3][kMaxPoints] = {};        // bilinear sampling
    // Block membership. legacy (meb): per position the cur and new block, spec 2.6/2.7; rect (paper): per
    // position the first and last block containing it.
    std::vector<int> row_a, row_b, col_a, col_b, t_a, t_b;
};

Plan make_plan(const Params& p, int T, int H, int W, const std::string& what);

/// Normalise a clip's raw block histograms (plan.n_blocks * 3 * plan.bins counts) into the feature vector, as
/// params.normalize says. Shared by the CPU path and the CUDA module (which counts on the device).
void finalize(const std::uint32_t* hist, const Plan& plan, float* out);

/// One clip of Plan's shape -> out[feature_length]. V is std::uint8_t or float. Frames are split among
/// n_threads threads (<= 0: all cores).
template <class V>
void compute(const V* clip, const Plan& plan, int n_threads, float* out);

/// Many clips, each with its own plan (shapes may differ), run on a pool of n_threads threads: one clip per
/// thread when there are enough clips, else the frames of each clip are split among the threads.
struct ClipRef {
    const void* data;
    bool is_uint8;  // else float
    const Plan* plan;
};
void compute_batch(const ClipRef* clips, std::ptrdiff_t n, int n_threads, float* out);

/// Raw codes (before mapping) of every centre voxel: out[(Tc, Hi, Wi, 3)], planes XY, XT, YT.
template <class V>
void codes(const V* clip, const Plan& plan, std::uint16_t* out);

}  // namespace mefast::lbp
