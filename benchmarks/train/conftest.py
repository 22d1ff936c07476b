"""Fixtures shared by the training benchmarks: the synthetic CD6ME-style store and its in-memory copy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from mefast.protocols import CD6ME_DATASETS
from mefast.store import MEStore
from mefast.train import ArraySource, FlowDataset, make_loader
from mefast.train.synthetic import write_flow_store
from mefast.train.transforms import input_transforms


@pytest.fixture(scope="module")
def store(smoke, tmp_path_factory) -> MEStore:
    """A 2040-clip six-corpus flow+strain store (a 60-clip one when benchmarks are disabled: CI's smoke run)."""
    n_subjects, clips = (2, 5) if smoke else (20, 17)  # 6 corpora x 20 x 17 = 2040 clips (CD6ME: 2031)
    path = tmp_path_factory.mktemp("train-bench") / "cd6me-synthetic.zarr"
    write_flow_store(path, datasets=CD6ME_DATASETS, n_subjects=n_subjects, clips_per_subject=clips, size=64, seed=0)
    return MEStore.open(path)


@pytest.fixture(scope="module")
def in_memory(store: MEStore) -> ArraySource:
    """The store's flow and strain arrays held in memory (the baseline source)."""
    return ArraySource({"flow": store.read("flow", slice(None)), "strain": store.read("strain", slice(None))})


def _one_epoch(source, rows: np.ndarray) -> int:
    ds = FlowDataset(source, rows, inputs=("flow", "strain"), transform=input_transforms(64, train=True))
    n = 0
    for x in make_loader(ds, batch_size=64, shuffle=True, seed=0):
        n += len(x)
    return n


@pytest.fixture
def one_epoch() -> Callable[..., int]:
    """One training epoch (flip, resize to 64, min-max; batches of 64) over ``rows`` of a source; the clip count."""
    return _one_epoch
