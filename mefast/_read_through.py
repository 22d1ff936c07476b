"""Read-only attributes that read through to an attribute of another object the instance holds.

A view or a compatibility shim often re-exposes attributes of an object it wraps. Written as properties, each
is four lines that differ only in names; :class:`ReadThrough` says the same in one line::

    class View:
        path = ReadThrough[str]("_reader", "path", "What the store was opened from.")

``View().path`` is ``View()._reader.path``; assigning or deleting it raises the ``AttributeError`` that a
property without a setter or deleter raises, with the same message. On a dataclass, leave the attribute
unannotated so that it does not become a field.
"""

from __future__ import annotations

from typing import Any, Generic, NoReturn, TypeVar, overload

__all__ = ["ReadThrough"]

T = TypeVar("T")


class ReadThrough(Generic[T]):
    """A read-only attribute whose value is ``instance.<holder>.<name>``.

    Parameters
    ----------
    holder : str
        Attribute of the instance that holds the wrapped object (e.g. ``"_reader"``).
    name : str
        Attribute of the wrapped object to read.
    doc : str
        The attribute's docstring.
    """

    def __init__(self, holder: str, name: str, doc: str) -> None:
        self._holder = holder
        self._name = name
        self._public = name
        self.__doc__ = doc

    def __set_name__(self, owner: type, public: str) -> None:
        self._public = public

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> ReadThrough[T]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> ReadThrough[T] | T:
        if obj is None:
            return self
        value: T = getattr(getattr(obj, self._holder), self._name)
        return value

    def __set__(self, obj: object, value: Any) -> NoReturn:
        raise AttributeError(f"property {self._public!r} of {type(obj).__qualname__!r} object has no setter")

    def __delete__(self, obj: object) -> NoReturn:
        raise AttributeError(f"property {self._public!r} of {type(obj).__qualname__!r} object has no deleter")
