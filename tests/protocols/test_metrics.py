"""Metrics against scikit-learn, on random and degenerate predictions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, recall_score

from mefast.metrics import (
    au_f1_scores,
    au_metrics,
    class_report,
    classification_metrics,
    confusion_matrix,
    f1_variants,
)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 80), k=st.integers(1, 6))
def test_class_metrics_equal_sklearn(seed, n, k):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, n)
    y_pred = rng.integers(0, k, n)
    classes = [f"c{i}" for i in range(k)]
    m = classification_metrics(y_true, y_pred, classes)
    labels = list(range(k))
    want_f1 = f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=np.nan)
    want_uar = recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=np.nan)
    np.testing.assert_allclose(m["uf1"], want_f1, rtol=1e-12)
    np.testing.assert_allclose(m["uar"], want_uar, rtol=1e-12)
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert m["n"] == n
    per_class = class_report(y_true, y_pred, classes)["f1"].to_numpy()
    np.testing.assert_allclose(
        per_class, f1_score(y_true, y_pred, labels=labels, average=None, zero_division=np.nan), equal_nan=True
    )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 60), k=st.integers(2, 6))
def test_present_only_averages_over_the_classes_the_truth_has(seed, n, k):
    """present_only is scikit-learn's macro average with labels = the classes y_true has, however many other
    classes the predictions name."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k // 2 + 1, n)  # the upper classes only predicted, never true
    y_pred = rng.integers(0, k, n)
    m = classification_metrics(y_true, y_pred, [f"c{i}" for i in range(k)], present_only=True)
    labels = sorted(set(y_true.tolist()))
    np.testing.assert_allclose(m["uf1"], f1_score(y_true, y_pred, labels=labels, average="macro"), rtol=1e-12)
    np.testing.assert_allclose(m["uar"], recall_score(y_true, y_pred, labels=labels, average="macro"), rtol=1e-12)
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    v = f1_variants(y_true, y_pred, np.zeros(n), [f"c{i}" for i in range(k)], multilabel=False, present_only=True)
    np.testing.assert_allclose(v["pooled"], m["uf1"], rtol=1e-12)


def test_uf1_and_uar_every_class_present():
    # All classes present in the truth: UAR equals scikit-learn's balanced accuracy.
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(3)
    y_true = np.repeat(np.arange(3), [50, 30, 5])
    y_pred = rng.integers(0, 3, len(y_true))
    m = classification_metrics(y_true, y_pred, ["negative", "positive", "surprise"])
    assert m["uar"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    # Always predicting the majority class: accuracy looks fine, UF1 and UAR do not.
    m = classification_metrics(y_true, np.zeros_like(y_true), ["negative", "positive", "surprise"])
    assert m["accuracy"] == pytest.approx(50 / 85)
    assert m["uar"] == pytest.approx(1 / 3)
    assert m["uf1"] == pytest.approx((2 * 50 / (2 * 50 + 35)) / 3)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 60), k=st.integers(1, 12))
def test_au_f1_equals_sklearn(seed, n, k):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n, k)) < rng.uniform(0.05, 0.6)).astype(np.uint8)
    y_pred = (rng.random((n, k)) < 0.4).astype(np.uint8)
    names = [f"AU{i}" for i in range(k)]
    want = np.array([f1_score(y_true[:, j], y_pred[:, j], zero_division=np.nan) for j in range(k)])
    got = au_f1_scores(y_true, y_pred)
    np.testing.assert_allclose(got, want, equal_nan=True)
    m = au_metrics(y_true, y_pred, names)
    if np.isnan(want).all():
        assert np.isnan(m["f1"])
    else:
        assert m["f1"] == pytest.approx(np.nanmean(want))
    for j, a in enumerate(names):
        np.testing.assert_equal(m[f"f1_{a}"], want[j])


def test_constant_positive_au_f1_is_2p_over_1_plus_p():
    y = np.zeros((100, 2), np.uint8)
    y[:20, 0] = 1
    y[:50, 1] = 1
    f1 = au_f1_scores(y, np.ones_like(y))
    np.testing.assert_allclose(f1, [2 * 0.2 / 1.2, 2 * 0.5 / 1.5])


def test_undefined_scores_are_nan_and_left_out():
    y = np.array([[1, 0], [0, 0], [1, 0]], np.uint8)
    m = au_metrics(y, y, ["AU1", "AU2"])
    assert m["f1_AU1"] == 1.0 and np.isnan(m["f1_AU2"]) and m["f1"] == 1.0
    # A class never present nor predicted does not count towards UF1 / UAR.
    m = classification_metrics([0, 1, 1], [0, 1, 1], ["a", "b", "c"])
    assert m["uf1"] == 1.0 and m["uar"] == 1.0


def test_confusion_matrix_layout():
    cm = confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        ([0, 1], [0], "differ in length"),
        ([0, 3], [0, 1], "outside 0..2"),
        ([[0, 1]], [0, 1], "1-D"),
        ([0.5, 1], [0, 1], "integer class codes"),
        ([0, -1], [0, 1], "class code -1"),
    ],
)
def test_bad_class_inputs(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        classification_metrics(y_true, y_pred, ["a", "b", "c"])


def test_bad_au_inputs():
    with pytest.raises(ValueError, match="only 0 and 1"):
        au_f1_scores([[0, 2]], [[0, 1]])
    with pytest.raises(ValueError, match="differ in shape"):
        au_f1_scores([[0, 1]], [[0, 1, 1]])
    with pytest.raises(ValueError, match="2-D"):
        au_f1_scores([0, 1], [0, 1])
    with pytest.raises(ValueError, match="au_names"):
        au_metrics([[0, 1]], [[0, 1]], ["AU1"])
