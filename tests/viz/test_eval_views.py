"""Evaluation views from folders written by the real Evaluation.to_csv: the numbers behind each picture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, f1_score

from mefast.viz import (
    au_f1,
    au_f1_figure,
    confusion,
    confusion_figure,
    constant_au_f1,
    corpus_figure,
    corpus_scores,
    figure_png,
    load_results,
    tsne_embedding,
    tsne_figure,
)


def test_load_results_reads_what_to_csv_wrote(tmp_path, write_results):
    ev = write_results(tmp_path / "r", seeds=(0, 1, 2), method="Random (flow)")
    res = load_results(tmp_path / "r")
    assert res.method == "Random (flow)" and res.label == "emotion" and res.seeds == (0, 1, 2)
    assert set(res.classes) == set(ev.classes)
    assert len(res.predictions) == len(ev.predictions)
    with pytest.raises(FileNotFoundError, match="not an 'mefast evaluate --out' folder"):
        load_results(tmp_path)


def test_confusion_counts_and_the_drawn_cells(tmp_path, write_results, png_size):
    write_results(tmp_path / "r", seeds=(0, 1))
    res = load_results(tmp_path / "r")
    labels, counts = confusion(res)
    p = res.predictions
    ref = confusion_matrix(p["true"], p["pred"], labels=list(labels))  # scikit-learn, pooled over seeds
    np.testing.assert_array_equal(counts, ref)
    _, c0 = confusion(res, seed=0)
    np.testing.assert_array_equal(
        c0, confusion_matrix(p[p.seed == 0]["true"], p[p.seed == 0]["pred"], labels=list(labels))
    )
    fig = confusion_figure(res, width=900, height=450)
    ax_counts, ax_norm = fig.axes[:2]
    np.testing.assert_array_equal(ax_counts.images[0].get_array(), counts)  # the colours follow the counts
    k = len(labels)
    texts = np.array([t.get_text() for t in ax_counts.texts]).reshape(k, k)
    np.testing.assert_array_equal(texts.astype(int), counts)  # the numbers written in the cells
    norm = counts / counts.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ax_norm.images[0].get_array(), norm)
    shown = np.array([float(t.get_text()) for t in ax_norm.texts]).reshape(k, k)
    np.testing.assert_allclose(shown, norm, atol=0.005)
    assert [t.get_text() for t in ax_counts.get_yticklabels()] == list(labels)
    assert png_size(figure_png(fig)) == (900, 450)
    with pytest.raises(ValueError, match="seed 7"):
        confusion(res, seed=7)


def test_au_f1_bars_and_constant_baseline(tmp_path, write_results, png_size):
    write_results(tmp_path / "rand", label="au", seeds=(0, 1), method="Random")
    res = load_results(tmp_path / "rand")
    f1 = au_f1(res)
    p = res.predictions
    for seed in (0, 1):
        q = p[p.seed == seed]
        for a in res.classes:  # scikit-learn F1 over all folds concatenated
            assert f1.loc[a, seed] == pytest.approx(f1_score(q[f"true_{a}"], q[f"pred_{a}"], zero_division=0))
    fig = au_f1_figure(res, width=800, height=400)
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, f1.mean(axis=1).to_numpy())
    base = constant_au_f1(res)
    segs = [c for c in ax.collections if c.get_label() == "constant (always positive)"][0].get_segments()
    np.testing.assert_allclose([s[0][1] for s in segs], base.to_numpy())
    assert png_size(figure_png(fig)) == (800, 400)
    # the constant method's own results sit exactly on the baseline
    write_results(tmp_path / "const", label="au", seeds=(0,), method="Constant", constant=True)
    const = load_results(tmp_path / "const")
    np.testing.assert_allclose(au_f1(const)[0].to_numpy(), constant_au_f1(const).to_numpy())
    with pytest.raises(ValueError, match="AU detection"):
        au_f1(load_results(_emotion(tmp_path, write_results)))


def _emotion(tmp_path, write_results):
    write_results(tmp_path / "emo", seeds=(0,))
    return tmp_path / "emo"


def test_corpus_bars_with_seed_spread(tmp_path, write_results, png_size):
    write_results(tmp_path / "a", seeds=(0, 1, 2), method="A")
    write_results(tmp_path / "b", seeds=(3, 4), method="B")
    a, b = load_results(tmp_path / "a"), load_results(tmp_path / "b")
    fig = corpus_figure([a, b], width=700, height=350)
    ax = fig.axes[0]
    bars = [p.get_height() for p in ax.patches]
    runs = a.runs[(a.runs.scope == "dataset") & (a.runs.metric == "uf1")]
    per = runs.pivot(index="key", columns="seed", values="value").loc[["casme2", "samm"]]
    want_a = [*per.mean(axis=1), per.mean(axis=0).mean()]
    np.testing.assert_allclose(bars[:3], want_a)
    assert len(bars) == 6
    pd.testing.assert_frame_equal(corpus_scores(a).loc[["casme2", "samm"]], per, check_names=False)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["CASME II", "SAMM", "Average"]
    assert png_size(figure_png(fig)) == (700, 350)


def test_tsne_scatter(rng, png_size):
    x = np.vstack([rng.normal(0, 1, (15, 6)), rng.normal(8, 1, (15, 6))])
    pts = tsne_embedding(x, seed=0)
    assert pts.shape == (30, 2)
    # two well separated clusters stay separated: every point's nearest neighbour is in its own cluster
    d = ((pts[:, None] - pts[None]) ** 2).sum(-1) + np.eye(30) * 1e9
    assert ((d.argmin(1) < 15) == (np.arange(30) < 15)).all()
    labels = ["a"] * 15 + ["b"] * 15
    fig = tsne_figure(pts, labels, groups=["casme2", "samm"] * 15, width=500, height=400)
    assert png_size(figure_png(fig)) == (500, 400)
    assert sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts()) == ["a", "b"]
    with pytest.raises(ValueError):
        tsne_embedding(x[:3])
    with pytest.raises(ValueError):
        tsne_figure(pts, labels[:-1])
