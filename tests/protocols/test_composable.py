"""Protocols as data, training and test corpora chosen apart, class filters per corpus, F1 variants (issue 15.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from mefast.metrics import f1_variants
from mefast.protocols import (
    CD6ME_AUS,
    F1_VARIANTS,
    PROTOCOL_SPECS,
    PROTOCOLS,
    ProtocolError,
    ProtocolSpec,
    cross_validate,
    make_protocol,
    register_protocol,
)

CORPORA = ("casme", "casme2", "samm", "mmew", "4dme")
EMOTIONS = ("happiness", "disgust", "surprise", "others")


def make_meta(seed: int, n: int = 120, corpora=CORPORA):
    rng = np.random.default_rng(seed)
    meta = pd.DataFrame(
        {
            "sample_id": [f"x{i}" for i in range(n)],
            "dataset": rng.choice(corpora, n),
            "subject": rng.choice(["1", "2", "3"], n),
            "emotion": rng.choice(EMOTIONS, n),
            "objective_class": rng.integers(1, 8, n),
        }
    )
    return meta, (rng.random((n, 4)) < 0.3).astype(np.uint8), ["AU1", "AU4", "AU12", "AU14"]


def test_every_protocol_is_one_row_of_the_table():
    assert tuple(PROTOCOL_SPECS) == PROTOCOLS
    assert PROTOCOL_SPECS["cd6me"].classes["au"] == CD6ME_AUS and PROTOCOL_SPECS["cd6me"].grouping == "dataset"
    assert PROTOCOL_SPECS["megc2019"].label_columns == {"emotion": "megc2019"}
    assert PROTOCOL_SPECS["megc2018-holdout"].every_test_corpus
    with pytest.raises(ProtocolError, match="grouping must be"):
        ProtocolSpec("kfold", "fold")  # type: ignore[arg-type]


def test_a_registered_protocol_is_built_like_the_built_in_ones():
    meta, _, _ = make_meta(0)
    spec = ProtocolSpec("loso-casme2-samm", "subject", "LOSO on CASME II + SAMM", datasets=("casme2", "samm"),
                        labels=("emotion",), classes={"emotion": ("happiness", "disgust", "surprise")})  # fmt: skip
    register_protocol(spec)
    try:
        p = make_protocol("loso-casme2-samm", meta)
        assert set(p.meta["dataset"]) == {"casme2", "samm"} and p.classes == ("happiness", "disgust", "surprise")
        kept = meta[meta.dataset.isin(["casme2", "samm"]) & meta.emotion.isin(p.classes)]
        assert sorted(p.index) == sorted(kept.index)
        assert len(p.folds) == (kept.dataset + kept.subject).nunique()
        with pytest.raises(ProtocolError, match="exists"):
            register_protocol(spec)
    finally:
        PROTOCOL_SPECS.pop("loso-casme2-samm")


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    train=st.sets(st.sampled_from(CORPORA), min_size=1),
    test=st.sets(st.sampled_from(CORPORA), min_size=1),
    name=st.sampled_from(["loso", "lodo"]),
)
def test_train_test_selection_never_trains_on_a_test_sample(seed, train, test, name):
    meta, _, _ = make_meta(seed, 150)
    try:
        p = make_protocol(name, meta, train_datasets=sorted(train), test_datasets=sorted(test))
    except ProtocolError:
        return  # e.g. a fold without training samples (lodo with test == train == one corpus)
    ds = meta["dataset"]
    key = ds if name == "lodo" else ds + "/" + meta["subject"]
    tested = np.concatenate([f.test for f in p.folds])
    # every sample of the test corpora is tested once, and only those
    assert sorted(tested) == sorted(meta.index[ds.isin(test)])
    for f in p.folds:
        assert set(ds[f.train]) <= train and set(ds[f.test]) <= test
        assert set(key[f.test]) == {f.name} and f.name not in set(key[f.train])  # the held-out group
        assert set(f.train).isdisjoint(f.test)
        assert set(ds[f.train]).isdisjoint(test - train)  # a corpus only tested is never trained on
    if not train & test:
        trained = np.concatenate([f.train for f in p.folds])
        assert set(trained).isdisjoint(tested)
    assert p.train_datasets == tuple(sorted(train)) and p.test_datasets == tuple(sorted(test))


def test_more_training_data_experiments():
    meta, au, names = make_meta(1, 300)
    # Table 5: test on CASME II, train on CASME then CASME + SAMM (CD6ME's AUs, F1_b): one fold each
    for train in (["casme"], ["casme", "samm"]):
        p = make_protocol("cd6me", meta, au=au, au_names=names, train_datasets=train, test_datasets=["casme2"])
        assert [f.name for f in p.folds] == ["casme2"] and p.classes == CD6ME_AUS
        assert set(meta.dataset[p.folds[0].train]) == set(train)
    # Table 8 / 11: LOSO on a corpus with the other corpora as extra training data
    p = make_protocol("loso", meta, label="objective", train_datasets=CORPORA, test_datasets=["samm"])
    for f in p.folds:
        assert f.name.startswith("samm/")
        assert set(meta.dataset[f.train]) == set(CORPORA)  # other SAMM subjects too, never the held-out one
    # Table 10: MEGC2018 hold-out C2 -> SA with extra data
    h = make_protocol(
        "megc2018-holdout", meta, train_datasets=["casme2", "casme", "mmew", "4dme"], test_datasets=["samm"]
    )
    assert [f.name for f in h.folds] == ["samm"] and "samm" not in set(meta.dataset[h.folds[0].train])
    assert set(meta.loc[h.index, "objective_class"]) <= {1, 2, 3, 4, 5}
    with pytest.raises(ProtocolError, match="fixed corpora"):
        make_protocol("cd6me", meta, au=au, au_names=names, datasets=["samm"])
    with pytest.raises(ProtocolError, match="names \\['samm'\\] more than once"):
        make_protocol("lodo", meta, test_datasets=["samm", "samm"])
    with pytest.raises(ProtocolError, match="needs samples of smic"):
        make_protocol("lodo", meta, train_datasets=["smic"], test_datasets=["smic"])


def test_extra_corpora_classes_are_not_scored_on_the_test_corpus():
    """LOSO on CASME II with SAMM (which adds anger) as extra training data: a test sample predicted as anger
    is a miss of its own class, and anger, a class CASME II's samples lack, is not averaged in with F1 0."""
    from mefast.protocols import cross_validate

    rows = [
        {"sample_id": f"{ds}{s}{e}{k}", "dataset": ds, "subject": s, "emotion": e, "megc2019": "",
         "objective_class": 1}
        for ds, emos in (("casme2", ["disgust", "happiness", "surprise"]), ("samm", ["anger", "happiness", "surprise"]))
        for s in ("01", "02", "03")
        for e in emos
        for k in range(2)
    ]  # fmt: skip
    meta = pd.DataFrame(rows)
    truth = dict(zip(meta.sample_id, meta.emotion, strict=True))
    p = make_protocol("loso", meta, train_datasets=["casme2", "samm"], test_datasets=["casme2"])
    assert "anger" in p.classes

    def one_anger_per_fold(fold, y, seed):
        out = meta.loc[fold.test, "sample_id"].map(truth).map(p.classes.index).to_numpy().copy()
        out[0] = p.classes.index("anger")
        return out

    ev = cross_validate(p, one_anger_per_fold)
    r = ev.runs.set_index(["scope", "key", "metric"])["value"]
    pr = ev.predictions
    test_classes = ["disgust", "happiness", "surprise"]
    assert r[("overall", "all", "uf1")] == pytest.approx(
        f1_score(pr.true, pr.pred, labels=test_classes, average="macro")
    )
    assert r[("overall", "all", "uf1")] == pytest.approx(8 / 9)  # 3 misses of disgust's 6: F1 2/3, others 1
    variants = ev.f1_variants()
    assert variants.loc["pooled", "mean"] == pytest.approx(8 / 9)  # the headline variant is the UF1
    assert bool(variants.loc["pooled", "headline"])


def test_class_filters_per_corpus():
    meta, au, names = make_meta(2, 300)
    filters = {"casme": ["happiness", "surprise"], "samm": ["disgust"]}
    p = make_protocol("lodo", meta, class_filters=filters)
    kept = meta.loc[p.index]
    assert set(kept.emotion[kept.dataset == "casme"]) == {"happiness", "surprise"}
    assert set(kept.emotion[kept.dataset == "samm"]) == {"disgust"}
    assert set(kept.emotion[kept.dataset == "mmew"]) == set(EMOTIONS)  # unfiltered corpora keep every class
    dropped = ((meta.dataset == "casme") & ~meta.emotion.isin(filters["casme"])).sum()
    assert any(f"left out {dropped} casme samples" in n for n in p.notes)
    with pytest.raises(ProtocolError, match="AU labels have none"):
        make_protocol("cd6me", meta, au=au, au_names=names, class_filters=filters)
    with pytest.raises(ProtocolError, match="non-empty sequence"):
        make_protocol("lodo", meta, class_filters={"samm": "disgust"})


def _sk_variants(t, p, folds, multilabel, labels):
    kw = {"zero_division": np.nan}
    lab = None if multilabel else list(range(len(labels)))
    per_fold = [f1_score(t[folds == f], p[folds == f], average="macro", **kw) for f in pd.unique(folds)]
    return {
        "pooled": f1_score(t, p, labels=lab, average="macro", **kw),
        "per_fold": np.nanmean(per_fold),
        "micro": f1_score(t, p, labels=lab, average="micro", **kw),
        "weighted": f1_score(t, p, labels=lab, average="weighted", **kw),
    }


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(8, 80), multilabel=st.booleans())
def test_f1_variants_equal_scikit_learn(seed, n, multilabel):
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c", "d"]
    folds = rng.integers(0, 5, n)
    if multilabel:
        t, p = (rng.random((n, 4)) < 0.3).astype(np.uint8), (rng.random((n, 4)) < 0.3).astype(np.uint8)
    else:
        t, p = rng.integers(0, 4, n), rng.integers(0, 4, n)
    if multilabel and not (t.any() or p.any()):
        return
    got = f1_variants(t, p, folds, labels, multilabel=multilabel)
    want = _sk_variants(t, p, folds, multilabel, labels)
    assert list(got) == list(F1_VARIANTS)
    for k in F1_VARIANTS:
        assert got[k] == pytest.approx(want[k], nan_ok=True), k


def test_evaluation_reports_the_variants_beside_the_headline(tmp_path):
    meta, au, names = make_meta(3, 200)
    rng = np.random.default_rng(0)
    p = make_protocol("loso", meta)
    ev = cross_validate(p, lambda f, y, s: rng.integers(0, len(p.classes), len(f.test)), seeds=[0, 1])
    v = ev.f1_variants()
    assert list(v.index) == list(F1_VARIANTS) and v.loc["pooled", "headline"] and v["headline"].sum() == 1
    assert v.loc["pooled", "mean"] == pytest.approx(ev.summary().loc["uf1", "mean"])  # the headline itself
    for seed in (0, 1):
        pr = ev.predictions[ev.predictions.seed == seed]
        codes = {c: i for i, c in enumerate(p.classes)}
        t, q = pr["true"].map(codes).to_numpy(), pr["pred"].map(codes).to_numpy()
        want = _sk_variants(t, q, pr["fold"].to_numpy(), False, p.classes)
        got = ev.runs.query("seed == @seed and scope == 'f1_variant'").set_index("metric")["value"]
        for k in F1_VARIANTS:
            assert got[k] == pytest.approx(want[k])
    a = make_protocol("lodo", meta, label="au", au=au, au_names=names)
    ev_au = cross_validate(a, lambda f, y, s: np.ones((len(f.test), 4), np.uint8))
    assert ev_au.f1_variants().loc["pooled", "mean"] == pytest.approx(ev_au.summary().loc["f1", "mean"])
    assert (tmp_path / "f1_variants.csv").name in {q.name for q in ev_au.to_csv(tmp_path)}


def test_cli_chooses_training_and_test_corpora(tmp_path, capsys):
    pytest.importorskip("torch")
    from mefast.cli import main
    from mefast.train.synthetic import write_flow_store

    store = tmp_path / "s.zarr"
    write_flow_store(store, datasets=("casme2", "samm", "casme3a"), n_subjects=2, clips_per_subject=3, size=16)
    args = ["evaluate", "--store", str(store), "--protocol", "lodo", "--model", "constant",
            "--train-datasets", "casme2,casme3a", "--test-datasets", "samm"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "F1 computed other ways" in out and "per_fold" in out
    pred = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert set(pred["dataset"]) == {"samm"} and set(pred["fold"]) == {"samm"}
    assert main([*args, "--class-filter", "samm"]) == 2
    assert "CORPUS=CLASS1,CLASS2" in capsys.readouterr().err
