"""The README's quick-start test command is the one CI runs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ci_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    start = lines.index("# --- README test command ---")
    return lines[start + 1].split("||")[0].strip()


def test_readme_quick_start_runs_the_ci_test_command():
    readme = ROOT / "README.md"
    if not readme.exists() or not (ROOT / ".ci" / "run").exists():
        pytest.skip("not running from a source checkout")
    assert _ci_command() in readme.read_text()
