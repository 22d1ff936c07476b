"""Baselines: a constant predictor and support vector machines (scikit-learn).

``constant``: for AU detection always positive (the CD6ME baseline: its F1 on an AU is ``2p / (1 + p)``
for prevalence ``p``); for classes the most frequent class of the training fold.
``svm``: an RBF SVC (C = 28, as in MEB) after standardisation fitted on the training fold, on the
flattened flow resized to 32 x 32 (u, v) or on a descriptor vector (``lbptop``, ``biwoof``, ``mdmo``, and the
extra hand-crafted ones ``hoof``, ``lbpsip``, ``lbpmop``, ``hog3d``, ``higo``).
AU detection fits one SVC per AU; an AU with a single label value in the training fold is predicted as
that value.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..flow import resize_flow
from ..protocols import FitPredict, Fold
from .data import Source

__all__ = ["SVM_FEATURES", "constant_method", "svm_features", "svm_method"]

SVM_FEATURES: tuple[str, ...] = ("flow", "lbptop", "biwoof", "mdmo", "hoof", "lbpsip", "lbpmop", "hog3d", "higo")


def constant_method(*, multilabel: bool) -> FitPredict:
    """Always-positive AUs, or the training fold's most frequent class."""

    def fit_predict(fold: Fold, y_train: NDArray, seed: int) -> NDArray:
        if multilabel:
            return np.ones((len(fold.test), y_train.shape[1]), dtype=np.uint8)
        dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(y_train), 1)), y_train)
        return dummy.predict(np.zeros((len(fold.test), 1)))

    return fit_predict


def svm_features(source: Source, rows: NDArray, feature: str, *, flow_size: int = 32) -> NDArray[np.float32]:
    """``(n, D)`` feature vectors: flattened ``flow_size``-square flow (u, v) or a stored descriptor."""
    if feature not in SVM_FEATURES:
        raise ValueError(f"unknown SVM feature {feature!r}; choose one of {', '.join(SVM_FEATURES)}")
    if feature not in source.features:
        raise ValueError(f"the store has no {feature!r} array; it has {list(source.features)}")
    a = source.read(feature, rows)
    if feature == "flow":
        a = resize_flow(np.moveaxis(a, 1, -1), (flow_size, flow_size))
    a = a.reshape(len(rows), -1).astype(np.float32, copy=False)
    if not np.isfinite(a).all():
        bad = rows[~np.isfinite(a).all(axis=1)][:5].tolist()
        raise ValueError(f"samples at store rows {bad} have non-finite {feature} values (not preprocessed?)")
    return a


def _fit_predict_column(x_train: NDArray, y: NDArray, x_test: NDArray, c: float, seed: int) -> NDArray:
    if len(np.unique(y)) < 2:
        return np.full(len(x_test), y[0] if len(y) else 0, dtype=y.dtype)
    model = make_pipeline(StandardScaler(), SVC(C=c, random_state=seed))
    return model.fit(x_train, y).predict(x_test)


def svm_method(
    source: Source, *, feature: str = "flow", multilabel: bool, c: float = 28.0, flow_size: int = 32
) -> FitPredict:
    """SVC on a stored feature (see the module docstring)."""
    if feature not in SVM_FEATURES:
        raise ValueError(f"unknown SVM feature {feature!r}; choose one of {', '.join(SVM_FEATURES)}")

    def fit_predict(fold: Fold, y_train: NDArray, seed: int) -> NDArray:
        x_train = svm_features(source, fold.train, feature, flow_size=flow_size)
        x_test = svm_features(source, fold.test, feature, flow_size=flow_size)
        if not multilabel:
            return _fit_predict_column(x_train, y_train, x_test, c, seed)
        cols = [_fit_predict_column(x_train, y_train[:, j], x_test, c, seed) for j in range(y_train.shape[1])]
        return np.stack(cols, axis=1).astype(np.uint8)

    return fit_predict
