"""Bad input to the flow API raises ValueError naming the argument and the value; property tests of the contract."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mefast
from mefast import _core
from mefast._backend import kernels
from mefast.errors import ShapeError

ONE = mefast.TVL1Params(nscales=1, warps=1, inner_iterations=5, outer_iterations=1)


def img(h=32, w=32, dtype=np.uint8, seed=0):
    return (np.random.default_rng(seed).random((h, w)) * 255).astype(dtype)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.zeros(5, np.uint8), np.zeros(5, np.uint8), r"frame0 must have 2 dimensions .* got shape \(5,\)"),
        (img(), img(32, 30), r"same shape, got \(32, 32\) and \(32, 30\)"),
        (np.zeros((32, 32, 4), np.uint8), img(), r"frame0 .* RGB \(last axis 3\), got shape \(32, 32, 4\)"),
        (np.full((32, 32), np.nan), img(), r"frame0 contains NaN or infinity \(first at index \(0, 0\)\)"),
        (img(), np.full((32, 32), np.inf, np.float32), r"frame1 contains NaN or infinity"),
        (np.zeros((32, 32), object), img(), r"frame0 must be an integer or floating-point array, got dtype object"),
        (np.zeros((32, 32), bool), img(), r"dtype bool"),
    ],
    ids=["ndim", "shapes", "channels", "nan", "inf", "object", "bool"],
)
def test_bad_frames(a, b, match):
    with pytest.raises(ShapeError, match=match):
        mefast.tvl1(a, b, params=ONE)


def test_too_small_for_pyramid_names_sizes_and_fix():
    with pytest.raises(
        ValueError, match=r"24 x 24 px are too small for nscales=5 .* use nscales=2 or less, or adapt_scales=True"
    ):
        mefast.tvl1(img(24, 24), img(24, 24))
    with pytest.raises(ValueError, match=r"too small: TV-L1 needs at least 3 x 3"):
        mefast.tvl1(img(2, 8), img(2, 8), params=ONE.replace(min_size=4))


def test_levels_that_no_longer_shrink_end_the_pyramid():
    """With scale_step near 1 a level rounds back to its parent's size (lround(50 * 0.99) == 50): from there on
    every level is the same image. They were counted, so any nscales passed validate_size (1e9: a 6 s loop with
    the GIL held, then as many identical levels solved). The pyramid now ends at the first level that cannot
    shrink: 64 .. 50 px, 15 levels; more is the usual too-small error, or 15 levels with adapt_scales."""
    huge = _core.TVL1Params(nscales=10**9, scale_step=0.99)
    assert _core.tvl1_effective_scales(huge, 64, 64) == 15
    assert _core.tvl1_effective_scales(huge, 64, 80) == 1 + (80 - 50)  # the long side shrinks on to 50 px
    with pytest.raises(ValueError, match=r"too small for nscales=1000000000 .* use nscales=15 or less"):
        mefast.tvl1(img(64, 64), img(64, 64), params=ONE.replace(nscales=10**9, scale_step=0.99))
    adapted = ONE.replace(nscales=10**9, scale_step=0.99, adapt_scales=True)
    np.testing.assert_array_equal(
        mefast.tvl1(img(64, 64), img(64, 64, seed=1), params=adapted),
        mefast.tvl1(img(64, 64), img(64, 64, seed=1), params=adapted.replace(nscales=15)),
    )


def test_values_beyond_float32_are_refused():
    huge = np.full((32, 32), 1e300)  # finite as float64, inf once converted to float32 grey levels
    with pytest.raises(ShapeError, match=r"frame0 has values too large for float32 grey levels"):
        mefast.tvl1(huge, img(), params=ONE)


def test_grey_levels_beyond_the_solver_range_are_refused():
    """Review repro: compute_flow of float frames times 1e20 (a real shift between them) returned all-zero flow.

    Grey levels (floats after their scaling by 255) beyond +-1e18 overflow the float32 solver's squared
    gradients; they now raise, for compute_flow, tvl1 and TVL1, float or integer frames, either sign.
    """
    base = np.random.default_rng(0).random((32, 32))
    base[5, 5] = 1.0
    pair = np.stack([base, np.roll(base, 1, axis=1)])
    msg = r"reaches grey level 2\.55e\+21 \(floats are multiplied by 255\): TV-L1 computes in float32 and overflows"
    with pytest.raises(ShapeError, match=r"^video " + msg):
        mefast.compute_flow(pair * 1e19, params="fast")
    with pytest.raises(ShapeError, match=r"^video " + msg):
        mefast.compute_flow(-pair * 1e19, params="fast", reference="previous")
    with pytest.raises(ShapeError, match=r"^frame1 " + msg):
        mefast.tvl1(pair[0], pair[1] * 1e19, params=ONE)
    with pytest.raises(ShapeError, match=r"^frame0 " + msg):
        mefast.TVL1(ONE)(pair[0] * 1e19, pair[1])
    with pytest.raises(ShapeError, match=r"^video reaches grey level 2e\+18 "):
        mefast.compute_flow((pair * 2e18).astype(np.int64), params=ONE)  # integers are grey levels as they are
    # within the range: documented, not refused (the solver is invariant to an offset, not to contrast)
    flow = mefast.compute_flow(pair * 1e15 - 3e14, params="fast")
    assert np.isfinite(flow).all() and 0.5 < float(np.median(flow[..., 0])) < 1.5
    edge = np.stack([np.zeros((32, 32), np.int64), np.full((32, 32), 10**18)])  # the largest grey level
    assert mefast.compute_flow(edge, params=ONE).shape == (1, 32, 32, 2)


def test_video_errors():
    with pytest.raises(ShapeError, match=r"at least 2 frames .* shape \(1, 32, 32\)"):
        mefast.compute_flow(np.zeros((1, 32, 32), np.uint8))
    with pytest.raises(ShapeError, match=r"video must have 3 dimensions"):
        mefast.compute_flow(np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"reference must be 'first' or 'previous', got 'last'"):
        mefast.compute_flow(np.zeros((2, 32, 32), np.uint8), reference="last", params=ONE)
    with pytest.raises(ValueError, match=r"n_threads must be a positive integer"):
        mefast.compute_flow(np.zeros((2, 32, 32), np.uint8), params=ONE, n_threads=0)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lambda_": -0.15}, r"lambda_=-0.15 is invalid: must be > 0"),
        ({"nscales": 0}, r"nscales=0 is invalid"),
        ({"scale_step": 1.0}, r"scale_step=1.0 is invalid: must be in \(0, 1\)"),
        ({"scale_step": 0.0}, r"scale_step=0.0 is invalid"),
        ({"tau": 0.5}, r"tau=0.5 is invalid"),
        ({"median_filtering": 4}, r"median_filtering=4 is invalid: must be 1 \(off\), 3 or 5"),
        ({"theta": float("nan")}, r"theta=nan is invalid"),
        ({"epsilon": -1}, r"epsilon=-1.0 is invalid"),
        ({"gamma_finest_level": -1}, r"gamma_finest_level=-1 is invalid: must be >= 0"),
        ({"finest_warps": -2}, r"finest_warps=-2 is invalid: must be >= 0 \(0: warps\)"),
        (
            {"finest_inner_iterations": -1},
            r"finest_inner_iterations=-1 is invalid: must be >= 0 \(0: inner_iterations\)",
        ),
        ({"presmooth_sigma": 1e9}, r"presmooth_sigma=1000000000.0 is invalid: must be in \[0, 50\]"),
    ],
    ids=str,
)
def test_invalid_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        mefast.TVL1Params(**kw)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"nscales": 2.5}, r"TVL1Params.nscales=2.5 is invalid: must be an integer"),
        ({"warps": 2**40}, r"TVL1Params.warps=1099511627776 is invalid: must be an integer"),
        ({"tau": "0.1"}, r"TVL1Params.tau='0.1' is invalid: must be a real number"),
        ({"pyramid_smoothing": 1}, r"TVL1Params.pyramid_smoothing=1 is invalid: must be True or False"),
        ({"adapt_scales": None}, r"TVL1Params.adapt_scales=None is invalid: must be True or False"),
    ],
    ids=str,
)
def test_values_of_the_wrong_type_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        mefast.TVL1Params(**kw)


def test_dataclass_fields_are_the_core_struct_fields():
    """TVL1Params builds the C++ struct once; a field renamed or missing on either side fails here (and a
    dataclass field the struct lacks already fails when the presets are built on import)."""
    fields = [f.name for f in dataclasses.fields(mefast.TVL1Params)]
    assert set(fields) == set(_core.TVL1Params._fields)
    struct_defaults = _core.TVL1Params()
    dflt = mefast.TVL1Params()
    for name in fields:  # same defaults on both sides
        assert getattr(struct_defaults, name) == getattr(dflt, name), name
    # fields added after stores began recording default to what older records were made with, and every field
    # that is not one of the recorded ones is listed there (a new field cannot be forgotten)
    assert all(getattr(dflt, name) == value for name, value in mefast.flow.TVL1_ADDED_FIELDS.items())
    recorded_from_the_start = {"tau", "lambda_", "theta", "nscales", "warps", "epsilon", "inner_iterations",
                               "outer_iterations", "scale_step", "gamma", "median_filtering", "presmooth_sigma",
                               "pyramid_smoothing", "min_size", "adapt_scales"}  # fmt: skip
    assert set(fields) == recorded_from_the_start | set(mefast.flow.TVL1_ADDED_FIELDS)
    assert fields[-len(mefast.flow.TVL1_ADDED_FIELDS) :] == list(mefast.flow.TVL1_ADDED_FIELDS)  # appended: pickles
    p = mefast.TVL1Params.preset("accurate")
    assert p._core_params is p._core_params  # built once, kept
    assert all(getattr(p._core_params, name) == getattr(p, name) for name in fields)
    assert mefast.TVL1(p)._engine.params.presmooth_sigma == p.presmooth_sigma
    with pytest.raises(AttributeError, match="renamed_field"):
        _core.TVL1Params(renamed_field=1)


def test_params_pickle_and_copy_rebuild_the_struct():
    p = mefast.TVL1Params.preset("fast").replace(gamma=0.1)
    for q in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p), copy.copy(p)):
        assert q == p and hash(q) == hash(p)
        assert q._core_params.gamma == pytest.approx(0.1) and q._core_params.adapt_scales
    s = pickle.loads(pickle.dumps(p._core_params))
    assert repr(s) == repr(p._core_params)
    robust = mefast.TVL1Params.preset("robust")  # the fields added later round-trip by name
    assert pickle.loads(pickle.dumps(robust)) == robust and robust.finest_warps and robust.gamma_finest_level

    class OlderPickle:  # what an older version pickled: the class and its fields' values in order, no new fields
        def __reduce__(self):
            older = [f.name for f in dataclasses.fields(mefast.TVL1Params)][: -len(mefast.flow.TVL1_ADDED_FIELDS)]
            return (mefast.TVL1Params, tuple(getattr(p, name) for name in older))

    assert pickle.loads(pickle.dumps(OlderPickle())) == p


def test_unknown_preset_and_params_type():
    with pytest.raises(ValueError, match=r"unknown TV-L1 preset 'slow'"):
        mefast.tvl1(img(), img(), params="slow")
    with pytest.raises(TypeError, match=r"params must be a TVL1Params"):
        mefast.tvl1(img(), img(), params={"tau": 0.1})  # type: ignore[arg-type]


def test_core_rejects_unconverted_arrays():
    from mefast import _core

    frames = np.zeros((2, 32, 32), np.float64)  # the core never casts silently
    with pytest.raises(ValueError, match=r"frames must be a C-contiguous float32 array"):
        _core.tvl1_pairs(frames, np.array([0], np.int32), np.array([1], np.int32), _core.TVL1Params(), 1)
    frames32 = np.zeros((2, 32, 32), np.float32)
    with pytest.raises(ValueError, match=r"pair 0 indexes frames \(0, 2\) outside \[0, 2\)"):
        _core.tvl1_pairs(frames32, np.array([0], np.int32), np.array([2], np.int32), _core.TVL1Params(nscales=1), 1)
    with pytest.raises(TypeError):  # no dict of parameters crosses the boundary
        _core.tvl1_pairs(frames32, np.array([0], np.int32), np.array([1], np.int32), {"nscales": 1}, 1)


_F = np.zeros((3, 40, 40), np.float32)
_I = np.array([0], np.int32)
_C_FLOAT = r" must be a C-contiguous float32 array \(the core never casts or copies\), got "


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda k: k.tvl1_pairs(_F.astype(np.float64), _I, _I, _core.TVL1Params()),
            r"^frames" + _C_FLOAT + "dtype float64$",
        ),
        (lambda k: k.tvl1_pairs(_F.astype(">f4"), _I, _I, _core.TVL1Params()), r"^frames" + _C_FLOAT + "dtype >f4$"),
        (
            lambda k: k.tvl1_pairs(_F[::-1], _I, _I, _core.TVL1Params()),
            r"^frames" + _C_FLOAT + r"a non-contiguous array of shape \(3, 40, 40\) and strides \(-6400, 160, 4\)",
        ),
        (
            lambda k: k.tvl1_pairs(np.asfortranarray(_F), _I, _I, _core.TVL1Params()),
            r"^frames" + _C_FLOAT + r"a Fortran-ordered array of shape \(3, 40, 40\) and strides \(4, 12, 480\)",
        ),
        (
            lambda k: k.tvl1_pairs(_F, _I.astype(np.int64), _I, _core.TVL1Params()),
            r"^i0 must be a C-contiguous int32 array \(the core never casts or copies\), got dtype int64$",
        ),
        (
            lambda k: k.tvl1_pairs(_F, _I, np.zeros(4, np.int32)[::2], _core.TVL1Params()),
            r"^i1 must be a C-contiguous int32 array .* non-contiguous array of shape \(2,\) and strides \(8,\)",
        ),
        (lambda k: k.optical_strain(np.zeros((1, 8, 8, 2))), r"^flows" + _C_FLOAT + "dtype float64$"),
        (lambda k: k.optical_strain(np.zeros((1, 8, 16, 2), np.float32)[:, :, ::2]), r"^flows" + _C_FLOAT + "a non-"),
    ],
    ids=["float64", "big-endian", "reversed", "fortran", "int64-indices", "strided-indices", "strain", "strain-view"],
)
def test_kernels_name_a_wrong_dtype_or_layout(call, match, backend):
    """A wrong dtype or layout is a ValueError of a line naming the argument, the dtype and layout expected and the
    ones passed, as lbp_top and tim raise: the noconvert bindings raised pybind11's TypeError "incompatible function
    arguments", about 1,500 characters that printed every argument."""
    with pytest.raises(ValueError, match=match) as info:
        call(kernels(backend))
    assert len(str(info.value)) < 250


def test_cpu_helpers_name_a_wrong_dtype_or_layout():
    engine = _core.TVL1Engine(_core.TVL1Params(nscales=1))
    with pytest.raises(ValueError, match=r"^frames" + _C_FLOAT + "dtype float64$"):
        engine.pairs(_F.astype(np.float64), _I, _I)
    with pytest.raises(ValueError, match=r"^i1 must be a C-contiguous int32 array .* got dtype uint8$"):
        engine.pairs(_F, _I, _I.astype(np.uint8))
    with pytest.raises(ValueError, match=r"^reference" + _C_FLOAT + r"a non-contiguous array of shape \(40, 20\)"):
        _core.tvl1_from_reference(_F[0, :, ::2], _F, _core.TVL1Params(nscales=1))
    with pytest.raises(ValueError, match=r"^frames" + _C_FLOAT + "dtype float16$"):
        _core.tvl1_from_reference(_F[0], _F.astype(np.float16), _core.TVL1Params(nscales=1))
    with pytest.raises(ValueError, match=r"^img" + _C_FLOAT + r"a Fortran-ordered array of shape \(40, 40\)"):
        _core._median_filter(np.asfortranarray(_F[0]), 3)
    assert engine.pairs(_F, _I, _I).shape == (1, 40, 40, 2)  # C-contiguous float32 and int32: read in place


def test_core_rejects_axes_beyond_int_instead_of_truncating():
    """A width of 2**32 + 5 must not be taken as 5 (the extent was cast to int) and flowed as a smaller
    image. The view claims memory it does not have, so only a refusal before any read is safe."""
    from mefast import _core

    base = np.zeros(2 * 3 * 5, np.float32)
    W = 2**32 + 5
    frames = np.lib.stride_tricks.as_strided(base, shape=(2, 3, W), strides=(3 * W * 4, W * 4, 4), writeable=False)
    assert frames.flags.c_contiguous
    with pytest.raises(ValueError, match=r"frames of shape \(2, 3, 4294967301\) is too large"):
        _core.tvl1_pairs(frames, np.array([0], np.int32), np.array([1], np.int32), _core.TVL1Params(nscales=1), 1)
    with pytest.raises(ValueError, match=r"img of shape \(3, 4294967301\) is too large"):
        _core._median_filter(frames[0], 3)


@pytest.mark.parametrize("shape", [(3, 0), (0, 4), (0, 0)], ids=str)
def test_median_filter_of_an_empty_image_reads_nothing(shape):
    """An empty row has no border pixel to replicate: the filter returns the empty image (it used to read
    img[0] and img[-1] of the empty row, out of bounds; AddressSanitizer reports it)."""
    from mefast import _core

    assert _core._median_filter(np.zeros(shape, np.float32), 3).shape == shape


def test_cuda_device_without_gpu_is_a_clear_error():
    if mefast.has_cuda():
        pytest.skip("a GPU is visible")
    with pytest.raises(mefast.CudaUnavailableError, match=r"device='cuda'"):
        mefast.tvl1(img(), img(), params=ONE, device="cuda")
    # auto falls back to the CPU
    assert mefast.tvl1(img(), img(), params=ONE, device="auto").shape == (32, 32, 2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h=st.integers(16, 40),
    w=st.integers(16, 40),
    dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.float64]),
    rgb=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_shape_and_dtype_contract(h, w, dtype, rgb, seed):
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if rgb else (h, w)
    scale = 1.0 if np.issubdtype(dtype, np.floating) else 255
    a = (rng.random(shape) * scale).astype(dtype)
    b = np.roll(a, 1, axis=1)
    flow = mefast.tvl1(a, b, params=ONE)
    assert flow.shape == (h, w, 2)
    assert flow.dtype == np.float32 and flow.flags.c_contiguous
    assert np.isfinite(flow).all()


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "2", float("inf")], ids=repr)
def test_every_kernel_validates_n_threads_alike(bad):
    """One rule for the C++ and Numba kernels: None (all cores) or an integer >= 1."""
    video = np.zeros((3, 24, 24), np.uint8)
    flow = np.zeros((24, 24, 2), np.float32)
    calls = [
        lambda: mefast.compute_flow(video, params=ONE, n_threads=bad),
        lambda: mefast.optical_strain(flow, n_threads=bad),
        lambda: mefast.tim(video, 4, n_threads=bad),
        lambda: mefast.lbp_top(video, radius=1, blocks=1, n_threads=bad),
        lambda: mefast.biwoof(flow, n_threads=bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"n_threads must be a positive integer or None \(all cores\)"):
            call()


@pytest.mark.parametrize(
    "i0, i1, shape, params, message",
    [
        ([0], [5], (2, 32, 32), {}, r"pair 0 indexes frames \(0, 5\) outside \[0, 2\)"),
        ([0], [1], (2, 2, 32), {"nscales": 1}, "too small"),
        ([0], [1], (2, 32, 32), {}, "too small for nscales=5"),
        ([0], [1], (2, 64, 64), {"tau": 0.5}, "tau"),
    ],
    ids=["index", "tiny", "nscales", "tau"],
)
def test_every_backend_refuses_what_the_core_refuses(backend, i0, i1, shape, params, message):
    """One set of checks for every backend: the struct is validated again by the kernel binding."""
    frames = np.zeros(shape, np.float32)
    a, b = np.array(i0, np.int32), np.array(i1, np.int32)
    struct = _core.TVL1Params(**params)  # not validated: the kernel's own check must refuse it
    with pytest.raises(ValueError, match=message):
        kernels(backend).tvl1_pairs(frames, a, b, struct, 1)
