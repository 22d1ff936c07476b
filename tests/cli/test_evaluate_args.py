"""``mefast evaluate`` refuses options that do not apply to the model (exit 2, one line) instead of ignoring them."""

from __future__ import annotations

import pytest

from mefast.cli import main

HEAD = ["evaluate", "--store", "none.zarr", "--protocol", "loso"]


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize("model", ["svm", "constant"])
@pytest.mark.parametrize(
    "option",
    [
        ["--noisy", "ltm"],
        ["--weights", "/nonexistent.pt"],
        ["--early-stopping"],
        ["--epochs", "5"],
        ["--batch-size", "8"],
        ["--lr", "0.1"],
        ["--clean-ids", "ids.txt"],
        ["--variant", "au"],
        ["--input-size", "64"],
        ["--save-models", "models"],
        ["--device", "cpu"],
        ["--device", "auto"],  # the default's value, given: still refused
        ["--threads", "2"],
        ["--workers", "0"],
        ["--epochs", "0"],  # 0 is given, not a default
    ],
    ids=lambda o: " ".join(o),
)
def test_baselines_refuse_each_network_option(capsys, model, option):
    assert main([*HEAD, "--model", model, *option]) == 2
    assert _err(capsys) == f"mefast evaluate: {option[0]} does not apply to --model {model}, which trains no network\n"


def test_baselines_name_every_network_option_given(capsys):
    args = ["--model", "svm", "--noisy", "ltm", "--weights", "/nonexistent.pt", "--early-stopping", "--epochs", "5"]
    assert main([*HEAD, *args]) == 2
    assert _err(capsys) == (
        "mefast evaluate: --weights, --epochs, --noisy and --early-stopping do not apply to --model svm, "
        "which trains no network\n"
    )


@pytest.mark.parametrize("model", ["sssnet", "constant", "dualbranch"])
@pytest.mark.parametrize("feature", ["lbptop", "flow"])
def test_feature_is_for_the_svm_only(capsys, model, feature):
    assert main([*HEAD, "--model", model, "--feature", feature]) == 2
    assert _err(capsys) == (
        f"mefast evaluate: --feature does not apply to --model {model}: it picks the input of --model svm only\n"
    )


NOT_USED = {
    "input-size-fixed": (["sssnet", "--input-size", "32"], "--input-size does not apply to --model sssnet, "
                         "whose input size is fixed"),
    "variant": (["sssnet", "--variant", "au"], "--variant does not apply to --model sssnet: "
                "it goes with dualbranch or singlebranch"),
    "workers-dualbranch": (["dualbranch", "--workers", "2"], "--workers does not apply to --model dualbranch: "
                           "its loop reads the store in the main process"),
}  # fmt: skip


@pytest.mark.parametrize(("args", "message"), NOT_USED.values(), ids=NOT_USED.keys())
def test_network_options_a_network_does_not_use_are_refused(capsys, args, message):
    pytest.importorskip("torch")
    assert main([*HEAD, "--model", *args]) == 2
    assert _err(capsys) == f"mefast evaluate: {message}\n"


class _Reached(ValueError):
    pass


@pytest.fixture
def calls(monkeypatch):
    """Stop ``mefast evaluate`` where it calls mefast.train.evaluate, recording the arguments it passes."""
    train = pytest.importorskip("mefast.train")
    seen: list[tuple[tuple, dict]] = []

    def fake(*args, **kwargs):
        seen.append((args, kwargs))
        raise _Reached("reached evaluate")

    monkeypatch.setattr(train, "evaluate", fake)
    return seen


@pytest.mark.parametrize(
    "args",
    [
        ["--model", "svm"],
        ["--model", "svm", "--feature", "lbptop"],
        ["--model", "constant"],
        ["--model", "ststnet"],
        ["--model", "resnet18", "--input-size", "64", "--device", "cpu", "--workers", "1", "--epochs", "2"],
        ["--model", "dualbranch", "--input-size", "64", "--device", "cpu"],
    ],
    ids=lambda a: " ".join(a),
)
def test_defaults_and_applying_options_reach_the_run(capsys, calls, args):
    assert main([*HEAD, *args]) == 2
    assert _err(capsys) == "mefast evaluate: reached evaluate\n"
    (_, kwargs) = calls[0]
    assert kwargs["feature"] == (args[3] if "--feature" in args else "flow")
    config = kwargs["config"]
    assert config.device == ("cpu" if "--device" in args else "auto")
    if args[1] not in ("svm", "constant", "dualbranch"):
        assert config.num_workers == (1 if "--workers" in args else 0)
