"""The README's numbers have one source: the committed benchmark results file, rendered by a script."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results.json"
SCRIPT = ROOT / "tools" / "render_benchmarks.py"

pytestmark = pytest.mark.skipif(
    not (README.exists() and RESULTS.exists() and SCRIPT.exists()), reason="not running from a source checkout"
)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def render():
    return _load("render_benchmarks", SCRIPT)


@pytest.fixture(scope="module")
def results():
    return json.loads(RESULTS.read_text())


def test_readme_tables_are_rendered_from_the_results_file(render, results):
    text = README.read_text()
    assert render.render_readme(text, results) == text, "README out of date: run python tools/render_benchmarks.py"


def test_check_mode_fails_on_an_edited_number(render, results, tmp_path):
    readme = tmp_path / "README.md"
    text = README.read_text()
    block = re.search(r"<!-- BEGIN benchmarks[^>]*-->\n(.*?)<!-- END benchmarks -->", text, re.S).group(1)
    first_ms = re.search(r"\d+(\.\d+)? ms", block).group(0)
    readme.write_text(text.replace(block, block.replace(first_ms, "1.23 ms", 1)))
    assert render.main(["--check", "--readme", str(readme), "--results", str(RESULTS)]) == 1
    readme.write_text(text)
    assert render.main(["--check", "--readme", str(readme), "--results", str(RESULTS)]) == 0


def test_every_rendered_group_says_how_it_was_measured(render, results):
    r = render.Results(results)
    render.render_benchmarks(r)
    render.render_presets(r)
    assert r.used, "nothing rendered"
    for group in r.used:
        measured = results["groups"][group]["measured"]
        assert measured["command"].startswith("python -m pytest benchmarks/"), group
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", measured["date"]), group
        assert measured["machine"]["cpus"] >= 1 and measured["note"], group
        for entry in results["groups"][group]["entries"]:
            assert entry["median_s"] > 0 and entry["rounds"] >= 1, (group, entry["name"])


def test_a_missing_group_is_named(render, results):
    broken = copy.deepcopy(results)
    del broken["groups"]["train-dataloader"]
    with pytest.raises(KeyError, match="train-dataloader"):
        render.render_readme(README.read_text(), broken)


def test_battery_rows_hold_every_pair(results):
    group = next(g for g in results["groups"] if g.startswith("flow battery"))
    entries = results["groups"][group]["entries"]
    cases = entries[0]["metrics"]["cases"]
    assert len(cases) == entries[0]["metrics"]["n_pairs"] == len(set(cases))
    assert all(int(c.rsplit("seed", 1)[1]) >= 1_000_000 for c in cases)  # report seeds only
    for e in entries:
        per_case = e["metrics"]["epe_per_case"]
        assert e["metrics"]["cases"] == cases and len(per_case) == len(cases)
        assert max(per_case) == pytest.approx(e["metrics"]["epe_worst"], abs=1e-5)


def _outside_rendered_blocks(text: str) -> str:
    return re.sub(r"<!-- BEGIN (\w+)[^>]*-->.*?<!-- END \1 -->", "", text, flags=re.S)


# Sections whose figures come from benchmarks/results.json only (the other sections' measured tables are still
# written by hand: to be moved into the results file by their owners).
RENDERED_SECTIONS = ("TV-L1 optical flow", "Preprocessing a corpus into a store (the main job)", "Benchmarks")


def _section(text: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, f"README section {title!r} not found"
    return m.group(1)


def test_no_measured_figure_outside_the_rendered_blocks():
    """Times, speed-ups, rates and memory in prose would be a second source that goes stale (durations in
    seconds are left alone: the README states definitions such as "at most 0.5 s", not measurements, in them)."""
    text = README.read_text()
    for title in RENDERED_SECTIONS:
        prose = _outside_rendered_blocks(_section(text, title))
        figures = re.findall(r"\b\d+(?:\.\d+)?\s?(?:ms|x faster|x|GiB|MiB|clips/s)(?![\w/])", prose)
        assert figures == [], title
    for stale in ("a fortieth", "a fiftieth", "about half OpenCV"):
        assert stale not in _outside_rendered_blocks(text)


def test_merge_keeps_other_groups_and_replaces_measured_ones(tmp_path):
    conftest = _load("bench_conftest", ROOT / "benchmarks" / "conftest.py")
    path = tmp_path / "results.json"
    entry = conftest._Entry("a", 1.0, True, {"epe": 0.1}, {"median_s": 1.0, "rounds": 1})
    conftest.merge_results(path, {"g1": [entry], "g2": [entry]}, {"date": "2026-01-01"})
    newer = conftest._Entry("b", 2.0, False, {}, {"median_s": 2.0, "rounds": 3})
    data = conftest.merge_results(path, {"g2": [newer]}, {"date": "2026-02-02"})
    assert json.loads(path.read_text()) == data
    assert [e["name"] for e in data["groups"]["g1"]["entries"]] == ["a"]
    assert [e["name"] for e in data["groups"]["g2"]["entries"]] == ["b"]
    assert data["groups"]["g2"]["measured"]["date"] == "2026-02-02"
    path.write_text(json.dumps({"schema": "other", "groups": {}}))
    with pytest.raises(ValueError, match="schema"):
        conftest.merge_results(path, {"g": [entry]}, {})
