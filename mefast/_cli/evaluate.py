"""``mefast evaluate``: score a method on a store under a standard protocol, leak-free."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..protocols import LABEL_KINDS, PROTOCOLS

_MODELS = ("sssnet", "offapexnet", "ststnet", "resnet18", "svm", "constant")
_NOISY = ("ltm", "ilc", "idc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "evaluate",
        help="evaluate a model on a store under LOSO / LODO / CD6ME / MEGC protocols",
        description="Train and test under a protocol; metrics over all folds concatenated, mean ± std over seeds.",
    )
    p.add_argument("--store", required=True, help="path or URL of a preprocessed store")
    p.add_argument("--protocol", required=True, choices=PROTOCOLS)
    p.add_argument("--model", required=True, choices=_MODELS)
    p.add_argument("--label", choices=LABEL_KINDS, help="kind of target (default: the protocol's)")
    p.add_argument("--seeds", type=int, default=1, help="number of seeded runs (seeds 0..N-1; default 1)")
    p.add_argument("--epochs", type=int, default=200, help="training epochs of the networks (default 200)")
    p.add_argument("--noisy", choices=_NOISY, help="noisy-label method for the networks")
    p.add_argument("--feature", default="flow", help="SVM input: flow, lbptop, biwoof or mdmo (default flow)")
    p.add_argument("--classes", help="comma-separated class names (or AUs) to keep, e.g. 'happiness,disgust'")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--early-stopping", action="store_true", help="stop on a validation split of the training fold")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--out", type=Path, help="directory for CSV and markdown tables")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print its tables."""
    if args.seeds < 1:
        print("mefast evaluate: --seeds must be at least 1", file=sys.stderr)
        return 2
    try:
        from ..train import NOISY_METHODS, TrainConfig, evaluate
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        print("mefast evaluate needs torch: pip install 'mefast[train]'", file=sys.stderr)
        return 2
    from ..errors import MefastError

    try:
        config = TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            early_stopping=args.early_stopping,
            noisy=NOISY_METHODS[args.noisy]() if args.noisy else None,
            device=args.device,
            num_workers=args.workers,
            threads=args.threads,
        )
        classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
        ev = evaluate(
            args.store,
            args.protocol,
            args.model,
            label=args.label,
            seeds=range(args.seeds),
            config=config,
            feature=args.feature,
            classes=classes,
        )
    except (MefastError, ValueError) as exc:
        print(f"mefast evaluate: {exc}", file=sys.stderr)
        return 2
    print(
        f"{ev.method} under {ev.protocol} ({ev.label} labels, {args.seeds} seed(s)); "
        f"metrics over all folds concatenated"
    )
    for note in ev.notes:
        print(f"note: {note}")
    print()
    print(ev.summary().to_markdown(floatfmt=".4f"))
    print()
    print(ev.to_markdown("dataset"))
    if ev.label == "au":
        print()
        print(ev.to_markdown("au"))
    if args.out is not None:
        paths = ev.to_csv(args.out)
        md = args.out / "tables.md"
        parts = [ev.to_markdown("dataset")] + ([ev.to_markdown("au")] if ev.label == "au" else [])
        md.write_text("\n\n".join(parts) + "\n")
        print(f"\nwrote {', '.join(str(p) for p in [*paths, md])}")
    return 0


def demo_evaluation(store_path: str, *, n_jobs: int | None = None) -> str:
    """The LOSO evaluation that ends ``mefast demo``: constant, SVM and STSTNet on the demo's store.

    Emotion labels, one seed, STSTNet trained 30 epochs (Adam, lr 1e-3) on one CPU thread (the tiny network
    gains nothing from more); seconds on the demo's store. Returns the text to print. ``n_jobs`` is part of
    the demo's hook signature and unused.
    """
    from ..protocols import tables_to_markdown
    from ..train import TrainConfig, evaluate

    config = TrainConfig(epochs=30, lr=1e-3, batch_size=16, device="cpu", threads=1)
    evals = [evaluate(store_path, "loso", m, config=config) for m in ("constant", "svm", "ststnet")]
    head = evals[0]
    rows = [
        f"| {e.method} | {e.summary().loc['uf1', 'mean']:.3f} | {e.summary().loc['uar', 'mean']:.3f} |" for e in evals
    ]
    return "\n".join(
        [
            f"LOSO evaluation ({len(head.predictions)} clips, {head.predictions['fold'].nunique()} subjects, "
            f"classes {', '.join(head.classes)}); metrics over all folds concatenated:",
            "| Method | UF1 | UAR |",
            "|:--|--:|--:|",
            *rows,
            "",
            "UF1 (%) per test corpus:",
            tables_to_markdown([e.table("dataset") for e in evals]),
        ]
    )
