"""Direct chunk writes (mefast._chunk_files) leave exactly the files Zarr writes, and fall back where they cannot."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr
from zarr.codecs import BloscCodec

from mefast import MEStore
from mefast._chunk_files import ChunkWriter, chunk_layout


def _files(root: Path) -> dict[str, bytes]:
    """Every chunk file under ``root`` (metadata excluded), by relative path."""
    files = (p for p in sorted(root.rglob("*")) if p.is_file() and p.name != "zarr.json")
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


CASES = {
    "float map, lz4": ((2, 7, 6), "float32", BloscCodec(cname="lz4", clevel=9, shuffle="shuffle")),
    "float map, lz4hc": ((2, 7, 6), "float32", BloscCodec(cname="lz4hc", clevel=5, shuffle="shuffle")),
    "frames, zstd bitshuffle": ((3, 7, 6), "uint8", BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle")),
    "vector, zstd": ((72,), "float32", BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")),
    "int16, no shuffle": ((5, 4), "int16", BloscCodec(cname="zstd", clevel=1, shuffle="noshuffle")),
    "done flags, raw": ((), "bool", None),
}


def _pair(tmp_path: Path, shape, dtype, codec, **kw):
    arrays = []
    for side in ("zarr", "direct"):
        fill = np.nan if np.dtype(dtype).kind == "f" else 0
        arrays.append(
            zarr.create_array(
                tmp_path / side,
                shape=(6, *shape),
                chunks=(1, *shape),
                dtype=dtype,
                fill_value=fill,
                compressors=codec,
                **kw,
            )  # fmt: skip
        )
    return arrays


def _samples(shape, dtype, n=6) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        x = rng.normal(scale=20, size=shape)
        if np.dtype(dtype) == np.bool_:
            out.append(np.asarray(i % 2 == 0))  # True, False (= the fill value: deleted), ...
        elif np.dtype(dtype).kind == "f":
            x = x.astype(dtype)
            if i == 4:
                x[...] = np.nan  # all fill: Zarr deletes the chunk rather than writing it
            elif i == 1:
                x.flat[::3] = np.nan
            out.append(x)
        else:
            out.append(np.clip(x, np.iinfo(dtype).min, np.iinfo(dtype).max).astype(dtype) * (i != 4))
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_direct_writes_are_zarrs_files_byte_for_byte(tmp_path, case):
    shape, dtype, codec = CASES[case]
    by_zarr, direct = _pair(tmp_path, shape, dtype, codec)
    writer = ChunkWriter.for_array(direct)
    assert writer is not None and writer.layout.shape == shape
    samples = _samples(shape, dtype)
    for i, x in enumerate(samples):
        by_zarr[i] = x
        writer.write(i, np.require(x, requirements="C"))
    # overwrite: a sample written, then rewritten, then emptied
    by_zarr[2], by_zarr[3] = samples[0], samples[4]
    writer.write(2, np.require(samples[0], requirements="C"))
    writer.write(3, np.require(samples[4], requirements="C"))
    want, got = _files(tmp_path / "zarr"), _files(tmp_path / "direct")
    assert want == got and len(want) >= 3
    modes = [{k: (root / k).stat().st_mode for k in want} for root in (tmp_path / "zarr", tmp_path / "direct")]
    assert modes[0] == modes[1]  # the same permissions (the umask applies to both)
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "direct", mode="r")[:], by_zarr[:])


def test_dotted_chunk_keys(tmp_path):
    """Another chunk key encoding: the writer uses the array's keys, not a guess."""
    shape, dtype, codec = CASES["vector, zstd"]
    enc = {"name": "default", "separator": "."}
    by_zarr, direct = _pair(tmp_path, shape, dtype, codec, chunk_key_encoding=enc)
    writer = ChunkWriter.for_array(direct)
    for i, x in enumerate(_samples(shape, dtype)):
        by_zarr[i] = x
        writer.write(i, x)
    assert _files(tmp_path / "zarr") == _files(tmp_path / "direct")
    assert "c.5.0" in _files(tmp_path / "direct")


def test_no_writer_for_other_layouts(tmp_path):
    mem = zarr.create_array(zarr.storage.MemoryStore(), shape=(4, 3), chunks=(1, 3), dtype="float32")
    grouped = zarr.create_array(tmp_path / "g", shape=(4, 3), chunks=(2, 3), dtype="float32")
    other_codec = zarr.create_array(tmp_path / "z", shape=(4, 3), chunks=(1, 3), dtype="float32",
                                    compressors=zarr.codecs.ZstdCodec())  # fmt: skip
    assert all(chunk_layout(a) is None for a in (mem, grouped, other_codec))
    assert ChunkWriter.for_array(mem) is None


def test_wrong_sample_is_refused_and_nothing_is_written(tmp_path):
    shape, dtype, codec = CASES["float map, lz4"]
    _, direct = _pair(tmp_path, shape, dtype, codec)
    writer = ChunkWriter.for_array(direct)
    for bad in (np.zeros((2, 7, 5), np.float32), np.zeros(shape, np.float64), np.zeros((2, 6, 7), np.float32).T):
        with pytest.raises(ValueError, match="C-contiguous"):
            writer.write(0, bad)
    assert _files(tmp_path / "direct") == {}


def test_a_failed_write_keeps_the_old_chunk_and_leaves_no_partial_file(tmp_path, monkeypatch):
    shape, dtype, codec = CASES["float map, lz4"]
    _, direct = _pair(tmp_path, shape, dtype, codec)
    writer = ChunkWriter.for_array(direct)
    old = np.ones(shape, np.float32)
    writer.write(1, old)

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        writer.write(1, np.full(shape, 2, np.float32))
    monkeypatch.undo()
    assert not list((tmp_path / "direct").rglob("*.partial"))
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "direct", mode="r")[1], old)


def test_store_writes_directly_on_disk_and_through_zarr_elsewhere(tmp_path):
    """MEStore takes the direct path on a local store (same files as a Zarr-written copy) and Zarr's elsewhere."""
    samples = pd.DataFrame({"sample_id": [f"s{i}" for i in range(3)], "subject": ["a", "a", "b"]})
    arrays = {"flow": ((2, 5, 4), "float32"), "frames": ((2, 5, 4), "uint8")}
    rng = np.random.default_rng(0)
    data = [
        {"flow": rng.normal(size=(2, 5, 4)).astype(np.float32), "frames": rng.integers(0, 255, (2, 5, 4), np.uint8)}
        for _ in range(3)
    ]
    stores = {}
    for where in ("direct", "zarr"):
        st = MEStore.create(
            tmp_path / f"{where}.zarr", samples, au=np.zeros((3, 0), np.uint8), au_names=[], arrays=arrays
        )
        if where == "zarr":
            st._writers = dict.fromkeys([*arrays, "done"])  # None: every write through Zarr
        for i in (2, 0):
            st.write_sample(i, data[i])
            st.mark_done(i)
        st.mark_undone(2)
        stores[where] = st
    assert stores["direct"]._writers["flow"] is not None
    assert _files(tmp_path / "direct.zarr") == _files(tmp_path / "zarr.zarr")
    back = MEStore.open(tmp_path / "direct.zarr")
    np.testing.assert_array_equal(back.done, [True, False, False])
    np.testing.assert_array_equal(back.read("flow", 0), data[0]["flow"])
    assert np.isnan(back.read("flow", 1)).all()
    mem = MEStore.create(zarr.storage.MemoryStore(), samples, au=np.zeros((3, 0), np.uint8), au_names=[], arrays=arrays)
    mem.write_sample(1, data[1])
    mem.mark_done(1)
    assert mem._writers["flow"] is None and mem.done.tolist() == [False, True, False]
    np.testing.assert_array_equal(mem.read("frames", 1), data[1]["frames"])
