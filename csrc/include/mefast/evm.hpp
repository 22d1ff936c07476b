// Eulerian video magnification (Wu et al., SIGGRAPH 2012), linear version: spatial decomposition (Laplacian or
// Gaussian pyramid, or none), temporal band-pass per coefficient, amplification per level, chroma attenuation in
// YIQ, reconstruction. Frames of any size (pyramid levels keep the even samples, ceil(n / 2)).
//
// Video layout: (T, H, W, C) interleaved, C = 1 (grey) or 3 (RGB), values in [0, 1] (float) or [0, 255] (uint8).
// Coefficient layout: (T, C, P) float32, C planes in YIQ order (Y only for grey), P = Representation::size().
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mefast/evm_pixel.hpp"

namespace mefast::evm {

enum class Pyramid : int { none = 0, laplacian = 1, gaussian = 2 };
/// Causal temporal filters run in the core; `external` means the caller supplies the band (the ideal FFT filter).
enum class Temporal : int { iir = 0, butter = 1, diff = 2, external = 3 };

struct Params {
    Pyramid pyramid = Pyramid::laplacian;
    int levels = 1;                 // laplacian: levels including the residual (>= 1); gaussian: decimations (>= 0)
    std::vector<float> alphas;      // laplacian: one per level, finest first; none/gaussian: one value
    Temporal temporal = Temporal::iir;
    float r1 = 0.4f, r2 = 0.05f;    // iir
    double high_b0 = 0, high_b1 = 0, high_a1 = 0;  // butter: low-pass at the upper cutoff
    double low_b0 = 0, low_b1 = 0, low_a1 = 0;     // butter: low-pass at the lower cutoff
    float chroma_attenuation = 0.1f;  // gain on the I and Q bands (colour only)
    bool clip = true;                 // clip the output to [0, 1] (uint8 output always saturates)
};

/// matlabPyrTools' 'auto' height with binom5: 1 + the number of floor-halvings of (h, w) while both are >= 5.
int auto_levels(int h, int w);

/// Per-level amplification of a Laplacian pyramid of `levels` levels on an h x w frame [M]: representative
/// wavelength sqrt(h^2 + w^2) / 3 at the residual, halved per finer level; band_alpha() of it; finest band and
/// residual 0. Throws std::invalid_argument unless 1 <= levels <= 30 (EVMParams' bound) and lambda_c > 0.
std::vector<float> level_alphas(int h, int w, int levels, double alpha, double lambda_c, double exaggeration);

/// Throws std::invalid_argument naming the first parameter of p that is invalid (independent of the frame size).
void validate(const Params& p);

/// validate(p), and frames of h x w of at least 1 x 1.
void validate(const Params& p, int h, int w);

/// The spatial decomposition of one h x w plane.
class Representation {
   public:
    Representation(int h, int w, const Params& p);
    /// Coefficients per plane.
    std::ptrdiff_t size() const { return size_; }
    /// Floats of scratch memory decompose/reconstruct_add need.
    std::ptrdiff_t scratch_size() const { return scratch_; }
    /// coeffs <- D(plane).
    void decompose(const float* plane, float* coeffs, float* scratch) const;
    /// coeffs *= gain x the amplification of each coefficient's level.
    void amplify(float* coeffs, float gain) const;
    /// plane += R(coeffs), the image-domain signal of the (amplified) band; plane = R(coeffs) when !accumulate.
    void reconstruct_add(const float* coeffs, float* plane, float* scratch, bool accumulate = true) const;

    struct Level {
        int h, w;
        std::ptrdiff_t offset;  // into the coefficient vector; -1 when the level is not stored
    };
    struct Taps {  // one output sample of a 1-D resampling: up to 5 source indices and weights
        int idx[5];
        float wt[5];
    };

   private:
    int h_, w_;
    Pyramid pyramid_;
    std::vector<Level> levels_;           // sizes of every Gaussian level 0..L-1 (all pyramids)
    std::vector<float> alphas_;           // per stored level (or one)
    int lo_ = 0, hi_ = -1;                // stored Laplacian levels lo..hi (empty when hi < lo)
    std::ptrdiff_t size_ = 0, scratch_ = 0;
    // Resampling tables per level transition l -> l + 1 (reduce) and l + 1 -> l (expand), rows and columns.
    std::vector<std::vector<Taps>> red_r_, red_c_, exp_r_, exp_c_;
    // Gaussian path: bicubic resize from the decimated level back to h x w.
    std::vector<Taps> cub_r_, cub_c_;

    void reduce(const float* src, int l, float* dst, float* tmp) const;
    void expand(const float* src, int l, float* dst, float* tmp) const;  // level l+1 -> level l size
};

/// coeffs (T, C, P) <- the decomposition of each frame's YIQ planes (grey: one plane).
template <class T>
void decompose_video(const T* video, int t, int h, int w, int c, const Params& p, int n_threads, float* coeffs);

/// out <- video + the reconstruction of band (T, C, P), which is amplified in place first (alpha per level x
/// chroma attenuation on I, Q). Converted back to RGB, clipped, rounded for uint8.
template <class T>
void add_band(const T* video, int t, int h, int w, int c, const Params& p, float* band, int n_threads, T* out);

/// The whole causal pipeline (temporal iir, butter or diff): decomposition, filter, amplification,
/// reconstruction, in chunks of frames with the filter states carried over. Frame 0 is returned unchanged.
template <class T>
void magnify_causal(const T* video, int t, int h, int w, int c, const Params& p, int n_threads, T* out);

/// Two-frame magnification: out = frame1 + R(alpha_l (D(frame1) - D(frame0))).
template <class T>
void magnify_pair(const T* frame0, const T* frame1, int h, int w, int c, const Params& p, T* out);

}  // namespace mefast::evm
