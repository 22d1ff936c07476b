"""Sealed labels on every path a method could take (issue 11.1).

Each test is one path: the protocol's meta table, the labels object, a store source, the store handle that
``evaluate()`` hands to its methods, and a torch dataset. Each proves that reading a test label through it
raises ``LabelLeakError`` (on the starting code every one of these reads returned the labels).
"""

from __future__ import annotations

import importlib
import pickle

import numpy as np
import pandas as pd
import pytest

from mefast.errors import MefastError
from mefast.protocols import LabelLeakError, cross_validate, make_protocol

# Only the public API above at module level, so this file also runs (and fails) on the code before the fix.
# The sample names (sample_id, clip) are not among them: a name can carry the label (SMIC's s1_ne_01).
NON_LABEL = {"dataset", "subject", "onset", "apex", "offset", "n_frames", "group"}

EMOTIONS = ("happiness", "disgust", "surprise")


def _meta(seed: int = 0, n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    emo = rng.choice(EMOTIONS, n)
    meta = pd.DataFrame(
        {
            "sample_id": [f"x{i}" for i in range(n)],
            "dataset": rng.choice(["casme2", "samm"], n),
            "subject": rng.choice(["01", "02", "03"], n),
            "emotion": emo,
            "megc2019": np.where(emo == "happiness", "positive", np.where(emo == "surprise", "surprise", "negative")),
            "objective_class": rng.integers(1, 6, n),
            "aus": ["AU4+AU12"] * n,
        }
    )
    return meta, (rng.random((n, 3)) < 0.4).astype(np.uint8)


def test_leak_error_is_a_mefast_error():
    assert issubclass(LabelLeakError, MefastError) and issubclass(LabelLeakError, RuntimeError)


def test_the_issue_attack_raises_instead_of_scoring_uf1_one():
    """``fit_predict`` returning ``p.meta.loc[fold.test, "emotion"]`` scored UF1 1.0 under LOSO."""
    meta, _ = _meta()
    p = make_protocol("loso", meta)
    codes = {c: i for i, c in enumerate(p.classes)}
    with pytest.raises(LabelLeakError):
        cross_validate(p, lambda f, y, s: p.meta.loc[f.test, "emotion"].map(codes).to_numpy())
    # returned as they are, without mapping them to codes: refused as a leak, not scored
    with pytest.raises(LabelLeakError, match="withheld label values"):
        cross_validate(p, lambda f, y, s: p.meta.loc[f.test, "emotion"])


@pytest.mark.parametrize("column", ["emotion", "megc2019", "objective_class", "aus"])
def test_protocol_meta_path(column):
    meta, au = _meta(1)
    p = make_protocol("loso", meta)
    reads = []

    def peek(fold, y_train, seed):
        values = p.meta.loc[fold.test, column]
        assert set(values.astype(str)) == {"<withheld>"}  # no value is there to read
        for use in (lambda: values == "happiness", lambda: values.map({}), lambda: values.unique(),
                    lambda: float(values.iloc[0]), lambda: bool(values.iloc[0])):  # fmt: skip
            with pytest.raises(LabelLeakError, match=f"{column!r} column is a label"):
                use()
        reads.append(fold.name)
        return np.zeros(len(fold.test), np.int64)

    cross_validate(p, peek)
    assert len(reads) == len(p.folds)
    # the table holds no labels outside a fold either (training labels come as y_train), and prints fine
    assert "<withheld>" in repr(p.meta) and set(p.meta.columns) >= {"emotion", "dataset", "group"}
    q = make_protocol("cd6me", meta, au=au, au_names=["AU1", "AU4", "AU12"])
    with pytest.raises(LabelLeakError):
        q.meta["aus"].unique()


def test_labels_object_path():
    meta, _ = _meta(2)
    p = make_protocol("loso", meta)
    truth = meta.loc[p.index, "emotion"].map({c: i for i, c in enumerate(p.classes)}).to_numpy()
    state = {}

    def peek(fold, y_train, seed):
        np.testing.assert_array_equal(p.labels[fold.train], y_train)  # training labels stay readable
        with pytest.raises(LabelLeakError, match="before the fold finished"):
            p.labels[fold.test]
        with pytest.raises(LabelLeakError):
            p.labels[fold.test[:1]]
        # by construction: a copy of the labels object taken now holds no test label at all
        clone = pickle.loads(pickle.dumps(p.labels))
        pos = np.searchsorted(p.index, fold.test)
        state[fold.name] = (np.asarray(vars(clone)["_values"])[pos], truth[pos])
        with pytest.raises(LabelLeakError):
            clone[fold.test]
        return np.zeros(len(fold.test), np.int64)

    cross_validate(p, peek)
    held = np.concatenate([v for v, _ in state.values()])
    real = np.concatenate([t for _, t in state.values()])
    assert np.all(held == 0) and np.any(real != 0)  # the values were not in the object while the fold ran
    assert len(p.labels[p.index]) == len(p.index)  # and are back once the folds are over
    np.testing.assert_array_equal(p.labels[p.index], truth)


def test_labels_of_rows_outside_the_training_set_are_out_too():
    """While a fold runs, the labels object holds that fold's training labels and nothing else."""
    meta, _ = _meta(3)
    meta.loc[meta.index[::3], "dataset"] = "smic"
    p = make_protocol("lodo", meta, train_datasets=["casme2"], test_datasets=["samm", "smic"])
    seen = []

    def peek(fold, y_train, seed):
        other = np.setdiff1d(p.index, np.r_[fold.train, fold.test])
        assert len(other) and len(fold.test)
        for rows in (fold.test, other):
            with pytest.raises(LabelLeakError):
                p.labels[rows]
        seen.append(fold.name)
        return np.zeros(len(fold.test), np.int64)

    cross_validate(p, peek)
    assert seen == ["samm", "smic"]


def _assert_store_view_is_label_free(view, rows, path):
    with pytest.raises(LabelLeakError, match="AU matrix holds labels"):
        _ = view.au
    m = view.meta
    labels = [c for c in m.columns if c not in NON_LABEL]
    assert {"emotion", "aus", "sample_id", "clip"} <= set(labels)
    for c in labels:
        with pytest.raises(LabelLeakError):
            m.loc[rows, c].unique()
    for name in ("emotion", "meta/emotion", "au", "meta/au", "objective_class", "meta/sample_id", "meta/clip"):
        with pytest.raises(LabelLeakError, match="is a label"):
            view.read(name, rows)
    assert view.read("flow", rows).shape[0] == len(rows)  # the features are there
    from mefast.store import MEStore

    full = MEStore.open(path).meta  # the evaluator's side: the same rows, non-label columns equal
    pd.testing.assert_frame_equal(m.loc[rows, sorted(NON_LABEL & set(m.columns))],
                                  full.loc[rows, sorted(NON_LABEL & set(m.columns))])  # fmt: skip


def test_store_source_path(flow_store_path):
    from mefast.train import StoreSource

    src = StoreSource(flow_store_path)
    _assert_store_view_is_label_free(src.store, np.array([0, 3]), flow_store_path)
    clone = pickle.loads(pickle.dumps(src))  # in a DataLoader worker: reopened, still label-free
    _assert_store_view_is_label_free(clone.store, np.array([1]), flow_store_path)


def test_store_handle_that_evaluate_hands_to_methods(flow_store_path, monkeypatch):
    """``evaluate()`` builds its methods on a source; reading labels through its store raises in the fold."""
    ev_mod = importlib.import_module("mefast.train.evaluate")  # the module (mefast.train.evaluate is the function)

    attempts = []

    def spy_svm(source, *, feature, multilabel):
        def fit_predict(fold, y_train, seed):
            _assert_store_view_is_label_free(source.store, fold.test, flow_store_path)
            with pytest.raises(LabelLeakError):
                source.store.meta.loc[fold.test, "emotion"].map({"happiness": 0})
            attempts.append(fold.name)
            return np.zeros(len(fold.test), np.int64)

        return fit_predict

    monkeypatch.setattr(ev_mod, "svm_method", spy_svm)
    ev = ev_mod.evaluate(flow_store_path, "loso", "svm")
    assert len(attempts) == 6 and len(ev.predictions) == 24  # 2 corpora x 3 subjects, 4 clips each


def test_torch_dataset_path(flow_store_path):
    pytest.importorskip("torch")
    from mefast.store import MEStore
    from mefast.train import FlowDataset, StoreSource

    st = MEStore.open(flow_store_path)
    p = make_protocol("loso", st.meta)
    fold = p.folds[0]
    test_ds = FlowDataset(StoreSource(st), fold.test, inputs=("flow",))
    assert test_ds.targets is None and len(test_ds[[0, 1]]) == 2  # a test dataset carries inputs only
    _assert_store_view_is_label_free(test_ds.source.store, fold.test, flow_store_path)
    # the pickled dataset a DataLoader worker receives holds no labels either
    clone = pickle.loads(pickle.dumps(test_ds))
    assert clone.targets is None
    _assert_store_view_is_label_free(clone.source.store, fold.test, flow_store_path)


def test_strip_labels_keeps_non_label_columns_and_seals_unknown_ones():
    from mefast._sealed import strip_labels

    meta, _ = _meta(4, 5)
    meta["valence"] = [0.1, 0.2, 0.3, 0.4, 0.5]  # a label column nobody listed: sealed by default
    out = strip_labels(meta)
    pd.testing.assert_frame_equal(out[["dataset", "subject"]], meta[["dataset", "subject"]])
    with pytest.raises(LabelLeakError, match="'sample_id' column names samples"):  # names can carry the label
        out["sample_id"].unique()
    with pytest.raises(LabelLeakError, match="'valence' column"):
        out["valence"].astype(float)
    assert pickle.loads(pickle.dumps(out))["valence"].iloc[0].column == "valence"


def test_store_view_meta_follows_rewrite_meta(flow_store_path, tmp_path):
    """The view's metadata is the store's current one: a ``rewrite_meta`` through the store shows in it."""
    import shutil

    from mefast._sealed import LabelFreeStore
    from mefast.store import MEStore

    shutil.copytree(flow_store_path, tmp_path / "s.zarr")
    st = MEStore.open(tmp_path / "s.zarr", mode="r+")
    view = LabelFreeStore(st)
    before = view.meta
    assert view.meta is not before and view.meta.equals(before)  # a copy each time, of one state
    meta = st.meta
    meta["subject"] = [f"x{i}" for i in range(len(meta))]
    st.rewrite_meta(meta, st.au)
    assert view.meta["subject"].tolist() == meta["subject"].tolist()
    _assert_store_view_is_label_free(view, np.array([0, 2]), tmp_path / "s.zarr")
    fresh = MEStore.open(tmp_path / "s.zarr")
    LabelFreeStore(fresh).meta  # noqa: B018
    assert fresh._meta is None  # the view read the label-free arrays only: the store's full table never loaded


def _attributes(obj):
    """The objects an instance's attributes hold (its ``__dict__`` and ``__slots__``), functions left out."""
    names = list(vars(obj)) if hasattr(obj, "__dict__") else []
    for cls in type(obj).__mro__:
        names += [n for n in getattr(cls, "__slots__", ()) if hasattr(obj, n)]
    return [getattr(obj, n) for n in names if not callable(getattr(obj, n)) or isinstance(getattr(obj, n), type)]


def test_store_view_does_not_hold_the_store(flow_store_path):
    """The view a method reads through holds the readers of the arrays it may read, not the store.

    The view used to keep the MEStore as ``_reader``: ``src.store._reader.meta["emotion"]`` gave every label,
    and a method reading it scored UF1 1.0 under LOSO.
    """
    from mefast._sealed import holds_withheld
    from mefast.store import MEStore
    from mefast.train import StoreSource

    st = MEStore.open(flow_store_path)
    src = StoreSource(st)
    view = src.store
    seen, todo = [], [view]
    for _ in range(2):  # the view's attributes and theirs
        todo = [a for o in todo for a in _attributes(o)]
        seen += todo
    assert not [a for a in seen if isinstance(a, MEStore)]
    assert not [a for a in seen if isinstance(a, pd.DataFrame) and "emotion" in a and not holds_withheld(a["emotion"])]
    assert not hasattr(view._reader, "meta") and not hasattr(view, "path")
    for name in ("meta/emotion", "meta/au", "meta/objective_class"):
        with pytest.raises(LabelLeakError, match="not an array a method may open"):
            view._reader._array(name)
    # what it is for still works: the arrays, their chunks, the label-free columns, the done flags
    rows = np.array([0, 3])
    np.testing.assert_array_equal(src.read("flow", rows), st.read("flow", rows))
    np.testing.assert_array_equal(view.done, st.done)
    assert view.au_names == st.au_names and len(view) == len(st) and view.shapes == st.shapes
    assert "LabelFreeStore" in repr(view) and "emotion" not in repr(view)


def test_cheating_through_the_store_view_fails(flow_store_path):
    """The reviewer's bypass (``src.store._reader.meta``) inside a fold: it raises instead of scoring UF1 1.0."""
    from mefast.store import MEStore
    from mefast.train import StoreSource

    st = MEStore.open(flow_store_path)
    p = make_protocol("loso", st.meta, label="emotion")
    src = StoreSource(st)

    def cheat(fold, y_train, seed):
        emo = src.store._reader.meta["emotion"].astype(str).to_numpy()
        return np.array([p.classes.index(emo[r]) for r in fold.test])

    with pytest.raises(AttributeError, match="meta"):
        cross_validate(p, cheat)


def _smic_store(path):
    """A store of SMIC-like samples: SMIC names a clip by its class (s1_ne_01, s1_po_02, s1_sur_03)."""
    from mefast.store import MEStore

    rng = np.random.default_rng(0)
    abbr = {"negative": "ne", "positive": "po", "surprise": "sur"}
    rows = []
    for s in range(1, 4):
        for j, cls in enumerate(["negative", "positive", "surprise"] * 2):
            clip = f"s{s}_{abbr[cls]}_{j + 1:02d}"
            rows.append({"sample_id": f"smic/s{s}/{clip}", "dataset": "smic", "subject": f"s{s}", "clip": clip,
                         "emotion": cls, "megc2019": cls})  # fmt: skip
    samples = pd.DataFrame(rows)
    st = MEStore.create(path, samples, au=np.zeros((len(samples), 1), np.uint8), au_names=["AU1"],
                        arrays={"flow": ((2, 8, 8), "float32")})  # fmt: skip
    for i in range(len(samples)):
        st.write_sample(i, {"flow": rng.normal(size=(2, 8, 8)).astype(np.float32)})
        st.mark_done(i)
    return MEStore.open(path)


def test_sample_names_that_carry_the_label_are_sealed(tmp_path):
    """SMIC's clip names hold the class: reading them from what a method receives raises, it does not score.

    ``clip`` and ``sample_id`` were readable in the store view and in ``Protocol.meta``: a method that parsed
    ``src.store.meta["clip"]`` (``s1_ne_01``) scored SMIC UF1 1.0 under megc2019.
    """
    from mefast.train import StoreSource

    st = _smic_store(tmp_path / "smic.zarr")
    p = make_protocol("megc2019", st.meta)
    src = StoreSource(st)
    through = {
        "store view clip": lambda fold: src.store.meta.loc[fold.test, "clip"],
        "store view sample_id": lambda fold: src.store.meta.loc[fold.test, "sample_id"],
        "protocol clip": lambda fold: p.meta.loc[fold.test, "clip"],
        "protocol sample_id": lambda fold: p.meta.loc[fold.test, "sample_id"],
    }
    for where, names in through.items():
        seen = []

        def parse(fold, y_train, seed, names=names, seen=seen):
            got = names(fold)
            assert set(got.astype(str)) == {"<withheld>"}  # no name is there to parse
            with pytest.raises(LabelLeakError, match="names samples as their corpus does"):
                got.unique()
            seen.append(fold.name)
            return np.zeros(len(fold.test), np.int64)

        cross_validate(p, parse)
        assert len(seen) == len(p.folds), where
    with pytest.raises(LabelLeakError, match="is a label"):
        src.store.read("meta/clip", np.array([0]))


def test_sample_ids_of_the_training_rows_only_while_a_fold_runs(flow_store_path):
    """``Protocol.sample_ids``: a fold's training ids (IDC's clean list needs them), never its test ids."""
    from mefast.store import MEStore

    st = MEStore.open(flow_store_path)
    ids = st.meta["sample_id"].astype(str)
    p = make_protocol("loso", st.meta)
    seen = []

    def peek(fold, y_train, seed):
        np.testing.assert_array_equal(p.sample_ids[fold.train], ids.loc[fold.train].to_numpy())
        with pytest.raises(LabelLeakError, match="sample ids of store rows .* before the fold finished"):
            p.sample_ids[fold.test[:1]]
        seen.append(fold.name)
        return np.zeros(len(fold.test), np.int64)

    cross_validate(p, peek)
    assert len(seen) == len(p.folds)
    np.testing.assert_array_equal(p.sample_ids[p.index], ids.loc[p.index].to_numpy())  # all back after the folds


def test_networks_get_training_ids_through_the_sealed_ids(flow_store_path):
    """IDC's clean list by id still works through ``evaluate``: the trainer gets the fold's training ids."""
    pytest.importorskip("torch")
    from mefast.train import IDC, TrainConfig, evaluate
    from mefast.train import trainer as trainer_mod

    got = []
    real = trainer_mod.Trainer.fit

    def spy(self, rows, targets, **kw):
        got.append((np.asarray(rows).copy(), None if kw.get("sample_ids") is None else list(kw["sample_ids"])))
        return real(self, rows, targets, **kw)

    from mefast.store import MEStore

    ids = MEStore.open(flow_store_path).meta["sample_id"].astype(str)
    idc = IDC(clean_ids=list(ids), warmup_epochs=1)
    cfg = TrainConfig(epochs=1, batch_size=8, device="cpu", threads=1, noisy=idc)
    mp = pytest.MonkeyPatch()
    mp.setattr(trainer_mod.Trainer, "fit", spy)
    try:
        evaluate(flow_store_path, "lodo", "sssnet", config=cfg)
    finally:
        mp.undo()
    assert len(got) == 2
    for rows, given in got:
        assert given == ids.loc[rows].tolist()


def test_the_dual_branch_au_reader_gives_training_rows_only():
    """The AUs the evaluator hands the dual-branch method: a plain ``au[rows]`` gave the test rows' AUs too."""
    pytest.importorskip("torch")
    from mefast.train.evaluate import training_aus

    meta, au = _meta()
    p = make_protocol("loso", meta)
    read = training_aus(p, au)
    seen: list[bool] = []

    def spy(fold, y_train, seed):
        np.testing.assert_array_equal(read(fold.train), au[fold.train])
        with pytest.raises(LabelLeakError):
            read(fold.test[:1])
        seen.append(True)
        return np.zeros(len(fold.test), dtype=np.int64)

    cross_validate(p, spy)
    assert seen and len(seen) == len(p.folds)
