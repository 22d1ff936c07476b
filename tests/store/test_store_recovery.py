"""MEStore: interrupted creation, cleared samples, AU vocabulary rewrites and the checks of what writers give it."""

from __future__ import annotations

import os
import uuid

import numpy as np
import pandas as pd
import pytest
import zarr

from mefast import MEStore, StoreError
from mefast.store import RecordingStore

ARRAYS = {
    "flow": ((2, 6, 5), "float32"),
    "frames": ((3, 6, 5), "uint8"),
    "mdmo": ((7,), "float32"),
}
AUS = ["AU1", "AU2", "AU4"]


def _samples(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample_id": [f"casme2/sub{i // 2:02d}/EP{i:02d}" for i in range(n)],
            "subject": [f"sub{i // 2:02d}" for i in range(n)],
            "aus": ["1", "2", "1+4", ""][:n],
        }
    )


def _au(n: int = 4) -> np.ndarray:
    return np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 0, 0]], np.uint8)[:n]


@pytest.fixture(params=["memory", "local", "fsspec-url"])
def location(request, tmp_path):
    if request.param == "memory":
        return zarr.storage.MemoryStore()
    if request.param == "fsspec-url":
        return f"memory://{uuid.uuid4().hex}/s.zarr"
    return tmp_path / "s.zarr"


def _make(location, **kw):
    return MEStore.create(location, _samples(), au=_au(), au_names=AUS, arrays=ARRAYS, **kw)


def _fill(st: MEStore, i: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(i)
    values = {
        "flow": rng.normal(size=(2, 6, 5)).astype(np.float32),
        "frames": rng.integers(1, 256, (3, 6, 5), dtype=np.uint8),
        "mdmo": rng.random(7, dtype=np.float32),
    }
    st.write_sample(i, values)
    st.mark_done(i)
    return values


@pytest.mark.parametrize("at", ["sample_id", "flow", "done"])
def test_an_interrupted_creation_is_recognised_and_never_opened(location, killed_at, at):
    """A store whose creation stopped midway carries who created it and no schema: ``creating`` says so, and
    opening it names the problem; a complete store and a foreign group are not taken for one."""
    with killed_at(at):
        _make(location)
    assert MEStore.exists(location)
    marker = MEStore.creating(location)
    assert marker is not None and marker["pid"] == os.getpid() and {"host", "since"} <= set(marker)
    with pytest.raises(StoreError, match="creation was interrupted"):
        MEStore.open(location)
    st = _make(location, overwrite=True)  # created again: complete, the marker gone
    assert MEStore.creating(location) is None and "mefast_creating" not in st.attrs
    assert len(MEStore.open(location)) == 4


def test_creating_is_none_for_a_foreign_group_or_nothing(tmp_path):
    foreign = zarr.open_group(tmp_path / "other.zarr", mode="w", attributes={"owner": "someone"})
    foreign.create_array("x", shape=(3,), dtype="int32")
    assert MEStore.creating(tmp_path / "other.zarr") is None
    assert MEStore.creating(tmp_path / "nothing.zarr") is None


def test_create_refuses_attrs_it_cannot_store_before_writing_anything(tmp_path):
    """A value zarr cannot write as JSON fails before the layout is written, not after (a half-made store)."""
    with pytest.raises(TypeError, match="attrs\\['parameters'\\]"):
        _make(tmp_path / "s.zarr", attrs={"parameters": {"model": object()}})
    assert not (tmp_path / "s.zarr").exists()
    st = _make(tmp_path / "p.zarr", attrs={"parameters": {"model": tmp_path / "m.dat", "r": np.int64(2)}})
    assert st.attrs["parameters"] == {"model": os.fspath(tmp_path / "m.dat"), "r": 2}


def test_clear_sample_deletes_its_values_for_every_reader(location):
    """A cleared sample reads as the fill value through MEStore and through plain zarr (which ignores done)."""
    st = _make(location)
    kept = _fill(st, 0)
    _fill(st, 1)
    st.clear_sample(1)
    assert st.done.tolist() == [True, False, False, False]
    assert np.isnan(st.read("flow", 1)).all() and np.isnan(st.read("mdmo", 1)).all()
    assert not st.read("frames", 1).any()
    np.testing.assert_array_equal(st.read("flow", 0), kept["flow"])
    group = zarr.open_group(store=st._group.store, mode="r")  # a reader that knows nothing of done
    assert np.isnan(np.asarray(group["flow"][1])).all() and not np.asarray(group["frames"][1]).any()
    np.testing.assert_array_equal(np.asarray(group["mdmo"][0]), kept["mdmo"])


def test_clear_sample_removes_the_chunk_files(tmp_path):
    st = _make(tmp_path / "s.zarr")
    _fill(st, 2)
    chunks = [p for name in ARRAYS for p in (tmp_path / "s.zarr" / name / "c" / "2").rglob("*") if p.is_file()]
    assert chunks
    st.clear_sample(2)
    assert not any(p.exists() for p in chunks)
    assert not st.done[2]


def test_rewrite_meta_with_a_new_au_vocabulary(location):
    """An annotation fix that adds AU25 (and drops AU2's only use) rewrites meta/au with the new columns."""
    st = _make(location)
    _fill(st, 0)
    samples = _samples()
    samples.loc[1, "aus"] = "25"
    names = ["AU1", "AU4", "AU25"]
    au = np.array([[1, 0, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0]], np.uint8)
    assert st.changed_rows(samples, au, names).tolist() == [False, True, False, False]
    st.rewrite_meta(samples, au, names)
    for opened in (st, MEStore.open(location)):
        assert opened.au_names == names
        np.testing.assert_array_equal(opened.au, au)
        assert opened.meta["aus"].tolist() == ["1", "25", "1+4", ""]
        assert opened.done.tolist() == [True, False, False, False]  # features untouched
    group = zarr.open_group(store=st._group.store, mode="r")
    assert group.attrs["au_names"] == names and group["meta/au"].shape == (4, 3)
    assert not st.changed_rows(samples, au, names).any()


def test_rewrite_meta_to_no_aus(location):
    st = _make(location)
    samples = _samples().assign(aus="")
    st.rewrite_meta(samples, np.zeros((4, 0), np.uint8), [])
    reopened = MEStore.open(location)
    assert reopened.au_names == [] and reopened.au.shape == (4, 0)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("frames", np.full((3, 6, 5), 300, np.uint16), "holds 300, outside the range 0..255 of uint8"),
        ("mdmo", np.array([1e300, 0, 0, 0, 0, 0, np.nan]), "holds 1e\\+300, beyond the largest float32"),
        ("mdmo", np.array([-1e39, 0, 0, 0, 0, 0, 0]), "holds -1e\\+39, beyond the largest float32 .*-inf"),
    ],
    ids=["uint16-300-in-uint8", "float64-1e300-in-float32", "negative-overflow"],
)
def test_write_sample_refuses_values_its_dtype_cannot_hold(location, name, value, message):
    st = _make(location)
    ok = {"flow": np.zeros((2, 6, 5), np.float32)}
    with pytest.raises(ValueError, match=f"{name} of sample 1 \\(casme2/sub00/EP01\\) {message}"):
        st.write_sample(1, {**ok, name: value})
    assert np.isnan(st.read("flow", 1)).all()  # nothing of the sample was written


def test_write_sample_casts_values_in_range(location):
    st = _make(location)
    mdmo = np.array([np.inf, -np.inf, np.nan, 1e38, 0, 0, 1])  # float64: infinities stay, 1e38 fits float32
    st.write_sample(0, {"frames": np.full((3, 6, 5), 255, np.uint16), "mdmo": mdmo})
    assert (st.read("frames", 0) == 255).all()
    got = st.read("mdmo", 0)
    assert np.isposinf(got[0]) and np.isneginf(got[1]) and np.isnan(got[2]) and got[3] == np.float32(1e38)


def test_recording_store_write_refuses_a_negative_start():
    rec = pd.DataFrame({"recording_id": ["r0"], "n_frames": [10]})
    st = RecordingStore.create(zarr.storage.MemoryStore(), rec, pd.DataFrame(), arrays={"mag": (1,)})
    for start in (-2, -5):
        with pytest.raises(ValueError, match=f"recording 0: start must be a frame index >= 0, got {start}"):
            st.write(0, start, {"mag": np.ones((2, 1))})
    assert np.isnan(st.read(0, "mag")).all()
    st.write(0, np.int64(8), {"mag": np.ones((2, 1))})
    assert st.read(0, "mag")[8:].ravel().tolist() == [1.0, 1.0]
