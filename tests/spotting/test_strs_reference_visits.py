"""strs(rule="strs_reference") visits what the STRS-Metric script [Q] visits (spec 5d): only the subjects with
predictions and, of those, only the videos with ground truth. The default rule counts every video (spec 7).

Review finding (strs_visit.py): mefast counted every (subject, video) under every rule, tp/fp/fn 1/1/1 and
F1 0.5 where [Q] gives 1/0/0 and F1 1.0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mefast.spotting import strs

COLS = ["subject", "video", "onset", "offset", "emotion"]


def _reviewer_example() -> tuple[pd.DataFrame, pd.DataFrame]:
    pred = pd.DataFrame([(1, "a", 0, 70, "oth"), (1, "x", 0, 20, "oth")], columns=COLS)  # video x has no GT
    gt = pd.DataFrame([(1, "a", 20, 75, "oth"), (2, "b", 10, 40, "hap")], columns=COLS)  # subject 2: no prediction
    return pred, gt


def _q_visits(pred: pd.DataFrame, gt: pd.DataFrame) -> tuple[int, int, int]:
    """[Q]'s loops written out: subjects of the predictions, then the videos of that subject's ground truth;
    per video, predictions in order, each taking every still free ground truth it reaches (IoU >= 0.5)."""
    tp = fp = fn = 0
    for subject in pred["subject"].unique():
        for video in gt[gt["subject"] == subject]["video"].unique():
            pv = pred[(pred["subject"] == subject) & (pred["video"] == video)]
            gv = gt[(gt["subject"] == subject) & (gt["video"] == video)]
            taken: set[int] = set()
            for _, p in pv.iterrows():
                hit = False
                for j, g in gv.iterrows():
                    a, b = set(range(p.onset, p.offset + 1)), set(range(g.onset, g.offset + 1))
                    if len(a & b) / len(a | b) >= 0.5 and j not in taken:
                        taken.add(j)
                        hit = True
                        tp += 1
                fp += not hit
            fn += len(gv) - len(taken)
    return tp, fp, fn


def test_reference_rule_visits_as_the_strs_script() -> None:
    pred, gt = _reviewer_example()
    assert _q_visits(pred, gt) == (1, 0, 0)
    r = strs(pred, gt, rule="strs_reference")
    assert (r["tp"], r["fp"], r["fn"]) == (1, 0, 0)
    assert r["f1_spot"] == 1.0


def test_default_rule_still_counts_every_video() -> None:
    """Spec 7: the prediction in video x is a false positive, subject 2's annotation a false negative."""
    pred, gt = _reviewer_example()
    r = strs(pred, gt)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 1, 1)
    assert r["f1_spot"] == pytest.approx(0.5)


def _random_rows(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for _ in range(rng.integers(0, 6)):
        on = int(rng.integers(0, 60))
        rows.append(
            (int(rng.integers(1, 4)), str(rng.choice(["a", "b", "c"])), on, on + int(rng.integers(5, 30)), "hap")
        )
    return pd.DataFrame(rows, columns=COLS)


def test_reference_rule_on_random_records_equals_the_script_loops() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        pred, gt = _random_rows(rng), _random_rows(rng)
        r = strs(pred, gt, rule="strs_reference")
        assert (r["tp"], r["fp"], r["fn"]) == _q_visits(pred, gt), (pred, gt)


def test_reference_rule_without_subjects_visits_the_videos_with_ground_truth() -> None:
    """No subject column on one side: one implicit subject, visited when there is any prediction."""
    pred, gt = _reviewer_example()
    r = strs(pred.drop(columns="subject"), gt.drop(columns="subject"), rule="strs_reference")
    assert (r["tp"], r["fp"], r["fn"]) == (1, 0, 1)  # video x skipped; b has ground truth and is visited
    none = strs(pred.iloc[:0].drop(columns="subject"), gt.drop(columns="subject"), rule="strs_reference")
    assert (none["tp"], none["fp"], none["fn"]) == (0, 0, 0)  # no prediction: no subject is visited
