"""validate() on damaged copies of synthetic corpora: every problem named precisely, no sample dropped."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from mefast.datasets import ISSUE_COLUMNS, load, synthetic, validate
from mefast.datasets._engine.frames import image_problem
from mefast.errors import AnnotationError, FrameReadError


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("validate_clean")
    return synthetic.write_synthetic(
        out, corpora=("casme2", "casme3a"), n_subjects=2, clips_per_subject=6, size=(40, 40), n_frames=(6, 8), seed=5
    )


def _copy(clean, corpus, tmp_path) -> tuple[Path, Path, pd.DataFrame]:
    root, sheet = clean[corpus]
    new_root = tmp_path / "frames"
    shutil.copytree(root, new_root)
    return new_root, tmp_path / sheet.name, pd.read_excel(sheet, dtype=object)


def _one(report: pd.DataFrame, sid: str, problem: str) -> str:
    hit = report[(report["sample_id"] == sid) & (report["problem"] == problem)]
    assert len(hit) == 1, f"{problem} for {sid}:\n{report.to_string()}"
    return hit["detail"].iloc[0]


def test_clean_synthetic_data_has_no_errors(clean):
    for corpus, (root, sheet) in clean.items():
        report = validate(load(corpus, root, sheet))
        assert list(report.columns) == list(ISSUE_COLUMNS)
        assert (report["severity"] != "error").all(), report.to_string()


def test_damaged_casme2_copy(clean, tmp_path):
    root, sheet, table = _copy(clean, "casme2", tmp_path)
    d0 = load("casme2", root, clean["casme2"][1])
    ids = d0.samples["sample_id"].tolist()

    # 0: a missing frame in the middle of the clip.
    gone_n = d0.frame_numbers[0][3]
    d0.frame_paths[0][3].unlink()
    # 1: a truncated JPEG.
    trunc_n, trunc = d0.frame_numbers[1][2], d0.frame_paths[1][2]
    trunc.write_bytes(trunc.read_bytes()[: trunc.stat().st_size // 2])
    # 2: onset after apex.
    table.loc[2, "OnsetFrame"] = int(table.loc[2, "ApexFrame"]) + 1
    # 3: an emotion outside CASME II's labels.
    table.loc[3, "Estimated Emotion"] = "joy"
    # 4: the clip folder is missing.
    shutil.rmtree(d0.clip_dirs[4])
    # 5: apex beyond the clip's last frame.
    table.loc[5, "ApexFrame"] = d0.frame_numbers[5][-1] + 3
    # 6: apex equal to onset (a warning: the onset->apex motion is zero).
    table.loc[6, "ApexFrame"] = table.loc[6, "OnsetFrame"]
    # 7: a frame that is not an image at all, and a stray unnumbered image.
    d0.frame_paths[7][0].write_bytes(b"not an image")
    cv2.imwrite(str(d0.clip_dirs[7] / "cover.jpg"), np.zeros((4, 4, 3), np.uint8))
    # 8: onset that is not a number.
    table.loc[8, "OnsetFrame"] = "n/a"
    # 9: a frame of another size.
    p9 = d0.frame_paths[9][1]
    cv2.imwrite(str(p9), np.zeros((20, 30, 3), np.uint8))
    # An empty row between rows 10 and 11, and row 11 listed twice.
    n = len(table)
    blank = pd.DataFrame([[None] * table.shape[1]], columns=table.columns)
    damaged = pd.concat([table.iloc[:11], blank, table.iloc[11:], table.iloc[[11]]], ignore_index=True)
    synthetic.write_sheet("casme2", damaged, sheet)

    d = load("casme2", root, sheet)
    assert len(d) == n + 1  # every sample kept (the repeat gets its own id); only the blank row is no sample
    report = validate(d)

    assert f"frame(s) {gone_n} of" in _one(report, ids[0], "missing_frame")
    assert "holds" in _one(report, ids[0], "frame_count")
    counts = report[report["problem"] == "frame_count"].set_index("sample_id")["severity"]
    assert counts[ids[0]] == "error" and counts[ids[2]] == "warning"  # fewer frames / more frames than the span
    detail = _one(report, ids[1], "unreadable_image")
    assert f"frame {trunc_n}: {trunc} is a truncated JPEG" in detail
    onset2, apex2 = table.loc[2, "OnsetFrame"], table.loc[2, "ApexFrame"]
    assert _one(report, ids[2], "onset_after_apex") == f"onset {onset2} is after apex {apex2}"
    assert "'joy'" in _one(report, ids[3], "unknown_emotion")
    assert str(d0.clip_dirs[4]) in _one(report, ids[4], "missing_folder")
    assert f"apex {table.loc[5, 'ApexFrame']} is outside" in _one(report, ids[5], "apex_outside_clip")
    warn = report[(report["sample_id"] == ids[6]) & (report["problem"] == "apex_equals_onset")]
    assert warn["severity"].tolist() == ["warning"]
    assert "is not a JPEG, PNG or BMP" in _one(report, ids[7], "unreadable_image")
    assert "cover.jpg has no frame number" in _one(report, ids[7], "unnumbered_image")
    assert "'n/a'" in _one(report, ids[8], "invalid_annotation")
    assert "30x20" in _one(report, ids[9], "frame_size")
    empty = report[report["problem"] == "empty_row"]
    assert len(empty) == 1 and "data row 11 (sheet row 13)" in empty["detail"].iloc[0]
    assert f"repeats sample {ids[11]}" in _one(report, ids[11] + "~2", "duplicate_sample")

    # Samples without damage report nothing but the expected warnings.
    quiet = report[report["sample_id"] == ids[10]]
    assert quiet.empty, quiet
    # The report lists dataset-level issues first, then samples in order.
    order = [ids.index(s.split("~")[0]) if s else -1 for s in report["sample_id"]]
    assert order == sorted(order)


def test_fast_mode_still_catches_truncation(clean, tmp_path):
    root, _, _ = _copy(clean, "casme2", tmp_path)
    d = load("casme2", root, clean["casme2"][1])
    p = d.frame_paths[0][0]
    p.write_bytes(p.read_bytes()[:100])
    report = validate(d, decode=False, n_jobs=2)
    assert f"{p} is a truncated JPEG" in _one(report, d.samples.at[0, "sample_id"], "unreadable_image")
    assert "unreadable_image" not in set(validate(d, check_images=False)["problem"])


def test_long_recordings_check_the_me_frames_only(clean, tmp_path):
    root, _, _ = _copy(clean, "casme3a", tmp_path)
    d0 = load("casme3a", root, clean["casme3a"][1])
    sid = d0.samples.at[0, "sample_id"]
    nums = d0.frame_numbers[0]
    onset, offset = int(d0.samples.at[0, "onset"]), int(d0.samples.at[0, "offset"])
    # A frame outside the ME is gone: no problem for this sample (the folder is a longer recording) ...
    outside = nums.index(onset - 1)
    d0.frame_paths[0][outside].unlink()
    # ... a frame inside the ME is: reported.
    inside = nums.index(onset + 1)
    d0.frame_paths[0][inside].unlink()
    d = load("casme3a", root, clean["casme3a"][1])
    report = validate(d)
    assert _one(report, sid, "missing_frame").startswith(f"frame(s) {onset + 1} of {onset}..{offset}")
    assert "frame_count" not in set(report["problem"])


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("a.jpg", b"", "is empty"),
        ("b.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "truncated PNG"),
        ("c.bmp", b"BM" + (1000).to_bytes(4, "little") + b"\0" * 50, "truncated BMP (56 of 1000 bytes)"),
        ("d.jpg", b"GIF89a....", "not a JPEG, PNG or BMP"),
    ],
)
def test_image_problems(tmp_path, name, data, why):
    p = tmp_path / name
    p.write_bytes(data)
    assert why in image_problem(p)


def test_intact_images_pass(tmp_path):
    img = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    for ext in (".jpg", ".png", ".bmp"):
        p = tmp_path / f"f{ext}"
        cv2.imwrite(str(p), img)
        assert image_problem(p) is None, ext


def test_bad_sheets_raise_annotation_errors(clean, tmp_path):
    root, sheet = clean["casme2"]
    table = pd.read_excel(sheet)
    table.drop(columns=["ApexFrame"]).to_excel(tmp_path / "no_apex.xlsx", index=False)
    with pytest.raises(AnnotationError, match=r"missing \{'apex': \['ApexFrame', 'Apex Frame'\]\}"):
        load("casme2", root, tmp_path / "no_apex.xlsx")
    (tmp_path / "text.xlsx").write_text("this is not a workbook")
    with pytest.raises(AnnotationError, match=r"cannot read annotation file .*text\.xlsx"):
        load("casme2", root, tmp_path / "text.xlsx")
    with pytest.raises(AnnotationError, match="does not exist"):
        load("casme2", root, tmp_path / "absent.xlsx")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    with pytest.raises(AnnotationError, match="not a spreadsheet"):
        load("casme2", root, tmp_path / "notes.pdf")
    pd.DataFrame().to_excel(tmp_path / "empty.xlsx")
    with pytest.raises(AnnotationError, match="empty"):
        load("casme2", root, tmp_path / "empty.xlsx")


def test_csv_sheets_are_read_too(clean, tmp_path):
    root, sheet = clean["casme2"]
    pd.read_excel(sheet).to_csv(tmp_path / "coding.csv", index=False)
    a = load("casme2", root, sheet).samples
    b = load("casme2", root, tmp_path / "coding.csv").samples
    pd.testing.assert_frame_equal(a, b)


def test_negative_frame_numbers_in_a_sheet_are_invalid_annotations(clean, tmp_path):
    # A typed sign (onset -6 for 6) or -1 for "unknown" in a CAS(ME)^3 sheet: neither is a frame number. They
    # went into the sample table as they were, and validate() said nothing of them.
    root, sheet = clean["casme3a"]
    table = pd.read_excel(sheet, dtype=object)
    table.loc[0, "Onset"] = -6
    table.loc[1, "Apex"] = -1
    damaged = synthetic.write_sheet("casme3a", table, tmp_path / sheet.name)
    d = load("casme3a", root, damaged)
    ids, s = d.samples["sample_id"].tolist(), d.samples
    assert s.at[0, "onset"] == -1  # unknown (the recording folder gives no onset), not -6
    apex = int(table.loc[1, "Onset"]) + (int(table.loc[1, "Offset"]) - int(table.loc[1, "Onset"])) // 2
    assert s.at[1, "apex"] == apex  # derived as a missing apex is, the correction saying what the cell held
    fix = d.corrections[(d.corrections["sample_id"] == ids[1]) & (d.corrections["field"] == "apex")]
    assert fix["reason"].tolist() == ["apex -1 is not a frame number; the middle frame of onset..offset is used"]

    report = validate(d, check_images=False)
    assert _one(report, ids[0], "invalid_annotation") == "onset -6 (sheet row 2) is not a frame number"
    assert _one(report, ids[1], "invalid_annotation") == "apex -1 (sheet row 3) is not a frame number"


def test_negative_frame_numbers_in_a_sample_table_are_reported(clean):
    # A table made elsewhere (or edited): negative numbers, and a -1 no reader reported, are no frame numbers.
    d = load("casme2", *clean["casme2"])
    ids = d.samples["sample_id"].tolist()
    d.samples.loc[0, "onset"] = -6
    d.samples.loc[1, "apex"] = -1
    report = validate(d, check_images=False)
    assert _one(report, ids[0], "invalid_annotation") == "onset -6 is negative: not a frame number"
    assert _one(report, ids[1], "invalid_annotation") == "apex is unknown (-1)"
    with pytest.raises(FrameReadError, match=rf"^sample {ids[0]}: no frame range \(onset -6, offset \d+\)"):
        d.read_frames(0)
    with pytest.raises(FrameReadError, match=rf"^sample {ids[2]}: no frame range \(first -2, last 3\)"):
        d.read_frames(2, -2, 3)


def _folder_warnings(report: pd.DataFrame) -> list[str]:
    hits = report[report["problem"] == "folder_without_sample"]
    assert (hits["severity"] == "warning").all() and (hits["sample_id"] == "").all(), hits.to_string()
    return hits["detail"].tolist()


def test_folders_no_row_reads_are_warned_about(clean, tmp_path):
    # A clip folder without a sheet row (a row lost, or a folder named otherwise than the sheet says) was
    # ignored in silence: its clip was simply not in the dataset.
    root, _, _ = _copy(clean, "casme2", tmp_path)
    d0 = load("casme2", root, clean["casme2"][1])
    subject = d0.clip_dirs[0].parent
    shutil.copytree(d0.clip_dirs[0], subject / "EP09_99")  # a folder without a row
    shutil.rmtree(d0.clip_dirs[1])  # a row without a folder: an error of its own, and no warning
    (root / "sub77" / "EP01_01").mkdir(parents=True)  # a subject the sheet does not list
    (subject / ".thumbnails").mkdir()  # hidden folders are no clips
    (root / "__MACOSX").mkdir()
    d = load("casme2", root, clean["casme2"][1])
    report = validate(d, check_images=False)
    assert _folder_warnings(report) == [
        f"folder {subject / 'EP09_99'} is not in the annotation sheet: no sample reads its frames",
        f"folder {root / 'sub77'} holds no clip of the annotation sheet",
    ]
    assert "missing_folder" in set(report["problem"])
    # Found while reading, against the whole sheet: a subset does not call the folders it leaves out orphans.
    assert len(_folder_warnings(validate(d.subset([2, 3]), check_images=False))) == 2


def test_no_folder_warnings_for_the_synthetic_corpora_raw_or_cropped(tmp_path):
    # Every layout as distributed: SMIC's emotion folders (with and without a sheet), CAS(ME)^3's recording
    # folders shared by several MEs and part C's color/ folders, the cropped copies' other roots.
    for cropped in (False, True):
        written = synthetic.write_synthetic(
            tmp_path / str(cropped), corpora=tuple(synthetic.LAYOUTS), n_subjects=2, clips_per_subject=3,
            size=(32, 32), n_frames=(4, 5), seed=1, cropped=cropped,
        )  # fmt: skip
        for corpus, (root, sheet) in written.items():
            for ann in (sheet, None) if corpus == "smic" else (sheet,):
                d = load(corpus, root, ann)
                assert _folder_warnings(validate(d, check_images=False)) == [], (corpus, cropped, ann)


def test_smic_folder_warnings_stay_in_the_emotion_folders(tmp_path):
    written = synthetic.write_synthetic(
        tmp_path, corpora=("smic",), n_subjects=2, clips_per_subject=3, size=(32, 32), n_frames=(4, 5), seed=1
    )
    root, sheet = written["smic"]
    d0 = load("smic", root, sheet)
    extra = d0.clip_dirs[0].parent / "s1_ne_99"
    shutil.copytree(d0.clip_dirs[0], extra)
    (d0.clip_dirs[0].parents[2] / "non_micro" / "negative" / "s1_ne_01").mkdir(parents=True)  # as distributed
    report = validate(load("smic", root, sheet), check_images=False)
    assert _folder_warnings(report) == [f"folder {extra} is not in the annotation sheet: no sample reads its frames"]
