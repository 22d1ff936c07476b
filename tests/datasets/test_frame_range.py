"""Frame ranges that the clip folder does not cover: the ``frame_range`` policy (issue 11.8).

Each case is a CASME II clip folder of tiny frames whose numbers disagree with the annotated onset..offset
in one way: the frames end before the offset, start after the onset, use another numbering, or cover an
overlap that leaves the apex out. ``strict`` (the default) keeps the annotation and reports an error;
``clip`` uses the overlap when the apex is inside it and records the change; nothing is silent.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mefast.datasets import load, synthetic, validate
from mefast.errors import FrameRangeError, FrameReadError

# (case, folder frame numbers, onset, apex, offset, clipped onset..offset or None when even 'clip' refuses)
CASES = [
    ("ends_before_offset", range(10, 19), 10, 14, 20, (10, 18)),
    ("starts_after_onset", range(12, 21), 10, 15, 20, (12, 20)),
    ("other_numbering", range(1, 12), 46, 50, 56, None),
    ("apex_outside_overlap", range(10, 15), 10, 17, 20, None),
]


def _tree(tmp_path, folder_frames, onset, apex, offset):
    root = tmp_path / "CASME2_RAW_selected"
    rows = []
    for k, (frames, on, ap, off) in enumerate(
        [(folder_frames, onset, apex, offset), (range(30, 41), 30, 35, 40)]  # a second, consistent clip
    ):
        clip = f"EP0{k + 1}_01"
        d = root / "sub01" / clip
        d.mkdir(parents=True)
        for n in frames:
            cv2.imwrite(str(d / f"img{n}.jpg"), np.full((8, 8, 3), 10 * (n % 20), np.uint8))
        rows.append({"subject": 1, "clip": clip, "onset": on, "apex": ap, "offset": off, "aus": "4",
                     "emotion": "disgust"})  # fmt: skip
    sheet = synthetic.write_sheet("casme2", synthetic.sheet_table("casme2", rows), tmp_path / "coding.xlsx")
    return root, sheet


@pytest.mark.parametrize(("case", "frames", "onset", "apex", "offset", "clipped"), CASES, ids=[c[0] for c in CASES])
def test_strict_keeps_the_annotation_and_reports_an_error(tmp_path, case, frames, onset, apex, offset, clipped):
    d = load("casme2", *_tree(tmp_path, frames, onset, apex, offset))  # strict is the default
    assert d.samples.loc[0, ["onset", "apex", "offset"]].tolist() == [onset, apex, offset]
    report = validate(d, check_images=False)
    errors = report[(report["sample_id"] == d.samples.at[0, "sample_id"]) & (report["severity"] == "error")]
    assert not errors.empty
    with pytest.raises(FrameRangeError, match=d.samples.at[0, "sample_id"]) as err:
        d.read_frames(0)
    assert isinstance(err.value, FrameReadError) and isinstance(err.value, ValueError)  # both ways of catching it
    assert "frame_range='clip'" in str(err.value)
    assert d.read_frames(1).shape[0] == 11  # the consistent clip reads as before


@pytest.mark.parametrize(("case", "frames", "onset", "apex", "offset", "clipped"), CASES, ids=[c[0] for c in CASES])
def test_clip_uses_the_overlap_when_the_apex_is_inside(tmp_path, case, frames, onset, apex, offset, clipped):
    d = load("casme2", *_tree(tmp_path, frames, onset, apex, offset), frame_range="clip")
    sid = d.samples.at[0, "sample_id"]
    report = validate(d, check_images=False)
    mine = report[report["sample_id"] == sid]
    changes = d.corrections[(d.corrections["sample_id"] == sid) & d.corrections["reason"].str.contains("frame_range")]
    if clipped is None:  # no overlap (another numbering) or the apex outside it: an error even with 'clip'
        assert d.samples.loc[0, ["onset", "apex", "offset"]].tolist() == [onset, apex, offset]
        assert changes.empty
        err = mine[mine["problem"] == "frame_range"]
        assert len(err) == 1 and err["severity"].iloc[0] == "error"
        assert ("do not overlap" if case == "other_numbering" else "apex is outside") in err["detail"].iloc[0]
        with pytest.raises(FrameReadError):
            d.read_frames(0)
        return
    lo, hi = clipped
    assert d.samples.loc[0, ["onset", "apex", "offset"]].tolist() == [lo, apex, hi]
    # recorded in the sample's corrections (old and new values, the folder's range in the reason) ...
    want = {("onset", str(onset), str(lo))} if lo != onset else set()
    want |= {("offset", str(offset), str(hi))} if hi != offset else set()
    assert set(map(tuple, changes[["field", "old", "new"]].values)) == want
    assert changes["reason"].str.contains(f"{frames[0]}..{frames[-1]}").all()
    # ... and in the validation report, as a warning; no error remains
    warn = mine[mine["problem"] == "frame_range_clipped"]
    assert len(warn) == 1 and warn["severity"].iloc[0] == "warning"
    assert (mine["severity"] != "error").all(), mine
    assert d.read_frames(0).shape[0] == hi - lo + 1
    # the consistent clip is untouched
    assert d.samples.loc[1, ["onset", "offset"]].tolist() == [30, 40]
    assert not d.corrections["sample_id"].eq(d.samples.at[1, "sample_id"]).any()


def test_unknown_policy_is_refused(tmp_path):
    with pytest.raises(ValueError, match="frame_range must be one of strict, clip"):
        load("casme2", *_tree(tmp_path, range(10, 19), 10, 14, 20), frame_range="stretch")


def test_cli_preprocess_takes_the_policy(tmp_path):
    from mefast._cli.preprocess import load_corpus

    root, sheet = _tree(tmp_path, range(10, 19), 10, 14, 20)
    strict = load_corpus("casme2", [str(root)], [str(sheet)])
    clipped = load_corpus("casme2", [str(root)], [str(sheet)], frame_range="clip")
    assert strict.samples.at[0, "offset"] == 20 and clipped.samples.at[0, "offset"] == 18
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "mefast.cli", "preprocess", "--help"], capture_output=True, text=True, timeout=120
    )
    assert "--frame-range" in out.stdout and "clip" in out.stdout
