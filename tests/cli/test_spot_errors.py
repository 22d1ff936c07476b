"""``mefast spot`` on bad --store / --out: exit status 2 before the work, never a traceback after it, and
nothing the user wrote replaced."""

from __future__ import annotations

import pandas as pd
import pytest

from mefast.cli import main
from mefast.datasets.synthetic import write_long_synthetic


@pytest.fixture(scope="module")
def long_root(tmp_path_factory):
    out = tmp_path_factory.mktemp("long")
    paths = write_long_synthetic(out, corpora=("casme3a",), n_subjects=2, videos_per_subject=1, n_frames=100,
                                 size=(40, 40), n_micro=1, n_macro=1, n_blinks=0, seed=3)  # fmt: skip
    return paths["casme3a"][0]


@pytest.fixture(scope="module")
def recording_store(long_root, tmp_path_factory):
    store = tmp_path_factory.mktemp("spot") / "s.zarr"
    assert main(["spot", "--corpus", "casme3a", "--root", str(long_root), "--store", str(store)]) == 0
    return store


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


def test_spot_store_that_is_a_file_is_an_error(long_root, tmp_path, capsys):
    mine = tmp_path / "afile.txt"
    mine.write_text("mine")
    assert main(["spot", "--corpus", "casme3a", "--root", str(long_root), "--store", str(mine)]) == 2
    assert _err(capsys) == f"mefast spot: --store {mine} is a file, not a recording store\n"
    assert main(["spot", "--store", str(mine)]) == 2
    assert "no mefast recording store" in _err(capsys)
    assert mine.read_text() == "mine"


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "overwrite"])
def test_spot_store_that_is_a_folder_of_other_files_is_left_alone(long_root, tmp_path, capsys, overwrite):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    args = ["spot", "--corpus", "casme3a", "--root", str(long_root), "--store", str(folder), *overwrite]
    assert main(args) == 2
    assert "is a non-empty directory that is not a zarr store; refusing to write there" in _err(capsys)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"] and (folder / "notes.txt").read_text() == "mine"


def test_spot_out_creates_its_folder_and_bad_out_fails_first(recording_store, tmp_path, capsys):
    out = tmp_path / "new" / "dir" / "pred.csv"
    assert main(["spot", "--store", str(recording_store), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert len(pd.read_csv(out)) > 0
    assert main(["spot", "--store", str(recording_store), "--out", str(tmp_path)]) == 2
    assert _err(capsys) == f"mefast spot: --out {tmp_path} is a directory; name the CSV file to write\n"
    blocker = tmp_path / "afile"
    blocker.write_text("")
    captured = capsys.readouterr()
    assert main(["spot", "--store", str(recording_store), "--out", str(blocker / "pred.csv")]) == 2
    printed = capsys.readouterr()
    assert printed.err == f"mefast spot: --out: {blocker} is a file, not a directory\n"
    assert printed.out == captured.out == ""  # refused before the table, not after it
