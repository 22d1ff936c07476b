"""MEStore.pack: the grouped copy for reading equals the per-sample arrays, and it never outlives a write."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from mefast import MEStore, StoreError

from .test_store import ARRAYS, _make, _sample_arrays
from .test_store import location as location  # the fixture: memory, local and fsspec-URL stores

N = 11
UNDONE_WRITTEN, NEVER_WRITTEN = 5, 7  # a sample half-written by a crashed run, and one never started


def _filled(location, n: int = N) -> MEStore:
    st = _make(location, n=n)
    for i in range(n):
        if i == NEVER_WRITTEN:
            continue
        st.write_sample(i, _sample_arrays(i))
        if i != UNDONE_WRITTEN:
            st.mark_done(i)
    return st


def _fill(dtype: np.dtype):
    return np.nan if np.issubdtype(dtype, np.floating) else 0


def test_pack_holds_the_done_samples_exactly(location):
    st = _filled(location)
    record = st.pack(samples_per_chunk=3)
    assert record["n_done"] == N - 2 and st.pack_record() == record
    done = st.done
    np.testing.assert_array_equal(st.packed_done(), done)
    group = zarr.open_group(store=st._group.store, mode="r")  # plain zarr reads it
    for name, (shape, dtype) in ARRAYS.items():
        packed = group[f"packed/{name}"]
        assert packed.shape == (N, *shape) and packed.dtype == np.dtype(dtype) and packed.chunks == (3, *shape)
        assert packed.metadata.dimension_names == st._array(name).metadata.dimension_names
        got, ref = np.asarray(packed[:]), st.read(name, slice(None))
        np.testing.assert_array_equal(got[done], ref[done])
        assert (np.isnan(got[~done]) if got.dtype.kind == "f" else got[~done] == 0).all()
        assert ref[UNDONE_WRITTEN].tolist() == _sample_arrays(UNDONE_WRITTEN)[name].tolist()  # not in the pack
        if np.issubdtype(np.dtype(dtype), np.floating):
            assert packed.compressors == ()  # raw: a reader copies the file into place
        else:  # LZ4, bit shuffle for bytes: quick to write and to read back
            (codec,) = packed.compressors
            shuffle = "bitshuffle" if np.dtype(dtype).itemsize == 1 else "shuffle"
            assert (codec.cname.value, codec.shuffle.value) == ("lz4", shuffle)
    assert "packed" not in st.features and st.read("flow", 0).shape == ARRAYS["flow"][0]


def test_default_chunk_holds_a_few_mb(tmp_path):
    st = _filled(tmp_path / "s.zarr")
    st.PACK_CHUNK_BYTES = 2 * 6 * 5 * 4 * 4  # four flows per chunk
    record = st.pack()
    assert record["arrays"]["flow"]["samples_per_chunk"] == 4
    assert record["arrays"]["strain"]["samples_per_chunk"] == 8
    assert record["arrays"]["mdmo"]["samples_per_chunk"] == 960 // (72 * 4)
    assert record["arrays"]["frames"]["samples_per_chunk"] == 960 // 90
    assert zarr.open_group(tmp_path / "s.zarr", mode="r")["packed/flow"].chunks == (4, 2, 6, 5)
    st.PACK_CHUNK_BYTES = 1
    assert st.pack(["mdmo"])["arrays"]["mdmo"]["samples_per_chunk"] == 1  # at least one
    st.PACK_CHUNK_BYTES = 2**30
    assert st.pack(["mdmo"])["arrays"]["mdmo"]["samples_per_chunk"] == N  # at most all


def test_compressed_pack(tmp_path):
    st = _filled(tmp_path / "s.zarr")
    record = st.pack(["flow", "frames"], samples_per_chunk=4, compress=True)
    packed = zarr.open_group(tmp_path / "s.zarr", mode="r")
    codec = packed["packed/flow"].compressors[0].to_dict()["configuration"]
    assert (codec["cname"], codec["shuffle"]) == ("lz4", "shuffle") and record["arrays"]["flow"]["compressor"]
    assert packed["packed/frames"].compressors[0].to_dict()["configuration"]["shuffle"] == "bitshuffle"
    done = st.done
    np.testing.assert_array_equal(packed["packed/flow"][:][done], st.read("flow", done))


def test_readable_with_xarray(tmp_path):
    xr = pytest.importorskip("xarray")
    st = _filled(tmp_path / "s.zarr")
    st.pack(["flow", "strain"])
    ds = xr.open_zarr(tmp_path / "s.zarr", group="packed", consolidated=False)
    assert set(ds.data_vars) == {"flow", "strain", "done"}
    assert ds["flow"].dims == ("sample", "component", "y", "x")
    np.testing.assert_array_equal(ds["flow"].values[0], st.read("flow", 0))


@pytest.mark.parametrize("write", ["write_sample", "mark_undone"])
def test_a_write_drops_the_pack(location, write):
    st = _filled(location)
    st.pack()
    if write == "write_sample":
        st.write_sample(2, {"mdmo": np.zeros(72, np.float32)})
    else:
        st.mark_undone(2)
    assert st.pack_record() is None and "packed" not in st.attrs
    assert "packed" not in zarr.open_group(store=st._group.store, mode="r")
    assert not st.packed_done().any()


def test_another_process_writing_drops_the_pack(tmp_path):
    path = tmp_path / "s.zarr"
    other = MEStore.open(_filled(path).path, "r+")
    other.write_sample(0, _sample_arrays(0))  # this writer looked for a pack before there was one
    MEStore.open(path, "r+").pack()
    other.write_sample(1, {"mdmo": np.zeros(72, np.float32)})  # a local store looks again on every write
    assert MEStore.open(path).pack_record() is None
    assert not (path / "packed").exists()


def test_a_changed_done_array_makes_the_pack_stale(location):
    st = _filled(location)
    st.pack()
    raw = zarr.open_group(store=st._group.store, mode="r+")
    raw["done"][3] = False  # a writer that knows nothing of the pack (plain zarr)
    assert st.pack_record() is None
    raw["done"][3] = True  # the same done array again: the digest matches
    assert st.pack_record() is not None


def test_a_writer_opened_before_the_pack_drops_it(location):
    """A store handle that wrote before the pack existed checks again at its next write, on every kind of store,
    and drops the pack before rewriting a done sample (no mark_undone first): no stale value is ever served."""
    st = _filled(location)
    other = MEStore(st._group, st._source, "r+")
    other.write_sample(0, _sample_arrays(0))  # before the pack existed
    st.pack()
    assert st.pack_record() is not None
    other.write_sample(0, {"mdmo": np.full(ARRAYS["mdmo"][0], 9.0, np.float32)})  # done stays True
    assert st.pack_record() is None and "packed" not in zarr.open_group(st._group.store_path, mode="r")
    assert (st.read("mdmo", 0) == 9.0).all()


def test_pack_after_resume(tmp_path):
    st = _filled(tmp_path / "s.zarr")
    st.pack(samples_per_chunk=4)
    st.write_sample(NEVER_WRITTEN, _sample_arrays(NEVER_WRITTEN))  # the resumed run
    st.mark_done(NEVER_WRITTEN)
    st.mark_done(UNDONE_WRITTEN)
    assert st.pack_record() is None
    st.pack(samples_per_chunk=4)
    assert st.packed_done().all() and st.pack_record()["n_done"] == N
    packed = zarr.open_group(tmp_path / "s.zarr", mode="r")["packed/flow"]
    np.testing.assert_array_equal(packed[:], st.read("flow", slice(None)))


def test_pack_errors(tmp_path):
    st = _make(tmp_path / "s.zarr")
    with pytest.raises(StoreError, match="nothing to pack"):
        st.pack()
    st.write_sample(0, _sample_arrays(0))
    st.mark_done(0)
    with pytest.raises(KeyError, match="no array 'nope'"):
        st.pack(["flow", "nope"])
    with pytest.raises(TypeError, match="not the string"):
        st.pack("flow")
    with pytest.raises(ValueError, match="samples_per_chunk"):
        st.pack(samples_per_chunk=0)
    with pytest.raises(StoreError, match="read-only"):
        MEStore.open(tmp_path / "s.zarr").pack()
    assert st.drop_pack() is False
    st.pack(["mdmo"])
    assert st.drop_pack() is True and st.pack_record() is None
    with pytest.raises(ValueError, match="'packed' is invalid"):
        MEStore.create(
            tmp_path / "t.zarr", st.meta, au=st.au, au_names=st.au_names, arrays={"packed": ((2,), "float32")}
        )


def test_a_killed_pack_leaves_nothing_trusted(tmp_path):
    st = _filled(tmp_path / "s.zarr")
    st.pack()
    raw = zarr.open_group(tmp_path / "s.zarr", mode="r+")
    del raw.attrs["packed"]  # as if the pack was killed before its record was written
    assert st.pack_record() is None
    st.write_sample(0, _sample_arrays(0))
    assert not (tmp_path / "s.zarr" / "packed").exists()


def test_a_write_while_packing_is_refused(tmp_path, monkeypatch):
    st = _filled(tmp_path / "s.zarr")
    other = MEStore.open(tmp_path / "s.zarr", "r+")
    real = MEStore._read_done
    calls = []

    def read_done_then_write(self):
        calls.append(1)
        if len(calls) == 2:  # the final check: a writer without the run lock rewrote a done sample meanwhile
            other.write_sample(0, {"mdmo": np.zeros(72, np.float32)})
        return real(self)

    monkeypatch.setattr(MEStore, "_read_done", read_done_then_write)
    with pytest.raises(StoreError, match="written while it was being packed"):
        st.pack()
    assert st.pack_record() is None and not (tmp_path / "s.zarr" / "packed").exists()
