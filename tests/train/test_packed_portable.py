"""The packed reader's direct file reads work where ``os.readv`` does not exist (Windows)."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("torch")

from mefast.store import MEStore  # noqa: E402
from mefast.train._packed import PackedReader  # noqa: E402

from .test_packed_source import _store  # noqa: E402


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "lz4"])
def test_direct_reads_without_readv(tmp_path, monkeypatch, compress):
    st = MEStore.open(_store(tmp_path / "p.zarr", compress=compress).path)
    held = st.packed_done()
    monkeypatch.delattr(os, "readv", raising=False)  # as on Windows: Unix only
    reader = PackedReader(st._array("packed/flow"), held, n_threads=1)
    assert reader.direct
    values, have = np.full((37, 2, 8, 8), -1.0, np.float32), np.zeros(37, bool)
    reader.fill(np.arange(37), values, have)
    np.testing.assert_array_equal(have, held)
    np.testing.assert_array_equal(values[held], st.read("flow", np.flatnonzero(held)))
