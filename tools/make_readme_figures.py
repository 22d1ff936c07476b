#!/usr/bin/env python
"""Make the README's pictures from the demo data: a gallery and the class means (docs/img/*.png).

Runs the demo's preprocessing (``mefast.datasets.synthetic`` corpora -> store, no evaluation) in a temporary
folder, or reuses a store given with ``--store``, and writes

- ``docs/img/demo_gallery.png``: the first 14 samples (onset face, flow, strain), ``mefast show --what gallery``;
- ``docs/img/demo_class_means.png``: mean flow and strain per emotion, ``mefast show --what class-means``.

Usage::

    python tools/make_readme_figures.py                    # demo store in a temp dir (about a minute on 2 cores)
    python tools/make_readme_figures.py --store demo.zarr  # an existing demo store (mefast demo --out DIR)
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _write_small(img: Image.Image, path: Path) -> Path:
    """Save as an optimised PNG with an adaptive 256-colour palette (the pictures are for a README)."""
    small = img.convert("RGB").quantize(
        colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG
    )
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def make(store: str | Path, out: Path) -> list[Path]:
    """Draw the two pictures of ``store`` into ``out``; return their paths."""
    from mefast.viz import class_means, class_means_figure, gallery

    g = gallery(store, n=14, tile=80, columns=5)
    m = class_means_figure(class_means(store, "emotion"), tile=72)
    return [_write_small(g, out / "demo_gallery.png"), _write_small(m, out / "demo_class_means.png")]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", help="an existing demo store (default: run the demo's preprocessing)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder for the PNGs (default docs/img)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes for the preprocessing")
    args = p.parse_args(argv)
    if args.store is not None:
        paths = make(args.store, args.out)
    else:
        from mefast._cli.demo import run_demo

        with tempfile.TemporaryDirectory(prefix="mefast-figures-") as tmp:
            result = run_demo(tmp, n_jobs=args.jobs, progress=False, evaluate=False, html_report=False)
            if not result.report.complete:
                print("the demo's preprocessing failed:\n" + "\n".join(result.lines), file=sys.stderr)
                return 1
            paths = make(result.store, args.out)
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
