"""TIM: the closed form against the graph-embedding model (SVD + path-graph Laplacian eigenvectors) on full-rank
clips, the spec's oracles T1-T5 and section 3.6, the degenerate clips of section 3.4, outputs and errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import mefast
from mefast import _core
from mefast._backend import kernels
from mefast.errors import CudaUnavailableError

from .test_lbptop import _face_clips

_spec = importlib.util.spec_from_file_location("_reference_lbp", Path(__file__).with_name("_reference_lbp.py"))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)


def _weights_numpy(n, n_out):
    """K from its definition in float64 (spec 3.2), positions s_j = 1 + j (n-1)/(n_out-1), 1-based."""
    s = 1 + np.arange(n_out) * (n - 1) / max(n_out - 1, 1)
    i = np.arange(1, n + 1)[:, None]
    k = np.arange(1, n)[:, None, None]
    terms = np.cos(np.pi * k * (i - 0.5) / n) * np.cos(np.pi * k * (s[None, :] - 0.5) / n)
    return 1 / n + 2 / n * terms.sum(axis=0)


@pytest.mark.parametrize(("n", "n_out"), [(5, 10), (10, 10), (7, 3), (12, 40), (30, 10), (3, 2), (2, 5), (60, 10)])
def test_matches_graph_embedding_model_on_full_rank_clips(n, n_out, rng):
    video = rng.integers(0, 256, (n, 12, 11), dtype=np.uint8)  # d = 132 >= n: full rank
    expected = ref.tim_graph_embedding(video, n_out)
    got = mefast.tim(video, n_out)
    assert got.shape == (n_out, 12, 11) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-3)
    u8 = mefast.tim(video, n_out, output="uint8")
    assert u8.dtype == np.uint8
    # the SVD model's rounding noise decides exact halves either way; elsewhere the rounding must agree
    near_half = np.abs(expected - np.floor(expected) - 0.5) < 1e-6
    assert ((u8 == np.clip(np.floor(expected + 0.5), 0, 255)) | near_half).all()


def test_matches_graph_embedding_model_rgb(rng):
    video = rng.random((6, 7, 8, 3)) * 255
    got = mefast.tim(video, 11)
    assert got.shape == (11, 7, 8, 3)
    np.testing.assert_allclose(got, ref.tim_graph_embedding(video, 11), atol=2e-3)
    # colour channels use the same weights as grey frames
    for c in range(3):
        np.testing.assert_allclose(got[..., c], mefast.tim(video[..., c], 11), atol=1e-4)


def test_t2_weight_matrices():
    np.testing.assert_allclose(mefast.tim_weights(2, 3), [[1, 0.5, 0], [0, 0.5, 1]], atol=1e-15)
    np.testing.assert_allclose(
        mefast.tim_weights(3, 5),
        [[1, 0.455342, 0, -0.122008, 0], [0, 0.666667, 1, 0.666667, 0], [0, -0.122008, 0, 0.455342, 1]],
        atol=1e-6,
    )
    for n, n_out in [(4, 9), (9, 4), (17, 30), (60, 10)]:
        K = mefast.tim_weights(n, n_out)
        np.testing.assert_allclose(K, _weights_numpy(n, n_out), atol=1e-12)
        np.testing.assert_allclose(K.sum(axis=0), 1, atol=1e-12)  # a constant clip stays constant


@pytest.mark.parametrize("n", [1, 2, 3, 9, 31])
def test_t1_identity_when_n_out_equals_n(n, rng):
    video = rng.integers(0, 256, (n, 9, 10), dtype=np.uint8)
    np.testing.assert_array_equal(mefast.tim(video, n), video.astype(np.float32))
    np.testing.assert_array_equal(mefast.tim(video, n, output="uint8"), video)
    floats = rng.random((n, 5, 4))
    np.testing.assert_array_equal(mefast.tim(floats, n), floats.astype(np.float32))


def test_first_and_last_frames_are_kept_exactly(rng):
    video = rng.random((8, 6, 7)).astype(np.float32) * 100
    for n_out in (2, 3, 5, 13, 40):
        out = mefast.tim(video, n_out)
        np.testing.assert_array_equal(out[0], video[0])
        np.testing.assert_array_equal(out[-1], video[-1])


def test_t3_constant_affine_reversal_and_pixel_independence(rng):
    const = np.full((7, 5, 6), 93, np.uint8)
    np.testing.assert_allclose(mefast.tim(const, 12), 93, atol=1e-4)
    video = rng.random((9, 8, 7)) * 200
    out = mefast.tim(video, 15).astype(np.float64)
    np.testing.assert_allclose(mefast.tim(2.5 * video - 30, 15), 2.5 * out - 30, atol=2e-3)
    np.testing.assert_allclose(mefast.tim(video[::-1], 15), out[::-1], atol=1e-4)
    perm = rng.permutation(8 * 7)
    flat = video.reshape(9, -1)[:, perm].reshape(9, 8, 7)
    np.testing.assert_allclose(mefast.tim(flat, 15).reshape(15, -1), out.reshape(15, -1)[:, perm], atol=1e-4)


def test_t4_single_output_frame_is_the_first_frame(rng):
    video = rng.integers(0, 256, (6, 4, 5), dtype=np.uint8)
    np.testing.assert_array_equal(mefast.tim(video, 1), video[:1].astype(np.float32))


def test_single_input_frame_is_repeated(rng):
    video = rng.integers(0, 256, (1, 4, 5), dtype=np.uint8)
    np.testing.assert_array_equal(mefast.tim(video, 4, output="uint8"), np.repeat(video, 4, axis=0))


def test_t5_first_frame_equal_to_last(rng):
    # Rank-deficient: the SVD-based references return wrong frames here (MEB: off by up to 126 grey levels
    # even for n_out == n); the closed form reproduces the input and stays the fixed linear combination.
    video = rng.integers(0, 256, (6, 10, 10), dtype=np.uint8)
    video[-1] = video[0]
    np.testing.assert_array_equal(mefast.tim(video, 6), video.astype(np.float32))
    K = mefast.tim_weights(6, 11)
    expected = np.einsum("ij,ipq->jpq", K, video.astype(np.float64))
    np.testing.assert_allclose(mefast.tim(video, 11), expected, atol=1e-3)


@pytest.mark.parametrize("kind", ["repeated frames", "constant clip", "fewer pixels than frames"])
def test_degenerate_clips_are_defined(kind, rng):
    if kind == "repeated frames":
        video = np.repeat(rng.integers(0, 256, (4, 8, 9), dtype=np.uint8), 2, axis=0)  # each frame twice
    elif kind == "constant clip":
        video = np.full((10, 8, 9), 200, np.uint8)
    else:
        video = rng.integers(0, 256, (20, 2, 2), dtype=np.uint8)  # d = 4 < n: the SVD model crashes (MEB)
    n = video.shape[0]
    for n_out in (1, 3, n, 2 * n + 1):
        out = mefast.tim(video, n_out)
        assert np.isfinite(out).all()
        expected = np.einsum("ij,ipq->jpq", mefast.tim_weights(n, n_out), video.astype(np.float64))
        np.testing.assert_allclose(out, expected, atol=1e-3)
        np.testing.assert_array_equal(out[0], video[0])
    if kind == "constant clip":
        np.testing.assert_array_equal(mefast.tim(video, 17, output="uint8"), 200)


def test_uint8_output_rounds_half_away_from_zero_and_saturates(rng):
    video = rng.integers(0, 256, (6, 30, 30), dtype=np.uint8)
    exact = np.einsum("ij,ipq->jpq", mefast.tim_weights(6, 20), video.astype(np.float64))
    assert exact.min() < -10 and exact.max() > 265  # TIM overshoots (spec 3.2)
    np.testing.assert_array_equal(mefast.tim(video, 20, output="uint8"), np.clip(np.floor(exact + 0.5), 0, 255))
    halves = np.array([0.5, 1.5, 2.5, 254.5, 255.5, -0.5, 0.49], np.float64).reshape(1, 7, 1)
    np.testing.assert_array_equal(mefast.tim(halves, 3, output="uint8")[1, :, 0], [1, 2, 3, 255, 255, 0, 0])
    # symmetric positions get exactly symmetric weights: the midpoint of 2 frames is their exact mean
    pair = np.array([[10, 0, 255], [13, 1, 254]], np.uint8).reshape(2, 1, 3)
    np.testing.assert_array_equal(mefast.tim(pair, 3)[1, 0], [11.5, 0.5, 254.5])
    np.testing.assert_array_equal(mefast.tim(pair, 3, output="uint8")[1, 0], [12, 1, 255])


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.float32, np.float64])
def test_dtypes_agree(dtype, rng):
    video = rng.integers(0, 200, (7, 9, 8)).astype(dtype)
    np.testing.assert_allclose(mefast.tim(video, 12), mefast.tim(video.astype(np.float64), 12), atol=1e-4)


def test_threads_do_not_change_the_result(rng):
    video = rng.integers(0, 256, (13, 70, 90), dtype=np.uint8)
    one = mefast.tim(video, 21, n_threads=1)
    for n in (2, 5):
        np.testing.assert_array_equal(mefast.tim(video, 21, n_threads=n), one)


def test_gil_is_released(rng, longest_python_pause):
    video = rng.integers(0, 256, (60, 200, 200), dtype=np.uint8)
    pause, duration = longest_python_pause(lambda: mefast.tim(video, 200, n_threads=1))
    assert pause < 0.5 * duration, (pause, duration)


def test_weights_of_a_long_clip_are_built_without_the_gil(backend, longest_python_pause):
    """The (T x n_frames) weights cost O(T^2 n_frames): a long clip of tiny frames spends its time there, which
    once ran with the GIL held (3000 frames: the whole 0.6 s call paused every other Python thread), in an n x n
    scratch matrix (65,536 frames: 34 GB, MemoryError). tim_weights alike."""
    video = np.zeros((3000, 2, 2), np.uint8)
    params = _core.TIMParams(n_frames=10)
    pause, duration = longest_python_pause(lambda: kernels(backend).tim(video, params, 1))
    assert pause < 0.5 * duration, (pause, duration)
    pause, duration = longest_python_pause(lambda: mefast.tim_weights(3000, 10))
    assert pause < 0.5 * duration, (pause, duration)


@pytest.mark.parametrize(
    ("video", "n_frames", "kwargs", "match"),
    [
        (np.zeros((5, 4)), 3, {}, r"video must have shape \(T, H, W\)"),
        (np.zeros((5, 4, 4, 2)), 3, {}, r"video must have shape"),
        (np.zeros((0, 4, 4)), 3, {}, r"at least 1 frames"),
        (np.zeros((5, 4, 4)), 0, {}, r"n_frames must be an integer in \[1, 65536\], got 0"),
        (np.zeros((5, 4, 4)), -2, {}, r"n_frames.*-2"),
        (np.zeros((5, 4, 4)), 2.5, {}, r"n_frames.*2.5"),
        (np.zeros((5, 4, 4)), True, {}, r"n_frames.*True"),
        (np.zeros((5, 4, 4)), 3, dict(output="int"), r"output must be 'float' or 'uint8', got 'int'"),
        (np.zeros((5, 4, 4)), 3, dict(n_threads=0), r"n_threads"),
        (np.zeros((5, 4, 4), dtype=bool), 3, {}, r"dtype"),
    ],
)
def test_bad_input_raises_value_error(video, n_frames, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mefast.tim(video, n_frames, **kwargs)


def test_nan_raises():
    video = np.zeros((5, 4, 4))
    video[2, 1, 3] = np.inf
    with pytest.raises(ValueError, match=r"video contains NaN or infinity \(first at index \(2, 1, 3\)\)"):
        mefast.tim(video, 3)
    with pytest.raises(ValueError, match="n_frames"):
        mefast.tim_weights(3, 0)


def test_values_beyond_float32_are_refused(rng):
    """A finite float64 clip beyond float32's range gave infinite frames (review repro: a 1e39 column, 400 infs)."""
    video = rng.random((9, 40, 40))
    video[:, :, 20] = 1e39
    msg = r"holds values beyond the float32 range \(largest magnitude 1e\+39\)$"
    for output in ("float", "uint8"):
        with pytest.raises(ValueError, match=r"^video " + msg):
            mefast.tim(video, 10, output=output)
        with pytest.raises(ValueError, match=r"^videos\[1\] " + msg):
            mefast.tim_batch([video[:, :, :10], -video], 10, output=output)
    video[:, :, 20] = 1e38  # within float32's range: finite frames (computed in double, as before)
    out = mefast.tim(video, 10)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, :, 20], np.float32(1e38))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_overshoot_beyond_float32_raises(dtype):
    """TIM's weights overshoot the input range: a finite clip near float32's largest value interpolated to inf."""
    top = np.finfo(np.float32).max
    video = np.zeros((4, 2, 3), dtype)
    video[1:3] = top
    match = r"^video: the interpolated frames overshoot the float32 range \(the clip's values reach 3\.40282e\+38"
    with pytest.raises(ValueError, match=match):
        mefast.tim(video, 7)
    with pytest.raises(ValueError, match=match.replace("video", r"videos\[0\]")):
        mefast.tim_batch([video], 7)
    assert mefast.tim(video, 7, output="uint8").max() == 255  # saturated, never infinite
    assert np.isfinite(mefast.tim(video / 4, 7)).all()  # the advice of the message


def test_frame_axis_beyond_int_is_rejected_not_truncated(backend):
    """A (2**32 + 3)-frame clip must not be read as its first 3 frames (the count was cast to int). The view
    claims memory it does not have, so only a refusal before any read is safe."""
    base = np.arange(3, dtype=np.uint8)
    video = np.lib.stride_tricks.as_strided(base, shape=(2**32 + 3, 1, 1), strides=(1, 1, 1), writeable=False)
    assert video.flags.c_contiguous
    with pytest.raises(ValueError, match=r"1 to 65536 input and output frames"):
        mefast.tim(video, 2, device=backend)


def test_frame_counts_are_checked_before_allocating(backend):
    """Counts over the supported maximum are refused before the weight matrix or output is allocated, by every
    backend (the CUDA path once allocated them first and had no frame-count guard)."""
    with pytest.raises(ValueError, match=r"n_frames must be an integer in \[1, 65536\], got 100000"):
        mefast.tim(np.zeros((2, 100, 100), np.float32), 100_000, device=backend)  # the output alone would be 4 GB
    run = kernels(backend)
    # The kernels check the struct and the frame count themselves, before any allocation.
    with pytest.raises(ValueError, match=r"1 to 65536 input and output frames.*n_frames=100000"):
        run.tim(np.zeros((2, 100, 100), np.float32), _core.TIMParams(n_frames=100_000), 1)
    with pytest.raises(ValueError, match=r"1 to 65536 input and output frames, got frames of shape \(70000, 1\)"):
        run.tim(np.zeros((70_000, 1), np.uint8), _core.TIMParams(n_frames=70_000 // 2), 1)  # 19 GB of weights
    with pytest.raises(ValueError, match=r"n_frames must be an integer >= 1, got 0"):
        run.tim(np.zeros((5, 4, 4), np.uint8), _core.TIMParams(n_frames=0), 1)
    with pytest.raises(ValueError, match=r"1 <= n, n_out <= 65536"):
        mefast.tim_weights(70_000, 70_000)  # 39 GB of weights


def test_device_selection(rng):
    video = rng.integers(0, 256, (5, 4, 4), dtype=np.uint8)
    np.testing.assert_array_equal(mefast.tim(video, 7, device="auto"), mefast.tim(video, 7))
    if not mefast.has_cuda():
        with pytest.raises(CudaUnavailableError):
            mefast.tim(video, 7, device="cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("output", ["float", "uint8"])
def test_cuda_matches_cpu(output, rng):
    video = rng.integers(0, 256, (60, 68, 56), dtype=np.uint8)
    np.testing.assert_allclose(mefast.tim(video, 10, output=output, device="cuda").astype(np.float64),
                               mefast.tim(video, 10, output=output).astype(np.float64), atol=1e-3)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# Backends and the batch twin


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("output", ["float", "uint8"])
def test_backends_match_the_cpu_core(backend, dtype, output):
    clip = _face_clips(1, 12)[0].astype(dtype)
    rgb = np.repeat(clip[..., None], 3, axis=-1)
    for video, n_out in [(clip, 1), (clip, 5), (clip, 12), (clip, 23), (rgb, 7)]:
        got = mefast.tim(video, n_out, output=output, device=backend)
        cpu = mefast.tim(video, n_out, output=output, n_threads=1)
        assert got.dtype == cpu.dtype and got.shape == cpu.shape
        if backend == "cuda":
            # Double accumulation in the same order: equal but for the last bit of a sum, which can move a
            # uint8 rounding that sits exactly on .5 by one grey level.
            assert np.abs(got.astype(np.float64) - cpu).max() <= (1 if output == "uint8" else 1e-4)
        else:
            np.testing.assert_array_equal(got, cpu)


def test_batch_twin_equals_one_call_per_clip(backend):
    clips = [_face_clips(1, t)[0] for t in (5, 12, 9)]
    out = mefast.tim_batch(clips, 7, output="uint8", device=backend)
    assert out.shape == (3, 7, 40, 36) and out.dtype == np.uint8
    for o, c in zip(out, clips, strict=True):
        np.testing.assert_array_equal(o, mefast.tim(c, 7, output="uint8", device=backend))
    stacked = np.stack([c[:5] for c in clips])
    np.testing.assert_array_equal(mefast.tim_batch(stacked, 4), np.stack([mefast.tim(c, 4) for c in stacked]))
    with pytest.raises(ValueError, match="share their frame shape"):
        mefast.tim_batch([clips[0], clips[1][:, :20]], 3)
    with pytest.raises(ValueError, match="videos must be"):
        mefast.tim_batch(np.zeros((3, 4, 4)), 3)


@pytest.mark.gpu
@pytest.mark.parametrize("output", ["float", "uint8"])
def test_gpu_tim_matches_cpu_on_a_long_clip(output):
    clip = _face_clips(1, 30, (120, 100))[0]
    gpu = mefast.tim(clip, 10, output=output, device="cuda")
    cpu = mefast.tim(clip, 10, output=output)
    assert gpu.dtype == cpu.dtype and gpu.shape == cpu.shape
    assert np.abs(gpu.astype(np.float64) - cpu).max() <= (1 if output == "uint8" else 1e-4)
