"""Fixtures shared by the torch-layer tests: one small synthetic store per session (``flow_store_path``, which
tests/protocols uses too, is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def quick_store_path(tmp_path_factory):
    """Every synthetic corpus through the real pipeline (mefast.train.reproduce.quick_store): seconds, once."""
    pytest.importorskip("torch")
    from mefast.train.reproduce import quick_store

    return quick_store(tmp_path_factory.mktemp("quick"))
