"""Label tables: AU strings, emotion spellings, the MEGC2019 classes, the MEGC2018 objective classes, CD6ME.

Every corpus writes its FACS codes differently. :func:`parse_au_codes` reads all of the forms found in the
seven corpora into :class:`AUCode` records; :func:`parse_aus` reduces them to sorted AU numbers and
:func:`format_aus` writes the canonical string (``"1+2+4"``) that :class:`mefast.datasets.Dataset` keeps.

Forms understood (case-insensitive, spaces anywhere except inside a number: ``"12 14"`` is an error)::

    "1+2"  "AU1+AU2"  "4, 7"  "4，7"   separators "+", ",", the full-width comma, "、" and ";"
    "R12 + R15"  "L14"  "B4"          side prefixes: L(eft), R(ight), B(ilateral), U(nilateral), T(op)
    "R14A"  "12C"                      FACS intensity letters A-E after the number
    "12R"                              side written after the number
    "AU4(k)"  "4 (k)"                  4DME's "(k)" mark, kept as a flag
    4, 4.0, "", "/", "-", NaN          numbers from Excel cells; empty markers mean no AU

An alternative such as ``"12 or 14"`` raises :class:`AmbiguousAUError`: only a correction can resolve it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import AnnotationError

__all__ = [
    "CD6ME_AUS",
    "EMOTION_SYNONYMS",
    "MEGC2019_CLASSES",
    "MEGC2019_EXCLUDED",
    "MEGC2019_MAPS",
    "OBJECTIVE_CLASSES",
    "OBJECTIVE_CLASS_NAMES",
    "AUCode",
    "AmbiguousAUError",
    "au_name",
    "format_aus",
    "megc2019_class",
    "normalise_emotion",
    "objective_class",
    "parse_au_codes",
    "parse_aus",
    "parse_aus_lenient",
]

#: The 12 AUs of the CD6ME cross-dataset protocol (Varanka et al., MEB).
CD6ME_AUS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)

_SEPARATORS = re.compile(r"[+,，、;]")
_OR = re.compile(r"\bor\b", re.IGNORECASE)
_TOKEN = re.compile(
    r"^(?:AU)?(?P<side>[LRBUT])?(?P<num>\d+)(?P<intensity>[A-E])?(?P<side2>[LR])?(?P<flag>\((?P<mark>[a-z]+)\))?$",
    re.IGNORECASE,
)
_SPACED_DIGITS = re.compile(r"\d\s+\d")
_EMPTY_MARKERS = {"", "/", "-", "--", "none", "na", "n/a", "nan"}


class AmbiguousAUError(AnnotationError):
    """An AU string offers alternatives (``"12 or 14"``) that only a known correction can resolve."""


@dataclass(frozen=True)
class AUCode:
    """One FACS code of an AU string.

    Attributes
    ----------
    number : int
        The AU number (``12`` for ``"R12B"``).
    side : str
        ``""``, ``"L"``, ``"R"``, ``"B"``, ``"U"`` or ``"T"``.
    intensity : str
        ``""`` or a FACS intensity letter ``"A"`` to ``"E"``.
    flags : tuple of str
        Marks in parentheses, lower-case (4DME's ``"(k)"`` gives ``("k",)``).
    """

    number: int
    side: str = ""
    intensity: str = ""
    flags: tuple[str, ...] = ()


def _cell_text(value: object) -> str:
    """The text of a spreadsheet cell: ``4.0 -> "4"``, NaN/None -> ``""``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
        raise AnnotationError(f"AU cell {value!r} is a non-integer number")
    if isinstance(value, int):
        return str(value)
    return str(value)


def parse_au_codes(value: object) -> tuple[AUCode, ...]:
    """Parse one AU cell into its FACS codes, in the order written.

    Parameters
    ----------
    value : str, int, float or None
        The cell as read from a spreadsheet.

    Returns
    -------
    codes : tuple of AUCode
        Empty for an empty cell or an explicit "no AU" marker.

    Raises
    ------
    AmbiguousAUError
        The string contains ``or`` alternatives.
    AnnotationError
        A token is not an AU code; the message names the token and the whole string.

    Examples
    --------
    >>> [c.number for c in parse_au_codes("R12 + R15")]
    [12, 15]
    >>> parse_au_codes("AU4(k)")[0].flags
    ('k',)
    """
    text = _cell_text(value).strip()
    if text.lower() in _EMPTY_MARKERS:
        return ()
    if _OR.search(text):
        raise AmbiguousAUError(f"AU string {text!r} offers alternatives ('or'); a correction must resolve it")
    codes = []
    for raw in _SEPARATORS.split(text):
        if _SPACED_DIGITS.search(raw):  # "12 14" must not become AU1214
            raise AnnotationError(f"AU string {text!r}: {raw.strip()!r} holds numbers separated by a space only")
        token = re.sub(r"\s+", "", raw)
        if not token:
            continue  # "1+2+" and "1++2" occur; an empty piece carries no code
        m = _TOKEN.match(token)
        if m is None:
            raise AnnotationError(f"AU string {text!r}: {raw.strip()!r} is not an AU code")
        side = (m.group("side") or m.group("side2") or "").upper()
        flags = (m.group("mark").lower(),) if m.group("mark") else ()
        codes.append(AUCode(int(m.group("num")), side, (m.group("intensity") or "").upper(), flags))
    return tuple(codes)


def parse_aus(value: object, *, drop_flags: Iterable[str] = ()) -> tuple[int, ...]:
    """Sorted unique AU numbers of an AU cell.

    Parameters
    ----------
    value : str, int, float or None
        The cell as read from a spreadsheet.
    drop_flags : iterable of str
        Codes carrying any of these marks are left out (4DME's reader passes ``("k",)``).

    Examples
    --------
    >>> parse_aus("L14+R14A+4")
    (4, 14)
    >>> parse_aus("AU1+AU4(k)", drop_flags=("k",))
    (1,)
    """
    drop = set(drop_flags)
    return tuple(sorted({c.number for c in parse_au_codes(value) if not drop.intersection(c.flags)}))


def parse_aus_lenient(
    value: object, *, drop_flags: Iterable[str] = ()
) -> tuple[tuple[int, ...], tuple[int, ...], list[str]]:
    """Parse what can be parsed of an AU cell, for readers that must not lose a sample.

    Returns
    -------
    kept : tuple of int
        Sorted AU numbers read (codes with a mark in ``drop_flags`` excluded).
    dropped : tuple of int
        AU numbers left out because of their marks (and not also present unmarked).
    problems : list of str
        One message per piece that could not be read, or that offered ``or`` alternatives.

    >>> parse_aus_lenient("1+2+12 or 14")
    ((1, 2), (), ["AU string '12 or 14' offers alternatives ('or'); a correction must resolve it"])
    """
    try:
        codes = list(parse_au_codes(value))
        problems: list[str] = []
    except AnnotationError:
        codes, problems = [], []
        for piece in _SEPARATORS.split(_cell_text(value)):
            if not piece.strip():
                continue
            try:
                codes.extend(parse_au_codes(piece))
            except AnnotationError as e:
                problems.append(str(e))
    drop = set(drop_flags)
    kept = tuple(sorted({c.number for c in codes if not drop.intersection(c.flags)}))
    dropped = tuple(sorted({c.number for c in codes if drop.intersection(c.flags)} - set(kept)))
    return kept, dropped, problems


def format_aus(numbers: Iterable[int]) -> str:
    """The canonical AU string: sorted unique numbers joined by ``"+"`` (``""`` for none).

    >>> format_aus([12, 6, 12])
    '6+12'
    """
    return "+".join(str(n) for n in sorted({int(n) for n in numbers}))


def au_name(number: int) -> str:
    """``12 -> "AU12"``, the column name used by :meth:`Dataset.au_matrix`."""
    return f"AU{int(number)}"


# --- emotions -------------------------------------------------------------------------------------------

#: Spelling variants mapped to the one spelling mefast uses (the corpora's meaning is kept).
EMOTION_SYNONYMS: dict[str, str] = {
    "happy": "happiness",
    "sad": "sadness",
    "other": "others",
    "angry": "anger",
    "disgusted": "disgust",
    "fearful": "fear",
    "surprised": "surprise",
    "contemptuous": "contempt",
}


def normalise_emotion(label: object) -> str:
    """Lower-case, trimmed, one spelling per emotion (``"Happy" -> "happiness"``, ``"Other" -> "others"``).

    Multi-label cells such as 4DME's ``"Negative+Surprise"`` keep their parts, normalised and joined by
    ``"+"``. Empty cells give ``""``.
    """
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return ""
    parts = [re.sub(r"\s+", " ", p.strip().lower()) for p in re.split(r"[+/、,]", str(label))]
    parts = [EMOTION_SYNONYMS.get(p, p) for p in parts if p]
    return "+".join(parts)


# --- MEGC2019 -------------------------------------------------------------------------------------------

MEGC2019_CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")

#: Per corpus: normalised emotion -> MEGC2019 class. Emotions absent from a map are not part of MEGC2019
#: (CASME II "others", "fear", "sadness"; SAMM "others").
MEGC2019_MAPS: dict[str, dict[str, str]] = {
    "smic": {"negative": "negative", "positive": "positive", "surprise": "surprise"},
    "casme2": {
        "disgust": "negative",
        "repression": "negative",
        "happiness": "positive",
        "surprise": "surprise",
    },
    "samm": {
        "anger": "negative",
        "contempt": "negative",
        "disgust": "negative",
        "fear": "negative",
        "sadness": "negative",
        "happiness": "positive",
        "surprise": "surprise",
    },
}

#: (dataset, subject, clip) of samples whose emotion maps to a class but that the MEGC2019 sample list
#: leaves out (the MEB library removes the same three CASME II clips).
MEGC2019_EXCLUDED: frozenset[tuple[str, str, str]] = frozenset(
    {("casme2", "04", "EP12_01f"), ("casme2", "05", "EP12_03f"), ("casme2", "24", "EP02_07")}
)


def megc2019_class(dataset: str, emotion: str, subject: str = "", clip: str = "") -> str:
    """The MEGC2019 3-class label of a sample, ``""`` when it is not part of MEGC2019.

    >>> megc2019_class("samm", "contempt")
    'negative'
    >>> megc2019_class("casme2", "others")
    ''
    """
    if (dataset, subject, clip) in MEGC2019_EXCLUDED:
        return ""
    return MEGC2019_MAPS.get(dataset, {}).get(emotion, "")


# --- MEGC2018 objective classes -------------------------------------------------------------------------

#: Objective classes of Davison et al. (2018), "Objective classes for micro-facial expression recognition",
#: the labels of MEGC2018: class -> AU combinations. Class VII ("others") is everything else.
OBJECTIVE_CLASSES: dict[int, tuple[frozenset[int], ...]] = {
    1: tuple(map(frozenset, [(6,), (12,), (6, 12), (6, 7, 12), (7, 12)])),
    2: tuple(map(frozenset, [(1, 2), (5,), (25,), (1, 2, 25), (25, 26), (5, 24)])),
    3: tuple(map(frozenset, [(23,), (4,), (4, 7), (4, 5), (4, 5, 7), (17, 24), (4, 6, 7), (4, 38)])),
    4: tuple(
        map(
            frozenset,
            [(10,), (9,), (4, 9), (4, 40), (4, 5, 40), (4, 7, 9), (4, 9, 17), (4, 7, 10), (4, 5, 7, 9), (7, 10)],
        )
    ),
    5: tuple(map(frozenset, [(1,), (15,), (1, 4), (6, 15), (15, 17)])),
    6: tuple(map(frozenset, [(1, 2, 4), (20,)])),
}

#: The emotion each objective class stands for in Davison et al.
OBJECTIVE_CLASS_NAMES: dict[int, str] = {
    1: "happiness",
    2: "surprise",
    3: "anger",
    4: "disgust",
    5: "sadness",
    6: "fear",
    7: "others",
}


def objective_class(aus: Iterable[int]) -> int:
    """MEGC2018 objective class (1-7) of an AU set, 0 for an empty set.

    An exact match with a combination of :data:`OBJECTIVE_CLASSES` gives its class. Otherwise the largest
    listed combinations contained in the set decide when they agree on one class (``1+2+5`` is class II:
    both ``1+2`` and ``5`` are); no contained combination, or a tie between classes, gives class VII.

    >>> objective_class([6, 12])
    1
    >>> objective_class([1, 2, 5])
    2
    >>> objective_class([14])
    7
    """
    s = frozenset(int(a) for a in aus)
    if not s:
        return 0
    for cls, combos in OBJECTIVE_CLASSES.items():
        if s in combos:
            return cls
    best, classes = 0, set()
    for cls, combos in OBJECTIVE_CLASSES.items():
        for combo in combos:
            if combo <= s:
                if len(combo) > best:
                    best, classes = len(combo), {cls}
                elif len(combo) == best:
                    classes.add(cls)
    return classes.pop() if len(classes) == 1 else 7
