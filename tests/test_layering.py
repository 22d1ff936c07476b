"""Layers point one way: what the package layout promises (issue 12)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import mefast

PACKAGE = Path(mefast.__file__).resolve().parent


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_takes_the_version_from_the_package_init():
    pattern = re.compile(r"from\s+\.+\s+import\s+[^\n]*\b__version__\b|from\s+mefast\s+import\s+[^\n]*\b__version__\b")
    offenders = [str(p.relative_to(PACKAGE)) for p in _sources() if pattern.search(p.read_text())]
    assert offenders == []


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("mefast.protocols", "mefast.datasets"),  # label vocabularies live in mefast.labels
        ("mefast.face", "mefast.descriptors"),  # the landmark check lives in mefast._validation
        ("mefast.testing", "mefast.datasets"),
    ],
)
def test_importing_a_module_does_not_load_a_layer_it_does_not_need(module, forbidden):
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith({forbidden!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_descriptor_functions_do_not_shadow_their_modules():
    import mefast.descriptors as d

    for name in ("biwoof", "mdmo", "tim", "lbp_top"):
        assert callable(getattr(d, name))
    for module in ("_biwoof", "_mdmo", "_tim", "_lbptop"):
        assert f"mefast.descriptors.{module}" in sys.modules
