"""``mefast show`` draws every view into a PNG and reports bad input with exit status 2; ``mefast demo``
writes its HTML report next to the store."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mefast.cli import main


def _png(path):
    img = Image.open(path)
    img.load()
    assert img.format == "PNG" and np.asarray(img.convert("L")).std() > 5
    return img.size


@pytest.mark.parametrize(
    "args",
    [
        ["--what", "gallery", "-n", "6", "--tile", "40"],
        ["--what", "class-means", "--by", "au"],
        ["--what", "flow", "--sample", "samm/s3/clip07"],
        ["--what", "tsne", "--feature", "biwoof"],
    ],
    ids=["gallery", "class-means", "flow", "tsne"],
)
def test_show_store_views(store, tmp_path, args, capsys):
    out = tmp_path / "fig.png"
    assert main(["show", str(store.path), *args, "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    _png(out)


@pytest.mark.parametrize("what", ["confusion", "corpus"])
def test_show_results_views(tmp_path, write_results, what):
    write_results(tmp_path / "r", seeds=(0, 1))
    out = tmp_path / f"{what}.png"
    assert main(["show", str(tmp_path / "r"), "--what", what, "--out", str(out)]) == 0
    assert _png(out) == ((1000, 480) if what == "confusion" else (900, 420))


def test_show_au_f1_and_tsne_of_saved_embeddings(tmp_path, write_results):
    ev = write_results(tmp_path / "r", label="au", seeds=(0,))
    out = tmp_path / "au.png"
    assert main(["show", str(tmp_path / "r"), "--what", "au-f1", "--out", str(out)]) == 0
    _png(out)
    rows = np.unique(ev.predictions["row"].to_numpy())
    emb = np.random.default_rng(0).normal(size=(len(rows), 8))
    np.savez(tmp_path / "r" / "embeddings.npz", embedding=emb, row=rows)
    assert main(["show", str(tmp_path / "r"), "--what", "tsne", "--out", str(tmp_path / "t.png")]) == 0
    _png(tmp_path / "t.png")


def test_show_magnified_when_present(tmp_path, make_store, capsys):
    plain = make_store(tmp_path / "p.zarr", n=4)
    assert main(["show", str(plain.path), "--what", "magnified", "--out", str(tmp_path / "m.png")]) == 2
    assert "no magnified frames" in capsys.readouterr().err
    mag = make_store(tmp_path / "m.zarr", n=4, magnified=True)
    assert main(["show", str(mag.path), "--what", "magnified", "--out", str(tmp_path / "m.png")]) == 0


def test_show_bad_input_is_a_clear_error(store, tmp_path, write_results, capsys):
    write_results(tmp_path / "r", seeds=(0,))
    cases = [
        ([str(store.path), "--what", "confusion"], "not a store"),
        ([str(tmp_path / "r"), "--what", "gallery"], "draws one store"),
        ([str(tmp_path / "r"), "--what", "au-f1"], "AU detection"),
        ([str(store.path), "--what", "flow", "--sample", "x/y"], "not in the"),
        ([str(tmp_path / "nothing"), "--what", "confusion"], "not an 'mefast evaluate --out' folder"),
        ([str(store.path), "--what", "gallery", "--out", str(tmp_path / "g.jpg")], "PNG"),
    ]
    for args, message in cases:
        assert main(["show", *args]) == 2, args
        assert message in capsys.readouterr().err


def test_show_cam_of_a_trained_model(tmp_path, store):
    pytest.importorskip("torch")
    out = tmp_path / "cam.png"
    args = ["show", str(store.path), "--what", "cam", "--model", "ststnet", "--epochs", "2", "--sample", "0"]
    assert main([*args, "--out", str(out)]) == 0
    _png(out)


def test_demo_writes_the_report_next_to_its_store(tmp_path, monkeypatch, write_results):
    """run_demo passes a results folder to an evaluation hook that takes one, then reports store and tables."""
    from mefast._cli import demo

    seen = {}

    def fake_hook(store_path, *, n_jobs=None, results_dir=None):
        seen["results_dir"] = results_dir
        write_results(tmp_path / "results" / "random", seeds=(0,))
        return "| Method | UF1 |\n|:--|--:|\n| Random | 0.3 |"

    monkeypatch.setattr(demo, "_evaluation_hook", lambda: fake_hook)
    result = demo.run_demo(tmp_path, corpora=("casme2",), n_subjects=2, clips_per_subject=2, n_jobs=1, progress=False)
    assert result.report.complete
    assert seen["results_dir"] == str(tmp_path / "results")
    assert result.html == tmp_path / "report.html" and result.html.exists()
    assert result.lines[-1].startswith(f"report: {result.html}")  # then the "inspect it with" line
    assert result.lines[-2].startswith("| Method | UF1 |")  # the evaluation text stays second to last
    html = result.html.read_text(encoding="utf-8")
    from mefast.store import MEStore

    has_au = bool(MEStore.open(result.store).au.any())
    # gallery, class means by emotion (and by AU), the confusion matrix, the per-corpus chart
    assert html.count("data:image/png;base64,") == 4 + has_au
    assert "<td>Random</td>" in html
    no_report = demo.run_demo(
        tmp_path / "b", corpora=("casme2",), n_subjects=2, clips_per_subject=1, n_jobs=1, progress=False,
        evaluate=False, html_report=False,
    )  # fmt: skip
    assert no_report.html is None and not (tmp_path / "b" / "report.html").exists()
