"""Functions that take the options of another: batch twins and one-flag variants, their signature written once.

A kernel's batch twin (``lbp_top_batch`` of ``lbp_top``) and a variant that differs from a kernel by one fixed
internal choice (``higo``, the magnitude-free ``hog3d``) take exactly the options of the function they follow;
a special case takes some of them (``evm_pair``, the two-frame ``evm``: its spatial options).
:func:`options_of` gives the decorated function those options (names, kinds, annotations, defaults) from that
function, so they are written once and cannot drift apart: a new option of ``lbp_top`` is one of
``lbp_top_batch`` too, with the same default.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

__all__ = ["options_of", "some_options_of"]

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A")
F = TypeVar("F", bound=Callable[..., Any])

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def options_of(
    template: Callable[Concatenate[Any, P], object],
) -> Callable[[Callable[Concatenate[A, ...], R]], Callable[Concatenate[A, P], R]]:
    """Decorator: the decorated function takes its own positional parameters, then the rest of ``template``'s.

    With ``k`` positional parameters in the decorated function ``impl``, the result's signature is ``impl``'s
    first ``k`` parameters (the batch twin's ``videos`` instead of ``video``) followed by ``template``'s
    parameters after its first ``k``, defaults included. A call binds its arguments to that signature, as Python
    binds a call to a ``def`` (a ``TypeError`` for a missing, unknown or doubled argument that starts with the
    function's name, as Python's does: ``lbp_top_batch() missing a required argument: 'videos'``), fills in the
    defaults and calls ``impl`` with every argument by keyword. The result keeps ``impl``'s name and docstring;
    ``inspect.signature`` shows the combined signature, and a type checker sees the template's options.

    Parameters
    ----------
    template : callable
        The function whose options the decorated one takes.

    Returns
    -------
    decorator : callable
        Applied to ``impl``; raises ``TypeError`` at once when ``impl`` cannot take every option by keyword.
    """
    template_params = list(inspect.signature(template).parameters.values())

    def decorate(impl: Callable[Concatenate[A, ...], R]) -> Callable[Concatenate[A, P], R]:
        leading = _positional(impl)
        return _with_signature(impl, template, [*leading, *template_params[len(leading) :]])

    return decorate


def some_options_of(template: Callable[..., object], options: type) -> Callable[[F], F]:
    """Decorator: the decorated function takes its own positional parameters, then some options of ``template``.

    ``options`` is the ``TypedDict`` of the decorated function's ``**options: Unpack[options]``: its keys name
    the options of ``template`` taken (in ``template``'s order, with its kinds, annotations and defaults), its
    value types are what a type checker sees. Calls are bound and completed as by :func:`options_of`.

    Raises
    ------
    TypeError
        ``options`` names a parameter ``template`` does not have.
    """
    names = set(options.__annotations__)
    template_params = [p for p in inspect.signature(template).parameters.values() if p.name in names]
    unknown = names - {p.name for p in template_params}
    if unknown:
        raise TypeError(f"{template.__qualname__} has no options {sorted(unknown)}")

    def decorate(impl: F) -> F:
        return cast(F, _with_signature(impl, template, [*_positional(impl), *template_params]))

    return decorate


def _positional(impl: Callable[..., object]) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(impl).parameters.values() if p.kind in _POSITIONAL]


def _with_signature(impl: Callable[..., R], template: Callable[..., object], params: list[inspect.Parameter]) -> Any:
    """``impl`` behind the signature of ``params``: calls bound to it, defaults filled in, passed by keyword."""
    own = inspect.signature(impl)
    signature = own.replace(parameters=params)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in own.parameters.values())
    missing = [p.name for p in params if p.name not in own.parameters and not takes_any]
    if missing:
        raise TypeError(f"{impl.__qualname__} cannot take the options {missing} of {template.__qualname__}")

    @functools.wraps(impl)
    def with_options(*args: Any, **kwargs: Any) -> R:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:  # bind's message names no function: name it, as Python's own call errors do
            raise TypeError(f"{impl.__qualname__}() {exc}") from None
        bound.apply_defaults()
        return impl(**bound.arguments)

    with_options.__signature__ = signature  # type: ignore[attr-defined]
    return with_options
