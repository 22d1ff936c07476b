"""The ``mefast`` command line: ``mefast preprocess | info | demo | evaluate | config``.

Each subcommand lives in ``mefast/_cli/<name>.py`` with ``add_arguments(parser)``, ``run(args) -> int`` and,
optionally, a ``DESCRIPTION`` for its ``--help`` and an ``INTERRUPTED`` hint for Ctrl-C; this module registers
them under the one-line help of ``_COMMANDS`` and dispatches. Library code never prints; the commands do.
Ctrl-C ends any command with one line on stderr and exit status 130 (128 + SIGINT), not a traceback; a
reader that closes the output early (``mefast info STORE | head``) ends it quietly with status 141
(128 + SIGPIPE, what the shell shows for any tool stopped by a closed pipe).
"""

from __future__ import annotations

import argparse
import importlib
import os
import select
import sys
from collections.abc import Sequence

__all__ = ["main"]

#: The subcommands, in the order ``mefast --help`` lists them, with the one-line help it shows.
_COMMANDS = {
    "preprocess": "compute flow, strain and descriptors of every clip of a corpus into a Zarr store (resumable)",
    "info": "contents, parameters, completeness and failures of a store",
    "demo": "preprocess the built-in synthetic corpus end to end and print a summary",
    "evaluate": "evaluate a model on a store under LOSO / LODO / CD6ME / MEGC protocols",
    "config": "print versions, build flags, OpenMP/SIMD and CUDA status",
    "show": "draw a figure of a store or of evaluate results (gallery, class means, confusion, ...) as PNG",
    "spot": "spot micro-/macro-expressions in long recordings and print the MEGC table",
    "reproduce": "rerun a published table from an experiment file (published figures beside mefast's)",
    "magnify": "magnify the motion of a clip (Eulerian, two-frame, Lagrangian, learned)",
    "explain": "AU-CAM / Grad-CAM picture of one sample (dual-branch models saved by evaluate --save-models)",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="mefast", description="Fast micro-expression preprocessing and leak-free evaluation."
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"mefast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in _COMMANDS.items():
        try:
            module = importlib.import_module(f"mefast._cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"mefast._cli.{name}":
                raise
            continue
        p = sub.add_parser(name, help=summary, description=getattr(module, "DESCRIPTION", None))
        module.add_arguments(p)
        p.set_defaults(run=module.run, _interrupted=getattr(module, "INTERRUPTED", None))
    return parser


#: The exit status after the reader of standard output went away: 128 + SIGPIPE, as for a tool the signal ends.
BROKEN_PIPE = 141


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone (so a BrokenPipeError came from it).

    A BrokenPipeError can come from elsewhere too (a worker's pipe, a socket): those are not ours to hide.
    """
    try:
        sys.stdout.flush()  # what failed stays buffered, so this fails again when stdout is the broken pipe
    except (BrokenPipeError, ValueError):
        return True
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return False
    if not hasattr(select, "poll"):
        return False
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    return any(event & select.POLLERR for _, event in poll.poll(0))  # the write end of a pipe with no reader


def _drop_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's final flush cannot fail again.

    The pattern of the Python documentation's note on SIGPIPE (the signal module), rather than restoring the
    signal's default action, which would also kill the process on a broken socket.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (an in-memory stdout): no pipe to flush to
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mefast`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = int(args.run(args) or 0)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except KeyboardInterrupt:
        hint = f"; {args._interrupted}" if args._interrupted else ""
        print(f"mefast {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        _drop_stdout()
        return BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
