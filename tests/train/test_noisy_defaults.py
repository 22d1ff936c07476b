"""LTM, ILC and IDC default to the authors' settings; mefast's variants are named options."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.train import IDC, ILC, LTM, NOISY_METHODS, ArraySource, TrainConfig, Trainer  # noqa: E402
from mefast.train.noisy import per_sample_loss  # noqa: E402
from mefast.train.synthetic import synthetic_flow_samples  # noqa: E402


def test_defaults_are_the_authors_settings():
    # tvaranka/Noisy_MER: alpha 2.5, torch's (sample) std, LTM zeroes flagged losses and averages over the batch,
    # ILC corrects from the first epoch without keeping corrections, IDC warms up 50 epochs on a clean list
    assert LTM() == LTM(alpha=2.5, unbiased=True, reduction="batch")
    assert ILC() == ILC(alpha=2.5, start_epoch=0, persist=False, unbiased=True)
    idc = IDC(clean_ids=["a"])
    assert idc.selection == "ids" and idc.warmup_epochs == 50 and idc.on_clean_subset(0) and not idc.on_clean_subset(50)
    with pytest.raises(ValueError, match="needs clean_ids"):
        IDC()
    assert NOISY_METHODS["ltm-mefast"]() == LTM(alpha=1.0, unbiased=False, reduction="kept")
    assert NOISY_METHODS["ilc-mefast"]() == ILC(alpha=1.0, start_epoch=10, persist=True)
    assert NOISY_METHODS["idc-lowloss"]().selection == "low-loss"


def test_ltm_loss_matches_the_formula():
    g = torch.Generator().manual_seed(0)
    logits, targets = torch.randn(32, 3, generator=g) * 3, torch.randint(0, 3, (32,), generator=g)
    losses = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    t = losses.mean() + 2.5 * losses.std()  # the paper's Eq. 1 with torch's default (unbiased) std
    keep = losses <= t
    loss, _ = LTM().step(logits, targets, 0, multilabel=False)
    assert loss.item() == pytest.approx((losses * keep).sum().item() / 32)
    loss, _ = LTM(alpha=0.5, unbiased=False, reduction="kept").step(logits, targets, 0, multilabel=False)
    t = losses.mean() + 0.5 * losses.std(unbiased=False)
    assert loss.item() == pytest.approx(losses[losses <= t].mean().item())
    assert per_sample_loss(logits, targets, multilabel=False).shape == (32,)


def _noisy_problem():
    meta, _, flows = synthetic_flow_samples(datasets=("casme2",), n_subjects=4, clips_per_subject=8, size=28, seed=2)
    y = meta["emotion"].astype("category").cat.codes.to_numpy().astype(np.int64)
    noisy = y.copy()
    noisy[::5] = (noisy[::5] + 1) % 4
    return meta, flows, noisy


def test_ilc_without_persistence_keeps_the_stored_labels():
    _, flows, noisy = _noisy_problem()
    src = ArraySource({"flow": flows})
    for noisy_method, changes in ((ILC(alpha=0.5), False), (ILC(alpha=0.5, persist=True), True)):
        cfg = TrainConfig(epochs=4, batch_size=16, lr=1e-2, noisy=noisy_method, device="cpu", threads=1)
        tr = Trainer("offapexnet-meb", src, n_outputs=4, multilabel=False, config=cfg).fit(np.arange(len(noisy)), noisy)
        assert (tr.train_labels_ != noisy).any() == changes


def test_idc_trains_the_warmup_on_the_listed_clean_ids(tmp_path):
    meta, flows, noisy = _noisy_problem()
    ids = meta["sample_id"].to_numpy()
    clean = ids[::2]
    (tmp_path / "clean.txt").write_text("# clean samples\n" + "\n".join(clean) + "\n")
    idc = IDC.from_file(str(tmp_path / "clean.txt"), warmup_epochs=2)
    cfg = TrainConfig(epochs=3, batch_size=16, lr=1e-2, noisy=idc, device="cpu", threads=1)
    tr = Trainer(
        "ststnet", ArraySource({"flow": flows, "strain": flows[:, 0]}), n_outputs=4, multilabel=False, config=cfg
    )
    rows = np.arange(len(noisy))
    tr.fit(rows, noisy, sample_ids=ids)
    assert sorted(tr.clean_rows_) == sorted(rows[::2])
    assert [h["n"] for h in tr.history_] == [len(clean), len(clean), len(rows)]
    with pytest.raises(ValueError, match="needs the training samples' ids"):
        Trainer(
            "ststnet", ArraySource({"flow": flows, "strain": flows[:, 0]}), n_outputs=4, multilabel=False, config=cfg
        ).fit(rows, noisy)
