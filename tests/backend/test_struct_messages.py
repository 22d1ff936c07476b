"""The messages of the C++ parameter structs' setters (csrc/bindings/bind_struct.hpp) and of the LBP-TOP plan:
an integer too large for the field is out of range (not 'must be an integer'), a long value is shown short, and
the reference mode is called by its Python name."""

from __future__ import annotations

import re

import numpy as np
import pytest

import mefast
from mefast import _core

INT32 = r"must be an integer in \[-2147483648, 2147483647\] \(out of range\)$"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: mefast.TVL1Params(inner_iterations=2**31), r"^TVL1Params.inner_iterations=2147483648 is invalid: "),
        (lambda: mefast.TVL1Params(warps=2**40), r"^TVL1Params.warps=1099511627776 is invalid: "),
        (lambda: mefast.TVL1Params(warps=-(2**31) - 1), r"^TVL1Params.warps=-2147483649 is invalid: "),
        (
            lambda: _core.LBPTOPParams(time_blocks=np.int64(2**40)),
            r"^LBPTOPParams.time_blocks=np.int64\(1099511627776\) ",
        ),
        (lambda: _core.LBPTOPParams(time_blocks=np.uint64(2**63)), r"^LBPTOPParams.time_blocks=np.uint64\("),
        (lambda: _core.LBPTOPParams(radius=(1, 1, 2**33)), r"^LBPTOPParams.radius=8589934592 is invalid: "),
        (lambda: _core.TIMParams(n_frames=2**31), r"^TIMParams.n_frames=2147483648 is invalid: "),
    ],
)
def test_integers_that_do_not_fit_are_out_of_range(make, match):
    """LBPTOPParams.blocks=2147483648 'is invalid: must be an integer' (review repro_msgs.py): the value is one."""
    with pytest.raises(ValueError, match=match + ".*" + INT32):
        make()


def test_out_of_range_through_the_public_functions():
    """The public functions name their argument, not the core's struct (LBPTOPParams.blocks=..., TIMParams...)."""
    v = (np.random.default_rng(0).random((9, 40, 40)) * 255).astype(np.uint8)
    span = r"in \[-2147483648, 2147483647\], got "
    with pytest.raises(
        ValueError, match=r"^blocks must be an integer or a tuple of 2 integers " + span + "2147483648$"
    ):
        mefast.lbp_top(v, blocks=2**31)
    with pytest.raises(ValueError, match=r"^radius must be .* 3 integers " + span + r"\(1, 1, -2147483649\)$"):
        mefast.lbp_top(v, radius=(1, 1, -(2**31) - 1))
    with pytest.raises(ValueError, match=r"^time_blocks must be an integer " + span + "1099511627776$"):
        mefast.lbp_top(v, time_blocks=2**40)
    for n in (2**31, 65537):  # the C int, then TIM's own bound (_core.TIM_MAX_FRAMES)
        with pytest.raises(ValueError, match=rf"^n_frames must be an integer in \[1, 65536\], got {n}$"):
            mefast.tim(v, n)
    assert (
        mefast.lbp_top(v, radius=(1, 1, 2), time_blocks=np.int64(1)).shape == mefast.lbp_top(v, radius=(1, 1, 2)).shape
    )


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (2.5, r"^LBPTOPParams.time_blocks=2\.5 is invalid: must be an integer$"),
        ("3", r"^LBPTOPParams.time_blocks='3' is invalid: must be an integer$"),
        (np.arange(300), r"^LBPTOPParams.time_blocks=array of shape \(300,\) and dtype int64 is invalid: must be an "
                         r"integer$"),
        ("é" * 100, r"^LBPTOPParams.time_blocks='é{59}\.\.\. \(102 characters\) is invalid: must be an integer$"),
    ],
)  # fmt: skip
def test_values_that_are_not_integers_stay_wrong_type(value, match):
    with pytest.raises(ValueError, match=match):
        _core.LBPTOPParams(time_blocks=value)
    assert _core.LBPTOPParams(time_blocks=np.array(5)).time_blocks == 5


def test_long_values_are_shown_short():
    """lbp_top(mapping=np.arange(256)) printed the whole array (1469 characters)."""
    v = (np.random.default_rng(0).random((9, 40, 40)) * 255).astype(np.uint8)
    with pytest.raises(ValueError) as info:
        mefast.lbp_top(v, mapping=np.arange(256))
    assert str(info.value) == "mapping must be one of 'none', 'u2', 'riu2', got array of shape (256,) and dtype int64"
    with pytest.raises(ValueError, match=r"^mapping must be one of 'none', 'u2', 'riu2', got array\(\[1, 2\]\)$"):
        _core.LBPTOPParams(mapping=np.array([1, 2]))
    long_list = list(range(100))
    short = re.escape(repr(long_list)[:60])
    with pytest.raises(ValueError, match=rf"^mapping must be one of .*, got {short}\.\.\. \(390 characters\)$"):
        _core.LBPTOPParams(mapping=long_list)
    bad = [*long_list, "x"]
    with pytest.raises(
        ValueError, match=rf"^EVMParams.alphas={short}\.\.\. \({len(repr(bad))} characters\) is invalid: "
    ):
        _core.EVMParams(alphas=bad)


def test_the_reference_mode_is_called_by_its_python_name():
    """lbp_top(mode='reference') errors said "in mode='meb'", the core's name of the mode ('meb' is a deprecated
    alias in Python)."""
    v = (np.random.default_rng(0).random((10, 30, 14)) * 255).astype(np.uint8)
    with pytest.raises(ValueError, match=r"time_blocks=1 in mode='reference': MEB's block geometry") as info:
        mefast.lbp_top(v, blocks=(2, 8), mode="reference")
    assert "'meb'" not in str(info.value)
    with pytest.raises(ValueError, match=r"^points=\(8, 8, 16\) cannot run in mode='reference': MEB maps YT codes"):
        mefast.lbp_top(v, radius=1, points=(8, 8, 16), mode="reference")
