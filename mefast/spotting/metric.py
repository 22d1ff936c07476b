"""The MEGC spotting evaluation: interval IoU, one-to-one matching, TP/FP/FN, precision, recall and F1.

Intervals are ``[onset, offset]`` frame indices, inclusive (spec 0). The IoU of two intervals is computed on
their inclusive frame sets: ``|P ∩ G| / |P ∪ G|``. A prediction is a true positive when it is matched to a
ground truth with IoU >= ``iou``; each ground truth is matched at most once; unmatched predictions are false
positives and unmatched ground truths false negatives. Counts are pooled over videos before P, R and F1 are
computed (MEGC 2020-2025), separately for micro- and macro-expressions and for both together.

Matching rules (``rule=``):

``"greedy"`` (default)
    Predictions in order of decreasing score (ties: earlier onset, then earlier offset, then input order);
    each takes the still unmatched ground truth of highest IoU (ties: the earlier ground truth) if that IoU
    reaches the threshold.
``"strs_reference"``
    The STRS-Metric script's loop: ground truths in order, every prediction tried (no break), a ground truth is
    matched by the first prediction reaching the threshold, and one prediction may take two ground truths;
    predictions that matched nothing are false positives. In :func:`strs` it also visits only the script's
    videos: those with ground truth, of the subjects with predictions.
``"megc2020_log"``
    The MEGC2020 baseline's log: a prediction is a TP when any ground truth reaches the threshold (the same
    ground truth may be counted twice); FN = number of ground truths - TP, floored at 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .._validation import check_int
from ..errors import ShapeError

__all__ = [
    "CORPUS_SPOTTING",
    "MatchResult",
    "SpottingCorpus",
    "expression_type",
    "interval_iou",
    "match_intervals",
    "megc_table",
    "prf",
    "strs",
]

Rule = Literal["greedy", "strs_reference", "megc2020_log"]
_RULES = ("greedy", "strs_reference", "megc2020_log")


@dataclass(frozen=True)
class SpottingCorpus:
    """Frame rate and expression-length limits of a long-video corpus (spec 5c).

    Attributes
    ----------
    fps : float
        Capture rate.
    micro_max_s : float
        Longest micro-expression, seconds (0.5 s for every corpus).
    micro_apex_max_s : float or None
        CAS(ME)^3 also requires apex - onset <= 0.25 s for a micro-expression.
    """

    fps: float
    micro_max_s: float = 0.5
    micro_apex_max_s: float | None = None

    @property
    def micro_max_frames(self) -> int:
        """Longest micro-expression in frames (``offset - onset + 1 <= this``)."""
        return int(np.floor(self.micro_max_s * self.fps + 1e-9))


#: Long-video corpora of the MEGC spotting protocol (names of :func:`mefast.datasets.load_long`).
CORPUS_SPOTTING: dict[str, SpottingCorpus] = {
    "casme2lv": SpottingCorpus(30.0),  # CAS(ME)^2 raw long videos
    "samm_lv": SpottingCorpus(200.0),
    "casme3a": SpottingCorpus(30.0, micro_apex_max_s=0.25),
}


def _as_intervals(x: ArrayLike | None, name: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """``(n, 2)`` int64 intervals and ``(n,)`` scores (ones when none) from rows of (onset, offset[, score])."""
    if x is None:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    if a.ndim == 1 and a.shape[0] in (2, 3):
        a = a[None]
    if a.ndim != 2 or a.shape[1] not in (2, 3):
        raise ShapeError(f"{name} must be rows of (onset, offset) or (onset, offset, score), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ShapeError(f"{name} contains NaN or infinity")
    iv = a[:, :2]
    if (iv != np.round(iv)).any():
        raise ShapeError(f"{name}: onsets and offsets must be whole frame numbers")
    iv = iv.astype(np.int64)
    bad = np.flatnonzero(iv[:, 1] < iv[:, 0])
    if bad.size:
        raise ShapeError(f"{name}: row {int(bad[0])} has offset {iv[bad[0], 1]} before onset {iv[bad[0], 0]}")
    score = a[:, 2] if a.shape[1] == 3 else np.ones(len(a))
    return iv.astype(np.int64), score.astype(np.float64)


def interval_iou(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """IoU of inclusive frame intervals: every row of ``a`` against every row of ``b``.

    Parameters
    ----------
    a, b : array_like of shape (n, 2) and (m, 2)
        Rows ``(onset, offset)``, inclusive (extra columns such as a score are ignored).

    Returns
    -------
    iou : ndarray of shape (n, m), float64

    Examples
    --------
    >>> interval_iou([[10, 19]], [[15, 24], [12, 21], [20, 29]]).round(4).tolist()
    [[0.3333, 0.6667, 0.0]]
    """
    pa, _ = _as_intervals(a, "a")
    pb, _ = _as_intervals(b, "b")
    lo = np.maximum(pa[:, None, 0], pb[None, :, 0])
    hi = np.minimum(pa[:, None, 1], pb[None, :, 1])
    inter = np.clip(hi - lo + 1, 0, None).astype(np.float64)
    la = (pa[:, 1] - pa[:, 0] + 1).astype(np.float64)
    lb = (pb[:, 1] - pb[:, 0] + 1).astype(np.float64)
    return inter / (la[:, None] + lb[None, :] - inter)


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts (0/0 gives 0).

    ``tp``, ``fp`` and ``fn`` are counts: integers (Python or NumPy) >= 0; anything else raises ``ValueError``.
    """
    tp = check_int(tp, "tp", minimum=0)
    fp = check_int(fp, "fp", minimum=0)
    fn = check_int(fn, "fn", minimum=0)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


@dataclass(frozen=True)
class MatchResult:
    """Counts and scores of one matching.

    Attributes
    ----------
    tp, fp, fn : int
    precision, recall, f1 : float
        0 where undefined (no predictions, no ground truth).
    pairs : ndarray of shape (tp, 2), int64
        ``(prediction row, ground-truth row)`` of every true positive (rule ``megc2020_log``: the best ground
        truth of each TP prediction).
    """

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    pairs: NDArray[np.int64]

    def __add__(self, other: MatchResult) -> MatchResult:
        tp, fp, fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        return MatchResult(tp, fp, fn, *prf(tp, fp, fn), np.zeros((0, 2), np.int64))


def match_intervals(
    predicted: ArrayLike | None, truth: ArrayLike | None, iou: float = 0.5, *, rule: Rule = "greedy"
) -> MatchResult:
    """Match spotted intervals of one video to its ground truth (MEGC: IoU >= 0.5, each GT at most once).

    Parameters
    ----------
    predicted : array_like of shape (n, 2) or (n, 3)
        Rows ``(onset, offset)`` or ``(onset, offset, score)``, inclusive frames; None or empty for none.
    truth : array_like of shape (m, 2)
        Ground-truth rows ``(onset, offset)`` (a third column is ignored).
    iou : float
        Threshold in (0, 1]; a pair counts when IoU >= ``iou``.
    rule : {"greedy", "strs_reference", "megc2020_log"}
        See the module docstring.

    Returns
    -------
    MatchResult

    Raises
    ------
    ShapeError
        Rows that are not intervals (offset before onset, non-integer frames, NaN).
    ValueError
        ``iou`` outside (0, 1] or an unknown rule.

    Examples
    --------
    >>> r = match_intervals([[3, 12, 0.9], [0, 9, 0.8]], [[0, 9], [5, 14]])
    >>> r.tp, r.fp, r.fn, r.f1
    (2, 0, 0, 1.0)
    """
    if not 0 < float(iou) <= 1:
        raise ValueError(f"iou must be in (0, 1], got {iou}")
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}, got {rule!r}")
    pred, score = _as_intervals(predicted, "predicted")
    gt, _ = _as_intervals(truth, "truth")
    n, m = len(pred), len(gt)
    ov = interval_iou(pred, gt) if n and m else np.zeros((n, m))
    hit = ov >= float(iou) - 1e-12
    pairs: list[tuple[int, int]] = []
    if rule == "greedy":
        order = np.lexsort((np.arange(n), pred[:, 1], pred[:, 0], -score))
        free = np.ones(m, bool)
        for i in order:
            cand = np.flatnonzero(hit[i] & free)
            if cand.size:
                j = int(cand[np.argmax(ov[i, cand])])  # argmax takes the first (earliest GT) of equal IoUs
                free[j] = False
                pairs.append((int(i), j))
        tp = len(pairs)
        fp, fn = n - tp, m - tp
    elif rule == "strs_reference":
        used = np.zeros(n, bool)
        for j in range(m):
            matched = False
            for i in range(n):
                if hit[i, j] and not matched:
                    matched = True
                    used[i] = True
                    pairs.append((i, j))
        tp = len(pairs)
        fp, fn = int((~used).sum()), m - tp
    else:  # megc2020_log
        for i in range(n):
            if hit[i].any():
                pairs.append((i, int(np.argmax(ov[i]))))
        tp = len(pairs)
        fp, fn = n - tp, max(m - tp, 0)
    arr = np.asarray(pairs, np.int64).reshape(-1, 2)
    return MatchResult(tp, fp, fn, *prf(tp, fp, fn), arr)


def expression_type(
    intervals: ArrayLike,
    fps: float,
    *,
    micro_max_s: float = 0.5,
    apex: ArrayLike | None = None,
    micro_apex_max_s: float | None = None,
) -> NDArray[np.str_]:
    """``"micro"`` or ``"macro"`` for each interval by its length (spec 5c: ME <= 0.5 s).

    Parameters
    ----------
    intervals : array_like of shape (n, 2) or (n, 3)
    fps : float
        Frame rate of the video.
    micro_max_s : float
        Longest micro-expression in seconds: ``(offset - onset + 1) / fps <= micro_max_s``.
    apex : array_like of shape (n,), optional
        Apex frames; with ``micro_apex_max_s`` (CAS(ME)^3: 0.25 s) a micro-expression also needs
        ``(apex - onset) / fps <= micro_apex_max_s``.
    micro_apex_max_s : float, optional
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    iv, _ = _as_intervals(intervals, "intervals")
    length = (iv[:, 1] - iv[:, 0] + 1) / float(fps)
    micro = length <= micro_max_s + 1e-9
    if apex is not None and micro_apex_max_s is not None:
        ap = np.asarray(apex, np.float64).reshape(-1)
        micro &= (ap - iv[:, 0]) / float(fps) <= micro_apex_max_s + 1e-9
    return np.where(micro, "micro", "macro")


def megc_table(
    videos: Iterable[tuple[ArrayLike | None, ArrayLike | None, ArrayLike | None, ArrayLike | None]]
    | Mapping[str, tuple[ArrayLike | None, ArrayLike | None, ArrayLike | None, ArrayLike | None]],
    *,
    iou: float = 0.5,
    rule: Rule = "greedy",
) -> pd.DataFrame:
    """The MEGC spotting table: counts pooled over all videos, per expression type and overall.

    Parameters
    ----------
    videos : iterable or mapping of (micro_pred, macro_pred, micro_gt, macro_gt)
        Per video, the spotted and annotated intervals of each type (predictions typed by label or by
        :func:`expression_type`). A mapping's keys (video ids) are ignored.
    iou : float
    rule : str
        See :func:`match_intervals`.

    Returns
    -------
    table : DataFrame
        Index ``["micro", "macro", "overall"]``, columns ``n_gt, n_pred, tp, fp, fn, precision, recall, f1``;
        ``overall`` pools the two types' counts (a prediction matches only annotations of its own type).
    """
    items: Sequence = list(videos.values()) if isinstance(videos, Mapping) else list(videos)
    # tp, fp, fn, and the numbers of annotations and predictions, counted as given: under rule="megc2020_log"
    # several predictions can hit one annotation, and under "strs_reference" one prediction two, so tp + fn
    # and tp + fp need not be them.
    total = {"micro": [0, 0, 0, 0, 0], "macro": [0, 0, 0, 0, 0]}
    for k, item in enumerate(items):
        if len(item) != 4:
            raise ValueError(f"video {k}: expected (micro_pred, macro_pred, micro_gt, macro_gt), got {len(item)} items")
        mp, Mp, mg, Mg = item
        for kind, p, g in (("micro", mp, mg), ("macro", Mp, Mg)):
            m = match_intervals(p, g, iou, rule=rule)
            c = total[kind]
            c[0] += m.tp
            c[1] += m.fp
            c[2] += m.fn
            c[3] += len(_as_intervals(g, "truth")[0])
            c[4] += len(_as_intervals(p, "predicted")[0])
    rows = {}
    for kind in ("micro", "macro", "overall"):
        tp, fp, fn, n_gt, n_pred = (
            [total["micro"][i] + total["macro"][i] for i in range(5)] if kind == "overall" else total[kind]
        )
        p, r, f = prf(tp, fp, fn)
        rows[kind] = {
            "n_gt": n_gt,
            "n_pred": n_pred,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": p,
            "recall": r,
            "f1": f,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    return table.astype({c: "int64" for c in ("n_gt", "n_pred", "tp", "fp", "fn")})


def strs(
    predicted: pd.DataFrame | Sequence[Mapping],
    truth: pd.DataFrame | Sequence[Mapping],
    *,
    iou: float = 0.5,
    classes: Sequence[str] | None = None,
    rule: Rule = "greedy",
) -> dict[str, float]:
    """The spot-then-recognise score of MEGC's STR task (Liong et al. 2023; spec 5d).

    Parameters
    ----------
    predicted, truth : DataFrame or records
        Columns ``video``, ``onset``, ``offset``, ``emotion`` (predicted also ``score``, optional), and
        ``subject``, optional. Intervals are matched per video with :func:`match_intervals`; when both have a
        ``subject`` column, per (subject, video), as STRS-Metric's records (clip names such as CASME II's
        ``EP02_01f`` repeat across subjects).
    iou : float
    classes : sequence of str, optional
        The emotion classes; default: every emotion of ``truth`` and of the matched predictions. Only matched
        pairs whose annotated emotion is one of them are scored for recognition (spec 5d; MEGC's STR task
        leaves "others" out this way); every pair counts for spotting.
    rule : str
        See :func:`match_intervals`. Under ``"strs_reference"`` the videos visited are also the STRS-Metric
        script's (spec 5d, compat only): only the subjects with predictions and, of those, the videos with
        ground truth, so a prediction in a video without annotations is no false positive and the annotations
        of a subject without predictions are no false negatives (without a ``subject`` column: the videos with
        ground truth, when there is any prediction). The other rules count every video (spec 7).

    Returns
    -------
    dict
        ``tp, fp, fn, f1_spot`` (spotting, pooled), ``precision_a, recall_a`` (class means over the matched pairs,
        0/0 counted as 0), ``f1_a = 2 P R / (P + R)``, ``uf1`` (mean class F1), ``uar`` (mean class recall) and
        ``strs = f1_spot * f1_a``.

    Examples
    --------
    >>> pred = [{"video": "a", "onset": 0, "offset": 70, "emotion": "oth"}]
    >>> gt = [{"video": "a", "onset": 20, "offset": 75, "emotion": "oth"}]
    >>> strs(pred, gt)["strs"]
    1.0
    """
    p = pd.DataFrame(predicted)
    g = pd.DataFrame(truth)
    for name, df in (("predicted", p), ("truth", g)):
        missing = [c for c in ("video", "onset", "offset", "emotion") if len(df) and c not in df.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    keys = ["subject", "video"] if "subject" in p.columns and "subject" in g.columns else ["video"]
    tp = fp = fn = 0
    true_e: list[str] = []
    pred_e: list[str] = []
    by_p = {k: d for k, d in p.groupby(keys, sort=False, dropna=False)} if len(p) else {}
    by_g = {k: d for k, d in g.groupby(keys, sort=False, dropna=False)} if len(g) else {}
    if rule == "strs_reference":
        # [Q] loops over the predictions' subjects, then over the videos of that subject's ground truth: a video
        # without ground truth and a subject without predictions are never visited (compat only, spec 5d).
        if keys[0] == "subject":
            with_pred = {k[0] for k in by_p}
            visit = {v for v in by_g if v[0] in with_pred}
        else:  # no subjects: one, visited when it has a prediction
            visit = set(by_g) if by_p else set()
    else:
        visit = set(by_p) | set(by_g)
    for v in sorted(visit, key=lambda k: tuple(map(str, k))):
        pv = by_p.get(v, p.iloc[:0])
        gv = by_g.get(v, g.iloc[:0])
        cols = ["onset", "offset", "score"] if "score" in pv.columns else ["onset", "offset"]
        m = match_intervals(pv[cols].to_numpy() if len(pv) else None, gv[["onset", "offset"]].to_numpy()
                            if len(gv) else None, iou, rule=rule)  # fmt: skip
        tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        for i, j in m.pairs.tolist():
            pred_e.append(str(pv["emotion"].iloc[i]))
            true_e.append(str(gv["emotion"].iloc[j]))
    f1_spot = prf(tp, fp, fn)[2]
    cls = (
        list(classes)
        if classes is not None
        else sorted(set(true_e) | set(pred_e) | set(map(str, g.get("emotion", []))))
    )
    t, q = np.asarray(true_e, object), np.asarray(pred_e, object)
    scored = np.isin(t, np.asarray(cls, object))
    t, q = t[scored], q[scored]
    ps, rs, fs = [], [], []
    for c in cls:
        pc, rc, fc = prf(
            int(((t == c) & (q == c)).sum()), int(((t != c) & (q == c)).sum()), int(((t == c) & (q != c)).sum())
        )
        ps.append(pc)
        rs.append(rc)
        fs.append(fc)
    pbar = float(np.mean(ps)) if cls else 0.0
    rbar = float(np.mean(rs)) if cls else 0.0
    f1_a = 2 * pbar * rbar / (pbar + rbar) if pbar + rbar else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "f1_spot": f1_spot,
        "precision_a": pbar,
        "recall_a": rbar,
        "f1_a": f1_a,
        "uf1": float(np.mean(fs)) if cls else 0.0,
        "uar": rbar,
        "strs": f1_spot * f1_a,
    }
