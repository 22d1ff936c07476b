"""The MEGC spotting metric against hand-made cases and an independent brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mefast.errors import ShapeError
from mefast.spotting import expression_type, interval_iou, match_intervals, megc_table


def _iou_sets(a: tuple[int, int], b: tuple[int, int]) -> float:
    sa, sb = set(range(a[0], a[1] + 1)), set(range(b[0], b[1] + 1))
    return len(sa & sb) / len(sa | sb)


def _brute_greedy(pred: list[tuple[int, int, float]], gt: list[tuple[int, int]], thr: float) -> tuple[int, int, int]:
    """The default rule written independently: frame sets, Python sorting, scan of every GT."""
    order = sorted(range(len(pred)), key=lambda i: (-pred[i][2], pred[i][0], pred[i][1], i))
    taken: set[int] = set()
    tp = 0
    for i in order:
        best, best_iou = None, -1.0
        for j, g in enumerate(gt):
            if j in taken:
                continue
            v = _iou_sets(pred[i][:2], g)
            if v >= thr and v > best_iou:
                best, best_iou = j, v
        if best is not None:
            taken.add(best)
            tp += 1
    return tp, len(pred) - tp, len(gt) - tp


def _max_matching(pred: list[tuple[int, int, float]], gt: list[tuple[int, int]], thr: float) -> int:
    """Largest one-to-one matching by enumeration (small sets only)."""
    best = 0
    for r in range(min(len(pred), len(gt)), 0, -1):
        for ps in itertools.combinations(range(len(pred)), r):
            for gs in itertools.permutations(range(len(gt)), r):
                if all(_iou_sets(pred[p][:2], gt[g]) >= thr for p, g in zip(ps, gs, strict=True)):
                    return r
    return best


def test_iou_spec_values() -> None:
    np.testing.assert_allclose(interval_iou([[10, 19]], [[15, 24], [12, 21], [20, 29]]), [[5 / 15, 8 / 12, 0.0]])
    assert interval_iou([[3, 3]], [[3, 3]])[0, 0] == 1.0  # a single frame against itself


def test_spec_s2_default_and_reference() -> None:
    gt = [[0, 9], [5, 14]]
    pred = [[3, 12, 0.9], [0, 9, 0.8]]
    r = match_intervals(pred, gt)
    assert (r.tp, r.fp, r.fn) == (2, 0, 0)
    assert sorted(map(tuple, r.pairs.tolist())) == [(0, 1), (1, 0)]  # P1 takes B (8/12 > 7/13), P2 takes A
    ref = match_intervals(pred, gt, rule="strs_reference")
    assert (ref.tp, ref.fp, ref.fn) == (2, 1, 0)
    assert ref.f1 == pytest.approx(0.8)


def test_one_prediction_overlapping_two_truths_counts_once() -> None:
    r = match_intervals([[2, 11, 1.0]], [[0, 9], [4, 13]])  # IoU 8/12 with both
    assert (r.tp, r.fp, r.fn) == (1, 0, 1)
    assert r.pairs.tolist() == [[0, 0]]  # tie in IoU: the earlier ground truth


def test_ties_in_score_go_by_onset() -> None:
    gt = [[0, 9]]
    r = match_intervals([[1, 10, 0.5], [0, 9, 0.5]], gt)  # equal scores: the earlier onset matches first
    assert r.pairs.tolist() == [[1, 0]]
    assert (r.tp, r.fp, r.fn) == (1, 1, 0)


def test_iou_exactly_half_is_a_match() -> None:
    assert interval_iou([[0, 9]], [[0, 4]])[0, 0] == 0.5
    assert match_intervals([[0, 9]], [[0, 4]]).tp == 1
    assert match_intervals([[0, 10]], [[0, 4]]).tp == 0  # 5/11


@pytest.mark.parametrize(
    ("pred", "gt", "counts"),
    [
        ([], [], (0, 0, 0)),
        (None, [[0, 5]], (0, 0, 1)),
        ([[0, 5, 1.0]], None, (0, 1, 0)),
        (np.zeros((0, 3)), np.zeros((0, 2)), (0, 0, 0)),
    ],
    ids=["both-empty", "no-predictions", "no-truth", "empty-arrays"],
)
def test_empty_sets(pred, gt, counts) -> None:
    r = match_intervals(pred, gt)
    assert (r.tp, r.fp, r.fn) == counts
    assert (r.precision, r.recall, r.f1) == (0.0, 0.0, 0.0)


def test_against_brute_force_on_random_sets() -> None:
    rng = np.random.default_rng(0)
    n_diff = 0
    for _ in range(300):
        gt = []
        for _ in range(int(rng.integers(0, 4))):
            on = int(rng.integers(0, 40))
            gt.append((on, on + int(rng.integers(0, 12))))
        pred = []
        for _ in range(int(rng.integers(0, 5))):
            on = int(rng.integers(0, 40))
            pred.append((on, on + int(rng.integers(0, 12)), float(rng.integers(0, 3))))  # scores tie often
        thr = float(rng.choice([0.3, 0.5, 0.7]))
        r = match_intervals(np.asarray(pred).reshape(-1, 3), np.asarray(gt).reshape(-1, 2), thr)
        assert (r.tp, r.fp, r.fn) == _brute_greedy(pred, gt, thr)
        best = _max_matching(pred, gt, thr)
        assert r.tp <= best
        n_diff += r.tp != best
        for p, g in r.pairs.tolist():
            assert _iou_sets(pred[p][:2], gt[g]) >= thr
        assert len(set(r.pairs[:, 1].tolist())) == r.tp  # each ground truth at most once
    assert n_diff < 30  # the greedy rule equals the largest matching but for rare double overlaps


def test_megc2020_log_rule_counts_double_hits() -> None:
    r = match_intervals([[0, 9], [1, 9]], [[0, 9]], rule="megc2020_log")
    assert (r.tp, r.fp, r.fn) == (2, 0, 0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ShapeError, match="offset 3 before onset 5"):
        match_intervals([[5, 3]], [[0, 1]])
    with pytest.raises(ShapeError, match="whole frame"):
        match_intervals([[0.5, 3]], [[0, 1]])
    with pytest.raises(ValueError, match="iou"):
        match_intervals([[0, 3]], [[0, 3]], iou=0)
    with pytest.raises(ValueError, match="rule"):
        match_intervals([[0, 3]], [[0, 3]], rule="nope")  # type: ignore[arg-type]


def test_megc_table_pools_counts_over_videos() -> None:
    videos = {
        "v1": ([[10, 19, 1.0], [50, 59, 0.5]], [[100, 140, 1.0]], [[11, 20]], [[100, 150]]),
        "v2": ([], [[0, 30, 1.0]], [[5, 9]], []),
    }
    t = megc_table(videos)
    assert t.loc["micro", ["tp", "fp", "fn"]].tolist() == [1, 1, 1]
    assert t.loc["macro", ["tp", "fp", "fn"]].tolist() == [1, 1, 0]
    assert t.loc["overall", ["tp", "fp", "fn"]].tolist() == [2, 2, 1]
    assert t.loc["overall", "f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_expression_type_by_length_and_apex() -> None:
    kinds = expression_type([[0, 14], [0, 15], [0, 99]], 30.0)
    assert kinds.tolist() == ["micro", "macro", "macro"]  # 15 frames = 0.5 s is still micro; 16 are not
    k3 = expression_type([[0, 10], [0, 10]], 30.0, apex=[5, 9], micro_apex_max_s=0.25)
    assert k3.tolist() == ["micro", "macro"]


def test_strs_on_the_str_scripts_example() -> None:
    from mefast.spotting import strs

    rows = [  # (subject, video, predicted onset, offset, emotion, annotated onset, offset, emotion): spec 5d, S4
        (1, "EP02_01f", 10, 70, "hap", 45, 85, "hap"),
        (1, "EP03_02", 100, 170, "oth", 130, 160, "oth"),
        (1, "EP04_02", 0, 70, "oth", 20, 75, "oth"),
        (2, "EP01_11f", 20, 90, "hap", 45, 95, "rep"),
        (2, "EP02_04f", 70, 140, "hap", 30, 140, "rep"),
    ]
    pred = [{"video": f"{s}/{v}", "onset": a, "offset": b, "emotion": e} for s, v, a, b, e, *_ in rows]
    gt = [{"video": f"{s}/{v}", "onset": a, "offset": b, "emotion": e} for s, v, *_, a, b, e in rows]
    r = strs(pred, gt)
    assert (r["tp"], r["fp"], r["fn"]) == (3, 2, 2)
    assert r["f1_spot"] == pytest.approx(0.6, abs=1e-12)
    assert r["f1_a"] == pytest.approx(1 / 3, abs=1e-12)
    assert r["strs"] == pytest.approx(0.2, abs=1e-12)


def test_strs_scores_only_pairs_whose_annotated_emotion_is_a_class() -> None:
    """Spec 5d: a matched pair annotated 'oth', outside the classes, is spotted but not scored for recognition
    (counted, it would be a false positive of 'hap' and halve hap's precision)."""
    from mefast.spotting import strs

    pred = [
        {"video": "v", "onset": 0, "offset": 9, "emotion": "hap"},
        {"video": "v", "onset": 20, "offset": 29, "emotion": "hap"},
    ]
    gt = [
        {"video": "v", "onset": 0, "offset": 9, "emotion": "hap"},
        {"video": "v", "onset": 20, "offset": 29, "emotion": "oth"},
    ]
    r = strs(pred, gt, classes=["hap", "rep"])
    assert (r["tp"], r["fp"], r["fn"]) == (2, 0, 0)
    assert (r["precision_a"], r["recall_a"], r["f1_a"]) == (0.5, 0.5, 0.5)  # hap 1/1, rep 0/0 -> 0
    assert strs(pred, gt)["precision_a"] == pytest.approx((0.5 + 0.0) / 2)  # default classes: oth scored too


def test_strs_matches_per_subject_and_video_when_both_name_the_subject() -> None:
    """The same clip name under two subjects is two videos: subject 1's prediction must not take subject 2's
    annotation."""
    from mefast.spotting import strs

    pred = [{"subject": 1, "video": "EP02_01f", "onset": 100, "offset": 109, "emotion": "hap"}]
    gt = [
        {"subject": 1, "video": "EP02_01f", "onset": 0, "offset": 9, "emotion": "hap"},
        {"subject": 2, "video": "EP02_01f", "onset": 100, "offset": 109, "emotion": "hap"},
    ]
    r = strs(pred, gt)
    assert (r["tp"], r["fp"], r["fn"]) == (0, 1, 2)
    assert r["strs"] == 0.0
    without = strs([{k: v for k, v in x.items() if k != "subject"} for x in pred], gt)
    assert (without["tp"], without["fp"], without["fn"]) == (1, 0, 1)  # no subject on one side: by video


def test_megc_table_counts_annotations_and_predictions_as_given() -> None:
    """Under megc2020_log two predictions can both hit one annotation (tp 2): n_gt stays 1, n_pred 2."""
    t = megc_table([([[0, 9], [1, 10]], None, [[0, 9]], None)], rule="megc2020_log")
    assert t.loc["micro", ["n_gt", "n_pred", "tp", "fp", "fn"]].tolist() == [1, 2, 2, 0, 0]
    g = megc_table([([[0, 9], [1, 10]], [[0, 50]], [[0, 9]], [])])
    assert g.loc["micro", ["n_gt", "n_pred", "tp", "fp", "fn"]].tolist() == [1, 2, 1, 1, 0]
    assert g.loc["overall", ["n_gt", "n_pred"]].tolist() == [1, 3]


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        ((-1, 0, 0), r"^tp must be an integer >= 0, got -1$"),  # gave (1.0, 1.0, 1.0)
        ((1.5, 0, 0), r"^tp must be an integer >= 0, got 1\.5$"),
        ((2, -3, 0), r"^fp must be an integer >= 0, got -3$"),
        ((2, 0, "1"), r"^fn must be an integer >= 0, got '1'$"),
        ((True, 0, 0), r"^tp must be an integer >= 0, got True$"),
        ((2, 0, None), r"^fn must be an integer >= 0, got None$"),
    ],
)
def test_prf_takes_counts_only(counts, match):
    """Review repro_peaks.py: prf(-1, 0, 0) returned (1.0, 1.0, 1.0); 1.5 true positives were accepted."""
    from mefast.spotting import prf

    with pytest.raises(ValueError, match=match):
        prf(*counts)


def test_prf_of_numpy_counts():
    from mefast.spotting import prf

    assert prf(np.int64(3), np.int32(1), np.uint8(2)) == prf(3, 1, 2) == pytest.approx((0.75, 0.6, 2 / 3))
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
