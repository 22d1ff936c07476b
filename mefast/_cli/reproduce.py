"""``mefast reproduce``: rerun a published table from its experiment file, published beside measured."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from ._common import add_store_option, add_torch_options, comma_list, fail, missing_module, out_dir_problem, passed_on


def _experiment_dir() -> Path:
    # The files ship inside mefast/train/; found by path so that --list needs no torch.
    return Path(__file__).resolve().parent.parent / "train" / "experiments"


def _shipped() -> dict[str, tuple[Path, str, str]]:
    out = {}
    for path in sorted(_experiment_dir().glob("*.toml")):
        with path.open("rb") as fh:
            head = tomllib.load(fh).get("experiment", {})
        out[str(head.get("name", path.stem))] = (path, str(head.get("title", "")), str(head.get("source", "")))
    return out


DESCRIPTION = (
    "Run a named experiment (a TOML file listing corpora, protocol, models, seeds, epochs and the "
    "published figures) and write a markdown and CSV table: published, measured, difference."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    p.add_argument("name", nargs="?", help="a shipped experiment (see --list) or the path of a .toml file")
    p.add_argument("--list", action="store_true", help="list the shipped experiments and exit")
    p.add_argument("--root", type=Path, help="folder holding the experiment's store (and files it names)")
    add_store_option(p, "store to use instead of the one under --root", required=False)
    p.add_argument("--quick", action="store_true", help="run on synthetic corpora with few epochs (seconds)")
    p.add_argument("--out", type=Path, help="folder for <name>.md and <name>.csv (default: print only)")
    p.add_argument("--epochs", type=int, help="override the file's epochs")
    p.add_argument("--seeds", type=int, help="run seeds 0..N-1 instead of the file's")
    p.add_argument("--rows", help="comma-separated row names to run (the others are listed, not run)")
    add_torch_options(p, device=None, default_threads="the experiment file's")


def run(args: argparse.Namespace) -> int:
    """List or run experiments."""
    if args.list:
        for name, (_, title, source) in _shipped().items():
            print(f"{name:20s} {title}\n{'':20s} ({source})")
        return 0
    if not args.name:
        return fail("reproduce", "give an experiment name (see --list) or a .toml path")
    if args.seeds is not None and args.seeds < 1:
        return fail("reproduce", "--seeds must be at least 1")
    # An empty --rows value runs every row (as before); one of separators only names none, so it is an error,
    # not "every row".
    rows = comma_list(args.rows) if args.rows and args.rows.strip() else None
    if rows == []:
        return fail("reproduce", f"--rows: no row names given in {args.rows!r}")
    why = None if args.out is None else out_dir_problem("--out", args.out)  # before the run, not after it
    if why:
        return fail("reproduce", why)
    try:
        from ..train.reproduce import run_experiment
    except ModuleNotFoundError as exc:
        return missing_module("reproduce", exc)
    from ..errors import MefastError

    try:
        result = run_experiment(
            args.name,
            seeds=None if args.seeds is None else range(args.seeds),
            rows=rows,
            **passed_on(args, "root", "store", "quick", "epochs", "threads", "device"),
        )
    except (MefastError, ValueError, OSError) as exc:
        return fail("reproduce", exc)
    print(result.to_markdown())
    if args.out is not None:
        try:
            paths = result.write(args.out)
        except OSError as exc:
            return fail("reproduce", f"cannot write the tables to --out {args.out}: {exc}")
        print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0
