"""Batch preprocessing: every feature of every clip of a dataset into one resumable Zarr store.

One job per sample (read frames, crop and align, compute, write the sample's chunks, mark it done), run by
joblib worker processes on one machine or by a Dask ``distributed`` cluster. This is the only package that
joins the dataset readers, the kernels and the store: ``_jobs`` (the job model), ``_executors`` (joblib, Dask),
``_provenance`` (what a store records and how a resume checks it), ``_features`` (the per-clip computation).

Guarantees
----------
- **Resumable.** A sample's ``done`` marker is written after all of its chunks; a re-run skips done samples
  and computes the rest. A run killed at any moment (even SIGKILL of the whole process group) loses at most
  the samples in flight, and the store completes to the same contents as a clean run. Samples whose
  annotation changed (same sample ids, a corrected apex or label) get the new metadata and are recomputed.
- **Failures stay local.** A sample whose frames are missing or corrupt, whose annotation is inconsistent,
  or whose computation raises, is reported with its ``sample_id`` and the reason, and the run goes on. A
  worker process that dies (segfault, out-of-memory kill) is attributed to the sample it was computing:
  the samples in flight are retried one at a time in a fresh process, and the one that kills its process
  again is reported as failed. Failed samples are not marked done, so the next run retries them.
- **Annotation errors are reported.** The errors found while reading the sheet (``dataset.issues`` of severity
  ``"error"``: a row without a clip, a text onset, a repeated row; what :func:`mefast.datasets.validate` lists
  first) are logged as a warning when the run starts and listed in :attr:`PreprocessReport.annotation_errors`,
  even when every sample computes: the store holds the samples as the reader made them of such rows.
- **One run per store.** ``preprocess`` holds the store's run lock (:meth:`MEStore.lock`) for the whole run;
  a second run on the same store is refused with a clear message. On local stores the lock is released by
  the operating system when its holder dies.
- **No oversubscription.** Each of the ``n_jobs`` worker processes runs the C++ core, OpenCV and Numba with
  ``cpu_count // n_jobs`` threads (at least one); Dask workers run one task per worker thread, each
  single-threaded.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._backend import runs_on
from .._validation import check_int
from ..errors import StoreError
from ..store import MEStore
from ._executors import _cpu_count, _run_dask, _run_joblib
from ._features import ALL_FEATURES, EXTRA_FEATURES, PreprocessOptions, _size, feature_shapes
from ._jobs import _Job, _one_sample_view, _Outcome, _run_serial
from ._magnify_features import MAGNIFY_FEATURES, feature_recipes
from ._provenance import (
    _check_compatible,
    _in_store_order,
    _location,
    _locked,
    _open_or_create,
    _update_annotations,
    _versions,
    _warn_other_versions,
)

__all__ = ["ALL_FEATURES", "PreprocessOptions", "PreprocessReport", "preprocess"]

log = logging.getLogger(__name__)

_DEFAULT_SIZE = (128, 128)


# ---------------------------------------------------------------------------------------------- report
@dataclass
class PreprocessReport:
    """What a :func:`preprocess` run did.

    Attributes
    ----------
    store : str
        Where the store is.
    n_samples : int
        Samples in the store.
    skipped : int
        Samples already done before this run.
    computed : int
        Samples this run completed.
    failures : list of (sample_id, reason)
        Samples this run could not complete (not marked done; the next run retries them).
    seconds : float
        Wall time of the run.
    step_seconds : dict
        Time per step (read, align, each feature, write) summed over the samples this run computed.
    backend : str
    n_jobs : int
    pack_seconds : float
        Time spent writing the store's pack for reading (:meth:`MEStore.pack`) at the end of the run; 0 when
        there was none to write.
    annotation_errors : list of (sample_id, problem, detail)
        The errors recorded while the dataset's annotations were read (its ``issues`` of severity ``"error"``;
        ``sample_id`` is ``""`` for a sheet row that made no sample). The samples computed all the same; each
        error is also in :func:`mefast.datasets.validate`'s report.
    """

    store: str
    n_samples: int
    skipped: int
    computed: int
    failures: list[tuple[str, str]]
    seconds: float
    step_seconds: dict[str, float]
    backend: str
    n_jobs: int
    pack_seconds: float = 0.0
    annotation_errors: list[tuple[str, str, str]] = field(default_factory=list)

    def _run_record(self, started: float, interrupted: bool) -> dict[str, Any]:
        """The run as an entry of the store's ``runs`` attribute (``started``: its ``time.time()``)."""
        return {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "seconds": round(self.seconds, 3),
            "backend": self.backend,
            "n_jobs": self.n_jobs,
            "computed": self.computed,
            "skipped": self.skipped,
            "failed": len(self.failures),
            "annotation_errors": len(self.annotation_errors),
            "interrupted": interrupted,
            "versions": _versions(),  # a resume may run other versions than the store was made with
        }

    @property
    def n_done(self) -> int:
        """Samples done in the store after the run."""
        return self.skipped + self.computed

    @property
    def complete(self) -> bool:
        """Whether every sample of the store is done."""
        return self.n_done == self.n_samples

    def summary(self) -> str:
        """A few lines for people: counts, rate, time per step, failures, errors of the annotations."""
        rate = self.computed / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"store {self.store}: {self.n_done}/{self.n_samples} samples done "
            f"({self.computed} computed, {self.skipped} already done, {len(self.failures)} failed)",
            f"{self.seconds:.1f} s with {self.backend} x{self.n_jobs}, {rate:.2f} clips/s",
        ]
        if self.computed:
            steps = ", ".join(f"{k} {v / self.computed * 1000:.0f}" for k, v in self.step_seconds.items())
            lines.append(f"ms per clip: {steps}")
        if self.pack_seconds:
            lines.append(f"packed for reading in {self.pack_seconds:.1f} s")
        for sid, reason in self.failures:
            lines.append(f"FAILED {sid}: {reason}")
        if self.annotation_errors:
            lines.extend(_annotation_error_lines(self.annotation_errors))
        return "\n".join(lines)


#: How many of the annotation errors the summary and the run's warning spell out.
_ERRORS_SHOWN = 5


def _annotation_errors(dataset: Any) -> list[tuple[str, str, str]]:
    """``(sample_id, problem, detail)`` of the dataset's ``issues`` of severity ``"error"`` (none without issues).

    The problems its reader recorded (:attr:`mefast.datasets.Dataset.issues`), which
    :func:`mefast.datasets.validate` reports first; a dataset of another kind may have no ``issues``.
    """
    issues = getattr(dataset, "issues", None)
    if issues is None or not len(issues) or "severity" not in issues:
        return []
    errors = issues[issues["severity"] == "error"]
    return [(str(e.sample_id), str(e.problem), str(e.detail)) for e in errors.itertuples(index=False)]


def _annotation_error_lines(errors: Sequence[tuple[str, str, str]]) -> list[str]:
    """What the summary and the run's warning say of the annotations' errors: which, and what fixing them takes."""
    n = len(errors)
    shown = [f"{sid}: {detail}" if sid else detail for sid, _, detail in errors[:_ERRORS_SHOWN]]
    more = f"; and {n - _ERRORS_SHOWN} more" if n > _ERRORS_SHOWN else ""
    return [
        f"the annotations have {n} error{'s' if n != 1 else ''}: {'; '.join(shown)}{more} "
        "(see mefast.datasets.validate)",
        "the store holds the samples as read from these rows; a corrected sheet that adds or removes a sample "
        "(a row left out, a repeated row) no longer matches the store: it then needs overwrite=True "
        "(mefast preprocess --overwrite), which recomputes every sample",
    ]


def _feature_names(features: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
    known = ALL_FEATURES + EXTRA_FEATURES + MAGNIFY_FEATURES  # the extra and magnification ones only when asked for
    unknown = sorted(set(features) - set(known))
    if unknown or not features:
        raise ValueError(f"features must be a non-empty subset of {known}, got {tuple(features)}")
    return tuple(f for f in known if f in features)


def preprocess(
    dataset: Any,
    store: Any,
    *,
    features: Sequence[str] | str = ALL_FEATURES,
    size: tuple[int, int] = _DEFAULT_SIZE,
    backend: Literal["joblib", "dask"] = "joblib",
    n_jobs: int | None = None,
    client: Any = None,
    options: PreprocessOptions | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
    force_unlock: bool = False,
    annotations: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    pack: bool = True,
) -> PreprocessReport:
    """Compute features for every sample of a dataset into a Zarr store; resumes an existing store.

    Parameters
    ----------
    dataset : mefast.datasets.Dataset
        The corpus (``mefast.datasets.load(...)``).
    store : str, path-like, zarr Store or MEStore
        Local directory or any fsspec URL zarr accepts (``s3://bucket/casme2.zarr``). An existing store made
        with the same parameters and samples is resumed: done samples are skipped.
    features : sequence of str or str
        Subset of ``("flow", "strain", "lbptop", "biwoof", "mdmo", "frames")`` (or a comma-separated string).
    size : (int, int)
        ``(H, W)`` of the stored flow, strain and frames. Default (128, 128).
    backend : {"joblib", "dask"}
        ``"joblib"``: worker processes on this machine. ``"dask"``: a ``distributed`` cluster, ``client`` or a
        ``LocalCluster`` of ``n_jobs`` single-threaded worker processes started for the run. With a remote
        cluster, the frames and the store must be reachable from the workers (shared file system or URLs).
    n_jobs : int, optional
        Worker processes (joblib, or the LocalCluster); all cores if None. ``n_jobs=1`` with joblib runs in
        this process.
    client : distributed.Client or str, optional
        A Dask client, or a scheduler address to connect to (implies ``backend="dask"``).
    options : PreprocessOptions, optional
        Crop size, alignment, TV-L1 parameters (default preset ``"accurate"`` for the onset -> apex flow,
        ``"per-frame"`` for MDMO's per-frame flows), TIM length and descriptor options.
    overwrite : bool
        Recreate the store from scratch instead of resuming it.
    progress : bool, optional
        Show a progress bar (clips done, rate, ETA) on stderr; by default only when stderr is a terminal.
    force_unlock : bool
        Take over the lock of a non-local store left behind by a crashed run.
    annotations : path or list of paths, optional
        Annotation files whose SHA-256 is recorded in the store's provenance.
    pack : bool
        At the end of a run that was not interrupted, write the store's pack for reading (:meth:`MEStore.pack`:
        the per-sample arrays grouped many samples per chunk, what a training epoch reads fastest) unless a
        current one is there. A run that computes anything drops the pack first, so it never serves old values.

    Returns
    -------
    PreprocessReport
        Counts, failures (sample id and reason), time per step, the errors of the dataset's annotations (logged
        as a warning when the run starts); also recorded in the store's attrs (``failures`` and ``runs``).

    Raises
    ------
    StoreError
        If another run holds the store, or the existing store was made with other parameters or samples.
    """
    feats = _feature_names(features)
    size = _size(size, "size")
    options = options if options is not None else PreprocessOptions()
    if not isinstance(options, PreprocessOptions):
        raise TypeError(f"options must be a PreprocessOptions, got {type(options).__name__}")
    if options.device != "cpu":  # fails before any work without a GPU; records the device that runs, not "auto"
        options = dataclasses.replace(options, device=runs_on(options.device))
    if client is not None:
        backend = "dask"
    if backend not in ("joblib", "dask"):
        raise ValueError(f"backend must be 'joblib' or 'dask', got {backend!r}")
    cpus = _cpu_count()
    if n_jobs is None:
        n_jobs = cpus
    msg = f"n_jobs must be a positive integer or None (all cores), got {n_jobs!r}"
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1, message=msg)
    location = _location(store)
    parallel = backend == "dask" or n_jobs > 1
    if parallel and not isinstance(location, str):
        raise ValueError(
            "worker processes need a store they can open: pass a path or URL, not an in-memory store object "
            "(or use backend='joblib', n_jobs=1)"
        )
    params = {"features": list(feats), "size": list(size), "options": options.to_dict()}
    recipes = feature_recipes(feats, options) if set(feats) & set(MAGNIFY_FEATURES) else {}
    if recipes:  # how each flow / magnified frame was made (frame pair, parameters, magnifier)
        params["recipes"] = recipes
    sheet_errors = _annotation_errors(dataset)
    if sheet_errors:  # before the store is touched: a refusal below may be what these errors lead to
        log.warning("%s", _annotation_error_lines(sheet_errors)[0])
    open_or_create = functools.partial(
        _open_or_create,
        location,
        dataset,
        params,
        lambda: feature_shapes(feats, size, options),
        annotations,
        overwrite=overwrite,
        force_unlock=force_unlock,
    )
    with _locked(location, open_or_create, force_unlock):
        st = MEStore.open(location, "r+")  # re-read under the lock: the store we validate is the one we write
        dataset = _in_store_order(st, dataset)
        _check_compatible(st, dataset, params)
        _update_annotations(st, dataset, annotations)
        st.remove_partial_writes()
        done = st.done
        todo = [i for i in range(len(st)) if not done[i]]
        _warn_other_versions(st, len(todo))
        if todo:
            st.drop_pack()  # before anything is written: a pack never holds values the run replaces
        # the run's counts and times, filled in as the samples complete
        report = PreprocessReport(
            store=str(location if isinstance(location, str) else type(location).__name__),
            n_samples=len(st),
            skipped=len(st) - len(todo),
            computed=0,
            failures=[],
            seconds=0.0,
            step_seconds={},
            backend=backend,
            n_jobs=n_jobs,
            annotation_errors=sheet_errors,
        )
        if backend == "dask":
            n_threads, limit = 1, True
        else:
            n_threads, limit = max(1, cpus // n_jobs), n_jobs > 1
        marker_dir = tempfile.mkdtemp(prefix="mefast-inflight-") if backend == "joblib" and n_jobs > 1 else None
        run = uuid.uuid4().hex  # workers keep the store they open for this run's samples (_jobs._run_store)
        ids = list(map(str, dataset.samples["sample_id"]))
        jobs = []
        for i in todo:
            view, local = _one_sample_view(dataset, i)
            jobs.append(
                _Job(index=i, sample_id=ids[i], dataset=view, local=local, store=location if parallel else st,
                     features=feats, size=size, options=options, n_threads=n_threads, limit_threads=limit,
                     marker_dir=marker_dir, run=run)
            )  # fmt: skip
        started = time.time()
        t0 = time.perf_counter()
        interrupted = True
        try:
            if not jobs:
                outcomes: Iterator[_Outcome] = iter(())
            elif backend == "dask":
                outcomes = _run_dask(jobs, client, n_jobs)
            elif n_jobs == 1:
                outcomes = _run_serial(jobs)
            else:
                outcomes = _run_joblib(jobs, n_jobs, st)
            show = sys.stderr.isatty() if progress is None else bool(progress)
            from tqdm.auto import tqdm

            name = getattr(dataset, "name", "dataset")
            with tqdm(
                total=len(jobs),
                desc=f"preprocess {name}",
                unit="clip",
                disable=not show,
                file=sys.stderr,
                dynamic_ncols=True,
            ) as bar:
                for out in outcomes:
                    if out.reason is None:
                        report.computed += 1
                        for k, v in out.seconds.items():
                            report.step_seconds[k] = report.step_seconds.get(k, 0.0) + v
                    else:
                        report.failures.append((out.sample_id, out.reason))
                        log.warning("sample %s failed: %s", out.sample_id, out.reason)
                        bar.set_postfix(failed=len(report.failures))
                    bar.update(1)
            interrupted = False
        finally:
            report.seconds = time.perf_counter() - t0
            runs = [*st.attrs.get("runs", []), report._run_record(started, interrupted)]
            st.update_attrs(failures=[{"sample_id": s, "reason": r} for s, r in report.failures], runs=runs)
            if marker_dir is not None:
                shutil.rmtree(marker_dir, ignore_errors=True)
        if pack and report.n_done and st.pack_record() is None:
            t_pack = time.perf_counter()
            try:
                st.pack()
            except (StoreError, OSError) as exc:  # the samples are done and stored: a missing pack only reads slower
                log.warning("the store was not packed for reading (%s); `MEStore.pack()` or a rerun packs it", exc)
            else:
                report.pack_seconds = time.perf_counter() - t_pack
    log.info("%s", report.summary())
    return report
