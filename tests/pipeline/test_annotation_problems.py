"""preprocess on a corpus whose sheet has errors: the errors reach the report and the log, nothing is lost."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from mefast import MEStore, StoreError
from mefast.datasets import load, synthetic, validate
from mefast.pipeline import PreprocessOptions, preprocess

FAST = {
    "features": "flow",
    "size": (16, 16),
    "n_jobs": 1,
    "progress": False,
    "options": PreprocessOptions(align="none", crop_size=(32, 32)),
}


@pytest.fixture(scope="module")
def casme2(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("corpora")
    written = synthetic.write_synthetic(
        out, corpora=("casme2",), n_subjects=1, clips_per_subject=4, size=(40, 40), n_frames=(6, 6), seed=3
    )
    return written["casme2"]


def _damaged_sheet(sheet: Path, folder: Path) -> Path:
    """The sheet with a row without a clip, a text onset and a repeated last row (review finding 1's sheet)."""
    table = pd.read_excel(sheet, dtype=object)
    table.loc[1, "Filename"] = None
    table.loc[2, "OnsetFrame"] = "abc"
    damaged = pd.concat([table, table.iloc[[3]]], ignore_index=True)
    return synthetic.write_sheet("casme2", damaged, folder / sheet.name)


def test_errors_of_the_sheet_reach_the_report_though_every_sample_computes(casme2, tmp_path, caplog):
    root, sheet = casme2
    ds = load("casme2", root, _damaged_sheet(sheet, tmp_path))
    ids = ds.samples["sample_id"].tolist()
    store = tmp_path / "s.zarr"
    with caplog.at_level(logging.WARNING, logger="mefast.pipeline"):
        report = preprocess(ds, store, **FAST)

    assert report.complete and report.n_samples == 4 and not report.failures  # the store is written all the same
    problems = sorted(p for _, p, _ in report.annotation_errors)
    assert problems == ["duplicate_sample", "invalid_annotation", "invalid_annotation"]
    # the errors are the reader's issues, exactly what validate() reports first (not a second judgement)
    found = validate(ds, check_images=False)
    expected = found[found["severity"] == "error"]
    listed = zip(expected["sample_id"], expected["problem"], expected["detail"], strict=True)
    assert set(report.annotation_errors) <= set(listed)
    assert ("", "invalid_annotation") in {(s, p) for s, p, _ in report.annotation_errors}  # the row left out
    assert (ids[-1], "duplicate_sample") in {(s, p) for s, p, _ in report.annotation_errors}

    text = report.summary()
    assert "the annotations have 3 errors: " in text and "(see mefast.datasets.validate)" in text
    assert "onset 'abc' (sheet row 4) is not a frame number" in text and "has no clip" in text
    assert "overwrite=True (mefast preprocess --overwrite), which recomputes every sample" in text
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0].startswith("the annotations have 3 errors: ")  # said when the run starts
    assert MEStore.open(store).attrs["runs"][-1]["annotation_errors"] == 3


def test_a_clean_sheet_reports_no_annotation_errors(casme2, tmp_path, caplog):
    root, sheet = casme2
    with caplog.at_level(logging.WARNING, logger="mefast.pipeline"):
        report = preprocess(load("casme2", root, sheet), tmp_path / "s.zarr", **FAST)
    assert report.complete and report.annotation_errors == []
    assert "annotations" not in report.summary() and not caplog.records


def test_an_unknown_onset_fails_its_sample_with_the_annotations_offset(tmp_path):
    # CAS(ME)^3 recordings give no onset to derive: onset -6 in the sheet leaves it unknown. The failure named
    # the reference frame's number for both ends ("no frame range (onset -6, offset -6)").
    written = synthetic.write_synthetic(
        tmp_path, corpora=("casme3a",), n_subjects=1, clips_per_subject=2, size=(40, 40), n_frames=(6, 6), seed=3
    )
    root, sheet = written["casme3a"]
    table = pd.read_excel(sheet, dtype=object)
    table.loc[0, "Onset"] = -6
    ds = load("casme3a", root, synthetic.write_sheet("casme3a", table, tmp_path / "sheet.xlsx"))
    sid, offset = ds.samples.at[0, "sample_id"], int(table.loc[0, "Offset"])
    want = f"no frame range (onset -1, offset {offset}); see validate()"  # the sheet's offset
    for align in ("face", "none"):
        for decode in ("reduced", "full"):
            options = PreprocessOptions(align=align, crop_size=(32, 32), decode=decode)
            report = preprocess(ds, tmp_path / f"{align}-{decode}.zarr", **{**FAST, "options": options})
            reason = dict(report.failures)[sid]  # (the tiny frames' other sample may find no face: not this test's)
            assert reason == f"AnnotationError: sample {sid}: {want}"
            error = (sid, "invalid_annotation", "onset -6 (sheet row 2) is not a frame number")
            assert error in report.annotation_errors


def test_a_corrected_sheet_that_adds_a_sample_says_what_to_do(casme2, tmp_path):
    # The first run says the sheet has errors and what fixing a left-out row takes; the run on the corrected sheet
    # is refused naming the new sample and the way out, and leaves the store as it was.
    root, sheet = casme2
    table = pd.read_excel(sheet, dtype=object)
    clip = table.loc[1, "Filename"]
    table.loc[1, "Filename"] = None
    damaged = synthetic.write_sheet("casme2", table, tmp_path / "damaged" / sheet.name)
    store = tmp_path / "s.zarr"
    first = preprocess(load("casme2", root, damaged), store, **FAST)
    assert first.complete and first.n_samples == 3
    assert "a row left out" in first.summary() and "--overwrite" in first.summary()

    fixed = load("casme2", root, sheet)
    new = fixed.samples["sample_id"][1]
    assert new.endswith(f"/{clip}")
    with pytest.raises(StoreError) as refused:
        preprocess(fixed, store, **FAST)
    message = str(refused.value)
    assert "holds other samples than this dataset (the store 3, the dataset 4; " in message
    assert f"new in the dataset: 1 ({new}); gone from it: none)" in message
    assert "pass overwrite=True (mefast preprocess --overwrite) to recompute every sample into it" in message
    st = MEStore.open(store)
    assert len(st) == 3 and st.done.all() and len(st.attrs["runs"]) == 1  # untouched
    assert preprocess(fixed, store, overwrite=True, **FAST).computed == 4
