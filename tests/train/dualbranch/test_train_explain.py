"""The dual-branch method end to end: LOSO on a synthetic store beats the constant baseline, AUs of training rows
only, saved fold models, CAMs (size, range, a decisive region highlighted) and ``mefast explain``."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.protocols import cross_validate, make_protocol  # noqa: E402
from mefast.store import MEStore  # noqa: E402
from mefast.train import evaluate  # noqa: E402
from mefast.train.data import StoreSource  # noqa: E402
from mefast.train.dualbranch import DualBranchConfig, dualbranch_method, recording_test_ids  # noqa: E402
from mefast.train.dualbranch.explain import cam, embed_features  # noqa: E402

TINY = {"width": 8, "input_size": 32, "batch_size": 8, "device": "cpu", "threads": 1}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: tiny networks on a shared 2-core machine run many times faster without oversubscription."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    from mefast.train.synthetic import write_flow_store

    path = tmp_path_factory.mktemp("db") / "flow.zarr"
    write_flow_store(path, datasets=("casme2",), n_subjects=3, clips_per_subject=8, size=32, seed=0)
    return path


@pytest.fixture(scope="module")
def loso_run(store_path, tmp_path_factory):
    """One LOSO run of the full method with a recording AU reader and saved fold models."""
    st = MEStore.open(store_path, mode="r")
    proto = make_protocol("loso", st.meta, au=st.au, au_names=st.au_names)
    asked: list[np.ndarray] = []
    au = st.au

    def reader(rows):
        asked.append(np.asarray(rows).copy())
        return au[rows]

    out = tmp_path_factory.mktemp("models")
    method = dualbranch_method(
        "dualbranch",
        StoreSource(st),
        n_outputs=len(proto.classes),
        config=DualBranchConfig(epochs=20, lr=3e-3, **TINY),
        au_reader=reader,
        au_names=st.au_names,
        classes=[str(c) for c in proto.classes],
        save_dir=out,
    )
    method = recording_test_ids(method, out, st.meta["sample_id"].astype(str))  # the evaluator's side
    ev = cross_validate(proto, method, seeds=[0], method="dualbranch")
    return proto, ev, asked, out


def test_loso_beats_the_constant_baseline_and_reads_training_aus_only(store_path, loso_run):
    proto, ev, asked, _ = loso_run
    const = evaluate(store_path, "loso", "constant")
    ours = ev.summary().loc["uf1", "mean"]
    assert ours > const.summary().loc["uf1", "mean"] + 0.3
    assert len(asked) == len(proto.folds)
    for fold, rows in zip(proto.folds, asked, strict=True):
        np.testing.assert_array_equal(np.sort(rows), np.sort(fold.train))
        assert not np.isin(rows, fold.test).any()


def test_saved_fold_models_reload_and_explain(store_path, loso_run, tmp_path):
    from mefast.cli import main

    proto, _, _, out = loso_run
    metas = sorted(out.rglob("model.json"))
    assert len(metas) == len(proto.folds)
    fold = proto.folds[0]
    meta = json.loads((out / "seed0" / fold.name.replace("/", "_") / "model.json").read_text())
    sid = meta["test_ids"][0]
    assert meta["test_ids"] == MEStore.open(store_path).meta.loc[fold.test, "sample_id"].tolist()
    png = tmp_path / "cam.png"
    args = ["explain", "--store", str(store_path), "--model-dir", str(out), "--sample", sid, "--out", str(png)]
    assert main(args) == 0
    arrays = np.load(png.with_suffix(".npz"))
    for key in ("au_cam", "grad_cam"):
        assert arrays[key].shape == (32, 32)
        assert 0 <= arrays[key].min() and arrays[key].max() <= 1
    assert arrays["features"].shape == (128,)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = main(["explain", "--store", str(store_path), "--model-dir", str(out), "--sample", "nope", "--out", str(png)])
    assert bad == 2


def test_evaluate_writes_each_fold_models_test_ids_after_its_predictions(store_path, tmp_path, monkeypatch):
    """``evaluate(save_models=...)``: the method saves the model, the evaluator adds the fold's test ids.

    The method is never handed sample names (a name can carry the label, SMIC's ``s1_ne_01``).
    """
    import mefast.train.dualbranch.train as train_mod

    handed = []
    real = train_mod.dualbranch_method

    def spy(*args, **kwargs):
        handed.append(sorted(kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "dualbranch_method", spy)
    out = tmp_path / "models"
    evaluate(store_path, "loso", "dualbranch", config=DualBranchConfig(epochs=1, **TINY), save_models=out)
    assert handed and not [k for k in handed[0] if "id" in k]
    st = MEStore.open(store_path)
    proto = make_protocol("loso", st.meta, au=st.au, au_names=st.au_names)
    for fold in proto.folds:
        meta = json.loads((out / "seed0" / fold.name.replace("/", "_") / "model.json").read_text())
        assert meta["fold"] == fold.name
        assert meta["test_ids"] == st.meta.loc[fold.test, "sample_id"].tolist()


def test_a_fold_model_explains_only_the_samples_its_fold_held_out(store_path, loso_run, tmp_path, capsys):
    """``--model-dir`` naming one fold's model: a sample that fold trained on is refused, not explained by it.

    The fold directory used to be taken as it was: ``mefast explain`` explained a training sample of the fold and
    printed "by the model of fold casme2/s00" as if that model had held it out.
    """
    from mefast.cli import main
    from mefast.train.dualbranch.explain import SampleNotExplainableError, explain_dualbranch, find_fold_model

    proto, _, _, out = loso_run
    fold = proto.folds[0]
    d = out / "seed0" / fold.name.replace("/", "_")
    ids = MEStore.open(store_path).meta["sample_id"].astype(str)
    held, trained = ids[fold.test[0]], ids[fold.train[0]]
    assert find_fold_model(d, held) == d and explain_dualbranch(store_path, d, held).fold == fold.name
    with pytest.raises(SampleNotExplainableError, match=f"fold '{fold.name}' in .* trained on sample '{trained}'"):
        find_fold_model(d, trained)
    with pytest.raises(SampleNotExplainableError, match="trained on sample"):
        explain_dualbranch(store_path, d, int(fold.train[0]))  # by store row too
    png = tmp_path / "cam.png"
    args = ["explain", "--store", str(store_path), "--model-dir", str(d), "--sample", trained, "--out", str(png)]
    assert main(args) == 2 and not png.exists()
    assert f"trained on sample '{trained}'" in capsys.readouterr().err
    # a saved model that does not record what it held out cannot show that it never trained on the sample
    lone = tmp_path / "lone"
    lone.mkdir()
    meta = json.loads((d / "model.json").read_text())
    del meta["test_ids"]
    (lone / "model.json").write_text(json.dumps(meta))
    (lone / "model.pt").write_bytes((d / "model.pt").read_bytes())
    with pytest.raises(SampleNotExplainableError, match="does not record which samples it held out"):
        find_fold_model(lone, held)


def test_cam_range_size_and_grad_cam_of_the_predicted_class():
    torch.manual_seed(0)
    from mefast.train.dualbranch.model import DualBranchNet

    m = DualBranchNet(3, width=8)
    x = torch.randn(2, 3, 64, 48)
    for kind in ("au", "grad"):
        c = cam(m, x, kind)
        assert c.shape == (2, 64, 48) and np.isfinite(c).all()
        assert c.min() >= 0 and c.max() <= 1
        for half in (c[:, :32], c[:, 32:]):  # each half scaled on its own: max 1 or all 0
            assert all(np.isclose(h.max(), 1) or h.max() == 0 for h in half)
    assert m.training  # cam leaves the mode as it was
    pred = m.eval()(x).argmax(1).tolist()
    np.testing.assert_array_equal(cam(m, x, "grad"), cam(m, x, "grad", target=pred))
    np.testing.assert_array_equal(cam(m, x, "au"), cam(m, x, "au"))
    assert embed_features(m, x).shape == (2, 128)


@pytest.mark.parametrize("kind", ["au", "grad"])
def test_cam_highlights_the_region_whose_input_is_decisive(kind):
    # At initialisation (BatchNorm with zero mean / unit variance, no bias; SA gates constant) the network maps
    # a zero input region to zero activations, so only the half with input, the mouth, carries evidence: its map
    # peaks near 1 (bilinear upsampling of the 4 x 8 map) and the eyes' map is empty. Swapping the halves must
    # swap the maps.
    from mefast.train.dualbranch.model import DualBranchNet

    torch.manual_seed(0)
    m = DualBranchNet(3, width=8).eval()
    x = torch.zeros(2, 3, 128, 128)
    x[:, :, 80:124, 4:64] = torch.rand(2, 3, 44, 60) + 0.5
    c = cam(m, x, kind)
    assert c[:, :64].max() == 0
    assert (c[:, 64:].max((1, 2)) > 0.9).all()
    swapped = cam(m, torch.cat([x[:, :, 64:], x[:, :, :64]], 2), kind)
    assert swapped[:, 64:].max() == 0
    assert (swapped[:, :64].max((1, 2)) > 0.9).all()


@pytest.mark.parametrize(
    "settings, named", [({"noisy": "ilc"}, "noisy=ILC"), ({"early_stopping": True}, "early_stopping=True")]
)
def test_settings_the_dual_branch_loop_lacks_are_refused(store_path, settings, named):
    """A noisy-label method or early stopping asked of the dual-branch method is refused before training: its own
    loop has neither, and the evaluation would be titled "+ ILC" for a method that never ran."""
    from mefast.train import TrainConfig
    from mefast.train.noisy import ILC

    config = TrainConfig(epochs=1, **{k: ILC() if v == "ilc" else v for k, v in settings.items()})
    with pytest.raises(ValueError, match=f"no {named}"):
        evaluate(store_path, "loso", "dualbranch", config=config)
    with pytest.raises(ValueError, match=f"no {named}"):
        DualBranchConfig.from_train_config(config)


def test_cli_refuses_noisy_for_the_dual_branch_model(store_path, capsys):
    from mefast.cli import main

    argv = ["evaluate", "--store", str(store_path), "--protocol", "loso", "--model", "dualbranch", "--epochs", "1"]
    assert main([*argv, "--noisy", "ilc"]) == 2
    assert "no noisy=ILC" in capsys.readouterr().err


def test_training_erases_before_standardising(monkeypatch):
    # Spec 3: RR, flip, erasing (pixels <- N(0, 1)) on the [0, 1] inputs, then Standardize: un-standardised,
    # the erased pixels of the network's training input are N(0, 1) (erasing after it would give std ~0.22).
    from mefast.train.data import ArraySource
    from mefast.train.dualbranch import DualBranchTrainer
    from mefast.train.dualbranch.model import DualBranchNet
    from mefast.train.dualbranch.transforms import load_inputs

    rng = np.random.default_rng(0)
    n, h = 16, 32
    src = ArraySource({k: rng.random((n, h, h)).astype(np.float32) for k in ("amplified", "on_a", "off_a")})
    seen: list[torch.Tensor] = []
    orig = DualBranchNet.forward_train

    def capture(self, x):
        seen.append(x.detach().clone())
        return orig(self, x)

    monkeypatch.setattr(DualBranchNet, "forward_train", capture)
    cfg = DualBranchConfig(epochs=1, rr_p=0.0, flip_p=0.0, erase_p=1.0, **{**TINY, "batch_size": n})
    tr = DualBranchTrainer("dualbranch", src, n_outputs=3, config=cfg, au_names=["AU1", "AU2", "AU4", "AU12"])
    tr.fit(np.arange(n), rng.integers(0, 3, n), au=rng.integers(0, 2, (n, 4)), seed=0)
    clean = load_inputs(src, np.arange(n), h)  # standardised, as scoring reads them
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    (xb,) = seen
    erased = []
    for x in xb:
        k = int(torch.stack([(x - c).abs().sum() for c in clean]).argmin())
        diff = (x - clean[k]).abs().amax(0) > 1e-5
        torch.testing.assert_close(x[:, ~diff], clean[k][:, ~diff])  # the rest is the standardised input
        erased.append((x * std + mean)[:, diff].flatten())
    vals = torch.cat(erased)
    assert len(vals) > 1000
    assert abs(float(vals.mean())) < 0.15 and 0.85 < float(vals.std()) < 1.15
