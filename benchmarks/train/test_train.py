"""Training benchmarks: CD6ME-style LODO with SSSNet on a 2000-clip synthetic composite store (CPU).

* ``train-dataloader``: one epoch of training batches (flip, resize to 64, min-max) read lazily from the
  store, against the same DataLoader over in-memory arrays (the way MEB feeds its networks), three rows side
  by side: the first epoch of a fresh source (every chunk decoded, but the store's files, just written, are in
  the page cache: no disk reads), warm epochs (rows served from the source's decoded-row cache) and in-memory
  arrays (the baseline), each side timed in its own test. ``benchmarks/train/test_cold_epoch.py`` supersedes this
  group for issue 17's goal 5: the same sides timed in interleaved rounds, and a truly cold epoch (the store's files
  evicted from the page cache).
* ``train-cd6me-fold``: one LODO fold (train on five corpora, predict the sixth) of SSSNet, store-backed
  against in-memory input; time per fold for the given epochs, on one CPU thread (stable on a shared
  machine; the shallow network gains little from more).

Run: ``python -m pytest benchmarks/train --benchmark-enable --benchmark-only -q``. Benchmarks are disabled by
default (CI's smoke run): then the store is small and each body runs once.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mefast.protocols import cross_validate, make_protocol
from mefast.train import FlowDataset, StoreSource, TrainConfig, torch_method

EPOCHS = 2


# The cold case runs last: its fresh 100 MB caches, allocated and freed every round, would otherwise slow the
# allocator for the cases measured after it.
@pytest.mark.parametrize("where", ["in-memory", "store, warm epochs", "store, cold first epoch"])
def test_dataloader_throughput(benchmark, report, store, in_memory, one_epoch, where):
    torch.set_num_threads(1)
    rows = np.arange(len(store))
    # correctness first: the store-backed batches are the in-memory ones
    a = FlowDataset(StoreSource(store.path), rows[:50])[list(range(50))]
    assert torch.equal(a, FlowDataset(in_memory, rows[:50])[list(range(50))])
    if where == "in-memory":
        n = benchmark.pedantic(one_epoch, args=(in_memory, rows), rounds=3, iterations=1, warmup_rounds=1)
    elif where == "store, cold first epoch":  # a fresh source each round: every chunk decoded (page-cached files)
        n = benchmark.pedantic(
            lambda: one_epoch(StoreSource(store.path), rows), rounds=3, iterations=1, warmup_rounds=1
        )
    else:  # warm: the same source, rows decoded in its first epoch (the warm-up round) come from its cache
        source = StoreSource(store.path)
        n = benchmark.pedantic(one_epoch, args=(source, rows), rounds=3, iterations=1, warmup_rounds=1)
    assert n == len(store)
    stats = getattr(benchmark, "stats", None)
    rate = n / stats.stats.median if stats is not None else float("nan")
    report("train-dataloader", f"FlowDataset, {where}", benchmark, baseline=where == "in-memory", samples_per_s=rate)


@pytest.mark.parametrize("where", ["in-memory", "store"])
def test_cd6me_fold_sssnet(benchmark, report, store, in_memory, where):
    proto = make_protocol("cd6me", store.meta, au=store.au, au_names=store.au_names)
    fold = next(f for f in proto.folds if f.name == "samm")
    assert set(store.meta.loc[fold.train, "dataset"]).isdisjoint(store.meta.loc[fold.test, "dataset"])
    source = in_memory if where == "in-memory" else StoreSource(store.path)
    config = TrainConfig(epochs=EPOCHS, lr=1e-3, batch_size=32, device="cpu", threads=1)
    fit_predict = torch_method("sssnet", source, n_outputs=len(proto.classes), multilabel=True, config=config)

    def run():
        return fit_predict(fold, proto.labels[fold.train], 0)

    # one warm-up round (torch start-up, allocator; for the store: its first epoch fills the row cache)
    pred = benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=1)
    assert pred.shape == (len(fold.test), 12) and set(np.unique(pred)) <= {0, 1}
    one = type(proto)(proto.name, proto.label, proto.index, proto.meta, proto.classes, (fold,), proto.labels)
    f1 = cross_validate(one, lambda f, y, s: pred).summary().loc["f1", "mean"]
    report(
        "train-cd6me-fold",
        f"SSSNet LODO fold (test samm), {where}",
        benchmark,
        baseline=where == "in-memory",
        epochs=EPOCHS,
        n_train=len(fold.train),
        n_test=len(fold.test),
        f1=f1,
    )
