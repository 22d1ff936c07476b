"""``mefast evaluate``: score a method on a store under a standard protocol, leak-free."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..protocols import LABEL_KINDS, PROTOCOLS
from ._common import add_store_option, add_torch_options, comma_list, fail, missing_module, out_dir_problem, passed_on

_BASELINES = ("svm", "constant")
# Names of the noisy-label methods (mefast.train.noisy.NOISY_METHODS), listed here so that building the parser
# does not import torch: the authors' settings, then mefast's variants.
_NOISY_AUTHORS = ("ltm", "ilc", "idc")
_NOISY_VARIANTS = ("ltm-mefast", "ilc-mefast", "idc-lowloss")
_NOISY = (*_NOISY_AUTHORS, *_NOISY_VARIANTS)
# The options of the networks' training, as (flag, dest): the baselines train none, so these are refused with
# them rather than ignored. Each defaults to None (False for the switch), so that only a given one counts.
_NETWORK_ONLY = (
    ("--weights", "weights"),
    ("--epochs", "epochs"),
    ("--batch-size", "batch_size"),
    ("--lr", "lr"),
    ("--noisy", "noisy"),
    ("--clean-ids", "clean_ids"),
    ("--early-stopping", "early_stopping"),
    ("--variant", "variant"),
    ("--input-size", "input_size"),
    ("--save-models", "save_models"),
    ("--device", "device"),
    ("--threads", "threads"),
    ("--workers", "workers"),
)


DESCRIPTION = "Train and test under a protocol; metrics over all folds concatenated, mean ± std over seeds."


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    add_store_option(p)
    p.add_argument("--protocol", required=True, choices=PROTOCOLS)
    p.add_argument(
        "--model",
        required=True,
        help="a registered network (built-ins: sssnet, sssnet24, offapexnet, offapexnet-meb, ststnet, resnet10/18/"
        "34/50, r2plus1d18, r3d18; plus any a package adds through the mefast.models entry points), svm or constant",
    )
    p.add_argument("--weights", help="state dict to start the network from (your own file; nothing is downloaded)")
    p.add_argument("--label", choices=LABEL_KINDS, help="kind of target (default: the protocol's)")
    p.add_argument("--seeds", type=int, default=1, help="number of seeded runs (seeds 0..N-1; default 1)")
    p.add_argument(
        "--epochs", type=int, default=None, help="training epochs of the networks (default 200; dual-branch: 100)"
    )
    p.add_argument(
        "--noisy",
        choices=_NOISY,
        help=f"noisy-label method: {', '.join(_NOISY_AUTHORS)} (the authors' settings) or the variants "
        f"{', '.join(_NOISY_VARIANTS)}",
    )
    p.add_argument("--clean-ids", help="for --noisy idc: text file of the clean sample ids (one a line)")
    p.add_argument(
        "--feature",
        help="SVM input (--model svm only): flow, lbptop, biwoof, mdmo, hoof, lbpsip, lbpmop, hog3d or higo "
        "(default flow)",
    )
    p.add_argument("--classes", help="comma-separated class names (or AUs) to keep, e.g. 'happiness,disgust'")
    p.add_argument("--train-datasets", help="comma-separated corpora to train on (default: the protocol's)")
    p.add_argument(
        "--test-datasets",
        help="comma-separated corpora to test on (default: the protocol's); never trained on unless also given "
        "in --train-datasets",
    )
    p.add_argument(
        "--class-filter",
        action="append",
        default=[],
        metavar="CORPUS=C1,C2",
        help="keep only these classes of a corpus (repeatable), e.g. samm=happiness,surprise",
    )
    p.add_argument("--batch-size", type=int, default=None, help="default 32 (dual-branch: 128)")
    p.add_argument("--lr", type=float, default=None, help="default 1e-4 (dual-branch: AdamW 3e-3)")
    p.add_argument(
        "--variant",
        help="dual-branch ablation of the paper's Table 4: plain, au, awm, norr (with --model dualbranch) or au "
        "(with --model singlebranch); same as --model dualbranch-awm etc.",
    )
    p.add_argument("--input-size", type=int, help="input side of resizable networks (dual-branch default 224)")
    p.add_argument("--save-models", type=Path, help="dual-branch: save each fold's model here (for mefast explain)")
    p.add_argument("--early-stopping", action="store_true", help="stop on a validation split of the training fold")
    add_torch_options(p, device=None, default_threads="torch's", device_help="where networks train (default auto)")
    p.add_argument("--workers", type=int, help="DataLoader worker processes (default 0; not dual-branch)")
    p.add_argument("--out", type=Path, help="directory for CSV and markdown tables")


def _given(value: object) -> bool:
    """Whether an option holds a given value: not None, nor False for a switch (``--epochs 0`` is given)."""
    return value is not None and value is not False


def _not_applying(args: argparse.Namespace) -> str | None:
    """Why options given with ``--model`` do not apply to it (None when they all do).

    The baselines train no network, so the training options are refused with them; ``--feature`` is the SVM's
    input only (a network reads its registered inputs). The checks that need the model registry come later.
    """
    if args.model in _BASELINES:
        given = [flag for flag, dest in _NETWORK_ONLY if _given(getattr(args, dest))]
        if given:
            flags = given[0] if len(given) == 1 else f"{', '.join(given[:-1])} and {given[-1]}"
            verb = "does" if len(given) == 1 else "do"
            return f"{flags} {verb} not apply to --model {args.model}, which trains no network"
    if args.feature is not None and args.model != "svm":
        return f"--feature does not apply to --model {args.model}: it picks the input of --model svm only"
    return None


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print its tables."""
    why = _not_applying(args)
    if why:
        return fail("evaluate", why)
    if args.seeds < 1:
        return fail("evaluate", "--seeds must be at least 1")
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):  # TrainConfig takes any float
        return fail("evaluate", f"--lr must be a positive number, got {args.lr}")
    why = None if args.out is None else out_dir_problem("--out", args.out)  # before the run, not after it
    if why:
        return fail("evaluate", why)
    try:
        from ..train import IDC, NOISY_METHODS, TrainConfig, evaluate
        from ..train.dualbranch import is_dualbranch
        from ..train.noisy import NoisyMethod
        from ..train.registry import get_model
    except ModuleNotFoundError as exc:
        return missing_module("evaluate", exc)
    from ..errors import MefastError

    try:
        if args.clean_ids and args.noisy != "idc":
            raise ValueError("--clean-ids goes with --noisy idc")
        device = "auto" if args.device is None else args.device
        noisy: NoisyMethod | None
        if args.noisy == "idc":
            if not args.clean_ids:
                raise ValueError("--noisy idc (the paper's) needs --clean-ids FILE; or use --noisy idc-lowloss")
            noisy = IDC.from_file(args.clean_ids)
        else:
            noisy = NOISY_METHODS[args.noisy]() if args.noisy else None
        if args.variant and not is_dualbranch(args.model):
            raise ValueError(
                f"--variant does not apply to --model {args.model}: it goes with dualbranch or singlebranch"
            )
        model = f"{args.model}-{args.variant}" if args.variant else args.model
        if is_dualbranch(model) and args.workers is not None:
            raise ValueError(
                f"--workers does not apply to --model {model}: its loop reads the store in the main process"
            )
        if args.input_size is not None and not is_dualbranch(model) and not get_model(model).input.resizable:
            raise ValueError(f"--input-size does not apply to --model {model}, whose input size is fixed")
        if args.weights is not None:
            from ..train.models import read_state_dict

            read_state_dict(args.weights)  # once, before any fold trains: a wrong file fails now, not per fold
        if args.save_models is not None and not is_dualbranch(model):
            raise ValueError("--save-models is for the dual-branch models")
        config = TrainConfig(
            epochs=200 if args.epochs is None else args.epochs,  # 0 is refused, not taken for "not given"
            batch_size=32 if args.batch_size is None else args.batch_size,
            lr=1e-4 if args.lr is None else args.lr,
            noisy=noisy,
            num_workers=0 if args.workers is None else args.workers,
            device=device,
            **passed_on(args, "input_size", "early_stopping", "threads", "weights"),
        )
        if is_dualbranch(model):
            from ..train.dualbranch import DualBranchConfig

            DualBranchConfig.from_train_config(config)  # refuses --noisy and --early-stopping, which it lacks
            given = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "input_size": args.input_size}
            config = DualBranchConfig(  # type: ignore[assignment]
                **{k: v for k, v in given.items() if v is not None},
                device=device,
                **passed_on(args, "threads", "weights"),
            )
        classes = comma_list(args.classes)
        class_filters: dict[str, list[str]] = {}
        for item in args.class_filter:
            corpus, sep, names = item.partition("=")
            class_names = comma_list(names)
            if not sep or not corpus.strip() or not class_names:
                raise ValueError(f"--class-filter wants CORPUS=CLASS1,CLASS2, got {item!r}")
            class_filters[corpus.strip()] = class_names
        ev = evaluate(
            args.store,
            args.protocol,
            model,
            label=args.label,
            seeds=range(args.seeds),
            config=config,
            feature="flow" if args.feature is None else args.feature,
            classes=classes,
            train_datasets=comma_list(args.train_datasets),
            test_datasets=comma_list(args.test_datasets),
            class_filters=class_filters or None,
            **({"save_models": args.save_models} if args.save_models is not None else {}),
        )
    except (MefastError, ValueError, OSError) as exc:
        return fail("evaluate", exc)
    print(
        f"{ev.method} under {ev.protocol} ({ev.label} labels, {args.seeds} seed(s)); "
        f"metrics over all folds concatenated"
    )
    for note in ev.notes:
        print(f"note: {note}")
    print()
    print(ev.summary().to_markdown(floatfmt=".4f"))
    print()
    print("F1 computed other ways (diagnostics; the headline is 'pooled', over all folds concatenated):")
    print(ev.f1_variants().to_markdown(floatfmt=".4f"))
    print()
    print(ev.to_markdown("dataset"))
    if ev.label == "au":
        print()
        print(ev.to_markdown("au"))
    if args.out is not None:
        md = args.out / "tables.md"
        parts = [ev.to_markdown("dataset")] + ([ev.to_markdown("au")] if ev.label == "au" else [])
        try:
            paths = ev.to_csv(args.out)
            md.write_text("\n\n".join(parts) + "\n")
        except OSError as exc:
            return fail("evaluate", f"cannot write the tables to --out {args.out}: {exc}")
        print(f"\nwrote {', '.join(str(p) for p in [*paths, md])}")
    return 0


def demo_evaluation(store_path: str, *, n_jobs: int | None = None, results_dir: str | None = None) -> str:
    """The LOSO evaluation that ends ``mefast demo``: constant, SVM and STSTNet on the demo's store.

    Emotion labels, one seed, STSTNet trained 30 epochs (Adam, lr 1e-3) on one CPU thread (the tiny network
    gains nothing from more); seconds on the demo's store. Returns the text to print. ``n_jobs`` is part of
    the demo's hook signature and unused. ``results_dir``: also write each method's tables there
    (``constant/``, ``svm/``, ``ststnet/``, as ``evaluate --out``), for the demo's HTML report.
    """
    from ..protocols import tables_to_markdown
    from ..train import TrainConfig, evaluate

    config = TrainConfig(epochs=30, lr=1e-3, batch_size=16, device="cpu", threads=1)
    evals = [evaluate(store_path, "loso", m, config=config) for m in ("constant", "svm", "ststnet")]
    if results_dir is not None:
        for e in evals:
            e.to_csv(Path(results_dir) / e.method.split(" ")[0].lower())
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
