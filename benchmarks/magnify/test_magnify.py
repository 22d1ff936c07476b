"""Motion magnification speed, side by side, one thread each.

* EVM on a 200-frame 320 x 256 colour clip (the astronaut face moved by a smooth field with a sinusoidal profile).

  - IIR pair (``temporal="iir"``, mefast's defaults: 7-level Laplacian pyramid, the reference alpha schedule, YIQ
    with chroma 0.1): mefast against a vectorised NumPy EVM (whole-clip pyramids by array slicing, the IIR pair
    as a loop over frames) and a per-frame NumPy + OpenCV EVM (cv2.pyrDown / cv2.pyrUp, the fastest Python EVM
    we could write). Both peers skip the levels whose alpha is 0 (the finest band and the residual), as mefast
    does, and each peer's output is asserted equal to mefast's up to float rounding: at most 1 grey level, on at
    most 0.1 % of the samples (measured: 0.004 %).
  - Ideal FFT filter against the PyPI package ``eulerian-magnification`` 0.22 with its defaults (4-level
    Laplacian pyramid of cv2.pyrDown / cv2.pyrUp in float64; ``skip_levels_at_top=2``: only level 2 is filtered,
    with gain ``alpha`` on R, G and B alike; no clipping), on its documented input (float64 frames in [0, 1]).
    mefast runs the same work: ``levels=4``, ``schedule=[0, 0, alpha, 0]``, ``chroma_attenuation=1`` (YIQ with
    one gain on every channel is RGB: the transform is linear), ``clip=False``, the same float64 frames. The
    package's own temporal filter is not an ideal band-pass (it zeroes entries of ``scipy.fftpack.rfft``'s
    packed real/imaginary layout by the bin indexes of a complex FFT, then inverts with a complex ``ifft`` and
    keeps the real part), so its output cannot equal any ideal filter's: the ratio row runs the package's own
    pyramid, filtering and collapse code with that one function replaced by an ideal band-pass (``_ideal_bandpass``,
    NumPy's real FFT, ``fl < |f| < fh``), and its output is asserted within 1e-5 of mefast's everywhere. The
    package as shipped is timed too, for reference (no ratio: other output).
  - mefast's ideal filter with its own defaults is timed as well.

* Two-frame magnification of a 256 x 256 grey face pair: mefast.magnification.evm_pair and the Lagrangian warp
  (flow given; and with its TV-L1 flow), the Lagrangian outputs checked against the face moved by
  ``(1 + alpha)`` times the known field.

Run: python -m pytest benchmarks/magnify --benchmark-enable --benchmark-only -q
"""

from __future__ import annotations

import contextlib
import warnings

import cv2
import numpy as np
import pytest

from mefast import magnification as mg
from mefast.data import face_image
from mefast.testing import endpoint_error, smooth_field, warp_image

T, H, W = 200, 256, 320
ALPHA, LAMBDA_C, R1, R2 = 10.0, 16.0, 0.4, 0.05
FS, FL, FH = 30, 0.5, 3.0
GROUP = "EVM 200 x 320 x 256 colour, 1 thread"
PAIR_GROUP = "two-frame magnification 256 x 256 grey, 1 thread"

# eulerian-magnification's defaults: 4 levels (3 bands + the Gaussian residual); its top 2 levels and the residual
# are not filtered, so alpha applies to level 2 only, on every RGB channel. mefast set to do the same:
PACKAGE_LEVELS = 4
PACKAGE_WORK = {
    "temporal": "ideal", "fl": FL, "fh": FH, "levels": PACKAGE_LEVELS, "schedule": [0.0, 0.0, ALPHA, 0.0],
    "chroma_attenuation": 1.0, "clip": False,
}  # fmt: skip


@pytest.fixture(scope="module")
def clip(request) -> np.ndarray:
    """The clip; 24 frames in the untimed smoke run of the test suite (--benchmark-disable), 200 when timed."""
    cv2.setNumThreads(1)
    n = T if request.config.getoption("benchmark_enable", False) else 24
    face = cv2.resize(face_image(), (W, H), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    field = smooth_field(H, W, 1.0, seed=0)
    frames = [np.clip(np.rint(warp_image(face, field * np.sin(2 * np.pi * t / 30))), 0, 255) for t in range(n)]
    return np.stack(frames).astype(np.uint8)


@pytest.fixture(scope="module")
def mefast_iir(clip) -> np.ndarray:
    """mefast's IIR EVM of the clip, the output both IIR peers are checked against."""
    return mg.evm(clip, FS, alpha=ALPHA, lambda_c=LAMBDA_C, n_threads=1)


# ----------------------------------------------------------------------------------------------- NumPy EVM


def _along(x: np.ndarray, axis: int, sl: slice) -> np.ndarray:
    """``x[..., sl, ...]`` with ``sl`` on ``axis``: a view."""
    idx = [slice(None)] * x.ndim
    idx[axis] = sl
    return x[tuple(idx)]


def _reduce(x: np.ndarray) -> np.ndarray:
    """Binomial-5 blur (reflect-101) and decimation along axes 1 and 2 of a (T, H, W, C) array."""
    for axis in (1, 2):
        p = np.pad(x, [(2, 2) if a == axis else (0, 0) for a in range(x.ndim)], mode="reflect")
        n = x.shape[axis]
        s = [_along(p, axis, slice(k, k + n, 2)) for k in range(5)]
        x = (s[0] + s[4]) * 0.0625 + (s[1] + s[3]) * 0.25 + s[2] * 0.375
    return x


def _expand(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Zero insertion and 2 x binomial-5 (reflect-101) along axes 1 and 2, to ``shape``."""
    for axis, n in ((1, shape[0]), (2, shape[1])):
        up_shape = list(x.shape)
        up_shape[axis] = n
        u = np.zeros(up_shape, x.dtype)
        _along(u, axis, slice(0, n, 2))[...] = x
        p = np.pad(u, [(2, 2) if a == axis else (0, 0) for a in range(x.ndim)], mode="reflect")
        s = [_along(p, axis, slice(k, k + n)) for k in range(5)]
        x = 2 * ((s[0] + s[4]) * 0.0625 + (s[1] + s[3]) * 0.25 + s[2] * 0.375)
    return x


_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)


def numpy_evm(video: np.ndarray) -> np.ndarray:
    """Linear EVM (IIR pair, reference alpha schedule, chroma 0.1) with whole-clip NumPy array operations."""
    x = (video.astype(np.float32) / 255.0) @ _YIQ.T
    levels = int(mg._evm._core.evm_auto_levels(H, W))
    alphas = mg.evm_level_alphas((H, W), ALPHA, LAMBDA_C)
    gauss, bands = x, []
    for lv in range(levels - 1):
        nxt = _reduce(gauss)
        bands.append(gauss - _expand(nxt, gauss.shape[1:3]) if alphas[lv] else None)
        gauss = nxt
    out_bands = []
    for lv, b in enumerate(bands):
        if b is None:
            out_bands.append(None)
            continue
        y1, y2 = b[0].copy(), b[0].copy()
        filt = np.empty_like(b)
        filt[0] = 0
        for t in range(1, len(b)):
            y1 += R1 * (b[t] - y1)
            y2 += R2 * (b[t] - y2)
            filt[t] = y1 - y2
        out_bands.append(filt * alphas[lv] * np.array([1.0, 0.1, 0.1], np.float32))
    recon = None
    for lv in range(len(bands) - 1, -1, -1):
        shape = (H, W) if lv == 0 else bands[lv - 1].shape[1:3] if bands[lv - 1] is not None else None
        if recon is not None:
            recon = _expand(recon, out_bands[lv].shape[1:3] if out_bands[lv] is not None else shape)
        if out_bands[lv] is not None:
            recon = out_bands[lv] if recon is None else recon + out_bands[lv]
    delta = recon @ np.linalg.inv(_YIQ).T.astype(np.float32)
    return np.clip(np.rint((video.astype(np.float32) / 255.0 + delta) * 255.0), 0, 255).astype(np.uint8)


def cv2_evm(video: np.ndarray) -> np.ndarray:
    """The same EVM frame by frame with cv2.pyrDown / cv2.pyrUp and NumPy arithmetic.

    As mefast and ``numpy_evm``, the bands whose alpha is 0 (the finest one, the residual) are neither built nor
    filtered: the reconstruction only expands across them.
    """
    levels = int(mg._evm._core.evm_auto_levels(H, W))
    alphas = mg.evm_level_alphas((H, W), ALPHA, LAMBDA_C)
    gains = [alphas[lv] * np.array([1.0, 0.1, 0.1], np.float32) for lv in range(levels - 1)]
    inv = np.linalg.inv(_YIQ).T.astype(np.float32)
    state: list | None = None
    out = np.empty_like(video)
    for t, frame in enumerate(video):
        g = (frame.astype(np.float32) / 255.0) @ _YIQ.T
        shapes, pyr = [], []
        for lv in range(levels - 1):
            nxt = cv2.pyrDown(g)
            shapes.append((g.shape[1], g.shape[0]))
            pyr.append(g - cv2.pyrUp(nxt, dstsize=shapes[-1]) if alphas[lv] else None)
            g = nxt
        if state is None:
            state = [None if b is None else [b.copy(), b.copy()] for b in pyr]
            out[t] = frame
            continue
        recon = None
        for lv in range(levels - 2, -1, -1):
            if recon is not None:
                recon = cv2.pyrUp(recon, dstsize=shapes[lv])
            if pyr[lv] is None:
                continue
            y = state[lv]
            y[0] += R1 * (pyr[lv] - y[0])
            y[1] += R2 * (pyr[lv] - y[1])
            band = (y[0] - y[1]) * gains[lv]
            recon = band if recon is None else recon + band
        assert recon is not None
        out[t] = np.clip(np.rint((frame.astype(np.float32) / 255.0 + recon @ inv) * 255.0), 0, 255).astype(np.uint8)
    return out


def _changed(out: np.ndarray, video: np.ndarray) -> float:
    return float(np.abs(out.astype(np.int16) - video.astype(np.int16)).mean())


def _assert_equal_up_to_rounding(out: np.ndarray, mine: np.ndarray) -> dict[str, float]:
    """Assert two uint8 clips equal up to float rounding: at most 1 grey level, on at most 0.1 % of the samples."""
    d = np.abs(out.astype(np.int16) - mine.astype(np.int16))
    max_diff, share = int(d.max()), float((d > 0).mean())
    assert max_diff <= 1 and share <= 1e-3, (max_diff, share)
    return {"max_diff_to_mefast": max_diff, "share_differing_from_mefast": share}


def test_evm_numpy(benchmark, report, clip, mefast_iir):
    out = numpy_evm(clip)
    assert _changed(out, clip) > 0.1
    agree = _assert_equal_up_to_rounding(out, mefast_iir)  # the same algorithm, the same reflect-101 borders
    benchmark.pedantic(lambda: numpy_evm(clip), rounds=3, iterations=1)
    report(GROUP, "vectorised NumPy EVM (IIR, Laplacian)", benchmark, changed=_changed(out, clip), **agree)


def test_evm_numpy_cv2(benchmark, report, clip, mefast_iir):
    out = cv2_evm(clip)
    assert _changed(out, clip) > 0.1
    agree = _assert_equal_up_to_rounding(out, mefast_iir)  # the same algorithm, the same reflect-101 borders
    benchmark.pedantic(lambda: cv2_evm(clip), rounds=5, iterations=1)
    report(GROUP, "NumPy + cv2.pyrDown/pyrUp per frame (IIR)", benchmark, changed=_changed(out, clip), **agree)


@pytest.mark.parametrize("temporal", ["iir", "ideal"])
def test_evm_mefast(benchmark, report, clip, temporal):
    kw = {"fl": FL, "fh": FH} if temporal == "ideal" else {}
    run = lambda: mg.evm(clip, FS, alpha=ALPHA, lambda_c=LAMBDA_C, temporal=temporal, n_threads=1, **kw)  # noqa: E731
    out = run()
    assert _changed(out, clip) > 0.1
    benchmark(run)
    report(GROUP, f"mefast.magnification.evm temporal={temporal}", benchmark, changed=_changed(out, clip))


# ------------------------------------------------------------------------------- the eulerian-magnification package

PACKAGE_IDEAL = "eulerian-magnification 0.22, its pyramid code with an ideal FFT band-pass (float64)"
PACKAGE_SHIPPED = "eulerian-magnification 0.22 as shipped (its own FFT filter, float64)"
MEFAST_PACKAGE_WORK = "mefast.magnification.evm temporal=ideal, the package's pyramid, band and gain (float64)"


@pytest.fixture(scope="module")
def float_clip(clip) -> np.ndarray:
    """The clip as the package documents its input: float64 frames in [0, 1]. Both sides get these frames."""
    return clip.astype(np.float64) / 255.0


@pytest.fixture(scope="module")
def mefast_package_work(float_clip) -> np.ndarray:
    """mefast's EVM doing the package's work (PACKAGE_WORK), the output the package is checked against."""
    return mg.evm(float_clip, FS, alpha=ALPHA, n_threads=1, **PACKAGE_WORK)


def _ideal_bandpass(data, fps, freq_min=0.833, freq_max=1, axis=0, amplification_factor=1):
    """An ideal band-pass over time keeping ``freq_min < |f| < freq_max`` (mefast's ``temporal="ideal"``), with the
    signature of ``eulerian_magnification``'s ``temporal_bandpass_filter``, which it replaces in the ratio row."""
    spec = np.fft.rfft(data, axis=axis)
    f = np.fft.rfftfreq(data.shape[axis], d=1.0 / fps)
    spec[(f <= freq_min) | (f >= freq_max)] = 0  # time is axis 0, as the package calls it
    return np.fft.irfft(spec, n=data.shape[axis], axis=axis) * amplification_factor


@contextlib.contextmanager
def _package_with_ideal_filter():
    """The package's ``eulerian_magnification`` with its temporal filter replaced by ``_ideal_bandpass``."""
    from eulerian_magnification import base

    own = base.temporal_bandpass_filter
    base.temporal_bandpass_filter = _ideal_bandpass
    try:
        yield
    finally:
        base.temporal_bandpass_filter = own


def _package(video: np.ndarray) -> np.ndarray:
    em = pytest.importorskip("eulerian_magnification")
    with warnings.catch_warnings():  # its own filter casts its complex ifft output to real (ComplexWarning)
        warnings.simplefilter("ignore")
        return em.eulerian_magnification(video, FS, FL, FH, ALPHA, pyramid_levels=PACKAGE_LEVELS, skip_levels_at_top=2)


def _changed_float(out: np.ndarray, video: np.ndarray) -> float:
    """Mean absolute change in grey levels (x 255) of a float clip."""
    return 255.0 * float(np.abs(out - video).mean())


def test_evm_pypi_package(benchmark, report, float_clip, mefast_package_work):
    """The ratio row: the package's own pyramid, filtering and collapse with an ideal band-pass: mefast's output."""
    pytest.importorskip("eulerian_magnification")

    def run():
        with _package_with_ideal_filter():
            return _package(float_clip)

    out = run()
    diff = float(np.abs(out - mefast_package_work).max())
    assert diff <= 1e-5  # mefast computes in float32, the package in float64 (measured: 1.0e-6)
    assert _changed_float(out, float_clip) > 0.1
    benchmark.pedantic(run, rounds=5, iterations=1)
    report(GROUP, PACKAGE_IDEAL, benchmark, baseline=True, changed=_changed_float(out, float_clip),
           max_diff_to_mefast=diff)  # fmt: skip


def test_evm_pypi_package_as_shipped(benchmark, report, float_clip, mefast_package_work):
    """The package as installed, for reference: its filter is not an ideal band-pass, so its output differs."""
    out = _package(float_clip)
    # on the 24 frames of the smoke run its filter's bin rounding zeroes every bin: the motion is amplified at 200
    assert _changed_float(out, float_clip) > (0.1 if len(float_clip) == T else -1)
    benchmark.pedantic(lambda: _package(float_clip), rounds=5, iterations=1)
    report(GROUP, PACKAGE_SHIPPED, benchmark, changed=_changed_float(out, float_clip),
           mean_diff_to_ideal_filter=_changed_float(out, mefast_package_work))  # fmt: skip


def test_evm_mefast_package_work(benchmark, report, float_clip, mefast_package_work):
    run = lambda: mg.evm(float_clip, FS, alpha=ALPHA, n_threads=1, **PACKAGE_WORK)  # noqa: E731
    assert np.array_equal(run(), mefast_package_work)
    benchmark(run)
    report(GROUP, MEFAST_PACKAGE_WORK, benchmark, changed=_changed_float(mefast_package_work, float_clip))


# --------------------------------------------------------------------------------------------- two frames


@pytest.fixture(scope="module")
def pair():
    face = face_image(gray=True)[20:238, 25:204].astype(np.float32)
    base = cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)
    field = smooth_field(256, 256, 0.5, seed=1)
    onset = np.clip(np.rint(base), 0, 255).astype(np.uint8)
    apex = np.clip(np.rint(warp_image(base, -field)), 0, 255).astype(np.uint8)
    return onset, apex, field, base


def _lagrangian_error(out: np.ndarray, pair) -> tuple[float, float]:
    """Mean grey-level distance, inside a 16-pixel margin, of ``out`` and of the apex to the face moved by
    ``(1 + alpha) = 6`` times the known field (the apex is the face moved once by it)."""
    onset, apex, field, base = pair
    expected = warp_image(base, -6.0 * field)
    inner = np.s_[16:-16, 16:-16]
    return tuple(float(np.abs(x.astype(np.float32) - expected)[inner].mean()) for x in (out, apex))


def test_pair_evm(benchmark, report, pair):
    onset, apex, _, _ = pair
    run = lambda: mg.evm_pair(onset, apex, alpha=5.0)  # noqa: E731
    assert _changed(run(), apex) > 0
    benchmark(run)
    report(PAIR_GROUP, "mefast evm_pair (alpha 5)", benchmark)


def test_pair_lagrangian(benchmark, report, pair):
    onset, apex, field, _ = pair
    run = lambda: mg.lagrangian(onset, apex, field, alpha=5.0)  # noqa: E731
    err, apex_err = _lagrangian_error(run(), pair)
    assert err <= 0.35 * apex_err  # measured 1.0 against the apex's 4.8 grey levels
    benchmark(run)
    report(PAIR_GROUP, "mefast lagrangian, flow given", benchmark, error_to_6x_motion=err, apex_error=apex_err)


def test_pair_lagrangian_with_flow(benchmark, report, pair):
    onset, apex, _, _ = pair
    run = lambda: mg.lagrangian(onset, apex, alpha=5.0)  # noqa: E731
    # its own TV-L1 flow in place of the known field: the face moved 6x as well (measured 1.2 against 4.8)
    err, apex_err = _lagrangian_error(run(), pair)
    assert err <= 0.35 * apex_err
    benchmark.pedantic(run, rounds=5, iterations=1)
    report(PAIR_GROUP, "mefast lagrangian + TV-L1 accurate", benchmark, error_to_6x_motion=err, apex_error=apex_err)


# ----------------------------------------------------------------------------------- preprocessing flows

CROP_AMPLITUDE = np.sin(np.pi * np.arange(12) / 11)  # the motion profile of crop_clip: 0 at onset and offset


@pytest.fixture(scope="module")
def crop_clip():
    """A 256 x 256 grey face clip of 12 frames (onset .. offset), apex at 6, and its field.

    Frame ``t`` is the face sampled at ``x - a_t field(x)``, so the flow from frame ``t`` to the offset (the face
    itself, ``a_11 = 0``) is exactly ``-a_t field`` (``offset(x + flow(x)) = frame_t(x)``) before rounding.
    """
    face = face_image(gray=True)[20:238, 25:204].astype(np.float32)
    base = cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)
    field = smooth_field(256, 256, 0.8, seed=2)
    frames = [np.clip(np.rint(warp_image(base, -field * a)), 0, 255) for a in CROP_AMPLITUDE]
    return np.stack(frames).astype(np.uint8), field


def test_preprocess_one_tvl1_pair(benchmark, report, crop_clip):
    from mefast.flow import tvl1
    from mefast.pipeline import PreprocessOptions

    frames, field = crop_clip
    opts = PreprocessOptions(crop_size=(256, 256), align="none")
    run = lambda: tvl1(frames[6], frames[-1], params=opts.flow)  # noqa: E731
    truth = -CROP_AMPLITUDE[6] * field
    epe, still = endpoint_error(run(), truth), endpoint_error(np.zeros_like(truth), truth)
    assert epe <= 0.08 and still > 0.2  # measured 0.038 px (about 2x that), against 0.24 px for no motion
    benchmark.pedantic(run, rounds=5, iterations=1)
    report("preprocess flows per clip 256 x 256, 1 thread", "one TV-L1 pair (accurate)", benchmark, baseline=True,
           epe=epe)  # fmt: skip


def test_preprocess_apex_offset_flow(benchmark, report, crop_clip):
    """The new flow feature costs one TV-L1 pair plus its resize."""
    from mefast.pipeline import PreprocessOptions
    from mefast.pipeline._magnify_features import compute_magnify_features

    frames, _ = crop_clip
    opts = PreprocessOptions(crop_size=(256, 256), align="none")
    run = lambda: compute_magnify_features(  # noqa: E731
        frames, 6, features=["flow_apex_offset"], size=(128, 128), options=opts
    )
    assert run()["flow_apex_offset"].shape == (2, 128, 128)
    benchmark.pedantic(run, rounds=5, iterations=1)
    report("preprocess flows per clip 256 x 256, 1 thread", "feature flow_apex_offset", benchmark)


def test_preprocess_on_off_apex(benchmark, report, crop_clip):
    """On-A + Off-A: two TV-L1 pairs (OpenCV parameters, scale step 0.5) and a two-frame magnification."""
    from mefast.pipeline import PreprocessOptions
    from mefast.pipeline._magnify_features import compute_magnify_features

    frames, _ = crop_clip
    opts = PreprocessOptions(crop_size=(256, 256), align="none")
    run = lambda: compute_magnify_features(  # noqa: E731
        frames, 6, features=["amplified", "on_a", "off_a"], size=(128, 128), options=opts
    )
    assert run()["on_a"].max() > 0.5
    benchmark.pedantic(run, rounds=3, iterations=1)
    report("preprocess flows per clip 256 x 256, 1 thread", "features amplified + on_a + off_a", benchmark)
