"""Shared fixtures of the benchmark suites.

Each benchmark calls ``report(group, name, benchmark, baseline=False, **metrics)`` after timing; at the end of
the session a table per group lists the median time of every entry, its ratio to the group's baseline (the
peer), and the metrics (e.g. EPE). With ``--benchmark-disable`` (CI's smoke run) the bodies still run once and
their correctness assertions still apply, but no table is printed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class _Entry:
    name: str
    seconds: float
    baseline: bool
    metrics: dict[str, Any] = field(default_factory=dict)


_RESULTS: dict[str, list[_Entry]] = defaultdict(list)


@pytest.fixture
def report():
    """Record a timed result: ``report(group, name, benchmark, baseline=False, **metrics)``."""

    def _record(group: str, name: str, benchmark: Any, *, baseline: bool = False, **metrics: Any) -> None:
        stats = getattr(benchmark, "stats", None)
        if stats is None or getattr(benchmark, "disabled", False):
            return
        median = float(stats.stats.median)
        benchmark.extra_info.update(metrics)
        _RESULTS[group].append(_Entry(name, median, baseline, dict(metrics)))

    return _record


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.section("mefast benchmark summary (median times; ratio = baseline time / this time)")
    for group, entries in _RESULTS.items():
        base = next((e for e in entries if e.baseline), None)
        tr.write_line(f"[{group}]")
        for e in entries:
            ratio = f"{base.seconds / e.seconds:8.2f}x" if base else "        -"
            extras = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in e.metrics.items())
            mark = " (baseline)" if e.baseline else ""
            tr.write_line(f"  {e.name:<42} {e.seconds * 1e3:10.3f} ms {ratio}  {extras}{mark}")
