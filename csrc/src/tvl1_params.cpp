// The rules of tvl1::Params: the only place they are written. The Python dataclass mefast.TVL1Params builds the
// bound struct and calls validate(); the bindings of every backend call validate() and validate_size().
#include <charconv>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "mefast/tvl1.hpp"

namespace mefast::tvl1 {
namespace {

// A float32 value as Python's repr() writes the float it came from (shortest round trip, "1.0", "1e-05",
// "1000000000.0"), so a message names the value the user passed.
std::string repr(float v) {
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
std::string repr(int v) { return std::to_string(v); }

template <class T>
[[noreturn]] void bad(const char* name, T value, const char* rule) {
    throw std::invalid_argument(std::string("TV-L1 parameter ") + name + "=" + repr(value) + " is invalid: " + rule);
}

}  // namespace

void validate(const Params& p) {
    // Names are the Python attribute names of the bound struct (lambda_, as in mefast.TVL1Params).
    if (!(p.tau > 0.0f && std::isfinite(p.tau))) bad("tau", p.tau, "must be > 0");
    if (p.tau > 0.25f + 1e-6f) bad("tau", p.tau, "must be <= 0.25 for the dual ascent to converge");
    if (!(p.lambda > 0.0f && std::isfinite(p.lambda))) bad("lambda_", p.lambda, "must be > 0");
    if (!(p.theta > 0.0f && std::isfinite(p.theta))) bad("theta", p.theta, "must be > 0");
    if (!(p.gamma >= 0.0f && std::isfinite(p.gamma))) bad("gamma", p.gamma, "must be >= 0");
    if (p.nscales < 1) bad("nscales", p.nscales, "must be >= 1");
    if (p.warps < 1) bad("warps", p.warps, "must be >= 1");
    if (!(p.epsilon >= 0.0f && std::isfinite(p.epsilon))) bad("epsilon", p.epsilon, "must be >= 0");
    if (p.inner_iterations < 1) bad("inner_iterations", p.inner_iterations, "must be >= 1");
    if (p.outer_iterations < 1) bad("outer_iterations", p.outer_iterations, "must be >= 1");
    if (!(p.scale_step > 0.0f && p.scale_step < 1.0f)) bad("scale_step", p.scale_step, "must be in (0, 1)");
    if (p.median_filtering != 1 && p.median_filtering != 3 && p.median_filtering != 5)
        bad("median_filtering", p.median_filtering, "must be 1 (off), 3 or 5");
    if (!(p.presmooth_sigma >= 0.0f && p.presmooth_sigma <= 50.0f))
        bad("presmooth_sigma", p.presmooth_sigma, "must be in [0, 50]");
    if (p.min_size < 4) bad("min_size", p.min_size, "must be >= 4");
}

int effective_scales(const Params& p, int h, int w) {
    int levels = 1;
    double lh = h, lw = w;
    for (int s = 1; s < p.nscales; ++s) {
        lh = std::lround(lh * p.scale_step);
        lw = std::lround(lw * p.scale_step);
        if (lh < p.min_size || lw < p.min_size) break;
        ++levels;
    }
    return levels;
}

void validate_size(const Params& p, int h, int w) {
    if (h < 3 || w < 3) {
        std::ostringstream os;
        os << "frames of shape (" << h << ", " << w << ") are too small: TV-L1 needs at least 3 x 3 pixels";
        throw std::invalid_argument(os.str());
    }
    const int levels = effective_scales(p, h, w);
    if (levels < p.nscales && !p.adapt_scales) {
        std::ostringstream os;
        os << "frames of " << h << " x " << w << " px are too small for nscales=" << p.nscales
           << " with scale_step=" << repr(p.scale_step) << " (each level must keep both sides >= " << p.min_size
           << " px): use nscales=" << levels << " or less, or adapt_scales=True";
        throw std::invalid_argument(os.str());
    }
}

}  // namespace mefast::tvl1
