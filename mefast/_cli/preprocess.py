"""``mefast preprocess``: a corpus as distributed -> one Zarr store with every feature of every clip."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, Literal

from ._common import fail


class _UsageError(ValueError):
    """--root / --annotations values that do not fit the corpus (reported as they are, exit status 2)."""


CORPORA = ("casme", "casme2", "samm", "smic", "mmew", "4dme", "casme3a", "casme3c")


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace(",", "x").split("x")
    try:
        if len(parts) not in (1, 2):
            raise ValueError(text)
        h, w = (int(p) for p in parts) if len(parts) == 2 else (int(parts[0]),) * 2
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW or one number, got {text!r}") from None
    return h, w


#: What Ctrl-C leaves behind (mefast.cli prints it after "interrupted"; exit status 130).
INTERRUPTED = "the clips done so far are kept in the store: run the same command again to resume"

DESCRIPTION = (
    "Compute features for every clip of a corpus into one Zarr store. Re-running the same command "
    "skips finished clips and completes the rest; failing clips are reported and retried next time. Errors "
    "of the annotation sheet (what mefast.datasets.validate lists) are reported too, and make the exit status 1."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    p.add_argument("corpus", help=f"one of {', '.join(CORPORA)}, or a composite (megc2019, cd6me, ...)")
    p.add_argument(
        "--root",
        action="append",
        required=True,
        metavar="[NAME=]DIR",
        help="the corpus folder as distributed; for a composite, one NAME=DIR per member",
    )
    p.add_argument(
        "--annotations",
        action="append",
        metavar="[NAME=]FILE",
        help="the annotation spreadsheet (default: found in the root); for a composite, NAME=FILE per member",
    )
    p.add_argument("--out", required=True, help="the store: a directory (store.zarr) or an fsspec URL")
    p.add_argument(
        "--frame-range",
        choices=("strict", "clip"),
        default="strict",
        help="clips whose folder frames do not cover onset..offset: strict (default) reports them as failures; "
        "clip uses the overlap when the apex lies inside it, recording the change",
    )
    p.add_argument(
        "--features",
        default=None,
        help="comma-separated subset of flow,strain,lbptop,biwoof,mdmo,frames (the default set), of the extra "
        "descriptors hoof,lbpsip,lbpmop,hog3d,higo and of the "
        "magnification features flow_pair,flow_apex_offset,flow_onset_frames,amplified,on_a,off_a,frames_magnified",
    )
    p.add_argument(
        "--frame-selection",
        choices=("tim", "dmdsp", "uniform", "onset_apex", "apex"),
        default=None,
        help="clip of the frames feature and of the video descriptors (lbptop, lbpsip, lbpmop, hog3d, higo): "
        "tim (default), dmdsp sparse sampling, uniform, onset_apex or apex",
    )
    p.add_argument("--magnify-alpha", type=float, help="alpha of the magnification features (default 5: motion x 6)")
    p.add_argument(
        "--magnify-method",
        choices=("eulerian-2frame", "lagrangian", "learned"),
        help="their two-frame method (default eulerian-2frame; learned: the learning-based magnification network, "
        "the dual-branch paper's, with --magnify-weights)",
    )
    p.add_argument(
        "--magnify-weights",
        type=Path,
        metavar="FILE",
        help="weights of --magnify-method learned (.npz, .safetensors, a torch state dict or a TF checkpoint "
        "folder; nothing is downloaded)",
    )
    p.add_argument(
        "--on-off-target",
        choices=("apex", "amplified", "auto"),
        help="On-A/Off-A flow into (default apex; auto: the amplified frame for SAMM, the apex otherwise)",
    )
    p.add_argument("--size", type=_size, default=None, metavar="HxW", help="stored flow/strain/frames size (128x128)")
    p.add_argument(
        "--crop-size", type=_size, default=None, metavar="HxW", help="aligned face size for computing (256x256)"
    )
    p.add_argument(
        "--align",
        choices=("face", "none"),
        default="face",
        help="'none' when the frames already are aligned face crops",
    )
    p.add_argument(
        "--flow-preset",
        default="accurate",
        choices=("accurate", "opencv", "fast", "robust"),
        help="TV-L1 parameters of the onset->apex flow (default accurate)",
    )
    p.add_argument(
        "--device",
        default="cpu",
        choices=("cpu", "cuda", "auto"),
        help="where TV-L1, TIM and LBP-TOP run (default cpu; auto: the GPU when mefast's CUDA module sees one)",
    )
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="worker processes (default: all cores)")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on this Dask distributed scheduler (tcp://host:8786) instead of local processes",
    )
    p.add_argument(
        "--backend",
        choices=("joblib", "dask"),
        default=None,
        help="joblib (default) or dask (a LocalCluster of --jobs workers unless --scheduler is given)",
    )
    p.add_argument("--overwrite", action="store_true", help="recompute everything into a fresh store")
    p.add_argument(
        "--force-unlock", action="store_true", help="take over the lock a crashed run left on a remote store"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--no-pack", action="store_true", help="do not write the store's pack for reading (packed/, for training)"
    )


def _is_named(value: str) -> bool:
    """Whether a --root / --annotations value is NAME=PATH.

    It is when the text before its first ``=`` names a corpus: a path that merely holds an ``=``, such as
    ``/data/run=1/CASME2``, is a path.
    """
    from ..datasets import CORPORA

    name, sep, _ = value.partition("=")
    return bool(sep) and name.strip().lower() in CORPORA


def _named(values: list[str] | None, what: str) -> dict[str, str]:
    from ..datasets import CORPORA

    out: dict[str, str] = {}
    for v in values or []:
        name, sep, path = v.partition("=")
        if sep and name.strip() and not _is_named(v) and "/" not in name and "\\" not in name:
            raise _UsageError(f"unknown corpus {name.strip()!r} in --{what} {v!r}; expected one of {list(CORPORA)}")
        if not _is_named(v):
            raise _UsageError(f"a composite needs --{what} NAME=PATH for each member, got {v!r}")
        out[name.strip().lower()] = path
    return out


def _single_corpus(corpus: str) -> str | None:
    """The reader's name of ``corpus`` when it names one corpus (aliases too: ``casmeii``), else None."""
    from ..datasets import _reader_key  # the name datasets.load reads it by

    try:
        return _reader_key(corpus)
    except ValueError:  # not one corpus: a composite, or an unknown name (load says which)
        return None


def _own(corpus: str, values: list[str], what: str, placeholder: str) -> str:
    """The one --root / --annotations value of a single corpus: unnamed, or named that corpus (exit 2 else).

    A folder named for another corpus would be read as this one (its clips labelled with this corpus's name),
    and extra ones added to its store: a store of one corpus is built from that corpus's files only.
    """
    if len(values) != 1:
        raise _UsageError(
            f"{corpus} is one corpus: it takes one --{what} {placeholder}, got {len(values)} "
            "(several corpora make a composite, e.g. megc2019)"
        )
    value = values[0]
    if not _is_named(value):
        return value
    name, _, path = value.partition("=")
    if _single_corpus(name.strip()) != corpus:
        raise _UsageError(
            f"--{what} {value!r} names {name.strip().lower()}, but the corpus is {corpus}: give {corpus}'s "
            f"{placeholder} (unnamed or {corpus}={placeholder})"
        )
    return path


def load_corpus(corpus: str, roots: list[str], annotations: list[str] | None, *, frame_range: str = "strict") -> Any:
    """Load a corpus, or the members of a composite given as NAME=DIR roots (``frame_range``: see datasets.load).

    One corpus takes one root (and at most one annotation file), unnamed or named that corpus; a composite
    (:data:`mefast.datasets.COMPOSITES`, or any other name) takes NAME=DIR per member.
    """
    from .. import datasets

    corpus = corpus.lower()
    single = _single_corpus(corpus)
    if single is not None:
        root = _own(single, roots, "root", "DIR")
        if annotations and len(annotations) > 1:
            raise _UsageError("one corpus takes at most one --annotations FILE")
        ann = _own(single, annotations, "annotations", "FILE") if annotations else None
        return datasets.load(corpus, root, ann, frame_range=frame_range)
    if corpus not in datasets.COMPOSITES and len(roots) == 1 and not _is_named(roots[0]):
        return datasets.load(corpus, roots[0], annotations[0] if annotations else None, frame_range=frame_range)
    named_roots = _named(roots, "root")
    named_ann = _named(annotations, "annotations")
    stray = sorted(set(named_ann) - set(named_roots))
    if stray:
        raise _UsageError(f"--annotations for {', '.join(stray)}, which no --root NAME=DIR gives")
    members = [
        datasets.load(name, root, named_ann.get(name), frame_range=frame_range) for name, root in named_roots.items()
    ]
    return datasets.composite(members, corpus)


def run(args: argparse.Namespace) -> int:
    """Run the preprocessing and print its summary.

    Returns
    -------
    int
        0 when every clip is done and the annotations had no errors; 1 when some clip failed, or when the
        annotation sheet had errors (``validate`` lists them; the store is written all the same); 2 for bad input.
    """
    from ..errors import MefastError
    from ..pipeline import PreprocessOptions, preprocess

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if os.path.isfile(args.out):  # a local file: the store layer would call it a store to overwrite
        return fail("preprocess", f"--out {args.out} is a file, not a store")
    if (args.magnify_method == "learned") != (args.magnify_weights is not None):
        return fail(
            "preprocess",
            "--magnify-method learned needs --magnify-weights FILE"
            if args.magnify_weights is None
            else f"--magnify-weights is for --magnify-method learned, got --magnify-method {args.magnify_method}",
        )
    if args.magnify_weights is not None and not args.magnify_weights.exists():
        return fail("preprocess", f"--magnify-weights {args.magnify_weights}: no such file or folder")
    try:
        dataset = load_corpus(args.corpus, args.root, args.annotations, frame_range=args.frame_range)
    except _UsageError as exc:
        return fail("preprocess", exc)
    except (MefastError, OSError, ValueError, KeyError) as exc:
        return fail("preprocess", f"cannot load {args.corpus}: {exc}")
    opts: dict[str, Any] = {"align": args.align, "flow": args.flow_preset, "device": args.device}
    if args.crop_size:
        opts["crop_size"] = args.crop_size
    if args.frame_selection:
        opts["frame_selection"] = args.frame_selection
    magnify: dict[str, Any] = {
        "alpha": args.magnify_alpha,
        "method": args.magnify_method,
        "on_off_target": args.on_off_target,
        "method_options": None if args.magnify_weights is None else {"weights": str(args.magnify_weights)},
    }
    if any(v is not None for v in magnify.values()):
        opts["magnify"] = {k: v for k, v in magnify.items() if v is not None}
    kwargs: dict[str, Any] = {}
    if args.features:
        kwargs["features"] = args.features
    if args.size:
        kwargs["size"] = args.size
    backend: Literal["joblib", "dask"] = "dask" if args.backend == "dask" or args.scheduler else "joblib"
    print(f"{dataset.name}: {len(dataset)} samples -> {args.out}", file=sys.stderr)
    try:
        report = preprocess(
            dataset, args.out, backend=backend, n_jobs=args.jobs, client=args.scheduler,
            options=PreprocessOptions(**opts), overwrite=args.overwrite,
            progress=False if args.no_progress else None, force_unlock=args.force_unlock,
            pack=not args.no_pack, **kwargs,
        )  # fmt: skip
    except (MefastError, ValueError, OSError) as exc:  # OSError: an unwritable --out, an unreachable --scheduler
        return fail("preprocess", exc)
    print(report.summary())
    return 0 if report.complete and not report.annotation_errors else 1
