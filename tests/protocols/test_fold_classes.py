"""A fold's class vocabulary (the output a method trains) comes from what its training side may know.

The protocol's fixed classes when it has them, else the classes of the fold's training samples: under LODO the
casme fold's network had an output for ``tense``, a class only the held-out corpus has, because the class list
was built from every row, test folds included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mefast.protocols import MEGC2019_CLASSES, Fold, ProtocolError, cross_validate, make_protocol

CORPORA = ("casme", "casme2", "samm")


def _meta(seed: int = 0, n: int = 90) -> pd.DataFrame:
    """Three corpora of three emotions; casme alone also has ``tense`` and samm alone ``contempt``."""
    rng = np.random.default_rng(seed)
    ds = np.repeat(CORPORA, n // 3)
    emo = rng.choice(["happiness", "disgust", "surprise"], len(ds)).astype(object)
    emo[np.flatnonzero(ds == "casme")[:4]] = "tense"
    emo[np.flatnonzero(ds == "samm")[:3]] = "contempt"
    megc = {"happiness": "positive", "surprise": "surprise"}
    return pd.DataFrame(
        {
            "sample_id": [f"{d}/s{i % 3}/c{i}" for i, d in enumerate(ds)],
            "dataset": ds,
            "subject": [f"s{i % 3}" for i in range(len(ds))],
            "emotion": emo,
            "megc2019": [megc.get(e, "negative") for e in emo],
            "objective_class": rng.integers(1, 5, len(ds)),  # no class 5 anywhere
        }
    )


def test_lodo_fold_classes_hold_no_class_only_its_test_corpus_has():
    meta = _meta()
    p = make_protocol("lodo", meta, label="emotion")
    assert {"tense", "contempt"} <= set(p.classes)  # the evaluator's vocabulary: every class, scored
    emo = meta["emotion"]
    for f in p.folds:
        assert f.classes == tuple(c for c in p.classes if c in set(emo.loc[f.train]))
    by = {f.name: f for f in p.folds}
    assert "tense" not in by["casme"].classes and "contempt" in by["casme"].classes
    assert "contempt" not in by["samm"].classes and "tense" in by["samm"].classes


def test_methods_train_and_predict_in_the_fold_classes_and_are_scored_in_the_protocols():
    """``y_train`` codes index ``fold.classes``; predictions in those codes are scored as the classes they name."""
    meta = _meta(1)
    p = make_protocol("lodo", meta, label="emotion")
    emo = meta["emotion"]
    seen = {}

    def method(fold, y_train, seed):
        seen[fold.name] = fold.classes
        np.testing.assert_array_equal(np.asarray(fold.classes, dtype=object)[y_train], emo.loc[fold.train])
        code = {c: i for i, c in enumerate(fold.classes)}  # predict every test sample's class when the fold has it
        return np.array([code.get(emo[r], code["happiness"]) for r in fold.test])

    ev = cross_validate(p, method)
    assert set(seen) == set(CORPORA) and "tense" not in seen["casme"]
    pr = ev.predictions.set_index("row")
    right = np.array([emo[r] in seen[d] for r, d in zip(pr.index, pr["dataset"], strict=True)])
    assert (pr.loc[right, "pred"] == emo.loc[pr.index[right]]).all()
    assert set(pr.loc[~right, "true"]) == {"tense", "contempt"} and (pr.loc[~right, "pred"] == "happiness").all()
    with pytest.raises(ProtocolError, match=r"codes 0\.\.\d+ of the fold's classes"):
        cross_validate(p, lambda f, y, s: np.full(len(f.test), len(f.classes)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), fold_at=st.integers(0, 2), protocol=st.sampled_from(["lodo", "loso"]))
def test_a_folds_classes_do_not_depend_on_its_test_labels(seed, fold_at, protocol):
    """Relabelling a fold's test samples (with any class, a new one too) leaves that fold's classes as they were."""
    meta = _meta(seed % 1000)
    p = make_protocol(protocol, meta, label="emotion")
    fold = p.folds[fold_at % len(p.folds)]
    rng = np.random.default_rng(seed)
    other = meta.copy()
    other.loc[fold.test, "emotion"] = rng.choice(["happiness", "fear", "sadness", "tense"], len(fold.test))
    q = make_protocol(protocol, other, label="emotion")
    assert {f.name: f.classes for f in q.folds}[fold.name] == fold.classes


def test_fixed_class_lists_are_every_folds_whole_list():
    """A protocol's fixed classes (``classes=``, megc2019, megc2018's I-V) are each fold's, absent ones included."""
    meta = _meta(2)
    p = make_protocol("lodo", meta, label="emotion", classes=["happiness", "disgust", "surprise", "tense"])
    assert p.fixed_classes and all(f.classes == p.classes for f in p.folds)  # tense: listed, so known
    m = make_protocol("megc2019", meta.assign(dataset=np.where(meta.dataset == "casme", "smic", meta.dataset)))
    assert m.classes == MEGC2019_CLASSES and all(f.classes == MEGC2019_CLASSES for f in m.folds)
    o = make_protocol(
        "megc2018-composite", meta.assign(dataset=np.where(meta.dataset == "casme", "casme2", meta.dataset))
    )
    assert o.classes == ("1", "2", "3", "4", "5") and all(f.classes == o.classes for f in o.folds)
    assert any("classes 5 of the protocol have no samples" in n for n in o.notes)  # kept: the list is the protocol's
    with pytest.raises(ProtocolError, match=r"classes \['fear'\] have no samples"):  # a named class must have some
        make_protocol("lodo", meta, label="emotion", classes=["happiness", "fear"])


def test_a_fold_built_by_hand_gets_its_training_classes():
    meta = _meta(3)
    p = make_protocol("lodo", meta, label="emotion")
    casme = {f.name: f for f in p.folds}["casme"]
    bare = Fold("casme", casme.train, casme.test)
    hand = type(p)(p.name, p.label, p.index, p.meta, p.classes, (bare, *p.folds[1:]), p.labels)
    seen = []
    cross_validate(hand, lambda f, y, s: (seen.append(f.classes), np.zeros(len(f.test), np.int64))[1])
    assert seen[0] == casme.classes and "tense" not in seen[0]


def test_evaluate_gives_each_folds_network_its_classes(flow_store_path, tmp_path):
    """``evaluate`` under LODO: the network of the fold whose test corpus alone has a class has no output for it."""
    pytest.importorskip("torch")
    import shutil

    from mefast.store import MEStore
    from mefast.train import TrainConfig, evaluate
    from mefast.train import trainer as trainer_mod

    shutil.copytree(flow_store_path, tmp_path / "s.zarr")
    st = MEStore.open(tmp_path / "s.zarr", mode="r+")
    meta = st.meta
    only = meta.index[meta["dataset"] == "casme2"][:2]
    meta.loc[only, "emotion"] = "tense"  # only casme2 has tense
    st.rewrite_meta(meta, st.au)
    heads = []
    real = trainer_mod.Trainer.__init__

    def spy(self, model, source, *, n_outputs, **kw):
        heads.append(n_outputs)
        real(self, model, source, n_outputs=n_outputs, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(trainer_mod.Trainer, "__init__", spy)
    try:
        ev = evaluate(tmp_path / "s.zarr", "lodo", "sssnet", label="emotion",
                      config=TrainConfig(epochs=1, batch_size=8, device="cpu", threads=1))  # fmt: skip
    finally:
        mp.undo()
    p = make_protocol("lodo", meta, label="emotion")
    assert "tense" in p.classes and ev.classes == p.classes
    assert heads == [len(f.classes) for f in p.folds]
    by = {f.name: f for f in p.folds}
    assert "tense" not in by["casme2"].classes and len(by["casme2"].classes) < len(p.classes)
