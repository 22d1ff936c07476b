"""A reader closing mefast's output early (``mefast info STORE | head``): exit status 141, no traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from mefast.cli import BROKEN_PIPE, main

RUN = "import sys; from mefast.cli import main; sys.exit(main())"


def _with_closed_stdout(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code args`` with standard output a pipe whose reader is already gone."""
    r, w = os.pipe()
    os.close(r)
    try:
        return subprocess.run(
            [sys.executable, "-c", code, *args], stdout=w, stderr=subprocess.PIPE, text=True, timeout=300
        )
    finally:
        os.close(w)


def test_config_into_a_closed_pipe_exits_141_quietly():
    done = _with_closed_stdout(RUN, "config")
    assert (done.returncode, done.stderr) == (BROKEN_PIPE, "")


def test_info_into_a_closed_pipe_exits_141_quietly(tmp_path):
    pytest.importorskip("torch")
    from mefast.train.synthetic import write_flow_store

    store = tmp_path / "s.zarr"
    write_flow_store(store, datasets=("casme2",), n_subjects=2, clips_per_subject=2, size=8, seed=0)
    done = _with_closed_stdout(RUN, "info", str(store))
    assert (done.returncode, done.stderr) == (BROKEN_PIPE, "")


def test_a_broken_pipe_that_is_not_stdout_is_not_hidden():
    code = (
        "import sys, mefast._cli.config as c\n"
        "def run(args): raise BrokenPipeError(32, 'a worker went away')\n"
        "c.run = run\n"
        f"{RUN}"
    )
    done = subprocess.run([sys.executable, "-c", code, "config"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith("BrokenPipeError: [Errno 32] a worker went away")


class _ClosedPipe(io.StringIO):
    def write(self, s):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_main_returns_141_when_stdout_is_a_closed_pipe(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["config"]) == BROKEN_PIPE
    monkeypatch.undo()
    assert capsys.readouterr().err == ""
