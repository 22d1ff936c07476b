"""The ``mefast`` command line: ``mefast preprocess | info | demo | evaluate | config``.

Each subcommand lives in ``mefast/_cli/<name>.py`` with ``add_parser(subparsers)`` and ``run(args) -> int``,
so this module only dispatches. Library code never prints; the commands do.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

_COMMANDS = ("preprocess", "info", "demo", "evaluate", "config", "show", "spot", "reproduce", "magnify", "explain")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="mefast", description="Fast micro-expression preprocessing and leak-free evaluation."
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"mefast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"mefast._cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"mefast._cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mefast`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
