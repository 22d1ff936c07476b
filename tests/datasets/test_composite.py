"""Composite builders: the class and AU counts their definitions imply."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mefast.datasets import COMPOSITES, composite, load, synthetic
from mefast.labels import CD6ME_AUS, parse_aus

# What each expression category of the synthetic data is in MEGC2019 terms, per corpus, from the
# challenge's definition (CASME II: others/fear/sadness are not in it; SAMM: every negative emotion is).
MEGC2019_OF_CATEGORY = {
    "casme2": {
        "happiness": "positive",
        "surprise": "surprise",
        "disgust": "negative",
        "contempt": "negative",
        "anger": None,
        "sadness": None,
        "fear": None,
    },
    # SAMM and SMIC: every negative emotion counts.
    **dict.fromkeys(
        ("samm", "smic"),
        {"happiness": "positive", "surprise": "surprise"}
        | dict.fromkeys(("disgust", "contempt", "anger", "sadness", "fear"), "negative"),
    ),
}
OBJECTIVE_OF_CATEGORY = {
    "happiness": 1,
    "surprise": 2,
    "anger": 3,
    "disgust": 4,
    "sadness": 5,
    "fear": 6,
    "contempt": 7,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("composite")
    return synthetic.write_synthetic(
        out,
        corpora=("casme2", "samm", "smic", "casme3a"),
        n_subjects=3,
        clips_per_subject=5,
        size=(32, 32),
        n_frames=(4, 5),
        seed=21,
    )


@pytest.fixture(scope="module")
def corpora(data):
    return {c: load(c, *paths) for c, paths in data.items()}


def test_megc2019_counts(data, corpora):
    megc = composite([corpora["smic"], corpora["casme2"], corpora["samm"]], "megc2019")
    expected: Counter = Counter()
    n_expected = 0
    for corpus in ("smic", "casme2", "samm"):
        for cat in synthetic.truth(data[corpus][0]).samples["category"]:
            cls = MEGC2019_OF_CATEGORY[corpus][cat]
            if cls:
                expected[(corpus, cls)] += 1
                n_expected += 1
    got = Counter(zip(megc.samples["dataset"], megc.samples["megc2019"], strict=True))
    assert got == expected and len(megc) == n_expected
    assert set(megc.samples["megc2019"]) <= {"negative", "positive", "surprise"}
    assert megc.name == "megc2019" and megc.samples.index.equals(pd.RangeIndex(len(megc)))
    # Samples left out of MEGC2019 are exactly those of the other categories.
    left_out = len(corpora["casme2"]) - (megc.samples["dataset"] == "casme2").sum()
    assert left_out == sum(
        MEGC2019_OF_CATEGORY["casme2"][c] is None for c in synthetic.truth(data["casme2"][0]).samples["category"]
    )


def test_megc2018_keeps_objective_classes_one_to_five(data, corpora):
    megc = composite([corpora["casme2"], corpora["samm"]], "megc2018")
    expected = Counter()
    for corpus in ("casme2", "samm"):
        for cat in synthetic.truth(data[corpus][0]).samples["category"]:
            if OBJECTIVE_OF_CATEGORY[cat] <= 5:
                expected[OBJECTIVE_OF_CATEGORY[cat]] += 1
    assert Counter(megc.samples["objective_class"]) == expected


def test_cd6me_au_counts(data, corpora):
    members = [corpora["casme2"], corpora["samm"], corpora["casme3a"]]
    cd6me = composite(members, "cd6me")
    assert cd6me.au_names == tuple(f"AU{a}" for a in CD6ME_AUS)
    assert len(cd6me) == sum(len(m) for m in members)
    au = cd6me.au_matrix()
    expected = np.zeros(len(CD6ME_AUS), int)
    for corpus in ("casme2", "samm", "casme3a"):
        for text in synthetic.truth(data[corpus][0]).samples["aus"]:
            for a in parse_aus(text):
                expected[CD6ME_AUS.index(a)] += 1
    np.testing.assert_array_equal(au.sum(0), expected)
    assert Counter(cd6me.samples["dataset"]) == {
        "casme2": len(members[0]),
        "samm": len(members[1]),
        "casme3a": len(members[2]),
    }


def test_composite_keeps_frames_corrections_and_issues(corpora):
    cd = composite([corpora["casme2"], corpora["casme3a"]], "cd6me")
    n2 = len(corpora["casme2"])
    assert cd.frame_paths[n2] == corpora["casme3a"].frame_paths[0]
    assert cd.clip_dirs[n2] == corpora["casme3a"].clip_dirs[0]
    np.testing.assert_array_equal(cd.read_frames(n2), corpora["casme3a"].read_frames(0))
    renamed = corpora["casme3a"].corrections
    assert len(cd.corrections) == len(corpora["casme2"].corrections) + len(renamed)
    assert (cd.issues["problem"] == "corrections_skipped").sum() == 2


def test_other_names_concatenate(corpora):
    both = composite([corpora["casme2"], corpora["smic"]], "my_mix")
    assert len(both) == len(corpora["casme2"]) + len(corpora["smic"])
    assert both.au_names == corpora["casme2"].au_names  # SMIC has no AUs


def test_definitions_are_enforced(corpora):
    with pytest.raises(ValueError, match="cd6me.*smic"):
        composite([corpora["casme2"], corpora["smic"]], "cd6me")
    with pytest.raises(ValueError, match="megc2019"):
        composite([corpora["casme3a"]], "megc2019")
    with pytest.raises(ValueError, match="twice"):
        composite([corpora["casme2"], corpora["casme2"]], "cd6me")
    with pytest.raises(ValueError, match="no datasets"):
        composite([], "cd6me")
    assert set(COMPOSITES) == {"megc2019", "megc2018", "cd6me"}
