"""mefast.spot refuses a video shorter than 2k + 1 frames the same way whether it comes as an array or lazily.

Review finding (edges.py): an array of 5 frames with k = 4 raised ShapeError, the same frames as a generator
returned an empty result silently.
"""

from __future__ import annotations

import numpy as np
import pytest

import mefast
from mefast.errors import ShapeError

MESSAGE = r"^video has 5 frames; spotting with k=4 needs at least 9$"


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return (np.random.default_rng(0).random((5, 64, 64)) * 255).astype(np.uint8)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(lambda v: v, id="array"),
        pytest.param(lambda v: (f for f in v), id="generator"),
        pytest.param(lambda v: iter(list(v)), id="iterator"),
        pytest.param(lambda v: list(v), id="list"),
    ],
)
@pytest.mark.parametrize("method", ["fd", "mdmd"])
def test_too_short_a_video_is_refused_however_it_comes(frames, source, method: str) -> None:
    with pytest.raises(ShapeError, match=MESSAGE):
        mefast.spot(source(frames), method=method, fps=30, k=4, landmarks=None)


def test_an_empty_generator_gets_the_same_message() -> None:
    empty = (f for f in np.zeros((0, 64, 64), np.uint8))
    with pytest.raises(ShapeError, match=r"^video has 0 frames; spotting with k=4 needs at least 9$"):
        mefast.spot(empty, method="fd", k=4, landmarks=None)
    with pytest.raises(ShapeError, match=r"^video has 0 frames; spotting with k=4 needs at least 9$"):
        mefast.spot(np.zeros((0, 64, 64), np.uint8), method="fd", k=4, landmarks=None)


def test_just_long_enough_a_generator_is_spotted(frames) -> None:
    video = np.concatenate([frames, frames[:4]])  # 9 = 2k + 1 frames
    got = mefast.spot((f for f in video), method="fd", k=4, landmarks=None)
    np.testing.assert_array_equal(got, mefast.spot(video, method="fd", k=4, landmarks=None))
