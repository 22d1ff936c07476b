"""The preset search's bookkeeping (``tune_presets.py``): the front it reports, with either time budget, and
``--front-of``, which reprints an earlier run's front. The search itself runs by hand (20-30 minutes)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from mefast.flow import TVL1_PRESETS


@pytest.fixture(scope="module")
def tune():
    path = Path(__file__).with_name("tune_presets.py")
    spec = importlib.util.spec_from_file_location("tune_presets_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


# DIS medium on 2 synthetic pairs (10 ms each) and 2 stereo pairs (2 ms each)
DIS = {"epe": [0.2, 0.2], "ms": 10.0}
DIS_ST = {"epe": [1.0, 1.0], "ms": 2.0}


def _result(tune, ms, stereo_ms, epe, stereo_epe, bias=0.0, preset="fast"):
    return tune.Result(asdict(TVL1_PRESETS[preset]), list(epe), ms, bias, list(stereo_epe), stereo_ms)


def _candidates(tune):
    return [
        # cheap on the synthetic pairs, slow on the stereo ones, wins everything
        _result(tune, 9.0, 8.0, [0.1, 0.1], [0.5, 0.5], preset="robust"),
        # slower on the synthetic pairs, fast on stereo, loses one stereo pair
        _result(tune, 9.5, 1.0, [0.1, 0.1], [0.5, 1.2], preset="fast"),
        # dominated by the first under either budget (slower, loses a pair)
        _result(tune, 9.8, 8.5, [0.3, 0.1], [0.5, 0.5], preset="accurate"),
        # the fastest, but biased on clean translations: never on the front
        _result(tune, 5.0, 1.0, [0.1, 0.1], [0.5, 0.5], bias=0.02, preset="opencv"),
    ]


def _front_lines(tune, timed_stereo):
    lines: list[str] = []
    tune.log_front(_candidates(tune), tune._dis_result(DIS, DIS_ST), timed_stereo, lines.append)
    return lines


def test_front_with_the_battery_budget_counts_the_synthetic_pairs_only(tune):
    lines = _front_lines(tune, timed_stereo=False)
    assert lines[0].startswith("the front over the 4 candidates")
    # 9 / 10 ms wins every pair: it alone is the front (the stereo-cheap one is slower and loses a pair)
    assert len(lines) == 2
    assert lines[1].startswith("  0.90x DIS time, lost 0/2 synthetic + 0/2 stereo")
    assert "lambda_=0.6" in lines[1]  # robust's parameters


def test_front_with_all_pairs_timed_trades_time_for_a_stereo_pair(tune):
    lines = _front_lines(tune, timed_stereo=True)
    # (2 x 9.5 + 2 x 1) / (2 x 10 + 2 x 2) = 0.875 for one stereo pair lost; (2 x 9 + 2 x 8) / 24 = 1.42 for none
    assert [line.split(";")[0] for line in lines[1:]] == [
        "  0.88x DIS time, lost 0/2 synthetic + 1/2 stereo",
        "  1.42x DIS time, lost 0/2 synthetic + 0/2 stereo",
    ]


@pytest.mark.parametrize("name", ["run.json", "run.json.gz"])
def test_front_of_reprints_a_saved_run(tune, tmp_path, capsys, name):
    run = {
        "dis_medium": DIS,
        "stereo_dis_medium": DIS_ST,
        "evaluated": [asdict(r) for r in _candidates(tune)],
    }
    path = tmp_path / name
    text = json.dumps(run)
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    for budget, timed_stereo in (("synthetic", False), ("all", True)):
        assert tune.main(["--front-of", str(path), "--fast-time", budget]) == 0
        assert capsys.readouterr().out.splitlines() == _front_lines(tune, timed_stereo)
