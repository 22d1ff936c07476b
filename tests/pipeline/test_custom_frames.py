"""preprocess on datasets of other kinds: what their read_frames returns is checked before any cast to uint8.

The project's convention for images: uint8 grey levels, or floats in [0, 1]. Frames of another dtype, range or
shape used to be cast to uint8 as they came (floats in [0, 1] became black frames, uint16 wrapped, NaN gave a
RuntimeWarning, channels-first frames an OpenCV error), and the samples were marked done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from mefast import MEStore
from mefast.pipeline import PreprocessOptions, preprocess

FAST: dict[str, Any] = {"features": "flow,frames", "size": (16, 16), "n_jobs": 1, "progress": False}
NONE = PreprocessOptions(align="none", crop_size=(32, 32))


class Frames:
    """A dataset that is not a mefast Dataset: the wrapped one's samples, its frames passed through ``change``."""

    def __init__(self, dataset: Any, change: Callable[[np.ndarray], np.ndarray]) -> None:
        self.dataset, self.change = dataset, change
        self.samples, self.frame_numbers = dataset.samples, dataset.frame_numbers
        self.name, self.au_names = dataset.name, dataset.au_names

    def au_matrix(self, names: Any = None) -> np.ndarray:
        return self.dataset.au_matrix(names)

    def read_frames(self, i: int, first: int | None = None, last: int | None = None) -> np.ndarray:
        return self.change(self.dataset.read_frames(i, first, last))


class GreyFrames(Frames):
    """The same with the ``gray`` and ``reduction`` keywords: preprocess then reads grey, reduced frames."""

    def read_frames(  # type: ignore[override]
        self, i: int, first: int | None = None, last: int | None = None, *, gray: bool = False, reduction: int = 1
    ) -> np.ndarray:
        return self.change(self.dataset.read_frames(i, first, last, gray=gray, reduction=reduction))


def _stored(path) -> dict[str, np.ndarray]:
    st = MEStore.open(path)
    assert st.done.all()
    return {f: np.asarray(st.read(f, slice(None))) for f in ("flow", "frames")}


@pytest.mark.parametrize("kind", [Frames, GreyFrames], ids=["rgb", "grey-reduced"])
def test_float_frames_in_0_1_and_narrow_integers_give_the_uint8_result(shifted_clips, tmp_path, kind):
    preprocess(kind(shifted_clips, lambda v: v), tmp_path / "u8.zarr", options=NONE, **FAST)
    ref = _stored(tmp_path / "u8.zarr")
    for name, change in {
        "float32": lambda v: v.astype(np.float32) / 255,
        "float64": lambda v: v / 255.0,
        "int64": lambda v: v.astype(np.int64),
    }.items():
        report = preprocess(kind(shifted_clips, change), tmp_path / f"{name}.zarr", options=NONE, **FAST)
        assert report.complete, report.failures
        got = _stored(tmp_path / f"{name}.zarr")
        for feature in ref:
            np.testing.assert_array_equal(got[feature], ref[feature], err_msg=f"{name} {feature}")


def _nan(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float32) / 255
    v[-1, 5:9, 5:9] = np.nan
    return v


def _rgba(v: np.ndarray) -> np.ndarray:
    rgb = v if v.ndim == 4 else np.stack([v] * 3, axis=-1)
    return np.concatenate([rgb, np.full_like(rgb[..., :1], 255)], axis=-1)


BAD = {
    "float 0..255": (lambda v: v.astype(np.float32), r"in \[\d+, \d+\] \(float32\); float frames must lie"),
    "uint16": (lambda v: v.astype(np.uint16) * 257, r"holds values \d+\.\.\d+ \(uint16\); integer frames are grey"),
    "int16 negative": (lambda v: v.astype(np.int16) - 300, r"holds values -\d+\.\.-\d+ \(int16\)"),
    "nan": (_nan, r"contains NaN or infinity \(first at index \(\d+, 5, 5"),
    "bool": (lambda v: v > 128, r"must be uint8 grey levels \(0-255\) or float in \[0, 1\], got dtype bool"),
    "channels first": (
        lambda v: np.ascontiguousarray(np.moveaxis(v, -1, 1) if v.ndim == 4 else v[:, None]),
        r"must have shape \(T, H, W\) or \(T, H, W, 3\), got shape \(\d+, [13], \d+, \d+\); channels first\?",
    ),
    "rgba": (_rgba, r"must have shape \(T, H, W\) or \(T, H, W, 3\), got shape \(\d+, \d+, \d+, 4\)"),
}


@pytest.mark.parametrize("kind", [Frames, GreyFrames], ids=["rgb", "grey-reduced"])
@pytest.mark.parametrize("bad", list(BAD))
def test_frames_of_another_dtype_range_or_shape_fail_their_sample_by_name(shifted_clips, tmp_path, kind, bad):
    change, problem = BAD[bad]
    for align in ("none", "face"):
        options = PreprocessOptions(align=align, crop_size=(32, 32))
        report = preprocess(kind(shifted_clips, change), tmp_path / f"{align}.zarr", options=options, **FAST)
        assert report.computed == 0 and len(report.failures) == len(shifted_clips)
        for (sid, reason), expected in zip(report.failures, shifted_clips.samples["sample_id"], strict=True):
            assert sid == expected
            assert reason.startswith(f"ShapeError: sample {sid}: the clip read_frames returned "), reason
            assert re.search(problem, reason), reason
        assert not MEStore.open(tmp_path / f"{align}.zarr").done.any()  # nothing stored from such frames
