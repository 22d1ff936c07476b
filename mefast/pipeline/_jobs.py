"""The job model: one job per sample (read frames, compute its features, write them, mark it done)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AnnotationError
from ..store import MEStore
from ._features import PreprocessOptions, compute_features
from ._reading import read_clip


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
    run: str  # this preprocess call's token: a worker keeps the store it opened for the run (_run_store)


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


@functools.lru_cache(maxsize=4)
def _run_store(location: str, run: str, thread: int) -> MEStore:
    """The store a worker process writes one run's samples to, opened once per run and thread.

    Opened again for every sample, a store read each array's metadata again at the sample's first write: about
    4 ms of the 9 ms that writing a CASME II-sized clip's features took. Keyed by the run (a token per
    ``preprocess`` call), so that a worker that outlives a run (loky's and Dask's do) opens the next run's store
    afresh, even at the same path, and by thread, so that no two threads of a Dask worker share one. Every write
    still looks for a pack first (``MEStore._before_write``).
    """
    return MEStore.open(location, "r+")


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
    store = None
    try:
        if job.limit_threads:
            _limit_threads(job.n_threads)
        gray, landmarks, seconds, _ = read_clip(job.dataset, job.local, job.options)
        apex = _apex_index(job.dataset, job.local, len(gray))
        row = job.dataset.samples.iloc[job.local]
        corpus = str(row["dataset"]) if "dataset" in row.index else str(job.dataset.name)
        arrays, steps = compute_features(
            gray, apex, features=job.features, size=job.size, options=job.options, n_threads=job.n_threads,
            aligned=(gray, landmarks), corpus=corpus,
        )  # fmt: skip
        seconds.update(steps)
        t0 = time.perf_counter()
        store = _run_store(job.store, job.run, threading.get_ident()) if isinstance(job.store, str) else job.store
        store.write_sample(job.index, arrays)
        store.mark_done(job.index)
        seconds["write"] = time.perf_counter() - t0
        return _Outcome(job.index, job.sample_id, None, seconds)
    except Exception as exc:  # reported per sample, never fatal to the run
        reason = f"{type(exc).__name__}: {exc}"
        if store is not None:  # the write began: no half-written sample stays readable (plain zarr ignores done)
            try:
                store.clear_sample(job.index)
            except Exception as cleanup:  # the store itself failing: the sample is undone either way
                reason = f"{reason}; clearing its partial write failed too ({type(cleanup).__name__}: {cleanup})"
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


def _run_serial(jobs: list[_Job]) -> Iterator[_Outcome]:
    for job in jobs:
        yield _run_job(job)
