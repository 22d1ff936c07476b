"""TV-L1 optical flow: analytic motions, a real face with known non-rigid flow, and OpenCV as the peer."""

from __future__ import annotations

import itertools
import threading
import time

import cv2
import numpy as np
import pytest

import mefast
from mefast import _backend, _core
from mefast._backend import kernels
from mefast.testing import endpoint_error, face_flow_pair, warp_image

FAST1 = mefast.TVL1Params(nscales=1)  # single level: quick contract tests on small images


def _face(size=(128, 112)) -> np.ndarray:
    from mefast.data import face_image

    face = face_image(gray=True)[20:238, 25:204].astype(np.float32)
    return cv2.resize(face, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def _translated(shift, size=(128, 112)):
    base = _face(size)
    field = np.empty((*size, 2), np.float32)
    field[..., 0], field[..., 1] = shift
    # frame0(x) = base(x + shift): the flow from frame0 to frame1 = base is +shift.
    frame0 = warp_image(base, field)
    return np.clip(frame0, 0, 255).astype(np.float32) / 255, base / 255, field


def test_zero_motion_gives_zero_flow():
    img = _face()
    flow = mefast.tvl1(img.astype(np.uint8), img.astype(np.uint8))
    assert flow.shape == (*img.shape, 2) and flow.dtype == np.float32
    assert np.abs(flow).max() < 1e-3


@pytest.mark.parametrize("shift", [(2.0, -1.0), (-1.0, 0.0), (0.5, 0.25), (-0.3, 0.7)], ids=str)
def test_translation_is_recovered(shift):
    f0, f1, _ = _translated(shift)
    flow = mefast.tvl1(f0, f1, params="accurate")
    inner = flow[12:-12, 12:-12].reshape(-1, 2)
    med = np.median(inner, axis=0)
    assert med == pytest.approx(shift, abs=0.008)  # measured <= 0.0047 px
    assert endpoint_error(flow, np.broadcast_to(np.float32(shift), flow.shape), border=12) < 0.035  # measured <= 0.015


def test_small_rotation_is_recovered():
    h, w = 128, 112
    base = _face((h, w))
    angle = np.deg2rad(1.5)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    field = np.stack(
        [
            (np.cos(angle) - 1) * (x - cx) - np.sin(angle) * (y - cy),
            np.sin(angle) * (x - cx) + (np.cos(angle) - 1) * (y - cy),
        ],
        axis=-1,
    ).astype(np.float32)
    frame0 = np.clip(warp_image(base, field), 0, 255).astype(np.uint8)
    flow = mefast.tvl1(frame0, np.clip(base, 0, 255).astype(np.uint8), params="accurate")
    assert np.abs(field).max() > 1.5  # the motion is not trivial
    assert endpoint_error(flow, field, border=10) < 0.05  # measured 0.021


# measured: opencv 0.056, accurate 0.038, fast 0.042 (the presets tuned on the flow battery for issue 17.3)
@pytest.mark.parametrize(("preset", "max_epe"), [("opencv", 0.06), ("accurate", 0.045), ("fast", 0.06)], ids=str)
def test_face_with_known_nonrigid_flow(face_pair, preset, max_epe):
    flow = mefast.tvl1(face_pair.frame0, face_pair.frame1, params=preset)
    assert endpoint_error(flow, face_pair.flow) < max_epe


def test_accurate_preset_beats_opencvs_parameters_on_the_face_pair(face_pair):
    """What the preset was tuned for, on a pair the tuning never saw: a clearly smaller error than OpenCV's
    parameters, in mefast (the ``opencv`` preset) and in OpenCV's own DualTVL1."""
    f0, f1 = face_pair.frame0, face_pair.frame1
    accurate = endpoint_error(mefast.tvl1(f0, f1, params="accurate"), face_pair.flow)
    opencv_preset = endpoint_error(mefast.tvl1(f0, f1, params="opencv"), face_pair.flow)
    dualtvl1 = endpoint_error(cv2.optflow.DualTVL1OpticalFlow_create().calc(f0, f1, None), face_pair.flow)
    # measured: 0.038 against 0.056, a ratio of 0.68
    assert accurate < 0.75 * opencv_preset, (accurate, opencv_preset)
    assert accurate < 0.75 * dualtvl1, (accurate, dualtvl1)


@pytest.mark.parametrize(("amplitude", "seed"), [(1.0, 0), (1.5, 1), (4.0, 2)], ids=str)
def test_agrees_with_opencv_dualtvl1(amplitude, seed):
    pair = face_flow_pair((340, 280), amplitude=amplitude, seed=seed)
    ref = cv2.optflow.DualTVL1OpticalFlow_create().calc(pair.frame0, pair.frame1, None)
    ours = mefast.tvl1(pair.frame0, pair.frame1)  # OpenCV's defaults
    epe_ref = endpoint_error(ref, pair.flow)
    epe_ours = endpoint_error(ours, pair.flow)
    assert epe_ours <= 1.05 * epe_ref, (epe_ours, epe_ref)
    # Same algorithm, same parameters: the two flows are close to each other, not merely both good.
    assert endpoint_error(ours, ref, border=8) < 0.04  # measured 0.011-0.016 px (motions of 2.1-7.1 px)


@pytest.mark.parametrize(
    "kw", [{"median_filtering": 1}, {"median_filtering": 3}, {"warps": 1, "nscales": 3}, {"gamma": 0.1}], ids=str
)
def test_parameter_variants_track_opencv(face_pair, kw):
    ocv_kw = {
        "median_filtering": "medianFiltering",
        "warps": "warps",
        "nscales": "nscales",
        "gamma": "gamma",
    }
    ref = cv2.optflow.DualTVL1OpticalFlow_create(**{ocv_kw[k]: v for k, v in kw.items()})
    epe_ref = endpoint_error(ref.calc(face_pair.frame0, face_pair.frame1, None), face_pair.flow)
    ours = mefast.tvl1(face_pair.frame0, face_pair.frame1, params=mefast.TVL1Params(**kw))
    assert endpoint_error(ours, face_pair.flow) <= 1.05 * epe_ref


def test_illumination_field_held_on_fine_levels():
    # A brightness change between the frames (3 % gain and 3 grey levels, as an exposure change): without the
    # illumination term TV-L1 follows the change instead of the motion in the face's flat regions; estimated on
    # the coarse levels only and held on the full-size one it recovers the motion about as well as estimated on
    # every level, and costs a full-size level what it costs without gamma.
    pair = face_flow_pair((340, 280), amplitude=2.0, seed=0)
    brighter = np.clip(pair.frame1.astype(np.float32) * 1.03 + 3, 0, 255).astype(np.uint8)
    fast = mefast.TVL1Params.preset("fast")

    def epe(params):
        return endpoint_error(mefast.tvl1(pair.frame0, brighter, params=params), pair.flow)

    none, every, held = epe(fast), epe(fast.replace(gamma=4.0)), epe(fast.replace(gamma=4.0, gamma_finest_level=1))
    assert none > 2.0  # measured 5.3 px
    assert every < 0.2 and held < 0.2, (every, held)  # measured 0.13 and 0.11 px
    assert epe("robust") < 0.25  # the preset for brightness changes, which holds its gamma too: measured 0.15 px
    # A level coarser than the pyramid has (fast uses 5 of its 6 levels at this size): the coarsest level used
    # estimates the field, so the term is not lost on small frames
    coarsest = mefast.tvl1(pair.frame0, brighter, params=fast.replace(gamma=4.0, gamma_finest_level=4))
    beyond = mefast.tvl1(pair.frame0, brighter, params=fast.replace(gamma=4.0, gamma_finest_level=9))
    np.testing.assert_array_equal(beyond, coarsest)
    assert endpoint_error(beyond, pair.flow) < 1.0  # measured 0.55 px (5.3 without the term)


def test_finest_warps_apply_to_the_full_size_level_only(face_pair):
    f0, f1 = face_pair.frame0, face_pair.frame1
    base = mefast.TVL1Params.preset("accurate").replace(warps=3)

    def flow(params):
        return mefast.tvl1(f0, f1, params=params)

    np.testing.assert_array_equal(flow(base.replace(finest_warps=3)), flow(base))  # = warps: the same run
    # one level: finest_warps is the only warp count there is
    one = base.replace(nscales=1)
    np.testing.assert_array_equal(flow(one.replace(finest_warps=1)), flow(one.replace(warps=1)))
    # several levels: only the full-size level changes, so the result differs from both uniform counts
    mixed = flow(base.replace(finest_warps=1))
    assert np.abs(mixed - flow(base)).max() > 1e-3 and np.abs(mixed - flow(base.replace(warps=1))).max() > 1e-3
    assert endpoint_error(mixed, face_pair.flow) < 0.2


def test_finest_inner_iterations_apply_to_the_full_size_level_only(face_pair):
    f0, f1 = face_pair.frame0, face_pair.frame1
    base = mefast.TVL1Params.preset("accurate").replace(epsilon=0.0)  # every iteration runs: counts decide

    def flow(params):
        return mefast.tvl1(f0, f1, params=params)

    np.testing.assert_array_equal(flow(base.replace(finest_inner_iterations=20)), flow(base))  # = inner_iterations
    one = base.replace(nscales=1)  # one level: the full-size budget is the only one
    np.testing.assert_array_equal(flow(one.replace(finest_inner_iterations=5)), flow(one.replace(inner_iterations=5)))
    # several levels: only the full-size level changes, so the result differs from both uniform budgets
    mixed = flow(base.replace(finest_inner_iterations=5))
    assert np.abs(mixed - flow(base)).max() > 1e-3
    assert np.abs(mixed - flow(base.replace(inner_iterations=5))).max() > 1e-3
    assert endpoint_error(mixed, face_pair.flow) < 0.2


def test_single_level_matches_opencv_to_float_precision(face_pair):
    # At one level, one warp and zero initial flow no interpolation differences remain: the iterations
    # themselves must agree with OpenCV's to rounding.
    kw = {"nscales": 1, "warps": 1, "median_filtering": 1}
    ref = cv2.optflow.DualTVL1OpticalFlow_create(nscales=1, warps=1, medianFiltering=1)
    ref_flow = ref.calc(face_pair.frame0, face_pair.frame1, None)
    ours = mefast.tvl1(face_pair.frame0, face_pair.frame1, params=mefast.TVL1Params(**kw))
    assert np.abs(ours - ref_flow).max() < 2.5e-6  # measured 8.3e-7


@pytest.fixture(scope="module")
def large_face_pair():
    return face_flow_pair((640, 480), amplitude=1.5, seed=1)


@pytest.mark.parametrize("median", [1, 5])
def test_pipelined_sweeps_match_opencv_to_float_precision(large_face_pair, median):
    # As above, on a level large enough (640x480) for the core to run a warp's sweeps pipelined, several at once
    # a few rows apart (sweeps_impl), starting a sweep before the one ahead has finished its stopping sum;
    # OpenCV runs them one whole-image pass after another. A wrong row lag, or an extra sweep after the
    # stopping test, shows here. The epsilons stop the iterations at different points (epsilon 0: never).
    face_pair = large_face_pair
    flows = []
    for epsilon in (0.0, 0.01, 0.05, 0.2):
        cv_kw = {"nscales": 1, "warps": 1, "medianFiltering": median, "outerIterations": 3, "epsilon": epsilon}
        ref_flow = cv2.optflow.DualTVL1OpticalFlow_create(**cv_kw).calc(face_pair.frame0, face_pair.frame1, None)
        kw = {"nscales": 1, "warps": 1, "median_filtering": median, "outer_iterations": 3, "epsilon": epsilon}
        ours = mefast.tvl1(face_pair.frame0, face_pair.frame1, params=mefast.TVL1Params(**kw))
        assert np.abs(ours - ref_flow).max() < 1e-5, epsilon  # measured at most 3.9e-6 (more pixels than above)
        flows.append(ours)
    # each epsilon stopped somewhere else
    assert all(np.abs(a - b).max() > 1e-3 for a, b in itertools.pairwise(flows))


def test_compute_flow_matches_pairwise_tvl1(rng):
    base = _face((64, 56))
    video = np.stack([np.clip(warp_image(base, np.full((64, 56, 2), 0.3 * t, np.float32)), 0, 255) for t in range(4)])
    video = video.astype(np.uint8)
    first = mefast.compute_flow(video, params=FAST1, n_threads=2)
    prev = mefast.compute_flow(video, reference="previous", params=FAST1, n_threads=1)
    assert first.shape == prev.shape == (3, 64, 56, 2)
    for t in range(1, 4):
        np.testing.assert_array_equal(first[t - 1], mefast.tvl1(video[0], video[t], params=FAST1))
        np.testing.assert_array_equal(prev[t - 1], mefast.tvl1(video[t - 1], video[t], params=FAST1))
    # frame t samples the face at x + 0.3 t, so the face moves left: u = -0.3 t from the first frame.
    means = [float(np.median(first[t, 8:-8, 8:-8, 0])) for t in range(3)]
    assert means == pytest.approx([-0.3, -0.6, -0.9], abs=0.05)


def test_rgb_and_float_inputs_follow_the_grey_uint8_result(face_pair):
    f0, f1 = face_pair.frame0, face_pair.frame1
    ref = mefast.tvl1(f0, f1, params="fast")
    # Equal up to float rounding of the conversions (which the iterations may amplify at a few pixels).
    as_float = mefast.tvl1(f0 / 255.0, f1.astype(np.float32) / 255, params="fast")
    rgb0, rgb1 = (np.repeat(f[..., None], 3, axis=-1) for f in (f0, f1))
    as_rgb = mefast.tvl1(rgb0, rgb1, params="fast")
    for other in (as_float, as_rgb):
        assert np.abs(other - ref).max() < 3e-3  # measured <= 9.7e-4
        assert np.abs(other - ref).mean() < 2.5e-5  # measured <= 1.0e-5


def test_tvl1_releases_the_gil(face_pair, longest_python_pause):
    """While one thread is inside tvl1, another thread keeps running Python code."""
    slow = mefast.TVL1Params(epsilon=0.0, inner_iterations=40, outer_iterations=3)
    pause, seconds = longest_python_pause(lambda: mefast.tvl1(face_pair.frame0, face_pair.frame1, params=slow))
    assert seconds > 0.05  # long enough to tell
    assert pause < 0.5 * seconds  # with the GIL held, the Python thread would stall for the whole call


def test_two_threads_run_tvl1_concurrently(face_pair):
    """Two threads inside the core at the same time: their calls overlap in time."""
    slow = mefast.TVL1Params(epsilon=0.0, inner_iterations=30, outer_iterations=2)
    spans: list[tuple[float, float]] = []
    barrier = threading.Barrier(2)

    def work():
        barrier.wait()
        start = time.perf_counter()
        mefast.tvl1(face_pair.frame0, face_pair.frame1, params=slow)
        spans.append((start, time.perf_counter()))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    (a0, a1), (b0, b1) = sorted(spans)
    overlap = min(a1, b1) - max(a0, b0)
    # Serialised calls would overlap by ~0; concurrent ones for most of the shorter call.
    assert overlap > 0.5 * min(a1 - a0, b1 - b0)


def test_presets_and_params_are_frozen():
    p = mefast.TVL1Params()
    assert (p.tau, p.lambda_, p.theta, p.nscales, p.warps, p.epsilon) == (0.25, 0.15, 0.3, 5, 5, 0.01)
    assert (p.inner_iterations, p.outer_iterations, p.scale_step, p.gamma, p.median_filtering) == (30, 10, 0.8, 0, 5)
    with pytest.raises(AttributeError):
        p.tau = 0.1  # type: ignore[misc]
    assert set(mefast.TVL1_PRESETS) >= {"opencv", "accurate", "fast", "robust", "per-frame"}
    assert mefast.TVL1Params.preset("opencv") == p
    assert p.replace(warps=2).warps == 2


@pytest.mark.parametrize("k", [3, 5])
# widths: the 5x5 filter computes pairs of outputs in blocks of 8 pairs (16 columns): one column, odd widths, a
# whole block, a block and one more, a partial last block; heights: both filters work in place, reading each
# source row (padded, 5x5) or writing each output row back (3x3) once no other output needs it, so images with
# fewer rows than the window (1 and 2 rows) test the ends of those rings
@pytest.mark.parametrize(
    "shape", [(340, 280), (7, 5), (1, 9), (2, 20), (17, 33), (3, 1), (6, 16), (5, 31), (4, 34)], ids=str
)
def test_median_filter_matches_scipy(k, shape, rng):
    """The median filter between TV-L1 iterations (pruned selection networks) is an exact median."""
    from scipy import ndimage

    from mefast import _core

    img = rng.normal(size=shape).astype(np.float32)
    img[:, ::3] = img[:, :1]  # ties
    np.testing.assert_array_equal(_core._median_filter(img, k), ndimage.median_filter(img, size=k, mode="nearest"))


@pytest.mark.parametrize("preset", ["opencv", "fast"])
def test_reusable_tvl1_object_equals_the_function(preset):
    """mefast.TVL1 keeps its buffers between calls; the results are those of mefast.tvl1, bit for bit,
    also when the frame size changes between calls."""
    engine = mefast.TVL1(preset)
    for size, seed in [((128, 112), 0), ((96, 80), 1), ((128, 112), 2)]:
        pair = face_flow_pair(size, amplitude=1.0, seed=seed)
        np.testing.assert_array_equal(
            engine(pair.frame0, pair.frame1), mefast.tvl1(pair.frame0, pair.frame1, params=preset)
        )
    assert repr(engine).startswith("TVL1(TVL1Params(")
    with pytest.raises(ValueError, match=r"too small for nscales=5"):
        mefast.TVL1()(np.zeros((24, 24), np.uint8), np.zeros((24, 24), np.uint8))


def test_one_tvl1_object_shared_by_threads_serialises_calls(face_pair):
    engine = mefast.TVL1("fast")
    expected = mefast.tvl1(face_pair.frame0, face_pair.frame1, params="fast")
    results: list[np.ndarray] = []

    def work():
        for _ in range(3):
            results.append(engine(face_pair.frame0, face_pair.frame1))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 6
    for r in results:
        np.testing.assert_array_equal(r, expected)


# ---------------------------------------------------------------------------------------------------------
# Backends: the CUDA kernels (emulated on the CPU without a GPU) against the CPU core. The emulation runs the
# kernels' own per-element functors and launch schedule sequentially, visiting the elements of every launch in
# shuffled order, so a kernel that read a value written by another thread of the same launch would differ.

SMALL = (64, 56)  # 5 pyramid levels at OpenCV's defaults, fast enough for the sequential emulation


@pytest.fixture(scope="module")
def small_stack():
    a = face_flow_pair(SMALL, amplitude=1.0, seed=0)
    b = face_flow_pair(SMALL, amplitude=1.0, seed=1)
    frames = np.stack([a.frame0, a.frame1, b.frame0, b.frame1]).astype(np.float32)
    i0 = np.array([0, 2, 1], np.int32)
    i1 = np.array([1, 3, 0], np.int32)
    return frames, i0, i1


def _struct(preset: str, **changes) -> _core.TVL1Params:
    return mefast.TVL1Params.preset(preset).replace(**changes)._core_params


@pytest.mark.parametrize(
    "preset, changes",
    [
        ("opencv", {}),
        ("opencv", {"median_filtering": 3, "gamma": 0.2}),
        ("opencv", {"epsilon": 0.0, "outer_iterations": 2, "inner_iterations": 7}),
        ("accurate", {}),
        ("fast", {"median_filtering": 1}),
        ("fast", {"gamma": 1.0, "gamma_finest_level": 1}),
        ("opencv", {"gamma": 0.2, "gamma_finest_level": 2}),
        ("fast", {"gamma": 1.0, "gamma_finest_level": 9}),
        ("robust", {}),
        ("robust", {"finest_inner_iterations": 3, "epsilon": 0.0}),
    ],
    ids=[
        "opencv",
        "median3-gamma",
        "full-budget",
        "accurate",
        "fast",
        "held-gamma",
        "held-2-levels",
        "gamma-coarsest-only",
        "robust",
        "finest-inner",
    ],  # fmt: skip
)
def test_backends_match_the_cpu_core(backend, small_stack, preset, changes):
    frames, i0, i1 = small_stack
    params = _struct(preset, **changes)
    cpu = _core.tvl1_pairs(frames, i0, i1, params, 1)
    out = kernels(backend).tvl1_pairs(frames, i0, i1, params, 2)
    assert out.shape == cpu.shape and out.dtype == np.float32
    if backend == "cpu":  # the pairs' split among threads changes nothing
        np.testing.assert_array_equal(out, cpu)
        return
    diff = np.abs(out - cpu)
    # Same algorithm, float rounding only (FMA contraction and summation order differ), which TV-L1's
    # thresholds and median filter can amplify at a few pixels: hence the looser bound on the maximum.
    if backend == "emulated-cuda":
        assert diff.mean() < 1e-4 and diff.max() < 0.05, (diff.mean(), diff.max())
    else:
        assert diff.mean() < 1e-3 and np.quantile(diff, 0.999) < 0.05, (diff.mean(), diff.max())


@pytest.mark.skipif(_backend._cuda_module() is None, reason="mefast._cuda not built")
def test_emulation_is_independent_of_element_order_and_batching(small_stack):
    # A kernel reading a neighbour that the same launch overwrites would depend on the visiting order.
    cuda = _backend._cuda_module()
    frames, i0, i1 = small_stack
    params = _struct("opencv", gamma=0.1)
    ref = cuda.emulation(order=0, batch_size=0).tvl1_pairs(frames, i0, i1, params)
    for order, batch in [(1, 0), (2, 1), (2, 2)]:
        out = cuda.emulation(order=order, batch_size=batch).tvl1_pairs(frames, i0, i1, params)
        np.testing.assert_array_equal(out, ref, err_msg=f"order={order} batch_size={batch}")


def test_public_api_on_every_backend(backend):
    p = face_flow_pair((48, 40), amplitude=1.0, seed=4)
    video = np.stack([p.frame1, p.frame0, p.frame1])
    cpu = mefast.compute_flow(video, params="fast", device="cpu")
    out = mefast.compute_flow(video, params="fast", device=backend)
    assert out.shape == cpu.shape and np.abs(out - cpu).mean() < 1e-3
    single = mefast.tvl1(p.frame1, p.frame0, params="fast", n_threads=1, device=backend)
    assert np.abs(single - out[0]).max() < 1e-3


@pytest.fixture(scope="module")
def face_stack():
    pairs = [face_flow_pair((340, 280), amplitude=1.0, seed=s) for s in range(3)]
    frames = np.stack([p.frame0 for p in pairs] + [p.frame1 for p in pairs]).astype(np.float32)
    i0 = np.array([0, 1, 2], np.int32)
    i1 = np.array([3, 4, 5], np.int32)
    truth = np.stack([p.flow for p in pairs])
    return frames, i0, i1, truth


@pytest.mark.gpu
@pytest.mark.parametrize("preset", ["opencv", "accurate", "fast"])
def test_gpu_tvl1_matches_cpu(face_stack, preset):
    frames, i0, i1, truth = face_stack
    params = _struct(preset)
    cpu = _core.tvl1_pairs(frames, i0, i1, params, 0)
    gpu = kernels("cuda").tvl1_pairs(frames, i0, i1, params)
    diff = np.abs(gpu - cpu)
    assert diff.mean() < 1e-3 and np.quantile(diff, 0.999) < 0.05, (diff.mean(), diff.max())
    assert abs(endpoint_error(gpu, truth) - endpoint_error(cpu, truth)) < 0.002


@pytest.mark.gpu
def test_gpu_batching_and_gamma_match_cpu(face_stack):
    frames, i0, i1, _ = face_stack
    cuda = _backend._cuda_module()
    params = _struct("opencv", gamma=0.1, median_filtering=3)
    cpu = _core.tvl1_pairs(frames, i0, i1, params, 0)
    whole = cuda.schedule(batch_size=0).tvl1_pairs(frames, i0, i1, params)
    one_by_one = cuda.schedule(batch_size=1).tvl1_pairs(frames, i0, i1, params)
    assert np.abs(whole - one_by_one).max() < 1e-3
    assert np.abs(whole - cpu).mean() < 1e-3


@pytest.mark.gpu
def test_gpu_public_api_matches_cpu():
    p = face_flow_pair((96, 80), amplitude=1.0, seed=4)
    video = np.stack([p.frame1, p.frame0, p.frame1, p.frame0])
    cpu = mefast.compute_flow(video, params="accurate", device="cpu")
    gpu = mefast.compute_flow(video, params="accurate", device="cuda")
    assert np.abs(gpu - cpu).mean() < 1e-3
    np.testing.assert_allclose(mefast.optical_strain(gpu, device="cuda"), mefast.optical_strain(gpu), atol=1e-5)
    auto = mefast.tvl1(p.frame0, p.frame1, device="auto")  # a visible GPU is used
    assert np.abs(auto - mefast.tvl1(p.frame0, p.frame1, device="cuda")).max() < 1e-3


@pytest.mark.gpu
def test_gpu_calls_from_threads_are_independent(small_stack):
    frames, i0, i1 = small_stack
    params = _struct("opencv")
    gpu = kernels("cuda")
    ref = gpu.tvl1_pairs(frames, i0, i1, params)
    out = [None] * 4

    def run(j):
        out[j] = gpu.tvl1_pairs(frames, i0, i1, params)

    threads = [threading.Thread(target=run, args=(j,)) for j in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in out:
        assert np.abs(o - ref).max() < 1e-3
