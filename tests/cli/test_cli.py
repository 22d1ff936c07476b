"""The command line: mefast preprocess | info | demo, on the synthetic corpora as distributed."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mefast import MEStore, datasets
from mefast._cli.demo import run_demo
from mefast.cli import main
from mefast.datasets.synthetic import write_synthetic

FAST = ["--size", "32x32", "--crop-size", "64", "--jobs", "1", "--no-progress"]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpora")
    return write_synthetic(out, corpora=("casme2", "samm"), n_subjects=2, clips_per_subject=2, n_frames=(8, 10))


def test_preprocess_then_info(corpora, tmp_path, capsys):
    root, ann = corpora["casme2"]
    out = tmp_path / "c2.zarr"
    rc = main(["preprocess", "casme2", "--root", str(root), "--annotations", str(ann), "--out", str(out),
               "--features", "flow,strain,biwoof", *FAST])  # fmt: skip
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    assert f"store {out}: 4/4 samples done (4 computed, 0 already done, 0 failed)" in printed.out
    st = MEStore.open(out)
    assert st.features == ("flow", "strain", "biwoof") and st.done.all()
    assert list(st.meta["sample_id"]) == list(datasets.load("casme2", root, ann).samples["sample_id"])
    assert st.attrs["annotation_sha256"] == {str(ann): __import__("hashlib").sha256(ann.read_bytes()).hexdigest()}

    assert (
        main(
            ["preprocess", "casme2", "--root", str(root), "--out", str(out), "--features", "flow,strain,biwoof", *FAST]
        )
        == 0
    )  # fmt: skip  (annotations found in the corpus folder; nothing left to do)
    assert "(0 computed, 4 already done, 0 failed)" in capsys.readouterr().out

    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "samples    4/4 done (100.0 %)  complete" in text
    assert "  flow       (4, 2, 32, 32) float32" in text and "  biwoof     (4, 200) float32" in text
    assert 'options.flow.preset = "accurate"' in text and "size = [32, 32]" in text
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["done"] == 4 and info["datasets"] == {"casme2": {"samples": 4, "done": 4}}
    assert [r["computed"] for r in info["runs"]] == [4, 0]


def test_composite_with_a_failing_clip(corpora, tmp_path, capsys):
    (c2, c2_ann), (samm, samm_ann) = corpora["casme2"], corpora["samm"]
    ds = datasets.load("samm", samm, samm_ann)
    victim = ds.frame_paths[1][len(ds.frame_paths[1]) // 2]
    saved = victim.read_bytes()
    victim.write_bytes(saved[: len(saved) // 3])  # a truncated JPEG
    try:
        out = tmp_path / "mix.zarr"
        rc = main(["preprocess", "combo", "--root", f"casme2={c2}", "--root", f"samm={samm}",
                   "--annotations", f"casme2={c2_ann}", "--out", str(out), "--features", "flow", *FAST])  # fmt: skip
        printed = capsys.readouterr().out
        assert rc == 1
        sid = ds.samples["sample_id"][1]
        assert f"FAILED {sid}: FrameReadError: sample {sid}: frame" in printed and str(victim) in printed
        assert main(["info", str(out)]) == 1
        text = capsys.readouterr().out
        assert "samples    7/8 done (87.5 %)" in text and f"  {sid}: FrameReadError" in text
    finally:
        victim.write_bytes(saved)
    assert main(["preprocess", "combo", "--root", f"casme2={c2}", "--root", f"samm={samm}", "--out", str(out),
                 "--features", "flow", *FAST]) == 0  # fmt: skip
    assert "(1 computed, 7 already done, 0 failed)" in capsys.readouterr().out


def test_cli_errors(corpora, tmp_path, capsys):
    root, _ = corpora["casme2"]
    assert main(["preprocess", "casme9", "--root", str(root), "--out", str(tmp_path / "x.zarr")]) == 2
    assert "cannot load casme9: unknown corpus" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "nothing.zarr")]) == 2
    assert "no mefast store" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["preprocess", "casme2", "--root", str(root), "--out", "x.zarr", "--size", "big"])
    assert "expected HxW or one number, got 'big'" in capsys.readouterr().err
    out = tmp_path / "s.zarr"
    assert main(["preprocess", "casme2", "--root", str(root), "--out", str(out), "--features", "flow", *FAST]) == 0
    capsys.readouterr()
    assert main(["preprocess", "casme2", "--root", str(root), "--out", str(out), "--features", "strain", *FAST]) == 2
    assert "other parameters (features: ['flow'] -> ['strain'])" in capsys.readouterr().err
    with MEStore.open(out, "r+").lock():  # another run holds the store
        assert main(["preprocess", "casme2", "--root", str(root), "--out", str(out), "--features", "flow", *FAST]) == 2
    assert "is being written by another preprocess run" in capsys.readouterr().err


@pytest.mark.parametrize("torch", [True, False], ids=["with-torch", "without-torch"])
def test_demo_evaluation_hook(tmp_path, monkeypatch, torch):
    """The evaluation step (mefast._cli.evaluate.demo_evaluation) gets the finished store; without torch the
    demo still succeeds and says what is missing."""
    calls = []

    def hook(store_path, *, n_jobs):
        calls.append((store_path, n_jobs))
        if not torch:
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return "LOSO TABLE"

    monkeypatch.setattr("mefast._cli.demo._evaluation_hook", lambda: hook)
    result = run_demo(tmp_path, corpora=("samm",), n_subjects=2, clips_per_subject=1, n_jobs=1)
    assert calls == [(str(result.store), 1)] and MEStore.open(calls[0][0]).done.all()
    expected = "LOSO TABLE" if torch else "LOSO evaluation skipped: it needs torch (pip install 'mefast[train]')"
    assert result.lines[-2] == expected


def test_demo_writes_preprocesses_and_summarises(tmp_path):
    result = run_demo(tmp_path, corpora=("casme2",), n_subjects=2, clips_per_subject=2, n_jobs=1, evaluate=False)
    assert result.report.complete and result.report.computed == 4
    st = MEStore.open(result.store)
    assert st.features == ("flow", "strain", "lbptop", "biwoof", "mdmo", "frames") and st.done.all()
    assert np.isfinite(st.read("mdmo", slice(None))).all()
    text = "\n".join(result.lines)
    assert "synthetic corpora casme2: 4 clips of 2 subjects" in text and "4/4 samples done" in text
    assert text.endswith(f"inspect it with: mefast info {result.store}")
    again = run_demo(tmp_path, corpora=("casme2",), n_subjects=2, clips_per_subject=2, n_jobs=1, evaluate=False)
    assert again.report.complete and again.report.computed == 4  # a rerun in the same folder starts afresh


def test_demo_refuses_a_folder_holding_other_data(tmp_path, capsys):
    """--out DIR whose corpus folder holds files the demo did not write: an error, and the files stay."""
    from mefast.datasets.synthetic import LAYOUTS

    theirs = tmp_path / "corpora" / LAYOUTS["casme2"].root(False) / "sub01" / "notes.txt"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("mine")
    assert main(["demo", "--out", str(tmp_path), "--no-report", "--no-progress", "--jobs", "1"]) == 2
    assert "holds files the demo did not write" in capsys.readouterr().err
    assert theirs.read_text() == "mine"


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "mefast.cli", "preprocess", "--help"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    for flag in ("--root", "--annotations", "--out", "--features", "--jobs", "--scheduler"):
        assert flag in out


def test_unwritable_store_or_unreachable_scheduler_is_an_error_message(corpora, tmp_path, capsys):
    import dask
    import distributed  # noqa: F401  - load its config defaults first: leaving dask.config.set would drop
    #                   them (the key did not exist before) and break every later LocalCluster in the session

    root, _ = corpora["casme2"]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = ["preprocess", "casme2", "--root", str(root), "--features", "flow", *FAST]
    assert main([*args, "--out", str(blocker / "s.zarr")]) == 2
    assert "mefast preprocess: " in capsys.readouterr().err
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main([*args, "--out", str(tmp_path / "s.zarr"), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "mefast preprocess: Timed out trying to connect to tcp://127.0.0.1:1" in capsys.readouterr().err


def test_preprocess_device_cuda_without_a_gpu_fails_clearly(corpora, tmp_path, capsys):
    from mefast._backend import has_cuda

    if has_cuda():
        pytest.skip("a GPU is visible")
    root, ann = corpora["casme2"]
    out = tmp_path / "gpu.zarr"
    rc = main(["preprocess", "casme2", "--root", str(root), "--out", str(out), "--features", "flow", "--device", "cuda",
               *FAST])  # fmt: skip
    assert rc != 0 and "cuda" in capsys.readouterr().err.lower()
    assert not out.exists()


def test_a_root_whose_path_holds_an_equals_sign_is_a_path(corpora, tmp_path, capsys):
    """--root /data/run=1/CASME2 is one corpus's folder, not NAME=DIR (only a corpus name before '=' is)."""
    import shutil

    root, ann = corpora["casme2"]
    copy = tmp_path / "run=1" / "CASME2"
    shutil.copytree(root, copy)
    out = tmp_path / "eq.zarr"
    rc = main(["preprocess", "casme2", "--root", str(copy), "--annotations", str(ann), "--out", str(out),
               "--features", "flow", *FAST])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert MEStore.open(out).done.all()
    c2, samm = corpora["casme2"][0], corpora["samm"][0]
    combo = [
        "preprocess",
        "combo",
        "--root",
        f"casme2={c2}",
        "--root",
        f"sam={samm}",
        "--out",
        str(tmp_path / "c.zarr"),
    ]
    assert main([*combo, *FAST]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith("mefast preprocess: unknown corpus 'sam' in --root")
