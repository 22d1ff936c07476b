"""``mefast explain``: AU-CAM and Grad-CAM of one sample by the dual-branch fold model that held it out."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_store_option, fail, missing_module

DESCRIPTION = (
    "Explain one store sample with the saved dual-branch model of the fold that held it out: "
    "writes a PNG (input | AU-CAM | Grad-CAM, eyes above mouth) and the maps and fused features as .npz."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    add_store_option(p, "path or URL of the preprocessed store")
    p.add_argument(
        "--model-dir",
        required=True,
        type=Path,
        help="the --save-models directory of mefast evaluate (the fold model that held the sample out is found in it), "
        "or one saved fold model (model.json + model.pt) that held the sample out",
    )
    p.add_argument("--sample", required=True, help="sample id (e.g. casme2/01/EP02_01f) or store row number")
    p.add_argument("--out", required=True, type=Path, help="PNG to write (the arrays go to the same name .npz)")


def run(args: argparse.Namespace) -> int:
    """Explain the sample and write the picture and arrays."""
    try:
        from ..train.dualbranch.explain import explain_dualbranch, save_explanation
    except ModuleNotFoundError as exc:
        return missing_module("explain", exc, modules=("torch", "PIL"), extra="train,viz")
    from ..errors import MefastError

    sample: str | int = int(args.sample) if args.sample.isdigit() else args.sample
    try:
        e = explain_dualbranch(args.store, args.model_dir, sample)
        png, npz = save_explanation(e, args.out)
    except (MefastError, ValueError, OSError) as exc:
        return fail("explain", exc)
    print(f"{e.sample_id}: predicted {e.predicted} by the model of fold {e.fold}; wrote {png} and {npz}")
    return 0
