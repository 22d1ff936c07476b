"""``mefast show`` on bad numbers: exit status 2 and a message naming the option, before the store is read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mefast.cli import main
from mefast.store import MEStore


@pytest.fixture
def store(tmp_path) -> MEStore:
    """Three finished samples with frames and flow: enough for a gallery."""
    n, size = 3, 32
    samples = pd.DataFrame(
        {
            "sample_id": [f"casme2/s{i}/clip{i}" for i in range(n)],
            "dataset": "casme2",
            "subject": [f"s{i}" for i in range(n)],
            "emotion": ["happiness", "surprise", "disgust"],
        }
    )
    arrays = {"flow": ((2, size, size), "float32"), "frames": ((4, size, size), "uint8")}
    au = np.eye(n, dtype=np.uint8)
    st = MEStore.create(tmp_path / "s.zarr", samples, au=au, au_names=["AU1", "AU4", "AU12"], arrays=arrays)
    rng = np.random.default_rng(0)
    for i in range(n):
        st.write_sample(
            i,
            {
                "flow": rng.normal(0, 1, (2, size, size)).astype(np.float32),
                "frames": rng.integers(0, 256, (4, size, size), dtype=np.uint8),
            },
        )
        st.mark_done(i)
    return MEStore.open(tmp_path / "s.zarr")


@pytest.mark.parametrize("n", ["0", "-3"])
def test_show_gallery_n_below_one_is_refused(store, tmp_path, capsys, n):
    """-n 0 took no sample and was reported as 'no finished samples to show' in a store full of them."""
    out = tmp_path / "g.png"
    assert main(["show", str(store.path), "--what", "gallery", "-n", n, "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"mefast show: -n must be at least 1, got {n}\n"
    assert not out.exists()


def test_show_gallery_n_one_draws(store, tmp_path):
    out = tmp_path / "g.png"
    assert main(["show", str(store.path), "--what", "gallery", "-n", "1", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
