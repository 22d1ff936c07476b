"""Protocols: folds never share a subject / dataset, test labels are sealed, metrics over all folds."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from mefast.protocols import (
    CD6ME_AUS,
    LabelLeakError,
    ProtocolError,
    combine_tables,
    cross_validate,
    make_protocol,
    tables_to_markdown,
)

EMOTIONS = ("happiness", "disgust", "surprise", "repression")
MEGC = {"happiness": "positive", "disgust": "negative", "repression": "negative", "surprise": "surprise"}


def make_meta(seed: int, n: int = 80, datasets=("casme2", "samm", "smic", "casme3a")):
    rng = np.random.default_rng(seed)
    emo = rng.choice(EMOTIONS, n)
    meta = pd.DataFrame(
        {
            "sample_id": [f"x{i}" for i in range(n)],
            "dataset": rng.choice(datasets, n),
            # the same subject codes in every corpus: they must still be different subjects
            "subject": rng.choice(["01", "02", "03", "04"], n),
            "emotion": emo,
            "megc2019": [MEGC[e] for e in emo],
            "objective_class": rng.integers(0, 8, n),
        }
    )
    au = (rng.random((n, 5)) < 0.3).astype(np.uint8)
    return meta, au, ["AU1", "AU2", "AU4", "AU12", "AU43"]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(10, 120))
def test_loso_never_shares_a_subject(seed, n):
    meta, _, _ = make_meta(seed, n)
    try:
        p = make_protocol("loso", meta)
    except ProtocolError:
        return  # fewer than two subjects drawn
    key = meta["dataset"] + "/" + meta["subject"]
    tested = np.concatenate([f.test for f in p.folds])
    assert sorted(tested) == sorted(p.index)  # every sample tested exactly once
    for f in p.folds:
        assert set(key[f.train]).isdisjoint(set(key[f.test]))
        assert set(key[f.test]) == {f.name}
        assert len(f.train) + len(f.test) == len(p.index)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(10, 120))
def test_lodo_and_cd6me_never_share_a_dataset(seed, n):
    meta, au, names = make_meta(seed, n)
    for name in ("lodo", "cd6me"):
        try:
            p = make_protocol(name, meta, au=au, au_names=names)
        except ProtocolError:
            continue
        for f in p.folds:
            assert set(meta["dataset"][f.train]).isdisjoint(set(meta["dataset"][f.test]))
            assert set(meta["dataset"][f.test]) == {f.name}


def test_loso_keys_subjects_by_dataset():
    meta, _, _ = make_meta(0)
    p = make_protocol("loso", meta)
    assert len(p.folds) == (meta["dataset"] + meta["subject"]).nunique() == 16


def test_cd6me_selection_and_aus():
    meta, au, names = make_meta(1, 200, datasets=("casme2", "samm", "smic", "casme3a", "mmew"))
    p = make_protocol("cd6me", meta, au=au, au_names=names)
    assert p.classes == CD6ME_AUS and p.label == "au" and p.multilabel
    assert [f.name for f in p.folds] == ["casme2", "samm", "mmew", "casme3a"]  # CD6ME order, no SMIC
    assert "smic" not in set(p.meta["dataset"])
    y = p.labels[p.index]
    assert y.shape == (len(p.index), 12)
    np.testing.assert_array_equal(y[:, CD6ME_AUS.index("AU4")], au[p.index, names.index("AU4")])
    assert not y[:, CD6ME_AUS.index("AU5")].any()  # absent from the store: all negative, and noted
    assert any("AU5" in n for n in p.notes) and any("casme," in n for n in p.notes)


def test_megc2019_and_megc2018():
    meta, _, _ = make_meta(2, 300)
    p = make_protocol("megc2019", meta)
    assert p.classes == ("negative", "positive", "surprise")
    assert set(p.meta["dataset"]) == {"casme2", "samm", "smic"}
    np.testing.assert_array_equal(np.asarray(p.classes)[p.labels[p.index]], meta.loc[p.index, "megc2019"].to_numpy())
    h = make_protocol("megc2018-holdout", meta)
    assert [(set(meta.dataset[f.train]), f.name) for f in h.folds] == [({"casme2"}, "samm"), ({"samm"}, "casme2")]
    assert set(meta.loc[h.index, "objective_class"]) <= {1, 2, 3, 4, 5}
    assert h.classes == ("1", "2", "3", "4", "5")
    c = make_protocol("megc2018-composite", meta)
    assert set(c.meta["dataset"]) == {"casme2", "samm"} and len(c.folds) == 8


def test_bad_requests_give_clear_errors():
    meta, au, names = make_meta(3)
    with pytest.raises(ProtocolError, match="unknown protocol 'kfold'"):
        make_protocol("kfold", meta)
    with pytest.raises(ProtocolError, match="unknown label kind 'valence'"):
        make_protocol("loso", meta, label="valence")
    with pytest.raises(ProtocolError, match="evaluates au labels, not 'emotion'"):
        make_protocol("cd6me", meta, label="emotion", au=au, au_names=names)
    with pytest.raises(ProtocolError, match="no AU labels"):
        make_protocol("loso", meta, label="au", au=np.zeros_like(au), au_names=names)
    with pytest.raises(ProtocolError, match="needs the store's AU matrix"):
        make_protocol("loso", meta, label="au")
    with pytest.raises(ProtocolError, match="no emotion labels"):
        make_protocol("loso", meta.assign(emotion=""))
    with pytest.raises(ProtocolError, match="no objective_class labels"):
        make_protocol("loso", meta.assign(objective_class=0), label="objective")
    with pytest.raises(ProtocolError, match="lacks the columns \\['megc2019'\\]"):
        make_protocol("megc2019", meta.drop(columns="megc2019"))
    with pytest.raises(ProtocolError, match="has no test samples: the store has no samm samples"):
        make_protocol("megc2018-holdout", meta[meta.dataset != "samm"])
    with pytest.raises(ProtocolError, match="needs samples of smic, casme2, samm"):
        make_protocol("megc2019", meta[meta.dataset == "casme3a"])
    with pytest.raises(ProtocolError, match="at least two datasets"):
        make_protocol("lodo", meta[meta.dataset == "samm"])
    with pytest.raises(ProtocolError, match="classes \\['anger'\\] have no samples"):
        make_protocol("loso", meta, classes=["happiness", "anger"])


def test_fold_without_test_samples_is_refused_at_run_time():
    from mefast.protocols import Fold

    meta, _, _ = make_meta(4)
    p = make_protocol("loso", meta)
    empty = Fold("nobody", p.folds[0].train, np.array([], np.int64))
    broken = type(p)(p.name, p.label, p.index, p.meta, p.classes, (*p.folds, empty), p.labels)
    with pytest.raises(ProtocolError, match="fold 'nobody' .* has no test samples"):
        cross_validate(broken, lambda f, y, s: np.zeros(len(f.test), np.int64))


def test_test_labels_cannot_be_read_before_the_fold_ends():
    meta, _, _ = make_meta(5)
    p = make_protocol("loso", meta)
    seen = []

    def peeking(fold, y_train, seed):
        assert len(y_train) == len(fold.train)
        p.labels[fold.train]  # the training labels are readable
        seen.append(fold.name)
        return p.labels[fold.test]  # "early stopping on the test subject"

    with pytest.raises(LabelLeakError, match="read before the fold finished"):
        cross_validate(p, peeking)
    assert seen == [p.folds[0].name]
    # a single leaked row is caught too, and the seal is lifted once the fold is over
    with pytest.raises(LabelLeakError):
        cross_validate(p, lambda f, y, s: p.labels[np.r_[f.train[:3], f.test[:1]]])
    assert len(p.labels[p.index]) == len(p.index)


def test_labels_are_looked_up_by_row_number_only():
    """A boolean mask cast to row numbers would read rows 0 and 1: it is refused, as are non-integer rows."""
    from mefast.protocols import SealedLabels

    lab = SealedLabels(np.array([0, 1, 5, 9]), np.array([2, 1, 0, 3]))
    assert lab[np.array([5, 9])].tolist() == [0, 3]
    assert lab[[]].tolist() == []
    with pytest.raises(ProtocolError, match="not by a boolean mask"):
        lab[np.array([False, False, True, True])]
    with pytest.raises(ProtocolError, match="must be integers"):
        lab[np.array([5.0, 9.0])]


def test_predictions_of_wrong_shape_are_refused():
    meta, au, names = make_meta(6)
    p = make_protocol("loso", meta)
    with pytest.raises(ProtocolError, match="predictions have shape"):
        cross_validate(p, lambda f, y, s: np.zeros(len(f.test) + 1, np.int64))
    with pytest.raises(ProtocolError, match="class predictions must be codes 0..3"):
        cross_validate(p, lambda f, y, s: np.full(len(f.test), 7))
    q = make_protocol("lodo", meta, label="au", au=au, au_names=names)
    with pytest.raises(ProtocolError, match="must be 0 or 1"):
        cross_validate(q, lambda f, y, s: np.full((len(f.test), 5), 2))


def test_metrics_are_computed_once_over_concatenated_folds():
    meta, _, _ = make_meta(7, 150)
    p = make_protocol("loso", meta)

    def noisy_oracle(fold, y_train, seed):
        rng = np.random.default_rng(seed * 1000 + len(fold.test))
        return rng.integers(0, len(p.classes), len(fold.test))

    ev = cross_validate(p, noisy_oracle, seeds=[0, 1, 2], method="random")
    for seed in (0, 1, 2):
        pr = ev.predictions[ev.predictions.seed == seed]
        assert sorted(pr["row"]) == sorted(p.index)
        want = f1_score(pr["true"], pr["pred"], labels=list(p.classes), average="macro", zero_division=np.nan)
        got = ev.runs.query("seed == @seed and scope == 'overall' and metric == 'uf1'")["value"].item()
        assert got == pytest.approx(want)
        per_fold = np.mean(
            [
                f1_score(g["true"], g["pred"], labels=list(p.classes), average="macro", zero_division=0)
                for _, g in pr.groupby("fold")
            ]
        )
        assert abs(per_fold - want) > 1e-3  # the inflated per-fold average is not what we report
    s = ev.summary()
    per_seed = ev.runs.query("scope == 'overall' and metric == 'uf1'")["value"]
    assert s.loc["uf1", "mean"] == pytest.approx(per_seed.mean())
    assert s.loc["uf1", "std"] == pytest.approx(per_seed.std(ddof=0))
    assert list(s.index) == ["uf1", "uar", "accuracy"]


def test_cd6me_tables_layout(tmp_path):
    meta, au, names = make_meta(8, 200, datasets=("casme2", "samm", "casme3a"))
    p = make_protocol("cd6me", meta, au=au, au_names=names)
    const = cross_validate(p, lambda f, y, s: np.ones((len(f.test), 12), np.uint8), method="Constant")
    by_au = const.table("au")
    assert list(by_au.columns) == [*CD6ME_AUS, "Average"]
    for a in ("AU1", "AU2", "AU4", "AU12"):
        prev = p.labels[p.index][:, CD6ME_AUS.index(a)].mean()
        assert by_au.loc[("Constant", "mean"), a] == pytest.approx(2 * prev / (1 + prev))
    by_ds = const.table("dataset")
    assert list(by_ds.columns) == ["CASME II", "SAMM", "CAS(ME)^3-A", "Average"]
    both = combine_tables([const, const], "dataset")
    assert both.shape == (4, 4)
    md = const.to_markdown("au")
    assert md.splitlines()[0].startswith("| Method") and "± 0.0" in md
    paths = const.to_csv(tmp_path)
    assert {q.name for q in paths} == {
        "summary.csv",
        "f1_variants.csv",
        "by_dataset.csv",
        "by_au.csv",
        "runs.csv",
        "predictions.csv",
    }
    assert pd.read_csv(tmp_path / "predictions.csv").shape[0] == len(p.index)
    with pytest.raises(ProtocolError, match="table by AU needs AU detection"):
        cross_validate(make_protocol("loso", meta), lambda f, y, s: np.zeros(len(f.test), int)).table("au")


def test_import_mefast_does_not_import_torch():
    code = "import sys, mefast; mefast.make_protocol; mefast.au_metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_more_bad_requests_give_clear_errors():
    meta, au, names = make_meta(9)
    # a repeated class would get two codes, one of them with no samples: a silently wrong UF1
    with pytest.raises(ProtocolError, match="classes \\['happiness'\\] are given more than once"):
        make_protocol("loso", meta, classes=["happiness", "happiness", "disgust"])
    with pytest.raises(ProtocolError, match="classes \\['AU1'\\] are given more than once"):
        make_protocol("loso", meta, label="au", au=au, au_names=names, classes=["AU1", "AU1"])
    # corpora of protocols with fixed corpora are not silently ignored
    with pytest.raises(ProtocolError, match="protocol 'cd6me' has fixed corpora"):
        make_protocol("cd6me", meta, au=au, au_names=names, datasets=["samm"])
    p = make_protocol("loso", meta)
    with pytest.raises(ProtocolError, match="predictions must be numeric"):
        cross_validate(p, lambda f, y, s: np.array([p.classes[0]] * len(f.test)))
    ev = cross_validate(p, lambda f, y, s: np.zeros(len(f.test), np.int64), method="zeros")
    with pytest.raises(ProtocolError, match="unknown metric 'f1'"):
        ev.table(metric="f1")
    with pytest.raises(ProtocolError, match="methods \\['zeros'\\] appear in more than one table"):
        tables_to_markdown([ev.table(), ev.table()])
