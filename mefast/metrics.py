"""Metrics of micro-expression recognition, computed once over concatenated predictions.

Classes: unweighted F1 (UF1, the macro average of the per-class F1) and unweighted average recall (UAR,
the macro average of the per-class recall), with accuracy reported beside them but never the headline.
Action units: the binary F1 of each AU (positive class 1) and their mean.

Every score comes from one confusion matrix (classes) or one table of true/false positives and
negatives (AUs), so the headline numbers and their per-class breakdowns always agree. A score whose
denominator is zero (a class that is neither present nor predicted; an AU with no positive label and no
positive prediction) is undefined: it is NaN and left out of the means, as scikit-learn does with
``zero_division=np.nan``.

Never average these over folds: evaluate the predictions of all folds concatenated (see
:mod:`mefast.protocols`). :func:`f1_variants` computes the other ways of the literature (per fold, micro,
weighted) on the same predictions, as diagnostics beside the headline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "au_f1_scores",
    "au_metrics",
    "class_report",
    "classification_metrics",
    "confusion_matrix",
    "f1_variants",
]


def _as_codes(y: ArrayLike, name: str, n_classes: int) -> NDArray[np.int64]:
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class codes, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not (np.issubdtype(a.dtype, np.floating) and np.array_equal(a, np.round(a))):
            raise ValueError(f"{name} must hold integer class codes, got dtype {a.dtype}")
    codes = a.astype(np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= n_classes):
        bad = codes[(codes < 0) | (codes >= n_classes)][0]
        raise ValueError(f"{name} holds class code {bad}, outside 0..{n_classes - 1}")
    return codes


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> NDArray[np.int64]:
    """Confusion matrix of class codes.

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n,)
        Integer class codes in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes.

    Returns
    -------
    ndarray of shape (n_classes, n_classes), int64
        ``C[i, j]`` counts samples of true class ``i`` predicted as ``j``.
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    t = _as_codes(y_true, "y_true", n_classes)
    p = _as_codes(y_pred, "y_pred", n_classes)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.shape[0]} vs {p.shape[0]}")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _nanmean(x: NDArray[np.float64]) -> float:
    return float(np.mean(x[~np.isnan(x)])) if np.any(~np.isnan(x)) else float("nan")


def class_report(y_true: ArrayLike, y_pred: ArrayLike, classes: Sequence[str]) -> pd.DataFrame:
    """Per-class support, precision, recall and F1.

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n,)
        Integer class codes indexing ``classes``.
    classes : sequence of str
        Class names, in code order.

    Returns
    -------
    pandas.DataFrame
        Index: the class names; columns ``support``, ``predicted``, ``precision``, ``recall``, ``f1``.
        Undefined ratios are NaN.
    """
    cm = confusion_matrix(y_true, y_pred, len(classes)).astype(np.float64)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    return pd.DataFrame(
        {
            "support": support.astype(np.int64),
            "predicted": predicted.astype(np.int64),
            "precision": _ratio(tp, predicted),
            "recall": _ratio(tp, support),
            "f1": _ratio(2 * tp, support + predicted),
        },
        index=pd.Index(list(classes), name="class"),
    )


def classification_metrics(
    y_true: ArrayLike, y_pred: ArrayLike, classes: Sequence[str], *, present_only: bool = False
) -> dict[str, float]:
    """UF1, UAR and accuracy of class predictions.

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n,)
        Integer class codes indexing ``classes``: the predictions of all folds concatenated.
    classes : sequence of str
        Class names, in code order.
    present_only : bool
        Average over the classes ``y_true`` has only. By default a class no sample has but some prediction
        names enters the averages with F1 0 (scikit-learn's ``average="macro"`` without ``labels``); with
        ``present_only`` (how protocols score: the classes of the test corpora) such a prediction costs only
        the recall of the sample's true class. Use it when training sees classes the test data lacks (extra
        corpora).

    Returns
    -------
    dict
        ``uf1`` (macro F1 over the classes), ``uar`` (macro recall), ``accuracy`` and ``n``. Classes whose
        F1 (or recall) is undefined are left out of the macro average.

    Examples
    --------
    >>> m = classification_metrics([0, 0, 1, 2], [0, 1, 1, 2], ["neg", "pos", "sur"])
    >>> round(m["uf1"], 4), round(m["uar"], 4), m["accuracy"]
    (0.7778, 0.8333, 0.75)
    """
    report = class_report(y_true, y_pred, classes)
    n = int(report["support"].sum())
    if present_only:
        report = report[report["support"] > 0]
    correct = float(np.sum(np.asarray(y_true) == np.asarray(y_pred))) if n else float("nan")
    return {
        "uf1": _nanmean(report["f1"].to_numpy()),
        "uar": _nanmean(report["recall"].to_numpy()),
        "accuracy": correct / n if n else float("nan"),
        "n": float(n),
    }


def _as_binary(y: ArrayLike, name: str) -> NDArray[np.uint8]:
    a = np.asarray(y)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_samples, n_aus) 0/1 array, got shape {a.shape}")
    if a.size and not np.all((a == 0) | (a == 1)):
        raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(a)[:5]}")
    return a.astype(np.uint8)


def au_f1_scores(y_true: ArrayLike, y_pred: ArrayLike) -> NDArray[np.float64]:
    """Binary F1 of each action unit.

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n, n_aus)
        0/1 labels and predictions.

    Returns
    -------
    ndarray of shape (n_aus,), float64
        ``2 TP / (2 TP + FP + FN)`` per AU; NaN for an AU with no positive label and no positive prediction.
    """
    t = _as_binary(y_true, "y_true")
    p = _as_binary(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {t.shape} vs {p.shape}")
    tp = np.sum(t & p, axis=0).astype(np.float64)
    return _ratio(2 * tp, t.sum(axis=0, dtype=np.float64) + p.sum(axis=0, dtype=np.float64))


def au_metrics(y_true: ArrayLike, y_pred: ArrayLike, au_names: Sequence[str]) -> dict[str, float]:
    """Per-AU binary F1, their mean and the element-wise accuracy.

    Parameters
    ----------
    y_true, y_pred : array_like of shape (n, n_aus)
        0/1 labels and predictions: the predictions of all folds concatenated.
    au_names : sequence of str
        Names of the AU columns.

    Returns
    -------
    dict
        ``f1`` (mean of the defined per-AU F1), ``accuracy`` (fraction of correct AU decisions), ``n``,
        and one ``f1_<AU>`` entry per AU.
    """
    f1 = au_f1_scores(y_true, y_pred)
    if f1.shape[0] != len(au_names):
        raise ValueError(f"{f1.shape[0]} AU columns but {len(au_names)} au_names")
    t = np.asarray(y_true)
    out = {
        "f1": _nanmean(f1),
        "accuracy": float(np.mean(t == np.asarray(y_pred))) if t.size else float("nan"),
        "n": float(t.shape[0]),
    }
    out.update({f"f1_{name}": float(v) for name, v in zip(au_names, f1, strict=True)})
    return out


def _tp_fp_fn(
    y_true: ArrayLike, y_pred: ArrayLike, n_labels: int, multilabel: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per class (or AU) counts of true positives, false positives and false negatives."""
    if multilabel:
        t, p = _as_binary(y_true, "y_true"), _as_binary(y_pred, "y_pred")
        if t.shape != p.shape or t.shape[1] != n_labels:
            raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must both be (n, {n_labels})")
        tp = np.sum(t & p, axis=0).astype(np.float64)
        return tp, p.sum(axis=0, dtype=np.float64) - tp, t.sum(axis=0, dtype=np.float64) - tp
    cm = confusion_matrix(y_true, y_pred, n_labels).astype(np.float64)
    tp = np.diag(cm)
    return tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp


def _macro(
    tp: NDArray[np.float64], fp: NDArray[np.float64], fn: NDArray[np.float64], keep: NDArray[np.bool_] | None = None
) -> float:
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return _nanmean(f1 if keep is None else f1[keep])


def f1_variants(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    folds: ArrayLike,
    labels: Sequence[str],
    *,
    multilabel: bool,
    present_only: bool = False,
) -> dict[str, float]:
    """The F1 computations compared in Figure 2 of Varanka et al. (data leakage in ME analysis), side by side.

    Parameters
    ----------
    y_true, y_pred : array_like
        Class codes ``(n,)`` indexing ``labels``, or 0/1 AU matrices ``(n, n_aus)`` (``multilabel``): the
        predictions of all folds concatenated.
    folds : array_like of shape (n,)
        The fold of each prediction.
    labels : sequence of str
        Class names (in code order) or AU names.
    multilabel : bool
        AU detection (binary F1 per AU) rather than classes.
    present_only : bool
        Single-label only: ``pooled`` and ``per_fold`` average over the classes ``y_true`` has (as
        :func:`classification_metrics` with ``present_only``, how protocols score), so ``pooled`` stays the UF1.

    Returns
    -------
    dict
        ``pooled``: macro F1 over the concatenated predictions (UF1; the mean AU F1 for AUs) -- the
        headline. ``per_fold``: the same computed on each fold, averaged over the folds. ``micro``: F1 of
        the true/false positives summed over the classes or AUs (accuracy, for single-label classes).
        ``weighted``: per-class (per-AU) F1 averaged with weights equal to the number of true samples.
        Undefined per-class scores (a class neither present nor predicted) are left out, as scikit-learn
        does with ``zero_division=np.nan``; a fold whose scores are all undefined is left out of
        ``per_fold``.

    Examples
    --------
    >>> v = f1_variants([0, 0, 1, 2], [0, 1, 1, 2], [0, 0, 1, 1], ["a", "b", "c"], multilabel=False)
    >>> {k: round(x, 4) for k, x in v.items()}
    {'pooled': 0.7778, 'per_fold': 0.6667, 'micro': 0.75, 'weighted': 0.75}
    """
    n_labels = len(labels)
    folds = np.asarray(folds)
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if folds.shape != (len(t),):
        raise ValueError(f"folds must have one entry per prediction ({len(t)}), got shape {folds.shape}")
    tp, fp, fn = _tp_fp_fn(t, p, n_labels, multilabel)
    support = tp + fn
    per_class = _ratio(2 * tp, 2 * tp + fp + fn)
    defined = ~np.isnan(per_class)
    weight = support[defined].sum()
    keep = support > 0 if present_only and not multilabel else None
    per_fold = [_macro(*_tp_fp_fn(t[folds == f], p[folds == f], n_labels, multilabel), keep) for f in pd.unique(folds)]
    per_fold_arr = np.asarray(per_fold, dtype=np.float64)
    return {
        "pooled": _nanmean(per_class if keep is None else per_class[keep]),
        "per_fold": _nanmean(per_fold_arr),
        "micro": float(_ratio(np.array([2 * tp.sum()]), np.array([2 * tp.sum() + fp.sum() + fn.sum()]))[0]),
        "weighted": float(np.sum(per_class[defined] * support[defined]) / weight) if weight > 0 else float("nan"),
    }
