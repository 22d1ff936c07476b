"""The store-backed dataset, the trainer, noisy-label methods, baselines and ``mefast evaluate``."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast._chunk_reader import ChunkReader  # noqa: E402
from mefast.errors import CudaUnavailableError  # noqa: E402
from mefast.flow import optical_strain  # noqa: E402
from mefast.protocols import LabelLeakError, ProtocolError, make_protocol  # noqa: E402
from mefast.store import MEStore  # noqa: E402
from mefast.train import (  # noqa: E402
    IDC,
    ILC,
    LTM,
    ArraySource,
    FlowDataset,
    StoreSource,
    TrainConfig,
    Trainer,
    evaluate,
    make_loader,
    stack_inputs,
)
from mefast.train.noisy import flag_high_loss, per_sample_loss  # noqa: E402
from mefast.train.synthetic import synthetic_flow_samples, write_flow_store  # noqa: E402

torch.set_num_threads(1)
FAST = TrainConfig(epochs=8, lr=1e-3, batch_size=16, device="cpu")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("train") / "synthetic.zarr"
    write_flow_store(path, datasets=("casme2", "samm"), n_subjects=3, clips_per_subject=8, size=28, seed=0)
    return path


def class_codes(meta):
    classes = sorted(meta["emotion"].unique())
    return meta["emotion"].map({c: i for i, c in enumerate(classes)}).to_numpy(), classes


def test_store_dataset_equals_in_memory_arrays(store_path):
    st = MEStore.open(store_path)
    flow, strain = st.read("flow", slice(None)), st.read("strain", slice(None))
    mem = ArraySource({"flow": flow, "strain": strain})
    rows = np.array([5, 0, 17, 3, 40])
    x_store = stack_inputs(StoreSource(store_path), rows, ("flow", "strain"))
    np.testing.assert_array_equal(x_store, stack_inputs(mem, rows, ("flow", "strain")))
    assert x_store.shape == (5, 3, 28, 28)
    # strain computed from the flow when a store has none
    np.testing.assert_allclose(
        stack_inputs(ArraySource({"flow": flow}), rows, ("flow", "strain"))[:, 2],
        optical_strain(np.moveaxis(flow[rows], 1, -1)),
    )
    ds = FlowDataset(StoreSource(store_path), rows, targets=np.arange(5), with_positions=True)
    x, y, pos = ds[[1, 3]]
    np.testing.assert_array_equal(x.numpy(), x_store[[1, 3]])
    assert y.tolist() == [1, 3] and pos.tolist() == [1, 3]
    x0 = ds[2][0]
    assert x0.shape == (3, 28, 28)


def test_store_source_is_worker_safe(store_path):
    src = StoreSource(store_path)
    src.read("flow", np.array([0]))  # opened here ...
    clone = pickle.loads(pickle.dumps(src))
    assert clone._store is None  # ... but travels as a path, reopened in the worker
    ds = FlowDataset(src, np.arange(20), targets=np.arange(20))
    serial = [y.tolist() for _, y in make_loader(ds, batch_size=6, shuffle=True, seed=3)]
    parallel = [y.tolist() for _, y in make_loader(ds, batch_size=6, shuffle=True, seed=3, num_workers=2)]
    assert serial == parallel and sorted(sum(serial, [])) == list(range(20))


def test_store_source_caches_decoded_rows(store_path, monkeypatch):
    st = MEStore.open(store_path)
    calls = []
    real = MEStore.read
    monkeypatch.setattr(MEStore, "read", lambda self, name, idx: calls.append(np.asarray(idx)) or real(self, name, idx))
    direct = ChunkReader.read_into  # local stores: rows decoded straight from their chunk files
    monkeypatch.setattr(ChunkReader, "read_into", lambda self, rows, *a: calls.append(rows) or direct(self, rows, *a))
    cached, uncached = StoreSource(st), StoreSource(st, cache_bytes=0)
    for src in (cached, uncached):
        np.testing.assert_array_equal(src.read("flow", np.array([4, 2, 4])), real(st, "flow", [4, 2, 4]))
    calls.clear()
    np.testing.assert_array_equal(cached.read("flow", np.array([2, 9])), real(st, "flow", [2, 9]))
    assert [c.tolist() for c in calls] == [[9]]  # only the row not read before comes from the store
    uncached.read("flow", np.array([2, 9]))
    assert [c.tolist() for c in calls[1:]] == [[2, 9]]


def _casme2_store(path, n_subjects, clips_per_subject, *, done, au_labels=True, **columns):
    """A 16-pixel synthetic CASME II flow store whose first ``done`` rows are written and marked done."""
    meta, au, flows = synthetic_flow_samples(
        datasets=("casme2",), n_subjects=n_subjects, clips_per_subject=clips_per_subject, size=16
    )
    for name, value in columns.items():
        meta[name] = value
    if not au_labels:
        au = np.zeros((len(meta), 0), np.uint8)
    st = MEStore.create(
        path, meta, au=au, au_names=[f"AU{i}" for i in range(au.shape[1])], arrays={"flow": ((2, 16, 16), "float32")}
    )
    for i in range(done):
        st.write_sample(i, {"flow": flows[i]})
        st.mark_done(i)
    return st


def test_unfinished_samples_and_missing_inputs_are_refused(tmp_path):
    st = _casme2_store(tmp_path / "s.zarr", 2, 2, done=1)
    src = StoreSource(st)
    with pytest.raises(ValueError, match="store rows \\[1\\] have non-finite inputs"):
        stack_inputs(src, [0, 1], ("flow",))
    with pytest.raises(ValueError, match="'frames' is not in the store"):
        stack_inputs(src, [0], ("frames",))


def test_trained_network_beats_constant_under_loso(store_path):
    net = evaluate(store_path, "loso", "ststnet", config=FAST)
    const = evaluate(store_path, "loso", "constant")
    assert len(net.predictions) == len(const.predictions) == 48
    uf1, base = net.summary().loc["uf1", "mean"], const.summary().loc["uf1", "mean"]
    assert uf1 > base + 0.3, (uf1, base)
    assert net.method == "STSTNet" and const.method == "Constant"


def test_svm_baseline_and_au_detection(store_path):
    svm = evaluate(store_path, "lodo", "svm")
    assert svm.summary().loc["uf1", "mean"] > 0.7
    au = evaluate(store_path, "lodo", "ststnet", label="au", config=TrainConfig(epochs=20, lr=1e-3, batch_size=16))
    const = evaluate(store_path, "lodo", "constant", label="au")
    assert au.summary().loc["f1", "mean"] > const.summary().loc["f1", "mean"]
    assert list(au.table("au").columns)[-1] == "Average"


def test_early_stopping_uses_only_the_training_fold(store_path):
    st = MEStore.open(store_path)
    meta = st.meta
    y, classes = class_codes(meta)
    proto = make_protocol("loso", meta)
    fold = proto.folds[0]
    subjects = (meta["dataset"] + "/" + meta["subject"]).to_numpy()
    cfg = TrainConfig(epochs=30, lr=1e-3, batch_size=16, early_stopping=True, patience=3, device="cpu")
    tr = Trainer("ststnet", StoreSource(st), n_outputs=4, multilabel=False, config=cfg)
    with proto.labels.sealed(fold.test):  # the test labels are not even readable while it trains
        tr.fit(fold.train, proto.labels[fold.train], seed=0, groups=subjects[fold.train])
        with pytest.raises(LabelLeakError):
            proto.labels[fold.test]
    val = tr.val_rows_
    assert len(val) > 0 and set(val) <= set(fold.train) and set(val).isdisjoint(fold.test)
    # validation is subject-independent: no validation subject trains
    trained = np.setdiff1d(fold.train, val)
    assert set(subjects[val]).isdisjoint(subjects[trained])
    scores = [h["val"] for h in tr.history_]
    assert tr.best_epoch_ == int(np.argmax(scores))
    # the best epoch's weights are restored
    assert tr._score(val, proto.labels[val]) == pytest.approx(max(scores))


def test_seeded_runs_repeat_and_seeds_differ(store_path):
    src = StoreSource(store_path)
    y, _ = class_codes(MEStore.open(store_path).meta)
    rows = np.arange(30)

    def logits(seed):
        tr = Trainer("ststnet", src, n_outputs=4, multilabel=False, config=TrainConfig(epochs=2, device="cpu"))
        tr.fit(rows, y[rows], seed=seed)
        return tr._logits(np.arange(30, 48))

    a, b, c = logits(1), logits(1), logits(2)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_repeated_seeds_report_mean_and_std(store_path):
    ev = evaluate(
        store_path, "megc2018-composite", "offapexnet", seeds=(0, 1), config=TrainConfig(epochs=2, device="cpu")
    )
    s = ev.summary()
    runs = ev.runs.query("scope == 'overall' and metric == 'uf1'")["value"]
    assert len(runs) == 2 and s.loc["uf1", "std"] == pytest.approx(runs.std(ddof=0))


def test_ilc_recovers_injected_label_noise():
    meta, _, flows = synthetic_flow_samples(
        datasets=("casme2", "samm"), n_subjects=6, clips_per_subject=8, size=28, noise=0.5, seed=1
    )
    y, _ = class_codes(meta)
    rng = np.random.default_rng(0)
    flip = rng.random(len(y)) < 0.3
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, 4, flip.sum())) % 4
    # mefast's persistent variant (ilc-mefast); the authors' ILC never changes the stored labels
    ilc = ILC(alpha=1.0, start_epoch=20, persist=True, unbiased=False)
    cfg = TrainConfig(epochs=40, lr=1e-3, batch_size=16, noisy=ilc, device="cpu")
    tr = Trainer("offapexnet-meb", ArraySource({"flow": flows}), n_outputs=4, multilabel=False, config=cfg)
    tr.fit(np.arange(len(y)), noisy, seed=0)
    fixed = tr.train_labels_
    restored = np.mean(fixed[flip] == y[flip])
    broken = np.mean(fixed[~flip] != y[~flip])
    assert restored >= 0.3 and broken <= 0.1, (restored, broken)
    assert np.mean(fixed == y) > np.mean(noisy == y)


def test_ltm_leaves_out_high_loss_samples():
    logits = torch.tensor([[4.0, 0.0], [4.0, 0.0], [4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    targets = torch.tensor([0, 0, 0, 0, 0])  # the last one looks mislabelled
    losses = per_sample_loss(logits, targets, multilabel=False)
    assert flag_high_loss(losses, 1.0).tolist() == [False] * 4 + [True]
    loss, corrected = LTM(alpha=1.0, unbiased=False, reduction="kept").step(logits, targets, 0, multilabel=False)
    assert corrected is None and loss.item() == pytest.approx(losses[:4].mean().item())
    # ILC relabels it with the prediction instead (multi-label: per AU, logit > 0)
    _, corrected = ILC(alpha=1.0, unbiased=False).step(logits, targets, 0, multilabel=False)
    assert corrected.tolist() == [0, 0, 0, 0, 1]
    au_logits = torch.tensor([[3.0, -3.0]] * 4 + [[-3.0, 3.0]])
    au_targets = torch.tensor([[1, 0]] * 5, dtype=torch.uint8)
    _, corrected = ILC(alpha=1.0, unbiased=False).step(au_logits, au_targets, 0, multilabel=True)
    assert corrected[-1].tolist() == [0, 1] and corrected[:4].tolist() == [[1, 0]] * 4
    assert ILC(alpha=1.0, unbiased=False, start_epoch=5).step(logits, targets, 4, multilabel=False)[1] is None


def test_idc_warms_up_on_a_clean_subset(store_path):
    y, _ = class_codes(MEStore.open(store_path).meta)
    idc = IDC(selection="low-loss", warmup_epochs=2, alpha=0.0)
    cfg = TrainConfig(epochs=5, lr=1e-3, batch_size=16, noisy=idc, device="cpu")
    tr = Trainer("ststnet", StoreSource(store_path), n_outputs=4, multilabel=False, config=cfg)
    tr.fit(np.arange(48), y, seed=0)
    n = [h["n"] for h in tr.history_]
    assert n[0] == n[3] == n[4] == 48 and 0 < n[1] == n[2] < 48


def test_bad_requests(store_path):
    with pytest.raises(ProtocolError, match="unknown protocol"):
        evaluate(store_path, "kfold", "constant")
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        evaluate(store_path, "loso", "vgg")
    with pytest.raises(ValueError, match="the store has no 'lbptop' array"):
        evaluate(store_path, "loso", "svm", feature="lbptop")
    if not torch.cuda.is_available():
        with pytest.raises(CudaUnavailableError):
            evaluate(store_path, "loso", "sssnet", config=TrainConfig(epochs=1, device="cuda"))


def test_store_without_a_label_kind(tmp_path):
    st = _casme2_store(tmp_path / "s.zarr", 2, 3, done=6, au_labels=False, objective_class=0)
    with pytest.raises(ProtocolError, match="no AU labels"):
        evaluate(st, "loso", "constant", label="au")
    with pytest.raises(ProtocolError, match="no objective_class labels"):
        evaluate(st, "loso", "constant", label="objective")


def test_only_finished_samples_take_part(tmp_path):
    st = _casme2_store(tmp_path / "s.zarr", 3, 4, done=10)  # all but the last two of 12
    assert len(st) == 12
    ev = evaluate(st, "loso", "svm")
    assert sorted(ev.predictions["row"]) == list(range(10))


def test_cli_evaluate(store_path, tmp_path, capsys):
    from mefast.cli import main

    out = tmp_path / "out"
    rc = main(
        [
            "evaluate",
            "--store",
            str(store_path),
            "--protocol",
            "cd6me",
            "--model",
            "offapexnet",
            "--epochs",
            "2",
            "--seeds",
            "2",
            "--noisy",
            "ltm",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert "Off-ApexNet + LTM under cd6me" in text and "| AU1" in text and "CAS(ME)^3-A" not in text
    assert (out / "by_au.csv").exists() and "± " in (out / "tables.md").read_text()
    rc = main(
        [
            "evaluate",
            "--store",
            str(store_path),
            "--protocol",
            "megc2019",
            "--model",
            "constant",
            "--label",
            "objective",
        ]
    )
    assert rc == 2 and "evaluates emotion labels, not 'objective'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--store", str(store_path), "--protocol", "kfold", "--model", "constant"])


def test_demo_evaluation_hook(store_path):
    from mefast._cli.evaluate import demo_evaluation

    text = demo_evaluation(str(store_path), n_jobs=1)
    summary = text.split("UF1 (%) per test corpus")[0]
    rows = {line.split("|")[1].strip(): line for line in summary.splitlines() if line.startswith("| ")}
    assert {"Constant", "SVM (flow)", "STSTNet"} <= set(rows)
    uf1 = {m: float(rows[m].split("|")[2]) for m in ("Constant", "STSTNet")}
    assert uf1["STSTNet"] > uf1["Constant"]
    assert "48 clips, 6 subjects" in text


def test_threads_setting_is_scoped():
    meta, _, flows = synthetic_flow_samples(datasets=("casme2",), n_subjects=1, clips_per_subject=6, size=28)
    y, _ = class_codes(meta)
    seen = []

    class Probe(torch.nn.Module):  # records torch's thread count while the trainer runs it
        def __init__(self, n_outputs, in_channels):
            super().__init__()
            self.fc = torch.nn.Linear(in_channels * 28 * 28, n_outputs)

        def forward(self, x):
            seen.append(torch.get_num_threads())
            return self.fc(x.flatten(1))

    from mefast.train import models

    spec = models.ModelSpec(Probe, 28, ("flow",))
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(models.MODELS, "probe", spec)
        tr = Trainer(
            "probe",
            ArraySource({"flow": flows}),
            n_outputs=4,
            multilabel=False,
            config=TrainConfig(epochs=1, threads=2, device="cpu"),
        )
        tr.fit(np.arange(6), y, seed=0)
        tr.predict(np.arange(6))
    assert seen and set(seen) == {2}
    assert torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="threads must be at least 1"):
        TrainConfig(threads=0)


def test_noisy_methods_refuse_a_negative_alpha():
    # alpha < 0 can flag every sample: LTM's loss over no samples is NaN (it would poison the weights) and
    # IDC's clean subset is empty.
    logits = torch.tensor([[4.0, 0.0]] * 4 + [[0.0, 4.0]])
    targets = torch.zeros(5, dtype=torch.long)
    assert torch.isfinite(LTM(alpha=0.0).step(logits, targets, 0, multilabel=False)[0])
    for method in (LTM, ILC, IDC):
        with pytest.raises(ValueError, match="alpha must be >= 0"):
            method(alpha=-2.0)


def test_train_config_refuses_bad_patience_and_workers():
    with pytest.raises(ValueError, match="patience must be at least 1"):
        TrainConfig(early_stopping=True, patience=0)
    with pytest.raises(ValueError, match="num_workers must be >= 0"):
        TrainConfig(num_workers=-1)


def test_a_loss_equal_to_the_threshold_is_flagged_every_time():
    """Eq. 2's clean set is the losses *below* mean + alpha * std. Two losses with the population std and
    alpha = 1 (ltm-mefast, ilc-mefast) put the larger one on the threshold exactly; a strict float32 test
    flagged it in 23 of 1,000 random pairs (review script s6c_tie.py), by rounding."""
    rng = np.random.default_rng(0)
    pairs = torch.tensor(rng.uniform(0, 5, (1000, 2)), dtype=torch.float32)
    flagged = torch.stack([flag_high_loss(p, 1.0, unbiased=False) for p in pairs])
    larger = pairs.argmax(dim=1)
    assert bool(flagged[torch.arange(1000), larger].all()) and int(flagged.sum()) == 1000
    loss, _ = LTM(alpha=1.0, unbiased=False, reduction="kept").step(
        torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 0]), 0, multilabel=False
    )
    assert loss.item() == pytest.approx(
        per_sample_loss(torch.tensor([[2.0, 0.0]]), torch.tensor([0]), multilabel=False).item()
    )
    # equal losses (std 0): none stands out, none is flagged (flagging all would leave LTM nothing to average)
    assert not flag_high_loss(torch.full((4,), 0.7), 0.0).any()
