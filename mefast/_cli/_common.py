"""Helpers shared by the subcommands: error reporting, options several commands declare, argument plumbing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

#: What ``--device`` accepts wherever torch trains.
DEVICES = ("auto", "cpu", "cuda")


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


def fail(command: str, message: object) -> int:
    """Report bad input as every subcommand does (``mefast <command>: <message>`` on stderr); the exit status 2."""
    print(f"mefast {command}: {message}", file=sys.stderr)
    return 2


def out_dir_problem(option: str, path: Path) -> str | None:
    """Why the folder ``path`` that ``option`` names cannot be written (None when it can, as far as can be told).

    Commands check their output folder before the work, not after it: a file where the folder or one of its
    parents should be is reported up front. The folder itself is created when the results are written.
    """
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                return f"{option}: {p} is a file, not a directory"
            return None
    return None


def add_store_option(
    p: argparse.ArgumentParser, help: str = "path or URL of a preprocessed store", *, required: bool = True
) -> None:
    """``--store``: the store a command reads (required unless the command can find or build one itself)."""
    p.add_argument("--store", required=required, help=help)


def add_torch_options(
    p: argparse.ArgumentParser, *, device: str | None, default_threads: str, device_help: str | None = None
) -> None:
    """``--device`` (default ``device``) and ``--threads`` of the commands that train networks.

    ``default_threads`` says in the help where the thread count comes from when the option is not given;
    ``device_help`` is ``--device``'s help (a command whose default is None, to tell it from a given value,
    says there what not giving it means).
    """
    p.add_argument("--device", default=device, choices=DEVICES, help=device_help)
    p.add_argument("--threads", type=int, default=None, help=f"torch CPU threads (default: {default_threads})")


def passed_on(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """``{name: args.<name>}``: the options a command hands on unchanged, as keywords of the same names."""
    return {name: getattr(args, name) for name in names}


def comma_list(text: str | None) -> list[str] | None:
    """A comma-separated option value as its stripped, non-empty items (None when the option is not given)."""
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]
