"""Descriptors with no public reference implementation accept only ``mode="paper"`` and say so by name."""

from __future__ import annotations

import numpy as np
import pytest

import mefast

_CLIP = np.zeros((6, 24, 24), np.uint8)
_FLOW = np.zeros((24, 24, 2), np.float32)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda mode: mefast.hog3d(_CLIP, blocks=2, mode=mode), "hog3d"),
        (lambda mode: mefast.higo(_CLIP, blocks=2, mode=mode), "higo"),
        (lambda mode: mefast.hoof(_FLOW, blocks=2, mode=mode), "HOOF"),
        (lambda mode: mefast.lbp_sip(_CLIP, blocks=2, mode=mode), "LBP-SIP"),
        (lambda mode: mefast.lbp_mop(_CLIP, blocks=2, mode=mode), "LBP-MOP"),
    ],
)
def test_only_paper_mode(call, name):
    assert call("paper").ndim == 1
    with pytest.raises(ValueError, match=rf"mode must be 'paper' \({name} has no reference implementation\), "
                       r"got 'reference'"):  # fmt: skip
        call("reference")
