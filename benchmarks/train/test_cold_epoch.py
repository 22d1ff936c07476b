"""Cold first epoch of a store-backed DataLoader against in-memory arrays (issue 17, goal 5).

``train-dataloader-cold``: one shuffled epoch of training batches (flip, resize to 64, min-max; batch 64) over a
2040-clip synthetic CD6ME-sized store (flow + strain 64 x 64), each round with a fresh :class:`StoreSource`, so
every sample's chunks are read from disk and decoded. Three rows side by side:

* in-memory arrays (the baseline, how MEB feeds its networks);
* the store read through Zarr (``MEStore.read``: Zarr's codec pipeline per chunk; the read path before the direct
  chunk reads);
* the store read by :class:`mefast.train._chunks.ChunkReader` (each one-sample chunk file read and Blosc-decoded
  straight into the row cache; mefast's default on a local store).

The goal is a cold epoch within 2x of in-memory. Every path's batches are checked equal before timing.

Run: ``python -m pytest benchmarks/train/test_cold_epoch.py --benchmark-enable --benchmark-only -q``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mefast.train import FlowDataset, StoreSource, make_loader
from mefast.train.transforms import input_transforms


def _source(store, where):
    src = StoreSource(store.path)
    if where == "zarr":
        src._reader = lambda name: None  # every chunk through MEStore.read (Zarr)
    return src


def _batches(source, rows):
    torch.manual_seed(0)
    ds = FlowDataset(source, rows, inputs=("flow", "strain"), transform=input_transforms(64, train=True))
    return list(make_loader(ds, batch_size=64, shuffle=True, seed=0))


NAMES = {
    "memory": "FlowDataset, in-memory arrays",
    "zarr": "FlowDataset, store, cold, Zarr reads (before)",
    "direct": "FlowDataset, store, cold, direct chunk reads",
}


@pytest.mark.parametrize("where", list(NAMES))
def test_cold_epoch(benchmark, report, store, in_memory, one_epoch, where):
    torch.set_num_threads(1)
    rows = np.arange(len(store))
    check = rows[:: max(1, len(rows) // 200)]
    ref = _batches(in_memory, check)
    got = _batches(in_memory if where == "memory" else _source(store, where), check)
    assert all(torch.equal(a, b) for a, b in zip(ref, got, strict=True))
    if where == "memory":
        n = benchmark.pedantic(one_epoch, args=(in_memory, rows), rounds=3, iterations=1, warmup_rounds=1)
    else:  # a fresh source each round: nothing cached
        n = benchmark.pedantic(
            lambda: one_epoch(_source(store, where), rows), rounds=3, iterations=1, warmup_rounds=1
        )
    assert n == len(store)
    stats = getattr(benchmark, "stats", None)
    rate = n / stats.stats.median if stats is not None else float("nan")
    report("train-dataloader-cold", NAMES[where], benchmark, baseline=where == "memory", samples_per_s=rate)
