"""``mefast demo`` on bad --jobs / --out: exit status 2 and a message, before the corpora are written."""

from __future__ import annotations

import pytest

from mefast.cli import main


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
