"""Shared fixtures of the benchmark suites, and the results file every published number comes from.

Each benchmark calls ``report(group, name, benchmark, baseline=False, **metrics)`` after timing; at the end of
the session a table per group lists the median time of every entry, its ratio to the group's baseline (the
peer), and the metrics (e.g. EPE). With ``--benchmark-disable`` (CI's smoke run) the bodies still run once and
their correctness assertions still apply, but nothing is recorded.

``--mefast-results=benchmarks/results.json`` (with ``--benchmark-enable``) also writes every group measured in
the run into that JSON file: pytest-benchmark's statistics of each entry (median, mean, min, max, stddev,
rounds), its metrics (accuracy figures), and per group when, where (machine, load) and with which command it
was measured. Groups not measured in the run keep their previous contents. ``tools/render_benchmarks.py``
renders the README's benchmark tables from that file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SCHEMA = "mefast-benchmarks/1"
SHARED_NOTE = (
    "measured on a shared development machine (2 vCPU) while other workers' builds and tests ran: absolute "
    "times are noisy, compare the ratios within one group (measured side by side in one run)"
)


@dataclass
class _Entry:
    name: str
    seconds: float
    baseline: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)


_RESULTS: dict[str, list[_Entry]] = defaultdict(list)


def pytest_addoption(parser):
    group = parser.getgroup("mefast")
    group.addoption(
        "--mefast-results",
        default=None,
        metavar="PATH",
        help="merge the groups measured in this run into this JSON results file (needs --benchmark-enable)",
    )
    group.addoption(
        "--mefast-results-note",
        default=SHARED_NOTE,
        help="a note on the conditions of the run, stored with every group it measured",
    )


def _jsonable(value: Any) -> Any:
    """Plain JSON types for numpy scalars and arrays in metrics."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@pytest.fixture(scope="session")
def smoke(request) -> bool:
    """Whether this is the untimed smoke run (benchmarks disabled and not re-enabled): small inputs, one worker."""
    opt = request.config.getoption
    return bool(opt("benchmark_disable", False) and not opt("benchmark_enable", False))


@pytest.fixture
def report():
    """Record a timed result: ``report(group, name, benchmark, baseline=False, **metrics)``."""

    def _record(group: str, name: str, benchmark: Any, *, baseline: bool = False, **metrics: Any) -> None:
        stats = getattr(benchmark, "stats", None)
        if stats is None or getattr(benchmark, "disabled", False):
            return
        s = stats.stats
        summary = {
            "median_s": float(s.median),
            "mean_s": float(s.mean),
            "min_s": float(s.min),
            "max_s": float(s.max),
            "stddev_s": float(s.stddev) if s.rounds > 1 else 0.0,
            "rounds": int(s.rounds),
        }
        metrics = _jsonable(metrics)
        benchmark.extra_info.update(metrics)
        _RESULTS[group].append(_Entry(name, float(s.median), baseline, metrics, summary))

    return _record


def _machine() -> dict[str, Any]:
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for mod in ("cv2", "mefast", "torch"):
        if mod in sys.modules:
            info[mod] = getattr(sys.modules[mod], "__version__", "?")
    return info


def _commit() -> str | None:
    try:
        cmd = ["git", "rev-parse", "--short", "HEAD"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def merge_results(path: Path, groups: dict[str, list[_Entry]], measured: dict[str, Any]) -> dict[str, Any]:
    """Replace ``groups`` in the results file at ``path`` (created if missing), keep the others; return it."""
    data: dict[str, Any] = {"schema": SCHEMA, "groups": {}}
    if path.exists():
        data = json.loads(path.read_text())
        if data.get("schema") != SCHEMA:
            raise ValueError(f"{path}: schema {data.get('schema')!r}, expected {SCHEMA!r}")
    for group, entries in groups.items():
        data["groups"][group] = {
            "measured": measured,
            "entries": [{"name": e.name, "baseline": e.baseline, **e.stats, "metrics": e.metrics} for e in entries],
        }
    data["groups"] = dict(sorted(data["groups"].items()))
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    return data


def pytest_sessionstart(session):
    session.config._mefast_load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.section("mefast benchmark summary (median times; ratio = baseline time / this time)")
    for group, entries in _RESULTS.items():
        base = next((e for e in entries if e.baseline), None)
        tr.write_line(f"[{group}]")
        for e in entries:
            ratio = f"{base.seconds / e.seconds:8.2f}x" if base else "        -"
            scalars = {k: v for k, v in e.metrics.items() if not isinstance(v, list | dict)}
            extras = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in scalars.items())
            mark = " (baseline)" if e.baseline else ""
            tr.write_line(f"  {e.name:<42} {e.seconds * 1e3:10.3f} ms {ratio}  {extras}{mark}")
    out = config.getoption("mefast_results")
    if not out:
        return
    # Only passed tests report (report() runs after the accuracy checks), so the groups recorded are sound even
    # when other tests failed; the failures are listed with them, and a group that lost an entry to a failure
    # lacks that entry (the README renderer then names it).
    failed = sorted({r.nodeid for r in tr.stats.get("failed", []) + tr.stats.get("error", [])})
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    measured = {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d"),
        "commit": _commit(),
        "command": "python -m pytest " + " ".join(config.invocation_params.args),
        "machine": _machine(),
        "load_average_1min": {"start": getattr(config, "_mefast_load0", None), "end": load1},
        "note": config.getoption("mefast_results_note"),
        "failed_in_run": failed,
    }
    merge_results(Path(out), dict(_RESULTS), measured)
    tr.write_line(f"wrote {len(_RESULTS)} group(s) to {out}")
