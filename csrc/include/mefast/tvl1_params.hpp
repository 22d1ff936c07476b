// TV-L1's parameters and their rules, the only place they are written: the struct (bound to Python as
// mefast._core.TVL1Params, one line per field in csrc/bindings/register_flow.cpp, built once by the dataclass
// mefast.TVL1Params) and validate(), which the dataclass and every backend's binding call. A new parameter: a
// member and its rule here, its binding line, its dataclass field (tests/flow check the two field lists match),
// and a default that does what the core did without it, listed in mefast.flow.TVL1_ADDED_FIELDS (stores record
// every field; an older store's record lacks the new one and is read with that default, so it still resumes).
#pragma once

#include <charconv>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mefast::tvl1 {

struct Params {
    float tau = 0.25f;             // time step of the dual ascent
    float lambda = 0.15f;          // weight of the data term
    float theta = 0.3f;            // coupling of u and v
    float gamma = 0.0f;            // weight of the illumination term (0: none)
    int gamma_finest_level = 0;    // finest level that updates the illumination field (0: every level)
    int nscales = 5;               // pyramid levels (fewer when a level would fall below min_size)
    int warps = 5;                 // warps per level
    int finest_warps = 0;          // warps on the full-size level (0: warps)
    int finest_inner_iterations = 0;  // inner_iterations on the full-size level (0: inner_iterations)
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

namespace detail {

// A float32 value as Python's repr() writes the float it came from (shortest round trip, "1.0", "1e-05",
// "1000000000.0"), so a message names the value the user passed.
inline std::string repr(float v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    const float a = std::fabs(v);
    const bool sci = a != 0.0f && (a < 1e-4f || a >= 1e16f);
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, sci ? std::chars_format::scientific : std::chars_format::fixed);
    std::string s(buf, r.ptr);
    if (!sci && s.find('.') == std::string::npos) s += ".0";
    return s;
}
inline std::string repr(int v) { return std::to_string(v); }

template <class T>
[[noreturn]] inline void bad(const char* name, T value, const char* rule) {
    throw std::invalid_argument(std::string("TV-L1 parameter ") + name + "=" + repr(value) + " is invalid: " + rule);
}

}  // namespace detail

/// Throw std::invalid_argument naming the parameter (by its Python name) when a value is out of range.
inline void validate(const Params& p) {
    // Names are the Python attribute names of the bound struct (lambda_, as in mefast.TVL1Params).
    if (!(p.tau > 0.0f && std::isfinite(p.tau))) detail::bad("tau", p.tau, "must be > 0");
    if (p.tau > 0.25f + 1e-6f) detail::bad("tau", p.tau, "must be <= 0.25 for the dual ascent to converge");
    if (!(p.lambda > 0.0f && std::isfinite(p.lambda))) detail::bad("lambda_", p.lambda, "must be > 0");
    if (!(p.theta > 0.0f && std::isfinite(p.theta))) detail::bad("theta", p.theta, "must be > 0");
    if (!(p.gamma >= 0.0f && std::isfinite(p.gamma))) detail::bad("gamma", p.gamma, "must be >= 0");
    if (p.gamma_finest_level < 0) detail::bad("gamma_finest_level", p.gamma_finest_level, "must be >= 0");
    if (p.nscales < 1) detail::bad("nscales", p.nscales, "must be >= 1");
    if (p.warps < 1) detail::bad("warps", p.warps, "must be >= 1");
    if (p.finest_warps < 0) detail::bad("finest_warps", p.finest_warps, "must be >= 0 (0: warps)");
    if (!(p.epsilon >= 0.0f && std::isfinite(p.epsilon))) detail::bad("epsilon", p.epsilon, "must be >= 0");
    if (p.inner_iterations < 1) detail::bad("inner_iterations", p.inner_iterations, "must be >= 1");
    if (p.finest_inner_iterations < 0)
        detail::bad("finest_inner_iterations", p.finest_inner_iterations, "must be >= 0 (0: inner_iterations)");
    if (p.outer_iterations < 1) detail::bad("outer_iterations", p.outer_iterations, "must be >= 1");
    if (!(p.scale_step > 0.0f && p.scale_step < 1.0f)) detail::bad("scale_step", p.scale_step, "must be in (0, 1)");
    if (p.median_filtering != 1 && p.median_filtering != 3 && p.median_filtering != 5)
        detail::bad("median_filtering", p.median_filtering, "must be 1 (off), 3 or 5");
    if (!(p.presmooth_sigma >= 0.0f && p.presmooth_sigma <= 50.0f))
        detail::bad("presmooth_sigma", p.presmooth_sigma, "must be in [0, 50]");
    if (p.min_size < 4) detail::bad("min_size", p.min_size, "must be >= 4");
}

/// Whether pyramid level s updates the illumination field (gamma > 0) of a solve that starts at level `start`
/// (its coarsest level, or 0 for a warm start): levels gamma_finest_level and coarser do, and so does the start
/// level always, so that a shallow pyramid (adapt_scales on small frames) or a warm-started pair, which solves
/// level 0 only, still estimates the field. The finer levels hold it.
inline bool updates_illumination(const Params& p, int s, int start) {
    return p.gamma != 0.0f && s >= (p.gamma_finest_level < start ? p.gamma_finest_level : start);
}

/// Warps on pyramid level s (0: full size).
inline int warps_on_level(const Params& p, int s) { return s == 0 && p.finest_warps > 0 ? p.finest_warps : p.warps; }

/// Iterations between two median filterings on pyramid level s (0: full size).
inline int inner_on_level(const Params& p, int s) {
    return s == 0 && p.finest_inner_iterations > 0 ? p.finest_inner_iterations : p.inner_iterations;
}

/// Number of pyramid levels actually used for an h x w image: at most nscales, each keeping both sides >= min_size
/// and smaller than the level above it on some side. A level that rounds back to its parent's size (scale_step near
/// 1: lround(49 * 0.99) == 49) ends the pyramid, so the count is bounded by the image size, not by nscales.
inline int effective_scales(const Params& p, int h, int w) {
    int levels = 1;
    double lh = h, lw = w;
    for (int s = 1; s < p.nscales; ++s) {
        const double nh = std::lround(lh * p.scale_step), nw = std::lround(lw * p.scale_step);
        if (nh < p.min_size || nw < p.min_size) break;
        if (nh == lh && nw == lw) break;
        lh = nh;
        lw = nw;
        ++levels;
    }
    return levels;
}

/// Throw std::invalid_argument when h x w frames cannot be flowed with p: smaller than 3 x 3, or too small for
/// p.nscales levels (effective_scales() < nscales) while !p.adapt_scales.
inline void validate_size(const Params& p, int h, int w) {
    if (h < 3 || w < 3) {
        std::ostringstream os;
        os << "frames of shape (" << h << ", " << w << ") are too small: TV-L1 needs at least 3 x 3 pixels";
        throw std::invalid_argument(os.str());
    }
    const int levels = effective_scales(p, h, w);
    if (levels < p.nscales && !p.adapt_scales) {
        std::ostringstream os;
        os << "frames of " << h << " x " << w << " px are too small for nscales=" << p.nscales
           << " with scale_step=" << detail::repr(p.scale_step) << " (each level must keep both sides >= " << p.min_size
           << " px): use nscales=" << levels << " or less, or adapt_scales=True";
        throw std::invalid_argument(os.str());
    }
}

}  // namespace mefast::tvl1
