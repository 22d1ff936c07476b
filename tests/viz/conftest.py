"""Small stores and evaluate result folders for the viz tests, made with the real store and protocol code."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mefast.protocols import cross_validate, make_protocol
from mefast.store import MEStore

EMOTIONS = ("happiness", "surprise", "disgust")
AU_NAMES = ["AU1", "AU4", "AU12"]
SIZE = 32


def _samples(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    datasets = np.where(np.arange(n) < n // 2, "casme2", "samm")
    subjects = [f"s{i % 4}" for i in range(n)]
    return pd.DataFrame(
        {
            "sample_id": [f"{d}/{s}/clip{i:02d}" for i, (d, s) in enumerate(zip(datasets, subjects, strict=True))],
            "dataset": datasets,
            "subject": subjects,
            "emotion": [EMOTIONS[i % 3] for i in range(n)],
            "apex": rng.integers(1, 10, n),
        }
    )


def _make_store(path, n: int = 12, *, magnified: bool = False, done_all: bool = True) -> MEStore:
    """A store of ``n`` samples with random flow/strain/frames (and optionally magnified frames), all done
    except row 1 when ``done_all`` is False."""
    rng = np.random.default_rng(3)
    samples = _samples(n)
    au = np.zeros((n, len(AU_NAMES)), np.uint8)
    au[np.arange(n), np.arange(n) % 3] = 1
    au[::4, 0] = 1
    arrays = {
        "flow": ((2, SIZE, SIZE), "float32"),
        "strain": ((SIZE, SIZE), "float32"),
        "frames": ((4, SIZE, SIZE), "uint8"),
        "biwoof": ((20,), "float32"),
    }
    if magnified:
        arrays["magnified"] = ((4, SIZE, SIZE), "uint8")
    st = MEStore.create(path, samples, au=au, au_names=AU_NAMES, arrays=arrays)
    for i in range(n):
        flow = rng.normal(0, 1 + i % 3, (2, SIZE, SIZE)).astype(np.float32)
        frames = rng.integers(0, 256, (4, SIZE, SIZE), dtype=np.uint8)
        data = {
            "flow": flow,
            "strain": np.abs(rng.normal(0, 0.1, (SIZE, SIZE))).astype(np.float32),
            "frames": frames,
            "biwoof": rng.normal(size=20).astype(np.float32) + (i % 3),
        }
        if magnified:
            mag = np.repeat(frames[:1], 4, axis=0)
            mag[2] = 255 - mag[2]  # the most-moved frame is frame 2
            data["magnified"] = mag
        st.write_sample(i, data)
        if done_all or i != 1:
            st.mark_done(i)
    return MEStore.open(path)


@pytest.fixture
def png_size():
    """``png_size(data) -> (width, height)`` of PNG bytes, checked to be a PNG with something drawn on it."""

    def size(data: bytes) -> tuple[int, int]:
        from PIL import Image

        img = Image.open(io.BytesIO(data))
        img.load()
        assert img.format == "PNG" and np.asarray(img.convert("L")).std() > 5  # drawn, not blank
        return img.size

    return size


@pytest.fixture
def store(tmp_path) -> MEStore:
    return _make_store(tmp_path / "s.zarr")


def _write_results(directory, *, label: str = "emotion", seeds=(0, 1), method: str = "Random", constant=False):
    """Run a real cross_validate on a 24-sample metadata table with a seeded random method; write to_csv."""
    n = 24
    meta = _samples(n)
    au = np.zeros((n, len(AU_NAMES)), np.uint8)
    au[np.arange(n), np.arange(n) % 3] = 1
    au[::5, 1] = 1
    proto = make_protocol("loso", meta, au=au, au_names=AU_NAMES, label=label)

    def fit_predict(fold, y_train, seed):
        rng = np.random.default_rng(seed * 1000 + len(fold.train))
        if proto.multilabel:
            if constant:
                return np.ones((len(fold.test), y_train.shape[1]), np.uint8)
            return rng.integers(0, 2, (len(fold.test), y_train.shape[1])).astype(np.uint8)
        return rng.integers(0, len(proto.classes), len(fold.test))

    ev = cross_validate(proto, fit_predict, seeds=seeds, method=method)
    ev.to_csv(directory)
    return ev


@pytest.fixture
def make_store():
    """Factory: ``make_store(path, n=12, magnified=False, done_all=True) -> MEStore``."""
    return _make_store


@pytest.fixture
def write_results():
    """Factory: ``write_results(directory, label="emotion", seeds=(0, 1), method=..., constant=False)``."""
    return _write_results


@pytest.fixture
def const() -> SimpleNamespace:
    """The constants of the fixtures' stores."""
    return SimpleNamespace(AU_NAMES=AU_NAMES, EMOTIONS=EMOTIONS, SIZE=SIZE)
