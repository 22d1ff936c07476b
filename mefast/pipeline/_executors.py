"""Executors that run jobs: joblib worker processes on one machine, or a Dask ``distributed`` cluster.

Both yield one outcome per job; a worker process that dies is attributed to the sample it was computing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ..store import MEStore
from ._jobs import _Job, _Outcome, _run_job

log = logging.getLogger(__package__)


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


def _local_cluster(n_workers: int) -> Any:
    """The Dask LocalCluster a run starts: ``n_workers`` single-threaded worker processes.

    Without distributed's default ``MALLOC_TRIM_THRESHOLD_=65536`` for its workers: setting that variable at all
    turns off glibc's adaptive mmap threshold, so every buffer above 128 KiB (TV-L1's pyramid planes, TIM's
    frames, a chunk being compressed) is mapped and page-faulted afresh at each call. On the benchmark's corpus
    (40 CASME II-sized clips, 2 workers, warm) it made the onset-apex flow 15 ms per clip instead of 8.4, TIM
    13 ms instead of 4.4 and the run 1.3x joblib's; without it the two match. (The option exists to hand memory
    back to the OS sooner, which a run of bounded clips does not need.) The dashboard takes a random port, never
    clashing with another cluster on the machine.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0")


def _run_dask(jobs: list[_Job], client: Any, n_jobs: int) -> Iterator[_Outcome]:
    from distributed import Client, as_completed

    owned: list[Any] = []
    if client is None:
        cluster = _local_cluster(n_jobs)
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


def _cpu_count() -> int:
    from joblib import cpu_count

    return max(1, int(cpu_count()))
