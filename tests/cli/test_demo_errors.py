"""``mefast demo`` on bad --jobs / --out: exit status 2 and a message, before the corpora are written; its store
is replaced on a rerun, and nobody else's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mefast import MEStore
from mefast._cli.demo import run_demo
from mefast.cli import main
from mefast.datasets.synthetic import write_synthetic


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_demo_bad_jobs_is_refused_before_anything_is_written(tmp_path, capsys, jobs):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--jobs", jobs, "--no-progress", "--no-report"]) == 2
    assert _err(capsys) == f"mefast demo: --jobs must be at least 1, got {jobs}\n"
    assert not out.exists()


def test_demo_unwritable_out_is_an_error_message(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("mine")
    assert main(["demo", "--out", str(blocker / "demo"), "--jobs", "1", "--no-progress", "--no-report"]) == 2
    assert _err(capsys).startswith("mefast demo: ")
    assert blocker.read_text() == "mine"


def test_demo_in_a_temporary_folder_reports_os_errors(monkeypatch, capsys):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mefast._cli.demo.run_demo", no_space)
    assert main(["demo", "--jobs", "1", "--no-progress", "--no-report"]) == 2
    assert _err(capsys) == "mefast demo: [Errno 28] No space left on device\n"


FAST = ["--size", "32x32", "--crop-size", "64", "--jobs", "1", "--no-progress"]


def _listing(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def their_store(tmp_path_factory) -> Path:
    """A store someone preprocessed from their own (synthetic) CASME II folder."""
    base = tmp_path_factory.mktemp("theirs")
    written = write_synthetic(base / "data", corpora=("casme2",), n_subjects=2, clips_per_subject=1, n_frames=(8, 9))
    root, ann = written["casme2"]
    out = base / "casme2.zarr"
    assert main(["preprocess", "casme2", "--root", str(root), "--annotations", str(ann), "--out", str(out),
                 "--features", "flow,biwoof", *FAST]) == 0  # fmt: skip
    return out


def test_demo_refuses_to_replace_a_store_it_did_not_write(tmp_path, capsys, their_store):
    """--out DIR holding someone's store as demo.zarr: it was replaced by the demo's; now an error, the store
    kept, and nothing written."""
    out = tmp_path / "ow"
    shutil.copytree(their_store, out / "demo.zarr")
    before = _listing(out / "demo.zarr")
    assert main(["demo", "--out", str(out), "--jobs", "1", "--no-progress", "--no-report"]) == 2
    root = MEStore.open(their_store).attrs["dataset_root"]
    assert _err(capsys) == (
        f"mefast demo: {out / 'demo.zarr'} is a store the demo did not write (its frames came from {root}); "
        "choose another folder\n"
    )
    assert _listing(out / "demo.zarr") == before
    assert sorted(p.name for p in out.iterdir()) == ["demo.zarr"]  # no corpora written


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_demo_refuses_a_demo_zarr_that_is_not_a_store(tmp_path, capsys, kind):
    out = tmp_path / "ow"
    out.mkdir()
    theirs = out / "demo.zarr"
    if kind == "folder":
        theirs.mkdir()
        (theirs / "notes.txt").write_text("mine")
    else:
        theirs.write_text("mine")
    assert main(["demo", "--out", str(out), "--jobs", "1", "--no-progress", "--no-report"]) == 2
    assert _err(capsys) == f"mefast demo: {theirs} holds files the demo did not write; choose another folder\n"
    assert (theirs / "notes.txt" if kind == "folder" else theirs).read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["demo.zarr"]


def test_demo_rerun_from_another_directory_replaces_its_own_store(tmp_path, monkeypatch):
    """The store records the corpora's absolute root: a rerun from elsewhere still recognises it."""
    monkeypatch.chdir(tmp_path)
    first = run_demo("d", corpora=("casme2",), n_subjects=2, clips_per_subject=1, n_jobs=1, evaluate=False,
                     html_report=False)  # fmt: skip
    assert first.report.complete
    assert MEStore.open(tmp_path / "d" / "demo.zarr").attrs["dataset_root"].startswith(str(tmp_path / "d"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    again = run_demo(tmp_path / "d", corpora=("casme2",), n_subjects=2, clips_per_subject=1, n_jobs=1,
                     evaluate=False, html_report=False)  # fmt: skip
    assert again.report.complete and again.report.computed == 2


def test_demo_store_check(tmp_path, monkeypatch):
    """What _foreign_store takes for the demo's own store: a root in the corpora folder, relative ones (written
    by earlier demos) taken from the current directory; an interrupted creation or an empty folder too."""
    from mefast._cli.demo import _foreign_store

    monkeypatch.chdir(tmp_path)
    corpora = tmp_path / "w" / "corpora"
    samples = pd.DataFrame({"sample_id": ["a/s1/c1"], "dataset": ["a"], "subject": ["s1"]})

    def store(name: str, root: str | None) -> Path:
        attrs = {} if root is None else {"dataset_root": root}
        path = tmp_path / name
        MEStore.create(
            path, samples, au=np.zeros((1, 0), np.uint8), au_names=[], arrays={"x": ((1,), "uint8")}, attrs=attrs
        )
        return path

    assert _foreign_store(tmp_path / "none.zarr", corpora) is None
    (tmp_path / "empty.zarr").mkdir()
    assert _foreign_store(tmp_path / "empty.zarr", corpora) is None
    for ok in (str(corpora), str(corpora / "CASME2" / "Cropped"), "w/corpora", "w/corpora/SAMM"):
        assert _foreign_store(store("ok.zarr", ok), corpora) is None, ok
        shutil.rmtree(tmp_path / "ok.zarr")
    for bad in (str(tmp_path / "w"), str(tmp_path / "w" / "corpora2"), "corpora", "", None):
        assert "is a store the demo did not write" in _foreign_store(store("bad.zarr", bad), corpora), bad
        shutil.rmtree(tmp_path / "bad.zarr")
