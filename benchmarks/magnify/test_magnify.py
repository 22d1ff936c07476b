"""Motion magnification speed, side by side, one thread each.

* EVM on a 200-frame 320 x 256 colour clip (the astronaut face moved by a smooth field with a sinusoidal profile):
  mefast (IIR pair, and the ideal filter) against the PyPI package ``eulerian-magnification`` (ideal FFT filter on a
  4-level Laplacian pyramid; it needs sizes divisible by 2^levels, which 320 x 256 is), a vectorised NumPy EVM
  (whole-clip pyramids by array slicing, the IIR pair as a loop over frames) and a per-frame NumPy + OpenCV EVM
  (cv2.pyrDown / cv2.pyrUp, the fastest Python EVM we could write). Before timing, every engine's output is checked
  to have amplified the motion (mean absolute change > 0) and mefast's IIR output to equal the NumPy EVM's up to
  float rounding in the interior (the same algorithm; borders differ: reflect-101 of a 5-tap kernel everywhere).
* Two-frame magnification of a 256 x 256 grey face pair: mefast.magnification.evm_pair and the Lagrangian warp
  (flow given; and with its TV-L1 flow).

Run: python -m pytest benchmarks/magnify --benchmark-only -q
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from mefast import magnification as mg
from mefast.data import face_image
from mefast.testing import smooth_field, warp_image

T, H, W = 200, 256, 320
ALPHA, LAMBDA_C, R1, R2 = 10.0, 16.0, 0.4, 0.05
GROUP = "EVM 200 x 320 x 256 colour, 1 thread"


@pytest.fixture(scope="module")
def clip(request) -> np.ndarray:
    """The clip; 24 frames in the untimed smoke run of the test suite (--benchmark-disable), 200 when timed."""
    cv2.setNumThreads(1)
    n = T if request.config.getoption("benchmark_enable", False) else 24
    face = cv2.resize(face_image(), (W, H), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    field = smooth_field(H, W, 1.0, seed=0)
    frames = [np.clip(np.rint(warp_image(face, field * np.sin(2 * np.pi * t / 30))), 0, 255) for t in range(n)]
    return np.stack(frames).astype(np.uint8)


# ----------------------------------------------------------------------------------------------- NumPy EVM


def _reduce(x: np.ndarray) -> np.ndarray:
    """Binomial-5 blur (reflect-101) and decimation along axes 1 and 2 of a (T, H, W, C) array."""
    for axis in (1, 2):
        p = np.pad(x, [(2, 2) if a == axis else (0, 0) for a in range(x.ndim)], mode="reflect")
        n = x.shape[axis]
        s = [np.take(p, np.arange(k, k + n, 2), axis=axis) for k in range(5)]
        x = (s[0] + s[4]) * 0.0625 + (s[1] + s[3]) * 0.25 + s[2] * 0.375
    return x


def _expand(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Zero insertion and 2 x binomial-5 (reflect-101) along axes 1 and 2, to ``shape``."""
    for axis, n in ((1, shape[0]), (2, shape[1])):
        up_shape = list(x.shape)
        up_shape[axis] = n
        u = np.zeros(up_shape, x.dtype)
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(0, n, 2)
        u[tuple(idx)] = x
        p = np.pad(u, [(2, 2) if a == axis else (0, 0) for a in range(x.ndim)], mode="reflect")
        s = [np.take(p, np.arange(k, k + n), axis=axis) for k in range(5)]
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
    """The same EVM frame by frame with cv2.pyrDown / cv2.pyrUp and NumPy arithmetic."""
    levels = int(mg._evm._core.evm_auto_levels(H, W))
    alphas = mg.evm_level_alphas((H, W), ALPHA, LAMBDA_C)
    inv = np.linalg.inv(_YIQ).T.astype(np.float32)
    chroma = np.array([1.0, 0.1, 0.1], np.float32)
    state: list | None = None
    out = np.empty_like(video)
    for t, frame in enumerate(video):
        g = (frame.astype(np.float32) / 255.0) @ _YIQ.T
        pyr = []
        for _ in range(levels - 1):
            nxt = cv2.pyrDown(g)
            pyr.append(g - cv2.pyrUp(nxt, dstsize=(g.shape[1], g.shape[0])))
            g = nxt
        if state is None:
            state = [[b.copy(), b.copy()] for b in pyr]
            out[t] = frame
            continue
        recon = None
        for lv in range(levels - 2, -1, -1):
            y = state[lv]
            y[0] += R1 * (pyr[lv] - y[0])
            y[1] += R2 * (pyr[lv] - y[1])
            band = (y[0] - y[1]) * (alphas[lv] * chroma)
            if recon is not None:
                band = band + cv2.pyrUp(recon, dstsize=(band.shape[1], band.shape[0]))
            recon = band
        assert recon is not None
        out[t] = np.clip(np.rint((frame.astype(np.float32) / 255.0 + recon @ inv) * 255.0), 0, 255).astype(np.uint8)
    return out


def _changed(out: np.ndarray, video: np.ndarray) -> float:
    return float(np.abs(out.astype(np.int16) - video.astype(np.int16)).mean())


def test_evm_pypi_package(benchmark, report, clip):
    em = pytest.importorskip("eulerian_magnification")
    video = clip.astype(np.float64) / 255.0  # its documented input: float frames

    def run():
        with warnings.catch_warnings():  # it casts its complex FFT output to real (ComplexWarning)
            warnings.simplefilter("ignore")
            return em.eulerian_magnification(video, 30, 0.5, 3.0, ALPHA, pyramid_levels=4)

    assert np.abs(run() - video).mean() > 0
    benchmark.pedantic(run, rounds=2, iterations=1)
    report(GROUP, "eulerian-magnification 0.22 (ideal FFT, 4 levels, float64)", benchmark, baseline=True)


def test_evm_numpy(benchmark, report, clip):
    out = numpy_evm(clip)
    mine = mg.evm(clip, 30, alpha=ALPHA, lambda_c=LAMBDA_C, n_threads=1)
    assert _changed(out, clip) > 0.1
    # the same algorithm: equal up to rounding inside (the NumPy reduce pads every level the same way)
    assert np.abs(out.astype(int) - mine.astype(int))[:, 16:-16, 16:-16].max() <= 1
    benchmark.pedantic(lambda: numpy_evm(clip), rounds=2, iterations=1)
    report(GROUP, "vectorised NumPy EVM (IIR, Laplacian)", benchmark, changed=_changed(out, clip))


def test_evm_numpy_cv2(benchmark, report, clip):
    out = cv2_evm(clip)
    assert _changed(out, clip) > 0.1
    benchmark.pedantic(lambda: cv2_evm(clip), rounds=2, iterations=1)
    report(GROUP, "NumPy + cv2.pyrDown/pyrUp per frame (IIR)", benchmark, changed=_changed(out, clip))


@pytest.mark.parametrize("temporal", ["iir", "ideal"])
def test_evm_mefast(benchmark, report, clip, temporal):
    kw = {"fl": 0.5, "fh": 3.0} if temporal == "ideal" else {}
    run = lambda: mg.evm(clip, 30, alpha=ALPHA, lambda_c=LAMBDA_C, temporal=temporal, n_threads=1, **kw)  # noqa: E731
    out = run()
    assert _changed(out, clip) > 0.1
    benchmark(run)
    report(GROUP, f"mefast.magnification.evm temporal={temporal}", benchmark, changed=_changed(out, clip))


# --------------------------------------------------------------------------------------------- two frames


@pytest.fixture(scope="module")
def pair():
    face = face_image(gray=True)[20:238, 25:204].astype(np.float32)
    base = cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)
    field = smooth_field(256, 256, 0.5, seed=1)
    onset = np.clip(np.rint(base), 0, 255).astype(np.uint8)
    apex = np.clip(np.rint(warp_image(base, -field)), 0, 255).astype(np.uint8)
    return onset, apex, field


def test_pair_evm(benchmark, report, pair):
    onset, apex, _ = pair
    run = lambda: mg.evm_pair(onset, apex, alpha=5.0)  # noqa: E731
    assert _changed(run(), apex) > 0
    benchmark(run)
    report("two-frame magnification 256 x 256 grey, 1 thread", "mefast evm_pair (alpha 5)", benchmark)


def test_pair_lagrangian(benchmark, report, pair):
    onset, apex, field = pair
    run = lambda: mg.lagrangian(onset, apex, field, alpha=5.0)  # noqa: E731
    assert _changed(run(), apex) > 0
    benchmark(run)
    report("two-frame magnification 256 x 256 grey, 1 thread", "mefast lagrangian, flow given", benchmark)


def test_pair_lagrangian_with_flow(benchmark, report, pair):
    onset, apex, _ = pair
    run = lambda: mg.lagrangian(onset, apex, alpha=5.0)  # noqa: E731
    benchmark.pedantic(run, rounds=5, iterations=1)
    report("two-frame magnification 256 x 256 grey, 1 thread", "mefast lagrangian + TV-L1 accurate", benchmark)


# ----------------------------------------------------------------------------------- preprocessing flows


@pytest.fixture(scope="module")
def crop_clip():
    """A 256 x 256 grey face clip of 12 frames (onset .. offset), apex at 6."""
    face = face_image(gray=True)[20:238, 25:204].astype(np.float32)
    base = cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)
    field = smooth_field(256, 256, 0.8, seed=2)
    prof = np.sin(np.pi * np.arange(12) / 11)
    return np.stack([np.clip(np.rint(warp_image(base, -field * a)), 0, 255) for a in prof]).astype(np.uint8)


def test_preprocess_one_tvl1_pair(benchmark, report, crop_clip):
    from mefast.flow import tvl1
    from mefast.pipeline import PreprocessOptions

    opts = PreprocessOptions(crop_size=(256, 256), align="none")
    run = lambda: tvl1(crop_clip[6], crop_clip[-1], params=opts.flow)  # noqa: E731
    run()
    benchmark.pedantic(run, rounds=5, iterations=1)
    report("preprocess flows per clip 256 x 256, 1 thread", "one TV-L1 pair (accurate)", benchmark, baseline=True)


def test_preprocess_apex_offset_flow(benchmark, report, crop_clip):
    """The new flow feature costs one TV-L1 pair plus its resize."""
    from mefast.pipeline import PreprocessOptions
    from mefast.pipeline._magnify_features import compute_magnify_features

    opts = PreprocessOptions(crop_size=(256, 256), align="none")
    run = lambda: compute_magnify_features(  # noqa: E731
        crop_clip, 6, features=["flow_apex_offset"], size=(128, 128), options=opts
    )
    assert run()["flow_apex_offset"].shape == (2, 128, 128)
    benchmark.pedantic(run, rounds=5, iterations=1)
    report("preprocess flows per clip 256 x 256, 1 thread", "feature flow_apex_offset", benchmark)


def test_preprocess_on_off_apex(benchmark, report, crop_clip):
    """On-A + Off-A: two TV-L1 pairs (OpenCV parameters, scale step 0.5) and a two-frame magnification."""
    from mefast.pipeline import PreprocessOptions
    from mefast.pipeline._magnify_features import compute_magnify_features

    opts = PreprocessOptions(crop_size=(256, 256), align="none")
    run = lambda: compute_magnify_features(  # noqa: E731
        crop_clip, 6, features=["amplified", "on_a", "off_a"], size=(128, 128), options=opts
    )
    assert run()["on_a"].max() > 0.5
    benchmark.pedantic(run, rounds=3, iterations=1)
    report("preprocess flows per clip 256 x 256, 1 thread", "features amplified + on_a + off_a", benchmark)
