"""MEStore: layout, round trips, errors, readability without mefast, and the run lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pandas as pd
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

from mefast import MEStore, ShapeError, StoreError

ARRAYS = {
    "flow": ((2, 6, 5), "float32"),
    "strain": ((6, 5), "float32"),
    "frames": ((3, 6, 5), "uint8"),
    "mdmo": ((72,), "float32"),
}


def _samples(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample_id": [f"casme2/sub{i // 2:02d}/EP{i:02d}" for i in range(n)],
            "dataset": ["casme2"] * n,
            "subject": [f"sub{i // 2:02d}" for i in range(n)],
            "onset": np.arange(n, dtype=np.int64) * 10,
            "emotion": (["happiness", "surprise", "disgust", "others"] * n)[:n],
            "objective_class": np.arange(n) % 7,
        }
    )


def _au(n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 2, size=(n, 3), dtype=np.uint8)


@pytest.fixture(params=["memory", "local", "fsspec-url"])
def location(request, tmp_path):
    if request.param == "memory":
        return zarr.storage.MemoryStore()
    if request.param == "fsspec-url":  # any fsspec URL zarr accepts (s3://, gs://...); memory:// needs no server
        return f"memory://{uuid.uuid4().hex}/s.zarr"
    return tmp_path / "s.zarr"


def _make(location, n=4, **kw):
    return MEStore.create(location, _samples(n), au=_au(n), au_names=["AU1", "AU2", "AU4"], arrays=ARRAYS, **kw)


def _sample_arrays(i: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(i)
    return {
        "flow": rng.normal(size=(2, 6, 5)).astype(np.float32),
        "strain": rng.random((6, 5), dtype=np.float32),
        "frames": rng.integers(0, 256, (3, 6, 5), dtype=np.uint8),
        "mdmo": rng.random(72, dtype=np.float32),
    }


def test_round_trip(location):
    st = _make(location, attrs={"parameters": {"size": (6, 5), "preset": "accurate"}, "seed": np.int64(3)})
    assert len(st) == 4 and st.features == tuple(ARRAYS)
    for i in (2, 0):
        st.write_sample(i, _sample_arrays(i))
        st.mark_done(i)
    ro = MEStore.open(location)
    assert ro.done.tolist() == [True, False, True, False]
    for name in ARRAYS:
        np.testing.assert_array_equal(ro.read(name, 2), _sample_arrays(2)[name])
        np.testing.assert_array_equal(ro.read(name, -2), _sample_arrays(2)[name])
        got = ro.read(name, [2, 0, 2])
        np.testing.assert_array_equal(got, np.stack([_sample_arrays(k)[name] for k in (2, 0, 2)]))
        np.testing.assert_array_equal(ro.read(name, slice(0, 3, 2)), got[1::-1])
        np.testing.assert_array_equal(ro.read(name, np.array([True, False, True, False])), got[1::-1])
        assert ro.read(name, []).shape == (0, *ARRAYS[name][0])
    # Never-written samples read as NaN (floats) or 0, so they cannot pass for data.
    assert np.isnan(ro.read("flow", 1)).all() and not ro.read("frames", 3).any()
    pd.testing.assert_frame_equal(ro.meta, _samples(4), check_dtype=False)
    assert ro.meta["onset"].dtype == np.int64
    np.testing.assert_array_equal(ro.au, _au(4))
    assert ro.au_names == ["AU1", "AU2", "AU4"]
    attrs = ro.attrs
    assert attrs["parameters"] == {"size": [6, 5], "preset": "accurate"} and attrs["seed"] == 3
    assert attrs["schema"] == "mefast-store/1" and attrs["n_samples"] == 4
    assert ro.index_of("casme2/sub01/EP02") == 2


def test_row_of_takes_a_row_number_or_a_sample_id():
    st = _make(zarr.storage.MemoryStore())
    assert [st.row_of(x) for x in ("casme2/sub01/EP02", 2, -1, "-4", "3")] == [2, 2, 3, 0, 3]
    with pytest.raises(ValueError, match="'casme2/nope' is not in"):
        st.row_of("casme2/nope")
    for bad in (4, -5, "7"):
        with pytest.raises(ValueError, match="out of range for a store of 4 samples"):
            st.row_of(bad)


def test_layout_one_compressed_chunk_per_sample(tmp_path):
    _make(tmp_path / "s.zarr")
    g = zarr.open_group(tmp_path / "s.zarr", mode="r")
    for name, (shape, dtype) in ARRAYS.items():
        a = g[name]
        assert a.shape == (4, *shape) and a.chunks == (1, *shape) and a.dtype == np.dtype(dtype)
        (codec,) = a.compressors
        # float maps (flow, strain: read every training epoch) decode fast with LZ4; frames and vectors stay zstd
        fast = name in ("flow", "strain")
        assert type(codec).__name__ == "BloscCodec" and codec.cname.value == ("lz4" if fast else "zstd")
    assert g["done"].chunks == (1,)
    meta = json.loads((tmp_path / "s.zarr" / "flow" / "zarr.json").read_text())
    assert meta["dimension_names"] == ["sample", "component", "y", "x"]


def test_readable_without_mefast(tmp_path):
    import dask.array as da
    import xarray as xr

    st = _make(tmp_path / "s.zarr")
    for i in range(4):
        st.write_sample(i, _sample_arrays(i))
        st.mark_done(i)
    path = os.fspath(tmp_path / "s.zarr")
    with st.lock():  # a run in progress: its lock file is invisible to readers (warnings are errors here)
        ds = xr.open_zarr(path, consolidated=False)
    assert ds["flow"].dims == ("sample", "component", "y", "x")
    assert ds["frames"].dtype == np.uint8 and ds["done"].values.all()
    np.testing.assert_array_equal(ds["mdmo"].values[3], _sample_arrays(3)["mdmo"])
    meta = xr.open_zarr(path, group="meta", consolidated=False)
    assert list(meta["sample_id"].values) == list(_samples()["sample_id"])
    # the AU matrix is a plain variable (a dimension named "au" made xarray take it for a 2-D coordinate)
    au = meta["au"].assign_coords(au_name=meta["au"].attrs["au_names"])
    np.testing.assert_array_equal(au.sel(au_name="AU2").values, _au(4)[:, 1])
    flow = da.from_zarr(path, component="flow")
    assert flow.chunks[0] == (1, 1, 1, 1)
    np.testing.assert_array_equal(flow[1].compute(), _sample_arrays(1)["flow"])


def test_write_errors(location):
    st = _make(location)
    good = _sample_arrays(0)
    with pytest.raises(ShapeError, match=r"flow of sample 1 must have shape \(2, 6, 5\), got \(6, 5, 2\)"):
        st.write_sample(1, {"flow": np.zeros((6, 5, 2), np.float32)})
    with pytest.raises(ShapeError, match="frames of sample 1 must be castable to uint8, got dtype float64"):
        st.write_sample(1, {"frames": good["frames"].astype(np.float64)})
    with pytest.raises(KeyError, match="has no array 'lbptop'"):
        st.write_sample(1, {"lbptop": np.zeros(3)})
    with pytest.raises(IndexError, match="sample index 4 is out of range for 4 samples"):
        st.write_sample(4, good)
    with pytest.raises(IndexError, match="out of range"):
        st.read("mdmo", [0, 9])
    with pytest.raises(TypeError, match="must be an integer"):
        st.mark_done(1.0)  # type: ignore[arg-type]
    # A failed validation writes nothing, not even the arrays that were valid.
    with pytest.raises(ShapeError):
        st.write_sample(1, {"mdmo": good["mdmo"], "strain": np.zeros((5, 6), np.float32)})
    assert np.isnan(st.read("mdmo", 1)).all()
    with pytest.raises(StoreError, match="read-only"):
        MEStore.open(location).write_sample(0, good)


def test_create_errors(tmp_path):
    path = tmp_path / "s.zarr"
    with pytest.raises(ValueError, match="sample_id values must be unique; repeated"):
        MEStore.create(
            path,
            pd.concat([_samples(2), _samples(2)], ignore_index=True),
            au=np.zeros((4, 0)),
            au_names=[],
            arrays=ARRAYS,
        )
    with pytest.raises(ShapeError, match=r"au must have shape \(n_samples, len\(au_names\)\) = \(4, 2\)"):
        MEStore.create(path, _samples(), au=_au(), au_names=["AU1", "AU2"], arrays=ARRAYS)
    with pytest.raises(ValueError, match="array name 'done' is invalid"):
        MEStore.create(path, _samples(), au=_au(), au_names=["a", "b", "c"], arrays={"done": ((1,), "f4")})
    with pytest.raises(ValueError, match=r"arrays\['x'\] has a non-positive dimension"):
        MEStore.create(path, _samples(), au=_au(), au_names=["a", "b", "c"], arrays={"x": ((0,), "f4")})
    with pytest.raises(ValueError, match="needs a 'sample_id' column"):
        MEStore.create(path, _samples().drop(columns="sample_id"), au=_au(), au_names="abc", arrays=ARRAYS)
    _make(path)
    with pytest.raises(StoreError, match="a store already exists"):
        _make(path)
    st = _make(path, n=2, overwrite=True)
    assert len(MEStore.open(path)) == 2 and st.features == tuple(ARRAYS)
    with pytest.raises(StoreError, match="no mefast store"):
        MEStore.open(tmp_path / "missing.zarr")
    zarr.open_group(tmp_path / "plain.zarr", mode="w")
    with pytest.raises(StoreError, match="is not a mefast store"):
        MEStore.open(tmp_path / "plain.zarr")
    with pytest.raises(ValueError, match="reserved keys"):
        _make(tmp_path / "o.zarr", attrs={"schema": "x"})


def test_update_attrs_and_mark_undone(location):
    st = _make(location)
    st.update_attrs(failures=[{"sample_id": "casme2/sub00/EP00", "reason": "FrameReadError: x"}])
    assert MEStore.open(location).attrs["failures"][0]["reason"] == "FrameReadError: x"
    with pytest.raises(ValueError, match="describe the layout"):
        st.update_attrs(arrays={})
    st.mark_done(3)
    st.mark_undone(3)
    assert not st.done.any()


@settings(max_examples=15, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    dtype=st.sampled_from(["uint8", "int16", "float32", "float64", "bool"]),
    n=st.integers(1, 4),
)
def test_any_layout_round_trips(shape, dtype, n):
    samples = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)]})
    st_ = MEStore.create(
        zarr.storage.MemoryStore(),
        samples,
        au=np.zeros((n, 0)),
        au_names=[],
        arrays={"x": (tuple(shape), dtype)},
    )
    rng = np.random.default_rng(n)
    x = (rng.random((n, *shape)) * 100).astype(dtype)
    for i in range(n):
        st_.write_sample(i, {"x": x[i]})
    np.testing.assert_array_equal(st_.read("x", slice(None)), x)


@pytest.mark.parametrize("where", ["memory-store", "fsspec-url"])
def test_object_store_lock(where):
    st = _make(zarr.storage.MemoryStore() if where == "memory-store" else f"memory://{uuid.uuid4().hex}/s.zarr")
    with st.lock():
        with pytest.raises(StoreError, match="locked by another preprocess run"):
            with st.lock():
                pass
    with st.lock():  # released on exit
        pass
    with st.lock():
        with st.lock(force=True):  # --force-unlock: take over a lock a crashed run left behind
            pass


def test_file_url_is_a_local_store(tmp_path):
    st = _make(f"file://{tmp_path / 's.zarr'}")
    st.write_sample(0, _sample_arrays(0))
    with st.lock():
        assert (tmp_path / "s.zarr" / "done" / ".mefast-run.lock").exists()  # the local flock, not an object
    np.testing.assert_array_equal(MEStore.open(tmp_path / "s.zarr").read("mdmo", 0), _sample_arrays(0)["mdmo"])


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from mefast.store import MEStore
    st = MEStore.open(sys.argv[1], "r+")
    with st.lock():
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_local_lock_is_exclusive_and_dies_with_its_holder(tmp_path):
    path = tmp_path / "s.zarr"
    st = _make(path)
    with subprocess.Popen([sys.executable, "-c", _HOLDER, os.fspath(path)], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
            with pytest.raises(StoreError, match=rf"another preprocess run \(.*\"pid\": {proc.pid}"):
                with st.lock():
                    pass
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    t0 = time.monotonic()
    with st.lock():  # the kernel released the dead holder's lock: no stale lock after a crash
        assert time.monotonic() - t0 < 1


def test_remove_partial_writes(tmp_path):
    st = _make(tmp_path / "s.zarr")
    st.write_sample(0, _sample_arrays(0))
    leftover = tmp_path / "s.zarr" / "flow" / "c" / "0" / "0" / "0" / "0.deadbeef.partial"
    leftover.write_bytes(b"torn")
    assert st.remove_partial_writes() == 1 and not leftover.exists()
    np.testing.assert_array_equal(st.read("flow", 0), _sample_arrays(0)["flow"])
    assert _make(zarr.storage.MemoryStore()).remove_partial_writes() == 0


def test_creation_lock_in_a_folder_the_user_cannot_write_to(tmp_path, monkeypatch):
    """A store in a folder the user cannot write to (a shared corpus folder) is resumed as before: the lock file
    beside it cannot be made, and a run there cannot replace the store either (the first version failed with
    PermissionError)."""
    from mefast import store as store_module

    real_open = os.open

    def no_lock_file(path, *args, **kwargs):
        if str(path).endswith(".s.zarr.lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "open", no_lock_file)
    with store_module.creation_lock(tmp_path / "s.zarr"):
        st = _make(tmp_path / "s.zarr")
    with store_module.creation_lock(tmp_path / "s.zarr"), st.lock():  # the run lock inside the store still holds
        assert len(st) == 4
