"""Eulerian video magnification: exact pyramids, the reference alpha schedule, temporal filters, identities."""

from __future__ import annotations

import re

import numpy as np
import pytest

import mefast
from mefast import magnification as mg
from mefast.errors import ShapeError


def test_pyramid_reconstructs_exactly(rng):
    """E1: collapse(build(x)) == x for sizes that are not multiples of 2^levels."""
    for shape, levels in (((37, 53), 4), ((64, 48), "auto"), ((5, 3), 3), ((1, 7), 2)):
        x = rng.random(shape).astype(np.float32)
        pyr = mg.laplacian_pyramid(x, levels)
        assert pyr[0].shape == shape
        assert pyr[1].shape == ((shape[0] + 1) // 2, (shape[1] + 1) // 2)
        np.testing.assert_allclose(mg.reconstruct_pyramid(pyr), x, atol=1e-6)


def test_pyramid_matches_opencv_pyrdown_and_pyrup():
    """Inside the border, reduce is cv2.pyrDown and each band is G_l - pyrUp(G_{l+1}) (the same binomial kernel)."""
    import cv2

    x = np.random.default_rng(3).random((64, 80)).astype(np.float32)
    pyr = mg.laplacian_pyramid(x, 3)
    g1 = cv2.pyrDown(x)
    band0 = x - cv2.pyrUp(g1, dstsize=(80, 64))
    np.testing.assert_allclose(pyr[0][4:-4, 4:-4], band0[4:-4, 4:-4], atol=1e-6)
    band1 = g1 - cv2.pyrUp(cv2.pyrDown(g1), dstsize=(40, 32))
    np.testing.assert_allclose(pyr[1][4:-4, 4:-4], band1[4:-4, 4:-4], atol=1e-6)


def test_auto_levels_and_reference_alpha_schedule():
    """E2: matlabPyrTools' 'auto' height and the reference code's attenuated alphas, finest -> residual."""
    assert mefast._core.evm_auto_levels(280, 340) == 7
    assert mefast._core.evm_auto_levels(384, 384) == 8
    assert mefast._core.evm_auto_levels(37, 53) == 4
    np.testing.assert_allclose(mg.evm_level_alphas((280, 340), 10, 16), [0, 4.3086, 10, 10, 10, 10, 0], atol=1e-4)
    np.testing.assert_allclose(
        mg.evm_level_alphas((280, 340), 20, 80), [0, 0.4087, 2.8175, 7.6349, 17.2699, 20, 0], atol=1e-4
    )
    np.testing.assert_array_equal(mg.evm_level_alphas((64, 64), 3, schedule="flat", levels=4), [3, 3, 3, 0])


@pytest.mark.parametrize("temporal", ["iir", "butter", "ideal", "diff"])
@pytest.mark.parametrize("colour", [False, True])
def test_alpha_zero_returns_the_input(rng, temporal, colour):
    shape = (9, 37, 53, 3) if colour else (9, 37, 53)
    v8 = (rng.random(shape) * 255).astype(np.uint8)
    kw = {"fl": 1.0, "fh": 5.0} if temporal in ("butter", "ideal") else {}
    np.testing.assert_array_equal(mg.evm(v8, 30, alpha=0, temporal=temporal, **kw), v8)
    vf = rng.random(shape).astype(np.float32)
    out = mg.evm(vf, 30, alpha=0, temporal=temporal, **kw)
    assert out.dtype == np.float32 and out.shape == vf.shape
    np.testing.assert_array_equal(out, vf)


def test_still_video_is_returned_bit_exact(rng):
    """E3: a still video has no band at all."""
    frame = (rng.random((40, 30, 3)) * 255).astype(np.uint8)
    video = np.repeat(frame[None], 12, axis=0)
    np.testing.assert_array_equal(mg.evm(video, alpha=50, chroma_attenuation=1.0), video)


def test_iir_impulse_response():
    """E3: the IIR pair's zero-state impulse response r1(1-r1)^n - r2(1-r2)^n, pixel by pixel."""
    t = 30
    video = np.full((t, 6, 5), 0.2, np.float32)
    video[1] += 0.1
    out = mg.evm(video, alpha=1.0, pyramid=None, temporal="iir", r1=0.4, r2=0.05, clip=False)
    n = np.arange(t - 1)
    expect = 0.1 * (0.4 * 0.6**n - 0.05 * 0.95**n)
    np.testing.assert_allclose((out - video)[1:, 3, 2], expect, atol=1e-6)
    np.testing.assert_array_equal(out[0], video[0])


def _cosine_clip(t, fs, f, amp, h=8, w=8):
    time_axis = np.arange(t) / fs
    return (0.5 + amp * np.cos(2 * np.pi * f * time_axis))[:, None, None] * np.ones((1, h, w), np.float32)


def test_ideal_filter_gain_in_and_out_of_band():
    """E4: a cosine on an in-band DFT bin is amplified by alpha (paper) or alpha/2 (reference); out of band, 0."""
    fs, t = 30.0, 60
    inband = _cosine_clip(t, fs, 3.0, 0.1).astype(np.float32)  # bin 6 of 60
    outband = _cosine_clip(t, fs, 9.0, 0.1).astype(np.float32)
    kw = {"alpha": 1.0, "pyramid": None, "temporal": "ideal", "fl": 2.0, "fh": 4.0, "clip": False}
    ac = inband - 0.5
    np.testing.assert_allclose(mg.evm(inband, fs, **kw) - inband, ac, atol=1e-6)
    np.testing.assert_allclose(mg.evm(inband, fs, compat="reference", **kw) - inband, 0.5 * ac, atol=1e-6)
    np.testing.assert_allclose(mg.evm(outband, fs, **kw), outband, atol=1e-6)


def test_butterworth_reference_cutoffs():
    """E5: compat='reference' calls butter(1, f / fs), so a steady cosine at f / 2 passes the low-pass at f with
    gain 1/sqrt(2); the paper mode puts the cutoff at f itself."""
    b0, b1, a1 = mg._evm._butter_coefficients(0.4, 30.0, "reference")
    z = np.exp(-2j * np.pi * 0.2 / 30.0)
    assert abs((b0 + b1 * z) / (1 + a1 * z)) == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    b0, b1, a1 = mg._evm._butter_coefficients(0.4, 30.0, "paper")
    z = np.exp(-2j * np.pi * 0.4 / 30.0)
    assert abs((b0 + b1 * z) / (1 + a1 * z)) == pytest.approx(1 / np.sqrt(2), abs=1e-6)


def test_butterworth_band_passes_in_band_tones_only():
    """Steady-state gain of the Butterworth band-pass on tones = alpha |H_fh(f) - H_fl(f)| (the analytic response of
    the two bilinear-transform low-passes); tones far outside [fl, fh] are not amplified."""
    fs, t, alpha = 30.0, 600, 10.0
    k = np.arange(t) / fs

    def gain(f):
        video = (0.5 + 0.01 * np.cos(2 * np.pi * f * k))[:, None, None] * np.ones((1, 4, 4))
        video = video.astype(np.float32)
        out = mg.evm(video, fs, alpha=alpha, pyramid=None, temporal="butter", fl=2.0, fh=6.0, clip=False)
        d = (out - video)[300:, 0, 0].astype(np.float64)
        ph = 2 * np.pi * f * k[300:]
        return np.hypot((d * np.cos(ph)).mean(), (d * np.sin(ph)).mean()) * 2 / 0.01

    def analytic(f):
        z = np.exp(-2j * np.pi * f / fs)
        h = [
            (b0 + b1 * z) / (1 + a1 * z)
            for b0, b1, a1 in (mg._evm._butter_coefficients(fc, fs, "paper") for fc in (6.0, 2.0))
        ]
        return alpha * abs(h[0] - h[1])

    for f in (0.05, 3.5, 14.5):
        assert gain(f) == pytest.approx(analytic(f), rel=0.02, abs=0.02)
    assert gain(3.5) > 4.0  # in band: amplified
    assert gain(0.05) < 0.05 * alpha and gain(14.5) < 0.05 * alpha  # far outside: < 5 % of alpha (first order)


def test_ramp_moved_by_diff_on_pixels():
    """E7: pyramid=None, a ramp moved 0.1 px, diff, alpha = 4: moved 0.5 px (linear in x: exact)."""
    x = np.arange(40, dtype=np.float32)
    onset = np.tile(0.2 + 0.01 * x, (10, 1))
    apex = np.tile(0.2 + 0.01 * (x - 0.1), (10, 1))
    out = mg.evm(np.stack([onset, apex]), alpha=4, pyramid=None, temporal="diff", clip=False)[1]
    np.testing.assert_allclose(out, np.tile(0.2 + 0.01 * (x - 0.5), (10, 1)), atol=1e-6)


def test_pair_equals_sequence_modes(rng):
    """The two-frame mode is the last frame of the sequence mode on [onset, apex] with diff, and with iir(1, 0)."""
    onset = rng.random((45, 61, 3)).astype(np.float32)
    apex = np.clip(onset + 0.05 * rng.standard_normal(onset.shape).astype(np.float32), 0, 1)
    pair = mg.evm_pair(onset, apex, alpha=8, lambda_c=10, clip=False)
    seq = np.stack([onset, apex])
    np.testing.assert_allclose(pair, mg.evm(seq, alpha=8, lambda_c=10, temporal="diff", clip=False)[1], atol=1e-6)
    np.testing.assert_allclose(
        pair, mg.evm(seq, alpha=8, lambda_c=10, temporal="iir", r1=1.0, r2=0.0, clip=False)[1], atol=1e-6
    )
    np.testing.assert_array_equal(mg.evm(seq, alpha=8, temporal="diff")[0], onset)


def test_pair_with_every_level_amplified_is_linear_extrapolation(rng):
    """E8: alpha on every level including the residual: apex + alpha (apex - onset), grey and colour."""
    for shape in ((33, 47), (33, 47, 3)):
        onset = rng.random(shape).astype(np.float32)
        apex = rng.random(shape).astype(np.float32)
        levels = mefast._core.evm_auto_levels(33, 47)
        out = mg.evm_pair(onset, apex, alpha=3, schedule=[3.0] * levels, chroma_attenuation=1.0, clip=False)
        np.testing.assert_allclose(out, apex + 3 * (apex - onset), atol=2e-5)


def test_cosine_shift_regression():
    """E9: a 256 x 256 cosine of wavelength 64 px moved 0.05 px, alpha 4, lambda_c 16 -> 0.921 (1 + alpha) delta."""
    n, lam, d, alpha = 256, 64.0, 0.05, 4.0
    x = np.arange(n, dtype=np.float64)
    onset = np.tile(0.5 + 0.25 * np.cos(2 * np.pi * x / lam), (n, 1)).astype(np.float32)
    apex = np.tile(0.5 + 0.25 * np.cos(2 * np.pi * (x - d) / lam), (n, 1)).astype(np.float32)
    out = mg.evm_pair(onset, apex, alpha=alpha, lambda_c=16, clip=False).astype(np.float64)
    row = out[n // 2, 64:192] - 0.5
    xs = x[64:192]
    c, s = (row * np.cos(2 * np.pi * xs / lam)).sum(), (row * np.sin(2 * np.pi * xs / lam)).sum()
    shift = np.arctan2(s, c) * lam / (2 * np.pi)
    assert shift / ((1 + alpha) * d) == pytest.approx(0.921, abs=0.03)


def test_any_frame_size_and_dtype_kept(rng):
    for shape in ((5, 37, 53), (4, 17, 9, 3), (3, 1, 1)):
        v = (rng.random(shape) * 255).astype(np.uint8)
        out = mg.evm(v, alpha=5)
        assert out.shape == v.shape and out.dtype == np.uint8
    v64 = rng.random((4, 20, 24))
    out = mefast.magnify(v64, 3)
    assert out.dtype == np.float64 and out.shape == v64.shape


def test_presets_run_and_unknown_preset_is_refused(rng):
    v = rng.random((16, 40, 48, 3)).astype(np.float32)
    for name in mg.EVM_PRESETS:
        fs = mg.EVM_PRESETS[name].get("fs", 30.0)
        assert mefast.magnify(v, mg.EVM_PRESETS[name]["alpha"], preset=name, fs=fs).shape == v.shape
    with pytest.raises(ValueError, match="unknown EVM preset"):
        mefast.magnify(v, 10, preset="nope")


def test_a_given_frame_rate_overrides_the_presets():
    """The preset's band is in Hz: a 2.625 Hz flicker is in baby2's 2.33-2.67 Hz band at 35 fps (9 cycles in 120
    frames), and outside it read at the preset's 30 fps (2.25 Hz). fs=35 must filter at 35 fps."""
    t = np.arange(120)
    v = ((0.5 + 0.01 * np.cos(2 * np.pi * 9 * t / 120))[:, None, None, None] * np.ones((1, 32, 32, 3))).astype(
        np.float32
    )
    settings = {k: x for k, x in mg.EVM_PRESETS["baby2"].items() if k != "fs"}
    at35 = mefast.magnify(v, 10, preset="baby2", fs=35.0)
    np.testing.assert_array_equal(at35, mg.evm(v, 35.0, **{**settings, "alpha": 10}))
    assert np.abs(at35 - v).max() > 0.05  # amplified
    np.testing.assert_array_equal(
        mefast.magnify(v, 10, preset="baby2"), mg.evm(v, mg.EVM_PRESETS["baby2"]["fs"], **{**settings, "alpha": 10})
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temporal": "butter"}, "needs the cutoffs"),
        ({"temporal": "ideal", "fl": 5.0, "fh": 1.0}, "fl < fh"),
        ({"temporal": "butter", "fl": 1.0, "fh": 20.0}, "outside"),
        ({"r1": 0.05, "r2": 0.4}, "r2 < r1"),
        ({"temporal": "fir"}, "temporal must be"),
        ({"pyramid": "steerable"}, "pyramid must be"),
        ({"levels": 0}, "levels must be"),
        ({"compat": "matlab"}, "compat must be"),
        ({"alpha": float("nan")}, "alpha must be finite"),
    ],
)
def test_bad_parameters_are_refused(rng, kwargs, match):
    v = rng.random((4, 16, 16)).astype(np.float32)
    with pytest.raises(ValueError, match=match):
        mg.evm(v, 30, **kwargs)


def test_core_level_alphas_bound_the_levels_as_evmparams():
    """The core's evm_level_alphas checked only levels >= 1, so 10**8 levels allocated and filled 400 MB with the
    GIL held (2**31 - 1: 8.6 GB); it takes EVMParams' [1, 30] now."""
    from mefast import _core

    for levels in (0, 31, 10**8, 2**31 - 1):
        with pytest.raises(ValueError, match=rf"^levels must be in \[1, 30\], got {levels}$"):
            _core.evm_level_alphas(64, 64, levels, 10.0, 16.0, 2.0)
    assert len(_core.evm_level_alphas(64, 64, 30, 10.0, 16.0, 2.0)) == 30


def test_bad_video_is_refused():
    with pytest.raises(ShapeError, match="dtype int16"):
        mg.evm(np.zeros((3, 8, 8), np.int16))
    with pytest.raises(ShapeError, match=r"\(T, H, W\)"):
        mg.evm(np.zeros((8, 8), np.float32))
    with pytest.raises(ShapeError, match=r"\(T, H, W\)"):
        mg.evm(np.zeros((3, 8, 8, 4), np.float32))
    bad = np.zeros((3, 8, 8), np.float32)
    bad[1, 2, 3] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        mg.evm(bad)
    with pytest.raises(ShapeError, match="same shape"):
        mg.evm_pair(np.zeros((8, 8), np.float32), np.zeros((8, 9), np.float32))
    with pytest.raises(ValueError, match="must have shape"):
        mefast._core.evm_magnify(np.zeros((2, 8, 8, 2), np.float32), mefast._core.EVMParams(alphas=[1.0], levels=1))
    with pytest.raises(ValueError, match="one alpha per pyramid level"):
        mefast._core.evm_magnify(np.zeros((2, 8, 8), np.float32), mefast._core.EVMParams(alphas=[1.0], levels=3))
    with pytest.raises(ValueError, match="alphas"):
        mefast._core.EVMParams(alphas="x")
    with pytest.raises(ValueError, match="temporal must be one of"):
        mefast._core.EVMParams(temporal="fir")
    with pytest.raises(ValueError, match="r2 < r1"):
        mefast._core.EVMParams(alphas=[1.0], levels=1, r1=0.1, r2=0.2).validate()


def test_evm_releases_the_gil(longest_python_pause):
    video = np.random.default_rng(0).random((160, 192, 240, 3)).astype(np.float32)
    pause, seconds = longest_python_pause(lambda: mg.evm(video, alpha=10, n_threads=1))
    assert seconds > 0.05
    assert pause < 0.5 * seconds


def test_interpolation_overshoot_of_float_frames_is_accepted():
    """A float clip resized bicubically overshoots [0, 1] (here -0.05..1.002): magnified as given, as before the
    range check, whose first version refused it."""
    import cv2

    from mefast.data import face_image

    face = face_image(gray=True).astype(np.float32) / 255
    clip = np.stack([cv2.resize(np.roll(face, t, axis=1), (96, 96), interpolation=cv2.INTER_CUBIC) for t in range(8)])
    assert clip.min() < 0 or clip.max() > 1
    out = mefast.magnify(clip, 10, fs=30)
    assert out.shape == clip.shape and np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    assert np.isfinite(np.asarray(mg.evm_pair(clip[0], clip[4]), dtype=np.float64)).all()  # the pair too


def test_float_video_outside_the_unit_range_is_refused(rng):
    """Float grey levels 0..255 were clipped to [0, 1] (review repro_magnify_range.py: 94 % of the pixels came back
    exactly 1.0); a finite float64 beyond float32 became inf and was clipped, with only a RuntimeWarning."""
    v255 = rng.random((12, 48, 48)) * 255
    with pytest.raises(ShapeError, match=r"^video holds values in \[0\.\d+, 254\.\d+\] \(float64\); float frames "):
        mefast.magnify(v255, 10, fs=30)
    with pytest.raises(ShapeError, match=r"^video holds values in \[-0\.6, 0\.5\] \(float32\)"):
        mg.evm(np.linspace(-0.6, 0.5, 3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8))
    with pytest.raises(ShapeError, match=r"^onset holds values in"):
        mg.evm_pair(v255[0], v255[1] / 255)
    with pytest.raises(ShapeError, match=r"^apex holds values in"):
        mg.evm_pair(v255[0] / 255, v255[1])
    huge = rng.random((4, 16, 16))
    huge[:, :, 5] = 1e39
    with pytest.raises(ShapeError, match=r"^video holds values in \[.*, 1e\+39\]"):
        mefast.magnify(huge, 10)
    with pytest.raises(ShapeError, match=r"^image holds values beyond the float32 range"):
        mg.laplacian_pyramid(huge[0])
    # the bounds themselves, and the linear pyramid of any finite float image
    edge = np.zeros((3, 8, 8))
    edge[1] = 1.0
    assert mg.evm(edge).dtype == np.float64
    assert len(mg.laplacian_pyramid(v255[0], 3)) == 3


def test_big_endian_float_video_is_accepted(rng):
    """'>f4' and '>f8' were refused ('must be uint8 ... or float32/float64, got dtype >f4'), unlike every other
    function of mefast; they are the same numbers."""
    v = rng.random((6, 24, 20)).astype(np.float32)
    expected = mefast.magnify(v, 10)
    out = mefast.magnify(v.astype(">f4"), 10)
    assert out.dtype == np.dtype(">f4")
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(mg.evm_pair(v[0].astype(">f8"), v[1].astype(">f4")), mg.evm_pair(v[0], v[1]))
    np.testing.assert_array_equal(mg.laplacian_pyramid(v[0].astype(">f4"))[0], mg.laplacian_pyramid(v[0])[0])
    with pytest.raises(ShapeError, match="got dtype float16"):
        mg.evm(v.astype(np.float16))


def test_reconstruct_pyramid_refuses_non_finite_levels(rng):
    """A NaN level collapsed to -3e38 (review repro_msgs.py: reconstruct_pyramid([full((4, 4), nan), zeros((2, 2))])
    gave -3e38 at [0, 0]), an infinite level -3e38 everywhere, a float64 level of 1e39 3e38 (with a warning)."""
    pyr = mg.laplacian_pyramid(rng.random((8, 8)).astype(np.float32), 3)
    for i, bad in ((0, np.nan), (1, np.inf), (2, -np.inf)):
        levels = [lv.copy() for lv in pyr]
        levels[i][0, 0] = bad
        with pytest.raises(
            ShapeError, match=rf"^pyramid level {i} contains NaN or infinity \(first at index \(0, 0\)\)"
        ):
            mg.reconstruct_pyramid(levels)
    with pytest.raises(ShapeError, match=r"^pyramid level 1 holds values beyond the float32 range"):
        mg.reconstruct_pyramid([pyr[0], np.full(pyr[1].shape, 1e39), pyr[2]])
    with pytest.raises(ShapeError, match=r"^pyramid level 0 must be a numeric array, got dtype object"):
        mg.reconstruct_pyramid([np.full((8, 8), None), pyr[1], pyr[2]])
    np.testing.assert_allclose(mg.reconstruct_pyramid([lv.astype(">f8") for lv in pyr]), mg.reconstruct_pyramid(pyr))


@pytest.mark.parametrize("exaggeration", [float("nan"), float("inf"), -1.0, "2", True])
def test_exaggeration_is_checked_under_its_own_name(rng, exaggeration):
    """evm(exaggeration=nan) said 'alpha must be finite' (the core's check of the per-level alphas it produced);
    -1 turned the attenuated levels' negative bound positive, '2' passed float()."""
    v = rng.random((3, 16, 16)).astype(np.float32)
    msg = rf"^exaggeration must be a finite number >= 0, got {re.escape(repr(exaggeration))}$"
    with pytest.raises(ValueError, match=msg):
        mg.evm(v, 30, exaggeration=exaggeration)
    with pytest.raises(ValueError, match=msg):
        mg.evm(v, 30, exaggeration=exaggeration, pyramid=None)
    with pytest.raises(ValueError, match=msg):
        mg.evm_pair(v[0], v[1], exaggeration=exaggeration)
    with pytest.raises(ValueError, match=msg):
        mg.evm_level_alphas((64, 64), 10, exaggeration=exaggeration)
    np.testing.assert_array_equal(
        mg.evm_level_alphas((280, 340), 10, exaggeration=np.float32(2)), mg.evm_level_alphas((280, 340), 10)
    )


def test_the_two_frame_magnifiers_check_frames_as_the_eulerian_ones():
    """lagrangian and on_off_apex refused big-endian floats ('>f4': "must be uint8 ... got dtype >f4"), which every
    other function takes; on_off_apex took float grey levels 0..255 (its flows then saw 255 times the contrast).
    They now share the Eulerian check; lagrangian, which clips nothing, still takes any finite float scale."""
    from mefast.data import face_image

    face = face_image(gray=True)[60:124, 60:124].astype(np.float32) / 255
    moved = np.roll(face, 1, axis=1)
    native = mg.lagrangian(face, moved, alpha=2.0)
    np.testing.assert_array_equal(mg.lagrangian(face.astype(">f4"), moved.astype(">f4"), alpha=2.0), native)
    assert np.isfinite(mg.lagrangian(face * 255, moved * 255, alpha=2.0)).all()  # any float scale, as before
    ok = mg.on_off_apex(face.astype(">f4"), moved, face)
    np.testing.assert_array_equal(ok.amplified, mg.on_off_apex(face, moved, face).amplified)
    with pytest.raises(
        ShapeError, match=r"^onset holds values in \[.*\] \(float32\); float frames must lie in \[0, 1\]"
    ):
        mg.on_off_apex(face * 255, moved * 255, face * 255)
