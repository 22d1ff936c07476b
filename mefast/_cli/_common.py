"""Helpers shared by the subcommands."""

from __future__ import annotations

import sys


def missing_module(
    command: str, exc: ModuleNotFoundError, *, modules: tuple[str, ...] = ("torch",), extra: str = "train"
) -> int:
    """Tell the user which optional dependency ``command`` lacks and how to install it; the exit status 2.

    Parameters
    ----------
    command : str
        The subcommand's name, as the message shows it.
    exc : ModuleNotFoundError
        What the import of the command's optional part raised.
    modules : tuple of str
        The optional dependencies the command may lack; any other missing module is re-raised.
    extra : str
        The mefast extra(s) that install them, e.g. ``"train,viz"``.

    Returns
    -------
    int
        2, the command's exit status.

    Raises
    ------
    ModuleNotFoundError
        ``exc`` itself when the missing module is not one of ``modules`` (a broken install, not a missing extra).
    """
    if exc.name not in modules:
        raise exc
    print(f"mefast {command} needs {exc.name}: pip install 'mefast[{extra}]'", file=sys.stderr)
    return 2
