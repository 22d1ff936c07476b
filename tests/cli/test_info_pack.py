"""mefast info reports the store's pack for reading: its chunking, and whether it is current or stale."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import zarr

from mefast import MEStore
from mefast.cli import main


def _store(path) -> MEStore:
    samples = pd.DataFrame({"sample_id": [f"d/s/{i}" for i in range(3)], "dataset": ["d"] * 3})
    st = MEStore.create(path, samples, au=np.zeros((3, 0), np.uint8), au_names=[], arrays={"mdmo": ((4,), "f4")})
    for i in range(3):
        st.write_sample(i, {"mdmo": np.full(4, i, np.float32)})
        st.mark_done(i)
    return st


def test_info_shows_the_pack(tmp_path, capsys):
    path = tmp_path / "s.zarr"
    st = _store(path)
    assert main(["info", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pack"] is None
    st.pack(samples_per_chunk=2)
    assert main(["info", str(path)]) == 0
    assert "pack       3 samples, mdmo 2 per chunk: current" in capsys.readouterr().out
    zarr.open_group(path, mode="r+")["done"][1] = False  # a writer that knows nothing of the pack
    assert main(["info", str(path), "--json"]) == 1
    pack = json.loads(capsys.readouterr().out)["pack"]
    assert pack == {"current": False, "samples_per_chunk": {"mdmo": 2}, "n_done": 3}
