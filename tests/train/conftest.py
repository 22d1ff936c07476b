"""Fixtures shared by the torch-layer tests: one small synthetic store per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def quick_store_path(tmp_path_factory):
    """Every synthetic corpus through the real pipeline (mefast.train.reproduce.quick_store): seconds, once."""
    pytest.importorskip("torch")
    from mefast.train.reproduce import quick_store

    return quick_store(tmp_path_factory.mktemp("quick"))


@pytest.fixture(scope="session")
def flow_store_path(tmp_path_factory):
    """A flow + strain store with a learnable label signal (two corpora, three subjects each)."""
    pytest.importorskip("torch")
    from mefast.train.synthetic import write_flow_store

    path = tmp_path_factory.mktemp("flow") / "flow.zarr"
    write_flow_store(path, datasets=("casme2", "samm"), n_subjects=3, clips_per_subject=4, size=28, seed=0)
    return path
