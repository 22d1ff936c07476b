"""Shared fixtures of the test suite."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

# Keep OpenCV's own thread pool out of the way of the code under test on small CI machines.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True, scope="session")
def _run_outside_the_source_tree(tmp_path_factory):
    """Run every test (and every subprocess it starts) from an empty folder.

    ``python -c``/``python -m`` put the working directory first on sys.path, where the source tree's
    ``mefast/`` (without the compiled core) would shadow the installed package.
    """
    old = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(old)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def _longest_python_pause(call: Callable[[], object]) -> tuple[float, float]:
    """Run call() while a Python thread ticks; return the longest pause between ticks during the call and the
    call's duration. A kernel that held the GIL would pause the ticking thread for (nearly) the whole call."""
    ticks: list[float] = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            for _ in range(200):
                pass

    th = threading.Thread(target=tick)
    th.start()
    while not ticks:
        time.sleep(0.001)
    t0 = time.perf_counter()
    call()
    t1 = time.perf_counter()
    stop.set()
    th.join()
    inside = [t0] + [t for t in ticks if t0 < t < t1] + [t1]
    return float(max(np.diff(inside))), t1 - t0


@pytest.fixture
def longest_python_pause():
    """The GIL probe shared by the kernels' tests: ``pause, duration = longest_python_pause(call)``."""
    return _longest_python_pause


@pytest.fixture(params=["cpu", "emulated-cuda", pytest.param("cuda", marks=pytest.mark.gpu)])
def backend(request) -> str:
    """Every kernel backend, as the ``device`` to pass: the CPU core; the CUDA kernels and launch schedule run
    sequentially on the CPU (``mefast._cuda``, built wherever a CUDA toolkit is found); the GPU (``gpu`` marker,
    skipped without one). Each kernel's tests take it, so every backend meets the same oracles."""
    if request.param == "emulated-cuda":
        from mefast._backend import _cuda_module

        if _cuda_module() is None:
            pytest.skip("mefast._cuda not built (no CUDA toolkit when mefast was built)")
    return request.param


@pytest.fixture(scope="session")
def face_pair():
    from mefast.testing import face_flow_pair

    return face_flow_pair((340, 280), amplitude=1.0, seed=0)


@pytest.fixture(scope="session")
def flow_store_path(tmp_path_factory):
    """A flow + strain store with a learnable label signal (two corpora, three subjects each, four clips a subject).

    Shared by the torch-layer tests and the sealed-label paths of tests/protocols; needs torch to write.
    """
    pytest.importorskip("torch")
    from mefast.train.synthetic import write_flow_store

    path = tmp_path_factory.mktemp("flow") / "flow.zarr"
    write_flow_store(path, datasets=("casme2", "samm"), n_subjects=3, clips_per_subject=4, size=28, seed=0)
    return path


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    """Skip GPU tests cleanly when no CUDA GPU is visible."""
    from mefast._backend import has_cuda

    if has_cuda():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU visible (mefast._cuda not built or no device)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


class KilledHere(BaseException):
    """What a kill looks like to the code after it: nothing more runs (not an Exception: no handler catches it)."""


@pytest.fixture
def killed_at() -> Callable[[str], contextlib.AbstractContextManager[None]]:
    """``with killed_at("done"): ...`` stops the code inside as a killed process would, when zarr is about to
    create the array ``"done"`` (a store's creation, interrupted there); the block ends there, raising nothing."""
    import zarr

    @contextlib.contextmanager
    def arm(name: str) -> Iterator[None]:
        real = zarr.Group.create_array

        def create_array(self, array, *args, **kwargs):  # type: ignore[no-untyped-def]
            if array == name:
                raise KilledHere
            return real(self, array, *args, **kwargs)

        with pytest.MonkeyPatch.context() as m:
            m.setattr(zarr.Group, "create_array", create_array)
            with pytest.raises(KilledHere):
                yield

    return arm
