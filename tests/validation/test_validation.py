"""The shared argument checks of mefast._validation: one integer rule, one (H, W) parser, one dtype rule."""

from __future__ import annotations

import os

import numpy as np
import pytest

import mefast
from mefast._validation import check_bool, check_int, check_numeric, check_size, check_uint8_video, core_threads
from mefast.errors import ShapeError


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), np.array(3)], ids=["int", "int64", "uint8", "0-d"])
def test_check_int_accepts_python_and_numpy_integers(value):
    assert check_int(value, "n") == 3 and type(check_int(value, "n")) is int


@pytest.mark.parametrize("value", [True, np.bool_(False), 3.0, "3", None, [3], np.array([3])], ids=repr)
def test_check_int_refuses_everything_else(value):
    with pytest.raises(ValueError, match=r"^n must be an integer, got "):
        check_int(value, "n")


def test_check_int_minimum_message_and_error_type():
    assert check_int(2, "bins", minimum=2) == 2
    with pytest.raises(ValueError, match=r"^bins must be an integer >= 2, got 1$"):
        check_int(1, "bins", minimum=2)
    with pytest.raises(TypeError, match="^custom$"):
        check_int(1.5, "i", message="custom", error=TypeError)


def test_core_threads_keeps_its_rule():
    assert core_threads(None) == 0 and core_threads(np.int32(4)) == 4
    for bad in (0, -1, True, 2.0, "2"):
        with pytest.raises(ValueError, match=r"n_threads must be a positive integer or None \(all cores\)"):
            core_threads(bad)


def test_core_threads_refuses_counts_beyond_its_bound():
    """2**31 reached the C int of the core: a pybind11 TypeError of 1,100-4,700 characters (review repro)."""
    limit = max(1024, os.cpu_count() or 1)
    assert core_threads(limit) == limit and core_threads(np.uint64(64)) == 64
    for big in (limit + 1, 2**31, 2**63, np.int64(2**40)):
        with pytest.raises(ValueError, match=rf"^n_threads must be at most {limit} \(or None: all cores\), got "):
            core_threads(big)


def test_check_bool_takes_python_and_numpy_bools_only():
    assert check_bool(True, "flag") is True and check_bool(np.bool_(False), "flag") is False
    for bad in ("no", "True", 1, 0, None, 0.0, np.array([True]), np.int8(1)):
        with pytest.raises(ValueError, match=r"^flag must be True or False, got "):
            check_bool(bad, "flag")


_V = (np.random.default_rng(0).random((5, 24, 24)) * 255).astype(np.uint8)
_F = np.zeros((2, 8, 8, 2), np.float32)


@pytest.mark.parametrize(
    "call",
    [
        lambda k: mefast.compute_flow(_V[:3], params="fast", n_threads=k),
        lambda k: mefast.tvl1(_V[0], _V[1], params="fast", n_threads=k),
        lambda k: mefast.optical_strain(_F, n_threads=k),
        lambda k: mefast.tim(_V, 5, n_threads=k),
        lambda k: mefast.lbp_top(_V, blocks=2, n_threads=k),
        lambda k: mefast.magnification.evm(_V, 30, n_threads=k),
        lambda k: mefast.hog3d(_V, blocks=2, n_threads=k),
        lambda k: mefast.lbp_mop(_V, blocks=2, n_threads=k),
        lambda k: mefast.biwoof(_F, blocks=2, n_threads=k),
    ],
    ids=["compute_flow", "tvl1", "optical_strain", "tim", "lbp_top", "evm", "hog3d", "lbp_mop", "biwoof"],
)
def test_public_functions_name_a_thread_count_beyond_the_bound(call):
    with pytest.raises(ValueError, match=r"^n_threads must be at most \d+ \(or None: all cores\), got 2147483648$"):
        call(2**31)


@pytest.mark.parametrize("size", [(3, 4), [3, 4], np.array([3, 4]), (np.int16(3), 4)], ids=repr)
def test_check_size_parses_two_integers(size):
    assert check_size(size, "size") == (3, 4)


@pytest.mark.parametrize("size", ["big", (3,), (1, 2, 3), (3.5, 4), (3, None), 7], ids=repr)
def test_check_size_refuses_what_is_not_two_integers(size):
    with pytest.raises(ValueError, match=r"^crop_size must be \(height, width\), got "):
        check_size(size, "crop_size")


def test_check_size_minimum():
    with pytest.raises(ValueError, match=r"^shape must be two positive integers \(height, width\), got \(0, 4\)$"):
        check_size((0, 4), "shape")
    with pytest.raises(ValueError, match=r"^size must be at least \(8, 8\), got \(8, 7\)$"):
        check_size((8, 7), "size", minimum=8)
    assert check_size((8, 8), "size", minimum=8) == (8, 8)


@pytest.mark.parametrize("dtype", [np.bool_, object, "U3", complex], ids=str)
def test_check_numeric_refuses_non_numeric_dtypes(dtype):
    with pytest.raises(ShapeError, match=r"^x must be a numeric array, got dtype "):
        check_numeric(np.zeros(3, dtype), "x", what="a numeric array")


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float16, np.float64], ids=str)
def test_check_numeric_passes_numeric_arrays_through(dtype):
    arr = np.zeros(3, dtype)
    assert check_numeric(arr, "x") is arr


def test_check_uint8_video_converts_what_the_conventions_allow():
    u8 = np.arange(2 * 3 * 4 * 3, dtype=np.uint8).reshape(2, 3, 4, 3) * 3
    assert check_uint8_video(u8) is u8
    np.testing.assert_array_equal(check_uint8_video(u8.astype(np.int64)), u8)  # integers: grey levels 0..255
    for dtype in (np.float16, np.float32, np.float64):  # floats: [0, 1], scaled and rounded
        out = check_uint8_video(u8.astype(dtype) / dtype(255))
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, u8)
    assert check_uint8_video(np.ones((1, 2, 2))).tolist() == [[[255, 255], [255, 255]]]
    # interpolation overshoot (a bicubic resize) is clipped, not refused
    assert check_uint8_video(np.array([[[-0.2, 1.3]]])).tolist() == [[[0, 255]]]
    assert check_uint8_video(np.array([[[0.5, 1 + 1e-12]]])).tolist() == [[[128, 255]]]


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        (np.zeros((2, 4, 4), bool), r"^clip must be uint8 grey levels \(0-255\) or float in \[0, 1\], got dtype bool$"),
        (np.full((2, 4, 4), 256, np.uint16), r"^clip holds values 256\.\.256 \(uint16\); integer frames are grey"),
        (np.full((2, 4, 4), -1, np.int8), r"^clip holds values -1\.\.-1 \(int8\)"),
        (np.full((2, 4, 4), 255.0), r"^clip holds values in \[255, 255\] \(float64\); float frames must lie in"),
        (np.full((2, 4, 4), np.nan, np.float32), r"^clip contains NaN or infinity \(first at index \(0, 0, 0\)\)$"),
        (np.zeros((2, 3, 4, 4), np.uint8), r"got shape \(2, 3, 4, 4\); channels first\? they must be the last axis$"),
        (np.zeros((2, 5, 6, 4), np.uint8), r"shape \(T, H, W\) or \(T, H, W, 3\), got shape \(2, 5, 6, 4\)$"),
        (np.zeros((4, 4), np.uint8), r"got shape \(4, 4\)$"),
        (np.zeros((0, 4, 4), np.uint8), r"^clip must hold at least one frame of 1 x 1 pixels, got shape \(0, 4, 4\)$"),
    ],
    ids=["bool", "uint16", "negative", "float-255", "nan", "channels-first", "rgba", "2-d", "no-frame"],
)  # fmt: skip
def test_check_uint8_video_refuses_the_rest_by_name(frames, match):
    with pytest.raises(ShapeError, match=match):
        check_uint8_video(frames, "clip")
