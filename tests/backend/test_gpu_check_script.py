"""benchmarks/gpu_check.py stays runnable: its whole run on the kernels' host emulation (no GPU needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mefast._backend import _cuda_module

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(_cuda_module() is None, reason="mefast._cuda not built (no CUDA toolkit when mefast was built)")
def test_gpu_check_runs_every_section_on_the_emulation(tmp_path):
    out = tmp_path / "gpu.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--emulate", "--no-tests", "--json", str(out)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    result = json.loads(out.read_text())
    assert not result["errors"], r.stdout[-3000:] + r.stderr[-3000:]
    checks = {c["function"]: c for c in result["checks"]}
    # every correctness check holds on the emulation (the throughput goals cannot: the numbers mean nothing)
    assert all(c["ok"] for c in result["checks"]), [c for c in result["checks"] if not c["ok"]]
    assert {"tvl1_pairs", "optical_strain", "lbp_top", "tim", "preprocess"} <= set(checks)
    rates = [r["name"] for r in result["rates"]]
    assert any(n.startswith("preprocess") and n.endswith("cpu, 1 workers") for n in rates)
    assert any(n.startswith("preprocess") and n.endswith("cuda, 1 workers") for n in rates)
