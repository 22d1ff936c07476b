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
SCALE_DOC = ROOT / "docs" / "scale.md"

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


def test_battery_presets_are_the_ones_measured(results):
    # The README's preset table describes each preset from the values its battery run recorded: a preset changed
    # since must be measured again (python -m pytest benchmarks/flow/test_battery.py --benchmark-enable ...).
    import dataclasses

    import mefast

    group = next(g for g in results["groups"] if g.startswith("flow battery"))
    recorded = {
        e["name"].rsplit("=", 1)[1]: e["metrics"]["params"]
        for e in results["groups"][group]["entries"]
        if e["name"].startswith("mefast.TVL1 preset=")
    }
    assert set(recorded) == {"opencv", "accurate", "fast", "robust"}
    for preset, values in recorded.items():
        assert values == dataclasses.asdict(mefast.TVL1_PRESETS[preset]), f"{preset} changed since its battery run"


def test_preset_text_names_every_recorded_value(render):
    import dataclasses

    import mefast

    robust = dataclasses.asdict(mefast.TVL1_PRESETS["robust"])
    text = render.describe_params(robust)
    for piece in ("lambda 0.6, theta 0.3", "pre-smoothing sigma 0.5", "6 scales x 0.5 anti-aliased",
                  "5 warps per level (3 at full size), 2 passes of 10 iterations per warp, epsilon 0.03",
                  "no median filter", "illumination term gamma 1, held below level 1"):  # fmt: skip
        assert piece in text, (piece, text)
    older = {k: v for k, v in robust.items() if k not in ("finest_warps", "finest_inner_iterations")}
    assert "at full size" not in render.describe_params(older)  # a record from before those fields
    budget = render.describe_params({**robust, "finest_inner_iterations": 4})
    assert "2 passes of 10 iterations per warp (4 at full size)" in budget
    opencv = render.describe_params(dataclasses.asdict(mefast.TVL1_PRESETS["opencv"]))
    expected = "lambda 0.15, theta 0.3, 5 scales x 0.8, 5 warps per level, 10 passes of 30 iterations per warp"
    assert opencv == expected + ", epsilon 0.01, median 5"


# ---------------------------------------------------------------------------------------------------------
# Groups rendered only when measured (runs of many minutes): crafted here in the structure benchmarks/conftest.py's
# report fixture writes, so their rows are tested before (and whether or not) the committed results file holds them.

_LARGE = "pipeline large frames, CAS(ME)^3-sized clips (1280x720, 10-30 frames), 2 workers"
_SCALE = "pipeline scale, 1000 CAS(ME)^3-sized clips (1280x720), Dask LocalCluster, 2 GiB per worker"
_WARM = "mdmo flows per clip, 67 frames 128x128, per-frame preset, 1 thread"
_FRAME = "tvl1 1280x720 frame, 1 thread"
_STEPS = {"read_ms": 61.5, "align_ms": 21.25, "flow_ms": 15.75, "mdmo_ms": 23.5, "write_ms": 33.25}


def _entry(name: str, seconds: float, rounds: int = 3, baseline: bool = False, **metrics) -> dict:
    return {"name": name, "baseline": baseline, "median_s": seconds, "mean_s": seconds, "min_s": seconds,
            "max_s": seconds, "stddev_s": 0.0, "rounds": rounds, "metrics": metrics}  # fmt: skip


def _measured(test: str) -> dict:
    return {"date": "2026-12-08", "commit": "abc1234", "command": f"python -m pytest benchmarks/{test} "
            "--benchmark-enable --benchmark-only -q -s --mefast-results=benchmarks/results.json",
            "machine": {"cpu": "AMD EPYC", "cpus": 2}, "load_average_1min": {"start": 1.25, "end": 1.75},
            "note": "crafted by tests/docs", "failed_in_run": []}  # fmt: skip


def _large_metrics(clips_per_s: float, cpu_ms: float, **more) -> dict:
    return {"clips_per_s": clips_per_s, "cpu_ms_per_clip": cpu_ms, "clips_per_s_on_2_free_cores": 2e3 / cpu_ms,
            "peak_mem_mb": 1456.0, **_STEPS, **more}  # fmt: skip


def _scale_metrics(workers: int, total: float, **more) -> dict:
    return {"clips": 1000, "clips_per_s": 1000 / (total - 2.75), "jobs_s": total - 2.75, "setup_s": 1.875,
            "cluster_start_s": 0.875, "total_s": total, "worker_cpu_ms_per_clip": 128.5 + 9.25 * (workers - 1),
            "worker_core_share": 0.65 - 0.21 * (workers - 1), "memory_limit_mb": 2048.0,
            "worker_peak_mb_max": 391.5, "worker_peak_mb": [388.25, 391.5][-workers:], "load_1min": [5.25, 4.125],
            **_STEPS, **more}  # fmt: skip


def _with_new_groups(results: dict) -> dict:
    """``results`` with the large-frame, scale and warm-start groups and the cold-epoch rows, crafted."""
    out = copy.deepcopy(results)
    g = out["groups"]
    g[_LARGE] = {"measured": _measured("pipeline/test_large_frames.py"), "entries": [
        _entry("before: whole colour decode, face searched on the whole frame", 31.25, baseline=True,
               **_large_metrics(3.2, 590.5)),
        _entry("after: coarse face search, grey decode at 1/r straight into the crop", 9.375,
               **_large_metrics(10.67, 176.25, reduction=2, flow_diff_px=0.0114, frames_diff=2.375)),
    ]}  # fmt: skip
    g[_SCALE] = {"measured": _measured("pipeline/test_scale.py"), "entries": [
        _entry("1 worker", 202.75, rounds=1, baseline=True, **_scale_metrics(1, 202.75)),
        _entry("2 workers", 162.875, rounds=1, **_scale_metrics(
            2, 162.875, predicted_total_s=67.375, projection_error_pct=-58.63, cpu_per_clip_vs_1_worker_pct=7.2,
            predicted_total_at_measured_share_s=151.375, projection_error_at_measured_share_pct=-7.06)),
    ]}  # fmt: skip
    g[_WARM] = {"measured": _measured("perf/test_mdmo_warm_start.py"), "entries": [
        _entry("every flow from scratch (before)", 0.0807, rounds=5, baseline=True, epe_px=0.0594,
               diff_from_cold_px=0.0),
        _entry("warm-started (warm_start=True, the preprocess default)", 0.0597, rounds=5, epe_px=0.0563,
               diff_from_cold_px=0.0179),
    ]}  # fmt: skip
    cold = {"memory": ("FlowDataset, in-memory arrays", 0.125, 1.0, 1.0),
            "cold": ("FlowDataset, store, cold, direct chunk reads", 0.2125, 1.875, 1.5),
            "page-cached": ("FlowDataset, store, page-cached, direct chunk reads", 0.1875, 1.625, 1.375),
            "warm": ("FlowDataset, store, warm epochs", 0.125, 1.125, 1.0625),
            "zarr": ("FlowDataset, store, cold, Zarr reads (before)", 0.5, 4.25, 3.5)}  # fmt: skip
    g["train-dataloader-cold"] = {"measured": _measured("train/test_cold_epoch.py"), "entries": [
        _entry(name, s, rounds=9, baseline=k == "memory", samples_per_s=2040 / s, ratio_to_memory=rm, cpu_s=s,
               cpu_ratio_to_memory=rc) for k, (name, s, rm, rc) in cold.items()
    ]}  # fmt: skip
    return out


@pytest.fixture(scope="module")
def full(results):
    return _with_new_groups(results)


def test_new_groups_render_where_they_belong(render, full):
    r = render.Results(full)
    table = render.render_benchmarks(r)
    assert "CAS(ME)^3-sized clips (1280x720, 10-30 frames), every default feature, 2 workers" in table
    assert "10.7 clips/s" in table and "3.33x" in table  # after; before / after
    assert "1 worker 3.38 min" in table and "error -7.1 %" in table
    assert "warm-started (the default)" in table and "EPE 0.056" in table and "1.35x" in table
    # the cold rows: their ratio is the one of the interleaved medians (1.875x in-memory's time), not of the minima
    assert "1.88x the in-memory epoch, CPU time 1.50x: medians of 9 interleaved rounds" in table
    assert "| 0.533x |" in table
    assert "first epoch from the page cache" in table and "store (2040 clips), warm epochs | 125 ms (1.12x" in table
    scale = render.render_scale(r)
    assert "| clips/s | 5.00 | 6.25 |" in scale and "**-7.1 %**" in scale
    assert "| S + 7.44 s | S + 1.93 s |" in scale  # ceil(860 / 16) and ceil(860 / 64) clips x 137.75 ms
    for block in (table, scale):
        assert "nan" not in block and "None" not in block


def test_new_groups_are_rendered_only_when_measured(render, results, full):
    """Without them the README's table lacks their rows, docs/scale.md says how to measure, nothing fails."""
    plain = render.Results(copy.deepcopy(results))
    for g in (_LARGE, _SCALE, _WARM, _FRAME):
        plain.groups.pop(g, None)
    table = render.render_benchmarks(plain)
    assert "1280x720" not in table and "warm-started" not in table and "Dask LocalCluster, bounded" not in table
    assert render.render_scale(plain).startswith("Not in the committed results file yet")
    assert "1280x720" in render.render_benchmarks(render.Results(full))


def test_frame_row_puts_each_preset_beside_its_peer(render, results):
    """The 1280x720 frame row: OpenCV's parameters and accurate over DualTVL1's time, fast over DIS medium's."""
    r = render.Results(copy.deepcopy(results))
    g = r.groups[_FRAME]
    times = {"opencv DualTVL1 (defaults)": 6.0, "opencv DIS medium": 0.09, "mefast.TVL1 preset=opencv": 0.4,
             "mefast.TVL1 preset=accurate": 0.12, "mefast.TVL1 preset=fast": 0.06}  # fmt: skip
    for e in g["entries"]:
        e["min_s"] = times[e["name"]]
    row = next(line for line in render.render_benchmarks(r).splitlines() if "TV-L1 1280x720 frame pair" in line)
    assert row.endswith("| 15.0x / 50.0x / 1.50x |"), row
    assert "400 ms / 120 ms / 60.0 ms" in row and "OpenCV DualTVL1 6.00 s" in row and "DIS medium 90.0 ms" in row


def _edit_first_number(text: str, block: str) -> str:
    body = _blocks(text)[block]
    first = re.search(r"\b\d+\.\d+\b", body).group(0)
    return text.replace(body, body.replace(first, first + "1", 1))


@pytest.mark.parametrize("row", ["1280x720", "Dask LocalCluster, bounded", "warm-started", "from the page cache"])
def test_an_edited_number_in_a_new_row_is_caught(render, tmp_path, full, row):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(full))
    readme, scale = tmp_path / "README.md", tmp_path / "scale.md"
    readme.write_text(render.render_readme(README.read_text(), full))
    scale.write_text(render.render_doc("scale", SCALE_DOC.read_text(), full))
    argv = ["--check", "--readme", str(readme), "--results", str(path), "--scale-doc", str(scale)]
    assert render.main(argv) == 0
    text = readme.read_text()
    line = next(ln for ln in text.splitlines() if row in ln and ln.startswith("| "))
    number = re.search(r"(?<![\d.])\d+\.\d+(?!\d)", line.split(" | ", 1)[1]).group(0)
    readme.write_text(text.replace(line, line.replace(number, number + "1", 1)))
    assert render.main(argv) == 1


def test_docs_scale_numbers_are_rendered_and_an_edit_is_caught(render, tmp_path, results, full):
    assert render.render_doc("scale", SCALE_DOC.read_text(), results) == SCALE_DOC.read_text(), (
        "docs/scale.md out of date: run python tools/render_benchmarks.py"
    )
    path = tmp_path / "results.json"
    path.write_text(json.dumps(full))
    scale = tmp_path / "scale.md"
    text = render.render_doc("scale", SCALE_DOC.read_text(), full)
    scale.write_text(_edit_first_number(text, "scale"))
    argv = ["--check", "--readme", str(tmp_path / "README.md"), "--results", str(path), "--scale-doc", str(scale)]
    (tmp_path / "README.md").write_text(render.render_readme(README.read_text(), full))
    assert render.main(argv) == 1
    scale.write_text(text)
    assert render.main(argv) == 0


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
    "k = 0.4 s / 1.3 s": "the MEGC2020 MDMD baseline's lags, a setting",
    "(0.3 s / 1 s expressions)": "the expression lengths mefast's default lags are set for",
    "p = 0.35": "mefast's default threshold position, a setting",
    "p = 0.01": "the MEGC2020 MDMD baseline's threshold position, a setting",
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


# docs/scale.md: its measured figures are in its rendered block; outside it, settings and definitions only.
SCALE_ALLOWED = {
    'memory_limit="2GiB"': "the example's setting",
    "passes 95 % of it": "Dask's nanny threshold",
}


def test_no_measured_figure_outside_the_rendered_block_of_docs_scale():
    prose = _prose(SCALE_DOC.read_text())
    for phrase in SCALE_ALLOWED:
        assert phrase in prose, f"allow-listed {phrase!r} is no longer in docs/scale.md: drop it"
        prose = prose.replace(phrase, "")
    assert _FIGURE.findall(prose) == []
    assert _FIGURE.findall(prose + " it takes 0.13 s per clip")  # the rule would catch a typed figure


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
