"""Leak-free evaluation protocols of micro-expression recognition.

A :class:`Protocol` is the samples a protocol uses, their targets and its folds, built from a store's
``meta`` table (and AU matrix) by :func:`make_protocol`:

``loso``
    leave one subject out, within a corpus or a composite (subjects are keyed ``dataset/subject``).
``lodo``
    leave one dataset out.
``cd6me``
    LODO over CASME, CASME II, SAMM, 4DME, MMEW and CAS(ME)^3-A, detecting the 12 AUs of
    :data:`CD6ME_AUS` (Varanka et al., "Data leakage and evaluation issues in micro-expression analysis").
``megc2019``
    the MEGC2019 composite: SMIC + CASME II + SAMM, classes negative/positive/surprise, LOSO.
``megc2018-holdout``
    MEGC2018 hold-out database evaluation: train on CASME II and test on SAMM, and the reverse, objective
    classes I-V.
``megc2018-composite``
    MEGC2018 composite: CASME II + SAMM, objective classes I-V, LOSO.

:func:`cross_validate` runs a method over the folds. The targets live in :class:`SealedLabels`: while a
fold trains and predicts, reading the labels of its test samples raises :class:`LabelLeakError`. The
metrics are computed once over the predictions of all folds concatenated (never averaged per fold), per
seed, and repeated seeds are reported as mean and standard deviation in an :class:`Evaluation`.
This module returns data; it never prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .datasets import labels as _labels
from .datasets.labels import au_name
from .errors import MefastError
from .metrics import au_metrics, classification_metrics

__all__ = [
    "CD6ME_AUS",
    "CD6ME_DATASETS",
    "DATASET_TITLES",
    "Evaluation",
    "Fold",
    "LABEL_KINDS",
    "LabelLeakError",
    "MEGC2018_CLASSES",
    "MEGC2018_DATASETS",
    "MEGC2019_CLASSES",
    "MEGC2019_DATASETS",
    "PROTOCOLS",
    "Protocol",
    "ProtocolError",
    "SealedLabels",
    "combine_tables",
    "cross_validate",
    "lodo_folds",
    "loso_folds",
    "make_protocol",
]

#: The six datasets of the CD6ME benchmark, in the order of the paper's tables.
CD6ME_DATASETS: tuple[str, ...] = ("casme", "casme2", "samm", "4dme", "mmew", "casme3a")
#: The 12 action units CD6ME detects, as AU column names (from :data:`mefast.datasets.labels.CD6ME_AUS`).
CD6ME_AUS: tuple[str, ...] = tuple(au_name(n) for n in _labels.CD6ME_AUS)
#: The MEGC2019 composite's corpora and its three classes (the ``megc2019`` meta column).
MEGC2019_DATASETS: tuple[str, ...] = ("smic", "casme2", "samm")
MEGC2019_CLASSES: tuple[str, ...] = _labels.MEGC2019_CLASSES
#: MEGC2018 uses CASME II and SAMM with objective classes I-V (VI and VII are left out).
MEGC2018_DATASETS: tuple[str, ...] = ("casme2", "samm")
MEGC2018_CLASSES: tuple[int, ...] = (1, 2, 3, 4, 5)
#: Display names of the corpora, for tables.
DATASET_TITLES: dict[str, str] = {
    "casme": "CASME",
    "casme2": "CASME II",
    "samm": "SAMM",
    "smic": "SMIC",
    "mmew": "MMEW",
    "4dme": "4DME",
    "casme3a": "CAS(ME)^3-A",
    "casme3c": "CAS(ME)^3-C",
}

PROTOCOLS: tuple[str, ...] = ("loso", "lodo", "cd6me", "megc2019", "megc2018-holdout", "megc2018-composite")
LABEL_KINDS: tuple[str, ...] = ("emotion", "au", "objective")
_DEFAULT_LABEL = {
    "loso": "emotion",
    "lodo": "emotion",
    "cd6me": "au",
    "megc2019": "emotion",
    "megc2018-holdout": "objective",
    "megc2018-composite": "objective",
}
_ALLOWED_LABELS = {
    "loso": LABEL_KINDS,
    "lodo": LABEL_KINDS,
    "cd6me": ("au",),
    "megc2019": ("emotion",),
    "megc2018-holdout": ("objective",),
    "megc2018-composite": ("objective",),
}


class ProtocolError(MefastError, ValueError):
    """A protocol cannot be built or run as asked: unknown name, missing labels, an empty fold..."""


class LabelLeakError(MefastError, RuntimeError):
    """The labels of a test fold were read before its training and prediction had ended."""


@dataclasses.dataclass(frozen=True)
class Fold:
    """One train/test split.

    Attributes
    ----------
    name : str
        The held-out group: a ``dataset/subject`` key (LOSO) or a dataset name (LODO, hold-out).
    train, test : ndarray of int64
        Store row indices of the training and test samples (disjoint).
    """

    name: str
    train: NDArray[np.int64]
    test: NDArray[np.int64]


class SealedLabels:
    """Targets of a protocol's samples, with the labels of the fold under test sealed.

    Index it with store row indices. While :meth:`sealed` is active for a set of rows, any read that
    touches one of them raises :class:`LabelLeakError`, so a method cannot look at its test labels
    (for early stopping, normalisation or anything else) before it has predicted them.

    Parameters
    ----------
    index : ndarray of shape (n,)
        Store row indices of the protocol's samples.
    targets : ndarray of shape (n,) or (n, n_aus)
        Class codes or 0/1 AU labels aligned with ``index``.
    """

    def __init__(self, index: NDArray[np.int64], targets: NDArray) -> None:
        self._index = np.asarray(index, dtype=np.int64)
        self._targets = np.asarray(targets)
        self._targets.setflags(write=False)
        self._pos = pd.Series(np.arange(len(self._index)), index=self._index)
        self._sealed = np.zeros(len(self._index), dtype=bool)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the whole target array."""
        return self._targets.shape

    def _positions(self, rows: ArrayLike) -> NDArray[np.int64]:
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        pos = self._pos.reindex(rows).to_numpy()
        if np.isnan(pos).any():
            missing = rows[np.isnan(pos)][:5].tolist()
            raise ProtocolError(f"store rows {missing} are not samples of this protocol")
        return pos.astype(np.int64)

    def __getitem__(self, rows: ArrayLike) -> NDArray:
        pos = self._positions(rows)
        if self._sealed[pos].any():
            leaked = self._index[pos[self._sealed[pos]]][:5].tolist()
            raise LabelLeakError(
                f"labels of test samples (store rows {leaked}) were read before the fold finished "
                "training and predicting"
            )
        return self._targets[pos]

    @contextlib.contextmanager
    def sealed(self, rows: ArrayLike) -> Iterator[None]:
        """Seal the labels of ``rows`` for the duration of the ``with`` block."""
        pos = self._positions(rows)
        was = self._sealed[pos].copy()
        self._sealed[pos] = True
        try:
            yield
        finally:
            self._sealed[pos] = was


@dataclasses.dataclass(frozen=True)
class Protocol:
    """An evaluation protocol bound to one store's samples.

    Attributes
    ----------
    name : str
        One of :data:`PROTOCOLS`.
    label : {"emotion", "au", "objective"}
        The kind of target.
    index : ndarray of int64
        Store rows of the samples the protocol uses, ascending.
    meta : pandas.DataFrame
        The ``meta`` rows of those samples (index: store row), with a ``group`` column (the held-out key).
    classes : tuple of str
        Class names in code order (class labels), or the AU names (``label == "au"``).
    folds : tuple of Fold
    labels : SealedLabels
        Class codes ``(n,)`` or 0/1 AU labels ``(n, n_aus)``, indexed by store row.
    notes : tuple of str
        What was left out and why (missing corpora, AUs absent from the store...).
    """

    name: str
    label: str
    index: NDArray[np.int64]
    meta: pd.DataFrame
    classes: tuple[str, ...]
    folds: tuple[Fold, ...]
    labels: SealedLabels
    notes: tuple[str, ...] = ()

    @property
    def multilabel(self) -> bool:
        """True when the targets are AU sets (binary per AU) rather than classes."""
        return self.label == "au"

    def describe(self) -> pd.DataFrame:
        """One row per fold: held-out group, numbers of training and test samples."""
        return pd.DataFrame(
            {
                "fold": [f.name for f in self.folds],
                "n_train": [len(f.train) for f in self.folds],
                "n_test": [len(f.test) for f in self.folds],
            }
        )


def _subject_keys(meta: pd.DataFrame) -> pd.Series:
    return meta["dataset"].astype(str) + "/" + meta["subject"].astype(str)


def _group_folds(groups: pd.Series) -> tuple[Fold, ...]:
    rows = groups.index.to_numpy(np.int64)
    values = groups.to_numpy()
    folds = []
    for g in pd.unique(values):
        held = values == g
        folds.append(Fold(str(g), rows[~held], rows[held]))
    return tuple(folds)


def loso_folds(meta: pd.DataFrame) -> tuple[Fold, ...]:
    """Leave-one-subject-out folds.

    Parameters
    ----------
    meta : pandas.DataFrame
        Rows of the samples to split (index: store rows), with ``dataset`` and ``subject`` columns.
        Subjects are keyed ``dataset/subject``, so equal subject codes of different corpora stay apart.

    Returns
    -------
    tuple of Fold
        One fold per subject, in order of first appearance.
    """
    return _group_folds(_subject_keys(meta))


def lodo_folds(meta: pd.DataFrame, order: Sequence[str] | None = None) -> tuple[Fold, ...]:
    """Leave-one-dataset-out folds, one per dataset (in ``order`` when given)."""
    folds = {f.name: f for f in _group_folds(meta["dataset"].astype(str))}
    names = [d for d in order if d in folds] if order is not None else list(folds)
    return tuple(folds[d] for d in names)


def _require_columns(meta: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in meta.columns]
    if missing:
        raise ProtocolError(f"the store's meta table lacks the columns {missing}")


def _class_targets(values: pd.Series, kind: str, classes: Sequence[str] | None) -> tuple[pd.Series, tuple[str, ...]]:
    """Keep labelled rows (and only ``classes`` when given); return (codes, class names)."""
    present = values[values != ""]
    if present.empty:
        raise ProtocolError(f"the store has no {kind} labels: every sample's {kind} is empty")
    names = tuple(sorted(pd.unique(present))) if classes is None else tuple(str(c) for c in classes)
    unknown = [c for c in names if c not in set(present)]
    if unknown:
        raise ProtocolError(f"classes {unknown} have no samples among the store's {kind} labels")
    kept = present[present.isin(names)]
    codes = kept.map({c: i for i, c in enumerate(names)}).astype(np.int64)
    return codes, names


def make_protocol(
    name: str,
    meta: pd.DataFrame,
    *,
    au: ArrayLike | None = None,
    au_names: Sequence[str] | None = None,
    label: str | None = None,
    classes: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
) -> Protocol:
    """Build a protocol's samples, targets and folds from a store's tables.

    Parameters
    ----------
    name : str
        One of :data:`PROTOCOLS`.
    meta : pandas.DataFrame
        The store's ``meta`` table (``MEStore.meta``) or a subset of its rows (e.g. the samples marked
        done), indexed by store row.
    au : array_like of shape (len(meta), n_au), optional
        The 0/1 AU matrix of those rows, in the same order; needed for ``label="au"``.
    au_names : sequence of str, optional
        Names of the columns of ``au``.
    label : {"emotion", "au", "objective"}, optional
        Kind of target; default by protocol (``cd6me``: au; ``megc2018-*``: objective; otherwise
        emotion). For ``megc2019``, ``emotion`` means the MEGC2019 three-class labels.
    classes : sequence, optional
        Restrict class labels to these (e.g. the five CASME II classes), in this code order; AU names
        for ``label="au"`` (default: every AU in the store, CD6ME's 12 for ``cd6me``).
    datasets : sequence of str, optional
        Restrict ``loso``/``lodo`` to these corpora.

    Returns
    -------
    Protocol

    Raises
    ------
    ProtocolError
        Unknown protocol or label kind, a label kind the store lacks, a fold without training or test
        samples, fewer than two groups to leave out, repeated ``classes``, ``datasets`` for a protocol
        with fixed corpora.
    """
    if name not in PROTOCOLS:
        raise ProtocolError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}")
    label = _DEFAULT_LABEL[name] if label is None else label
    if label not in LABEL_KINDS:
        raise ProtocolError(f"unknown label kind {label!r}; choose one of {', '.join(LABEL_KINDS)}")
    if label not in _ALLOWED_LABELS[name]:
        raise ProtocolError(f"protocol {name!r} evaluates {' or '.join(_ALLOWED_LABELS[name])} labels, not {label!r}")
    if datasets is not None and name not in ("loso", "lodo"):
        raise ProtocolError(f"datasets restricts loso and lodo only; protocol {name!r} has fixed corpora")
    if classes is not None:
        given = [str(c) for c in classes]
        repeated = sorted({c for c in given if given.count(c) > 1})
        if repeated:
            raise ProtocolError(f"classes {repeated} are given more than once")
    _require_columns(meta, ("dataset", "subject"))
    if not meta.index.is_unique or not pd.api.types.is_integer_dtype(meta.index):
        raise ProtocolError("meta must be indexed by unique integer store rows (MEStore.meta, or a subset of it)")
    notes: list[str] = []

    wanted = {
        "cd6me": CD6ME_DATASETS,
        "megc2019": MEGC2019_DATASETS,
        "megc2018-holdout": MEGC2018_DATASETS,
        "megc2018-composite": MEGC2018_DATASETS,
    }.get(name, tuple(datasets) if datasets is not None else None)
    rows = meta
    if wanted is not None:
        have = set(meta["dataset"].astype(str))
        missing = [d for d in wanted if d not in have]
        if missing and name != "megc2018-holdout":  # the hold-out's folds need both: refused below
            notes.append(f"{name}: the store has no samples of {', '.join(missing)}; evaluated without them")
        rows = meta[meta["dataset"].astype(str).isin(wanted)]
        if rows.empty:
            raise ProtocolError(
                f"protocol {name!r} needs samples of {', '.join(wanted)}; the store has "
                f"{', '.join(sorted(have)) or 'no samples'}"
            )

    if label == "au":
        if au is None or au_names is None:
            raise ProtocolError("label 'au' needs the store's AU matrix and AU names")
        au = np.asarray(au)
        if au.ndim != 2 or au.shape[0] != len(meta) or au.shape[1] != len(au_names):
            raise ProtocolError(
                f"AU matrix of shape {au.shape} does not match {len(meta)} samples x {len(au_names)} AU names"
            )
        if au.shape[1] == 0 or not au.any():
            raise ProtocolError("the store has no AU labels: its AU matrix is empty or all zero")
        want_aus = tuple(classes) if classes is not None else (CD6ME_AUS if name == "cd6me" else tuple(au_names))
        col = {a: i for i, a in enumerate(au_names)}
        absent = [a for a in want_aus if a not in col]
        if len(absent) == len(want_aus):
            raise ProtocolError(f"the store has none of the AUs {list(want_aus)}; it has {list(au_names)}")
        if absent:
            notes.append(f"AUs {', '.join(absent)} never occur in the store: all-negative targets")
        full = np.zeros((len(meta), len(want_aus)), dtype=np.uint8)
        for j, a in enumerate(want_aus):
            if a in col:
                full[:, j] = au[:, col[a]] != 0
        index = rows.index.to_numpy(np.int64)
        targets: NDArray = full[meta.index.get_indexer(index)]
        names = want_aus
    else:
        if label == "objective":
            _require_columns(meta, ("objective_class",))
            obj = rows["objective_class"].astype(np.int64)
            if name.startswith("megc2018"):
                obj = obj[obj.isin(MEGC2018_CLASSES)]
            values = obj[obj > 0].astype(str).reindex(rows.index, fill_value="")
            if classes is None and name.startswith("megc2018"):
                classes = [str(c) for c in MEGC2018_CLASSES if str(c) in set(values)]
            kind = "objective_class"
        else:
            column = "megc2019" if name == "megc2019" else "emotion"
            _require_columns(meta, (column,))
            values = rows[column].fillna("").astype(str)
            kind = column
        codes, names = _class_targets(values, kind, classes)
        index = codes.index.to_numpy(np.int64)
        targets = codes.to_numpy()

    selected = meta.loc[index].copy()
    if name in ("lodo", "cd6me"):
        order = CD6ME_DATASETS if name == "cd6me" else None
        folds = lodo_folds(selected, order)
        selected["group"] = selected["dataset"].astype(str)
    elif name == "megc2018-holdout":
        folds = _holdout_folds(selected)
        selected["group"] = selected["dataset"].astype(str)
    else:
        folds = loso_folds(selected)
        selected["group"] = _subject_keys(selected)
    if len(folds) < 2 and name != "megc2018-holdout":
        what = "datasets" if name in ("lodo", "cd6me") else "subjects"
        raise ProtocolError(f"protocol {name!r} needs at least two {what} to leave out, found {len(folds)}")
    for f in folds:
        if len(f.train) == 0:
            raise ProtocolError(f"fold {f.name!r} of protocol {name!r} has no training samples")
    return Protocol(name, label, index, selected, tuple(names), folds, SealedLabels(index, targets), tuple(notes))


def _holdout_folds(meta: pd.DataFrame) -> tuple[Fold, ...]:
    ds = meta["dataset"].astype(str).to_numpy()
    rows = meta.index.to_numpy(np.int64)
    folds = []
    for train, test in (("casme2", "samm"), ("samm", "casme2")):
        f = Fold(test, rows[ds == train], rows[ds == test])
        if len(f.test) == 0:
            raise ProtocolError(
                f"fold 'train {train}, test {test}' of megc2018-holdout has no test samples: the store has "
                f"no {test} samples with objective classes {MEGC2018_CLASSES[0]}-{MEGC2018_CLASSES[-1]}"
            )
        folds.append(f)
    return tuple(folds)


# --------------------------------------------------------------------------------------------------
# running and scoring


#: ``fit_predict(fold, y_train, seed) -> predictions for fold.test`` (class codes or 0/1 AU matrix).
FitPredict = Callable[[Fold, NDArray, int], ArrayLike]


def _check_predictions(protocol: Protocol, fold: Fold, pred: ArrayLike) -> NDArray:
    p = np.asarray(pred)
    if p.size and not (np.issubdtype(p.dtype, np.number) or p.dtype == np.bool_):
        raise ProtocolError(
            f"fold {fold.name!r}: predictions must be numeric (class codes or 0/1 AUs), got dtype {p.dtype}"
        )
    want = (len(fold.test), len(protocol.classes)) if protocol.multilabel else (len(fold.test),)
    if p.shape != want:
        raise ProtocolError(f"fold {fold.name!r}: predictions have shape {p.shape}, expected {want}")
    if protocol.multilabel:
        if not np.all((p == 0) | (p == 1)):
            raise ProtocolError(f"fold {fold.name!r}: AU predictions must be 0 or 1")
        return p.astype(np.uint8)
    if p.size and (p.min() < 0 or p.max() >= len(protocol.classes) or not np.all(p == np.round(p))):
        raise ProtocolError(f"fold {fold.name!r}: class predictions must be codes 0..{len(protocol.classes) - 1}")
    return p.astype(np.int64)


def _score(protocol: Protocol, y_true: NDArray, y_pred: NDArray) -> dict[str, float]:
    if protocol.multilabel:
        return au_metrics(y_true, y_pred, protocol.classes)
    return classification_metrics(y_true, y_pred, protocol.classes)


def cross_validate(
    protocol: Protocol,
    fit_predict: FitPredict,
    *,
    seeds: Sequence[int] = (0,),
    method: str = "model",
) -> Evaluation:
    """Run a method over every fold of a protocol and score it once over all folds.

    Parameters
    ----------
    protocol : Protocol
    fit_predict : callable
        ``fit_predict(fold, y_train, seed)`` trains on ``fold.train`` with labels ``y_train`` (aligned
        with ``fold.train``) and returns predictions for ``fold.test``, in its order: class codes
        ``(n_test,)`` or a 0/1 AU matrix ``(n_test, n_aus)``. The labels of ``fold.test`` are sealed
        while it runs.
    seeds : sequence of int
        One full run per seed; metrics are computed per run and summarised as mean and std.
    method : str
        Name of the method, for the result tables.

    Returns
    -------
    Evaluation
    """
    if len(seeds) == 0:
        raise ProtocolError("cross_validate needs at least one seed")
    runs: list[dict] = []
    preds: list[pd.DataFrame] = []
    for seed in seeds:
        trues, outs, rows, fold_names = [], [], [], []
        for fold in protocol.folds:
            if len(fold.test) == 0:
                raise ProtocolError(f"fold {fold.name!r} of protocol {protocol.name!r} has no test samples")
            y_train = protocol.labels[fold.train]
            with protocol.labels.sealed(fold.test):
                p = _check_predictions(protocol, fold, fit_predict(fold, y_train, int(seed)))
            trues.append(protocol.labels[fold.test])
            outs.append(p)
            rows.append(fold.test)
            fold_names += [fold.name] * len(fold.test)
        y_true, y_pred, row = np.concatenate(trues), np.concatenate(outs), np.concatenate(rows)
        datasets = protocol.meta.loc[row, "dataset"].astype(str).to_numpy()
        for key, value in _score(protocol, y_true, y_pred).items():
            runs.append({"seed": seed, "scope": "overall", "key": "all", "metric": key, "value": value})
        for d in pd.unique(datasets):
            sel = datasets == d
            for key, value in _score(protocol, y_true[sel], y_pred[sel]).items():
                runs.append({"seed": seed, "scope": "dataset", "key": d, "metric": key, "value": value})
        frame = pd.DataFrame({"seed": seed, "row": row, "fold": fold_names, "dataset": datasets})
        if protocol.multilabel:
            for j, a in enumerate(protocol.classes):
                frame[f"true_{a}"] = y_true[:, j]
                frame[f"pred_{a}"] = y_pred[:, j]
        else:
            frame["true"] = np.asarray(protocol.classes, dtype=object)[y_true]
            frame["pred"] = np.asarray(protocol.classes, dtype=object)[y_pred]
        preds.append(frame)
    return Evaluation(
        protocol=protocol.name,
        label=protocol.label,
        method=method,
        classes=protocol.classes,
        runs=pd.DataFrame(runs),
        predictions=pd.concat(preds, ignore_index=True),
        notes=protocol.notes,
    )


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Scores of one method under one protocol, over one or more seeded runs.

    Attributes
    ----------
    protocol, label, method : str
    classes : tuple of str
        Class names, or AU names for AU detection.
    runs : pandas.DataFrame
        Long table, one row per (seed, scope, key, metric): ``scope`` is ``overall`` (key ``all``) or
        ``dataset`` (key: the dataset). Metrics: ``uf1``, ``uar``, ``accuracy``, ``n`` for classes;
        ``f1``, ``f1_<AU>``, ``accuracy``, ``n`` for AUs.
    predictions : pandas.DataFrame
        Every test prediction of every seed: ``seed``, ``row`` (store row), ``fold``, ``dataset`` and the
        true/predicted labels.
    notes : tuple of str
    """

    protocol: str
    label: str
    method: str
    classes: tuple[str, ...]
    runs: pd.DataFrame
    predictions: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def headline(self) -> str:
        """The headline metric: ``f1`` (mean AU F1) for AUs, ``uf1`` for classes."""
        return "f1" if self.label == "au" else "uf1"

    def summary(self) -> pd.DataFrame:
        """Overall metrics over all folds: mean and std over seeds (rows: metrics)."""
        overall = self.runs[self.runs["scope"] == "overall"]
        metrics = ["f1", "accuracy"] if self.label == "au" else ["uf1", "uar", "accuracy"]
        g = overall.groupby("metric")["value"]
        out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0)}).reindex(metrics)
        out["n_seeds"] = overall["seed"].nunique()
        return out

    def _wide(self, scope: str, cells: Sequence[tuple[str, str, str]]) -> pd.DataFrame:
        """Mean and std over seeds of the runs' (column, key, metric) cells."""
        r = self.runs[self.runs["scope"] == scope]
        cols = {}
        for column, key, metric in cells:
            sel = r[(r["key"] == key) & (r["metric"] == metric)]["value"]
            cols[column] = (sel.mean(), sel.std(ddof=0))
        return pd.DataFrame(cols, index=["mean", "std"])

    def table(self, by: Literal["dataset", "au"] = "dataset", *, metric: str | None = None) -> pd.DataFrame:
        """A row of the CD6ME paper's tables for this method.

        Parameters
        ----------
        by : {"dataset", "au"}
            ``dataset``: the headline metric on each test dataset and their average; ``au``: the F1 of each
            AU over all datasets and their average (AU detection only).
        metric : str, optional
            For ``by="dataset"``: the metric to tabulate (default: the headline).

        Returns
        -------
        pandas.DataFrame
            Index ``(method, stat)`` with ``stat`` in ``mean``, ``std`` (over seeds); columns: the
            datasets (display names) or AUs, then ``Average``.
        """
        if by == "dataset":
            metric = metric or self.headline
            if metric not in set(self.runs["metric"]):
                known = ", ".join(pd.unique(self.runs["metric"]))
                raise ProtocolError(f"unknown metric {metric!r} for a table by dataset; this evaluation has {known}")
            keys = [d for d in CD6ME_DATASETS if d in set(self.runs["key"])]
            keys += sorted(set(self.runs[self.runs["scope"] == "dataset"]["key"]) - set(keys))
            t = self._wide("dataset", [(DATASET_TITLES.get(k, k), k, metric) for k in keys])
            per_seed = self.runs[(self.runs["scope"] == "dataset") & (self.runs["metric"] == metric)]
            avg = per_seed.groupby("seed")["value"].mean()
        elif by == "au":
            if self.label != "au":
                raise ProtocolError(f"a table by AU needs AU detection; this evaluation has {self.label} labels")
            t = self._wide("overall", [(a, "all", f"f1_{a}") for a in self.classes])
            avg = self.runs[(self.runs["scope"] == "overall") & (self.runs["metric"] == "f1")]
            avg = avg.set_index("seed")["value"]
        else:
            raise ProtocolError(f"table by must be 'dataset' or 'au', got {by!r}")
        t["Average"] = [avg.mean(), avg.std(ddof=0)]
        t.index = pd.MultiIndex.from_product([[self.method], ["mean", "std"]], names=["method", "stat"])
        return t

    def to_markdown(self, by: Literal["dataset", "au"] = "dataset", *, percent: bool = True) -> str:
        """The table of :meth:`table` as markdown, cells ``mean ± std``."""
        return tables_to_markdown([self.table(by)], percent=percent)

    def to_csv(self, directory: str | Path) -> list[Path]:
        """Write the result tables as CSV files into ``directory``; return their paths.

        ``summary.csv``, ``by_dataset.csv`` (and ``by_au.csv``), ``runs.csv`` and ``predictions.csv``.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        frames = {"summary": self.summary(), "by_dataset": self.table("dataset")}
        if self.label == "au":
            frames["by_au"] = self.table("au")
        frames["runs"] = self.runs
        frames["predictions"] = self.predictions
        paths = []
        for name, f in frames.items():
            p = d / f"{name}.csv"
            f.to_csv(p, index=name not in ("runs", "predictions"))
            paths.append(p)
        return paths


def combine_tables(evaluations: Sequence[Evaluation], by: Literal["dataset", "au"] = "dataset") -> pd.DataFrame:
    """Stack the :meth:`Evaluation.table` rows of several methods, as in the CD6ME paper."""
    return pd.concat([e.table(by) for e in evaluations])


def tables_to_markdown(tables: Sequence[pd.DataFrame], *, percent: bool = True) -> str:
    """Format stacked ``(method, stat)`` tables as markdown with ``mean ± std`` cells."""
    t = pd.concat(tables)
    repeated = t.index.get_level_values("method")[t.index.duplicated()].unique().tolist()
    if repeated:
        raise ProtocolError(f"methods {repeated} appear in more than one table; give each evaluation its own name")
    scale = 100.0 if percent else 1.0
    rows = {}
    for method in pd.unique(t.index.get_level_values("method")):
        m, s = t.loc[(method, "mean")], t.loc[(method, "std")]
        rows[method] = [
            "n/a" if np.isnan(a) else f"{a * scale:.1f} ± {b * scale:.1f}" for a, b in zip(m, s, strict=True)
        ]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(t.columns))
    out.index.name = "Method"
    return out.to_markdown()
