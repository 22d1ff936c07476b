"""Spotting end to end: long recordings -> per-recording feature store -> spotted intervals -> MEGC table.

* :func:`preprocess_recordings` runs the chunked feature pass over every recording of a
  :class:`~mefast.datasets.long_videos.Recordings` and writes it to a :class:`~mefast.store.RecordingStore`
  (one array per recording and feature), resumable like the clip store, on joblib or Dask.
* :func:`spot_store` spots every recording (micro- and macro-expressions with their own windows); SOFTNet is
  trained leave-one-subject-out (each subject's recordings are spotted by a model that never saw its labels).
* :func:`evaluate_spotting` gives the MEGC table (IoU >= 0.5, counts pooled over all videos, micro, macro,
  overall) and, with ``recognise=True``, spot-then-recognise next to recognition on the annotated intervals.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._features import FeatureOptions, default_lags, feature_shapes, iter_features
from ._spot import DEFAULT_P, SPOT_METHODS, spot_features
from .metric import match_intervals, megc_table, prf, strs

__all__ = [
    "SpottingResult",
    "evaluate_spotting",
    "preprocess_recordings",
    "recognise",
    "recording_options",
    "spot_store",
]

log = logging.getLogger(__name__)
KINDS = ("micro", "macro")


def recording_options(fps: float, **kw: Any) -> FeatureOptions:
    """The feature pass's default for a corpus: micro and macro windows at ``fps``, every feature (``kw`` overrides)."""
    lags = tuple(sorted(set(default_lags(fps).values())))
    kw.setdefault("features", ("lbp", "uv", "mag", "strain", "mdmd", "softnet"))
    return FeatureOptions(lags=lags, **kw)


def _run_recording(args: tuple[Any, int, Any, FeatureOptions]) -> tuple[int, str | None]:
    """One job: feature pass of recording ``i`` written chunk by chunk, then marked done."""
    recordings, i, path, opts = args
    from ..store import RecordingStore

    try:
        st = RecordingStore.open(path, "r+")
        for chunk in iter_features(recordings.iter_frames(i), opts, landmarks="auto"):
            st.write(i, chunk.start, chunk.arrays)
        st.mark_done(i)
        return i, None
    except Exception as e:  # noqa: BLE001 - reported per recording, the run goes on
        return i, f"{type(e).__name__}: {e}"


def preprocess_recordings(
    recordings: Any,
    path: Any,
    *,
    options: FeatureOptions | None = None,
    backend: Literal["joblib", "dask", "serial"] = "joblib",
    n_jobs: int = 1,
    client: Any = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the spotting features of every recording to a recording store (resumable).

    Parameters
    ----------
    recordings : Recordings
        From :func:`mefast.datasets.long_videos.load_long`.
    path : str, path-like or zarr Store
    options : FeatureOptions, optional
        Default: lags of half a typical micro- (0.3 s) and macro-expression (1 s) at the corpus's frame rate;
        every feature.
    backend : {"joblib", "dask", "serial"}
        One job per recording; ``"dask"`` submits them to ``client`` (a ``distributed.Client``).
    n_jobs : int
        joblib worker processes.
    client : distributed.Client, optional
    overwrite : bool
        Replace an existing store; otherwise a store with the same recordings and options is resumed (finished
        recordings are skipped) and another one is refused (:class:`~mefast.errors.StoreError` naming what
        differs). The flow is compared by its TV-L1 values (:meth:`FeatureOptions.differences`): a store written
        by an older mefast with ``flow="fast"`` resumes with ``flow="per-frame"``, which has those values now.

    Returns
    -------
    report : dict
        ``computed``, ``skipped`` (recording indices) and ``failures`` (index -> reason).
    """
    from ..store import creation_lock

    opts = options or recording_options(recordings.fps)
    attrs = {
        "options": opts.as_dict(),
        "fps": float(recordings.fps),
        "corpus": recordings.name,
        "annotations": [str(p) for p in recordings.annotations],
    }
    ids = recordings.recordings["recording_id"].tolist()
    with contextlib.ExitStack() as held:
        with creation_lock(path):  # until the run lock is held: replacing a store deletes its run lock with it
            st = _open_or_create_recordings(path, recordings, opts, attrs, ids, overwrite)
            held.enter_context(st.lock())
        return _compute_recordings(st, recordings, path, opts, ids, backend, n_jobs, client)


def _open_or_create_recordings(
    path: Any, recordings: Any, opts: FeatureOptions, attrs: dict[str, Any], ids: list[str], overwrite: bool
) -> Any:
    """The recording store at ``path`` to resume, or a new one (see :func:`preprocess_recordings`)."""
    from ..errors import StoreError
    from ..store import MEStore, RecordingStore, creator_alive

    creating = None if overwrite else MEStore.creating(path)
    if creating is not None:  # a creation that did not finish holds nothing to keep: create the store again
        if creator_alive(creating):
            raise StoreError(
                f"{path!s} is being created by another run (process {creating.get('pid')} on {creating.get('host')} "
                f"since {creating.get('since')}); wait for it, or pass overwrite=True if that run is gone"
            )
        overwrite = True
    try:
        st = RecordingStore.open(path, "r+")
    except StoreError:
        st = None
    if st is not None and overwrite:  # never replace a store another run is writing
        with st.lock():
            pass
        st = None
    if st is not None:
        if st.recordings["recording_id"].tolist() != ids:
            raise StoreError(f"the store at {path!s} holds other recordings; use a new store or overwrite")
        differ = opts.differences(st.attrs.get("options") or {})
        if differ:
            raise StoreError(
                f"the store at {path!s} holds features of other options ({'; '.join(differ)}); "
                "resume it with its options, use a new store or overwrite"
            )
    else:
        st = RecordingStore.create(
            path,
            recordings.recordings,
            recordings.intervals,
            arrays=feature_shapes(opts),
            attrs=attrs,
            overwrite=overwrite,
        )
    return st


def _compute_recordings(
    st: Any, recordings: Any, path: Any, opts: FeatureOptions, ids: list[str], backend: str, n_jobs: int, client: Any
) -> dict[str, Any]:
    """Compute the recordings of ``st`` not done yet, holding its run lock (see :func:`preprocess_recordings`)."""
    todo = [i for i, d in enumerate(st.done) if not d]
    jobs = [(recordings, i, path, opts) for i in todo]
    if backend == "dask":
        if client is None:
            raise ValueError("backend='dask' needs client= (a distributed.Client)")
        results = client.gather(client.map(_run_recording, jobs, pure=False))
    elif backend == "joblib" and n_jobs > 1 and len(jobs) > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(_run_recording)(j) for j in jobs)
    elif backend in ("joblib", "serial"):
        results = [_run_recording(j) for j in jobs]
    else:
        raise ValueError(f"backend must be 'joblib', 'dask' or 'serial', got {backend!r}")
    failures = {ids[i]: why for i, why in results if why is not None}
    for rid, why in failures.items():
        log.warning("recording %s failed: %s", rid, why)
    return {
        "computed": [ids[i] for i, why in results if why is None],
        "skipped": len(ids) - len(todo),
        "failures": failures,
    }


def _features_of(st: Any, i: int, names: Sequence[str]) -> dict[str, NDArray[np.float32]]:
    return {n: st.read(i, n) for n in names if n in st.features}


def spot_store(
    store: Any,
    method: str = "mdmd",
    *,
    kinds: Sequence[str] = KINDS,
    p: float | None = None,
    protocol: Literal["loso"] = "loso",
    softnet: Any = None,
) -> pd.DataFrame:
    """Spot every recording of a recording store.

    Parameters
    ----------
    store : RecordingStore or path
    method : {"mdmd", "fd", "strain", "softnet"}
    kinds : sequence of {"micro", "macro"}
        Each kind is spotted with its own window ``k`` (the store's lags for 0.3 s and 1 s).
    p : float, optional
        Threshold position (default per method).
    protocol : {"loso"}
        SOFTNet is trained leave-one-subject-out; the baselines need no training.
    softnet : SoftnetConfig, optional

    Returns
    -------
    predictions : DataFrame
        ``recording, recording_id, subject, kind, onset, offset, score``.
    """
    from ..store import RecordingStore

    st = store if isinstance(store, RecordingStore) else RecordingStore.open(store)
    if method not in SPOT_METHODS:
        raise ValueError(f"method must be one of {SPOT_METHODS}, got {method!r}")
    if protocol != "loso":
        raise ValueError(f"protocol must be 'loso', got {protocol!r}")
    done = st.done
    if not done.all():
        missing = st.recordings["recording_id"][~done].tolist()[:5]
        raise ValueError(f"recordings {missing} are not preprocessed (run preprocess_recordings again)")
    recs = st.recordings
    fps = float(st.attrs["fps"])
    lags = default_lags(fps)
    rows = []
    for kind in kinds:
        k = lags[kind]
        if method == "softnet":
            from ..train.softnet import SoftnetConfig, softnet_loso

            ivs = st.intervals
            truths = [
                ivs[(ivs["recording"] == i) & (ivs["kind"] == kind)][["onset", "offset"]].to_numpy()
                for i in range(len(st))
            ]
            cfg = softnet or SoftnetConfig(p=DEFAULT_P["softnet"] if p is None else p)
            preds = softnet_loso(
                recs["subject"].astype(str).tolist(),
                [st.read(i, f"softnet{k}") for i in range(len(st))],
                truths,
                k,
                cfg,
            )
        else:
            need = {"fd": ["lbp"], "mdmd": [f"mdmd{k}"], "strain": [f"strain{k}"]}[method]
            preds = [spot_features(_features_of(st, i, need), method=method, k=k, p=p) for i in range(len(st))]
        for i, pr in enumerate(preds):
            for on, off, sc in pr:
                rows.append(
                    {
                        "recording": i,
                        "recording_id": recs["recording_id"].iloc[i],
                        "subject": str(recs["subject"].iloc[i]),
                        "kind": kind,
                        "onset": int(on),
                        "offset": int(off),
                        "score": float(sc),
                    }
                )
    return pd.DataFrame(rows, columns=["recording", "recording_id", "subject", "kind", "onset", "offset", "score"])


@dataclass
class SpottingResult:
    """What :func:`evaluate_spotting` returns."""

    table: pd.DataFrame  # MEGC table: micro, macro, overall
    predictions: pd.DataFrame
    method: str
    recognition: pd.DataFrame | None = None  # spot-then-recognise next to annotated intervals
    details: dict[str, Any] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """The tables as markdown (F1 to 4 decimals)."""
        out = [
            f"Spotting ({self.method}), IoU >= 0.5, counts pooled over all recordings:",
            "",
            self.table.round(4).to_markdown(),
        ]
        if self.recognition is not None:
            out += [
                "",
                "Recognition (SVM, LOSO) on annotated vs spotted intervals (a missed expression is wrong):",
                "",
                self.recognition.round(4).to_markdown(index=False),
            ]
        return "\n".join(out)


def _per_video(st: Any, pred: pd.DataFrame, kinds: Sequence[str]) -> list[tuple]:
    ivs = st.intervals
    videos = []
    for i in range(len(st)):
        item = []
        for kind in KINDS:
            sel = pred[(pred["recording"] == i) & (pred["kind"] == kind)]
            item.append(sel[["onset", "offset", "score"]].to_numpy() if kind in kinds else None)
        for kind in KINDS:
            g = ivs[(ivs["recording"] == i) & (ivs["kind"] == kind)]
            item.append(g[["onset", "offset"]].to_numpy() if kind in kinds else None)
        videos.append(tuple(item))
    return videos


def evaluate_spotting(
    store: Any,
    method: str = "mdmd",
    *,
    protocol: Literal["loso"] = "loso",
    kinds: Sequence[str] = KINDS,
    p: float | None = None,
    iou: float = 0.5,
    rule: str = "greedy",
    recognise: bool = False,
    softnet: Any = None,
    types: Literal["window", "length"] = "window",
) -> SpottingResult:
    """Spot every recording of a store and score it the MEGC way (see the module docstring).

    ``types="window"`` types each prediction by the window that found it (micro: 0.3 s, macro: 1 s);
    ``"length"`` retypes it by its length with the corpus's limits (:data:`~mefast.spotting.metric.CORPUS_SPOTTING`:
    a micro-expression lasts at most 0.5 s), as MEGC does for methods without labels, and then scores every type
    against its annotations whichever ``kinds`` were spotted: a micro-window prediction longer than the limit is
    a macro prediction, a false positive unless it matches a macro-expression (scoring only ``kinds``, it would
    vanish from every row).
    """
    from ..store import RecordingStore
    from .metric import CORPUS_SPOTTING, expression_type

    st = store if isinstance(store, RecordingStore) else RecordingStore.open(store)
    pred = spot_store(st, method, kinds=kinds, p=p, protocol=protocol, softnet=softnet)
    if types == "length" and len(pred):
        limits = CORPUS_SPOTTING.get(str(st.attrs.get("corpus")))
        max_s = limits.micro_max_s if limits else 0.5
        pred["kind"] = expression_type(pred[["onset", "offset"]].to_numpy(), float(st.attrs["fps"]), micro_max_s=max_s)
    elif types not in ("window", "length"):
        raise ValueError(f"types must be 'window' or 'length', got {types!r}")
    scored = KINDS if types == "length" else kinds
    table = megc_table(_per_video(st, pred, scored), iou=iou, rule=rule)  # type: ignore[arg-type]
    rec = recognise_table(st, pred, iou=iou) if recognise else None
    return SpottingResult(table, pred, method, rec)


# ---------------------------------------------------------------------------------------------------- recognition
def _interval_feature(st: Any, cache: dict, i: int, onset: int, offset: int) -> NDArray[np.float64]:
    """A cheap recognition feature of an interval: the block mean flow from its onset over the micro window.

    ``uv{k}`` at the onset (flow onset -> onset + k, about the apex) when the store has it, else the block LBP
    change from the onset to the interval's middle.
    """
    if i not in cache:
        fps = float(st.attrs["fps"])
        k = default_lags(fps)["micro"]
        name = f"uv{k}" if f"uv{k}" in st.features else "lbp"
        cache[i] = (name, st.read(i, name).astype(np.float64))
    name, h = cache[i]
    onset, offset = max(0, onset), min(len(h) - 1, offset)
    if name == "lbp":
        return (h[(onset + offset) // 2] - h[onset]).ravel()
    return np.nan_to_num(h[onset]).ravel()


def _fit_predict(x_train: NDArray, y_train: NDArray, x_test: NDArray, seed: int = 0) -> NDArray:
    """The SVM baseline's recipe of mefast.train (StandardScaler + RBF SVC, C = 28, fitted on the training fold)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if len(x_test) == 0:
        return np.asarray([], dtype=y_train.dtype)
    if len(np.unique(y_train)) < 2:
        return np.full(len(x_test), y_train[0])
    return make_pipeline(StandardScaler(), SVC(C=28.0, random_state=seed)).fit(x_train, y_train).predict(x_test)


def _class_scores(y_true: Any, y_pred: Any, classes: Sequence[str]) -> tuple[float, float, float]:
    """UF1 (mean class F1), UAR (mean class recall), accuracy; a prediction outside ``classes`` is wrong."""
    yt, yp = np.asarray(y_true, object), np.asarray(y_pred, object)
    f1s, recs = [], []
    for c in classes:
        tp = int(((yt == c) & (yp == c)).sum())
        fp = int(((yt != c) & (yp == c)).sum())
        fn = int(((yt == c) & (yp != c)).sum())
        _, r, f = prf(tp, fp, fn)
        f1s.append(f)
        recs.append(r)
    acc = float((yt == yp).mean()) if len(yt) else 0.0
    return float(np.mean(f1s)) if f1s else 0.0, float(np.mean(recs)) if recs else 0.0, acc


def recognise(st: Any, pred: pd.DataFrame, *, kind: str = "micro", iou: float = 0.5) -> dict[str, Any]:
    """Spot-then-recognise for one expression type (LOSO by subject, SVM on the block flow of the onset).

    For each test subject an SVM is fitted on the annotated intervals of the other subjects and predicts (a) the
    subject's annotated intervals and (b) its spotted intervals; a spotted interval matched to an annotation
    (IoU >= ``iou``) is scored against that annotation's emotion, and an annotation no spotted interval matched
    counts as wrong. STRS = spotting F1 x F1 of the recognition on the matched pairs (MEGC STR).
    """
    ivs = st.intervals
    ivs = ivs[ivs["kind"] == kind].reset_index(drop=True)
    recs = st.recordings
    subject_of = recs["subject"].astype(str).to_numpy()
    cache: dict = {}
    x_all = (
        np.stack(
            [_interval_feature(st, cache, int(r.recording), int(r.onset), int(r.offset)) for r in ivs.itertuples()]
        )
        if len(ivs)
        else np.zeros((0, 1))
    )
    y_all = ivs["emotion"].astype(str).to_numpy()
    subj_all = subject_of[ivs["recording"].to_numpy()] if len(ivs) else np.array([], str)
    classes = sorted(set(y_all))
    y_annot = np.empty(len(ivs), object)
    y_spot = np.full(len(ivs), "(missed)", object)
    pred_rows: list[dict] = []
    pk = pred[pred["kind"] == kind]
    for s in sorted(set(subject_of)):
        train = subj_all != s
        test = np.flatnonzero(subj_all == s)
        y_annot[test] = _fit_predict(x_all[train], y_all[train], x_all[test]) if len(test) else []
        for i in np.flatnonzero(subject_of == s):
            p_i = pk[pk["recording"] == i].reset_index(drop=True)
            if not len(p_i):
                continue
            xs = np.stack([_interval_feature(st, cache, int(i), int(r.onset), int(r.offset)) for r in p_i.itertuples()])
            yhat = _fit_predict(x_all[train], y_all[train], xs)  # every spotted interval gets an emotion
            pred_rows += [
                {"video": int(i), "onset": int(r.onset), "offset": int(r.offset), "score": float(r.score), "emotion": e}
                for r, e in zip(p_i.itertuples(), yhat, strict=True)
            ]
            g_idx = np.flatnonzero(ivs["recording"].to_numpy() == i)
            m = match_intervals(
                p_i[["onset", "offset", "score"]].to_numpy(), ivs.loc[g_idx, ["onset", "offset"]].to_numpy(), iou
            )
            for pi, gj in m.pairs.tolist():
                y_spot[g_idx[gj]] = yhat[pi]
    uf1_a, uar_a, acc_a = _class_scores(y_all, y_annot, classes)
    uf1_s, uar_s, acc_s = _class_scores(y_all, y_spot, classes)
    truth_rows = [
        {"video": int(r.recording), "onset": int(r.onset), "offset": int(r.offset), "emotion": str(r.emotion)}
        for r in ivs.itertuples()
    ]
    score = strs(pred_rows, truth_rows, iou=iou, classes=classes)  # the STR task's score, on the same matching
    return {
        "n": len(ivs),
        "spotted": score["tp"],
        "f1_spot": score["f1_spot"],
        "annotated": (uf1_a, uar_a, acc_a),
        "spotted_scores": (uf1_s, uar_s, acc_s),
        "f1_analysis": score["f1_a"],
        "strs": score["strs"],
    }


def recognise_table(
    st: Any, pred: pd.DataFrame, *, iou: float = 0.5, kinds: Sequence[str] = ("micro",)
) -> pd.DataFrame:
    """Recognition on annotated intervals next to spot-then-recognise, one row pair per expression type."""
    rows = []
    for kind in kinds:
        r = recognise(st, pred, kind=kind, iou=iou)
        # annotated intervals find every expression (spotting F1 1, no STRS); spotted ones what the spotter found
        for intervals, found, scores, f1_spot, strs_score in (
            ("annotated", r["n"], r["annotated"], 1.0, float("nan")),
            ("spotted", r["spotted"], r["spotted_scores"], r["f1_spot"], r["strs"]),
        ):
            uf1, uar, accuracy = scores
            rows.append(
                {
                    "kind": kind,
                    "intervals": intervals,
                    "n": r["n"],
                    "found": found,
                    "uf1": uf1,
                    "uar": uar,
                    "accuracy": accuracy,
                    "f1_spot": f1_spot,
                    "strs": strs_score,
                }
            )
    return pd.DataFrame(rows)
