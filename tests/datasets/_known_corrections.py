"""The known annotation corrections, written out by hand: the oracle the correction tests check against.

Independent of :data:`mefast.datasets.SPECS`: each entry is transcribed from the MEB library's dataset code
(github.com/tvaranka/meb, ``meb/datasets/datasets.py`` at f731b0a9, the ``data_frame`` method of each corpus
class), so a wrong or missing entry in mefast's tables fails a test instead of being planted and "fixed" by
the very table under test. Rows are 0-based data rows of the sheet as the corpus distributes it.

``mistake`` says what the released sheet holds at that cell:

- ``"wrong"``: some other frame number (the tests plant ``value + 7``),
- ``"missing"``: no frame number (the tests plant ``'/'``),
- ``"or"``: an AU cell offering alternatives (the tests plant ``'12 or 14'``),
- ``"swapped"``: the AU and emotion labels of this row and of row ``value`` are exchanged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    """One known correction: at ``row``, ``field`` holds a ``mistake`` that ``value`` replaces."""

    row: int
    field: str
    value: int | str
    mistake: str


def _frames(field: str, mistake: str, pairs: tuple[tuple[int, int], ...]) -> tuple[Known, ...]:
    return tuple(Known(r, field, v, mistake) for r, v in pairs)


KNOWN: dict[str, tuple[Known, ...]] = {
    # MEB Casme.data_frame: "Fix mistakes in the files based on the image folders" (onsets, offsets) and
    # "Apex to middle frame" for rows 40, 42, 43.
    "casme": (
        *_frames("onset", "wrong", ((40, 100), (42, 101), (43, 57))),
        *_frames("offset", "wrong", ((40, 149), (42, 119), (43, 74), (54, 40), (140, 142))),
        *_frames("apex", "wrong", ((40, 120), (42, 110), (43, 65))),
    ),
    # MEB Casme2.data_frame: "Mistake in file, change offset to 91" (row 60) and "Missing apex in file,
    # change based on optical flow" (21 rows).
    "casme2": (
        Known(60, "offset", 91, "wrong"),
        *_frames(
            "apex",
            "missing",
            (
                (29, 279),
                (35, 68),
                (43, 77),
                (45, 81),
                (51, 166),
                (53, 100),
                (60, 78),
                (117, 187),
                (118, 89),
                (126, 80),
                (136, 88),
                (147, 134),
                (155, 231),
                (168, 53),
                (170, 329),
                (177, 111),
                (202, 91),
                (203, 103),
                (234, 98),
                (237, 153),
                (238, 98),
            ),
        ),
    ),
    # MEB Samm.data_frame: "Mistake in file, change offset" (row 56), "Missing apex in file" (3 rows) and
    # "Samples that have 'or' in the AU" resolved from optical flow (5 rows; MEB writes "R12 + R15").
    "samm": (
        Known(56, "offset", 5739, "wrong"),
        *_frames("apex", "missing", ((125, 1105), (132, 4945), (133, 5130))),
        Known(15, "aus", "R12 + R15", "or"),
        Known(18, "aus", "R12 + R15", "or"),
        Known(41, "aus", "L14", "or"),
        Known(64, "aus", "R14", "or"),
        Known(154, "aus", "R14A", "or"),
    ),
    # MEB Mmew.data_frame: "Incorrect apex and offset, change them" (16 rows, apex and offset each).
    "mmew": tuple(
        k
        for r, a, o in (
            (33, 40, 75),
            (35, 15, 54),
            (36, 46, 59),
            (37, 20, 98),
            (38, 25, 80),
            (39, 20, 93),
            (40, 23, 58),
            (41, 28, 61),
            (42, 32, 68),
            (142, 56, 88),
            (143, 32, 80),
            (145, 27, 85),
            (146, 22, 61),
            (148, 29, 108),
            (154, 31, 72),
            (156, 38, 106),
        )
        for k in (Known(r, "apex", a, "wrong"), Known(r, "offset", o, "wrong"))
    ),
    # MEB Fourd.data_frame: "Switch 144 and 145" (the label columns from "AU" on).
    "4dme": (Known(144, "labels", 145, "swapped"),),
    # MEB Casme3A.data_frame: apex of row 128, onset of row 749, offsets of rows 708, 796, 798, and onset and
    # apex of row 750 set to frame 1.
    "casme3a": (
        Known(128, "apex", 123, "wrong"),
        Known(749, "onset", 2647, "wrong"),
        *_frames("offset", "wrong", ((708, 34), (796, 1845), (798, 2403))),
        Known(750, "onset", 1, "wrong"),
        Known(750, "apex", 1, "wrong"),
    ),
}

#: What mefast's ``Correction.when`` should say for each kind of mistake.
WHEN = {"wrong": "always", "swapped": "always", "missing": "missing", "or": "or"}
