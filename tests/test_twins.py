"""Signature helpers: batch twins (``mefast._twins``) and read-through attributes (``mefast._read_through``)."""

from __future__ import annotations

import inspect
import types
from typing import Any, TypedDict

import numpy as np
import pytest

from mefast import lbp_top_batch
from mefast._read_through import ReadThrough
from mefast._twins import options_of, some_options_of


def _kernel(video: Any, *, radius: int = 1, points: int = 8) -> tuple[Any, int, int]:
    return video, radius, points


@options_of(_kernel)
def _kernel_batch(videos: Any, **options: Any) -> list[tuple[Any, int, int]]:
    if options["radius"] < 0:
        raise TypeError("radius must not be negative (raised by the implementation)")
    return [_kernel(v, **options) for v in videos]


class _Pair(TypedDict, total=False):
    radius: int


@some_options_of(_kernel, _Pair)
def _kernel_pair(a: Any, b: Any, **options: Any) -> tuple[Any, ...]:
    return (*_kernel(a, **options), *_kernel(b, **options))


def test_twin_takes_the_template_options_with_its_defaults():
    assert _kernel_batch([1, 2], points=4) == [(1, 1, 4), (2, 1, 4)]
    assert list(inspect.signature(_kernel_batch).parameters) == ["videos", "radius", "points"]
    assert _kernel_pair(1, 2, radius=3) == (1, 3, 8, 2, 3, 8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: lbp_top_batch(), "lbp_top_batch() missing a required argument: 'videos'"),
        (lambda: lbp_top_batch(np.zeros((1, 4, 8, 8)), radiuss=2), "lbp_top_batch() got an unexpected keyword"),
        (lambda: lbp_top_batch(np.zeros((1, 4, 8, 8)), 1), "lbp_top_batch() too many positional arguments"),
        (lambda: _kernel_batch([1], videos=[2]), "_kernel_batch() multiple values for argument 'videos'"),
        (lambda: _kernel_pair(1, 2, points=4), "_kernel_pair() got an unexpected keyword argument 'points'"),
    ],
    ids=["missing", "unknown", "too-many", "doubled", "not-taken"],
)
def test_a_bad_call_names_the_function_called_as_python_does(call, message):
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value).startswith(message)


def test_a_type_error_of_the_implementation_is_not_renamed():
    with pytest.raises(TypeError) as info:
        _kernel_batch([1], radius=-1)
    assert str(info.value) == "radius must not be negative (raised by the implementation)"


class _View:
    """Holds ``_reader`` and re-exposes its ``path`` twice: as a property and as a read-through attribute."""

    def __init__(self) -> None:
        self._reader = types.SimpleNamespace(path="store.zarr")

    @property
    def as_property(self) -> str:
        return str(self._reader.path)

    path = ReadThrough[str]("_reader", "path", "What the store was opened from.")


def test_read_through_reads_the_holder_and_refuses_changes_as_a_property_does():
    view = _View()
    assert view.path == view.as_property == "store.zarr"
    assert _View.path.__doc__ == "What the store was opened from."
    for change in (lambda name: setattr(view, name, "other.zarr"), lambda name: delattr(view, name)):
        with pytest.raises(AttributeError) as from_property:
            change("as_property")
        with pytest.raises(AttributeError) as from_read_through:
            change("path")
        assert str(from_read_through.value) == str(from_property.value).replace("'as_property'", "'path'")
        assert "'_View' object" in str(from_read_through.value)
    assert view.path == "store.zarr"
