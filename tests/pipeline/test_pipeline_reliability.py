"""preprocess under crashes: SIGKILL of the whole run, dead joblib and Dask workers, Dask vs joblib stores."""

from __future__ import annotations

import importlib.util
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pytest

from mefast import MEStore, StoreError
from mefast.datasets import Dataset
from mefast.pipeline import PreprocessOptions, preprocess

# The tiny corpus writer of test_pipeline.py (test modules are not importable by name under importlib mode).
_spec = importlib.util.spec_from_file_location("_mefast_test_pipeline", Path(__file__).with_name("test_pipeline.py"))
_tp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tp)
write_tiny, OPTS, SIZE = _tp.write_tiny, _tp.OPTS, _tp.SIZE
FEATURES = ("flow", "strain", "biwoof", "mdmo", "frames", "lbptop")
# The crash tests need no face detector nor Numba descriptors: light workers start fast.
LIGHT = {"features": ("flow", "strain"), "size": SIZE, "options": PreprocessOptions(crop_size=_tp.FRAME, align="none")}


@dataclass
class KillingDataset(Dataset):
    """Kills the process reading a listed sample: always (marker None) or once (until the marker exists)."""

    kill: dict = field(default_factory=dict)

    def read_frames(self, i, first=None, last=None):
        sid = self.samples["sample_id"].iloc[i]
        if sid in self.kill:
            marker = self.kill[sid]
            if marker is None or not os.path.exists(marker):
                if marker is not None:
                    Path(marker).touch()
                os.kill(os.getpid(), signal.SIGKILL)
        return super().read_frames(i, first, last)

    def subset(self, index, name=None):
        base = super().subset(index, name)
        return KillingDataset(**{f.name: getattr(base, f.name) for f in fields(Dataset)}, kill=self.kill)


def _plain(ds: Dataset) -> Dataset:
    return Dataset(**{f.name: getattr(ds, f.name) for f in fields(Dataset)})


# Worker processes cannot import this module by name: ship the class by value.
import cloudpickle  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    return write_tiny(tmp_path_factory.mktemp("tiny"), n=8)


@pytest.fixture(scope="module")
def clean(tiny, tmp_path_factory) -> MEStore:
    """Every feature, computed in this process."""
    path = tmp_path_factory.mktemp("clean") / "clean.zarr"
    assert preprocess(tiny, path, features=FEATURES, size=SIZE, options=OPTS, n_jobs=1).complete
    return MEStore.open(path)


@pytest.fixture(scope="module")
def clean_light(tiny, tmp_path_factory) -> MEStore:
    path = tmp_path_factory.mktemp("clean") / "light.zarr"
    assert preprocess(tiny, path, **LIGHT, n_jobs=1).complete
    return MEStore.open(path)


def _assert_same(got: MEStore, ref: MEStore, rows=slice(None)) -> None:
    for name in ref.features:
        np.testing.assert_array_equal(got.read(name, rows), ref.read(name, rows), err_msg=name)


_SLOW_RUN = textwrap.dedent(
    """
    import pickle, sys, time
    from dataclasses import fields
    from mefast.datasets import Dataset
    from mefast.pipeline import PreprocessOptions, preprocess

    class Slow(Dataset):
        def read_frames(self, i, first=None, last=None):
            time.sleep(0.25)
            return super().read_frames(i, first, last)

        def subset(self, index, name=None):
            base = super().subset(index, name)
            return Slow(**{f.name: getattr(base, f.name) for f in fields(Dataset)})

    if __name__ == "__main__":
        ds, kwargs = pickle.loads(open(sys.argv[1], "rb").read())
        preprocess(Slow(**{f.name: getattr(ds, f.name) for f in fields(Dataset)}), sys.argv[2], **kwargs)
    """
)


def test_sigkill_of_the_process_group_then_resume_equals_a_clean_run(tiny, clean_light, tmp_path):
    path = tmp_path / "killed.zarr"
    args = tmp_path / "args.pkl"
    args.write_bytes(pickle.dumps((_plain(tiny), {**LIGHT, "n_jobs": 2, "progress": False})))
    script = tmp_path / "run.py"
    script.write_text(_SLOW_RUN)
    proc = subprocess.Popen([sys.executable, str(script), str(args), str(path)], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                n_done = int(MEStore.open(path).done.sum())
            except StoreError:  # not created yet, or being created (its attributes are written last)
                n_done = 0
            if n_done >= 1:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its loky workers, mid-run
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10:  # every process of the group is gone
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("processes of the killed run survived")
    killed = MEStore.open(path)
    done = killed.done
    assert 1 <= done.sum() < len(tiny), done
    _assert_same(killed, clean_light, np.flatnonzero(done))  # nothing marked done is incomplete
    report = preprocess(tiny, path, **LIGHT, n_jobs=1)
    assert report.complete and report.skipped == done.sum() and report.computed == len(tiny) - done.sum()
    resumed = MEStore.open(path)
    assert resumed.done.all()
    _assert_same(resumed, clean_light)
    assert [r["interrupted"] for r in resumed.attrs["runs"]] == [False]  # the killed run could not record


def test_dead_joblib_worker_fails_only_its_sample(tiny, clean_light, tmp_path):
    ds = KillingDataset(**{f.name: getattr(tiny, f.name) for f in fields(Dataset)},
                        kill={"tiny/s01/EP02": None, "tiny/s02/EP05": str(tmp_path / "once")})  # fmt: skip
    path = tmp_path / "s.zarr"
    report = preprocess(ds, path, **LIGHT, n_jobs=2)
    assert [sid for sid, _ in report.failures] == ["tiny/s01/EP02"]
    assert "the worker process died computing this sample" in report.failures[0][1]
    st = MEStore.open(path)
    assert st.done.tolist() == [i != 2 for i in range(len(tiny))]
    _assert_same(st, clean_light, [i for i in range(len(tiny)) if i != 2])
    assert np.isnan(st.read("flow", 2)).all()


def test_dask_killed_workers_retry_or_report(tiny, clean_light, tmp_path):
    import dask
    from distributed import LocalCluster

    ds = KillingDataset(**{f.name: getattr(tiny, f.name) for f in fields(Dataset)},
                        kill={"tiny/s01/EP02": None, "tiny/s02/EP05": str(tmp_path / "once")})  # fmt: skip
    path = tmp_path / "s.zarr"
    # One task per worker thread (no queued task dies with its worker), one retry per task.
    cfg = {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(cfg):
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
            # a scheduler address, as `mefast preprocess --scheduler tcp://...` passes it
            report = preprocess(ds, os.fspath(path), **LIGHT, client=cluster.scheduler_address)
    assert report.backend == "dask"
    assert [sid for sid, _ in report.failures] == ["tiny/s01/EP02"]
    assert report.failures[0][1].startswith("KilledWorker")
    assert (tmp_path / "once").exists()  # EP05 killed its first worker, then was retried and completed
    st = MEStore.open(path)
    assert st.done.tolist() == [i != 2 for i in range(len(tiny))]
    _assert_same(st, clean_light, [i for i in range(len(tiny)) if i != 2])
    again = preprocess(tiny, path, **LIGHT, n_jobs=1)
    assert again.complete and again.computed == 1
    _assert_same(MEStore.open(path), clean_light)


def test_dask_local_cluster_and_joblib_stores_are_identical(tiny, clean, tmp_path):
    path = tmp_path / "dask.zarr"
    report = preprocess(tiny, path, features=FEATURES, size=SIZE, options=OPTS, backend="dask", n_jobs=2)
    assert report.complete and report.backend == "dask"
    st = MEStore.open(path)
    _assert_same(st, clean)
    assert st.attrs["parameters"] == clean.attrs["parameters"]
    assert st.meta.equals(clean.meta) and np.array_equal(st.au, clean.au)


def test_the_local_cluster_leaves_the_allocator_adaptive():
    """The LocalCluster a run starts does not give its workers distributed's MALLOC_TRIM_THRESHOLD_ (setting it at
    all turns glibc's adaptive mmap threshold off: TV-L1 and TIM ran 1.7-3x slower in those workers), and does not
    set it in this process either (the Nanny exports its pre-spawn variables here before spawning)."""
    import os

    from distributed import Client

    from mefast.pipeline._executors import _local_cluster

    before = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    with _local_cluster(1) as cluster, Client(cluster) as client:
        seen = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(seen.values()) == [before] and os.environ.get("MALLOC_TRIM_THRESHOLD_") == before


def test_reused_workers_open_each_runs_store_afresh(tiny, clean_light, tmp_path):
    # loky keeps its worker processes between preprocess calls, and each worker keeps the store it opened for a
    # run (pipeline._jobs._run_store): a second run at the same path, over a store recreated with another
    # layout, must not write through the first run's handles.
    path = tmp_path / "again.zarr"
    first = {**LIGHT, "size": (24, 24)}
    assert preprocess(tiny, path, **first, n_jobs=2).complete
    assert MEStore.open(path).shapes["flow"][0] == (2, 24, 24)
    report = preprocess(tiny, path, **LIGHT, n_jobs=2, overwrite=True)
    assert report.complete and report.computed == len(tiny)
    _assert_same(MEStore.open(path), clean_light)


def test_run_store_is_one_per_run_and_thread(tiny, tmp_path):
    from mefast.pipeline._jobs import _run_store

    path = str(tmp_path / "s.zarr")
    assert preprocess(tiny.subset([0]), path, **LIGHT, n_jobs=1).complete
    a = _run_store(path, "run-a", 1)
    assert _run_store(path, "run-a", 1) is a  # opened once for the run's samples
    assert _run_store(path, "run-b", 1) is not a  # a new run opens it again
    assert _run_store(path, "run-a", 2) is not a  # and so does another thread
