"""The model registry: every network mefast can train, built-in or added by another package.

Add a model with one call::

    from mefast.train import ModelInput, register_model

    def my_net(n_outputs: int, *, in_channels: int) -> torch.nn.Module:
        ...  # any nn.Module mapping (B, in_channels, S, S) to (B, n_outputs) logits

    register_model("mynet", my_net, input=ModelInput(arrays=("flow", "strain"), size=64))

after which ``mefast.train.evaluate(store, "loso", "mynet")``, ``mefast evaluate --model mynet`` and the
experiment files of ``mefast reproduce`` accept the name. A package registers its models without being
imported by the user through the entry-point group ``mefast.models``: each entry point names a callable
that calls :func:`register_model` (it is called once, with no arguments, the first time a name is looked
up)::

    [project.entry-points."mefast.models"]
    mynet = "mypackage.models:register"

The factory is called as ``factory(n_outputs, in_channels=C, **options)``. The loader builds the input from
the store arrays that :class:`ModelInput` names, resized to ``size``: ``flow`` gives the channels u and v,
``strain`` one channel, ``frames`` (the temporally interpolated clip) a video of shape
``(3, frames, size, size)`` (grayscale replicated to the RGB stem of the published networks). For
:func:`mefast.train.embed` the network's last ``nn.Linear`` (or the module
named by ``head``) is the classifier whose input is the penultimate feature vector.

The registry is consulted once per training run, to build the network: it adds nothing to the training loop.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from .._read_through import ReadThrough
from ..errors import MefastError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ModelEntry",
    "ModelInput",
    "UnknownModelError",
    "available_models",
    "get_model",
    "register_model",
]

#: Entry-point group through which other packages add models.
ENTRY_POINT_GROUP = "mefast.models"

_VIDEO_ARRAYS = frozenset({"frames"})
_IMAGE_ARRAYS = {"flow": 2, "strain": 1, "frames": 3}


class UnknownModelError(MefastError, ValueError):
    """A model name that no built-in or installed package registered."""


@dataclasses.dataclass(frozen=True)
class ModelInput:
    """What a network reads from the store.

    Attributes
    ----------
    arrays : tuple of str
        Store arrays stacked as channels, in order: ``flow`` (u, v), ``strain``, or ``frames`` alone (a video).
    size : int
        Side of the square input the arrays are resized to.
    frames : int or None
        Number of frames of a video input (``arrays == ("frames",)``); the stored clip is resampled to it.
    resizable : bool
        The network accepts other input sizes (global pooling before its classifier), so
        ``TrainConfig.input_size`` may override ``size`` (quick runs, small GPUs).
    """

    arrays: tuple[str, ...] = ("flow", "strain")
    size: int = 64
    frames: int | None = None
    resizable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "arrays", tuple(self.arrays))
        if not self.arrays:
            raise ValueError("ModelInput.arrays must name at least one store array")
        if self.size < 1:
            raise ValueError(f"ModelInput.size must be at least 1, got {self.size}")
        video = [a for a in self.arrays if a in _VIDEO_ARRAYS]
        if video and len(self.arrays) != 1:
            raise ValueError(f"a video input reads 'frames' alone, got arrays {self.arrays}")
        if video and (self.frames is None or self.frames < 1):
            raise ValueError("a video input (arrays=('frames',)) needs frames >= 1")
        if not video and self.frames is not None:
            raise ValueError(f"frames is only for video inputs, got arrays {self.arrays}")

    @property
    def video(self) -> bool:
        """Whether the input is a clip ``(3, frames, size, size)`` rather than an image ``(C, size, size)``."""
        return self.frames is not None

    @property
    def channels(self) -> int:
        """Input channels: 2 per flow, 1 per other image array, 3 for a video (grayscale replicated to RGB)."""
        return sum(_IMAGE_ARRAYS.get(a, 1) for a in self.arrays)

    @property
    def shape(self) -> tuple[int, ...]:
        """Per-sample input shape the network receives."""
        if self.video:
            return (self.channels, int(self.frames or 0), self.size, self.size)
        return (self.channels, self.size, self.size)


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A registered model.

    Attributes
    ----------
    name : str
        Registry key (lower case).
    factory : callable
        ``factory(n_outputs, in_channels=C, **options) -> nn.Module``.
    input : ModelInput
    title : str
        Display name in tables (e.g. ``ResNet-18``).
    source : str
        Where the architecture comes from (paper and table); the factory's docstring says more.
    options : mapping
        Keyword arguments always passed to the factory (e.g. the depth of a ResNet).
    head : str or None
        Attribute name of the classifier layer (default: the last ``nn.Linear``), for embeddings.
    """

    name: str
    factory: Callable[..., Any]
    input: ModelInput
    title: str
    source: str = ""
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    head: str | None = None

    # Compatibility with the former ModelSpec (read by older code and tests); unannotated, so not fields.
    input_size = ReadThrough[int]("input", "size", "Side of the square input.")
    inputs = ReadThrough[tuple[str, ...]]("input", "arrays", "Store arrays read.")
    in_channels = ReadThrough[int]("input", "channels", "Number of input channels.")

    def build(self, n_outputs: int, **options: Any) -> Any:
        """A freshly initialised network with ``n_outputs`` logits."""
        if n_outputs < 1:
            raise ValueError(f"n_outputs must be at least 1, got {n_outputs}")
        return self.factory(n_outputs, in_channels=self.input.channels, **{**self.options, **options})


_LOCK = threading.Lock()
_REGISTRY: dict[str, ModelEntry] = {}
_ENTRY_POINTS_LOADED = False
_BUILTINS_LOADED = False


def register_model(
    name: str,
    factory: Callable[..., Any],
    *,
    input: ModelInput,  # noqa: A002 - the documented keyword
    title: str | None = None,
    source: str | None = None,
    options: Mapping[str, Any] | None = None,
    head: str | None = None,
    replace: bool = False,
) -> ModelEntry:
    """Register a network under ``name`` (see the module docstring).

    Parameters
    ----------
    name : str
        Registry key; letters, digits, ``-``, ``_`` and ``+``; looked up case-insensitively.
    factory : callable
        ``factory(n_outputs, in_channels=C, **options) -> torch.nn.Module``.
    input : ModelInput
        Store arrays, size and (for videos) frame count the network reads.
    title : str, optional
        Display name (default: ``name``).
    source : str, optional
        Paper and table the architecture follows (default: the first line of the factory's docstring).
    options : mapping, optional
        Keyword arguments passed to the factory on every build.
    head : str, optional
        Attribute holding the classifier layer, when it is not the last ``nn.Linear``.
    replace : bool
        Allow replacing an existing registration (otherwise a duplicate name raises).

    Returns
    -------
    ModelEntry
    """
    key = str(name).lower()
    if not key or not all(c.isalnum() or c in "-_+" for c in key):
        raise ValueError(f"model name {name!r} must be non-empty letters, digits, '-', '_' or '+'")
    if not callable(factory):
        raise TypeError(f"factory of model {name!r} is not callable: {factory!r}")
    if not isinstance(input, ModelInput):
        raise TypeError(f"input of model {name!r} must be a ModelInput, got {type(input).__name__}")
    if source is None:
        doc = (getattr(factory, "__doc__", None) or "").strip()
        source = doc.splitlines()[0] if doc else ""
    entry = ModelEntry(key, factory, input, title or str(name), source, dict(options or {}), head)
    with _LOCK:
        if key in _REGISTRY and not replace and _REGISTRY[key] != entry:
            raise ValueError(f"a model named {key!r} is already registered (pass replace=True to override it)")
        _REGISTRY[key] = entry
    return entry


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from . import (
            dualbranch,  # noqa: F401 - the dual-branch method's Table 4 variants
            models,  # noqa: F401 - registers the built-in networks on import
            video,  # noqa: F401
        )


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            hook = ep.load()
            if callable(hook):
                hook()
        except Exception as exc:  # a broken plugin must not take mefast's own models down with it
            warnings.warn(f"mefast.models entry point {ep.name!r} failed to register: {exc!r}", stacklevel=2)


def _all() -> dict[str, ModelEntry]:
    _load_builtins()
    _load_entry_points()
    return _REGISTRY


def get_model(name: str) -> ModelEntry:
    """The registered model ``name`` (built-ins and entry points are loaded on first use)."""
    reg = _all()
    key = str(name).lower()
    if key not in reg:
        raise UnknownModelError(f"unknown model {name!r}; registered models: {', '.join(sorted(reg))}")
    return reg[key]


def available_models() -> tuple[str, ...]:
    """Names of every registered model, sorted."""
    return tuple(sorted(_all()))


class _RegistryView(MutableMapping[str, ModelEntry]):
    """Live view of the registry (``mefast.train.MODELS``); assigning an entry registers it under that name."""

    def __setitem__(self, key: str, entry: ModelEntry) -> None:
        e = dataclasses.replace(entry, name=str(key).lower())
        register_model(
            key, e.factory, input=e.input, title=e.title, source=e.source, options=e.options, head=e.head, replace=True
        )

    def __delitem__(self, key: str) -> None:
        with _LOCK:
            del _REGISTRY[str(key).lower()]

    def __getitem__(self, key: str) -> ModelEntry:
        try:
            return get_model(key)
        except UnknownModelError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(available_models())

    def __len__(self) -> int:
        return len(_all())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in _all()

    def __repr__(self) -> str:
        return f"MODELS({', '.join(available_models())})"


MODELS: MutableMapping[str, ModelEntry] = _RegistryView()
