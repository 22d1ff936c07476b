"""``mefast preprocess``: which --root / --annotations values a corpus or a composite takes (exit 2 otherwise)."""

from __future__ import annotations

import pytest

from mefast.cli import main
from mefast.datasets import COMPOSITES


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize("composite", sorted(COMPOSITES))
def test_a_composite_with_one_unnamed_root_asks_for_named_roots(tmp_path, capsys, composite):
    out = tmp_path / "x.zarr"
    assert main(["preprocess", composite, "--root", "CASME2/Cropped", "--out", str(out)]) == 2
    assert _err(capsys) == (
        "mefast preprocess: a composite needs --root NAME=PATH for each member, got 'CASME2/Cropped'\n"
    )
    assert not out.exists()


REFUSED = {
    "other-corpus": (
        ["samm", "--root", "casme2=CASME2/Cropped"],
        "--root 'casme2=CASME2/Cropped' names casme2, but the corpus is samm: give samm's DIR (unnamed or samm=DIR)",
    ),
    "other-corpus-alias": (
        ["casmeii", "--root", "samm=SAMM"],
        "--root 'samm=SAMM' names samm, but the corpus is casme2: give casme2's DIR (unnamed or casme2=DIR)",
    ),
    "two-roots": (
        ["casme2", "--root", "casme2=CASME2/Cropped", "--root", "samm=SAMM"],
        "casme2 is one corpus: it takes one --root DIR, got 2 (several corpora make a composite, e.g. megc2019)",
    ),
    "two-unnamed-roots": (
        ["casme2", "--root", "A", "--root", "B"],
        "casme2 is one corpus: it takes one --root DIR, got 2 (several corpora make a composite, e.g. megc2019)",
    ),
    "other-annotations": (
        ["casme2", "--root", "CASME2/Cropped", "--annotations", "samm=s.xlsx"],
        "--annotations 'samm=s.xlsx' names samm, but the corpus is casme2: give casme2's FILE (unnamed or casme2=FILE)",
    ),
    "stray-composite-annotations": (
        ["megc2019", "--root", "casme2=CASME2/Cropped", "--annotations", "samm=s.xlsx"],
        "--annotations for samm, which no --root NAME=DIR gives",
    ),
}


@pytest.mark.parametrize(("args", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_one_corpus_takes_its_own_root_only(tmp_path, capsys, args, message):
    out = tmp_path / "y.zarr"
    assert main(["preprocess", *args, "--out", str(out)]) == 2
    assert _err(capsys) == f"mefast preprocess: {message}\n"
    assert not out.exists()


@pytest.fixture(scope="module")
def casme2(tmp_path_factory):
    from mefast.datasets.synthetic import write_synthetic

    out = tmp_path_factory.mktemp("corpora")
    return write_synthetic(out, corpora=("casme2",), n_subjects=1, clips_per_subject=2, n_frames=(8, 8))["casme2"]


@pytest.mark.parametrize("name", ["", "casme2=", "CASME2="], ids=["unnamed", "named", "named-upper"])
@pytest.mark.parametrize("corpus", ["casme2", "casmeii"])
def test_one_corpus_takes_its_root_unnamed_or_named_for_it(casme2, tmp_path, capsys, name, corpus):
    from mefast import MEStore

    root, ann = casme2
    out = tmp_path / "s.zarr"
    fast = ["--size", "16", "--crop-size", "32", "--features", "flow", "--jobs", "1", "--no-progress"]
    args = ["preprocess", corpus, "--root", f"{name}{root}", "--annotations", f"{name}{ann}"]
    assert main([*args, "--out", str(out), *fast]) == 0
    st = MEStore.open(out, mode="r")
    assert st.attrs["corpus"] == "casme2" and set(st.meta["dataset"]) == {"casme2"} and len(st) == 2
