"""Spotting end to end on synthetic long recordings: readers, the recording store (resume), MEGC table, CLI, SOFTNet."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest

import mefast
from mefast.datasets import load
from mefast.datasets import long_videos as lv
from mefast.datasets.long_videos import load_long
from mefast.errors import StoreError
from mefast.spotting import FeatureOptions, default_lags, match_intervals, spot_features
from mefast.spotting._synthetic import LONG_TRUTH_FILE, write_long_synthetic
from mefast.spotting.evaluate import evaluate_spotting, preprocess_recordings
from mefast.store import RecordingStore

OPTS = FeatureOptions(lags=(4, 14), size=(64, 64), blocks=(4, 4), features=("lbp", "uv", "mdmd", "softnet"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("long")
    paths = write_long_synthetic(out, corpora=("casme3a",), n_subjects=2, videos_per_subject=1, n_frames=200,
                                 size=(64, 64), n_micro=2, n_macro=1, n_blinks=1, seed=3)  # fmt: skip
    return out, paths["casme3a"][0]


@pytest.fixture(scope="module")
def store(corpus, tmp_path_factory):
    _, root = corpus
    path = tmp_path_factory.mktemp("store") / "c3.zarr"
    report = preprocess_recordings(load_long("casme3a", root), path, options=OPTS, backend="serial")
    assert report["failures"] == {} and len(report["computed"]) == 2
    return path


@pytest.mark.parametrize("corpus_name", ["casme3a", "casme2lv", "samm_lv"])
def test_readers_read_the_planted_intervals(tmp_path, corpus_name) -> None:
    n = 600 if corpus_name == "samm_lv" else 150
    macro = 0 if corpus_name == "samm_lv" else 1
    paths = write_long_synthetic(tmp_path, corpora=(corpus_name,), n_subjects=2, videos_per_subject=1, n_frames=n,
                                 size=(40, 40), n_micro=1, n_macro=macro, n_blinks=0, seed=1)  # fmt: skip
    root, _ = paths[corpus_name]
    rec = load_long(corpus_name, root)
    assert len(rec) == 2 and rec.issues.empty
    assert rec.recordings["n_frames"].tolist() == [n, n]
    truth = json.loads((root / LONG_TRUTH_FILE).read_text())["recordings"]
    for i, t in enumerate(truth):
        want = sorted((e["onset"], e["offset"], e["kind"]) for e in t["expressions"])
        got = rec.intervals[rec.intervals["recording"] == i]
        assert sorted(zip(got["onset"], got["offset"], got["kind"], strict=True)) == want


def test_frames_are_read_lazily(corpus, monkeypatch) -> None:
    _, root = corpus
    rec = load_long("casme3a", root)
    calls = []
    real = lv.read_rgb
    monkeypatch.setattr(lv, "read_rgb", lambda p: calls.append(p) or real(p))
    it = rec.iter_frames(0)
    assert calls == []
    first = next(it)
    assert len(calls) == 1 and first.shape == (64, 64, 3)
    assert sum(1 for _ in it) == 199 and len(calls) == 200


def test_store_resumes_only_unfinished_recordings(store, corpus, tmp_path) -> None:
    _, root = corpus
    st = RecordingStore.open(store, "r+")
    assert st.done.all()
    before = st.read(1, "mdmd4")
    st.mark_done(1, False)
    report = preprocess_recordings(load_long("casme3a", root), store, options=OPTS, backend="serial")
    assert report["skipped"] == 1 and report["computed"] == ["casme3a/spNO.2/a"]
    np.testing.assert_array_equal(RecordingStore.open(store).read(1, "mdmd4"), before)
    with pytest.raises(StoreError, match=r"other options \(lags: the store's \[4, 14\], these options' \[3\]"):
        preprocess_recordings(load_long("casme3a", root), store, options=FeatureOptions(lags=(3,)), backend="serial")


@pytest.mark.parametrize("overwrite", [False, True], ids=["resume", "overwrite"])
def test_a_store_another_run_is_writing_is_neither_resumed_nor_replaced(store, corpus, tmp_path, overwrite) -> None:
    """Two feature passes on one recording store: the second is refused while the first holds the run lock (both
    computed the same recording, or the second deleted the first's store), and the store is left as it was."""
    import shutil

    _, root = corpus
    path = tmp_path / "busy.zarr"
    shutil.copytree(store, path)
    st = RecordingStore.open(path, "r+")
    st.mark_done(1, False)
    with st.lock(), pytest.raises(StoreError, match="being written by another preprocess run"):
        preprocess_recordings(load_long("casme3a", root), path, options=OPTS, backend="serial", overwrite=overwrite)
    assert RecordingStore.open(path).done.tolist() == [True, False]
    np.testing.assert_array_equal(
        RecordingStore.open(path).read(0, "mdmd4"), RecordingStore.open(store).read(0, "mdmd4")
    )


def _with_recorded_flow(store, tmp_path, flow) -> object:
    """A copy of the (finished) store whose options record ``flow`` as given (as an older mefast wrote it)."""
    import zarr

    path = tmp_path / "copy.zarr"
    shutil.copytree(store, path)
    group = zarr.open_group(path, mode="r+")
    group.attrs["options"] = {**dict(group.attrs["options"]), "flow": flow}
    return path


@pytest.mark.parametrize("old_name", ["fast", "spotting"])
def test_store_of_an_older_version_resumes_by_the_flow_values(store, corpus, tmp_path, old_name) -> None:
    """An older store recorded only the preset's name: "fast" (then the default) and "spotting" meant the values
    that are now "per-frame"; it resumes with those values and is refused with the retuned "fast"."""
    _, root = corpus
    assert mefast.TVL1_PRESETS["fast"] != mefast.TVL1_PRESETS["per-frame"]  # else nothing here is tested
    path = _with_recorded_flow(store, tmp_path, old_name)
    rec = load_long("casme3a", root)
    report = preprocess_recordings(rec, path, options=dataclasses.replace(OPTS, flow="per-frame"), backend="serial")
    assert report == {"computed": [], "skipped": 2, "failures": {}}
    want = rf"flow: the store's flow '{old_name}' .*now the 'per-frame' preset \(pass flow='per-frame' to resume it\)"
    with pytest.raises(StoreError, match=want + ", these options' flow='fast'"):
        preprocess_recordings(rec, path, options=dataclasses.replace(OPTS, flow="fast"), backend="serial")


def test_store_records_and_compares_the_flow_values(store, corpus, tmp_path) -> None:
    """The store records the preset's TV-L1 values; a resume compares them, not the name."""
    _, root = corpus
    recorded = RecordingStore.open(store).attrs["options"]["flow"]
    assert recorded == {"preset": "per-frame", **dataclasses.asdict(mefast.TVL1_PRESETS["per-frame"])}
    rec = load_long("casme3a", root)
    with pytest.raises(StoreError, match=r"recorded as preset 'per-frame'\), now the 'per-frame' preset .*flow='fast'"):
        preprocess_recordings(rec, store, options=dataclasses.replace(OPTS, flow="fast"), backend="serial")
    # values that no preset has now (say the preset was retuned since): refused whatever the name
    changed = {**recorded, "inner_iterations": recorded["inner_iterations"] + 1}
    path = _with_recorded_flow(store, tmp_path, changed)
    with pytest.raises(StoreError, match=r"recorded as preset 'per-frame'\), which no preset has now"):
        preprocess_recordings(rec, path, options=OPTS, backend="serial")


def test_megc_table_equals_matching_the_spotted_rows(store) -> None:
    st = RecordingStore.open(store)
    res = evaluate_spotting(store, "mdmd")
    k = default_lags(30.0)["micro"]
    tp = fp = fn = 0
    for i in range(len(st)):
        rows = spot_features({f"mdmd{k}": st.read(i, f"mdmd{k}")}, method="mdmd", k=k)
        ivs = st.intervals
        gt = ivs[(ivs["recording"] == i) & (ivs["kind"] == "micro")][["onset", "offset"]].to_numpy()
        r = match_intervals(rows, gt)
        tp, fp, fn = tp + r.tp, fp + r.fp, fn + r.fn
    assert res.table.loc["micro", ["tp", "fp", "fn"]].tolist() == [tp, fp, fn]
    assert res.table.loc["micro", "n_gt"] == 4 and res.table.loc["macro", "n_gt"] == 2


def test_length_typing_scores_every_prediction(store) -> None:
    """types="length" retypes micro-window predictions by length: one longer than 0.5 s is a macro prediction,
    scored against the macro-expressions even when only the micro window ran (not dropped from every row)."""
    res = evaluate_spotting(store, "mdmd", kinds=("micro",), types="length")
    pred = res.predictions
    assert len(pred) and set(pred["kind"]) <= {"micro", "macro"}
    assert res.table.loc["overall", "n_pred"] == len(pred)
    for kind in ("micro", "macro"):
        assert res.table.loc[kind, "n_pred"] == int((pred["kind"] == kind).sum())
    assert res.table.loc["macro", "n_gt"] == 2
    window = evaluate_spotting(store, "mdmd", kinds=("micro",))
    assert window.table.loc["overall", "n_pred"] == len(pred)  # the same predictions, typed by their window


def test_cli_prints_the_table(store, capsys) -> None:
    from mefast.cli import main

    assert main(["spot", "--store", str(store), "--method", "mdmd", "--protocol", "loso", "--recognise"]) == 0
    out = capsys.readouterr().out
    assert "| micro" in out and "| overall" in out and "spotted" in out
    assert main(["spot", "--store", str(store), "--iou", "2"]) == 2


def test_softnet_loso_never_sees_the_test_subjects_labels() -> None:
    from mefast.train.softnet import SoftnetConfig, softnet_loso

    rng = np.random.default_rng(0)
    inputs = [rng.random((36, 3, 42, 42)).astype(np.float32) for _ in range(3)]
    truths = [np.array([[10, 15]]), np.array([[20, 26]]), np.array([[20, 25]])]
    cfg = SoftnetConfig(epochs=1, batch_size=12, seed=0, n_threads=1)
    a = softnet_loso(["s1", "s2", "s3"], inputs, truths, 4, cfg)
    changed = [truths[0], truths[1], np.array([[0, 5], [28, 33]])]  # only subject s3's labels differ
    b = softnet_loso(["s1", "s2", "s3"], inputs, changed, 4, cfg)
    np.testing.assert_array_equal(a[2], b[2])  # s3's predictions come from a model that never read its labels
    assert not all(np.array_equal(x, y) for x, y in zip(a[:2], b[:2], strict=True))  # the others did read them


def test_smic_apex_spotted_is_recorded(tmp_path) -> None:
    from mefast.datasets.synthetic import write_synthetic

    paths = write_synthetic(tmp_path, corpora=("smic",), n_subjects=1, clips_per_subject=2, seed=2)
    root, _ = paths["smic"]
    ds = load("smic", root, apex="spotted")
    plain = load("smic", root)
    spotted = ds.corrections[ds.corrections["reason"].str.startswith("apex spotted")]
    assert sorted(spotted["sample_id"]) == sorted(ds.samples["sample_id"])
    # the synthetic SMIC clips have their apex mid-clip (readers' convention): spotting lands near it (the
    # accuracy itself is tested on clips with known apexes in test_spotting_synthetic.py)
    assert np.abs(ds.samples["apex"].to_numpy() - plain.samples["apex"].to_numpy()).max() <= 3
    # recorded as the documented corrections columns: status applied, old and new as text
    assert spotted["old"].tolist() == [str(a) for a in plain.samples["apex"]]
    assert spotted["new"].tolist() == [str(a) for a in ds.samples["apex"]]
    assert (spotted["status"] == "applied").all()
    with pytest.raises(ValueError, match="apex"):
        load("smic", root, apex="guess")


def test_dask_backend_writes_the_same_store(store, corpus, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    _, root = corpus
    rec = load_long("casme3a", root).subset([0])
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        report = preprocess_recordings(rec, tmp_path / "d.zarr", options=OPTS, backend="dask", client=client)
    assert report["failures"] == {} and report["computed"] == ["casme3a/spNO.1/a"]
    a, b = RecordingStore.open(tmp_path / "d.zarr"), RecordingStore.open(store)
    for name in ("lbp", "uv4", "mdmd14"):
        np.testing.assert_array_equal(a.read(0, name), b.read(0, name))


def test_only_missing_respots_filled_apexes_and_keeps_annotated_ones(tmp_path) -> None:
    """only_missing respots an apex the reader filled in (the sheet's '/': the middle frame, recorded in the
    corrections) and keeps an annotated apex even where it is the middle frame."""
    import pandas as pd

    from mefast.datasets.synthetic import write_synthetic
    from mefast.spotting import spot_apexes

    root, sheet = write_synthetic(tmp_path, corpora=("casme2",), n_subjects=1, clips_per_subject=3, seed=2)["casme2"]
    table = pd.read_excel(sheet).astype({"ApexFrame": object})
    table.loc[0, "ApexFrame"] = "/"
    table.loc[1, "ApexFrame"] = int(
        table.loc[1, "OnsetFrame"] + (table.loc[1, "OffsetFrame"] - table.loc[1, "OnsetFrame"]) // 2
    )
    table.to_excel(sheet, index=False)
    ds = load("casme2", root, sheet, corrections=False)
    ids = ds.samples["sample_id"].tolist()
    mid = (ds.samples["onset"] + (ds.samples["offset"] - ds.samples["onset"]) // 2).tolist()
    assert ds.samples["apex"].tolist()[:2] == mid[:2]  # filled in and annotated: the same value
    out = spot_apexes(ds, "fd", only_missing=True)
    spotted = out.corrections[out.corrections["reason"].str.startswith("apex spotted")]
    assert spotted["sample_id"].tolist() == [ids[0]]
    assert out.samples["apex"].tolist()[1:] == ds.samples["apex"].tolist()[1:]
    assert spotted["status"].tolist() == ["applied"] and spotted["old"].tolist() == [str(mid[0])]
    assert spotted["new"].tolist() == [str(out.samples["apex"].iloc[0])]
    # spotting again with only_missing keeps the spotted apex (it is not the middle frame here)
    again = spot_apexes(out, "fd", only_missing=True)
    assert len(again.corrections) == len(out.corrections)


def test_an_interrupted_recording_store_creation_is_completed_by_a_rerun(corpus, tmp_path) -> None:
    """A run killed while creating its recording store leaves a group marked as being created (no schema): the
    rerun creates it again; a creation by a live process is left alone."""
    import os
    import socket
    import subprocess
    import sys

    import zarr

    _, root = corpus
    path = tmp_path / "half.zarr"
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)  # fmt: skip
    marker = {"pid": dead, "host": socket.gethostname(), "since": "2026-12-07T00:00:00Z"}
    zarr.open_group(str(path), mode="w", attributes={"mefast_creating": marker}).create_group("rec")
    report = preprocess_recordings(load_long("casme3a", root), path, options=OPTS, backend="serial")
    assert report["failures"] == {} and len(report["computed"]) == 2
    assert RecordingStore.open(path).done.all() and "mefast_creating" not in RecordingStore.open(path).attrs
    busy = tmp_path / "busy.zarr"
    zarr.open_group(str(busy), mode="w", attributes={"mefast_creating": {**marker, "pid": os.getppid()}})
    with pytest.raises(StoreError, match="is being created by another run"):
        preprocess_recordings(load_long("casme3a", root), busy, options=OPTS, backend="serial")


def test_a_store_of_softnet_inputs_written_before_softnet_input_resumes_only_as_legacy(store, corpus, tmp_path):
    """A store written before the option existed holds the old SOFTNet inputs: resuming it with the new ones
    would mix them, so it is refused, and resumes with softnet_input="legacy"."""
    import zarr

    _, root = corpus
    assert RecordingStore.open(store).attrs["options"]["softnet_input"] == "spec"
    path = tmp_path / "older.zarr"
    shutil.copytree(store, path)
    group = zarr.open_group(path, mode="r+")
    group.attrs["options"] = {k: v for k, v in dict(group.attrs["options"]).items() if k != "softnet_input"}
    rec = load_long("casme3a", root)
    with pytest.raises(StoreError, match=r"softnet_input: the store's 'legacy', these options' 'spec'"):
        preprocess_recordings(rec, path, options=OPTS, backend="serial")
    legacy = dataclasses.replace(OPTS, softnet_input="legacy")
    assert preprocess_recordings(rec, path, options=legacy, backend="serial") == {
        "computed": [],
        "skipped": 2,
        "failures": {},
    }


def test_overwrite_replaces_a_recording_store_and_nothing_else(corpus, store, tmp_path) -> None:
    """overwrite=True replaces a recording store; a folder of other files or another zarr group is refused and
    left as it was."""
    _, root = corpus
    theirs = tmp_path / "mine"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a zarr store; refusing to overwrite"):
        preprocess_recordings(load_long("casme3a", root), theirs, options=OPTS, backend="serial", overwrite=True)
    assert (theirs / "notes.txt").read_text() == "mine"
    clips = tmp_path / "clips.zarr"
    mefast.MEStore.create(
        clips,
        pd.DataFrame({"sample_id": ["a"]}),
        au=np.zeros((1, 0), np.uint8),
        au_names=[],
        arrays={"x": ((2,), "float32")},
    )
    with pytest.raises(StoreError, match="not a recording store; refusing to overwrite"):
        preprocess_recordings(load_long("casme3a", root), clips, options=OPTS, backend="serial", overwrite=True)
    assert mefast.MEStore.open(clips).meta["sample_id"].tolist() == ["a"]
    again = tmp_path / "again.zarr"
    shutil.copytree(store, again)
    report = preprocess_recordings(load_long("casme3a", root), again, options=OPTS, backend="serial", overwrite=True)
    assert len(report["computed"]) == 2


def test_overwrite_replaces_what_an_older_version_left_of_an_interrupted_creation(corpus, tmp_path) -> None:
    """Before the creation marker, a killed creation left a group of rec/ and done without attributes; overwrite
    replaces it (and without overwrite the message says to pass it)."""
    import zarr

    _, root = corpus
    path = tmp_path / "old.zarr"
    zarr.open_group(str(path), mode="w").create_group("rec").create_group("0")
    with pytest.raises(StoreError, match="a recording store exists at .*; pass overwrite=True"):
        preprocess_recordings(load_long("casme3a", root), path, options=OPTS, backend="serial")
    report = preprocess_recordings(load_long("casme3a", root), path, options=OPTS, backend="serial", overwrite=True)
    assert len(report["computed"]) == 2
