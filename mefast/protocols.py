"""Leak-free evaluation protocols of micro-expression recognition.

A :class:`Protocol` is the samples a protocol uses, their targets and its folds, built from a store's
``meta`` table (and AU matrix) by :func:`make_protocol`. Protocols are data: each is one
:class:`ProtocolSpec` row of :data:`PROTOCOL_SPECS` (grouping, corpora, label kinds and columns, default
classes), and :func:`register_protocol` adds one. The built-in rows:

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

Training and test corpora can be chosen apart (``train_datasets`` / ``test_datasets``: the "more training
data" experiments of the data-leakage paper, Tables 5, 8, 10 and 11), and classes filtered per corpus
(``class_filters``). The folds hold out the protocol's groups (subjects or corpora) of the test corpora;
each fold trains on the training corpora minus the held-out group, so a corpus named only in
``test_datasets`` is never trained on, and a held-out subject or corpus never is.

:func:`cross_validate` runs a method over the folds, leak-free by construction: ``Protocol.meta`` holds no
labels (its label columns, and the sample names ``sample_id`` and ``clip``, which can carry the label, are
:class:`~mefast._sealed.Withheld` stand-ins that raise :class:`LabelLeakError` when used), and while a fold
trains and predicts, the protocol's :class:`SealedLabels` hold the labels and the sample ids of that fold's
training rows only: the others are taken out of them (the evaluator keeps them) and reading them raises
:class:`LabelLeakError`. The metrics are computed once over the predictions of all folds concatenated (never
averaged per fold), per seed, and repeated seeds are reported as mean and standard deviation in an
:class:`Evaluation`; the other F1 computations of the paper's Figure 2 are reported beside it as diagnostics
(:meth:`Evaluation.f1_variants`).
This module returns data; it never prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from . import labels as _labels
from ._sealed import holds_withheld, strip_labels
from .errors import LabelLeakError, ProtocolError
from .labels import au_name
from .metrics import au_metrics, classification_metrics, f1_variants

__all__ = [
    "CD6ME_AUS",
    "CD6ME_DATASETS",
    "DATASET_TITLES",
    "Evaluation",
    "F1_VARIANTS",
    "Fold",
    "LABEL_KINDS",
    "LabelLeakError",
    "MEGC2018_CLASSES",
    "MEGC2018_DATASETS",
    "MEGC2019_CLASSES",
    "MEGC2019_DATASETS",
    "PROTOCOLS",
    "PROTOCOL_SPECS",
    "Protocol",
    "ProtocolError",
    "ProtocolSpec",
    "SealedLabels",
    "combine_tables",
    "cross_validate",
    "lodo_folds",
    "loso_folds",
    "make_protocol",
    "register_protocol",
]

#: The six datasets of the CD6ME benchmark, in the order of the paper's tables.
CD6ME_DATASETS: tuple[str, ...] = ("casme", "casme2", "samm", "4dme", "mmew", "casme3a")
#: The 12 action units CD6ME detects, as AU column names (from :data:`mefast.labels.CD6ME_AUS`).
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
LABEL_KINDS: tuple[str, ...] = ("emotion", "au", "objective")
#: The F1 computations of the data-leakage paper's Figure 2, reported side by side (the first is the headline).
F1_VARIANTS: tuple[str, ...] = ("pooled", "per_fold", "micro", "weighted")

# --------------------------------------------------------------------------------------------------
# the protocol table


@dataclasses.dataclass(frozen=True)
class ProtocolSpec:
    """One evaluation protocol, as data.

    Attributes
    ----------
    name : str
        The protocol's name (lower case).
    grouping : {"subject", "dataset"}
        What a fold holds out: one subject (keyed ``dataset/subject``) or one corpus.
    description : str
        One line, for listings.
    datasets : tuple of str or None
        The corpora the protocol evaluates, in fold order for ``grouping="dataset"``; None: the corpora of
        the store (or those given as ``datasets=`` to :func:`make_protocol`).
    labels : tuple of str
        The label kinds it evaluates (of :data:`LABEL_KINDS`); the first is the default.
    label_columns : mapping
        Meta column of each class label kind (``emotion`` and ``objective``).
    classes : mapping
        Default classes per label kind (``au``: AU names; ``objective``: class numbers as text): the protocol's
        fixed class list. Samples of other classes are left out; every listed class is kept, with samples or not
        (a class no sample has is noted; AUs: all negative), so the output a method trains is the same list
        whatever a fold's test samples hold.
    every_test_corpus : bool
        Each test corpus must hold samples (a hold-out between named corpora); otherwise missing corpora are
        noted and the protocol runs without them.
    """

    name: str
    grouping: Literal["subject", "dataset"]
    description: str = ""
    datasets: tuple[str, ...] | None = None
    labels: tuple[str, ...] = LABEL_KINDS
    label_columns: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {"emotion": "emotion", "objective": "objective_class"}
    )
    classes: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    every_test_corpus: bool = False

    def __post_init__(self) -> None:
        if self.grouping not in ("subject", "dataset"):
            raise ProtocolError(
                f"protocol {self.name!r}: grouping must be 'subject' or 'dataset', not {self.grouping!r}"
            )
        bad = [k for k in self.labels if k not in LABEL_KINDS]
        if not self.labels or bad:
            raise ProtocolError(f"protocol {self.name!r}: label kinds must be among {LABEL_KINDS}, got {self.labels}")

    @property
    def default_label(self) -> str:
        """The label kind used when none is asked for."""
        return self.labels[0]


_MEGC2018_OBJECTIVE = tuple(str(c) for c in MEGC2018_CLASSES)


def _benchmark(
    name: str,
    grouping: Literal["subject", "dataset"],
    description: str,
    datasets: tuple[str, ...],
    label: str,
    classes: tuple[str, ...] | None = None,
    **more: Any,
) -> ProtocolSpec:
    """A published benchmark's row: fixed corpora, one label kind and, when given, that kind's default classes."""
    return ProtocolSpec(
        name,
        grouping,
        description,
        datasets=datasets,
        labels=(label,),
        classes={} if classes is None else {label: classes},
        **more,
    )


#: The protocols mefast knows, by name (extend with :func:`register_protocol`).
PROTOCOL_SPECS: dict[str, ProtocolSpec] = {
    s.name: s
    for s in (
        ProtocolSpec("loso", "subject", "leave one subject out, within a corpus or a composite"),
        ProtocolSpec("lodo", "dataset", "leave one dataset out"),
        _benchmark(
            "cd6me", "dataset", "CD6ME: leave one dataset out over six corpora, 12 AUs (Varanka et al.)",
            CD6ME_DATASETS, "au", CD6ME_AUS,
        ),
        _benchmark(
            "megc2019", "subject", "MEGC2019 composite: SMIC + CASME II + SAMM, negative/positive/surprise, LOSO",
            MEGC2019_DATASETS, "emotion", MEGC2019_CLASSES, label_columns={"emotion": "megc2019"},
        ),
        _benchmark(
            "megc2018-holdout", "dataset",
            "MEGC2018 hold-out: train on CASME II, test on SAMM and the reverse, objective classes I-V",
            ("samm", "casme2"), "objective", _MEGC2018_OBJECTIVE, every_test_corpus=True,
        ),
        _benchmark(
            "megc2018-composite", "subject", "MEGC2018 composite: CASME II + SAMM, objective classes I-V, LOSO",
            MEGC2018_DATASETS, "objective", _MEGC2018_OBJECTIVE,
        ),
    )
}  # fmt: skip
#: Names of the known protocols (the keys of :data:`PROTOCOL_SPECS` when this module was imported).
PROTOCOLS: tuple[str, ...] = tuple(PROTOCOL_SPECS)
_SPECS_LOCK = threading.Lock()


def register_protocol(spec: ProtocolSpec, *, replace: bool = False) -> None:
    """Add a protocol to :data:`PROTOCOL_SPECS`, so :func:`make_protocol` and ``evaluate`` accept its name.

    Parameters
    ----------
    spec : ProtocolSpec
    replace : bool
        Allow replacing a protocol of the same name.

    Raises
    ------
    ProtocolError
        The name is taken (and ``replace`` is false), or the spec is not a :class:`ProtocolSpec`.
    """
    if not isinstance(spec, ProtocolSpec):
        raise ProtocolError(f"register_protocol needs a ProtocolSpec, got {type(spec).__name__}")
    with _SPECS_LOCK:
        if spec.name in PROTOCOL_SPECS and not replace:
            raise ProtocolError(f"a protocol named {spec.name!r} exists; pass replace=True to replace it")
        PROTOCOL_SPECS[spec.name] = spec


# --------------------------------------------------------------------------------------------------
# folds and sealed labels


@dataclasses.dataclass(frozen=True)
class Fold:
    """One train/test split.

    Attributes
    ----------
    name : str
        The held-out group: a ``dataset/subject`` key (LOSO) or a dataset name (LODO, hold-out).
    train, test : ndarray of int64
        Store row indices of the training and test samples (disjoint).
    classes : tuple of str
        The fold's class vocabulary: what a method trains and predicts (the codes of ``y_train`` and of the
        predictions index it; a network has one output per class). Built from what the training side may know:
        the protocol's fixed classes when it has them (``classes=``, or the protocol's default list), else the
        classes of the fold's training samples, so no fold's output holds a class only its test samples have.
        AU detection: the AU names. Empty on a fold built by hand: :func:`cross_validate` fills it in
        (:meth:`Protocol.fold_classes`).
    """

    name: str
    train: NDArray[np.int64]
    test: NDArray[np.int64]
    classes: tuple[str, ...] = ()


class SealedLabels:
    """Targets (or sample ids) of a protocol's samples; during a fold it holds those of its training rows only.

    Index it with store row indices. :func:`cross_validate` takes the values of every row that is not in
    the running fold's training set out of this object (it keeps them itself) until the fold's predictions
    are returned: while they are out they are not stored here at all, and reading them raises
    :class:`LabelLeakError`. :meth:`sealed` does the same for chosen rows.

    Parameters
    ----------
    index : ndarray of shape (n,)
        Store row indices of the protocol's samples.
    targets : ndarray of shape (n,) or (n, n_aus)
        Class codes or 0/1 AU labels aligned with ``index`` (or the samples' ids, an object array).
    what : str
        What the values are, for error messages (``labels``, ``sample ids``).
    """

    def __init__(self, index: NDArray[np.int64], targets: NDArray, what: str = "labels") -> None:
        self._what = what
        self._index = np.asarray(index, dtype=np.int64)
        self._values = np.array(targets, copy=True)
        if len(self._values) != len(self._index):
            raise ProtocolError(f"{len(self._values)} targets for {len(self._index)} rows")
        self._pos = pd.Series(np.arange(len(self._index)), index=self._index)
        self._out = np.zeros(len(self._index), dtype=bool)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the whole target array."""
        return self._values.shape

    def _positions(self, rows: ArrayLike) -> NDArray[np.int64]:
        given = np.asarray(rows)
        if given.dtype == np.bool_:  # cast to int64 it would read rows 0 and 1
            raise ProtocolError("labels are looked up by store row numbers, not by a boolean mask")
        if given.size and not np.issubdtype(given.dtype, np.integer):
            raise ProtocolError(f"store row numbers must be integers, got dtype {given.dtype}")
        rows = np.atleast_1d(given.astype(np.int64))
        pos = self._pos.reindex(rows).to_numpy()
        if np.isnan(pos).any():
            missing = rows[np.isnan(pos)][:5].tolist()
            raise ProtocolError(f"store rows {missing} are not samples of this protocol")
        return pos.astype(np.int64)

    def __getitem__(self, rows: ArrayLike) -> NDArray:
        pos = self._positions(rows)
        if self._out[pos].any():
            leaked = self._index[pos[self._out[pos]]][:5].tolist()
            raise LabelLeakError(
                f"{self._what} of store rows {leaked} were read before the fold finished training and predicting "
                "(while a fold runs, only those of its training samples are available)"
            )
        return self._values[pos]

    def _take_out(self, pos: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray]:
        """Remove the labels at ``pos`` (those not already out); return (positions, values) to put back."""
        pos = pos[~self._out[pos]]
        values = self._values[pos].copy()
        self._values[pos] = 0
        self._out[pos] = True
        return pos, values

    def _put_back(self, taken: tuple[NDArray[np.int64], NDArray]) -> None:
        pos, values = taken
        self._values[pos] = values
        self._out[pos] = False

    @contextlib.contextmanager
    def sealed(self, rows: ArrayLike) -> Iterator[None]:
        """Take the labels of ``rows`` out of this object for the duration of the ``with`` block."""
        taken = self._take_out(self._positions(rows))
        try:
            yield
        finally:
            self._put_back(taken)

    @contextlib.contextmanager
    def _training_only(self, train: NDArray[np.int64]) -> Iterator[None]:
        """Keep only the labels of ``train`` in this object for the duration of the ``with`` block."""
        others = np.ones(len(self._index), dtype=bool)
        others[self._positions(train)] = False
        taken = self._take_out(np.flatnonzero(others))
        try:
            yield
        finally:
            self._put_back(taken)


@dataclasses.dataclass(frozen=True)
class Protocol:
    """An evaluation protocol bound to one store's samples.

    Attributes
    ----------
    name : str
        A key of :data:`PROTOCOL_SPECS`.
    label : {"emotion", "au", "objective"}
        The kind of target.
    index : ndarray of int64
        Store rows of the samples the protocol uses, ascending.
    meta : pandas.DataFrame
        The ``meta`` rows of those samples (index: store row), with a ``group`` column (the held-out key).
        It holds no labels: its label columns (emotion, megc2019, objective_class, aus...) and the sample names
        (``sample_id``, ``clip``: a name can carry the label, as SMIC's ``s1_ne_01``) are withheld stand-ins
        that raise :class:`LabelLeakError` when used; the targets are in ``labels``, the ids in ``sample_ids``.
    classes : tuple of str
        Class names in code order (class labels), or the AU names (``label == "au"``): the evaluator's
        vocabulary, every class of the protocol's samples, test folds included (it codes ``labels`` and the
        evaluation's predictions). A method trains and predicts in its fold's vocabulary, ``Fold.classes``.
    folds : tuple of Fold
    labels : SealedLabels
        Class codes ``(n,)`` or 0/1 AU labels ``(n, n_aus)``, indexed by store row.
    notes : tuple of str
        What was left out and why (missing corpora, AUs absent from the store...).
    train_datasets, test_datasets : tuple of str
        The corpora trained on and tested (empty for a protocol built by hand).
    sample_ids : SealedLabels or None
        The samples' ids (``sample_id``), indexed by store row, sealed as ``labels`` are: while a fold runs only
        its training samples' ids can be read (for a method that selects training samples by id, such as IDC's
        clean list). None when the meta table has no ``sample_id`` column.
    fixed_classes : bool
        ``classes`` is a fixed list (given as ``classes=`` or the protocol's default), which every fold trains
        in; otherwise a fold trains in the classes of its training samples.
    """

    name: str
    label: str
    index: NDArray[np.int64]
    meta: pd.DataFrame
    classes: tuple[str, ...]
    folds: tuple[Fold, ...]
    labels: SealedLabels
    notes: tuple[str, ...] = ()
    train_datasets: tuple[str, ...] = ()
    test_datasets: tuple[str, ...] = ()
    sample_ids: SealedLabels | None = None
    fixed_classes: bool = False

    @property
    def multilabel(self) -> bool:
        """True when the targets are AU sets (binary per AU) rather than classes."""
        return self.label == "au"

    def fold_classes(self, fold: Fold) -> tuple[str, ...]:
        """The class vocabulary a fold trains and predicts in (see :attr:`Fold.classes`).

        ``fold.classes`` when set; else the AU names (AU detection) or the fixed ``classes``; else the classes
        of the fold's training samples, in the order of ``classes``. Outside :func:`cross_validate`, or before
        it seals the labels of a fold.
        """
        if fold.classes:
            return tuple(fold.classes)
        if self.multilabel or self.fixed_classes:
            return tuple(self.classes)
        return _training_classes(self.labels[fold.train], self.classes)

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


# --------------------------------------------------------------------------------------------------
# building a protocol


def _require_columns(meta: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in meta.columns]
    if missing:
        raise ProtocolError(f"the store's meta table lacks the columns {missing}")


def _class_targets(
    values: pd.Series, kind: str, classes: Sequence[str] | None, notes: list[str], *, default: bool = False
) -> tuple[pd.Series, tuple[str, ...]]:
    """Keep labelled rows (and only ``classes`` when given); return (codes, class names).

    ``classes`` are kept whole, in their order: a class that no sample has is an error when the caller named it,
    a note when it is the protocol's ``default`` list (the list is the protocol's, whatever a store holds).
    """
    present = values[values != ""]
    if present.empty:
        raise ProtocolError(f"the store has no {kind} labels: every sample's {kind} is empty")
    names = tuple(sorted(pd.unique(present))) if classes is None else tuple(str(c) for c in classes)
    have = set(present)
    unknown = [c for c in names if c not in have]
    if len(unknown) == len(names):
        raise ProtocolError(f"none of the classes {list(names)} has samples among the store's {kind} labels")
    if unknown and not default:
        raise ProtocolError(f"classes {unknown} have no samples among the store's {kind} labels")
    if unknown:
        notes.append(f"classes {', '.join(unknown)} of the protocol have no samples among the store's {kind} labels")
    kept = present[present.isin(names)]
    codes = kept.map({c: i for i, c in enumerate(names)}).astype(np.int64)
    return codes, names


def _names(value: Sequence[str] | str | None, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ProtocolError(f"{what} must be a non-empty sequence of corpus names, got {value!r}")
    repeated = sorted({v for v in items if items.count(v) > 1})
    if repeated:
        raise ProtocolError(f"{what} names {repeated} more than once")
    return items


def _corpora(
    spec: ProtocolSpec,
    meta: pd.DataFrame,
    datasets: tuple[str, ...] | None,
    train_datasets: tuple[str, ...] | None,
    test_datasets: tuple[str, ...] | None,
    notes: list[str],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The training and test corpora of a protocol on a store (test corpora in fold order)."""
    have = list(pd.unique(meta["dataset"].astype(str)))
    base = spec.datasets if spec.datasets is not None else (datasets if datasets is not None else tuple(have))
    test = test_datasets if test_datasets is not None else base
    train = train_datasets if train_datasets is not None else base
    for what, names in (("train", train), ("test", test)):
        missing = [d for d in names if d not in have]
        if missing and not (what == "test" and spec.every_test_corpus):  # a hold-out fold is refused below
            notes.append(f"{spec.name}: the store has no samples of {', '.join(missing)}; evaluated without them")
    if not any(d in have for d in (*test, *train)):
        wanted = list(dict.fromkeys((*test, *train)))
        raise ProtocolError(
            f"protocol {spec.name!r} needs samples of {', '.join(wanted)}; the store has "
            f"{', '.join(sorted(have)) or 'no samples'}"
        )
    return tuple(dict.fromkeys(train)), tuple(dict.fromkeys(test))


def _filter_classes(
    values: pd.Series, rows: pd.DataFrame, class_filters: Mapping[str, Sequence[str]] | None, notes: list[str]
) -> pd.Series:
    """Blank the labels of samples whose class is not in their corpus's filter (they are left out)."""
    if not class_filters:
        return values
    ds = rows["dataset"].astype(str)
    keep = pd.Series(True, index=values.index)
    for corpus, allowed in class_filters.items():
        if isinstance(allowed, str) or not len(allowed):
            raise ProtocolError(f"class_filters[{corpus!r}] must be a non-empty sequence of classes, got {allowed!r}")
        in_corpus = ds == corpus
        if not in_corpus.any():
            notes.append(f"class_filters: no samples of {corpus} in the protocol; its filter selects nothing")
            continue
        drop = in_corpus & (values != "") & ~values.isin([str(c) for c in allowed])
        if drop.any():
            notes.append(f"class_filters: left out {int(drop.sum())} {corpus} samples of other classes")
        keep &= ~drop
    return values.where(keep, "")


def make_protocol(
    name: str,
    meta: pd.DataFrame,
    *,
    au: ArrayLike | None = None,
    au_names: Sequence[str] | None = None,
    label: str | None = None,
    classes: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    train_datasets: Sequence[str] | None = None,
    test_datasets: Sequence[str] | None = None,
    class_filters: Mapping[str, Sequence[str]] | None = None,
) -> Protocol:
    """Build a protocol's samples, targets and folds from a store's tables.

    Parameters
    ----------
    name : str
        A key of :data:`PROTOCOL_SPECS` (:data:`PROTOCOLS`).
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
        Restrict a protocol without fixed corpora (``loso``, ``lodo``) to these corpora.
    train_datasets, test_datasets : sequence of str, optional
        Train on these corpora and test on those (default: the protocol's corpora for both). The folds hold
        out the protocol's groups (subjects or corpora) of the test corpora; each fold trains on the samples
        of the training corpora outside its held-out group. A corpus named only in ``test_datasets`` is
        never trained on; one named in both is split by the protocol's grouping (e.g. LOSO with extra
        training corpora).
    class_filters : mapping, optional
        ``corpus -> classes``: keep only the samples of that corpus whose class is listed (class labels
        only), e.g. to train on the other corpora's samples of the test corpus's emotions.

    Returns
    -------
    Protocol

    Raises
    ------
    ProtocolError
        Unknown protocol or label kind, a label kind the store lacks, a fold without training or test
        samples, fewer than two groups to leave out, repeated ``classes`` or corpora, ``datasets`` for a
        protocol with fixed corpora, class filters of AU labels.
    """
    spec = PROTOCOL_SPECS.get(name)
    if spec is None:
        raise ProtocolError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOL_SPECS)}")
    label = spec.default_label if label is None else label
    if label not in LABEL_KINDS:
        raise ProtocolError(f"unknown label kind {label!r}; choose one of {', '.join(LABEL_KINDS)}")
    if label not in spec.labels:
        raise ProtocolError(f"protocol {name!r} evaluates {' or '.join(spec.labels)} labels, not {label!r}")
    if datasets is not None and spec.datasets is not None:
        raise ProtocolError(
            f"datasets restricts protocols without fixed corpora; protocol {name!r} has fixed corpora "
            "(choose them with train_datasets / test_datasets)"
        )
    if classes is not None:
        given = [str(c) for c in classes]
        repeated = sorted({c for c in given if given.count(c) > 1})
        if repeated:
            raise ProtocolError(f"classes {repeated} are given more than once")
    if class_filters and label == "au":
        raise ProtocolError("class_filters select classes of class labels; AU labels have none")
    _require_columns(meta, ("dataset", "subject"))
    if not meta.index.is_unique or not pd.api.types.is_integer_dtype(meta.index):
        raise ProtocolError("meta must be indexed by unique integer store rows (MEStore.meta, or a subset of it)")
    notes: list[str] = []
    train_sets, test_sets = _corpora(
        spec,
        meta,
        _names(datasets, "datasets"),
        _names(train_datasets, "train_datasets"),
        _names(test_datasets, "test_datasets"),
        notes,
    )
    rows = meta[meta["dataset"].astype(str).isin((*train_sets, *test_sets))]

    if label == "au":
        index, targets, names = _au_targets(spec, meta, rows, au, au_names, classes, notes)
    else:
        column = spec.label_columns.get(label)
        if column is None:
            raise ProtocolError(f"protocol {name!r} has no meta column for {label} labels")
        _require_columns(meta, (column,))
        if label == "objective":
            obj = rows[column].astype(np.int64)
            values = obj[obj > 0].astype(str).reindex(rows.index, fill_value="")
        else:
            values = rows[column].fillna("").astype(str)
        values = _filter_classes(values, rows, class_filters, notes)
        default = spec.classes.get(label)
        if classes is None and default is not None:
            values = values.where(values.isin(default), "")
        wanted = classes if classes is not None else default
        codes, names = _class_targets(values, column, wanted, notes, default=classes is None)
        index = codes.index.to_numpy(np.int64)
        targets = codes.to_numpy()
    fixed = label == "au" or classes is not None or spec.classes.get(label) is not None

    selected = meta.loc[index]
    folds, groups = _make_folds(spec, selected, train_sets, test_sets)
    folds = _with_fold_classes(folds, index, targets, tuple(names), fixed=fixed)
    public = strip_labels(selected)
    public["group"] = groups
    order = np.argsort(index, kind="stable")
    index, targets = index[order], targets[order]
    ids = None
    if "sample_id" in meta.columns:
        ids = SealedLabels(index, meta.loc[index, "sample_id"].astype(str).to_numpy(dtype=object), "sample ids")
    return Protocol(
        name,
        label,
        index,
        public.loc[index],
        tuple(names),
        folds,
        SealedLabels(index, targets),
        tuple(notes),
        train_sets,
        test_sets,
        ids,
        fixed,
    )


def _with_fold_classes(
    folds: tuple[Fold, ...], index: NDArray[np.int64], targets: NDArray, names: tuple[str, ...], *, fixed: bool
) -> tuple[Fold, ...]:
    """The folds with their class vocabulary: ``names`` when fixed, else their training samples' classes."""
    if fixed:
        return tuple(dataclasses.replace(f, classes=names) for f in folds)
    code = pd.Series(targets, index=index)
    return tuple(dataclasses.replace(f, classes=_training_classes(code.loc[f.train].to_numpy(), names)) for f in folds)


def _training_classes(codes: ArrayLike, names: Sequence[str]) -> tuple[str, ...]:
    """The classes a fold's training codes hold, in code order: its vocabulary when the protocol fixes none."""
    return tuple(names[int(c)] for c in np.unique(codes))


def _au_targets(
    spec: ProtocolSpec,
    meta: pd.DataFrame,
    rows: pd.DataFrame,
    au: ArrayLike | None,
    au_names: Sequence[str] | None,
    classes: Sequence[str] | None,
    notes: list[str],
) -> tuple[NDArray[np.int64], NDArray, tuple[str, ...]]:
    if au is None or au_names is None:
        raise ProtocolError("label 'au' needs the store's AU matrix and AU names")
    au = np.asarray(au)
    if au.ndim != 2 or au.shape[0] != len(meta) or au.shape[1] != len(au_names):
        raise ProtocolError(
            f"AU matrix of shape {au.shape} does not match {len(meta)} samples x {len(au_names)} AU names"
        )
    if au.shape[1] == 0 or not au.any():
        raise ProtocolError("the store has no AU labels: its AU matrix is empty or all zero")
    want = tuple(classes) if classes is not None else spec.classes.get("au", tuple(au_names))
    col = {a: i for i, a in enumerate(au_names)}
    absent = [a for a in want if a not in col]
    if len(absent) == len(want):
        raise ProtocolError(f"the store has none of the AUs {list(want)}; it has {list(au_names)}")
    if absent:
        notes.append(f"AUs {', '.join(absent)} never occur in the store: all-negative targets")
    full = np.zeros((len(meta), len(want)), dtype=np.uint8)
    for j, a in enumerate(want):
        if a in col:
            full[:, j] = au[:, col[a]] != 0
    index = rows.index.to_numpy(np.int64)
    return index, full[meta.index.get_indexer(index)], want


def _make_folds(
    spec: ProtocolSpec, selected: pd.DataFrame, train_sets: tuple[str, ...], test_sets: tuple[str, ...]
) -> tuple[tuple[Fold, ...], pd.Series]:
    """Folds over the test corpora's groups, training on the training corpora outside the held-out group."""
    ds = selected["dataset"].astype(str)
    key = ds if spec.grouping == "dataset" else _subject_keys(selected)
    rows = selected.index.to_numpy(np.int64)
    in_train = ds.isin(train_sets).to_numpy()
    in_test = ds.isin(test_sets).to_numpy()
    keys = key.to_numpy()
    if spec.grouping == "dataset":
        order = [d for d in test_sets if d in set(keys[in_test])]
    else:
        order = list(pd.unique(keys[in_test]))
    if spec.every_test_corpus:
        for d in test_sets:
            if d not in order:
                others = ", ".join(t for t in train_sets if t != d)
                raise ProtocolError(
                    f"fold 'train {others}, test {d}' of {spec.name} has no test samples: the store has no {d} "
                    "samples with the protocol's labels and classes"
                )
    folds = tuple(Fold(str(g), rows[in_train & (keys != g)], rows[in_test & (keys == g)]) for g in order)
    if len(folds) < 2 and set(train_sets) <= set(test_sets) and not spec.every_test_corpus:
        what = "datasets" if spec.grouping == "dataset" else "subjects"
        raise ProtocolError(f"protocol {spec.name!r} needs at least two {what} to leave out, found {len(folds)}")
    if not folds:
        raise ProtocolError(f"protocol {spec.name!r} has no test samples in {', '.join(test_sets)}")
    for f in folds:
        if len(f.train) == 0:
            raise ProtocolError(f"fold {f.name!r} of protocol {spec.name!r} has no training samples")
    return folds, key


# --------------------------------------------------------------------------------------------------
# running and scoring


#: ``fit_predict(fold, y_train, seed) -> predictions for fold.test`` (class codes or 0/1 AU matrix).
FitPredict = Callable[[Fold, NDArray, int], ArrayLike]


def _check_predictions(protocol: Protocol, fold: Fold, pred: ArrayLike) -> NDArray:
    """The predictions of a fold as codes of its vocabulary (``fold.classes``, set), or a 0/1 AU matrix."""
    p = np.asarray(pred)
    if p.dtype == object and holds_withheld(p):
        raise LabelLeakError(
            f"fold {fold.name!r}: the predictions are withheld label values (read from a table handed to the "
            "method); labels of test samples cannot be returned as predictions"
        )
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
    k = len(fold.classes)
    if p.size and (p.min() < 0 or p.max() >= k or not np.all(p == np.round(p))):
        raise ProtocolError(
            f"fold {fold.name!r}: class predictions must be codes 0..{k - 1} of the fold's classes {list(fold.classes)}"
        )
    return p.astype(np.int64)


def _code_maps(protocol: Protocol, fold: Fold) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """``(protocol code -> fold code, fold code -> protocol code)``; None when the codes are the same.

    A protocol code of a class outside the fold's vocabulary maps to -1.
    """
    if protocol.multilabel or tuple(fold.classes) == tuple(protocol.classes):
        return None
    code = {c: i for i, c in enumerate(protocol.classes)}
    unknown = [c for c in fold.classes if c not in code]
    if unknown:
        raise ProtocolError(f"fold {fold.name!r}: classes {unknown} are not classes of protocol {protocol.name!r}")
    to_protocol = np.array([code[c] for c in fold.classes], dtype=np.int64)
    to_fold = np.full(len(protocol.classes), -1, dtype=np.int64)
    to_fold[to_protocol] = np.arange(len(to_protocol))
    return to_fold, to_protocol


def _fold_targets(protocol: Protocol, fold: Fold, maps: tuple[NDArray, NDArray] | None) -> NDArray:
    """The fold's training labels, in the codes of its vocabulary."""
    y = protocol.labels[fold.train]
    if maps is None:
        return y
    y = maps[0][y]
    if (y < 0).any():
        missing = sorted({protocol.classes[c] for c in protocol.labels[fold.train][y < 0]})
        raise ProtocolError(
            f"fold {fold.name!r} trains on classes {missing} that its classes {list(fold.classes)} lack"
        )
    return y


def _score(protocol: Protocol, y_true: NDArray, y_pred: NDArray) -> dict[str, float]:
    """The protocol's metrics of a set of predictions.

    UF1 and UAR average over the classes its samples have: with extra training corpora, a class only they have
    is not scored on the test corpus, and predicting it is a miss.
    """
    if protocol.multilabel:
        return au_metrics(y_true, y_pred, protocol.classes)
    return classification_metrics(y_true, y_pred, protocol.classes, present_only=True)


def _ids_training_only(protocol: Protocol, train: NDArray[np.int64]) -> contextlib.AbstractContextManager[None]:
    """Keep only the training rows' sample ids in ``protocol.sample_ids`` (when it has them) in the block."""
    ids = protocol.sample_ids
    return contextlib.nullcontext() if ids is None else ids._training_only(train)


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
        ``(n_test,)`` or a 0/1 AU matrix ``(n_test, n_aus)``. Class codes index the fold's vocabulary,
        ``fold.classes`` (a network has one output per class of it): the protocol's fixed classes, else the
        classes of the fold's training samples, which are ``protocol.classes`` unless the training samples lack
        one; the evaluator maps the predictions to ``protocol.classes`` for scoring. While it runs,
        ``protocol.labels`` and ``protocol.sample_ids`` hold the training labels and ids of the fold only
        (reading any other raises :class:`LabelLeakError`; ``protocol.labels`` holds ``protocol.classes``
        codes), and ``protocol.meta`` never holds labels or sample names.
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
            if not fold.classes:  # a fold built by hand
                fold = dataclasses.replace(fold, classes=protocol.fold_classes(fold))
            maps = _code_maps(protocol, fold)
            y_train = _fold_targets(protocol, fold, maps)
            # Every label and sample id but the fold's training ones leaves the protocol until the predictions
            # are back (a sample's name can carry its label).
            with protocol.labels._training_only(fold.train), _ids_training_only(protocol, fold.train):
                out = fit_predict(fold, y_train, int(seed))
            p = _check_predictions(protocol, fold, out)
            if maps is not None:
                p = maps[1][p]
            trues.append(protocol.labels[fold.test])
            outs.append(p)
            rows.append(fold.test)
            fold_names += [fold.name] * len(fold.test)
        y_true, y_pred, row = np.concatenate(trues), np.concatenate(outs), np.concatenate(rows)
        datasets = protocol.meta.loc[row, "dataset"].astype(str).to_numpy()
        for key, value in _score(protocol, y_true, y_pred).items():
            runs.append({"seed": seed, "scope": "overall", "key": "all", "metric": key, "value": value})
        variants = f1_variants(
            y_true, y_pred, np.asarray(fold_names), protocol.classes, multilabel=protocol.multilabel, present_only=True
        )  # fmt: skip  (pooled stays the headline UF1: _score)
        for key, value in variants.items():
            runs.append({"seed": seed, "scope": "f1_variant", "key": "all", "metric": key, "value": value})
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
        ``f1``, ``f1_<AU>``, ``accuracy``, ``n`` for AUs; scope ``f1_variant`` (key ``all``) holds the F1
        computations of :data:`F1_VARIANTS` (see :meth:`f1_variants`).
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

    def f1_variants(self) -> pd.DataFrame:
        """The F1 computations of the data-leakage paper's Figure 2 on this evaluation's predictions.

        Diagnostics beside the headline, never instead of it: ``pooled`` is the headline (macro F1, or mean AU
        F1, over the predictions of all folds concatenated); ``per_fold`` computes the same on each fold and
        averages over folds (biased low: Forman & Scholz 2010); ``micro`` pools true/false positives over
        the classes (AUs), and ``weighted`` averages per-class F1 weighted by support (both biased high on
        imbalanced classes). See :func:`mefast.metrics.f1_variants`.

        Returns
        -------
        pandas.DataFrame
            Index :data:`F1_VARIANTS`; columns ``mean`` and ``std`` over seeds, ``n_seeds``, ``headline``.
        """
        r = self.runs[self.runs["scope"] == "f1_variant"]
        g = r.groupby("metric")["value"]
        out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0)}).reindex(list(F1_VARIANTS))
        out["n_seeds"] = r["seed"].nunique()
        out["headline"] = [v == "pooled" for v in F1_VARIANTS]
        out.index.name = "f1"
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
            scoped = self.runs[self.runs["scope"] == "dataset"]["metric"]
            if metric not in set(scoped):
                known = ", ".join(pd.unique(scoped))
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

        ``summary.csv``, ``f1_variants.csv``, ``by_dataset.csv`` (and ``by_au.csv``), ``runs.csv`` and
        ``predictions.csv``.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        frames = {"summary": self.summary(), "f1_variants": self.f1_variants(), "by_dataset": self.table("dataset")}
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
