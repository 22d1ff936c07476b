"""mefast preprocess --magnify-method learned: the dual-branch paper's amplified frame from the command line
(the CLI offered the Eulerian and Lagrangian methods only, so its recipe could not make the paper's input)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mefast import MEStore, datasets
from mefast.cli import main
from mefast.datasets.synthetic import write_synthetic

torch = pytest.importorskip("torch")
from mefast.pipeline import PreprocessOptions, preprocess  # noqa: E402
from mefast.train.magnification import LBMM  # noqa: E402

FAST = ["--size", "32x32", "--crop-size", "64", "--jobs", "1", "--no-progress"]


@pytest.fixture(scope="module")
def samm(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpora")
    return write_synthetic(out, corpora=("samm",), n_subjects=1, clips_per_subject=2, n_frames=(8, 10))["samm"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("lbmm") / "lbmm.pt"
    torch.save(LBMM().state_dict(), path)
    return path


def test_learned_magnifier_from_the_command_line(samm, weights, tmp_path, capsys):
    root, ann = samm
    args = ["preprocess", "samm", "--root", str(root), "--annotations", str(ann), "--features", "amplified", *FAST]
    assert main([*args, "--out", str(tmp_path / "l.zarr"), "--magnify-method", "learned",
                 "--magnify-weights", str(weights)]) == 0, capsys.readouterr().err  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "e.zarr")]) == 0
    learned, eulerian = MEStore.open(tmp_path / "l.zarr"), MEStore.open(tmp_path / "e.zarr")
    recorded = learned.attrs["parameters"]["options"]["magnify"]
    assert learned.done.all() and recorded == {
        "method": "learned",
        "method_options": {"weights": str(weights)},
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
    }
    a, b = learned.read("amplified", slice(None)), eulerian.read("amplified", slice(None))
    assert a.shape == b.shape and np.isfinite(a).all() and not np.allclose(a, b)  # another magnifier ran


def test_learned_magnifier_cli_equals_the_api(samm, weights, tmp_path):
    """The command line asks the pipeline for what PreprocessOptions(magnify={"method": "learned", ...}) does."""
    root, ann = samm
    out = tmp_path / "cli.zarr"
    assert main(["preprocess", "samm", "--root", str(root), "--annotations", str(ann), "--out", str(out),
                 "--features", "amplified,on_a", "--magnify-method", "learned", "--magnify-weights", str(weights),
                 "--on-off-target", "auto", *FAST]) == 0  # fmt: skip
    api = tmp_path / "api.zarr"
    opts = PreprocessOptions(
        crop_size=(64, 64),
        magnify={"method": "learned", "method_options": {"weights": str(weights)}, "on_off_target": "auto"},
    )
    preprocess(datasets.load("samm", root, ann), api, features=("amplified", "on_a"), size=(32, 32), options=opts,
               n_jobs=1, progress=False)  # fmt: skip
    a, b = MEStore.open(out), MEStore.open(api)
    for name in ("amplified", "on_a"):
        np.testing.assert_array_equal(a.read(name, slice(None)), b.read(name, slice(None)))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--magnify-method", "learned"], "--magnify-method learned needs --magnify-weights FILE"),
        (["--magnify-weights", "w.pt"], "--magnify-weights is for --magnify-method learned, got --magnify-method None"),
        (["--magnify-method", "learned", "--magnify-weights", "/no/such/w.pt"], "no such file or folder"),
    ],
)
def test_learned_magnifier_arguments_are_checked_first(samm, tmp_path, capsys, extra, message):
    root, ann = samm
    out = tmp_path / "x.zarr"
    rc = main(["preprocess", "samm", "--root", str(root), "--annotations", str(ann), "--out", str(out), *extra, *FAST])
    assert rc == 2 and message in capsys.readouterr().err and not out.exists()


def test_other_weights_at_the_same_path_are_another_setting(samm, tmp_path, capsys):
    """The store records the weights' SHA-256, not only their path: a resume after the file was replaced by
    another network is refused (its samples would mix two magnifiers), and nothing stored is touched."""
    root, ann = samm
    path, out = tmp_path / "w.pt", tmp_path / "s.zarr"
    torch.manual_seed(1)
    torch.save(LBMM().state_dict(), path)
    args = ["preprocess", "samm", "--root", str(root), "--annotations", str(ann), "--out", str(out), "--features",
            "amplified", "--magnify-method", "learned", "--magnify-weights", str(path), *FAST]  # fmt: skip
    assert main(args) == 0
    before = MEStore.open(out).read("amplified", slice(None))
    assert main(args) == 0 and "(0 computed, 2 already done" in capsys.readouterr().out  # same file: resumes
    torch.manual_seed(2)
    torch.save(LBMM().state_dict(), path)
    assert main(args) != 0
    assert "options.magnify.weights_sha256" in capsys.readouterr().err
    np.testing.assert_array_equal(MEStore.open(out).read("amplified", slice(None)), before)
