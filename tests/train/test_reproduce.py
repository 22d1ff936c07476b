"""Experiment files: each parses, each --quick run completes on the synthetic corpora, outputs hold both numbers."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from mefast.train.reproduce import (  # noqa: E402
    ExperimentError,
    experiment_files,
    load_experiment,
    run_experiment,
)

SHIPPED = sorted(experiment_files())
EXPECTED = {
    "noisy-table2",
    "noisy-table3",
    "leakage-table3",
    "leakage-table5",
    "leakage-table6",
    "leakage-table7",
    "leakage-table8",
    "leakage-table9",
    "leakage-table10",
    "leakage-table11",
    "tutorial-ststnet",
    "tutorial-dssn",
    "dualbranch-table3",
    "dualbranch-table4",
}


def test_the_published_tables_are_shipped():
    assert EXPECTED <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_experiment_file_parses(name):
    exp = load_experiment(name)
    assert exp.rows and exp.columns and exp.source
    assert any(r.get("published") for r in exp.rows)
    for row in exp.missing_rows:
        assert row["missing"].strip()  # every row mefast cannot run says why


@pytest.mark.parametrize("name", SHIPPED)
def test_quick_run(name, quick_store_path, tmp_path):
    exp = load_experiment(name)
    res = run_experiment(exp, store=quick_store_path, quick=True)
    cells = res.cells
    assert len(cells) == len(exp.rows) * len(exp.columns)
    ran = cells[cells["measured"].notna()]
    selected = exp.quick.get("rows") or [r["name"] for r in exp.runnable_rows]
    for row in exp.runnable_rows:
        if row["name"] not in selected:
            continue
        mine = cells[cells["row"].str.startswith(row["name"])]
        lacking = mine["note"].str.contains("has no '|needs the clean", regex=True).all()
        assert lacking or mine["measured"].notna().any(), (row["name"], mine["note"].unique())
    assert len(ran) > 0
    # measured - published wherever both exist
    both = ran[ran["published"].notna()]
    assert all(
        math.isclose(d, m - p) for d, m, p in zip(both["difference"], both["measured"], both["published"], strict=True)
    )
    md = res.to_markdown()
    assert "Quick run on synthetic corpora" in md and exp.title in md
    leaky = cells[cells["leaky"]]
    assert all("LEAKY" in r for r in leaky["row"])
    if len(leaky):
        assert "LEAKY" in md
    md_path, csv_path = res.write(tmp_path)
    assert md_path.read_text() == md and "published" in csv_path.read_text().splitlines()[0]


def _write(tmp_path, body):
    path = tmp_path / "x.toml"
    path.write_text(body)
    return path


BASE = """
[data]
protocol = "loso"
[[columns]]
key = "Full"
read = "overall"
"""


@pytest.mark.parametrize(
    "body, message",
    [
        (BASE + '[[rows]]\nname = "a"\nmodel = "vgg"\n', "not registered"),
        (BASE + '[[rows]]\nname = "a"\nmodel = "svm"\npublished = { Other = 1.0 }\n', "unknown columns"),
        (BASE + '[[rows]]\nname = "a"\n', "needs model"),
        (BASE + '[[rows]]\nname = "a"\nmodel = "sssnet"\nnoisy = "xyz"\n', "noisy 'xyz'"),
        (BASE.replace("loso", "kfold") + '[[rows]]\nname = "a"\nmodel = "svm"\n', "protocol must be one of"),
        (BASE + '[[rows]]\nname = "a"\nmodel = "svm"\nrun = { train_datasets = "most" }\n', "train_datasets 'most'"),
        ("[data\n", "not valid TOML"),
        (
            BASE.replace('read = "overall"', 'read = "overall"\nrun = { train_datasets = ["casme2"] }')
            + '[[rows]]\nname = "a"\nmodel = "svm"\nrun = { train_datasets = "all-but-test" }\n',
            r"row 'a' and column 'Full' set \['train_datasets'\] differently",
        ),
    ],
)
def test_bad_experiment_files_are_refused(tmp_path, body, message):
    with pytest.raises(ExperimentError, match=message):
        load_experiment(_write(tmp_path, body))


def test_unknown_name_and_missing_root():
    with pytest.raises(ExperimentError, match="no experiment 'nope'"):
        load_experiment("nope")
    with pytest.raises(ExperimentError, match="give --root"):
        run_experiment("leakage-table3")


def test_cli_list_needs_no_torch():
    code = (
        "import sys; from mefast.cli import main; rc = main(['reproduce', '--list']); "
        "assert 'torch' not in sys.modules; sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for name in EXPECTED:
        assert name in out


def test_cli_quick_run_writes_tables(quick_store_path, tmp_path, capsys):
    from mefast.cli import main

    rc = main(["reproduce", "tutorial-ststnet", "--quick", "--store", str(quick_store_path), "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "published / mefast (difference)" in out and (tmp_path / "tutorial-ststnet.csv").is_file()
    assert main(["reproduce"]) == 2


def test_extra_data_rows_train_on_the_other_corpora(quick_store_path, monkeypatch):
    """Table 10's "+ extra data" rows add every corpus but the test one to the training data: each cell runs
    with its own training corpora (a column that named them too used to override the row's, so the extra-data
    rows ran, and reported, the plain rows' jobs)."""
    import mefast.train.reproduce as rp

    seen: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    have: set[str] = set()

    def spy(st, params, *args):
        have.update(st.meta["dataset"].astype(str))
        train = params.get("train_datasets")
        train = sorted(have - set(params["test_datasets"])) if train == "all-but-test" else train
        seen.append((params["model"], tuple(train or ()), tuple(params["test_datasets"])))
        return "not run: recorded by the test"

    monkeypatch.setattr(rp, "_run_cell", spy)
    run_experiment("leakage-table10", store=quick_store_path, quick=True, rows=["SSSNet", "SSSNet + extra data"])
    assert {"casme2", "samm", "casme"} <= have
    assert sorted(seen) == sorted(
        [
            ("sssnet", (), ("samm",)),  # megc2018-holdout trains on the pair's other corpus
            ("sssnet", (), ("casme2",)),
            ("sssnet", tuple(sorted(have - {"samm"})), ("samm",)),
            ("sssnet", tuple(sorted(have - {"casme2"})), ("casme2",)),
        ]
    )


@pytest.mark.parametrize("theirs", ["CASME2/Cropped/sub01/img1.jpg", "SAMM/SAMM_Micro_FACS_Codes_v2.xlsx"])
def test_quick_run_refuses_a_root_holding_other_data(tmp_path, capsys, theirs):
    """--quick --root DIR writes the synthetic corpora under DIR/raw: a corpus folder or sheet there that the
    synthetic writer did not write (no truth file) is someone's data, refused and left as it was."""
    from mefast.cli import main

    mine = tmp_path / "raw" / theirs
    mine.parent.mkdir(parents=True)
    mine.write_text("mine")
    assert main(["reproduce", "tutorial-ststnet", "--quick", "--root", str(tmp_path)]) == 2
    assert "holds files the quick run did not write; choose another --root" in capsys.readouterr().err
    assert mine.read_text() == "mine" and not (tmp_path / "quick.zarr").exists()


def test_quick_run_rebuilds_over_its_own_corpora(tmp_path, monkeypatch):
    """The corpora an earlier quick run wrote (its truth files) are replaced, not refused."""
    import mefast.train.reproduce as rp
    from mefast.datasets.synthetic import write_synthetic

    write_synthetic(tmp_path / "raw", corpora=("casme2",), n_subjects=1, clips_per_subject=1, size=(32, 32),
                    n_frames=(4, 4), cropped=True)  # fmt: skip
    monkeypatch.setattr(rp, "_QUICK_CORPORA", ("casme2",))
    monkeypatch.setattr("mefast.pipeline.preprocess", lambda *a, **k: None)  # the writing is what is checked
    assert rp.quick_store(tmp_path, n_subjects=2, clips_per_subject=1) == tmp_path / "quick.zarr"
    assert len(list((tmp_path / "raw" / "CASME2" / "Cropped").glob("sub*"))) == 2


def test_quick_run_without_root_removes_its_temporary_folder(quick_store_path, monkeypatch):
    import mefast.train.reproduce as rp

    made: list[str] = []

    def in_temp_folder(path, **kwargs):
        made.append(path)
        return quick_store_path

    monkeypatch.setattr(rp, "quick_store", in_temp_folder)
    res = run_experiment("tutorial-ststnet", quick=True, epochs=1)
    assert len(made) == 1 and "mefast-quick-" in str(made[0])
    assert not Path(made[0]).exists()
    assert res.quick and len(res.cells) and res.to_markdown()  # the result needs none of the folder's files
