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


def _blocks(text: str) -> dict[str, str]:
    return dict(re.findall(r"<!-- BEGIN (\w+)[^>]*-->\n(.*?)<!-- END \1 -->", text, re.S))


def test_every_block_is_rendered_and_every_renderer_has_its_block(render):
    assert set(_blocks(README.read_text())) == set(render.BLOCKS)
    assert not (ROOT / "tools" / "render_handcrafted.py").exists(), "one renderer: tools/render_benchmarks.py"


@pytest.mark.parametrize("name", ["benchmarks", "presets", "handcrafted", "magnify", "epochs", "spotting", "viz"])
def test_check_mode_fails_on_an_edited_number(render, tmp_path, name):
    readme = tmp_path / "README.md"
    text = README.read_text()
    block = _blocks(text)[name]
    first = re.search(r"\b\d+\.\d+\b", block).group(0)
    readme.write_text(text.replace(block, block.replace(first, first + "1", 1)))
    assert render.main(["--check", "--readme", str(readme), "--results", str(RESULTS)]) == 1
    readme.write_text(text)
    assert render.main(["--check", "--readme", str(readme), "--results", str(RESULTS)]) == 0


def test_every_rendered_group_says_how_it_was_measured(render, results):
    r = render.Results(results)
    for fn in render.BLOCKS.values():
        fn(r)
    assert r.used, "nothing rendered"
    for group in r.used:
        measured = results["groups"][group]["measured"]
        assert measured["command"].startswith("python -m pytest benchmarks/"), group
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", measured["date"]), group
        assert measured["machine"]["cpus"] >= 1 and measured["note"], group
        for entry in results["groups"][group]["entries"]:
            assert entry["median_s"] > 0 and entry["rounds"] >= 1, (group, entry["name"])


@pytest.mark.parametrize(
    "group",
    [
        "train-dataloader",
        "hoof 256x256 flow, 5x5 blocks",
        "EVM 200 x 320 x 256 colour, 1 thread",
        "train-epoch-time",
        "spotting feature pass",  # its name goes on with the frame count: named by this prefix
        "flow colour coding 256x256 (Middlebury wheel)",
        "gallery of 64 samples from a store (face, flow, strain; 128x128), to PNG bytes",
    ],
)
def test_a_missing_group_is_named(render, results, group):
    broken = copy.deepcopy(results)
    names = [g for g in broken["groups"] if g == group or g.startswith(group + ",")]
    assert names, f"no group {group!r} in the results file"
    for name in names:
        del broken["groups"][name]
    with pytest.raises(KeyError, match=re.escape(group)):
        render.render_readme(README.read_text(), broken)


def test_the_long_spotting_memory_row_is_rendered_only_when_measured(render, results):
    """The 10 000-frame memory run takes minutes: without it the spotting block drops its row, nothing else."""
    mem = [g for g in results["groups"] if g.startswith("spotting memory, 10000 frames")]
    assert mem, "the 10 000-frame spotting memory run is not in the results file"
    full = render.render_spotting(render.Results(results))
    assert "10 000-frame" in full and "MiB peak traced" in full
    broken = copy.deepcopy(results)
    del broken["groups"][mem[0]]
    short = render.render_spotting(render.Results(broken))
    assert "MiB peak traced" not in short and "frames/s" in short


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


# A measured figure: a time, a speed-up, a rate, a memory size or a share, or a score with 2+ decimals (F1, EPE...).
_UNITS = (
    r"(?:ms|s|sec|seconds?|min|minutes?|h|hours?|x(?!\s?\d)|×|GiB|MiB|GB|MB|KiB"
    r"|frames/s|clips/s|samples/s|fps|it/s|%)"
)
_FIGURE = re.compile(rf"(?<![\w.])\d[\d ,]*(?:\.\d+)?(?:-\d+(?:\.\d+)?)?\s?{_UNITS}(?![\w/])|(?<![\w.])0\.\d{{2,}}\b")

# Numbers with such units outside the rendered blocks that are not measurements, each with its reason.
ALLOWED = {
    "at 30 fps": "the corpora's capture rate",
    "lasts at most 0.5 s": "the MEGC definition of a micro-expression",
    "apex - onset <= 0.25 s": "CAS(ME)^3's definition",
    "(0.2-0.45 s)": "what the synthetic long-video writer plants",
    "(0.7-1.6 s)": "what the synthetic long-video writer plants",
    "2.9 GiB as uint8": "the size of 10 000 640x480 uint8 frames, arithmetic",
}


def _prose(text: str) -> str:
    """The README outside the rendered blocks, line breaks and runs of spaces as one space."""
    return re.sub(r"\s+", " ", _outside_rendered_blocks(text))


def _figures_outside_blocks(text: str) -> list[str]:
    prose = _prose(text)
    for phrase in ALLOWED:
        prose = prose.replace(phrase, "")
    return _FIGURE.findall(prose)


def test_no_measured_figure_outside_the_rendered_blocks():
    """Every time, speed-up, rate, memory figure or score of the README comes from benchmarks/results.json through
    a rendered block: one typed anywhere else would be a second source that goes stale."""
    text = README.read_text()
    assert _figures_outside_blocks(text) == []
    outside = _prose(text)
    for phrase in ALLOWED:  # the allow-list holds nothing the README no longer says
        assert phrase in outside, f"allow-listed {phrase!r} is no longer in the README: drop it from ALLOWED"
    for stale in ("a fortieth", "a fiftieth", "about half OpenCV"):
        assert stale not in outside


@pytest.mark.parametrize("typed", ["takes 12.3 ms per pair", "8.8x faster", "runs at 53 frames/s", "peaks at 66 MiB",
                                   "F1 0.913", "UF1 0.62", "took 8 minutes", "2 GiB peak"])  # fmt: skip
def test_the_rule_catches_a_typed_figure(typed):
    text = README.read_text()
    assert _figures_outside_blocks(text.replace("## Spotting\n", f"## Spotting\n\nIt {typed}.\n", 1)), typed


def test_figures_inside_a_block_are_left_to_the_render_check():
    text = "<!-- BEGIN magnify (x) -->\n| a | 12.3 ms | 8.8x |\n<!-- END magnify -->\n"
    assert _figures_outside_blocks(text) == []


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
