"""Reading an ``mefast evaluate --out`` folder, and the numbers the evaluation figures draw (numpy/pandas)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["EvalResults", "au_f1", "confusion", "constant_au_f1", "corpus_scores", "load_results"]

#: Embeddings saved next to the tables (``np.savez``: ``embedding`` (n, D), ``row`` (n,) store rows, optional
#: ``seed`` (n,)); read by the t-SNE view when present.
EMBEDDINGS_FILE = "embeddings.npz"


@dataclass(frozen=True)
class EvalResults:
    """The tables of one evaluation (one method, one protocol, one or more seeds).

    Attributes
    ----------
    path : Path
        The folder the tables were read from (what ``mefast evaluate --out`` wrote).
    method : str
        Display name (``SVM (flow)``), from ``by_dataset.csv``; the folder name when absent.
    label : {"emotion", "au"}
        ``au`` when the predictions hold ``true_<AU>`` / ``pred_<AU>`` columns.
    classes : tuple of str
        Class names (sorted) or AU names (in the tables' order).
    runs, predictions : pandas.DataFrame
        ``runs.csv`` and ``predictions.csv`` as :meth:`mefast.Evaluation.to_csv` wrote them.
    """

    path: Path
    method: str
    label: str
    classes: tuple[str, ...]
    runs: pd.DataFrame
    predictions: pd.DataFrame

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds of the runs."""
        return tuple(int(s) for s in sorted(pd.unique(self.predictions["seed"])))

    @property
    def headline(self) -> str:
        """``f1`` (mean AU F1) for AUs, ``uf1`` for classes."""
        return "f1" if self.label == "au" else "uf1"

    @property
    def embeddings_path(self) -> Path | None:
        """``embeddings.npz`` in the folder, when it was saved."""
        p = self.path / EMBEDDINGS_FILE
        return p if p.exists() else None


def load_results(directory: str | Path) -> EvalResults:
    """Read the CSV tables that ``mefast evaluate --out DIR`` (``Evaluation.to_csv``) writes.

    Raises
    ------
    FileNotFoundError
        When ``predictions.csv`` or ``runs.csv`` is missing (not an evaluate output folder).
    ValueError
        When the tables lack the expected columns.
    """
    d = Path(directory)
    missing = [n for n in ("predictions.csv", "runs.csv") if not (d / n).exists()]
    if missing:
        raise FileNotFoundError(
            f"{d} is not an 'mefast evaluate --out' folder: {', '.join(missing)} missing"
            + (" (a store? use --what gallery, class-means, flow, tsne or cam)" if (d / "zarr.json").exists() else "")
        )
    preds = pd.read_csv(d / "predictions.csv", keep_default_na=False, dtype={"true": str, "pred": str})
    runs = pd.read_csv(d / "runs.csv", dtype={"key": str, "metric": str, "value": np.float64})  # NaN: undefined
    need = {"seed", "row", "dataset"}
    if not need <= set(preds.columns) or not {"seed", "scope", "key", "metric", "value"} <= set(runs.columns):
        raise ValueError(f"{d}: predictions.csv or runs.csv lacks the columns Evaluation.to_csv writes")
    aus = [c[5:] for c in preds.columns if c.startswith("true_")]
    if aus:
        label, classes = "au", tuple(aus)
    elif {"true", "pred"} <= set(preds.columns):
        label = "emotion"
        classes = tuple(sorted(set(preds["true"]) | set(preds["pred"])))
    else:
        raise ValueError(f"{d}/predictions.csv has neither true/pred nor true_<AU>/pred_<AU> columns")
    method = d.name
    by = d / "by_dataset.csv"
    if by.exists():
        head = pd.read_csv(by, nrows=1)
        if "method" in head.columns and len(head):
            method = str(head["method"].iloc[0])
    return EvalResults(d, method, label, classes, runs, preds)


def confusion(res: EvalResults, *, seed: int | None = None) -> tuple[tuple[str, ...], NDArray[np.int64]]:
    """Confusion counts: row = true class, column = predicted class.

    ``seed=None`` pools the predictions of all seeds (each test sample counted once per seed).
    """
    if res.label == "au":
        raise ValueError(f"{res.path}: a confusion matrix needs class labels; these are AU detections")
    p = res.predictions
    if seed is not None:
        if seed not in res.seeds:
            raise ValueError(f"seed {seed} is not among the runs' seeds {list(res.seeds)}")
        p = p[p["seed"] == seed]
    pos = {c: i for i, c in enumerate(res.classes)}
    k = len(res.classes)
    t = p["true"].map(pos).to_numpy(np.int64)
    q = p["pred"].map(pos).to_numpy(np.int64)
    counts = np.bincount(t * k + q, minlength=k * k).reshape(k, k).astype(np.int64)
    return res.classes, counts


def _stat(runs: pd.DataFrame, scope: str, key: str, metric: str) -> NDArray[np.float64]:
    sel = runs[(runs["scope"] == scope) & (runs["key"] == key) & (runs["metric"] == metric)]
    return sel.sort_values("seed")["value"].to_numpy(np.float64)


def au_f1(res: EvalResults) -> pd.DataFrame:
    """Per-AU F1 over all folds, one column per seed (index: AU names)."""
    if res.label != "au":
        raise ValueError(f"{res.path}: per-AU F1 needs AU detection results; these have {res.label} labels")
    return pd.DataFrame({a: _stat(res.runs, "overall", "all", f"f1_{a}") for a in res.classes}, index=res.seeds).T


def constant_au_f1(res: EvalResults) -> pd.Series:
    """F1 of the always-positive predictor per AU on the same test samples: ``2 p / (1 + p)``, p = prevalence.

    The reference an AU detector must beat (the ``constant`` method); computed from the true labels of the
    first seed's predictions (every seed tests the same samples).
    """
    if res.label != "au":
        raise ValueError(f"{res.path}: per-AU F1 needs AU detection results; these have {res.label} labels")
    p = res.predictions[res.predictions["seed"] == res.seeds[0]]
    prev = np.asarray([p[f"true_{a}"].to_numpy(np.float64).mean() for a in res.classes])
    return pd.Series(2 * prev / (1 + prev), index=list(res.classes))


def corpus_scores(res: EvalResults, metric: str | None = None) -> pd.DataFrame:
    """The headline metric per test corpus and seed (rows: datasets, columns: seeds)."""
    metric = metric or res.headline
    r = res.runs[(res.runs["scope"] == "dataset") & (res.runs["metric"] == metric)]
    if r.empty:
        raise ValueError(f"{res.path}: no per-dataset {metric!r} in runs.csv")
    return r.pivot_table(index="key", columns="seed", values="value", aggfunc="first", sort=False)
