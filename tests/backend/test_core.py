"""The compiled core imports and describes its build; the package never imports torch."""

from __future__ import annotations

import subprocess
import sys

import mefast


def test_core_imports_and_reports_build():
    from mefast import _core

    info = _core.build_info()
    for key in ("version", "compiler", "cxx_flags", "openmp", "simd", "hardware_threads"):
        assert key in info
    assert info["version"] == mefast.__version__
    assert info["hardware_threads"] >= 1


def test_show_config_prints_versions(capsys):
    mefast.show_config()
    out = capsys.readouterr().out
    assert "mefast" in out and "numpy" in out and "openmp" in out


def test_import_mefast_does_not_import_torch():
    code = "import sys, mefast; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
