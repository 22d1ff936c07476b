"""preprocess packs the store for reading at the end of a run and drops the pack before a run writes."""

from __future__ import annotations

import numpy as np
import zarr

from mefast import MEStore
from mefast.pipeline import PreprocessOptions, preprocess

from .test_pipeline import FRAME, SIZE, write_tiny

LIGHT = {"features": "flow,strain", "size": SIZE, "options": PreprocessOptions(crop_size=FRAME, align="none")}


def test_preprocess_packs_and_repacks_after_a_resume(tmp_path):
    tiny = write_tiny(tmp_path / "tiny", n=4)
    path = tmp_path / "s.zarr"
    first = preprocess(tiny, path, **LIGHT, n_jobs=1, progress=False)
    assert first.complete and first.pack_seconds > 0 and "packed for reading" in first.summary()
    st = MEStore.open(path, "r+")
    record = st.pack_record()
    assert record is not None and set(record["arrays"]) == {"flow", "strain"} and record["n_done"] == 4
    for name in ("flow", "strain"):
        packed = zarr.open_group(path, mode="r")[f"packed/{name}"]
        np.testing.assert_array_equal(packed[:], st.read(name, slice(None)))
    same = preprocess(tiny, path, **LIGHT, n_jobs=1, progress=False)
    assert same.computed == 0 and same.pack_seconds == 0  # the pack is current: kept
    assert MEStore.open(path).pack_record()["created"] == record["created"]
    st.mark_undone(1)  # drops the pack
    st.write_sample(1, {"flow": np.zeros((2, *SIZE), np.float32)})
    assert not (path / "packed").exists()
    resumed = preprocess(tiny, path, **LIGHT, n_jobs=1, progress=False)
    assert resumed.computed == 1 and resumed.pack_seconds > 0
    st = MEStore.open(path)
    packed = zarr.open_group(path, mode="r")["packed/flow"]
    np.testing.assert_array_equal(packed[:], st.read("flow", slice(None)))
    assert np.abs(packed[1]).sum() > 0  # the recomputed flow, not the zeros


def test_no_pack(tmp_path):
    tiny = write_tiny(tmp_path / "tiny", n=2)
    report = preprocess(tiny, tmp_path / "s.zarr", **LIGHT, n_jobs=1, progress=False, pack=False)
    assert report.complete and report.pack_seconds == 0
    assert MEStore.open(tmp_path / "s.zarr").pack_record() is None and not (tmp_path / "s.zarr" / "packed").exists()


def test_a_failed_pack_leaves_a_complete_run(tmp_path, monkeypatch, caplog):
    """The samples are done and stored when the pack fails (a full disk): a warning, no exception, no pack."""
    tiny = write_tiny(tmp_path / "tiny", n=2)

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(MEStore, "pack", full_disk)
    with caplog.at_level("WARNING", logger="mefast.pipeline"):
        report = preprocess(tiny, tmp_path / "s.zarr", **LIGHT, n_jobs=1, progress=False)
    assert report.complete and report.pack_seconds == 0
    assert "not packed for reading" in caplog.text and "No space left" in caplog.text
    st = MEStore.open(tmp_path / "s.zarr")
    assert st.done.all() and st.pack_record() is None
