"""Draw the README's spotting figure: the MDMD and feature-difference scores over a synthetic long recording.

Usage: ``python tools/spotting_figure.py [out.png]`` (default ``docs/img/spotting_score.png``); needs matplotlib
(the ``viz`` extra). The recording (seed 1, 450 frames at 30 fps, 128x128) holds three planted micro-expressions,
one macro-expression, three blinks and a head drift; the figure marks them with the threshold and the intervals
``mefast.spot`` returns.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mefast.spotting import DEFAULT_P, FeatureOptions, long_video_features, match_intervals, spot_features  # noqa: E402
from mefast.spotting._intervals import score, threshold  # noqa: E402
from mefast.spotting._synthetic import iter_frames, make_long_recording  # noqa: E402


def main(out: Path) -> None:
    """Render the recording, compute its features and scores, and save the figure to ``out``."""
    rec = make_long_recording(1, n_frames=450)
    k = 4
    feats = long_video_features(
        iter_frames(rec), FeatureOptions(lags=(k,), features=("lbp", "mdmd")), landmarks=rec.landmarks
    )
    fig, axes = plt.subplots(2, 1, figsize=(10, 4.6), sharex=True, constrained_layout=True)
    t = np.arange(rec.n_frames)
    for ax, method, label in zip(axes, ("mdmd", "fd"), ("MDMD (flow)", "feature difference (LBP)"), strict=True):
        c = score(feats, method, k)
        rows = spot_features(feats, method=method, k=k)
        r = match_intervals(rows, rec.intervals("micro"))
        for e in rec.expressions:
            ax.axvspan(e.onset, e.offset, color="tab:green" if e.kind == "micro" else "tab:blue", alpha=0.25, lw=0)
        for b0, b1 in rec.blinks:
            ax.axvspan(b0, b1, color="0.6", alpha=0.35, lw=0)
        ax.plot(t, c, color="k", lw=1)
        ax.axhline(threshold(c, DEFAULT_P[method]), color="tab:red", ls="--", lw=1)
        top = float(np.nanmax(c))
        for on, off, _ in rows:
            ax.plot([on, off], [1.06 * top, 1.06 * top], color="tab:red", lw=3, solid_capstyle="butt")
        ax.set_ylabel("score")
        ax.set_title(f"{label}: micro-expression F1 {r.f1:.2f} (TP {r.tp}, FP {r.fp}, FN {r.fn})", fontsize=10)
    axes[-1].set_xlabel("frame (30 fps)")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color="tab:green", alpha=0.35),
        plt.Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.35),
        plt.Rectangle((0, 0), 1, 1, color="0.6", alpha=0.5),
        plt.Line2D([], [], color="tab:red", ls="--"),
        plt.Line2D([], [], color="tab:red", lw=3),
    ]
    axes[0].legend(
        handles,
        ["micro-expression", "macro-expression", "blink", "threshold", "spotted"],
        ncol=5,
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(0, 1.38),
        frameon=False,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs/img/spotting_score.png"
    )
