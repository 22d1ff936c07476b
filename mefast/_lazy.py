"""Package attributes loaded on first use (PEP 562), so that importing a package stays light."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(
    namespace: dict[str, object], names: Mapping[str, str], subpackages: Collection[str] = ()
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose attributes load on first use.

    Parameters
    ----------
    namespace : dict
        The package's ``globals()``: its ``__name__`` and ``__all__``; a loaded attribute is stored there, so
        it is looked up only once.
    names : mapping of str to str
        Attribute -> the submodule (relative to the package) that defines it under the same name. Read at each
        lookup, so the package may fill it after this call.
    subpackages : collection of str
        Subpackages reached as attributes (``package.sub``) and imported on first use.
    """
    package = str(namespace["__name__"])

    def __getattr__(name: str) -> object:
        if name in subpackages:
            return importlib.import_module(f"{package}.{name}")
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace["__all__"]))  # type: ignore[call-overload]

    return __getattr__, __dir__
