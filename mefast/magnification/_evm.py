"""Eulerian video magnification (Wu et al., SIGGRAPH 2012), linear version, in the C++ core.

The spatial decomposition, the causal temporal filters (``iir``, ``butter``, ``diff``), the amplification per level,
the chroma attenuation and the reconstruction run in the C++ core without the GIL; the ``ideal`` filter, which
needs the whole clip, is an FFT over the core's coefficient stack.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .._twins import some_options_of
from .._validation import check_finite, check_float32_range, check_numeric, check_unit_range, core_threads
from ..errors import ShapeError

__all__ = ["EVM_PRESETS", "evm", "evm_level_alphas", "evm_pair", "laplacian_pyramid", "reconstruct_pyramid"]

Temporal = Literal["iir", "butter", "ideal", "diff"]

#: Settings published with the reference code ([M] ``reproduceResults.m``) and by ME papers. Each is a dict of
#: :func:`evm` keyword arguments (``fs`` included where the source gives one).
EVM_PRESETS: dict[str, dict[str, Any]] = {
    # [M] baby, wrist: the IIR pair (also mefast's defaults).
    "baby": {"temporal": "iir", "alpha": 10.0, "lambda_c": 16.0, "r1": 0.4, "r2": 0.05, "chroma_attenuation": 0.1},
    "wrist": {"temporal": "iir", "alpha": 10.0, "lambda_c": 16.0, "r1": 0.4, "r2": 0.05, "chroma_attenuation": 0.1},
    # [M] face2, shadow, subway, camera: first-order Butterworth pair.
    "face2": {"temporal": "butter", "alpha": 20.0, "lambda_c": 80.0, "fl": 0.5, "fh": 10.0, "fs": 30.0,
              "chroma_attenuation": 0.0},
    "shadow": {"temporal": "butter", "alpha": 5.0, "lambda_c": 48.0, "fl": 0.5, "fh": 10.0, "fs": 30.0,
               "chroma_attenuation": 0.0},
    "subway": {"temporal": "butter", "alpha": 60.0, "lambda_c": 90.0, "fl": 3.6, "fh": 6.2, "fs": 30.0,
               "chroma_attenuation": 0.3},
    "camera": {"temporal": "butter", "alpha": 150.0, "lambda_c": 20.0, "fl": 45.0, "fh": 100.0, "fs": 300.0,
               "chroma_attenuation": 0.0},
    # [M] guitar: ideal filter on the Laplacian pyramid.
    "guitar": {"temporal": "ideal", "alpha": 50.0, "lambda_c": 10.0, "fl": 72.0, "fh": 92.0, "fs": 600.0,
               "chroma_attenuation": 0.0},
    # [M] face, baby2: colour amplification, ideal filter on one Gaussian level.
    "face": {"temporal": "ideal", "pyramid": "gaussian", "gauss_level": 4, "alpha": 50.0, "fl": 50 / 60,
             "fh": 1.0, "fs": 30.0, "chroma_attenuation": 1.0},
    "baby2": {"temporal": "ideal", "pyramid": "gaussian", "gauss_level": 6, "alpha": 150.0, "fl": 140 / 60,
              "fh": 160 / 60, "fs": 30.0, "chroma_attenuation": 1.0},
    # LED (Varanka et al. 2023): a linearised EVM started at alpha = 20 with the reference IIR pair.
    "led": {"temporal": "iir", "alpha": 20.0, "lambda_c": 16.0, "r1": 0.4, "r2": 0.05, "chroma_attenuation": 0.1},
}  # fmt: skip


def _as_video(x: ArrayLike, name: str, *, unit_range: bool = True) -> tuple[np.ndarray, np.dtype]:
    """(T, H, W[, 3]) uint8 or float32 C-contiguous, and the dtype to return.

    Float input (float32 or float64, either byte order) must be finite and, with ``unit_range``, on the [0, 1]
    scale (:func:`~mefast._validation.check_unit_range`): the core clips its output there, so grey levels 0..255
    given as floats would come back saturated.
    """
    arr = np.asarray(x)
    is_float = arr.dtype.kind == "f" and arr.dtype.itemsize in (4, 8)
    if arr.dtype != np.uint8 and not is_float:
        raise ShapeError(f"{name} must be uint8 (0-255) or float32/float64 in [0, 1], got dtype {arr.dtype}")
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        raise ShapeError(f"{name} must have shape (T, H, W) or (T, H, W, 3), got shape {arr.shape}")
    if min(arr.shape[:3]) < 1:
        raise ShapeError(f"{name} must hold at least one frame of 1 x 1 pixels, got shape {arr.shape}")
    if not is_float:
        return np.ascontiguousarray(arr), arr.dtype
    check_finite(arr, name)
    if unit_range:  # overshoot within its slack is processed as given; the core clips the output
        check_unit_range(arr, name)  # within [-0.5, 1.5]: within float32's range too
    else:
        check_float32_range(arr, name)
    return np.ascontiguousarray(arr, dtype=np.float32), arr.dtype


def _as_frame(x: ArrayLike, name: str, *, unit_range: bool = True) -> tuple[np.ndarray, np.dtype]:
    arr = np.asarray(x)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
        raise ShapeError(f"{name} must have shape (H, W) or (H, W, 3), got shape {arr.shape}")
    v, dt = _as_video(arr[None], name, unit_range=unit_range)
    return v[0], dt


def _levels(levels: int | str, h: int, w: int) -> int:
    if isinstance(levels, str):
        if levels != "auto":
            raise ValueError(f"levels must be a positive integer or 'auto', got {levels!r}")
        return int(_core.evm_auto_levels(h, w))
    if isinstance(levels, bool) or not isinstance(levels, int | np.integer) or not 1 <= levels <= 30:
        raise ValueError(f"levels must be an integer in [1, 30] or 'auto', got {levels!r}")
    return int(levels)


def evm_level_alphas(
    shape: tuple[int, int],
    alpha: float,
    lambda_c: float = 16.0,
    *,
    levels: int | str = "auto",
    exaggeration: float = 2.0,
    schedule: Literal["reference", "flat"] | Sequence[float] = "reference",
) -> NDArray[np.float32]:
    """Amplification of each Laplacian level, finest first (the last entry is the residual).

    ``"reference"``: the reference code's attenuation. The coarsest level (the residual) has the representative
    wavelength ``sqrt(H^2 + W^2) / 3``, halved per finer level; a band of wavelength ``lambda`` gets
    ``min(alpha, exaggeration * ((1 + alpha) * lambda / lambda_c - 1))``, clamped at 0; the finest band and the
    residual get 0. ``"flat"``: ``alpha`` on every band, residual 0. A sequence: the alphas themselves.
    """
    h, w = shape
    n = _levels(levels, h, w)
    exaggeration = _check_exaggeration(exaggeration)
    if isinstance(schedule, str):
        if schedule == "reference":
            if not lambda_c > 0:
                raise ValueError(f"lambda_c must be > 0, got {lambda_c!r}")
            return np.asarray(_core.evm_level_alphas(h, w, n, float(alpha), float(lambda_c), float(exaggeration)),
                              dtype=np.float32)  # fmt: skip
        if schedule == "flat":
            a = np.full(n, alpha, dtype=np.float32)
            a[-1] = 0.0
            return a
        raise ValueError(f"schedule must be 'reference', 'flat' or a sequence of per-level alphas, got {schedule!r}")
    a = np.asarray(schedule, dtype=np.float32)
    if a.shape != (n,) or not np.isfinite(a).all():
        raise ValueError(f"schedule must hold {n} finite per-level alphas (levels={n}), got {schedule!r}")
    return a


def _check_exaggeration(value: object) -> float:
    """``exaggeration`` as a float: a real number, finite and >= 0.

    A NaN made every level's alpha NaN, which the core reported as 'alpha must be finite'; a negative one amplified
    the levels the bound attenuates.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real) or not 0 <= float(value) < np.inf:
        raise ValueError(f"exaggeration must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_positive(name: str, value: float) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def _butter_coefficients(f: float, fs: float, compat: str) -> list[float]:
    # paper: cutoff f in Hz (normalised by the Nyquist rate); reference: MATLAB butter(1, f / fs), a cutoff of f / 2.
    wn = f / fs if compat == "reference" else f / (fs / 2.0)
    if not 0.0 < wn < 1.0:
        raise ValueError(f"Butterworth cutoff {f} Hz is outside (0, Nyquist) for fs={fs} (compat={compat!r})")
    k = np.tan(np.pi * wn / 2.0)
    b0 = k / (1.0 + k)
    return [float(b0), float(b0), float((k - 1.0) / (k + 1.0))]


def _params(
    h: int,
    w: int,
    *,
    alpha: float,
    lambda_c: float,
    temporal: str,
    r1: float,
    r2: float,
    fl: float | None,
    fh: float | None,
    fs: float,
    pyramid: str | None,
    levels: int | str,
    gauss_level: int,
    chroma_attenuation: float,
    exaggeration: float,
    clip: bool,
    compat: str,
    schedule: Any,
) -> Any:
    """The core's ``EVMParams`` for h x w frames.

    The user-level arguments (Hz, alpha, levels, compat) are checked here, the struct's own fields only by its C++
    ``validate``.
    """
    if compat not in ("paper", "reference"):
        raise ValueError(f"compat must be 'paper' or 'reference', got {compat!r}")
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got {alpha!r}")
    exaggeration = _check_exaggeration(exaggeration)  # also where no schedule reads it: a bad value is an error
    p: dict[str, Any] = {"chroma_attenuation": float(chroma_attenuation), "clip": bool(clip)}
    if pyramid == "laplacian":
        n = _levels(levels, h, w)
        p.update(pyramid="laplacian", levels=n)
        p["alphas"] = evm_level_alphas((h, w), alpha, lambda_c, levels=n, exaggeration=exaggeration,
                                       schedule=schedule).tolist()  # fmt: skip
    elif pyramid == "gaussian":
        if isinstance(gauss_level, bool) or not isinstance(gauss_level, int | np.integer) or not 0 <= gauss_level <= 30:
            raise ValueError(f"gauss_level must be an integer in [0, 30], got {gauss_level!r}")
        p.update(pyramid="gaussian", levels=int(gauss_level), alphas=[float(alpha)])
    elif pyramid is None:
        p.update(pyramid="none", levels=1, alphas=[float(alpha)])
    else:
        raise ValueError(f"pyramid must be 'laplacian', 'gaussian' or None, got {pyramid!r}")
    if temporal == "iir":
        p.update(temporal="iir", r1=float(r1), r2=float(r2))
    elif temporal == "butter":
        if fl is None or fh is None:
            raise ValueError("temporal='butter' needs the cutoffs fl and fh (Hz)")
        fs = _check_positive("fs", fs)
        if not 0 < fl < fh:
            raise ValueError(f"the pass band needs 0 < fl < fh, got fl={fl!r}, fh={fh!r}")
        hb0, hb1, ha1 = _butter_coefficients(fh, fs, compat)
        lb0, lb1, la1 = _butter_coefficients(fl, fs, compat)
        p.update(temporal="butter", high_b0=hb0, high_b1=hb1, high_a1=ha1, low_b0=lb0, low_b1=lb1, low_a1=la1)
    elif temporal == "ideal":
        if fl is None or fh is None:
            raise ValueError("temporal='ideal' needs the pass band fl and fh (Hz)")
        _check_positive("fs", fs)
        if not 0 <= fl < fh:
            raise ValueError(f"the pass band needs 0 <= fl < fh, got fl={fl!r}, fh={fh!r}")
        p["temporal"] = "external"
    elif temporal == "diff":
        p["temporal"] = "diff"
    else:
        raise ValueError(f"temporal must be 'iir', 'butter', 'ideal' or 'diff', got {temporal!r}")
    params = _core.EVMParams(**p)
    params.validate()  # the core's rules (levels, alphas, IIR pair, stability, finiteness), its messages
    return params


def _ideal_band(coeffs: NDArray[np.float32], fs: float, fl: float, fh: float, compat: str) -> NDArray[np.float32]:
    """Ideal band-pass of a (T, C, P) coefficient stack along time."""
    import scipy.fft

    t = coeffs.shape[0]
    if compat == "reference":
        # [M] ideal_bandpassing: bins f_k = k fs / n for k < n only (no negative mirror), real part: gain 1/2.
        freqs = np.arange(t) * fs / t
        mask = (freqs > fl) & (freqs < fh)
        spec = scipy.fft.fft(coeffs, axis=0, workers=-1)
        spec[~mask] = 0
        return np.ascontiguousarray(scipy.fft.ifft(spec, axis=0, workers=-1).real, dtype=np.float32)
    freqs = np.fft.rfftfreq(t, d=1.0 / fs)
    mask = (freqs > fl) & (freqs < fh)
    spec = scipy.fft.rfft(coeffs, axis=0, workers=-1)
    spec[~mask] = 0
    return np.ascontiguousarray(scipy.fft.irfft(spec, n=t, axis=0, workers=-1), dtype=np.float32)


#: Frames at the end of the clip that [M]'s ``butter`` and Gaussian ``ideal`` scripts never read
#: (``endIndex = len - 10``); ``compat="reference"`` drops them too.
_REFERENCE_TAIL = 10


def _stops_early(opts: dict[str, Any]) -> bool:
    """Whether :func:`evm` with these (checked) options is one of [M]'s scripts that stop at frame T - 10."""
    if opts["compat"] != "reference":
        return False
    return opts["temporal"] == "butter" or (opts["temporal"] == "ideal" and opts["pyramid"] == "gaussian")


def evm(
    video: ArrayLike,
    fs: float = 30.0,
    *,
    alpha: float = 10.0,
    lambda_c: float = 16.0,
    temporal: Temporal = "iir",
    r1: float = 0.4,
    r2: float = 0.05,
    fl: float | None = None,
    fh: float | None = None,
    pyramid: Literal["laplacian", "gaussian"] | None = "laplacian",
    levels: int | Literal["auto"] = "auto",
    gauss_level: int = 4,
    chroma_attenuation: float = 0.1,
    exaggeration: float = 2.0,
    schedule: Literal["reference", "flat"] | Sequence[float] = "reference",
    clip: bool = True,
    compat: Literal["paper", "reference"] = "paper",
    preset: str | None = None,
    n_threads: int | None = None,
) -> np.ndarray:
    """Linear Eulerian video magnification (Wu et al. 2012) of a clip.

    Each frame is decomposed (Laplacian pyramid for motion, one Gaussian level for colour, or the pixels
    themselves), every coefficient is band-passed in time, amplified, reconstructed and added back:
    ``out = video + alpha_l * B``. Motion ``delta`` in the pass band comes out as ``(1 + alpha) delta`` while
    ``(1 + alpha) delta < lambda / 8`` for a structure of wavelength ``lambda``; ``lambda_c`` attenuates the fine
    levels so that this bound holds (Fig. 6 of the paper).

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        uint8 (0-255) or float32/float64 (either byte order) in [0, 1]; other float values are refused (the output
        is clipped to [0, 1], so grey levels 0..255 given as floats would saturate). Any frame size (no
        divisibility by ``2 ** levels``).
    fs : float
        Frame rate in Hz (for ``butter`` and ``ideal``).
    alpha : float
        Amplification; ``0`` returns the input.
    lambda_c : float
        Cutoff wavelength in pixels of the attenuation at fine levels (``schedule="reference"``).
    temporal : {"iir", "butter", "ideal", "diff"}
        ``iir``: the reference code's pair of first-order low-passes ``y <- y + r (x - y)``, band ``y1 - y2``
        (``r1 > r2``). ``butter``: difference of first-order Butterworth low-passes at ``fh`` and ``fl`` Hz.
        ``ideal``: FFT over the whole clip keeping ``fl < |f| < fh`` (circular). ``diff``: ``x_t - x_0``.
        The causal filters start at frame 0, whose output is the input.
    r1, r2 : float
        The IIR pair's rates.
    fl, fh : float, optional
        Pass band in Hz (``butter``, ``ideal``).
    pyramid : {"laplacian", "gaussian", None}
        Laplacian pyramid (motion), one Gaussian level ``gauss_level`` (colour; resized back bicubically), or
        the pixels.
    levels : int or "auto"
        Laplacian levels including the residual; ``"auto"`` as matlabPyrTools (binomial-5 filter).
    gauss_level : int
        Decimations of the Gaussian path.
    chroma_attenuation : float
        Gain on the I and Q bands (YIQ, MATLAB ``rgb2ntsc``) of colour video; grey video has Y only.
    exaggeration : float
        The reference code's factor 2 above the bound at attenuated levels (a finite number >= 0).
    schedule : {"reference", "flat"} or sequence of float
        Per-level alphas: see :func:`evm_level_alphas`.
    clip : bool
        Clip the output to [0, 1] (uint8 output always saturates).
    compat : {"paper", "reference"}
        ``reference`` keeps the reference code's three quirks: ``ideal`` with in-band gain 1/2, ``butter`` with
        cutoffs at half the given frequencies (MATLAB ``butter(1, f / fs)``), and the end of the clip: its
        ``butter`` and Gaussian ``ideal`` scripts (``amplify_spatial_lpyr_temporal_butter``,
        ``amplify_spatial_Gdown_temporal_ideal``) read frames 1 .. T - 10 only (``endIndex = len - 10``) and
        write those T - 10 frames, so ``temporal="butter"`` (any pyramid) and ``temporal="ideal"`` with
        ``pyramid="gaussian"`` return the first T - 10 frames, magnified as those scripts do: the ``ideal``
        FFT runs over the T - 10 frames (its bins are ``k fs / (T - 10)``), and ``butter``, being causal, gives
        the first T - 10 frames of the paper mode's recursion with the halved cutoffs. Such a video needs at least
        11 frames. The last 10 frames are dropped, not returned unmagnified, as in the script's output file.
    preset : str, optional
        A name in :data:`EVM_PRESETS`; its settings (``fs`` included where its source gives one) replace the
        corresponding keywords. To override some of them, use ``mefast.magnify(video, alpha, preset=...,
        **overrides)``, where explicit keywords win.
    n_threads : int, optional
        Threads of the core (all cores if None).

    Returns
    -------
    ndarray
        The magnified video, same shape and dtype (float64 input is computed in float32); with
        ``compat="reference"``, ``butter`` or Gaussian ``ideal``: T - 10 frames (see ``compat``).

    Examples
    --------
    >>> import numpy as np, mefast
    >>> video = np.random.default_rng(0).random((8, 48, 40)).astype(np.float32)
    >>> mefast.magnification.evm(video, alpha=0).tolist() == video.tolist()
    True
    """
    opts: dict[str, Any] = {
        "alpha": alpha, "lambda_c": lambda_c, "temporal": temporal, "r1": r1, "r2": r2, "fl": fl, "fh": fh,
        "fs": fs, "pyramid": pyramid, "levels": levels, "gauss_level": gauss_level,
        "chroma_attenuation": chroma_attenuation, "exaggeration": exaggeration, "clip": clip, "compat": compat,
        "schedule": schedule,
    }  # fmt: skip
    if preset is not None:
        if preset not in EVM_PRESETS:
            raise ValueError(f"unknown EVM preset {preset!r}; known: {', '.join(sorted(EVM_PRESETS))}")
        opts.update(EVM_PRESETS[preset])
    arr, dtype = _as_video(video, "video")
    t, h, w = arr.shape[:3]
    p = _params(h, w, **opts)
    if _stops_early(opts):
        if t <= _REFERENCE_TAIL:
            raise ValueError(
                f"compat='reference' with temporal={opts['temporal']!r} (pyramid={opts['pyramid']!r}) stops "
                f"{_REFERENCE_TAIL} frames before the end, as the reference code's script does: the video needs at "
                f"least {_REFERENCE_TAIL + 1} frames, got {t}"
            )
        arr = arr[: t - _REFERENCE_TAIL]  # [M] reads, filters and writes frames 1 .. len - 10 only
    nt = core_threads(n_threads)
    if p.temporal == "external":
        coeffs = _core.evm_decompose(arr, p, nt)
        band = _ideal_band(coeffs, float(opts["fs"]), float(opts["fl"]), float(opts["fh"]), str(opts["compat"]))
        out = _core.evm_add_band(arr, band, p, nt)
    else:
        out = _core.evm_magnify(arr, p, nt)
    return out.astype(dtype, copy=False)


class _PairOptions(TypedDict, total=False):
    """The options of :func:`evm_pair`: the spatial ones of :func:`evm`, with its defaults."""

    alpha: float
    lambda_c: float
    pyramid: Literal["laplacian", "gaussian"] | None
    levels: int | Literal["auto"]
    gauss_level: int
    chroma_attenuation: float
    exaggeration: float
    schedule: Literal["reference", "flat"] | Sequence[float]
    clip: bool


@some_options_of(evm, _PairOptions)
def evm_pair(onset: ArrayLike, apex: ArrayLike, **options: Unpack[_PairOptions]) -> np.ndarray:
    """Two-frame Eulerian magnification: ``apex + sum_l alpha_l (L_l(apex) - L_l(onset))``, reconstructed.

    The same as :func:`evm` with ``temporal="diff"`` on the two-frame clip ``[onset, apex]`` (its last frame),
    and as ``temporal="iir"`` with ``r1=1, r2=0``. Motion ``delta`` from onset to apex comes out as
    ``(1 + alpha) delta`` within the validity bound. Frames are (H, W) or (H, W, 3), uint8 or float in [0, 1];
    the result has the apex's shape and dtype.
    """
    a, dtype = _as_frame(onset, "onset")
    b, dtype_b = _as_frame(apex, "apex")
    if a.shape != b.shape or a.dtype != b.dtype:
        o, x = np.asarray(onset), np.asarray(apex)
        raise ShapeError(f"onset and apex must have the same shape and dtype, got {o.shape} {o.dtype} and {x.shape} "
                         f"{x.dtype}")  # fmt: skip
    h, w = a.shape[:2]
    p = _params(h, w, **options, temporal="diff", r1=0.4, r2=0.05, fl=None, fh=None, fs=30.0, compat="paper")
    return _core.evm_pair(a, b, p).astype(dtype_b, copy=False)


def laplacian_pyramid(image: ArrayLike, levels: int | Literal["auto"] = "auto") -> list[NDArray[np.float32]]:
    """The Laplacian pyramid of a grey image (finest band first, residual last) as the core builds it.

    Levels keep the even samples (``ceil(n / 2)``); binomial-5 filter, reflect-101 borders. uint8 input is
    scaled to [0, 1]; float input may hold any finite values. :func:`reconstruct_pyramid` inverts it exactly (up
    to float32 rounding).
    """
    arr, _ = _as_frame(image, "image", unit_range=False)  # linear: any finite values
    if arr.ndim != 2:
        raise ShapeError(f"image must be grey (H, W), got shape {arr.shape}")
    h, w = arr.shape
    n = _levels(levels, h, w)
    p = _core.EVMParams(pyramid="laplacian", levels=n, alphas=[1.0] * n, temporal="external")
    flat = _core.evm_decompose(np.ascontiguousarray(arr[None]), p, 1)[0, 0]
    out, off, lh, lw = [], 0, h, w
    for _ in range(n):
        out.append(flat[off : off + lh * lw].reshape(lh, lw).copy())
        off += lh * lw
        lh, lw = (lh + 1) // 2, (lw + 1) // 2
    return out


def reconstruct_pyramid(pyramid: Sequence[ArrayLike]) -> NDArray[np.float32]:
    """Collapse a pyramid of :func:`laplacian_pyramid` back into the float32 image.

    Every level must be 2-D, of the size :func:`laplacian_pyramid` gives it, and hold finite numbers (within
    float32's range).
    """
    levels = []
    for i, x in enumerate(pyramid):
        arr = check_numeric(x, f"pyramid level {i}", what="a numeric array")
        check_finite(arr, f"pyramid level {i}")
        check_float32_range(arr, f"pyramid level {i}")
        lv = np.ascontiguousarray(arr, dtype=np.float32)
        levels.append(lv)
    if not levels or levels[0].ndim != 2:
        raise ShapeError("pyramid must be a non-empty list of 2-D levels, finest first")
    h, w = levels[0].shape
    lh, lw = h, w
    for i, lv in enumerate(levels):
        if lv.shape != (lh, lw):
            raise ShapeError(f"pyramid level {i} must have shape {(lh, lw)}, got {lv.shape}")
        lh, lw = (lh + 1) // 2, (lw + 1) // 2
    n = len(levels)
    p = _core.EVMParams(pyramid="laplacian", levels=n, alphas=[1.0] * n, temporal="external", clip=False,
                        chroma_attenuation=1.0)  # fmt: skip
    band = np.concatenate([lv.ravel() for lv in levels])[None, None]
    return _core.evm_add_band(np.zeros((1, h, w), np.float32), band, p, 1)[0]
