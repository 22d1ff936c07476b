"""Batch preprocessing: every feature of every clip of a dataset into one resumable Zarr store.

One job per sample (read frames, crop and align, compute, write the sample's chunks, mark it done), run by
joblib worker processes on one machine or by a Dask ``distributed`` cluster. This is the only module that
joins the dataset readers, the kernels and the store.

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
- **One run per store.** ``preprocess`` holds the store's run lock (:meth:`MEStore.lock`) for the whole run;
  a second run on the same store is refused with a clear message. On local stores the lock is released by
  the operating system when its holder dies.
- **No oversubscription.** Each of the ``n_jobs`` worker processes runs the C++ core, OpenCV and Numba with
  ``cpu_count // n_jobs`` threads (at least one); Dask workers run one task per worker thread, each
  single-threaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._features import ALL_FEATURES, PreprocessOptions, _size, compute_features, feature_shapes
from .errors import AnnotationError, StoreError
from .store import MEStore

__all__ = ["ALL_FEATURES", "PreprocessOptions", "PreprocessReport", "preprocess"]

log = logging.getLogger(__name__)

_DEFAULT_SIZE = (128, 128)


# ---------------------------------------------------------------------------------------------- one job
@dataclass(frozen=True)
class _Job:
    index: int  # row in the store
    sample_id: str
    dataset: Any  # a one-sample view of the dataset (cheap to send to a worker)
    local: int  # row of the sample in ``dataset``
    store: Any  # path, URL or zarr store object
    features: tuple[str, ...]
    size: tuple[int, int]
    options: PreprocessOptions
    n_threads: int
    limit_threads: bool  # set process-wide thread counts (only in worker processes we own)
    marker_dir: str | None  # joblib: where in-flight markers go, to attribute a dead worker


@dataclass(frozen=True)
class _Outcome:
    index: int
    sample_id: str
    reason: str | None  # None: done
    seconds: dict[str, float] = field(default_factory=dict)


def _limit_threads(n: int) -> None:
    import cv2
    import numba

    cv2.setNumThreads(n)
    numba.set_num_threads(max(1, min(n, int(getattr(numba.config, "NUMBA_NUM_THREADS", n)))))


def _apex_index(dataset: Any, i: int, n_read: int) -> int:
    row = dataset.samples.iloc[i]
    onset, apex, offset = int(row["onset"]), int(row["apex"]), int(row["offset"])
    numbers = [int(n) for n in dataset.frame_numbers[i] if onset <= int(n) <= offset]
    sid = row["sample_id"]
    if apex < 0:
        raise AnnotationError(f"{sid}: the apex frame is unknown (apex = {apex}); onset->apex features need it")
    if apex not in numbers:
        raise AnnotationError(
            f"{sid}: apex frame {apex} is not among the clip's frames {onset}..{offset} ({len(numbers)} frames found)"
        )
    if n_read != len(numbers):
        raise AnnotationError(f"{sid}: read {n_read} frames but the clip has {len(numbers)} in {onset}..{offset}")
    return numbers.index(apex)


def _run_job(job: _Job) -> _Outcome:
    """Compute and write one sample; every exception becomes a reported failure."""
    marker = Path(job.marker_dir, str(job.index)) if job.marker_dir else None
    if marker is not None:
        marker.touch()
    try:
        if job.limit_threads:
            _limit_threads(job.n_threads)
        t0 = time.perf_counter()
        video = job.dataset.read_frames(job.local)
        seconds = {"read": time.perf_counter() - t0}
        apex = _apex_index(job.dataset, job.local, len(video))
        arrays, steps = compute_features(
            video, apex, features=job.features, size=job.size, options=job.options, n_threads=job.n_threads
        )
        seconds.update(steps)
        t0 = time.perf_counter()
        store = MEStore.open(job.store, "r+") if isinstance(job.store, str) else job.store
        store.write_sample(job.index, arrays)
        store.mark_done(job.index)
        seconds["write"] = time.perf_counter() - t0
        return _Outcome(job.index, job.sample_id, None, seconds)
    except Exception as exc:  # reported per sample, never fatal to the run
        reason = f"{type(exc).__name__}: {exc}"
        if job.sample_id not in reason:
            reason = f"{reason} (sample {job.sample_id})"
        return _Outcome(job.index, job.sample_id, reason)
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)


def _one_sample_view(dataset: Any, i: int) -> tuple[Any, int]:
    """``dataset.subset([i])`` when the dataset has it, so a job does not ship the whole corpus."""
    subset = getattr(dataset, "subset", None)
    if callable(subset):
        return subset([i]), 0
    return dataset, i


# ---------------------------------------------------------------------------------------------- backends
def _run_serial(jobs: list[_Job]) -> Iterator[_Outcome]:
    for job in jobs:
        yield _run_job(job)


def _in_flight(marker_dir: str) -> set[int]:
    found = set()
    for p in Path(marker_dir).iterdir():
        found.add(int(p.name))
        p.unlink(missing_ok=True)
    return found


def _run_joblib(jobs: list[_Job], n_jobs: int, store: MEStore) -> Iterator[_Outcome]:
    from joblib import Parallel, delayed

    pending = {job.index: job for job in jobs}
    suspects: list[_Job] = []
    marker_dir = jobs[0].marker_dir
    assert marker_dir is not None
    while pending:
        batch = list(pending.values())
        parallel = Parallel(
            n_jobs=min(n_jobs, len(batch)), backend="loky", return_as="generator_unordered", batch_size=1
        )
        try:
            for out in parallel(delayed(_run_job)(job) for job in batch):
                pending.pop(out.index, None)
                yield out
        except BrokenProcessPool:
            hit = _in_flight(marker_dir) & set(pending)
            if not hit:
                raise
            log.warning("a worker process died; retrying its %d in-flight samples one at a time", len(hit))
            suspects.extend(pending.pop(i) for i in sorted(hit))
            done = store.done
            for i in [i for i in pending if done[i]]:  # finished, but the result was lost with the pool
                yield _Outcome(i, pending.pop(i).sample_id, None)
    for job in suspects:  # alone in a fresh worker: a second death is this sample's
        try:
            (out,) = Parallel(n_jobs=2, backend="loky")([delayed(_run_job)(job)])
        except BrokenProcessPool as exc:
            _in_flight(marker_dir)
            out = _Outcome(job.index, job.sample_id, f"the worker process died computing this sample ({exc})")
        yield out


def _run_pickled_job(payload: bytes) -> _Outcome:
    """Unpickle a job inside the task.

    A job a worker cannot load (say, a Dataset subclass that is not importable there) then fails as this task,
    with its reason, instead of breaking the worker's connection.
    """
    import cloudpickle

    return _run_job(cloudpickle.loads(payload))


def _run_dask(jobs: list[_Job], client: Any, n_jobs: int) -> Iterator[_Outcome]:
    from distributed import Client, LocalCluster, as_completed

    owned: list[Any] = []
    if client is None:
        # A random dashboard port: never clashes with another cluster on the machine.
        cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=":0")
        owned.append(cluster)
        client = Client(cluster)
        owned.insert(0, client)
    elif isinstance(client, str):
        client = Client(client)
        owned.append(client)
    try:
        if not client.nthreads():  # an adaptive cluster may scale up later: say so rather than fail
            log.warning("the Dask cluster has no workers yet; the %d samples wait until workers join", len(jobs))
        token = uuid.uuid4().hex[:8]
        import cloudpickle

        futures = {
            client.submit(
                _run_pickled_job, cloudpickle.dumps(job), key=f"mefast-preprocess-{token}-{job.index}", pure=False
            ): job
            for job in jobs
        }
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                out = fut.result()
            except Exception as exc:  # KilledWorker after the allowed retries, lost data, ...
                out = _Outcome(job.index, job.sample_id, f"{type(exc).__name__}: {exc}")
            fut.release()
            yield out
    finally:
        for obj in owned:
            obj.close()


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

    @property
    def n_done(self) -> int:
        """Samples done in the store after the run."""
        return self.skipped + self.computed

    @property
    def complete(self) -> bool:
        """Whether every sample of the store is done."""
        return self.n_done == self.n_samples

    def summary(self) -> str:
        """A few lines for people: counts, rate, time per step, failures."""
        rate = self.computed / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"store {self.store}: {self.n_done}/{self.n_samples} samples done "
            f"({self.computed} computed, {self.skipped} already done, {len(self.failures)} failed)",
            f"{self.seconds:.1f} s with {self.backend} x{self.n_jobs}, {rate:.2f} clips/s",
        ]
        if self.computed:
            steps = ", ".join(f"{k} {v / self.computed * 1000:.0f}" for k, v in self.step_seconds.items())
            lines.append(f"ms per clip: {steps}")
        for sid, reason in self.failures:
            lines.append(f"FAILED {sid}: {reason}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- driver
def _features(features: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
    unknown = sorted(set(features) - set(ALL_FEATURES))
    if unknown or not features:
        raise ValueError(f"features must be a non-empty subset of {ALL_FEATURES}, got {tuple(features)}")
    return tuple(f for f in ALL_FEATURES if f in features)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import cv2
    import numba
    import zarr

    from . import __version__

    return {
        "mefast": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "numba": numba.__version__,
        "zarr": zarr.__version__,
    }


def _provenance(dataset: Any, annotations: Any) -> dict[str, Any]:
    samples = dataset.samples
    files = annotations if annotations is not None else getattr(dataset, "annotations", None)
    if isinstance(files, str | os.PathLike):
        files = [files]
    hashes = {os.fspath(p): _sha256(Path(p)) for p in files or [] if Path(p).is_file()}
    table = samples.to_csv(index=False).encode()
    datasets = sorted(set(map(str, samples["dataset"]))) if "dataset" in samples else [str(dataset.name)]
    return {
        "corpus": str(getattr(dataset, "name", "")),
        "datasets": datasets,
        "dataset_root": os.fspath(getattr(dataset, "root", "")),
        "annotation_sha256": hashes,
        "samples_sha256": hashlib.sha256(table).hexdigest(),
        "versions": _versions(),
    }


def _location(store: Any) -> Any:
    if isinstance(store, MEStore):
        store = store.path  # a path-like when the store was opened from one: workers can open it too
    if isinstance(store, os.PathLike):
        store = os.fspath(store)
    if isinstance(store, str) and "://" not in store:
        # Absolute, so workers started elsewhere (a Dask cluster's nodes) resolve it to the same folder.
        store = os.path.abspath(store)
    return store


def _is_nonempty_foreign(location: Any) -> bool:
    """A local directory that holds something other than a zarr store (never overwrite it)."""
    if not isinstance(location, str) or "://" in location:
        return False
    p = Path(location)
    return p.is_dir() and any(p.iterdir()) and not (p / "zarr.json").exists()


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        return {k: v for key, val in d.items() for k, v in _flatten(val, f"{prefix}{key}.").items()}
    return {prefix[:-1]: d}


def _check_compatible(st: MEStore, dataset: Any, params: dict[str, Any]) -> None:
    stored = _flatten(st.attrs.get("parameters") or {})
    wanted = _flatten(json.loads(json.dumps(params)))
    if stored != wanted:
        diffs = [f"{k}: {stored.get(k)!r} -> {wanted.get(k)!r}" for k in sorted(set(stored) | set(wanted))
                 if stored.get(k) != wanted.get(k)]  # fmt: skip
        raise StoreError(
            f"the store at {st.path} was made with other parameters ({'; '.join(diffs)}); "
            "write to a new store or pass overwrite=True to recompute everything"
        )
    ids = list(map(str, dataset.samples["sample_id"]))
    have = list(map(str, st.meta["sample_id"]))
    if ids != have:
        extra = sorted(set(ids) - set(have))[:3]
        missing = sorted(set(have) - set(ids))[:3]
        raise StoreError(
            f"the store at {st.path} holds other samples than this dataset ({len(have)} vs {len(ids)}; "
            f"new: {extra}, gone: {missing}); write to a new store or pass overwrite=True"
        )


def _au_matrix(dataset: Any) -> np.ndarray:
    au_names = list(getattr(dataset, "au_names", ()))
    return dataset.au_matrix(au_names) if au_names else np.zeros((len(dataset.samples), 0), np.uint8)


def _update_annotations(st: MEStore, dataset: Any, annotations: Any) -> None:
    """Give samples whose annotation changed since the store was made their new metadata, and recompute them.

    A corrected apex or a relabelled emotion with the same sample ids: done data computed from the old
    annotation, or old labels, would be silently stale.
    """
    if list(map(str, getattr(dataset, "au_names", ()))) != st.au_names:
        raise StoreError(
            f"the store at {st.path} has AUs {st.au_names}, this dataset {list(getattr(dataset, 'au_names', ()))}; "
            "write to a new store or pass overwrite=True"
        )
    samples = dataset.samples.reset_index(drop=True)
    au = _au_matrix(dataset)
    changed = np.flatnonzero(st.changed_rows(samples, au))
    if not len(changed):
        return
    ids = st.meta["sample_id"]
    shown = ", ".join(map(str, ids[changed[:5]])) + (", ..." if len(changed) > 5 else "")
    log.warning(
        "the annotations of %d samples changed since the store was made (%s); their metadata is updated and "
        "they are recomputed", len(changed), shown,
    )  # fmt: skip
    done = st.done
    for i in changed:
        if done[i]:
            st.mark_undone(int(i))
    st.rewrite_meta(samples, au)
    prov = _provenance(dataset, annotations)
    st.update_attrs(annotation_sha256=prov["annotation_sha256"], samples_sha256=prov["samples_sha256"])


def _open_or_create(
    location: Any,
    dataset: Any,
    params: dict[str, Any],
    shapes_fn: Any,
    annotations: Any,
    *,
    overwrite: bool,
    force_unlock: bool,
) -> MEStore:
    exists = MEStore.exists(location)
    if exists and not overwrite:
        return MEStore.open(location, "r+")
    if not exists and _is_nonempty_foreign(location):
        raise StoreError(f"{location} is a non-empty directory that is not a zarr store; refusing to write there")
    if exists:
        try:
            old = MEStore.open(location, "r+")
        except StoreError as exc:
            raise StoreError(
                f"{location} holds a zarr group that is not a mefast store; refusing to overwrite it"
            ) from exc
        with old.lock(force=force_unlock):  # refuse to overwrite a store another run is writing
            pass
    return MEStore.create(
        location,
        dataset.samples.reset_index(drop=True),
        au=_au_matrix(dataset),
        au_names=list(getattr(dataset, "au_names", ())),
        arrays=shapes_fn(),
        attrs={"parameters": params, **_provenance(dataset, annotations)},
        overwrite=exists,
    )


def _cpu_count() -> int:
    from joblib import cpu_count

    return max(1, int(cpu_count()))


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
        ``"fast"`` for MDMO's per-frame flows), TIM length and descriptor options.
    overwrite : bool
        Recreate the store from scratch instead of resuming it.
    progress : bool, optional
        Show a progress bar (clips done, rate, ETA) on stderr; by default only when stderr is a terminal.
    force_unlock : bool
        Take over the lock of a non-local store left behind by a crashed run.
    annotations : path or list of paths, optional
        Annotation files whose SHA-256 is recorded in the store's provenance.

    Returns
    -------
    PreprocessReport
        Counts, failures (sample id and reason), time per step; also recorded in the store's attrs
        (``failures`` and ``runs``).

    Raises
    ------
    StoreError
        If another run holds the store, or the existing store was made with other parameters or samples.
    """
    feats = _features(features)
    size = _size(size, "size")
    options = options if options is not None else PreprocessOptions()
    if not isinstance(options, PreprocessOptions):
        raise TypeError(f"options must be a PreprocessOptions, got {type(options).__name__}")
    if client is not None:
        backend = "dask"
    if backend not in ("joblib", "dask"):
        raise ValueError(f"backend must be 'joblib' or 'dask', got {backend!r}")
    cpus = _cpu_count()
    if n_jobs is None:
        n_jobs = cpus
    if int(n_jobs) != n_jobs or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer or None (all cores), got {n_jobs!r}")
    n_jobs = int(n_jobs)
    location = _location(store)
    parallel = backend == "dask" or n_jobs > 1
    if parallel and not isinstance(location, str):
        raise ValueError(
            "worker processes need a store they can open: pass a path or URL, not an in-memory store object "
            "(or use backend='joblib', n_jobs=1)"
        )
    params = {"features": list(feats), "size": list(size), "options": options.to_dict()}
    st = _open_or_create(
        location,
        dataset,
        params,
        lambda: feature_shapes(feats, size, options),
        annotations,
        overwrite=overwrite,
        force_unlock=force_unlock,
    )
    failures: list[tuple[str, str]] = []
    steps: dict[str, float] = {}
    computed = 0
    with st.lock(force=force_unlock):
        st = MEStore.open(location, "r+")  # re-read under the lock: the store we validate is the one we write
        _check_compatible(st, dataset, params)
        _update_annotations(st, dataset, annotations)
        st.remove_partial_writes()
        done = st.done
        todo = [i for i in range(len(st)) if not done[i]]
        skipped = len(st) - len(todo)
        if backend == "dask":
            n_threads, limit = 1, True
        else:
            n_threads, limit = max(1, cpus // n_jobs), n_jobs > 1
        marker_dir = tempfile.mkdtemp(prefix="mefast-inflight-") if backend == "joblib" and n_jobs > 1 else None
        ids = list(map(str, dataset.samples["sample_id"]))
        jobs = []
        for i in todo:
            view, local = _one_sample_view(dataset, i)
            jobs.append(
                _Job(index=i, sample_id=ids[i], dataset=view, local=local, store=location if parallel else st,
                     features=feats, size=size, options=options, n_threads=n_threads, limit_threads=limit,
                     marker_dir=marker_dir)
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
                        computed += 1
                        for k, v in out.seconds.items():
                            steps[k] = steps.get(k, 0.0) + v
                    else:
                        failures.append((out.sample_id, out.reason))
                        log.warning("sample %s failed: %s", out.sample_id, out.reason)
                        bar.set_postfix(failed=len(failures))
                    bar.update(1)
            interrupted = False
        finally:
            seconds = time.perf_counter() - t0
            runs = list(st.attrs.get("runs", []))
            runs.append(
                {
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                    "seconds": round(seconds, 3),
                    "backend": backend,
                    "n_jobs": n_jobs,
                    "computed": computed,
                    "skipped": skipped,
                    "failed": len(failures),
                    "interrupted": interrupted,
                }
            )
            st.update_attrs(failures=[{"sample_id": s, "reason": r} for s, r in failures], runs=runs)
            if marker_dir is not None:
                shutil.rmtree(marker_dir, ignore_errors=True)
    report = PreprocessReport(
        store=str(location if isinstance(location, str) else type(location).__name__),
        n_samples=len(st),
        skipped=skipped,
        computed=computed,
        failures=failures,
        seconds=seconds,
        step_seconds=steps,
        backend=backend,
        n_jobs=n_jobs,
    )
    log.info("%s", report.summary())
    return report
