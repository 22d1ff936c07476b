"""Shared fixtures of the test suite."""

from __future__ import annotations

import os

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


@pytest.fixture(scope="session")
def face_pair():
    from mefast.testing import face_flow_pair

    return face_flow_pair((340, 280), amplitude=1.0, seed=0)


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    """Skip GPU tests cleanly when no CUDA GPU is visible."""
    from mefast._backend import has_cuda

    if has_cuda():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU visible (mefast._cuda not built or no device)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
