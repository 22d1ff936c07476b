"""Label tables: AU strings as each corpus writes them, emotions, MEGC2019 and the objective classes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mefast import labels
from mefast.errors import AnnotationError
from mefast.labels import (
    CD6ME_AUS,
    OBJECTIVE_CLASSES,
    AmbiguousAUError,
    AUCode,
    format_aus,
    megc2019_class,
    normalise_emotion,
    objective_class,
    parse_au_codes,
    parse_aus,
    parse_aus_lenient,
)

# AU cells in the forms the corpora write them (spreadsheet cells as pandas reads them).
CORPUS_FORMS = [
    ("casme2 plain", "1+2", (1, 2)),
    ("casme2 side prefix", "4+L10", (4, 10)),
    ("casme2 numeric cell", 14, (14,)),
    ("casme2 float cell", 4.0, (4,)),
    ("casme2 trailing plus", "12+", (12,)),
    ("samm spaced with sides", "R12 + R15", (12, 15)),
    ("samm intensity", "R14A", (14,)),
    ("samm side and intensity", "L12B+R12C", (12,)),
    ("samm long", "4+7+43", (4, 7, 43)),
    ("4dme AU prefix", "AU1+AU2+AU4", (1, 2, 4)),
    ("4dme k mark", "AU12+AU14(k)", (12, 14)),
    ("casme3c commas", "1,2", (1, 2)),
    ("casme3c full-width comma", "4，7", (4, 7)),
    ("side after number", "12R", (12,)),
    ("lower-case prefix", "au1+au2", (1, 2)),
    ("ideographic comma", "6、12", (6, 12)),
    ("empty string", "", ()),
    ("slash", "/", ()),
    ("nan", math.nan, ()),
    ("none", None, ()),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in CORPUS_FORMS], ids=[c[0] for c in CORPUS_FORMS])
def test_parse_aus_reads_every_corpus_form(value, expected):
    assert parse_aus(value) == expected


def test_parse_au_codes_keeps_side_intensity_and_marks():
    codes = parse_au_codes("R12B + L14 + AU4(k) + 6")
    assert codes == (AUCode(12, "R", "B"), AUCode(14, "L"), AUCode(4, flags=("k",)), AUCode(6))


def test_k_marked_aus_can_be_dropped():
    assert parse_aus("AU1+AU2+AU4(k)", drop_flags=("k",)) == (1, 2)
    assert parse_aus("AU4+AU4(k)", drop_flags=("k",)) == (4,)


@pytest.mark.parametrize("text", ["12 or 14", "R12 or R15", "14 OR 15"])
def test_or_alternatives_are_ambiguous(text):
    with pytest.raises(AmbiguousAUError, match="alternatives"):
        parse_aus(text)
    assert issubclass(AmbiguousAUError, AnnotationError)


@pytest.mark.parametrize("text", ["12+x", "AU", "1+2?", "1.5"])
def test_bad_tokens_are_named(text):
    with pytest.raises(AnnotationError, match="AU"):
        parse_aus(text)


@pytest.mark.parametrize("text", ["12 14", "1+2 4", "AU12 14"])
def test_numbers_separated_only_by_a_space_are_not_merged(text):
    # "12 14" once read as AU1214: a silent wrong label.
    with pytest.raises(AnnotationError, match="separated by a space"):
        parse_aus(text)
    kept, _, problems = parse_aus_lenient(text)
    assert all(a < 100 for a in kept) and len(problems) == 1


def test_non_integer_number_cell_is_rejected():
    with pytest.raises(AnnotationError, match="non-integer"):
        parse_aus(4.5)


def test_lenient_parse_keeps_readable_pieces_and_reports_the_rest():
    kept, dropped, problems = parse_aus_lenient("1+2+12 or 14+x", drop_flags=("k",))
    assert kept == (1, 2) and dropped == ()
    assert len(problems) == 2 and "12 or 14" in problems[0] and "'x'" in problems[1]
    kept, dropped, problems = parse_aus_lenient("AU1+AU25(k)", drop_flags=("k",))
    assert (kept, dropped, problems) == ((1,), (25,), [])


@given(st.lists(st.integers(1, 99), max_size=6))
def test_format_and_parse_round_trip(numbers):
    text = format_aus(numbers)
    assert parse_aus(text) == tuple(sorted(set(numbers)))
    assert format_aus(parse_aus(text)) == text


@given(
    st.lists(
        st.tuples(st.sampled_from(["", "L", "R", "AU", "AUR"]), st.integers(1, 64), st.sampled_from(["", "A", "E"])),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["+", " + ", ",", "，"]),
)
def test_any_combination_of_prefixes_suffixes_and_separators(parts, sep):
    text = sep.join(f"{p}{n}{i}" for p, n, i in parts)
    assert parse_aus(text) == tuple(sorted({n for _, n, _ in parts}))


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Happiness", "happiness"),
        ("happy", "happiness"),
        (" Sad ", "sadness"),
        ("Other", "others"),
        ("Others", "others"),
        ("others", "others"),
        ("Negative+Surprise", "negative+surprise"),
        ("Contempt", "contempt"),
        (math.nan, ""),
    ],
)
def test_emotion_spellings(raw, norm):
    assert normalise_emotion(raw) == norm


@pytest.mark.parametrize(
    ("dataset", "emotion", "cls"),
    [
        ("smic", "negative", "negative"),
        ("smic", "positive", "positive"),
        ("smic", "surprise", "surprise"),
        ("casme2", "happiness", "positive"),
        ("casme2", "disgust", "negative"),
        ("casme2", "repression", "negative"),
        ("casme2", "surprise", "surprise"),
        ("casme2", "others", ""),
        ("casme2", "fear", ""),
        ("casme2", "sadness", ""),
        ("samm", "anger", "negative"),
        ("samm", "contempt", "negative"),
        ("samm", "disgust", "negative"),
        ("samm", "fear", "negative"),
        ("samm", "sadness", "negative"),
        ("samm", "happiness", "positive"),
        ("samm", "surprise", "surprise"),
        ("samm", "others", ""),
        ("casme3a", "happiness", ""),
        ("mmew", "surprise", ""),
    ],
)
def test_megc2019_mapping(dataset, emotion, cls):
    assert megc2019_class(dataset, emotion) == cls


def test_megc2019_excluded_clips():
    assert megc2019_class("casme2", "disgust", "04", "EP12_01f") == ""
    assert megc2019_class("casme2", "disgust", "04", "EP12_02f") == "negative"


def test_every_listed_combination_gives_its_objective_class():
    seen = {}
    for cls, combos in OBJECTIVE_CLASSES.items():
        for combo in combos:
            assert objective_class(combo) == cls, combo
            assert combo not in seen, f"{set(combo)} listed in classes {seen[combo]} and {cls}"
            seen[combo] = cls


@pytest.mark.parametrize(
    ("aus", "cls"),
    [
        ((), 0),
        ((14,), 7),
        ((14, 17), 7),
        ((1, 2, 5), 2),  # 1+2 (II) is the largest contained combination
        ((6, 12, 25), 1),  # 6+12 (I)
        ((1, 2, 4, 5), 6),  # 1+2+4 (VI)
        ((4, 7, 9, 17), 4),  # 4+7+9 (IV)
        ((1, 12), 7),  # 1 (V) and 12 (I) tie
    ],
)
def test_objective_class_of_unlisted_sets(aus, cls):
    assert objective_class(aus) == cls


def test_cd6me_au_set():
    assert CD6ME_AUS == (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)
    assert labels.au_name(12) == "AU12"


def test_old_module_path_warns_and_gives_the_same_tables():
    import importlib
    import sys

    sys.modules.pop("mefast.datasets.labels", None)
    with pytest.warns(DeprecationWarning, match="import mefast.labels instead"):
        old = importlib.import_module("mefast.datasets.labels")
    assert old.parse_aus is labels.parse_aus and old.CD6ME_AUS == labels.CD6ME_AUS
    assert set(old.__all__) == set(labels.__all__)


def test_importing_protocols_loads_no_corpus_reader():
    import subprocess
    import sys

    code = "import sys, mefast.protocols; print(sorted(m for m in sys.modules if m.startswith('mefast.datasets')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
