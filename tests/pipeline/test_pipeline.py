"""mefast.preprocess: store contents against the public API and analytic motion, resume, failures, locking."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import zarr

import mefast
from mefast import MEStore, StoreError
from mefast.data import face_image
from mefast.datasets import Dataset
from mefast.pipeline import PreprocessOptions, preprocess
from mefast.testing import smooth_field, warp_image

FRAME = (96, 80)  # (H, W) of the written face frames
CROP = (64, 64)
SIZE = (32, 32)
T = 7  # frames 1..7, apex 4


def _amplitude(t: int) -> float:
    """Motion envelope: 0 at the onset (frame 1), 1 at the apex (frame 4), back towards 0."""
    return 1.0 - abs(t - 4) / 3.0


def write_tiny(root: Path, n: int = 6, *, seed: int = 0) -> Dataset:
    """A tiny corpus on disk: the astronaut face warped by a known smooth field, one folder per clip."""
    face = cv2.resize(face_image(), (FRAME[1], FRAME[0]), interpolation=cv2.INTER_AREA)
    rows, numbers, paths, dirs = [], [], [], []
    for i in range(n):
        subject, clip = f"s{i // 2:02d}", f"EP{i:02d}"
        folder = root / subject / clip
        folder.mkdir(parents=True, exist_ok=True)
        field = smooth_field(*FRAME, amplitude=1.0 + 0.2 * i, seed=seed + i)
        clip_paths = []
        for t in range(1, T + 1):
            img = np.clip(np.rint(warp_image(face, field * _amplitude(t))), 0, 255).astype(np.uint8)
            p = folder / f"img{t}.png"
            cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            clip_paths.append(p)
        rows.append(
            {"sample_id": f"tiny/{subject}/{clip}", "dataset": "tiny", "subject": subject, "clip": clip,
             "onset": 1, "apex": 4, "offset": T, "n_frames": T, "emotion": ["surprise", "happiness"][i % 2],
             "megc2019": ["surprise", "positive"][i % 2], "objective_class": [2, 1][i % 2],
             "aus": ["1+2", "12"][i % 2]}
        )  # fmt: skip
        numbers.append(list(range(1, T + 1)))
        paths.append(clip_paths)
        dirs.append(folder)
    return Dataset(
        name="tiny", root=root, samples=pd.DataFrame(rows), frame_numbers=numbers, frame_paths=paths,
        au_names=("AU1", "AU2", "AU12"), clip_dirs=dirs,
    )  # fmt: skip


def known_flow(i: int, seed: int = 0) -> np.ndarray:
    """The exact onset->apex flow of sample i in frame pixels: frame_apex(x - f) = frame_onset(x)... so -f."""
    return -smooth_field(*FRAME, amplitude=1.0 + 0.2 * i, seed=seed + i)


OPTS = PreprocessOptions(crop_size=CROP)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return write_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def full_store(tiny, tmp_path_factory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("store") / "tiny.zarr"
    report = preprocess(tiny, path, size=SIZE, options=OPTS, n_jobs=1, progress=False)
    return path, report


def test_all_features_match_the_public_api(tiny, full_store):
    path, report = full_store
    assert report.complete and report.computed == len(tiny) and not report.failures
    st = MEStore.open(path)
    assert st.features == ("flow", "strain", "lbptop", "biwoof", "mdmo", "frames")
    assert st.done.all()
    for i in (0, 3):
        rgb = tiny.read_frames(i)
        gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb])
        aligned = mefast.crop_align(gray, size=CROP)
        clip = aligned.video
        full = mefast.tvl1(clip[0], clip[3], params="accurate")
        small = mefast.resize_flow(full, SIZE)
        np.testing.assert_array_equal(st.read("flow", i), mefast.flow_to_channels_first(small))
        np.testing.assert_array_equal(st.read("strain", i), mefast.optical_strain(small))
        np.testing.assert_array_equal(st.read("biwoof", i), mefast.biwoof(full, mefast.optical_strain(full)))
        flows = mefast.compute_flow(clip, params="per-frame", warm_start=True)  # PreprocessOptions.mdmo_warm_start
        np.testing.assert_allclose(st.read("mdmo", i), mefast.mdmo(flows, aligned.landmarks), atol=1e-6)
        from mefast.descriptors import lbp_top, tim

        tim_clip = tim(clip, 10, output="uint8")
        frames = np.stack([cv2.resize(f, SIZE[::-1], interpolation=cv2.INTER_AREA) for f in tim_clip])
        np.testing.assert_array_equal(st.read("frames", i), frames)
        np.testing.assert_array_equal(st.read("lbptop", i), lbp_top(tim_clip))
    meta = st.meta
    pd.testing.assert_frame_equal(meta, tiny.samples, check_dtype=False)
    np.testing.assert_array_equal(st.au, tiny.au_matrix())
    assert st.au_names == ["AU1", "AU2", "AU12"]


def test_flow_recovers_the_known_motion(tiny, tmp_path):
    """Frames that already are face crops (align='none'): the stored flow is the known field, resized."""
    opts = PreprocessOptions(crop_size=FRAME, align="none")
    report = preprocess(tiny, tmp_path / "s.zarr", features="flow,strain", size=(48, 40), options=opts, n_jobs=1)
    assert report.complete
    st = MEStore.open(tmp_path / "s.zarr")
    for i in range(len(tiny)):
        truth = mefast.resize_flow(known_flow(i), (48, 40))
        got = np.moveaxis(st.read("flow", i), 0, -1)
        epe = np.linalg.norm(got - truth, axis=-1)[4:-4, 4:-4]
        assert epe.mean() < 0.15, (i, epe.mean())
        assert np.abs(truth).max() > 0.8  # the motion is there to be found
        np.testing.assert_array_equal(st.read("strain", i), mefast.optical_strain(got))


def test_provenance(tiny, full_store):
    path, _ = full_store
    attrs = MEStore.open(path).attrs
    p = attrs["parameters"]
    assert p["features"] == ["flow", "strain", "lbptop", "biwoof", "mdmo", "frames"] and p["size"] == [32, 32]
    assert p["options"]["flow"]["preset"] == "accurate" and p["options"]["mdmo_flow"]["preset"] == "per-frame"
    assert p["options"]["flow"]["presmooth_sigma"] == mefast.TVL1_PRESETS["accurate"].presmooth_sigma
    assert p["options"]["crop_size"] == [64, 64]
    assert attrs["datasets"] == ["tiny"] and attrs["corpus"] == "tiny"
    assert attrs["versions"]["mefast"] == mefast.__version__
    table = tiny.samples.to_csv(index=False).encode()
    import hashlib

    assert attrs["samples_sha256"] == hashlib.sha256(table).hexdigest()
    (run,) = attrs["runs"]
    assert run["computed"] == len(tiny) and run["failed"] == 0 and not run["interrupted"]
    assert attrs["failures"] == []


def test_resume_computes_only_what_is_missing(tiny, full_store, tmp_path):
    import shutil

    src, _ = full_store
    path = tmp_path / "copy.zarr"
    shutil.copytree(src, path)
    st = MEStore.open(path, "r+")
    for i in (1, 4):  # as if a crash hit these two mid-write
        st.mark_undone(i)
        st.write_sample(i, {"flow": np.zeros((2, *SIZE), np.float32), "lbptop": np.zeros(st.shapes["lbptop"][0])})
    report = preprocess(tiny, path, size=SIZE, options=OPTS, n_jobs=1)
    assert (report.computed, report.skipped, report.failures) == (2, 4, [])
    ref, got = MEStore.open(src), MEStore.open(path)
    for name in ref.features:
        np.testing.assert_array_equal(got.read(name, slice(None)), ref.read(name, slice(None)))
    again = preprocess(tiny, path, size=SIZE, options=OPTS, n_jobs=1)
    assert (again.computed, again.skipped) == (0, len(tiny))
    assert [r["computed"] for r in got.attrs["runs"]] == [6, 2, 0]


def test_bad_samples_fail_alone_with_precise_reasons(tiny, tmp_path):
    import dataclasses
    import shutil

    root = tmp_path / "data"
    shutil.copytree(tiny.root, root)
    ds = write_tiny(root)  # same content, paths under root
    (root / "s00" / "EP01" / "img3.png").unlink()  # missing frame
    (root / "s01" / "EP02" / "img2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)  # corrupt frame
    samples = ds.samples.copy()
    samples.loc[3, "apex"] = 9  # apex outside the clip
    samples.loc[5, "onset"] = 6  # onset after apex
    ds = dataclasses.replace(ds, samples=samples)
    report = preprocess(ds, tmp_path / "s.zarr", features="flow,strain", size=SIZE, options=OPTS, n_jobs=1)
    reasons = dict(report.failures)
    assert sorted(reasons) == ["tiny/s00/EP01", "tiny/s01/EP02", "tiny/s01/EP03", "tiny/s02/EP05"]
    missing, corrupt = reasons["tiny/s00/EP01"], reasons["tiny/s01/EP02"]
    assert missing.startswith("FrameReadError: sample tiny/s00/EP01: frame 3 at ")
    assert missing.endswith(f"{Path('s00', 'EP01', 'img3.png')} does not exist")
    assert corrupt.startswith("FrameReadError: sample tiny/s01/EP02: frame 2 at ") and "truncated PNG" in corrupt
    assert "apex frame 9 is not among the clip's frames 1..7" in reasons["tiny/s01/EP03"]
    assert "apex frame 4 is not among the clip's frames 6..7" in reasons["tiny/s02/EP05"]
    st = MEStore.open(tmp_path / "s.zarr")
    assert st.done.tolist() == [True, False, False, False, True, False]
    assert {f["sample_id"]: f["reason"] for f in st.attrs["failures"]} == reasons
    assert "FAILED tiny/s00/EP01: FrameReadError" in report.summary()
    # Fix the data: the next run retries exactly the failed samples.
    fixed = write_tiny(root)
    again = preprocess(fixed, tmp_path / "s.zarr", features="flow,strain", size=SIZE, options=OPTS, n_jobs=1)
    assert again.complete and again.computed == 4 and MEStore.open(tmp_path / "s.zarr").attrs["failures"] == []


@pytest.mark.parametrize("decode", ["full", "reduced"])
def test_offset_before_onset_is_reported_as_such(tiny, tmp_path, decode):
    import dataclasses

    samples = tiny.samples.copy()
    onset = int(samples.loc[2, "onset"])
    samples.loc[2, ["apex", "offset"]] = [onset, onset - 1]
    ds = dataclasses.replace(tiny, samples=samples)
    opts = dataclasses.replace(OPTS, decode=decode)
    report = preprocess(ds, tmp_path / "s.zarr", features="flow", size=SIZE, options=opts, n_jobs=1)
    (sid, reason), *_ = report.failures
    assert sid == samples.loc[2, "sample_id"] and len(report.failures) == 1
    assert reason.startswith(f"AnnotationError: offset {onset - 1} is before onset {onset}")


def test_worker_processes_equal_in_process(tiny, tmp_path):
    """Two loky workers writing their own chunks give the same store as one process (all features are
    compared across processes by the Dask test of test_pipeline_reliability.py)."""
    light = {
        "features": "flow,strain,frames",
        "size": SIZE,
        "options": PreprocessOptions(crop_size=FRAME, align="none"),
    }
    serial = preprocess(tiny, tmp_path / "s.zarr", **light, n_jobs=1)
    report = preprocess(tiny, tmp_path / "p.zarr", **light, n_jobs=2)
    assert serial.complete and report.complete and report.n_jobs == 2
    ref, got = MEStore.open(tmp_path / "s.zarr"), MEStore.open(tmp_path / "p.zarr")
    for name in ref.features:
        np.testing.assert_array_equal(got.read(name, slice(None)), ref.read(name, slice(None)))


def test_existing_store_with_other_parameters_or_samples_is_refused(tiny, full_store):
    path, _ = full_store
    with pytest.raises(StoreError, match=r"other parameters \(size: \[32, 32\] -> \[48, 48\]\)"):
        preprocess(tiny, path, size=(48, 48), options=OPTS, n_jobs=1)
    lam = mefast.TVL1_PRESETS["accurate"].lambda_
    with pytest.raises(StoreError, match=rf"options.flow.lambda_: {lam} -> {2 * lam}"):
        preprocess(tiny, path, size=SIZE, options=PreprocessOptions(crop_size=CROP, flow=mefast.TVL1_PRESETS[
            "accurate"].replace(lambda_=2 * lam)), n_jobs=1)  # fmt: skip
    with pytest.raises(StoreError, match="holds other samples than this dataset"):
        preprocess(tiny.subset([0, 1, 2]), path, size=SIZE, options=OPTS, n_jobs=1)
    assert len(MEStore.open(path).attrs["runs"]) == 1  # refused runs leave no trace


def test_corrected_annotations_update_the_metadata_and_recompute_those_samples(tiny, tmp_path):
    import dataclasses

    light = {"features": "flow", "size": SIZE, "options": PreprocessOptions(crop_size=FRAME, align="none")}
    path = tmp_path / "s.zarr"
    assert preprocess(tiny, path, **light, n_jobs=1).complete
    samples = tiny.samples.copy()
    samples.loc[1, "emotion"] = "disgust"  # a relabelled clip
    samples.loc[2, "apex"] = 3  # a corrected apex: its flow changes
    fixed = dataclasses.replace(tiny, samples=samples)
    report = preprocess(fixed, path, **light, n_jobs=1)
    assert (report.computed, report.skipped, report.failures) == (2, len(tiny) - 2, [])
    assert preprocess(fixed, tmp_path / "ref.zarr", **light, n_jobs=1).complete  # a clean run on the fixed data
    st, ref = MEStore.open(path), MEStore.open(tmp_path / "ref.zarr")
    pd.testing.assert_frame_equal(st.meta, ref.meta)
    np.testing.assert_array_equal(st.read("flow", slice(None)), ref.read("flow", slice(None)))
    assert st.attrs["samples_sha256"] == ref.attrs["samples_sha256"]
    assert preprocess(fixed, path, **light, n_jobs=1).computed == 0


def test_a_second_run_on_the_same_store_is_refused(tiny, full_store):
    path, _ = full_store
    st = MEStore.open(path, "r+")
    with st.lock():
        with pytest.raises(StoreError, match="being written by another preprocess run"):
            preprocess(tiny, path, size=SIZE, options=OPTS, n_jobs=1)
        with pytest.raises(StoreError, match="being written by another preprocess run"):
            preprocess(tiny, path, size=SIZE, options=OPTS, n_jobs=1, overwrite=True)
    assert MEStore.open(path).done.all()  # untouched


def test_overwrite_and_foreign_directories(tiny, tmp_path):
    path = tmp_path / "s.zarr"
    preprocess(tiny.subset([0, 1]), path, features="flow", size=SIZE, options=OPTS, n_jobs=1)
    report = preprocess(tiny.subset([2]), path, features="strain", size=SIZE, options=OPTS, n_jobs=1, overwrite=True)
    st = MEStore.open(path)
    assert report.complete and st.features == ("strain",) and len(st) == 1
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(StoreError, match="non-empty directory that is not a zarr store"):
        preprocess(tiny, foreign, features="flow", size=SIZE, options=OPTS, n_jobs=1, overwrite=True)
    assert (foreign / "holiday.jpg").exists()


def test_an_open_store_resumes_with_worker_processes(tiny, tmp_path):
    """An MEStore opened from a Path is a location worker processes can open, like the Path itself."""
    path = tmp_path / "s.zarr"
    light = {"features": "flow", "size": SIZE, "options": PreprocessOptions(crop_size=FRAME, align="none")}
    preprocess(tiny.subset([0, 1]), path, **light, n_jobs=1)
    report = preprocess(tiny.subset([0, 1]), MEStore.open(path), **light, n_jobs=2)
    assert report.complete and report.skipped == 2 and report.store == str(path)


def test_in_memory_store(tiny):
    mem = zarr.storage.MemoryStore()
    report = preprocess(tiny.subset([0, 1]), mem, features=["strain", "flow"], size=SIZE, options=OPTS, n_jobs=1)
    assert report.complete and MEStore.open(mem).features == ("flow", "strain")
    with pytest.raises(ValueError, match="worker processes need a store they can open"):
        preprocess(tiny, zarr.storage.MemoryStore(), features="flow", size=SIZE, options=OPTS, n_jobs=2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"features": ["flow", "optical_flow"]}, r"features must be a non-empty subset of"),
        ({"features": []}, r"features must be a non-empty subset"),
        ({"size": (8, 8)}, r"size must be at least \(16, 16\), got \(8, 8\)"),
        ({"size": "big"}, r"size must be \(height, width\)"),
        ({"backend": "ray"}, r"backend must be 'joblib' or 'dask', got 'ray'"),
        ({"n_jobs": 0}, r"n_jobs must be a positive integer or None"),
    ],
    ids=["unknown-feature", "no-feature", "tiny-size", "size-text", "backend", "n_jobs"],
)
def test_bad_arguments(tiny, tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        preprocess(tiny, tmp_path / "s.zarr", **{"options": OPTS, **kwargs})
    assert not (tmp_path / "s.zarr").exists()


def test_options_validation():
    with pytest.raises(ValueError, match="unknown TV-L1 preset 'slow'"):
        PreprocessOptions(flow="slow")
    with pytest.raises(ValueError, match="align must be 'face' or 'none', got 'eyes'"):
        PreprocessOptions(align="eyes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tim_frames must be an integer >= 2, got 1"):
        PreprocessOptions(tim_frames=1)
    d = PreprocessOptions(lbptop={"blocks": (4, 4)}).to_dict()
    assert json.loads(json.dumps(d))["lbptop"] == {"blocks": [4, 4]}


def test_progress_bar_and_summary(tiny, tmp_path, capsys):
    light = {"features": "flow", "size": SIZE, "options": PreprocessOptions(crop_size=FRAME, align="none")}
    report = preprocess(tiny, tmp_path / "s.zarr", **light, n_jobs=1, progress=True)
    err = capsys.readouterr().err
    assert "preprocess tiny: 100%" in err and "6/6" in err and "clip/s" in err
    lines = report.summary().splitlines()
    assert lines[0] == f"store {tmp_path / 's.zarr'}: 6/6 samples done (6 computed, 0 already done, 0 failed)"
    assert lines[1].endswith("clips/s") and lines[2].startswith("ms per clip: read ")
    preprocess(tiny, tmp_path / "t.zarr", **light, n_jobs=1, progress=False)
    assert capsys.readouterr().err == ""


def test_relative_store_paths_are_made_absolute(tiny, tmp_path, monkeypatch):
    """Workers elsewhere (a Dask cluster's nodes) must open the same folder the caller meant."""
    monkeypatch.chdir(tmp_path)
    report = preprocess(tiny.subset([0]), "rel.zarr", features=("flow",), options=OPTS, n_jobs=1)
    assert report.complete
    assert report.store == str(tmp_path / "rel.zarr")
    assert MEStore.open(tmp_path / "rel.zarr").done.all()


def test_a_sample_whose_write_fails_midway_leaves_no_values(tiny, tmp_path, monkeypatch):
    """A write that fails after some of a sample's arrays were written (here: the second array) clears the
    sample, so plain zarr readers, which ignore done, read no half-written values."""
    import zarr

    from mefast import store as store_module

    real = store_module.MEStore._write_chunk

    def failing(self, name, i, x):
        if i == 1 and name == "strain":
            raise OSError("disk full")
        return real(self, name, i, x)

    monkeypatch.setattr(store_module.MEStore, "_write_chunk", failing)
    report = preprocess(tiny, tmp_path / "s.zarr", features="flow,strain", size=SIZE, options=OPTS, n_jobs=1)
    (sid, reason), *_ = report.failures
    assert sid == tiny.samples.loc[1, "sample_id"] and "disk full" in reason
    st = MEStore.open(tmp_path / "s.zarr")
    assert not st.done[1] and st.done[[0, 2]].all()
    assert np.isnan(zarr.open_group(str(tmp_path / "s.zarr"), mode="r")["flow"][1]).all()  # flow was written first
    assert np.isfinite(st.read("flow", 0)).all()
