"""``mefast config``: print versions and build information for bug reports."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("config", help="print versions, build flags, OpenMP/SIMD and CUDA status")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the configuration."""
    from .._backend import show_config

    show_config()
    return 0
