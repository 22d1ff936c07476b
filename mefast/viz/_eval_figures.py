"""Figures of evaluation results: confusion matrix, per-AU F1, per-corpus scores, t-SNE of embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..protocols import DATASET_TITLES
from ._mpl import new_figure
from ._results import EvalResults, au_f1, confusion, constant_au_f1, corpus_scores, load_results

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["au_f1_figure", "confusion_figure", "corpus_figure", "tsne_embedding", "tsne_figure"]


def _results(res: EvalResults | str | Path) -> EvalResults:
    return res if isinstance(res, EvalResults) else load_results(res)


def _matrix(ax: Any, values: NDArray[Any], labels: Sequence[str], text: Sequence[Sequence[str]], title: str) -> None:
    k = len(labels)
    top = float(values.max()) if values.size and values.max() > 0 else 1.0
    ax.imshow(values, cmap="Blues", vmin=0, vmax=top, interpolation="nearest")
    for i in range(k):
        for j in range(k):
            dark = values[i, j] > 0.55 * top
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7, color="white" if dark else "black")
    ax.set_xticks(range(k), labels, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(k), labels, fontsize=7)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    ax.set_title(title, fontsize=9)


def confusion_figure(
    res: EvalResults | str | Path, *, seed: int | None = None, width: int = 1000, height: int = 480, dpi: int = 100
) -> Figure:
    """Confusion matrix of an evaluation: counts (left) and normalised by true class (right).

    Each cell is labelled with its number; the colour follows the same number. ``seed=None`` pools all
    seeds. The counts drawn are those of :func:`mefast.viz.confusion`.
    """
    r = _results(res)
    labels, counts = confusion(r, seed=seed)
    totals = counts.sum(axis=1, keepdims=True)
    norm = np.divide(counts, totals, out=np.zeros(counts.shape, np.float64), where=totals > 0)
    fig = new_figure(width, height, dpi=dpi)
    if seed is not None or len(r.seeds) == 1:
        pooled = f"seed {seed if seed is not None else r.seeds[0]}"
    else:
        pooled = f"{len(r.seeds)} seeds pooled"
    fig.suptitle(f"{r.method}: confusion over all test folds ({pooled}, n={int(counts.sum())})", fontsize=10)
    ax1, ax2 = fig.subplots(1, 2)
    _matrix(ax1, counts, labels, [[str(int(c)) for c in row] for row in counts], "counts")
    _matrix(ax2, norm, labels, [[f"{x:.2f}" for x in row] for row in norm], "fraction of each true class")
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.22, top=0.88, wspace=0.35)
    return fig


def au_f1_figure(res: EvalResults | str | Path, *, width: int = 900, height: int = 420, dpi: int = 100) -> Figure:
    """Per-AU F1 bars (mean over seeds, seed spread as error bars and dots), the constant baseline marked.

    The baseline (black tick on each bar) is the always-positive predictor's F1 on the same test samples,
    ``2 p / (1 + p)`` with p the AU's prevalence: an AU detector below it has learnt nothing about that AU.
    """
    r = _results(res)
    f1 = au_f1(r)
    base = constant_au_f1(r)
    x = np.arange(len(f1))
    mean, std = f1.mean(axis=1).to_numpy(), f1.std(axis=1, ddof=0).to_numpy()
    fig = new_figure(width, height, dpi=dpi)
    ax = fig.add_subplot()
    ax.bar(x, mean, yerr=std if f1.shape[1] > 1 else None, color="#4c72b0", capsize=3, label="F1 (mean over seeds)")
    if f1.shape[1] > 1:
        for j in range(f1.shape[1]):
            ax.plot(
                x, f1.iloc[:, j].to_numpy(), "o", ms=3, color="#222222", alpha=0.6, label="seeds" if j == 0 else None
            )
    ax.hlines(base.to_numpy(), x - 0.4, x + 0.4, colors="#c44e52", linewidth=2.5, label="constant (always positive)")
    overall = r.runs[(r.runs["scope"] == "overall") & (r.runs["metric"] == "f1")]["value"].mean()
    ax.axhline(overall, color="#4c72b0", linestyle="--", linewidth=1, label=f"mean AU F1 {overall:.3f}")
    ax.set_xticks(x, list(f1.index), rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.3)
    ax.set_ylabel("F1 over all test folds")
    ax.set_title(f"{r.method}: F1 per AU ({len(r.seeds)} seed(s))", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", ncols=2)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.18, top=0.9)
    return fig


def corpus_figure(
    results: EvalResults | str | Path | Sequence[EvalResults | str | Path],
    *,
    metric: str | None = None,
    width: int = 900,
    height: int = 420,
    dpi: int = 100,
) -> Figure:
    """Headline metric per test corpus and their average, bars per method, seed spread as error bars and dots."""
    items = [results] if isinstance(results, EvalResults | str | Path) else list(results)
    if not items:
        raise ValueError("no results to draw")
    res = [_results(r) for r in items]
    tables = [corpus_scores(r, metric) for r in res]
    keys: list[str] = []
    for t in tables:
        keys += [k for k in t.index if k not in keys]
    groups = [*keys, "Average"]
    fig = new_figure(width, height, dpi=dpi)
    ax = fig.add_subplot()
    w = 0.8 / len(res)
    for m, (r, t) in enumerate(zip(res, tables, strict=True)):
        per_seed = np.vstack([t.reindex(keys).to_numpy(np.float64), t.reindex(keys).mean(axis=0).to_numpy()[None]])
        x = np.arange(len(groups)) - 0.4 + w * (m + 0.5)
        mean = np.nanmean(per_seed, axis=1)
        spread = np.nanstd(per_seed, axis=1) if per_seed.shape[1] > 1 else None
        ax.bar(x, mean, width=w * 0.95, yerr=spread, capsize=3, label=r.method)
        if per_seed.shape[1] > 1:
            for j in range(per_seed.shape[1]):
                ax.plot(x, per_seed[:, j], "o", ms=3, color="#222222", alpha=0.6)
    ax.set_xticks(np.arange(len(groups)), [DATASET_TITLES.get(k, k) for k in groups], fontsize=8)
    name = metric or res[0].headline
    ax.set_ylabel(f"{name.upper()} per test corpus" if name in ("uf1", "uar", "f1") else name)
    ax.set_ylim(0, 1.05)
    seeds = sorted({len(r.seeds) for r in res})
    ax.set_title(f"{name.upper()} per corpus (mean ± std over {'/'.join(map(str, seeds))} seed(s))", fontsize=10)
    ax.legend(fontsize=7)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.1, top=0.9)
    return fig


def tsne_embedding(features: ArrayLike, *, perplexity: float | None = None, seed: int = 0) -> NDArray[np.float64]:
    """2-D t-SNE (scikit-learn, PCA initialisation) of ``(n, D)`` features, standardised per column first."""
    from sklearn.manifold import TSNE

    x = np.asarray(features, dtype=np.float64).reshape(len(np.asarray(features)), -1)
    if len(x) < 4:
        raise ValueError(f"t-SNE needs at least 4 samples, got {len(x)}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or inf (samples not preprocessed?)")
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    perp = perplexity if perplexity is not None else float(min(30.0, (len(x) - 1) / 3))
    # Exact gradients up to a few thousand samples (every ME corpus): faster there than Barnes-Hut's tree,
    # whose threads also stall on small shared machines.
    method = "exact" if len(x) <= 2000 else "barnes_hut"
    tsne = TSNE(2, perplexity=perp, init="pca", random_state=seed, method=method)
    return np.asarray(tsne.fit_transform(x), dtype=np.float64)


def tsne_figure(
    points: ArrayLike,
    labels: Sequence[str],
    *,
    title: str = "t-SNE",
    groups: Sequence[str] | None = None,
    width: int = 700,
    height: int = 560,
    dpi: int = 100,
) -> Figure:
    """Scatter of 2-D points (from :func:`tsne_embedding`) coloured by label, marker shape by group (corpus)."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) != len(labels):
        raise ValueError(f"points must be (n, 2) with one label each; got {p.shape} and {len(labels)} labels")
    fig = new_figure(width, height, dpi=dpi)
    ax = fig.add_subplot()
    names = sorted(set(map(str, labels)))
    markers = "osD^vP*X"
    gnames = sorted(set(map(str, groups))) if groups is not None else [""]
    lab = np.asarray(list(map(str, labels)))
    grp = np.asarray(list(map(str, groups))) if groups is not None else np.full(len(p), "")
    colours = [f"C{i % 10}" for i in range(len(names))]
    shown: set[str] = set()
    for ci, name in enumerate(names):
        for gi, g in enumerate(gnames):
            sel = (lab == name) & (grp == g)
            if sel.any():
                first = name not in shown
                shown.add(name)
                marker = markers[gi % len(markers)]
                ax.scatter(p[sel, 0], p[sel, 1], s=22, c=colours[ci], marker=marker, label=name if first else None)
    ax.legend(fontsize=7, loc="best", title="label", title_fontsize=7)
    if groups is not None:
        ax.text(0.01, 0.01, "markers: " + ", ".join(f"{markers[i % len(markers)]} {g}" for i, g in enumerate(gnames)),
                transform=ax.transAxes, fontsize=7)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return fig
