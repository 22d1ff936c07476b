"""``mefast preprocess`` on bad input: one line on stderr and exit status 2, and --out never a file; a sheet
with errors: exit status 1, the store written all the same."""

from __future__ import annotations

import pandas as pd
import pytest

from mefast import MEStore
from mefast.cli import main
from mefast.datasets.synthetic import write_sheet, write_synthetic

FAST = ["--size", "32x32", "--crop-size", "64", "--jobs", "1", "--no-progress"]


@pytest.fixture(scope="module")
def casme2(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpora")
    return write_synthetic(out, corpora=("casme2",), n_subjects=1, clips_per_subject=1, n_frames=(8, 8))["casme2"]


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize("size", ["64x32x7", "64,32,7", "1x2x3x4"])
@pytest.mark.parametrize("option", ["--size", "--crop-size"])
def test_preprocess_sizes_of_three_parts_are_refused(casme2, tmp_path, capsys, option, size):
    root, _ = casme2
    with pytest.raises(SystemExit) as exc:
        main(["preprocess", "casme2", "--root", str(root), "--out", str(tmp_path / "s.zarr"), option, size])
    assert exc.value.code == 2
    assert f"expected HxW or one number, got {size!r}" in _err(capsys)
    assert not (tmp_path / "s.zarr").exists()


def test_preprocess_bad_roots_and_annotations_exit_2(casme2, tmp_path, capsys):
    root, ann = casme2
    out = ["--out", str(tmp_path / "m.zarr"), *FAST]
    assert main(["preprocess", "megc2019", "--root", f"casme2={root}", "--root", "bogus=x", *out]) == 2
    assert _err(capsys).startswith("mefast preprocess: unknown corpus 'bogus' in --root 'bogus=x'")
    assert main(["preprocess", "megc2019", "--root", f"casme2={root}", "--root", str(root), *out]) == 2
    assert "a composite needs --root NAME=PATH for each member" in _err(capsys)
    two = ["--annotations", str(ann), "--annotations", "b"]
    assert main(["preprocess", "casme2", "--root", str(root), *two, *out]) == 2
    assert _err(capsys) == "mefast preprocess: one corpus takes at most one --annotations FILE\n"


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "overwrite"])
def test_preprocess_out_naming_a_file_is_refused(casme2, tmp_path, capsys, overwrite):
    root, _ = casme2
    mine = tmp_path / "afile.txt"
    mine.write_text("mine")
    assert main(["preprocess", "casme2", "--root", str(root), "--out", str(mine), *overwrite, *FAST]) == 2
    assert _err(capsys).strip().endswith(f"--out {mine} is a file, not a store")
    assert mine.read_text() == "mine"


def test_preprocess_exits_1_when_the_sheet_has_errors_though_every_clip_computes(casme2, tmp_path, capsys, caplog):
    root, ann = casme2
    table = pd.read_excel(ann, dtype=object)
    no_clip = table.iloc[[0]].assign(Filename=None)
    damaged = write_sheet("casme2", pd.concat([table, no_clip, table], ignore_index=True), tmp_path / ann.name)
    out = tmp_path / "s.zarr"
    rc = main(["preprocess", "casme2", "--root", str(root), "--annotations", str(damaged), "--out", str(out), *FAST])
    printed = capsys.readouterr()
    assert rc == 1
    assert "2/2 samples done (2 computed, 0 already done, 0 failed)" in printed.out
    assert "the annotations have 2 errors: data row 1 (sheet row 3) has no clip; " in printed.out
    assert any(r.getMessage().startswith("the annotations have 2 errors") for r in caplog.records)  # a warning
    assert MEStore.open(out).done.all()  # kept: the clips themselves computed


def test_ctrl_c_ends_preprocess_with_one_line_and_status_130(casme2, tmp_path, capsys, monkeypatch):
    # It printed the whole KeyboardInterrupt traceback (and Python's exit status).
    import mefast.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mefast.pipeline, "preprocess", interrupted)
    root, _ = casme2
    assert main(["preprocess", "casme2", "--root", str(root), "--out", str(tmp_path / "s.zarr"), *FAST]) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        "mefast preprocess: interrupted; the clips done so far are kept in the store: run the same command again "
        "to resume"
    )
    assert not any("Traceback" in line for line in err)


def test_ctrl_c_ends_any_command_with_status_130(capsys, monkeypatch):
    import mefast._cli.config

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(mefast._cli.config, "run", interrupted)
    assert main(["config"]) == 130
    assert capsys.readouterr().err == "mefast config: interrupted\n"
