"""Draw docs/img/dualbranch_cam.png: AU-CAM and Grad-CAM of a held-out sample (README, dual-branch section).

A synthetic flow store (mefast.train.synthetic: AU motions as Gaussian flow patches), LOSO training of the
dual-branch method at a small width and input (minutes on a CPU), fold models saved, then ``mefast explain`` of
the first sample of the first fold. The displayed image is the flow magnitude (the store has no amplified frame).

Run: ``python tools/make_dualbranch_cam.py [OUT.png]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from mefast.cli import main
from mefast.train import evaluate
from mefast.train.dualbranch import DualBranchConfig
from mefast.train.synthetic import write_flow_store


def run(out: Path) -> None:
    """Train, explain and write the picture to ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "flow.zarr"
        write_flow_store(store, datasets=("casme2",), n_subjects=3, clips_per_subject=8, size=64, seed=1)
        cfg = DualBranchConfig(epochs=20, batch_size=8, input_size=64, width=16, device="cpu", threads=1)
        ev = evaluate(store, "loso", "dualbranch", config=cfg, save_models=Path(tmp) / "models")
        print(ev.summary())
        sid = "casme2/s00/c00"
        code = main(
            ["explain", "--store", str(store), "--model-dir", f"{tmp}/models", "--sample", sid, "--out", str(out)]
        )
        if code:
            raise SystemExit(code)
        out.with_suffix(".npz").unlink()


if __name__ == "__main__":
    run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "docs" / "img" / "dualbranch_cam.png")
