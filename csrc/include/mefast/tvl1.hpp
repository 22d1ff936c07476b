// TV-L1 optical flow on the CPU: coarse-to-fine pyramid, warping, primal-dual iterations, median filtering
// and epsilon stopping, with OpenCV DualTVL1OpticalFlow's parameters and semantics.
#pragma once

#include <cstddef>
#include <memory>

#include "mefast/tvl1_params.hpp"

namespace mefast::tvl1 {

// Params, its rules (validate, validate_size) and effective_scales: one header, tvl1_params.hpp.

/// Flow from I0 to I1 (both h x w, row-major float32, grey levels in [0, 255]).
/// flow: h x w x 2 (u, v); I1(x + u, y + v) ~ I0(x, y). Single-threaded; thread-safe.
void compute(const float* I0, const float* I1, int h, int w, const Params& p, float* flow);

/// A reusable TV-L1 computer that keeps its buffers between calls (as OpenCV's DualTVL1OpticalFlow object does),
/// so a sequence of pairs allocates and faults in its memory once. Calls on one object are serialised.
class Engine {
public:
    explicit Engine(const Params& p);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    /// Flow of each pair (frames[i0[k]] -> frames[i1[k]]) of an n x h x w stack, one pair after the other.
    void compute_pairs(const float* frames, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n_pairs,
                       float* flows);
    const Params& params() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Median filter of an h x w image in place (k = 3 or 5, replicated border); exposed for tests.
void median_filter(float* img, int h, int w, int k);

/// Many pairs on a thread pool: pair k is (frames[i0[k]], frames[i1[k]]), each frame h x w.
/// flows: n_pairs x h x w x 2. Runs on n_threads threads (<= 0: all cores).
void compute_pairs(const float* frames, int h, int w, const int* i0, const int* i1, std::ptrdiff_t n_pairs,
                   const Params& p, int n_threads, float* flows);

/// Flows from one reference frame to each of n frames (all h x w): flows[k] is reference -> frames[k], n x h x w x 2.
/// The reference's pyramid is built once for all pairs.
/// chain <= 0: every flow is compute()'s, bit for bit.
/// chain >= 1: warm start. The frames are cut into runs of `chain` consecutive frames (the last may be shorter);
/// the first flow of a run is compute()'s, every other one starts from the previous frame's flow at the finest
/// level only (no coarser levels: the previous flow already holds the motion so far) and then runs p.warps warps
/// with the same iterations and stopping rule. Runs are independent, so the result does not depend on n_threads.
/// Runs on n_threads threads (<= 0: all cores): pairs in parallel when cold, runs in parallel when warm.
void compute_from_reference(const float* reference, const float* frames, std::ptrdiff_t n, int h, int w,
                            const Params& p, std::ptrdiff_t chain, int n_threads, float* flows);

}  // namespace mefast::tvl1
