"""``attrs["packed"]`` is written only by MEStore.pack: a record copied from another store is refused."""

from __future__ import annotations

import pytest

from .test_store import _make, _sample_arrays


def test_packed_record_cannot_be_set_through_attrs(tmp_path):
    src = _make(tmp_path / "a.zarr")
    for i in range(len(src)):
        src.write_sample(i, _sample_arrays(i))
        src.mark_done(i)
    record = src.pack()
    other = _make(tmp_path / "b.zarr")  # the same done array: a copied record's digest would match
    for i in range(len(other)):
        other.write_sample(i, _sample_arrays(i))
        other.mark_done(i)
    with pytest.raises(ValueError, match="packed"):
        other.update_attrs(packed=src.attrs["packed"])
    assert other.pack_record() is None
    with pytest.raises(ValueError, match="packed"):
        _make(tmp_path / "c.zarr", attrs={"packed": record})
