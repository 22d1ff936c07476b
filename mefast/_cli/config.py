"""``mefast config``: print versions and build information for bug reports."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments: it takes none."""


def run(args: argparse.Namespace) -> int:
    """Print the configuration."""
    from .._backend import show_config

    show_config()
    return 0
