"""preprocess after the unexpected: a killed creation, options holding paths or numpy values, corrected annotations
(new AUs, a recompute that fails), composites given in any order, mistyped annotation paths."""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import zarr

from mefast import MEStore, StoreError
from mefast.datasets import Dataset, composite, load, synthetic
from mefast.pipeline import PreprocessOptions, preprocess

FRAME = (48, 40)  # (H, W): frames that already are face crops (align="none")
T = 3
OPTS = PreprocessOptions(crop_size=FRAME, align="none")
RUN = {"features": "flow", "size": (16, 16), "n_jobs": 1, "options": OPTS, "progress": False}


@pytest.fixture(scope="module")
def tiny(shifted_clips) -> Dataset:
    return shifted_clips  # tests/pipeline/conftest.py


def _relabel(ds: Dataset, row: int, au_names: tuple[str, ...] | None = None, **values) -> Dataset:
    samples = ds.samples.copy()
    for column, value in values.items():
        samples.loc[row, column] = value
    return dataclasses.replace(ds, samples=samples, au_names=au_names or ds.au_names)


# ------------------------------------------------------------------------------------------- interrupted creation
@pytest.mark.parametrize("overwrite", [False, True], ids=["same-command", "overwrite"])
def test_a_run_killed_while_creating_its_store_is_completed_by_a_rerun(tiny, tmp_path, killed_at, overwrite):
    path = tmp_path / "s.zarr"
    with killed_at("done"):
        preprocess(tiny, path, **RUN)
    assert MEStore.creating(path) is not None
    report = preprocess(tiny, path, overwrite=overwrite, **RUN)
    assert report.computed == 3 and not report.failures
    st = MEStore.open(path)
    assert st.done.all() and MEStore.creating(path) is None
    assert preprocess(tiny, path, **RUN).skipped == 3  # and it resumes as any store


def test_a_creation_by_a_live_process_is_left_alone(tiny, tmp_path):
    """A store another process on this machine is creating is not recreated under it, unless forced."""
    path = tmp_path / "s.zarr"
    owner = {"pid": os.getppid(), "host": socket.gethostname(), "since": "2025-01-01T00:00:00+00:00"}
    zarr.open_group(path, mode="w", attributes={"mefast_creating": owner})
    with pytest.raises(StoreError, match=f"being created by another run \\(process {os.getppid()}"):
        preprocess(tiny, path, **RUN)
    assert MEStore.creating(path) is not None
    assert preprocess(tiny, path, force_unlock=True, **RUN).computed == 3


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_foreign_zarr_group_is_never_overwritten(tiny, tmp_path, overwrite):
    path = tmp_path / "other.zarr"
    group = zarr.open_group(path, mode="w", attributes={"owner": "someone else"})
    group.create_array("x", shape=(3,), dtype="int32")[:] = [1, 2, 3]
    with pytest.raises(StoreError, match="not a mefast store"):
        preprocess(tiny, path, overwrite=overwrite, **RUN)
    assert zarr.open_group(path, mode="r")["x"][:].tolist() == [1, 2, 3]


# --------------------------------------------------------------------------------------------------- options
def test_options_holding_paths_and_numpy_values_resume(tiny, tmp_path):
    """A Path (a landmark model) or numpy values in the options are recorded as JSON and compare equal on resume."""
    opts = PreprocessOptions(crop_size=np.array(FRAME), align="none", face={"model": tmp_path / "model.dat"},
                             lbptop={"radius": np.int64(1)}, biwoof={"blocks": np.array([2, 2])})  # fmt: skip
    path = tmp_path / "s.zarr"
    run = {**RUN, "options": opts}
    assert preprocess(tiny, path, **run).computed == 3
    assert preprocess(tiny, path, **run).skipped == 3
    recorded = MEStore.open(path).attrs["parameters"]["options"]
    assert recorded["face"]["model"] == os.fspath(tmp_path / "model.dat") and recorded["lbptop"]["radius"] == 1


# ---------------------------------------------------------------------------------------------- annotation fixes
def test_an_au_correction_that_changes_the_au_vocabulary_resumes(tiny, tmp_path):
    """AU4 appears in the corpus: meta/au gets its column, the corrected sample is recomputed, the others kept."""
    path = tmp_path / "s.zarr"
    preprocess(tiny, path, **RUN)
    before = MEStore.open(path).read("flow", 2)
    fixed = _relabel(tiny, 1, au_names=("AU1", "AU4"), aus="1+4")
    report = preprocess(fixed, path, **RUN)
    assert (report.computed, report.skipped) == (1, 2)
    st = MEStore.open(path)
    assert st.au_names == ["AU1", "AU4"] and st.au.tolist() == [[1, 0], [1, 1], [1, 0]]
    assert st.meta["aus"].tolist() == ["1", "1+4", "1"] and st.done.all()
    np.testing.assert_array_equal(st.read("flow", 2), before)
    assert zarr.open_group(path, mode="r").attrs["au_names"] == ["AU1", "AU4"]
    # and back: the correction undone drops AU4 again
    assert preprocess(tiny, path, **RUN).computed == 1
    assert MEStore.open(path).au_names == ["AU1"] and MEStore.open(path).au.shape == (3, 1)


def test_a_changed_sample_whose_recompute_fails_serves_no_old_values(tiny, tmp_path):
    """The apex moved outside the clip: the sample fails, and its old flow is gone for every reader."""
    path = tmp_path / "s.zarr"
    preprocess(tiny, path, **RUN)
    report = preprocess(_relabel(tiny, 0, apex=99), path, **RUN)
    assert [sid for sid, _ in report.failures] == ["tiny/s0/EP01"]
    st = MEStore.open(path)
    assert st.done.tolist() == [False, True, True] and st.meta["apex"][0] == 99
    assert np.isnan(st.read("flow", 0)).all() and not np.isnan(st.read("flow", 1)).any()
    assert np.isnan(np.asarray(zarr.open_group(path, mode="r")["flow"][0])).all()  # plain zarr too


# ------------------------------------------------------------------------------------------ annotation files
def test_a_mistyped_annotations_path_is_an_error(tiny, tmp_path):
    path = tmp_path / "s.zarr"
    typo = tmp_path / "coding-2014O508.xlsx"
    with pytest.raises(FileNotFoundError, match=f"annotations: {typo} does not exist"):
        preprocess(tiny, path, annotations=[typo], **RUN)
    assert not path.exists()
    sheet = tmp_path / "coding.xlsx"
    sheet.write_bytes(b"x")
    preprocess(tiny, path, annotations=sheet, **RUN)
    with pytest.raises(FileNotFoundError, match="does not exist"):  # on resume as well
        preprocess(tiny, path, annotations=[sheet, typo], **RUN)
    assert list(MEStore.open(path).attrs["annotation_sha256"]) == [os.fspath(sheet)]


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("members")
    return synthetic.write_synthetic(out, corpora=("casme2", "samm"), n_subjects=2, clips_per_subject=2,
                                     size=(32, 32), n_frames=(4, 5), seed=3)  # fmt: skip


def test_a_composite_records_its_members_annotations_in_either_order(members, tmp_path):
    casme2, samm = load("casme2", *members["casme2"]), load("samm", *members["samm"])
    one, other = composite([casme2, samm], "cd6me"), composite([samm, casme2], "cd6me")
    assert one.samples["sample_id"].tolist() == other.samples["sample_id"].tolist()
    assert one.samples["dataset"].iloc[0] == "casme2"
    assert set(one.member_annotations) == {members["casme2"][1], members["samm"][1]}
    assert composite([casme2, samm], "cd6me").subset([0]).member_annotations == one.member_annotations
    path = tmp_path / "c.zarr"
    opts = PreprocessOptions(crop_size=(32, 32), align="none")
    run = {**RUN, "options": opts}
    assert preprocess(one, path, **run).computed == len(one)
    assert preprocess(other, path, **run).skipped == len(one)
    hashes = MEStore.open(path).attrs["annotation_sha256"]
    assert set(hashes) == {os.fspath(members["casme2"][1]), os.fspath(members["samm"][1])}
    assert all(len(h) == 64 for h in hashes.values())


def test_the_same_samples_in_another_order_resume_the_store_in_its_order(tiny, tmp_path):
    """A sample is its id: the same samples given in another order (a composite's members named otherwise, a store
    of a version that ordered them otherwise) resume the store in its own order, computing what is missing."""
    path = tmp_path / "s.zarr"
    first = preprocess(tiny.subset([0, 1]), path, **RUN)  # rows 0 and 1 of a 2-sample store
    assert first.computed == 2
    both = preprocess(tiny.subset([1, 0]), path, **RUN)
    assert both.skipped == 2 and both.computed == 0
    st = MEStore.open(path)
    assert st.meta["sample_id"].tolist() == ["tiny/s0/EP01", "tiny/s1/EP01"]
    fresh = tmp_path / "fresh.zarr"
    preprocess(tiny.subset([0, 1]), fresh, **RUN)
    np.testing.assert_array_equal(st.read("flow", 1), MEStore.open(fresh).read("flow", 1))
    with pytest.raises(StoreError, match="holds other samples than this dataset"):
        preprocess(tiny.subset([2, 0]), path, **RUN)


# ------------------------------------------------------------------------------------------- other versions
def test_a_resume_with_other_versions_is_warned_and_recorded(tiny, tmp_path, monkeypatch, caplog):
    """Samples computed by a resume with another mefast or numba are said and recorded per run (they were mixed
    in silently: the store kept its creation's versions only)."""
    import logging

    import mefast.pipeline._provenance as provenance

    path = tmp_path / "s.zarr"
    preprocess(tiny, path, **RUN)
    st = MEStore.open(path, "r+")
    made = st.attrs["versions"]
    st.mark_undone(1)
    real = provenance._versions
    monkeypatch.setattr(provenance, "_versions", lambda: {**real(), "mefast": "9.9.9", "numba": "0.99"})
    monkeypatch.setattr("mefast.pipeline._versions", provenance._versions)
    with caplog.at_level(logging.WARNING, logger="mefast.pipeline"):
        assert preprocess(tiny, path, **RUN).computed == 1
    assert f"mefast {made['mefast']} -> 9.9.9" in caplog.text and "the 1 samples this run computes" in caplog.text
    runs = MEStore.open(path).attrs["runs"]
    assert runs[0]["versions"]["mefast"] == made["mefast"] and runs[-1]["versions"]["mefast"] == "9.9.9"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mefast.pipeline"):
        assert preprocess(tiny, path, **RUN).skipped == 3  # nothing to compute: nothing mixed, nothing said
    assert "other versions" not in caplog.text


# ------------------------------------------------------------------------------------------- concurrent overwrites
def test_two_overwriting_runs_never_write_one_store_at_once(tiny, tmp_path, monkeypatch):
    """A second overwriting run started while the first is replacing the store is refused, and the store ends
    complete. Replacing a store deletes its run lock with it: the second run checked the old store's lock (free),
    then replaced the first run's new store and locked a file of its own, so both wrote at once."""
    import threading
    import time

    path = tmp_path / "s.zarr"
    preprocess(tiny, path, **RUN)
    reference = MEStore.open(path).read("flow", slice(None))
    create = MEStore.create.__func__  # type: ignore[attr-defined]
    replacing = threading.Event()

    def slow_create(cls, *args, **kwargs):
        st = create(cls, *args, **kwargs)
        if threading.current_thread().name == "first":
            replacing.set()
            time.sleep(0.5)  # the second run starts here, between the replacement and the first's run lock
        return st

    monkeypatch.setattr(MEStore, "create", classmethod(slow_create))
    outcome: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            outcome[name] = preprocess(tiny, path, overwrite=True, **RUN)
        except Exception as exc:  # noqa: BLE001 - recorded, asserted below
            outcome[name] = exc

    first = threading.Thread(target=run, args=("first",), name="first")
    first.start()
    assert replacing.wait(30)
    run("second")
    first.join(60)
    assert isinstance(outcome["second"], StoreError) and "being written by another" in str(outcome["second"])
    assert outcome["first"].computed == 3 and not outcome["first"].failures  # type: ignore[union-attr]
    st = MEStore.open(path)
    assert st.done.all()
    np.testing.assert_array_equal(st.read("flow", slice(None)), reference)
