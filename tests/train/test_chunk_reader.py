"""The training read path's direct chunk reads equal Zarr's reads of the same store, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec

torch = pytest.importorskip("torch")

from mefast._chunk_reader import ChunkReader  # noqa: E402
from mefast.errors import StoreError  # noqa: E402
from mefast.store import MEStore  # noqa: E402
from mefast.train import ArraySource, FlowDataset, StoreSource, make_loader  # noqa: E402
from mefast.train.synthetic import synthetic_flow_samples  # noqa: E402
from mefast.train.transforms import input_transforms  # noqa: E402


@pytest.fixture(scope="module")
def partial_path(tmp_path_factory):
    """A store with flow, strain and uint8 frames where samples 2 and 5 were never written."""
    meta, au, flows = synthetic_flow_samples(datasets=["casme2"], n_subjects=2, clips_per_subject=4, size=8, seed=1)
    path = tmp_path_factory.mktemp("chunks") / "partial.zarr"
    from mefast.train.synthetic import AU_NAMES

    store = MEStore.create(
        path,
        meta,
        au=au,
        au_names=AU_NAMES,
        arrays={"flow": ((2, 8, 8), "float32"), "frames": ((3, 8, 8), "uint8")},
    )
    rng = np.random.default_rng(0)
    for i in range(len(meta)):
        if i in (2, 5):
            continue
        store.write_sample(i, {"flow": flows[i], "frames": rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)})
        store.mark_done(i)
    return path


def _zarr_rows(path, name):
    return np.asarray(zarr.open_array(f"{path}/{name}", mode="r")[:])


@pytest.mark.parametrize("name", ["flow", "frames"])
def test_reader_equals_zarr_with_unwritten_rows(partial_path, name):
    store = MEStore.open(partial_path, mode="r")
    reader = ChunkReader.for_array(store._array(name))
    assert reader is not None
    expect = _zarr_rows(partial_path, name)
    rows = np.array([5, 0, 2, 7, 1], dtype=np.int64)
    out = np.empty((len(rows), *reader.shape), reader.dtype)
    reader.read_into(rows, out, np.arange(len(rows)))
    np.testing.assert_array_equal(out, expect[rows])  # NaN (flow) / 0 (frames) where nothing was written
    if name == "flow":
        assert np.isnan(out[0]).all() and np.isnan(out[2]).all() and not np.isnan(out[1]).any()


@pytest.mark.parametrize("cache_bytes", [0, 2**30])
def test_store_source_reads_exactly_the_store(partial_path, cache_bytes):
    src = StoreSource(partial_path, cache_bytes=cache_bytes)
    for name in ("flow", "frames"):
        expect = _zarr_rows(partial_path, name)
        for rows in ([3, 1, 1, 7], [-1, 0], [2, 5, 4, 6, 0]):
            np.testing.assert_array_equal(src.read(name, np.array(rows)), expect[rows])
    assert src._readers["flow"] is not None  # the direct path was the one used
    with pytest.raises(IndexError):
        src.read("flow", np.array([8]))


def test_batched_loader_yields_the_same_tensors(flow_store_path):
    """A shuffled DataLoader epoch over the store: the direct path, Zarr's path and in-memory arrays agree."""
    store = MEStore.open(flow_store_path, mode="r")
    rows = np.arange(len(store))
    memory = ArraySource({k: store.read(k, slice(None)) for k in ("flow", "strain")})
    zarr_only = StoreSource(flow_store_path)
    zarr_only._reader = lambda name: None  # Zarr's own read path, as before the direct reads
    epochs = []
    for source in (StoreSource(flow_store_path), zarr_only, memory):
        torch.manual_seed(0)
        ds = FlowDataset(source, rows, transform=input_transforms(16, train=True))
        epochs.append(list(make_loader(ds, batch_size=4, shuffle=True, seed=0)))
    for a, b, c in zip(*epochs, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_other_layouts_get_no_reader(tmp_path):
    grouped = zarr.create_array(tmp_path / "a.zarr", shape=(4, 3), chunks=(2, 3), dtype="float32")
    assert ChunkReader.for_array(grouped) is None  # chunks of two samples
    raw = zarr.create_array(tmp_path / "b.zarr", shape=(4, 3), chunks=(1, 3), dtype="float32", compressors=None)
    assert ChunkReader.for_array(raw) is None  # not blosc
    mem = zarr.create_array(zarr.storage.MemoryStore(), shape=(4, 3), chunks=(1, 3), dtype="float32")
    assert ChunkReader.for_array(mem) is None  # not on local disk


def _one_row_chunks(path, data: np.ndarray):
    """A float32 array of one Blosc-zstd chunk per row, written with ``data``, and its direct reader."""
    blosc = BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")
    arr = zarr.create_array(path, shape=data.shape, chunks=(1, data.shape[1]), dtype="float32", compressors=blosc)
    arr[:] = data
    reader = ChunkReader.for_array(arr)
    assert reader is not None
    return arr, reader


def test_foreign_chunk_raises(tmp_path):
    arr, reader = _one_row_chunks(tmp_path / "c.zarr", np.arange(12, dtype=np.float32).reshape(3, 4))
    out = np.empty((3, 4), np.float32)
    reader.read_into(np.arange(3), out)
    np.testing.assert_array_equal(out, arr[:])
    _one_row_chunks(tmp_path / "d.zarr", np.ones((1, 8), np.float32))
    (tmp_path / "c.zarr" / "c" / "1" / "0").write_bytes((tmp_path / "d.zarr" / "c" / "0" / "0").read_bytes())
    with pytest.raises(StoreError, match="does not hold one sample"):
        reader.read_into(np.array([1]), out)


@pytest.mark.parametrize("n_threads", [1, 3])
def test_threaded_reads_equal_serial(flow_store_path, n_threads):
    """Many rows split over threads land in the same places as a serial read."""
    store = MEStore.open(flow_store_path, mode="r")
    reader = ChunkReader.for_array(store._array("flow"), n_threads=n_threads)
    assert reader is not None and reader.n_threads == n_threads
    rows = np.random.default_rng(0).permutation(len(store)).astype(np.int64)
    out = np.full((len(store), *reader.shape), -1.0, np.float32)
    reader.read_into(rows, out)
    np.testing.assert_array_equal(out, _zarr_rows(flow_store_path, "flow"))


def test_chunk_with_trailing_bytes_raises(tmp_path):
    """A file longer than the Blosc frame it starts with (appended to, or not a chunk) is refused, not half-read."""
    arr, reader = _one_row_chunks(tmp_path / "e.zarr", np.arange(8, dtype=np.float32).reshape(2, 4))
    chunk = tmp_path / "e.zarr" / "c" / "1" / "0"
    chunk.write_bytes(chunk.read_bytes() + b"\0" * 3)
    out = np.empty((2, 4), np.float32)
    reader.read_into(np.array([0]), out[:1], np.array([0]))
    np.testing.assert_array_equal(out[0], arr[0])
    with pytest.raises(StoreError, match="e.zarr/c/1/0 does not hold one sample"):
        reader.read_into(np.array([1]), out, np.array([1]))


@pytest.mark.parametrize("separator", ["/", "."])
def test_rows_beyond_the_checked_keys_read_like_zarr(tmp_path, separator):
    """The chunk path template is Zarr's key encoding (either separator) for every row, not only the checked ones."""
    blosc = BloscCodec(cname="lz4", clevel=1, shuffle="shuffle")
    n = 130
    arr = zarr.create_array(
        tmp_path / "f.zarr",
        shape=(n, 2, 3),
        chunks=(1, 2, 3),
        dtype="int16",
        compressors=blosc,
        chunk_key_encoding={"name": "default", "separator": separator},
    )
    arr[:] = np.arange(n * 6, dtype=np.int16).reshape(n, 2, 3)
    reader = ChunkReader.for_array(arr, n_threads=1)
    assert reader is not None and reader.layout.template == f"c{separator}{{0}}{separator}0{separator}0"
    out = np.empty((n, 2, 3), np.int16)
    reader.read_into(np.arange(n)[::-1].copy(), out)
    np.testing.assert_array_equal(out, arr[:])


def test_key_template_falls_back_to_the_encoding():
    from mefast._chunk_files import key_template

    assert key_template(lambda c: ".".join(map(str, c)), 2) == "{0}.0.0"
    assert key_template(lambda c: f"s{c[0]:04d}", 2) is None  # not "c/i/...": the reader calls the encoding


@pytest.mark.parametrize(("cname", "shuffle"), [("zstd", "shuffle"), ("lz4hc", "shuffle"), ("lz4", "bitshuffle")])
def test_any_blosc_codec_reads_like_zarr(tmp_path, cname, shuffle):
    """Stores written before the LZ4 default (zstd, LZ4HC) and with other Blosc codecs get the direct reader, exact."""
    blosc = BloscCodec(cname=cname, clevel=5, shuffle=shuffle)
    arr = zarr.create_array(tmp_path / "g.zarr", shape=(5, 2, 7, 6), chunks=(1, 2, 7, 6), dtype="float32",
                            compressors=blosc)  # fmt: skip
    arr[:] = np.random.default_rng(1).normal(size=arr.shape).astype(np.float32)
    reader = ChunkReader.for_array(arr, n_threads=1)
    assert reader is not None
    out = np.empty(arr.shape, np.float32)
    reader.read_into(np.array([4, 0, 2, 1, 3]), out)
    np.testing.assert_array_equal(out, arr[:])


def test_new_stores_write_floats_with_lz4(flow_store_path):
    (codec,) = zarr.open_group(flow_store_path, mode="r")["flow"].compressors
    assert codec.cname.value == "lz4"
    assert ChunkReader.for_array(MEStore.open(flow_store_path)._array("flow")) is not None


def test_reads_are_announced_to_the_os_where_it_can_take_the_hint():
    """The read-ahead hint is the OS's WILLNEED wherever posix_fadvise exists (a misspelt name would silently
    turn it off and only a cold-epoch benchmark would notice)."""
    import os

    from mefast._chunk_reader import WILLNEED

    if hasattr(os, "posix_fadvise"):
        assert WILLNEED == os.POSIX_FADV_WILLNEED
    else:
        assert WILLNEED is None
