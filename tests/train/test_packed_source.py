"""StoreSource reads a store's pack (MEStore.pack) with the per-sample arrays' exact values, and ignores a stale one."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import zarr

torch = pytest.importorskip("torch")

from mefast.errors import StoreError  # noqa: E402
from mefast.store import MEStore  # noqa: E402
from mefast.train import ArraySource, FlowDataset, StoreSource, make_loader  # noqa: E402
from mefast.train._packed import PackedReader  # noqa: E402
from mefast.train.synthetic import AU_NAMES, synthetic_flow_samples  # noqa: E402

ARRAYS = {"flow": ((2, 8, 8), "float32"), "strain": ((8, 8), "float32"), "frames": ((3, 8, 8), "uint8")}
HALF_WRITTEN, NEVER_WRITTEN = (4, 11), (2, 17)


def _store(path, g: int = 5, compress: bool = False) -> MEStore:
    """37 samples (the last packed chunk is short): two half-written by a crashed run, two never written."""
    meta, au, flows = synthetic_flow_samples(datasets=["casme2"], n_subjects=4, clips_per_subject=10, size=8, seed=2)
    meta, au, flows = meta.iloc[:37].reset_index(drop=True), au[:37], flows[:37]
    st = MEStore.create(path, meta, au=au, au_names=AU_NAMES, arrays=ARRAYS)
    rng = np.random.default_rng(0)
    for i in range(len(meta)):
        if i in NEVER_WRITTEN:
            continue
        frames = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
        st.write_sample(i, {"flow": flows[i], "strain": flows[i, 0] - flows[i, 1], "frames": frames})
        if i not in HALF_WRITTEN:
            st.mark_done(i)
    st.pack(samples_per_chunk=g, compress=compress)
    return st


@pytest.fixture(params=[False, True], ids=["raw", "lz4"])
def packed_path(request, tmp_path):
    return _store(tmp_path / "p.zarr", compress=request.param).path


def _per_sample(path, name, rows):
    return StoreSource(path, packed=False).read(name, rows)


@pytest.mark.parametrize("name", list(ARRAYS))
def test_packed_reads_equal_per_sample_reads(packed_path, name):
    rows = np.random.default_rng(1).permutation(37)
    src = StoreSource(packed_path)
    got = src.read(name, rows[:9])  # a few rows first: their chunks are decoded whole
    reader = src._packs[name]
    assert isinstance(reader, PackedReader) and reader.direct and reader.g == 5
    got = np.concatenate([got, src.read(name, rows[9:])])
    expect = _per_sample(packed_path, name, rows)
    np.testing.assert_array_equal(got, expect)  # NaN (floats) / 0 where never written, the half-written values
    assert not np.isnan(expect[rows == HALF_WRITTEN[0]]).any() if name != "frames" else True
    np.testing.assert_array_equal(src.read(name, rows), expect)  # now from the cache


def test_reads_through_zarr_equal_direct_reads(packed_path):
    st = MEStore.open(packed_path)
    held = st.packed_done()
    arr = st._array("packed/flow")
    out = {}
    for direct in (True, False):
        reader = PackedReader(arr, held, direct=direct, n_threads=1)
        assert reader.direct is direct
        values, have = np.full((37, 2, 8, 8), -1.0, np.float32), np.zeros(37, bool)
        reader.fill(np.arange(37), values, have)
        np.testing.assert_array_equal(have, held)
        out[direct] = values[held]
    np.testing.assert_array_equal(out[True], out[False])
    np.testing.assert_array_equal(out[True], st.read("flow", np.flatnonzero(held)))


def test_rows_already_cached_are_never_overwritten(packed_path):
    st = MEStore.open(packed_path)
    reader = PackedReader(st._array("packed/flow"), st.packed_done(), n_threads=1)
    values, have = np.zeros((37, 2, 8, 8), np.float32), np.zeros(37, bool)
    values[HALF_WRITTEN[0]] = 7.0  # a row read per sample before (not held by the pack)
    have[HALF_WRITTEN[0]] = True
    reader.fill(np.array([HALF_WRITTEN[0] - 1]), values, have)  # same chunk
    assert (values[HALF_WRITTEN[0]] == 7.0).all() and have[HALF_WRITTEN[0]]
    a = (HALF_WRITTEN[0] // 5) * 5
    held = [r for r in range(a, a + 5) if r not in (*HALF_WRITTEN, *NEVER_WRITTEN)]
    assert have[held].all() and have.sum() == len(held) + 1
    np.testing.assert_array_equal(values[held], st.read("flow", held))


def test_stale_or_missing_pack_is_not_used(tmp_path):
    path = _store(tmp_path / "p.zarr").path
    rows = np.arange(37)[::-1]
    zarr.open_group(path, mode="r+")["done"][3] = False  # a foreign write: the done array changed
    src = StoreSource(path)
    np.testing.assert_array_equal(src.read("flow", rows), _per_sample(path, "flow", rows))
    assert src._packs == {}
    st = MEStore.open(path, "r+")
    st.mark_done(3)
    again = StoreSource(path)
    again.read("flow", rows[:1])
    assert isinstance(again._packs["flow"], PackedReader)  # the done array of the pack again: current
    st.write_sample(0, {"flow": np.full((2, 8, 8), 3.0, np.float32)})  # drops the pack
    src = StoreSource(path)
    got = src.read("flow", rows)
    assert src._packs == {} and (got[-1] == 3.0).all()
    np.testing.assert_array_equal(got, _per_sample(path, "flow", rows))
    st.drop_pack()
    nothing = StoreSource(path)
    np.testing.assert_array_equal(nothing.read("strain", rows), _per_sample(path, "strain", rows))


def test_a_recorded_pack_array_deleted_by_hand_is_read_per_sample(packed_path):
    del zarr.open_group(packed_path, mode="r+")["packed/flow"]  # the record still names it
    src = StoreSource(packed_path)
    rows = np.arange(37)
    np.testing.assert_array_equal(src.read("flow", rows), _per_sample(packed_path, "flow", rows))
    assert "flow" not in src._packs and isinstance(src._packs["strain"], PackedReader)


def test_a_pack_deleted_under_the_reader_falls_back(packed_path):
    src = StoreSource(packed_path)
    src._packed_reader("flow")  # validated while the pack was there
    MEStore.open(packed_path, "r+").drop_pack()
    rows = np.arange(37)
    np.testing.assert_array_equal(src.read("flow", rows), _per_sample(packed_path, "flow", rows))


def test_no_cache_reads_per_sample_and_pickling_keeps_the_choice(packed_path):
    src = StoreSource(packed_path, cache_bytes=0)
    rows = np.arange(37)
    np.testing.assert_array_equal(src.read("flow", rows), _per_sample(packed_path, "flow", rows))
    assert src._packs is None  # never asked: without a cache whole chunks would be decoded for a few rows
    clone = pickle.loads(pickle.dumps(StoreSource(packed_path, packed=False)))
    assert clone.packed is False
    clone.read("flow", rows)
    assert clone._packs == {}


def test_epoch_from_the_pack_equals_in_memory(tmp_path):
    path = _store(tmp_path / "p.zarr", g=8).path
    st = MEStore.open(path)
    rows = np.flatnonzero(st.done)
    mem = ArraySource({k: st.read(k, slice(None)) for k in ("flow", "strain")})
    batches = []
    for src in (StoreSource(path), mem):
        ds = FlowDataset(src, rows, inputs=("flow", "strain"))
        batches.append(list(make_loader(ds, batch_size=6, shuffle=True, seed=3)))
    assert all(torch.equal(a, b) for a, b in zip(*batches, strict=True))


def test_a_foreign_packed_chunk_is_an_error(packed_path):
    chunk = packed_path / "packed" / "flow" / "c" / "1" / "0" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[:-8])  # truncated: neither the raw rows nor a whole Blosc frame
    with pytest.raises(StoreError, match="packed chunk"):
        StoreSource(packed_path).read("flow", np.array([6]))
