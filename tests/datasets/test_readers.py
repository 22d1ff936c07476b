"""Every reader on a synthetic tree in its own corpus's layout, against what was rendered into it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mefast.datasets import CORPORA, SAMPLE_COLUMNS, Dataset, load, synthetic, validate
from mefast.errors import AnnotationError, FrameReadError
from mefast.labels import format_aus, megc2019_class, normalise_emotion, objective_class, parse_aus

SIZE = (48, 48)


@pytest.fixture(scope="session")
def trees(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("synthetic_all")
    return synthetic.write_synthetic(
        out,
        corpora=list(synthetic.LAYOUTS),
        n_subjects=2,
        clips_per_subject=4,
        size=SIZE,
        n_frames=(5, 8),
        seed=11,
        label_noise=0.25,
        shared_recordings=0.5,
    )


def _truth_by_id(root: Path) -> pd.DataFrame:
    return synthetic.truth(root).samples.set_index("sample_id")


def test_every_corpus_has_a_synthetic_layout():
    assert set(synthetic.LAYOUTS) == set(CORPORA)


@pytest.mark.parametrize("corpus", list(synthetic.LAYOUTS))
def test_reader_reads_its_layout(trees, corpus):
    root, sheet = trees[corpus]
    d = load(corpus, root, sheet)
    truth = _truth_by_id(root)
    s = d.samples

    assert isinstance(d, Dataset) and d.name == corpus and len(d) == len(truth)
    assert tuple(s.columns) == SAMPLE_COLUMNS
    assert isinstance(s.index, pd.RangeIndex) and s.index[0] == 0
    for col in ("onset", "apex", "offset", "n_frames", "objective_class"):
        assert s[col].dtype == np.int64, col
    assert s["sample_id"].is_unique
    assert (s["sample_id"] == s["dataset"] + "/" + s["subject"] + "/" + s["clip"]).all()
    assert set(s["sample_id"]) == set(truth.index)

    t = truth.loc[s["sample_id"]]
    np.testing.assert_array_equal(s["onset"], t["onset"])
    np.testing.assert_array_equal(s["apex"], t["apex"])
    np.testing.assert_array_equal(s["offset"], t["offset"])
    assert s["aus"].tolist() == (t["aus"].tolist() if corpus != "smic" else [""] * len(s))
    assert s["emotion"].tolist() == [normalise_emotion(e) for e in t["emotion"]]
    assert s["megc2019"].tolist() == [
        megc2019_class(corpus, e, sub, c) for e, sub, c in zip(s["emotion"], s["subject"], s["clip"], strict=True)
    ]
    if corpus not in ("samm", "casme3a"):  # those two carry the class in their sheet (written from the AUs)
        assert s["objective_class"].tolist() == [objective_class(parse_aus(a)) for a in s["aus"]]
    else:
        assert s["objective_class"].tolist() == [objective_class(parse_aus(a)) for a in t["aus"]]
    found = sorted({a for text in s["aus"] for a in parse_aus(text)})
    assert d.au_names == tuple(f"AU{a}" for a in found)

    for i in range(len(d)):
        nums, paths = d.frame_numbers[i], d.frame_paths[i]
        assert nums == sorted(nums) and len(nums) == len(paths) == s.at[i, "n_frames"]
        assert all(p.is_file() and p.parent == d.clip_dirs[i] for p in paths)
        assert nums[0] <= s.at[i, "onset"] < s.at[i, "apex"] <= s.at[i, "offset"] <= nums[-1]

    report = validate(d)
    assert (report["severity"] != "error").all(), report.to_string()


@pytest.mark.parametrize("corpus", ["casme2", "samm", "casme3a", "smic"])
def test_read_frames_returns_the_rendered_frames(trees, corpus):
    root, sheet = trees[corpus]
    d = load(corpus, root, sheet)
    truth = synthetic.truth(root)
    sid = d.samples.at[0, "sample_id"]
    rec = truth.recording(sid)
    rendered = truth.render(sid)
    onset, offset = d.samples.at[0, "onset"], d.samples.at[0, "offset"]
    frames = d.read_frames(0)
    assert frames.shape == (offset - onset + 1, *SIZE, 3) and frames.dtype == np.uint8
    ref = rendered[onset - rec.first_frame : offset - rec.first_frame + 1].astype(np.float32)
    if ref.ndim == 3:  # grey corpus: the reader replicates the channel
        np.testing.assert_array_equal(frames[..., 0], frames[..., 2])
        ref = ref[..., None]
    # JPEG at quality 95 with chroma subsampling (SMIC is BMP: lossless).
    err = np.abs(frames.astype(np.float32) - ref).mean()
    assert err < (1e-9 if corpus == "smic" else 4.0), err
    other = d.read_frames(len(d) - 1)[: len(ref)].astype(np.float32)
    assert np.abs(other[: len(ref)] - ref[: len(other)]).mean() > 2 * err + 1
    part = d.read_frames(0, onset + 1, onset + 2)
    np.testing.assert_array_equal(part, frames[1:3])


def test_au_matrix(trees):
    d = load("samm", *trees["samm"])
    m = d.au_matrix()
    assert m.shape == (len(d), len(d.au_names)) and m.dtype == np.uint8
    for i, text in enumerate(d.samples["aus"]):
        assert [int(n[2:]) for n, v in zip(d.au_names, m[i], strict=True) if v] == list(parse_aus(text))
    sub = d.au_matrix(["12", "AU4"])
    for j, name in enumerate(("AU12", "AU4")):
        expected = m[:, d.au_names.index(name)] if name in d.au_names else np.zeros(len(d), np.uint8)
        np.testing.assert_array_equal(sub[:, j], expected)
    assert d.au_matrix(["AU99"]).sum() == 0
    with pytest.raises(ValueError, match="not an AU name"):
        d.au_matrix(["brow"])


def test_casme3a_numbers_repeated_file_names_and_shares_the_recording(trees):
    root, sheet = trees["casme3a"]
    d = load("casme3a", root, sheet)
    raw = pd.read_excel(sheet)
    repeated = raw.duplicated(["Subject", "Filename"]).sum()
    assert repeated > 0, "the synthetic sheet should repeat file names like the real one"
    renamed = d.corrections[d.corrections["field"] == "clip"]
    assert len(renamed) == repeated
    for _, c in renamed.iterrows():
        i = d.samples.index[d.samples["sample_id"] == c["sample_id"]][0]
        first = d.samples.index[(d.samples["subject"] == d.samples.at[i, "subject"]) & (d.samples["clip"] == c["old"])][
            0
        ]
        assert c["new"].startswith(c["old"]) and c["new"] != c["old"]
        assert d.clip_dirs[i] == d.clip_dirs[first] and d.clip_dirs[i].name == "color"
        assert d.frame_paths[i] == d.frame_paths[first]
    # A recording folder holds more than its MEs' frames.
    assert (d.samples["n_frames"] > d.samples["offset"] - d.samples["onset"] + 1).all()


def test_samm_header_below_the_notes(trees):
    root, sheet = trees["samm"]
    assert pd.read_excel(sheet, header=None).iloc[13, 1] == "Filename"  # as the MEB library finds it
    d = load("samm", root, sheet)
    assert d.samples["subject"].str.fullmatch(r"\d{3}").all()


def test_4dme_k_marked_aus(trees):
    root, sheet = trees["4dme"]
    raw = pd.read_excel(sheet)
    marked = raw["AUs"].str.contains(r"\(k\)")
    assert marked.any()
    d = load("4dme", root, sheet)
    kept = load("4dme", root, sheet, keep_k=True)
    for i in np.flatnonzero(marked):
        k_aus = {int(t[2:-3]) for t in raw.at[i, "AUs"].split("+") if t.endswith("(k)")}
        assert not k_aus & set(parse_aus(d.samples.at[i, "aus"]))
        assert k_aus <= set(parse_aus(kept.samples.at[i, "aus"]))
    fixes = d.corrections[d.corrections["reason"].str.contains(r"\(k\)")]
    assert len(fixes) == marked.sum()


def test_mmew_finds_clips_whose_sheet_emotion_differs_from_their_folder(trees):
    root, sheet = trees["mmew"]
    truth = _truth_by_id(root)
    noisy = truth[truth["label_noise"]]
    assert len(noisy), "label noise should have moved some written emotions away from the folder"
    d = load("mmew", root, sheet)
    for sid in noisy.index:
        i = d.samples.index[d.samples["sample_id"] == sid][0]
        assert d.samples.at[i, "n_frames"] > 0
        assert d.clip_dirs[i].parent.name == truth.at[sid, "true_emotion"]


def test_smic_reads_the_tree_without_a_sheet(trees):
    root, sheet = trees["smic"]
    from_tree = load("smic", root)
    from_sheet = load("smic", root, sheet)
    a = from_tree.samples.set_index("sample_id").sort_index()
    b = from_sheet.samples.set_index("sample_id").sort_index()
    pd.testing.assert_frame_equal(a, b)
    apex_fixes = from_tree.corrections[from_tree.corrections["field"] == "apex"]
    assert len(apex_fixes) == len(from_tree) and apex_fixes["reason"].str.contains("no apex").all()


def test_cropped_variant(tmp_path):
    paths = synthetic.write_synthetic(
        tmp_path,
        corpora=("casme2", "smic"),
        n_subjects=1,
        clips_per_subject=2,
        size=SIZE,
        n_frames=(4, 5),
        cropped=True,
    )
    root, sheet = paths["casme2"]
    assert root.name == "Cropped"
    d = load("casme2", root, sheet)
    assert all(p.name.startswith("reg_img") for ps in d.frame_paths for p in ps)
    assert d.read_frames(1).shape[0] == d.samples.at[1, "offset"] - d.samples.at[1, "onset"] + 1
    assert load("smic", paths["smic"][0]).frame_paths[0][0].name.startswith("reg_image")


def test_frames_are_ordered_by_number_not_by_name(tmp_path):
    root = tmp_path / "CASME2_RAW_selected"
    clip = root / "sub01" / "EP01_01"
    clip.mkdir(parents=True)
    frame = np.full((8, 8, 3), 100, np.uint8)
    import cv2

    for n in (9, 10, 11, 100, 2):
        cv2.imwrite(str(clip / f"img{n}.jpg"), frame + n)
    (clip / "Thumbs.db").write_bytes(b"x")  # not an image: ignored
    sheet = synthetic.write_sheet(
        "casme2",
        synthetic.sheet_table(
            "casme2",
            [
                {
                    "subject": 1,
                    "clip": "EP01_01",
                    "onset": 9,
                    "apex": 10,
                    "offset": 11,
                    "aus": "12",
                    "emotion": "happiness",
                }
            ],
        ),
        tmp_path / "CASME2-coding-20140508.xlsx",
    )
    d = load("casme2", root, sheet)
    assert d.frame_numbers[0] == [2, 9, 10, 11, 100]
    assert [p.name for p in d.frame_paths[0]] == ["img2.jpg", "img9.jpg", "img10.jpg", "img11.jpg", "img100.jpg"]
    assert d.read_frames(0).shape == (3, 8, 8, 3)


def test_hidden_files_are_not_frames(tmp_path):
    # A tree copied from macOS holds "._img9.jpg" metadata files; they once shadowed every real frame.
    import cv2

    from mefast.datasets._engine.frames import FrameListing

    for n in (9, 10):
        cv2.imwrite(str(tmp_path / f"img{n}.jpg"), np.full((8, 8, 3), 100, np.uint8))
        (tmp_path / f"._img{n}.jpg").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    listing = FrameListing(tmp_path)
    assert [p.name for p in listing.paths] == ["img9.jpg", "img10.jpg"]
    assert listing.duplicates == {} and listing.unnumbered == []


def test_load_finds_the_sheet_and_accepts_spellings(trees):
    root, sheet = trees["casme2"]
    a = load("CASME II", root)  # sheet found one folder up, under its distributed name
    assert a.annotations == sheet
    assert len(load("casmeii", root, sheet)) == len(a)
    with pytest.raises(ValueError, match="unknown corpus"):
        load("ckplus", root, sheet)
    with pytest.raises(ValueError, match="keep_k"):
        load("casme2", root, sheet, keep_k=True)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load("casme2", root / "nope", sheet)


def test_missing_sheet_is_an_annotation_error(tmp_path):
    (tmp_path / "frames").mkdir()
    with pytest.raises(AnnotationError, match="no annotation file given"):
        load("samm", tmp_path / "frames")


def test_read_frames_errors_name_the_sample(trees, tmp_path):
    root, sheet = trees["casme2"]
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    d = load("casme2", copy, sheet)
    sid = d.samples.at[0, "sample_id"]
    with pytest.raises(IndexError):
        d.read_frames(len(d))
    with pytest.raises(FrameReadError, match="after last frame"):
        d.read_frames(0, 10, 5)
    victim, number = d.frame_paths[0][1], d.frame_numbers[0][1]
    victim.unlink()
    # Deleted after loading: the listed path is named.
    with pytest.raises(FrameReadError, match=rf"{sid}: frame {number} at {victim} does not exist"):
        d.read_frames(0)
    # Absent when loading: the path the frame would have is named.
    d = load("casme2", copy, sheet)
    with pytest.raises(FrameReadError, match=rf"{sid}: frame {number} is missing \({victim} does not exist"):
        d.read_frames(0)
    bad = d.frame_paths[1][2]
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(FrameReadError, match=rf"{d.samples.at[1, 'sample_id']}: frame .* at {bad} is a truncated JPEG"):
        d.read_frames(1)


def test_subset_keeps_frames_and_records(trees):
    d = load("casme3a", *trees["casme3a"])
    sub = d.subset([2, 0])
    assert sub.samples["sample_id"].tolist() == d.samples["sample_id"].iloc[[2, 0]].tolist()
    assert sub.frame_paths == [d.frame_paths[2], d.frame_paths[0]]
    assert set(sub.corrections["sample_id"]) <= set(sub.samples["sample_id"])


def test_format_of_canonical_aus_in_samples(trees):
    d = load("samm", *trees["samm"])
    assert all(a == format_aus(parse_aus(a)) for a in d.samples["aus"])


def _casme3a_sheet(tmp_path: Path, rows: list[tuple[str, int, int, int]]) -> Path:
    """A part-A sheet of subject spNO.1: (file name, onset, apex, offset) per ME."""
    records = [
        {"subject": "spNO.1", "clip": f, "onset": a, "apex": b, "offset": c, "aus": "4", "emotion": "disgust"}
        for f, a, b, c in rows
    ]
    return synthetic.write_sheet("casme3a", synthetic.sheet_table("casme3a", records), tmp_path / "sheet.xlsx")


def _jpgs(folder: Path, numbers: range) -> None:
    import cv2

    folder.mkdir(parents=True)
    for n in numbers:
        cv2.imwrite(str(folder / f"{n}.jpg"), np.full((8, 8, 3), n, np.uint8))


@pytest.mark.parametrize("sub", ["", "color"], ids=["flat", "color"])
def test_casme3a_cropped_copy_reads_each_me_from_its_own_folder(tmp_path, sub):
    # A cropped copy (as MEB writes one) holds a folder per ME: the second ME of recording "a" is in a2/.
    root = tmp_path / "cropped"
    _jpgs(root / "spNO.1" / "a" / sub, range(5, 14))
    _jpgs(root / "spNO.1" / "a2" / sub, range(18, 30))
    sheet = _casme3a_sheet(tmp_path, [("a", 5, 8, 13), ("a", 18, 24, 29)])
    d = load("casme3a", root, sheet)
    assert d.samples["clip"].tolist() == ["a", "a2"]
    assert d.clip_dirs == [root / "spNO.1" / "a" / sub, root / "spNO.1" / "a2" / sub]
    assert d.frame_numbers == [list(range(5, 14)), list(range(18, 30))]
    assert d.read_frames(1).shape[0] == 12
    assert not validate(d, decode=False)["problem"].str.endswith("_outside_clip").any()


def test_casme3a_release_layout_reads_every_me_from_the_recording(tmp_path):
    # The release has one folder per recording task: no a2/, so the second ME is read from a/color.
    root = tmp_path / "part_A"
    _jpgs(root / "spNO.1" / "a" / "color", range(0, 40))
    d = load("casme3a", root, _casme3a_sheet(tmp_path, [("a", 5, 8, 13), ("a", 18, 24, 29), ("b", 1, 2, 3)]))
    assert d.clip_dirs[:2] == [root / "spNO.1" / "a" / "color"] * 2
    assert d.frame_numbers[1] == list(range(0, 40))
    assert d.clip_dirs[2] == root / "spNO.1" / "b" / "color"  # missing: reported at the recording's folder


def test_casme3a_an_exactly_repeated_row_is_a_duplicate_sample_not_another_me(tmp_path):
    # A copied row (same file name, onset, apex and offset) was numbered as one more ME of the recording: a2 and
    # a3 were the same sample twice, and validate() said nothing.
    root = tmp_path / "part_A"
    _jpgs(root / "spNO.1" / "a" / "color", range(0, 40))
    rows = [("a", 5, 8, 13), ("a", 18, 24, 29), ("a", 18, 24, 29), ("a", 30, 33, 36), ("b", 1, 2, 3)]
    d = load("casme3a", root, _casme3a_sheet(tmp_path, rows))
    ids = ["casme3a/spNO.1/a", "casme3a/spNO.1/a2", "casme3a/spNO.1/a2~2", "casme3a/spNO.1/a3", "casme3a/spNO.1/b"]
    assert d.samples["sample_id"].tolist() == ids  # the next ME of the recording is still a3
    report = validate(d, check_images=False)
    dup = report[report["problem"] == "duplicate_sample"]
    assert dup["sample_id"].tolist() == [ids[2]] and dup["severity"].tolist() == ["error"]
    assert dup["detail"].iloc[0] == f"sheet row 4 repeats sample {ids[1]}"
    renamed = d.corrections.set_index("sample_id")["reason"]
    assert renamed[ids[2]] == "repeats an earlier row exactly (same onset, apex and offset): the same ME as a2"
