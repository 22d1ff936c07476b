"""``mefast spot``: long recordings -> per-recording feature store -> spotted intervals -> the MEGC F1 table.

    mefast spot --corpus casme3a --root CASME3/part_A/data/part_A --store c3.zarr --method mdmd --protocol loso
    mefast spot --store c3.zarr --method softnet --protocol loso --recognise

With ``--root`` the recordings are read (frames lazily, in order) and their features written to the store first
(resumable: a rerun computes only unfinished recordings); without it the store must exist.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import add_store_option, fail, out_dir_problem, passed_on


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    from ..spotting import SPOT_METHODS

    add_store_option(p, "recording store (created from --root when it does not exist)")
    p.add_argument("--method", default="mdmd", choices=SPOT_METHODS, help="spotting method (default mdmd)")
    p.add_argument("--protocol", default="loso", choices=("loso",), help="SOFTNet training protocol")
    p.add_argument("--corpus", choices=("casme3a", "samm_lv", "casme2lv"), help="long-video corpus of --root")
    p.add_argument("--root", help="folder of the corpus's recordings (computes the store's features first)")
    p.add_argument("--annotations", nargs="*", help="annotation sheet(s); found next to --root when omitted")
    p.add_argument("--kind", default="both", choices=("micro", "macro", "both"), help="expression types")
    p.add_argument("--p", type=float, default=None, help="threshold position in [0, 1] (default per method)")
    p.add_argument("--iou", type=float, default=0.5, help="IoU for a match (default 0.5)")
    p.add_argument("--rule", default="greedy", choices=("greedy", "strs_reference", "megc2020_log"))
    p.add_argument(
        "--types",
        default="window",
        choices=("window", "length"),
        help="type predictions by the window that found them or by length (ME <= 0.5 s)",
    )
    p.add_argument("--recognise", action="store_true", help="also spot-then-recognise (SVM, LOSO)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for the feature pass")
    p.add_argument(
        "--crop",
        choices=("face", "none"),
        default="none",
        help="crop each recording to the face box of its first frame (raw videos) or use whole frames",
    )
    p.add_argument("--overwrite", action="store_true", help="recompute the store from --root")
    p.add_argument("--out", help="write the predicted intervals to this CSV file")


def _not_a_store(store: str) -> str | None:
    """Why the local path ``store`` cannot take a recording store (None when it can: absent, empty or a store).

    Checked before the feature pass writes there: creating a store (``--overwrite`` too) would empty a folder.
    """
    from ..store import _foreign

    foreign = _foreign(store)
    if foreign == "a file":
        return f"--store {store} is a file, not a recording store"
    if foreign is not None:
        return f"--store {store} is {foreign} that is not a zarr store; refusing to write there"
    return None


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; 0 on success, 1 when recordings failed, 2 on bad arguments."""
    from ..errors import MefastError
    from ..spotting.evaluate import evaluate_spotting, preprocess_recordings

    if not 0 < args.iou <= 1 or (args.p is not None and not 0 <= args.p <= 1):
        return fail("spot", "--iou must be in (0, 1] and --p in [0, 1]")
    if args.out:  # checked before the feature pass and the training, not after them
        out = Path(args.out)
        why = f"--out {out} is a directory; name the CSV file to write" if out.is_dir() else None
        why = why or out_dir_problem("--out", out.parent)
        if why:
            return fail("spot", why)
    status = 0
    try:
        if args.root:
            if not args.corpus:
                return fail("spot", "--root needs --corpus")
            why = _not_a_store(args.store)
            if why:
                return fail("spot", why)
            from ..datasets.long_videos import load_long

            recordings = load_long(args.corpus, args.root, args.annotations or None)
            for row in recordings.issues.itertuples():
                print(f"warning: {row.sample_id}: {row.detail}", file=sys.stderr)
            from ..spotting.evaluate import recording_options

            opts = recording_options(recordings.fps, crop="face" if args.crop == "face" else None)
            report = preprocess_recordings(
                recordings, args.store, options=opts, n_jobs=args.jobs, overwrite=args.overwrite
            )
            print(
                f"features: {len(report['computed'])} recordings computed, {report['skipped']} already done, "
                f"{len(report['failures'])} failed",
                file=sys.stderr,
            )
            for rid, why in report["failures"].items():
                print(f"  {rid}: {why}", file=sys.stderr)
            status = 1 if report["failures"] else 0
            if status:
                return status
        kinds = ("micro", "macro") if args.kind == "both" else (args.kind,)
        result = evaluate_spotting(
            args.store,
            args.method,
            kinds=kinds,
            **passed_on(args, "protocol", "p", "iou", "rule", "recognise", "types"),
        )
    except (MefastError, ValueError, OSError, KeyError) as e:  # OSError: a --store path zarr cannot use
        return fail("spot", e)
    print(result.to_markdown())
    if args.out:
        out = Path(args.out)
        try:  # its folder is created, as evaluate --out and reproduce --out create theirs
            out.parent.mkdir(parents=True, exist_ok=True)
            result.predictions.to_csv(out, index=False)
        except OSError as e:
            return fail("spot", f"cannot write --out {out}: {e}")
        print(f"\nwrote {out}")
    return status
