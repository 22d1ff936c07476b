"""One call from a store to a scored protocol: :func:`evaluate`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..protocols import Evaluation, Protocol, _subject_keys, cross_validate, make_protocol
from ..store import MEStore
from .baselines import SVM_FEATURES, constant_method, svm_method
from .data import StoreSource
from .models import MODELS
from .registry import get_model
from .trainer import TrainConfig, torch_method

__all__ = ["METHODS", "evaluate", "method_title"]

METHODS: tuple[str, ...] = (*MODELS, "svm", "constant")
_TITLES = {
    "sssnet": "SSSNet",
    "offapexnet": "Off-ApexNet",
    "ststnet": "STSTNet",
    "resnet18": "ResNet-18",
    "svm": "SVM",
    "constant": "Constant",
}


def output_head(proto: Protocol) -> dict[str, Any]:
    """The ``n_outputs`` and ``multilabel`` keywords of a network with one output per class of ``proto.classes``.

    One output per class, or per AU (multi-label) when the protocol scores AUs. This is the protocol-wide head,
    every class of the protocol's samples, test folds included: :func:`evaluate` gives each fold's network one
    output per class of its ``fold.classes`` instead (what its training side may know); only the leaky
    comparison loop of :mod:`mefast.train.leakage`, which reads the test labels by design, uses this one.
    """
    return {"n_outputs": len(proto.classes), "multilabel": proto.multilabel}


def subject_keys(proto: Protocol) -> pd.Series:
    """``dataset/subject`` of every row of ``proto.meta``: the groups of subject-wise validation splits."""
    return _subject_keys(proto.meta)


def method_title(model: str, *, feature: str = "flow", config: TrainConfig | None = None) -> str:
    """Display name of a method, e.g. ``SSSNet + ILC`` or ``SVM (lbptop)``."""
    title = _TITLES.get(model) or (get_model(model).title if model in MODELS else model)
    if model == "svm":
        title += f" ({feature})"
    if getattr(config, "noisy", None) is not None and model in MODELS:
        title += f" + {type(getattr(config, 'noisy', None)).__name__}"
    return title


def training_aus(proto: Protocol, au: NDArray) -> Callable[[ArrayLike], NDArray]:
    """A reader of the AU labels of store rows that, while a fold runs, gives its training rows' only.

    The dual-branch method reads AUs of the rows it trains on; a plain ``lambda rows: au[rows]`` would have handed
    it every sample's AUs, test rows included. The rows are checked against the protocol's sealed labels first,
    which raise :class:`~mefast.errors.LabelLeakError` for any row outside the running fold's training set.
    """

    def read(rows: ArrayLike) -> NDArray:
        proto.labels[rows]  # raises for a row whose labels are sealed (the running fold's test rows)
        return au[np.asarray(rows, dtype=np.int64)]

    return read


def evaluate(
    store: str | Path | MEStore,
    protocol: str = "loso",
    model: str = "sssnet",
    *,
    label: str | None = None,
    seeds: Sequence[int] = (0,),
    config: TrainConfig | None = None,
    feature: str = "flow",
    classes: Sequence[str] | None = None,
    train_datasets: Sequence[str] | None = None,
    test_datasets: Sequence[str] | None = None,
    class_filters: Mapping[str, Sequence[str]] | None = None,
    save_models: str | Path | None = None,
) -> Evaluation:
    """Evaluate a method on a store under a protocol.

    Parameters
    ----------
    store : str, Path or MEStore
        A preprocessed store; only samples marked done take part.
    protocol : str
        One of :data:`mefast.protocols.PROTOCOLS`.
    model : str
        A registered network (:func:`~mefast.train.available_models`, including models other packages
        add through the ``mefast.models`` entry points), ``svm`` or ``constant``.
    label : {"emotion", "au", "objective"}, optional
        Kind of target (default: the protocol's).
    seeds : sequence of int
        One full run per seed, reported as mean and std.
    config : TrainConfig, optional
        Training settings of the networks.
    feature : str
        The SVM's input: ``flow`` or a descriptor array.
    classes : sequence of str, optional
        Restrict the class labels (or AUs) to these.
    train_datasets, test_datasets : sequence of str, optional
        Train on these corpora and test on those (see :func:`mefast.protocols.make_protocol`); a corpus named
        only in ``test_datasets`` is never trained on.
    class_filters : mapping, optional
        ``corpus -> classes`` kept of that corpus (class labels only).
    save_models : str or Path, optional
        Dual-branch models only: save each fold's trained model under this directory (for ``mefast explain``).

    Returns
    -------
    mefast.protocols.Evaluation

    Notes
    -----
    The methods receive the store as a :class:`~mefast.train.data.StoreSource`, whose view of the store holds
    no labels and no sample names, and the training labels of each fold, in the codes of its ``fold.classes``
    (the protocol's fixed classes, else the classes of the fold's training samples: a network's output never
    holds a class only the test fold has); the test labels stay with the evaluator. The networks read sample
    ids (IDC's clean list) through ``Protocol.sample_ids``, which holds the running fold's training ids only;
    with ``save_models`` the evaluator writes each fold's test ids into its saved model after the fold's
    predictions.
    """
    if model not in ("svm", "constant") and model not in MODELS:
        get_model(model)  # raises UnknownModelError naming the registered models
    if model == "svm" and feature not in SVM_FEATURES:
        raise ValueError(f"unknown SVM feature {feature!r}; choose one of {', '.join(SVM_FEATURES)}")
    st = store if isinstance(store, MEStore) else MEStore.open(store, mode="r")
    done = st.done
    meta = st.meta[done]
    proto = make_protocol(
        protocol,
        meta,
        au=st.au[done],
        au_names=st.au_names,
        label=label,
        classes=classes,
        train_datasets=train_datasets,
        test_datasets=test_datasets,
        class_filters=class_filters,
    )
    source = StoreSource(st)
    if model == "constant":
        method = constant_method(multilabel=proto.multilabel)
    elif model == "svm":
        method = svm_method(source, feature=feature, multilabel=proto.multilabel)
    else:
        from .dualbranch.train import dualbranch_method, is_dualbranch, recording_test_ids

        if is_dualbranch(model):
            if proto.multilabel:
                raise ValueError(f"{model} classifies emotions; the protocol asks for {proto.label} labels")
            method = dualbranch_method(  # one output per class of each fold's classes
                str(model).lower(),
                source,
                config=config,
                au_reader=training_aus(proto, st.au),
                au_names=st.au_names,
                save_dir=save_models,
            )
            if save_models is not None and "sample_id" in meta:  # the evaluator writes the test ids, not the method
                method = recording_test_ids(method, save_models, meta["sample_id"].astype(str))
        else:
            config = config or TrainConfig()
            method = torch_method(  # one output per class of each fold's classes (per AU for AUs)
                model,
                source,
                multilabel=proto.multilabel,
                config=config,
                groups=subject_keys(proto),
                sample_ids=proto.sample_ids,
            )
    return cross_validate(proto, method, seeds=seeds, method=method_title(model, feature=feature, config=config))
