"""The data-leakage experiment: honest and leaky side by side, the leaky path out of evaluate's reach."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.protocols import LabelLeakError, cross_validate, make_protocol  # noqa: E402
from mefast.store import MEStore  # noqa: E402
from mefast.train import StoreSource, TrainConfig, evaluate, leakage  # noqa: E402
from mefast.train.leakage import LEAKY_LABEL, STRATEGIES, leakage_comparison  # noqa: E402

CFG = TrainConfig(epochs=3, batch_size=8, lr=1e-3, device="cpu", threads=1, patience=1)


def test_evaluate_has_no_way_to_the_leaky_path(flow_store_path, monkeypatch):
    # nothing in evaluate's or TrainConfig's interface selects the test fold for early stopping
    names = set(inspect.signature(evaluate).parameters) | {f.name for f in dataclasses.fields(TrainConfig)}
    assert not {n for n in names if "leak" in n or "test_fold" in n or "select_on" in n}

    def refuse(*args, **kwargs):
        raise AssertionError("evaluate reached the leaky trainer")

    monkeypatch.setattr(leakage._TestFoldStoppingTrainer, "__init__", refuse)
    for es in (False, True):
        evaluate(flow_store_path, "loso", "ststnet", config=dataclasses.replace(CFG, early_stopping=es))


def _leaky_trainer(st, proto, fold, config):
    """The leaky (test-fold stopping) STSTNet trainer of ``fold``, handed that fold's test labels."""
    return leakage._TestFoldStoppingTrainer(
        "ststnet",
        StoreSource(st),
        n_outputs=len(proto.classes),
        multilabel=False,
        config=config,
        test_rows=fold.test,
        test_labels=proto.labels[fold.test],
    )


def test_the_leaky_method_cannot_run_inside_cross_validate(flow_store_path):
    # The leaky trainer needs the test labels while training: cross_validate withholds them, so the read raises.
    st = MEStore.open(flow_store_path)
    proto = make_protocol("loso", st.meta, au=st.au, au_names=st.au_names)

    def leaky_fit_predict(fold, y_train, seed):
        trainer = _leaky_trainer(st, proto, fold, CFG)
        return trainer.fit(fold.train, y_train, seed=seed).predict(fold.test)

    with pytest.raises(LabelLeakError):
        cross_validate(proto, leaky_fit_predict)


def test_leaky_trainer_keeps_the_best_test_epoch(flow_store_path):
    st = MEStore.open(flow_store_path)
    proto = make_protocol("loso", st.meta, au=st.au, au_names=st.au_names)
    fold = proto.folds[0]
    tr = _leaky_trainer(st, proto, fold, dataclasses.replace(CFG, early_stopping=True, patience=CFG.epochs))
    tr.fit(fold.train, proto.labels[fold.train], seed=0)
    assert len(tr.val_rows_) == 0  # trains on the whole training fold
    scores = [h["val"] for h in tr.history_]
    assert tr.best_epoch_ == int(np.argmax(scores))  # the epoch the test fold liked best


def test_comparison_labels_the_leaky_column_everywhere(flow_store_path, tmp_path):
    lc = leakage_comparison(flow_store_path, "loso", ["ststnet"], config=CFG)
    table = lc.table()
    assert list(table["strategy"]) == list(STRATEGIES)
    assert table["leaky"].tolist() == [False, False, True]
    assert LEAKY_LABEL in lc.to_markdown()
    csv = lc.to_csv(tmp_path / "t3.csv").read_text()
    assert LEAKY_LABEL in csv and "True" in csv
    leaky_eval = lc.evaluations[("ststnet", LEAKY_LABEL)]
    assert "LEAKY" in leaky_eval.method and any("LEAKY" in n for n in leaky_eval.notes)
    honest = [e for (m, s), e in lc.evaluations.items() if s != LEAKY_LABEL]
    assert all("LEAKY" not in e.method for e in honest)
