// TV-L1 optical flow on the CPU: coarse-to-fine pyramid, warping, primal-dual iterations, median filtering
// and epsilon stopping, with OpenCV DualTVL1OpticalFlow's parameters and semantics.
#pragma once

#include <cstddef>
#include <memory>

namespace mefast::tvl1 {

struct Params {
    float tau = 0.25f;             // time step of the dual ascent
    float lambda = 0.15f;          // weight of the data term
    float theta = 0.3f;            // coupling of u and v
    float gamma = 0.0f;            // weight of the illumination term (0: none)
    int nscales = 5;               // pyramid levels (fewer when a level would fall below min_size)
    int warps = 5;                 // warps per level
    float epsilon = 0.01f;         // stop when the mean squared update is below epsilon^2
    int inner_iterations = 30;     // iterations between two median filterings
    int outer_iterations = 10;     // median filterings per warp
    float scale_step = 0.8f;       // size ratio of two pyramid levels
    int median_filtering = 5;      // median filter size applied to the flow (1: none; 3 or 5)
    float presmooth_sigma = 0.0f;  // Gaussian smoothing of both input images (IPOL uses 0.8)
    bool pyramid_smoothing = false;  // Gaussian anti-aliasing before each downsampling (IPOL style)
    int min_size = 16;             // coarsest level must keep both sides >= min_size
    bool adapt_scales = false;     // use fewer levels than nscales on small frames instead of refusing them
};
// Bound to Python as mefast._core.TVL1Params (csrc/bindings/register_flow.cpp, one line per field) and built once
// by mefast.TVL1Params. A new parameter: a member here, its rule in validate(), its binding line and its
// dataclass field; tests/flow check that the dataclass and the bound struct have the same fields.

/// Throw std::invalid_argument naming the parameter (by its Python name) when a value is out of range.
void validate(const Params& p);

/// Throw std::invalid_argument when h x w frames cannot be flowed with p: smaller than 3 x 3, or too small for
/// p.nscales levels while !p.adapt_scales.
void validate_size(const Params& p, int h, int w);

/// Number of pyramid levels actually used for an h x w image.
int effective_scales(const Params& p, int h, int w);

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

}  // namespace mefast::tvl1
