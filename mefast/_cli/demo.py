"""``mefast demo``: the main job end to end on the built-in synthetic corpus, offline, in seconds.

Writes the synthetic dataset (real face imagery with known AU motion, in the corpora's on-disk layout) to a
temporary folder, reads it back with the dataset readers, preprocesses every feature into a Zarr store and
prints the summary. Evaluation hook: when ``mefast._cli.evaluate`` defines
``demo_evaluation(store_path: str, *, n_jobs: int | None) -> str``, ``run_demo`` calls it on the store and
appends its text (a LOSO evaluation) to the output. Report: with the ``viz`` extra, a self-contained HTML
report (the printed tables, a gallery, class means and the evaluation's figures, from :mod:`mefast.viz`) is
written next to the store as ``report.html``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_CORPORA = ("casme2", "samm", "casme3a")


@dataclass
class DemoResult:
    """What :func:`run_demo` produced: the store, the preprocessing report, and the printable lines."""

    store: Path
    report: Any
    lines: list[str] = field(default_factory=list)
    html: Path | None = None


def _evaluation_hook() -> Any:
    try:
        from . import evaluate
    except ImportError:
        return None
    return getattr(evaluate, "demo_evaluation", None)


def _write_report(store: Path, results_dir: Path, lines: Sequence[str]) -> tuple[Path | None, str]:
    """The HTML report next to the store (:func:`mefast.viz.store_report`) and the line to print."""
    try:
        from ..viz import store_report

        results = sorted(p for p in results_dir.glob("*") if (p / "runs.csv").is_file())
        page = store_report(store, title="mefast demo", results=results, notes=lines)
        path = page.write(store.parent / "report.html")
    except ModuleNotFoundError as exc:
        if exc.name not in ("matplotlib", "PIL"):
            raise
        return None, "HTML report skipped: it needs matplotlib and Pillow (pip install 'mefast[viz]')"
    return path, f"report: {path} (self-contained HTML, open it in a browser)"


def _foreign_store(store: Path, corpora_dir: Path) -> str | None:
    """Why the demo must not replace what is at ``store``; None when nothing is there or an earlier demo wrote it.

    The demo's store records where its frames were read (``attrs["dataset_root"]``, from :func:`mefast.preprocess`):
    the demo's corpora folder, or a corpus folder in it, which holds only what the synthetic writer wrote
    (:func:`~mefast.datasets.synthetic.foreign_files` is checked first). A store made from other frames, a zarr
    group that is not a store, or any other file or folder is someone's data. A store whose creation was
    interrupted holds no sample (:func:`mefast.preprocess` creates it again), an empty folder nothing. A relative
    root (recorded by demos before the root was made absolute) is taken from the current directory: a demo store
    written from another directory is refused, not guessed at.
    """
    from ..errors import StoreError
    from ..store import MEStore

    if not (store.exists() or store.is_symlink()):
        return None
    if store.is_dir() and not store.is_symlink() and not any(store.iterdir()):
        return None
    try:
        if MEStore.creating(store) is not None:
            return None
        root = MEStore.open(store).attrs.get("dataset_root")
    except (StoreError, OSError, ValueError):
        return f"{store} holds files the demo did not write; choose another folder"
    if isinstance(root, str) and root:
        root_path, ours = Path(root).resolve(), corpora_dir.resolve()
        if root_path == ours or ours in root_path.parents:
            return None
    return f"{store} is a store the demo did not write (its frames came from {root or '?'}); choose another folder"


def run_demo(
    workdir: str | os.PathLike[str],
    *,
    corpora: Sequence[str] = DEMO_CORPORA,
    n_subjects: int = 4,
    clips_per_subject: int = 3,
    n_jobs: int | None = None,
    progress: bool | None = None,
    evaluate: bool = True,
    html_report: bool = True,
) -> DemoResult:
    """Write the synthetic corpus under ``workdir``, preprocess it into ``workdir/demo.zarr``, summarise.

    Parameters
    ----------
    workdir : path
        Folder for the synthetic frames and the store (created if missing). A rerun there replaces the corpora
        and the store an earlier demo wrote, and refuses a corpus folder or a ``demo.zarr`` it did not write
        (``FileExistsError``, before anything is written).
    corpora, n_subjects, clips_per_subject
        What :func:`mefast.datasets.synthetic.write_synthetic` writes.
    n_jobs, progress
        As in :func:`mefast.preprocess`.
    evaluate : bool
        Run the evaluation step when it is available (see the module docstring).
    html_report : bool
        Write ``report.html`` next to the store (needs the ``viz`` extra; skipped with a note without it).
    """
    from .. import datasets
    from ..datasets.synthetic import foreign_files, write_synthetic
    from ..pipeline import preprocess

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    store = workdir / "demo.zarr"
    # A rerun in the same folder starts afresh: it replaces the corpora and the store an earlier demo wrote
    # there, and nothing else (a corpus folder without the synthetic writer's truth file is someone's data, and
    # so is a store not made from the demo's corpora). Both are checked before anything is written.
    theirs = foreign_files(workdir / "corpora", corpora)
    if theirs is not None:
        raise FileExistsError(f"{theirs} holds files the demo did not write; choose another folder")
    problem = _foreign_store(store, workdir / "corpora")
    if problem is not None:
        raise FileExistsError(problem)
    written = write_synthetic(
        workdir.absolute() / "corpora",  # the store records this root: a rerun from any directory recognises it
        corpora=tuple(corpora),
        n_subjects=n_subjects,
        clips_per_subject=clips_per_subject,
        overwrite=True,
    )
    parts = [datasets.load(name, root, annotations) for name, (root, annotations) in written.items()]
    dataset = parts[0] if len(parts) == 1 else datasets.composite(parts, "demo")
    report = preprocess(dataset, store, n_jobs=n_jobs, progress=progress, overwrite=True)
    lines = [
        f"synthetic corpora {', '.join(written)}: {len(dataset)} clips of {dataset.samples['subject'].nunique()} "
        f"subjects written to {workdir / 'corpora'}",
        report.summary(),
    ]
    hook = _evaluation_hook() if evaluate else None
    results_dir = workdir / "results"
    if hook is not None and report.complete:
        try:
            takes_dir = "results_dir" in inspect.signature(hook).parameters  # the figures' tables
            extra = {"results_dir": os.fspath(results_dir)} if takes_dir else {}
            lines.append(hook(os.fspath(store), n_jobs=n_jobs, **extra))
        except ModuleNotFoundError as exc:  # the evaluation trains torch models: an optional extra
            if exc.name != "torch":
                raise
            lines.append("LOSO evaluation skipped: it needs torch (pip install 'mefast[train]')")
    html, tail = None, f"inspect it with: mefast info {store}"
    if html_report and report.complete:
        html, line = _write_report(store, results_dir, lines)
        tail = f"{line}\n{tail}"  # one last element: the evaluation's text stays second to last
    lines.append(tail)
    return DemoResult(store, report, lines, html)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    p.add_argument("--out", default=None, metavar="DIR", help="keep the data and store here (default: a temp dir)")
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="worker processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-report", action="store_true", help="do not write the HTML report")


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when every clip was preprocessed."""
    from ..errors import MefastError
    from ._common import fail

    if args.jobs is not None and args.jobs < 1:  # refused before the corpora are written, not after
        return fail("demo", f"--jobs must be at least 1, got {args.jobs}")
    progress = False if args.no_progress else None
    if args.out is not None:
        try:
            result = run_demo(args.out, n_jobs=args.jobs, progress=progress, html_report=not args.no_report)
        except (MefastError, ValueError, OSError) as exc:  # OSError: --out unwritable, or holding others' data
            return fail("demo", exc)
        print("\n".join(result.lines))
        return 0 if result.report.complete else 1
    try:
        with tempfile.TemporaryDirectory(prefix="mefast-demo-") as tmp:
            result = run_demo(tmp, n_jobs=args.jobs, progress=progress, html_report=not args.no_report)
            kept = None
            if result.html is not None:  # the folder goes; the report is kept in the current directory
                kept = Path("mefast-demo-report.html").resolve()
                shutil.copyfile(result.html, kept)
    except (MefastError, ValueError, OSError) as exc:  # OSError: no space in the temp folder, an unwritable cwd
        return fail("demo", exc)
    print("\n".join(result.lines[:-1]))
    if kept is not None:
        print(f"report: {kept} (self-contained HTML, open it in a browser)")
    print("(temporary folder removed; use --out DIR to keep the store)", file=sys.stderr)
    return 0 if result.report.complete else 1
