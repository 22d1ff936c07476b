"""LBP-TOP: bin-for-bin against a brute-force reference written from the spec, against scikit-image on the XY
plane, and the spec's oracles (section 7: L1-L5, plus 2.11's counts, normalisations and permutations)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.feature import local_binary_pattern

import mefast
from mefast import _core
from mefast._backend import kernels
from mefast.errors import CudaUnavailableError

_spec = importlib.util.spec_from_file_location("_reference_lbp", Path(__file__).with_name("_reference_lbp.py"))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

U2_P8 = [0, 1, 2, 3, 4, 6, 7, 8, 12, 14, 15, 16, 24, 28, 30, 31, 32, 48, 56, 60, 62, 63, 64, 96, 112, 120, 124, 126,
         127, 128, 129, 131, 135, 143, 159, 191, 192, 193, 195, 199, 207, 223, 224, 225, 227, 231, 239, 240, 241,
         243, 247, 248, 249, 251, 252, 253, 254, 255]  # fmt: skip


def _clip(rng, shape=(11, 17, 19), flat=True):
    """Random uint8 clip with a flat patch (ties between neighbours and centres)."""
    v = rng.integers(0, 256, shape, dtype=np.uint8)
    if flat:
        v[:, 4:9, 5:10] = 77
    return v


# ---------------------------------------------------------------------------------------------------------
# Brute-force reference, bin for bin (raw counts: exact equality)

CASES = {
    "paper-default": dict(mode="paper", blocks=(2, 2)),
    "paper-overlap-time": dict(mode="paper", blocks=(3, 4), overlap=0.7, time_blocks=2),
    "paper-mixed-P-riu2": dict(mode="paper", radius=(1, 2, 1), points=(4, 8, 6), mapping="riu2", blocks=(2, 3)),
    "paper-block-order-none": dict(mode="paper", radius=(2, 1, 2), points=(8, 4, 8), mapping=None, ordering="block"),
    "paper-P16": dict(mode="paper", radius=(2, 2, 1), points=(16, 8, 12), blocks=(2, 2), overlap=0.5),
    "paper-odd-P": dict(mode="paper", radius=(1, 1, 1), points=(5, 7, 3), blocks=(3, 3), time_blocks=3),
    "meb-default": dict(mode="reference", blocks=(2, 2)),
    "meb-overlap": dict(mode="reference", blocks=(3, 4), overlap=0.7),
    "meb-overlap0-wraps": dict(mode="reference", blocks=(3, 4), overlap=0.0),
    "meb-time-parts": dict(mode="reference", blocks=(2, 3), overlap=0.5, time_blocks=2, radius=(2, 1, 1)),
    "meb-orig-order": dict(mode="reference", radius=(2, 2, 2), points=(8, 8, 4), ordering="orig", blocks=(2, 2)),
}


@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["uint8", "float32"])
@pytest.mark.parametrize("kw", list(CASES.values()), ids=list(CASES))
def test_matches_bruteforce_reference_bin_for_bin(kw, dtype, rng):
    video = _clip(rng).astype(dtype)
    expected = ref.lbp_top_ref(video, normalize="none", **kw)
    got = mefast.lbp_top(video, normalize="none", **kw)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("radius", [(1, 1, 1), (2, 2, 1)])
def test_bilinear_matches_exact_rational_reference(radius, rng):
    # The reference evaluates each interpolated neighbour exactly (Fractions), so ties are exact ties.
    video = _clip(rng, (3 + 2 * radius[2], 13, 14))
    kw = dict(radius=radius, points=(8, 8, 8), sampling="bilinear", blocks=(2, 2), mapping=None)
    np.testing.assert_array_equal(mefast.lbp_top(video, normalize="none", **kw),
                                  ref.lbp_top_ref(video, normalize="none", **kw))  # fmt: skip


def test_codes_match_reference_voxel_for_voxel(rng):
    video = _clip(rng, (9, 15, 16))
    params = _core.LBPTOPParams(radius=(2, 3, 2), points=(8, 6, 8), mode="paper", ordering="block")
    got = _core.lbp_top_codes(video, params)
    np.testing.assert_array_equal(got, ref.lbp_codes_ref(video, (2, 3, 2), (8, 6, 8), "block"))


# Offsets that are half-integers up to float noise (3 cos 60 deg = 1.5000000000000004, sin 30 deg, ...): MEB rounds
# floor(c + offset + 0.5) on the absolute coordinate, so the rounded offset changes with the centre's position.
HALF_INTEGER_OFFSETS = {
    "P6-R3": dict(points=(6, 6, 6), radius=(3, 3, 3)),
    "P8-6-6-R3": dict(points=(8, 6, 6), radius=(3, 3, 3)),
    "P12-R3": dict(points=(12, 12, 12), radius=(3, 3, 3)),
    "P12-R1": dict(points=(12, 12, 12), radius=(1, 1, 1)),
}


@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["uint8", "float32"])
@pytest.mark.parametrize("kw", list(HALF_INTEGER_OFFSETS.values()), ids=list(HALF_INTEGER_OFFSETS))
def test_reference_mode_rounds_absolute_coordinates(kw, dtype, rng):
    video = rng.integers(0, 4, (10, 17, 19), dtype=np.uint8).astype(dtype)  # few levels: many ties
    params = _core.LBPTOPParams(mode="meb", ordering="block", blocks=(1, 1), overlap=0.5, **kw)
    want = ref.lbp_codes_ref(video, kw["radius"], kw["points"], "block", rounding="absolute")
    np.testing.assert_array_equal(_core.lbp_top_codes(video, params), want)
    hist = dict(mode="reference", blocks=(2, 2), overlap=0.5, normalize="none", **kw)
    np.testing.assert_array_equal(mefast.lbp_top(video, **hist), ref.lbp_top_ref(video, **hist))


@pytest.mark.parametrize("normalize", ["per_block_plane", "per_plane", "global_l1"])
def test_normalisations_match_reference(normalize, rng):
    video = _clip(rng)
    kw = dict(blocks=(2, 3), overlap=0.6, time_blocks=2, normalize=normalize)
    got = mefast.lbp_top(video, **kw)
    np.testing.assert_allclose(got, ref.lbp_top_ref(video, **kw), rtol=1e-6, atol=1e-9)
    h = got.reshape(2 * 2 * 3, 3, 59)
    if normalize == "per_block_plane":
        np.testing.assert_allclose(h.sum(axis=2), 1, rtol=1e-5)
    elif normalize == "per_plane":
        np.testing.assert_allclose(h.sum(axis=(0, 2)), 1, rtol=1e-5)
    else:
        assert got.sum() == pytest.approx(1, rel=1e-5)


def test_vectorised_numpy_peer_agrees(rng):
    video = _clip(rng, (12, 30, 34))
    kw = dict(radius=(3, 3, 2), blocks=(3, 4), time_blocks=2, overlap=0.6)
    np.testing.assert_allclose(mefast.lbp_top(video, **kw), ref.lbp_top_numpy(video, **kw), rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# scikit-image on the XY plane


def _xy_histogram(codes_xy, bins):
    return np.bincount(codes_xy.ravel(), minlength=bins)


@pytest.mark.parametrize(("P", "R"), [(4, 1), (4, 2), (4, 3)])
def test_xy_codes_equal_skimage_where_offsets_are_integral(P, R, rng):
    # P = 4: every sample falls on a pixel, so rounded and bilinear sampling and scikit-image all coincide.
    frame = rng.integers(0, 256, (20, 23), dtype=np.uint8)
    frame[5:9, 6:12] = 9
    video = np.stack([frame] * 3)  # one centre frame with R_T = 1
    sk = local_binary_pattern(frame, P, R, method="default").astype(np.int64)[R:-R, R:-R]
    for sampling in ("rounded", "bilinear"):
        codes = _core.lbp_top_codes(video, _core.LBPTOPParams(radius=(R, R, 1), points=(P, 8, 8), sampling=sampling))
        np.testing.assert_array_equal(codes[0, :, :, 0], sk)


@pytest.mark.parametrize(("P", "R"), [(8, 1), (8, 2), (16, 2), (12, 3)])
def test_xy_bilinear_equals_skimage_except_at_exact_ties(P, R, rng):
    frame = rng.integers(0, 256, (26, 28), dtype=np.uint8)
    frame[4:12, 6:14] = 50
    frame[14:20, 3:9] = rng.integers(49, 52, (6, 6))
    video = np.stack([frame] * 3)
    sk = local_binary_pattern(frame, P, R, method="default").astype(np.int64)[R:-R, R:-R]
    params = _core.LBPTOPParams(radius=(R, R, 1), points=(P, 8, 8), sampling="bilinear")
    codes = _core.lbp_top_codes(video, params)[0, :, :, 0]
    differ = np.argwhere(codes != sk)
    # scikit-image decides exact ties with double rounding noise; mefast counts them as 1 (the definition),
    # so any disagreement must be an exact tie in rational arithmetic, with mefast's bit set.
    offs = ref.plane_offsets((R, R, 1), (P, 8, 8), "orig")[0]
    for y, x in differ:
        for p in range(P):
            if (codes[y, x] >> p) & 1 != (sk[y, x] >> p) & 1:
                exact = ref._bilinear_exact(video, 1, y + R, x + R, offs[p], 0)
                assert exact == int(frame[y + R, x + R]), (y, x, p)
                assert (codes[y, x] >> p) & 1 == 1
    assert len(differ) <= 0.02 * codes.size


@pytest.mark.parametrize(("sampling", "P", "R"), [("rounded", 4, 2), ("bilinear", 8, 1), ("bilinear", 16, 2)])
def test_riu2_histogram_equals_skimage_uniform(sampling, P, R, rng):
    # 16-bit grey levels: no exact bilinear ties, so scikit-image and mefast must agree on every pixel.
    frame = rng.integers(0, 65536, (24, 25), dtype=np.uint16)
    video = np.stack([frame] * 3)
    sk = local_binary_pattern(frame, P, R, method="uniform").astype(np.int64)[R:-R, R:-R]
    f = mefast.lbp_top(video, radius=(R, R, 1), points=(P, 4, 4), blocks=(1, 1), mapping="riu2",
                       sampling=sampling, normalize="none")  # fmt: skip
    np.testing.assert_array_equal(f.reshape(3, P + 2)[0], _xy_histogram(sk, P + 2))


def test_u2_histogram_of_skimage_codes(rng):
    frame = rng.integers(0, 256, (30, 31), dtype=np.uint8)
    video = np.stack([frame] * 3)
    sk = local_binary_pattern(frame, 4, 2, method="default").astype(np.int64)[2:-2, 2:-2]
    table, n_bins = mefast.uniform_mapping(4)
    f = mefast.lbp_top(video, radius=(2, 2, 1), points=(4, 4, 4), blocks=(1, 1), normalize="none")
    np.testing.assert_array_equal(f.reshape(3, n_bins)[0], _xy_histogram(table[sk], n_bins))


# ---------------------------------------------------------------------------------------------------------
# Spec oracles


@pytest.mark.parametrize("mode", ["paper", "reference"])
@pytest.mark.parametrize("value", [0, 131, 255])
def test_l1_constant_video_only_bin_57(mode, value):
    video = np.full((9, 30, 32), value, np.uint8)
    f = mefast.lbp_top(video, blocks=(3, 3), mode=mode, overlap=0.5).reshape(9, 3, 59)
    assert (f[:, :, 57] > 0).all()
    assert f[:, :, :57].sum() == 0 and f[:, :, 58].sum() == 0


RAMPS = {  # spec 2.11: (video, plane) -> (block/MEB code, orig code)
    ("x", 0): (199, 199), ("x", 1): (199, 199), ("x", 2): (255, 255),
    ("y", 0): (241, 241), ("y", 1): (255, 255), ("y", 2): (124, 241),
    ("t", 0): (255, 255), ("t", 1): (241, 31), ("t", 2): (241, 199),
}  # fmt: skip


@pytest.mark.parametrize("axis", ["x", "y", "t"])
@pytest.mark.parametrize("ordering", ["block", "orig"])
def test_l2_ramps(axis, ordering):
    t, y, x = np.mgrid[0:10, 0:20, 0:20].astype(np.float32)
    video = {"x": x, "y": y, "t": t}[axis]
    f = mefast.lbp_top(video, blocks=(1, 1), mapping=None, ordering=ordering, normalize="none").reshape(3, 256)
    table, _ = mefast.uniform_mapping(8)
    u2 = mefast.lbp_top(video, blocks=(1, 1), ordering=ordering, normalize="none").reshape(3, 59)
    for q in range(3):
        code = RAMPS[(axis, q)][0 if ordering == "block" else 1]
        assert f[q, code] == 4 * 14 * 14 and f[q].sum() == 4 * 14 * 14
        assert u2[q, table[code]] == 4 * 14 * 14


@pytest.mark.parametrize("transform", [lambda v: v + 7.5, lambda v: 3 * v, lambda v: np.sqrt(v), lambda v: v**3],
                         ids=["shift", "scale", "sqrt", "cube"])  # fmt: skip
@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_l3_monotone_invariance(transform, mode, rng):
    video = _clip(rng, (10, 24, 26)).astype(np.float32)
    kw = dict(blocks=(2, 3), mode=mode, overlap=0.4)
    np.testing.assert_array_equal(mefast.lbp_top(transform(video), **kw), mefast.lbp_top(video, **kw))


def test_l4_meb_counts_112(rng):
    # 112 x 112, B = 3, 8 x 8 blocks, overlap 0.7, 10 frames (4 centre frames): MEB's legacy membership.
    video = rng.integers(0, 256, (10, 112, 112), dtype=np.uint8)
    f = mefast.lbp_top(video, mode="reference", overlap=0.7)
    assert f.shape == (11328,)
    counts = f.reshape(8, 8, 3, 59).sum(axis=3) / 4  # per centre frame
    for q in range(3):
        c = counts[:, :, q]
        assert c[0, 0] == 441 and c[7, 7] == 484
        assert (c[0, 1:7] == 360).all() and (c[1:7, 0] == 360).all()
        assert (c[1:7, 1:7] == 279).all()
        assert (c[7, :7][1:] == 381).all() and (c[:7, 7][1:] == 381).all()
    assert f.reshape(64, 3, 59)[:, 0].sum() == 82492


def test_l5_mapping_sizes_and_order():
    for P, n in [(4, 15), (8, 59), (16, 243)]:
        table, n_bins = mefast.uniform_mapping(P)
        assert n_bins == n and table.shape == (2**P,) and table.max() == n - 1
        np.testing.assert_array_equal(table, ref.mapping_ref(P, "u2")[0])
        table, n_bins = mefast.uniform_mapping(P, "riu2")
        assert n_bins == P + 2
        np.testing.assert_array_equal(table, ref.mapping_ref(P, "riu2")[0])
    table, _ = mefast.uniform_mapping(8)
    np.testing.assert_array_equal(np.flatnonzero(table < 58), U2_P8)
    assert [int(table[c]) for c in (0, 255, 7, 31, 124, 193, 199, 241)] == [0, 57, 6, 15, 26, 37, 39, 48]
    assert (table[np.setdiff1d(np.arange(256), U2_P8)] == 58).all()


@pytest.mark.parametrize(("blocks", "nt", "P", "length"),
                         [((8, 8), 1, 8, 11328), ((5, 5), 1, 8, 4425), ((4, 4), 1, 8, 2832), ((5, 5), 1, 4, 1125),
                          ((1, 1), 1, 8, 177), ((2, 3), 2, 8, 2124)])  # fmt: skip
def test_feature_lengths(blocks, nt, P, length, rng):
    video = rng.integers(0, 256, (12, 60, 60), dtype=np.uint8)
    assert mefast.lbp_top(video, blocks=blocks, time_blocks=nt, points=P).shape == (length,)


def test_padded_planes_are_zero(rng):
    video = _clip(rng)
    f = mefast.lbp_top(video, radius=1, points=(8, 4, 6), blocks=(1, 1), normalize="none").reshape(3, 59)
    assert f[1, 15:].sum() == 0 and f[2, 33:].sum() == 0 and f[1].sum() == f[0].sum() == f[2].sum()


def test_ordering_permutes_bins(rng):
    # spec 2.11.6: XT is the reflection p -> -p, YT the rotation by P/4 (P % 4 == 0, R_X == R_Y).
    video = _clip(rng, (10, 20, 22))
    P = 8
    kw = dict(radius=(2, 2, 3), points=P, mapping=None, blocks=(2, 2), normalize="none")
    orig = mefast.lbp_top(video, ordering="orig", **kw).reshape(4, 3, 256)
    block = mefast.lbp_top(video, ordering="block", **kw).reshape(4, 3, 256)
    bits = (np.arange(256)[:, None] >> np.arange(P)) & 1

    def permute(src_of_bit):  # code whose bit p is the orig code's bit src_of_bit[p]
        return (bits[:, src_of_bit] << np.arange(P)).sum(axis=1)

    reflect = permute([(-p) % P for p in range(P)])
    rotate = permute([(p + P // 4) % P for p in range(P)])
    np.testing.assert_array_equal(block[:, 0], orig[:, 0])
    np.testing.assert_array_equal(block[:, 1][:, reflect], orig[:, 1])
    np.testing.assert_array_equal(block[:, 2][:, rotate], orig[:, 2])


def test_meb_overlap_zero_wraps_onto_last_block(rng):
    # MEB: overlap 0 gives over = -1 (no clamp) and new block -1, which numpy wraps onto the last row.
    video = _clip(rng, (9, 20, 20))
    f = mefast.lbp_top(video, mode="reference", blocks=(2, 2), overlap=0.0).reshape(4, 3, 59).sum(axis=2)
    n_centres = 3 * 14 * 14
    assert f.sum() > 3 * n_centres  # pixels counted twice
    want = ref.lbp_top_ref(video, mode="reference", blocks=(2, 2)).reshape(4, 3, 59).sum(axis=2)
    np.testing.assert_array_equal(f, want)


# ---------------------------------------------------------------------------------------------------------
# Batched form, threads, dtypes


def test_batch_equals_single_and_mixes_shapes_and_dtypes(rng):
    clips = [_clip(rng, (10, 20, 22)), _clip(rng, (14, 26, 24)).astype(np.float32), _clip(rng, (9, 18, 30))]
    kw = dict(blocks=(2, 2), overlap=0.3)
    batch = mefast.lbp_top_batch(clips, **kw, n_threads=2)
    assert batch.shape == (3, 4 * 3 * 59)
    for row, clip in zip(batch, clips, strict=True):
        np.testing.assert_array_equal(row, mefast.lbp_top(clip, **kw, n_threads=1))
    stacked = np.stack([clips[0], clips[0]])
    np.testing.assert_array_equal(mefast.lbp_top_batch(stacked, **kw), batch[[0, 0]])
    assert mefast.lbp_top_batch([], **kw).shape == (0, 708)


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_thread_count_does_not_change_result(mode, rng):
    video = _clip(rng, (23, 30, 31))
    kw = dict(blocks=(3, 3), time_blocks=2, overlap=0.5, mode=mode, normalize="none")
    one = mefast.lbp_top(video, n_threads=1, **kw)
    for n in (2, 3, 7):
        np.testing.assert_array_equal(mefast.lbp_top(video, n_threads=n, **kw), one)


def test_rgb_is_converted_to_grey(rng):
    rgb = rng.integers(0, 256, (9, 16, 18, 3), dtype=np.uint8)
    grey = np.tensordot(rgb.astype(np.float32), np.array([0.299, 0.587, 0.114], np.float32), axes=([-1], [0]))
    np.testing.assert_array_equal(mefast.lbp_top(rgb, blocks=2), mefast.lbp_top(grey, blocks=2))


def test_uint8_and_float_inputs_agree(rng):
    video = _clip(rng)
    for dt in (np.float32, np.float64, np.int16, np.uint16):
        np.testing.assert_array_equal(mefast.lbp_top(video.astype(dt)), mefast.lbp_top(video))


def test_gil_is_released(rng, longest_python_pause):
    clips = [rng.integers(0, 256, (20, 100, 100), dtype=np.uint8) for _ in range(4)]
    pause, duration = longest_python_pause(
        lambda: mefast.lbp_top_batch(clips, radius=1, sampling="bilinear", n_threads=1)
    )
    assert pause < 0.5 * duration, (pause, duration)


# ---------------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(radius=0), r"radius"),
        (dict(radius=(1.5, 1, 1)), r"radius"),
        (dict(radius=(1, 1)), r"radius"),
        (dict(points=2), r"points"),
        (dict(points=(8, 8, 17)), r"points"),
        (dict(blocks=(0, 2)), r"blocks"),
        (dict(time_blocks=0), r"time_blocks"),
        (dict(overlap=1.0), r"overlap.*\[0, 1\)"),
        (dict(overlap=-0.1), r"overlap"),
        (dict(overlap=float("nan")), r"overlap"),
        (dict(mapping="u3"), r"mapping.*'u3'"),
        (dict(mapping="ri"), r"mapping"),
        (dict(sampling="nearest"), r"sampling.*'nearest'"),
        (dict(normalize="l2"), r"normalize.*'l2'"),
        (dict(mode="matlab"), r"mode.*'matlab'"),
        (dict(ordering="zhao"), r"ordering.*'zhao'"),
        (dict(mode="reference", sampling="bilinear"), r"bilinear.*MEB"),
        (dict(mode="reference", points=(8, 4, 8)), r"P_YT"),
        (dict(n_threads=0), r"n_threads"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(kwargs, match, rng):
    with pytest.raises(ValueError, match=match):
        mefast.lbp_top(_clip(rng), **kwargs)


@pytest.mark.parametrize(
    ("shape", "kwargs", "match"),
    [
        ((10, 20), {}, r"video must have shape \(T, H, W\)"),
        ((2, 10, 20, 20), {}, r"video must have shape"),
        ((10, 20, 20, 4), {}, r"video must have shape"),
        ((6, 30, 30), {}, r"at least 7 frames"),
        ((10, 30, 30), dict(time_blocks=5), r"at least 11 frames"),
        ((10, 12, 30), dict(blocks=(8, 8)), r"too small.*at least 14 x 14 px"),
        ((10, 30, 30), dict(blocks=(30, 2)), r"too small"),
        ((10, 6, 30), dict(blocks=(1, 1)), r"too small"),
        ((10, 30, 14), dict(blocks=(2, 8), mode="reference"), r"mode='reference'.*MEB's block geometry"),
    ],
)
def test_bad_shapes_raise_value_error(shape, kwargs, match, rng):
    video = rng.integers(0, 256, shape, dtype=np.uint8)
    with pytest.raises(ValueError, match=match):
        mefast.lbp_top(video, **kwargs)


def test_nan_and_bad_dtypes_raise(rng):
    video = rng.random((9, 20, 20)).astype(np.float32)
    video[4, 3, 2] = np.nan
    with pytest.raises(ValueError, match=r"video contains NaN.*\(4, 3, 2\)"):
        mefast.lbp_top(video)
    with pytest.raises(ValueError, match=r"videos\[1\] contains NaN"):
        mefast.lbp_top_batch([np.zeros((9, 20, 20)), video])
    with pytest.raises(ValueError, match=r"dtype"):
        mefast.lbp_top(np.zeros((9, 20, 20), dtype=bool))
    with pytest.raises(ValueError, match=r"videos\[0\].*too small"):
        mefast.lbp_top_batch([np.zeros((9, 5, 20)), np.zeros((9, 20, 20))], blocks=1)


def test_values_beyond_float32_are_refused(rng):
    """A finite float64 clip beyond float32's range was cast to inf with only a RuntimeWarning (review repro)."""
    video = rng.random((9, 20, 20))
    video[:, :, 7] = 1e39
    msg = r"holds values beyond the float32 range \(largest magnitude 1e\+39\)$"
    with pytest.raises(ValueError, match=r"^video " + msg):
        mefast.lbp_top(video)
    with pytest.raises(ValueError, match=r"^video " + msg):
        mefast.lbp_top(np.repeat(-video[..., None], 3, axis=-1))
    with pytest.raises(ValueError, match=r"^videos\[1\] " + msg):
        mefast.lbp_top_batch([np.zeros((9, 20, 20)), video])
    video[:, :, 7] = float(np.finfo(np.float32).max)  # the largest float32 is still a grey level
    np.testing.assert_array_equal(mefast.lbp_top(video), mefast.lbp_top(video.astype(np.float32)))


def test_core_rejects_unconverted_arrays(backend):
    run = kernels(backend)
    with pytest.raises(ValueError, match="uint8 or float32"):
        run.lbp_top([np.zeros((9, 20, 20))], _core.LBPTOPParams(), 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        run.lbp_top([np.zeros((9, 20, 40), np.uint8)[:, :, ::2]], _core.LBPTOPParams(), 1)
    with pytest.raises(ValueError, match="mapping must be one of"):
        _core.LBPTOPParams(mapping="u3")
    with pytest.raises(TypeError):  # no dict of parameters crosses the boundary
        run.lbp_top([np.zeros((9, 20, 20), np.uint8)], {"mapping": "u2"}, 1)


def test_device_selection():
    video = np.zeros((9, 20, 20), np.uint8)
    np.testing.assert_array_equal(mefast.lbp_top(video, device="auto"), mefast.lbp_top(video))
    if not mefast.has_cuda():
        with pytest.raises(CudaUnavailableError):
            mefast.lbp_top(video, device="cuda")
    with pytest.raises(ValueError, match="device"):
        mefast.lbp_top(video, device="tpu")


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_cuda_matches_cpu(mode, rng):
    video = _clip(rng, (20, 60, 64))
    kw = dict(blocks=(4, 4), overlap=0.7, mode=mode)
    np.testing.assert_array_equal(mefast.lbp_top(video, device="cuda", **kw), mefast.lbp_top(video, **kw))


# ---------------------------------------------------------------------------------------------------------
# Property test: any parameters on any small clip either equal the reference, or raise ValueError where the
# reference has no answer either


def _reference_refuses(video, kw) -> str:
    """Why the reference has no defined answer for ``kw`` ("" if it has one): it raises, a block gets no centre
    voxel in some plane, or (MEB's geometry) a voxel's block index is negative, which MEB's numpy would wrap."""
    try:
        hist = ref.lbp_top_ref(video, **kw)
    except (ValueError, ZeroDivisionError, IndexError) as err:
        return f"raises {type(err).__name__}"
    n_blocks = kw["time_blocks"] * kw["blocks"][0] * kw["blocks"][1]
    if (hist.reshape(n_blocks, 3, -1).sum(axis=2) == 0).any():
        return "a block without voxels"
    if kw["mode"] == "reference":
        T, H, W = video.shape
        B, L = max(kw["radius"][:2]), kw["radius"][2]
        idx = [ref.legacy_time(T, B, kw["time_blocks"], rt) for rt in range(T - 2 * L)]
        idx += [ref.legacy_axis(H - 2 * B, kw["blocks"][0], kw["overlap"], r) for r in range(H - 2 * B)]
        idx += [ref.legacy_axis(W - 2 * B, kw["blocks"][1], kw["overlap"], c) for c in range(W - 2 * B)]
        if any(min(pair) < 0 for pair in idx):
            return "a negative block index"
    return ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(["paper", "reference"]),
    shape=st.tuples(st.integers(3, 9), st.integers(3, 16), st.integers(3, 16)),
    radius=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    points=st.tuples(st.sampled_from([4, 5, 8]), st.sampled_from([4, 8]), st.sampled_from([4, 6, 8])),
    blocks=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    time_blocks=st.integers(1, 3),
    overlap=st.sampled_from([0.0, 0.2, 0.5, 0.7, 0.95]),
    seed=st.integers(0, 2**16),
)
def test_any_parameters_raise_or_match_reference(mode, shape, radius, points, blocks, time_blocks, overlap, seed):
    video = np.random.default_rng(seed).integers(0, 4, shape, dtype=np.uint8)  # few levels: many ties
    kw = dict(mode=mode, radius=radius, points=points, blocks=blocks, time_blocks=time_blocks, overlap=overlap,
              normalize="none")  # fmt: skip
    try:
        got = mefast.lbp_top(video, **kw)
    except ValueError as err:
        assert _reference_refuses(video, kw), f"mefast refused what the reference computes: {err}"
        return
    np.testing.assert_array_equal(got, ref.lbp_top_ref(video, **kw))


def test_refusals_are_the_references():
    """The property test's notion of a refusal, on one case of each kind: it can tell them apart."""
    video = np.random.default_rng(0).integers(0, 4, (9, 12, 12), dtype=np.uint8)
    kw = dict(mode="paper", radius=(1, 1, 1), points=(8, 8, 8), blocks=(2, 2), time_blocks=1, overlap=0.0,
              normalize="none")  # fmt: skip
    assert _reference_refuses(video, kw) == ""
    assert _reference_refuses(video, {**kw, "time_blocks": 8}) == "raises ZeroDivisionError"
    assert _reference_refuses(video, {**kw, "blocks": (12, 12)}) == "a block without voxels"
    short = np.random.default_rng(0).integers(0, 4, (3, 8, 8), dtype=np.uint8)
    meb = {**kw, "mode": "reference", "radius": (1, 3, 1), "points": (4, 4, 4), "blocks": (1, 1), "overlap": 0.2}
    assert _reference_refuses(short, meb) == "a negative block index"
    for case, args in ((video, {**kw, "time_blocks": 8}), (video, {**kw, "blocks": (12, 12)}), (short, meb)):
        with pytest.raises(ValueError):
            mefast.lbp_top(case, **args)


def test_axis_beyond_int_is_rejected_not_truncated():
    """A width of 2**32 + 9 must not be taken as 9 (the extent was cast to int) and read as a smaller clip.
    The view claims memory it does not have, so only a refusal before any read is safe."""
    base = np.zeros(9 * 9 * 9, np.uint8)
    W = 2**32 + 9
    video = np.lib.stride_tricks.as_strided(base, shape=(9, 9, W), strides=(9 * W, W, 1), writeable=False)
    assert video.flags.c_contiguous
    params = _core.LBPTOPParams(radius=(1, 1, 1), blocks=(1, 1))
    with pytest.raises(ValueError, match=r"video of shape \(9, 9, 4294967305\) is too large"):
        _core.lbp_top([video], params, 1)
    with pytest.raises(ValueError, match=r"too large"):
        _core.lbp_top_codes(video, params)


def test_block_counts_are_bounded_before_anything_overflows(backend):
    """rows, cols and time_blocks were only checked >= 1: 2**31 - 1 of each passed validate(), the block count
    overflowed (Plan::n_blocks and the histogram indices are int; lbp_layout's 64-bit count wrapped) and the
    too-small message printed negative sizes (2 * border + rows in int). Each is now at most 65535, and the block
    count and the feature length at most INT_MAX."""
    big = 2**31 - 1
    with pytest.raises(ValueError, match=r"^blocks=\(2147483647, 2147483647\) is invalid: .* in \[1, 65535\]$"):
        _core.LBPTOPParams(blocks=(big, big), time_blocks=big).validate()
    with pytest.raises(ValueError, match=r"^time_blocks=65536 is invalid: must be in \[1, 65535\]$"):
        _core.lbp_layout(_core.LBPTOPParams(time_blocks=65_536))
    too_many = r"is invalid: 5000000000 blocks; at most 2147483647 are supported$"
    with pytest.raises(ValueError, match=r"^blocks=\(50000, 50000\) with time_blocks=2 " + too_many):
        _core.lbp_layout(_core.LBPTOPParams(blocks=(50_000, 50_000), time_blocks=2))
    with pytest.raises(
        ValueError, match=r"^blocks=\(65535, 65535\) with time_blocks=65535 is invalid: 281462092005375 "
    ):
        _core.LBPTOPParams(blocks=(65_535, 65_535), time_blocks=65_535, points=(16, 16, 16), mapping="none").validate()
    with pytest.raises(ValueError, match=r"24000000 blocks of 3 x 59 bins, a feature of 4248000000 values"):
        _core.lbp_layout(_core.LBPTOPParams(blocks=(3000, 4000), time_blocks=2))
    with pytest.raises(ValueError, match=r"16384 blocks of 3 x 65536 bins, a feature of 3221225472 values"):
        _core.LBPTOPParams(blocks=(128, 128), points=(16, 16, 16), mapping="none").validate()
    _core.LBPTOPParams(blocks=(64, 64), points=(16, 16, 16), mapping="none").validate()  # 805,306,368 values
    layout = _core.lbp_layout(_core.LBPTOPParams(blocks=(3000, 4000)))  # the largest sizes still work
    assert (layout["n_blocks"], layout["length"]) == (12_000_000, 2_124_000_000)
    with pytest.raises(ValueError, match=r"at least 65541 x 7 px \(a border of 3 px"):
        kernels(backend).lbp_top([np.zeros((9, 40, 40), np.uint8)], _core.LBPTOPParams(blocks=(65_535, 1)), 1)
    with pytest.raises(ValueError, match=r"in \[1, 65535\]"):
        kernels(backend).lbp_top([np.zeros((9, 40, 40), np.uint8)], _core.LBPTOPParams(blocks=(big, big)), 1)


# ---------------------------------------------------------------------------------------------------------
# Backends: the CUDA kernel (emulated on the CPU without a GPU) equals the CPU core bin for bin


def _face_clips(n=3, t=9, size=(40, 36)):
    from mefast.testing import face_flow_pair

    rng = np.random.default_rng(5)
    out = []
    for s in range(n):
        p = face_flow_pair(size, amplitude=1.0, seed=s)
        c = np.stack([p.frame1, p.frame0] * t)[:t].astype(np.float32) + rng.normal(0, 2, (t, *size))
        out.append(np.clip(np.rint(c), 0, 255).astype(np.uint8))
    return out


LBP_CASES = [
    {},
    {"mode": "reference"},
    {"sampling": "bilinear", "mapping": "riu2", "time_blocks": 2, "overlap": 0.2},
    {"mapping": None, "points": (4, 6, 8), "radius": (1, 2, 2), "blocks": (3, 2), "normalize": "per_plane"},
    {"mode": "reference", "overlap": 0.3, "time_blocks": 2, "normalize": "global_l1", "blocks": (4, 4)},
    {"mode": "reference", "points": (12, 12, 12), "time_blocks": 2},  # offsets that vary with the centre
]
LBP_IDS = ["defaults", "meb", "bilinear-riu2", "none-mixed", "meb-overlap", "meb-P12"]


@pytest.mark.parametrize("params", LBP_CASES, ids=LBP_IDS)
def test_backends_match_the_cpu_core(backend, params):
    kw = {"blocks": (2, 2), **params}
    clips = _face_clips()
    cpu = mefast.lbp_top_batch(clips, n_threads=1, **kw)
    np.testing.assert_array_equal(mefast.lbp_top_batch(clips, device=backend, **kw), cpu)
    floats = [c.astype(np.float32) for c in clips]
    np.testing.assert_array_equal(mefast.lbp_top_batch(floats, device=backend, **kw), cpu)


def test_backends_refuse_what_the_core_refuses(backend):
    cases = [([np.zeros((3, 20, 20), np.uint8)], "too small"), ([np.zeros((9, 20), np.uint8)], "3 dimensions")]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            kernels(backend).lbp_top(bad, _core.LBPTOPParams(), 1)
    with pytest.raises(ValueError, match="P_YT"):  # the kernel validates the struct itself
        kernels(backend).lbp_top(_face_clips(1), _core.LBPTOPParams(mode="meb", points=(8, 4, 8)), 1)


@pytest.mark.gpu
@pytest.mark.parametrize("params", LBP_CASES, ids=LBP_IDS)
def test_gpu_lbp_top_matches_cpu(params):
    clips = _face_clips(4, t=10, size=(120, 100))
    kw = {"blocks": (4, 4), **params}
    np.testing.assert_array_equal(mefast.lbp_top_batch(clips, device="cuda", **kw), mefast.lbp_top_batch(clips, **kw))


def test_old_mode_name_meb_warns_and_gives_identical_output():
    video = np.random.default_rng(7).integers(0, 256, (9, 24, 26), dtype=np.uint8)
    kw = dict(blocks=(2, 3), overlap=0.5, time_blocks=2)
    with pytest.warns(DeprecationWarning, match="mode='meb' is deprecated; use mode='reference'"):
        old = mefast.lbp_top(video, mode="meb", **kw)
    np.testing.assert_array_equal(old, mefast.lbp_top(video, mode="reference", **kw))
    with pytest.warns(DeprecationWarning):
        old_batch = mefast.lbp_top_batch([video, video], mode="meb", **kw)
    np.testing.assert_array_equal(old_batch, np.stack([old, old]))
    with pytest.raises(ValueError, match=r"mode must be one of \('paper', 'reference'\), got 'MEB'"):
        mefast.lbp_top(video, mode="MEB")
