"""SAMM (Davison et al. 2018, IEEE TAFFC 9(1)): 159 micro-movements of 32 subjects at 200 fps, grey frames.

Layout as distributed::

    SAMM/
      SAMM_Micro_FACS_Codes_v2.xlsx        13 rows of notes, then the header row: Subject, Filename,
                                           Inducement Code, Onset Frame, Apex Frame, Offset Frame, Duration,
                                           Micro, Action Units, Estimated Emotion, Objective Classes, Notes
      SAMM/006/006_1_2/006_05562.jpg ...   frames (grey, 960x650); the folder holds onset..offset

Subjects are ``"006"`` (zero-padded to three digits). The sheet's "Objective Classes" are kept as the
MEGC2018 class. AU cells use side prefixes and intensity letters (``"R12B + R15"``); five cells offer
``or`` alternatives, resolved by the MEB library's choices. mefast finds the columns by name; the synthetic
SAMM sheet is written in the order above, so loaders that read the columns by position (the 1st, 2nd, 4th to
6th, 9th and 10th; the class from the 11th) read it as they read the real one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._engine.layout import Layout, emotion_words, subject_ids
from .._engine.reader import CorpusSpec, Correction, in_subject_folder, spec_reader
from .._engine.table import sheet_columns, zero_padded

__all__ = ["LAYOUT", "SPEC", "read"]

_MEB = "fix from the MEB library"
_MISSING_APEX = f"apex missing in the sheet; estimated from optical flow, {_MEB}"
_OR_AUS = f"AU cell offers 'or' alternatives; resolved from optical flow, {_MEB}"
CORRECTIONS: tuple[Correction, ...] = (
    Correction(56, "offset", 5739, f"offset mistyped in the sheet; {_MEB}"),
    *(Correction(r, "apex", v, _MISSING_APEX, "missing") for r, v in ((125, 1105), (132, 4945), (133, 5130))),
    *(
        Correction(r, "aus", v, _OR_AUS, "or")
        for r, v in ((15, "R12+R15"), (18, "R12+R15"), (41, "L14"), (64, "R14"), (154, "R14A"))
    ),
)


SPEC = CorpusSpec(
    name="samm",
    title="SAMM",
    annotation_files=("SAMM_Micro_FACS_Codes_v2.xlsx", "SAMM_Micro_FACS_Codes_v2.csv"),
    columns=sheet_columns(
        frames=("{Field} Frame", "{Field}Frame"),
        aus=("Action Units",),
        emotion=("Estimated Emotion", "Emotion"),
        objective=("Objective Classes", "Objective Class"),
    ),
    clip_dirs=in_subject_folder,
    emotions=frozenset({"anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "others"}),
    release_rows=159,
    corrections=CORRECTIONS,
    subject=zero_padded(3),
    grey=True,
)


read = spec_reader(
    SPEC,
    root="The frame folder holding ``006/006_1_2/`` (``SAMM`` or a cropped copy with the same layout).",
)


def _layout_aus(aus: Sequence[int], rng: np.random.Generator) -> str:
    parts = []
    for a in aus:
        side = str(rng.choice(["L", "R"])) if rng.random() < 0.3 else ""
        level = str(rng.choice(list("ABCDE"))) if rng.random() < 0.3 else ""
        parts.append(f"{side}{a}{level}")
    return " + ".join(parts)


#: The on-disk layout, for the synthetic writer.
LAYOUT = Layout(
    spec=SPEC,
    path="SAMM/SAMM/{subject}/{clip}/{subject}_{n:05d}.jpg",
    cropped_path="SAMM/SAMM_CROP/{subject}/{clip}/{subject}_{n:05d}.jpg",
    labels=emotion_words("Happiness", "Surprise", "Anger", "Disgust", "Sadness", "Fear", "Contempt"),
    subject=subject_ids("{k:03d}", start=6),
    aus=_layout_aus,
    clip_name=lambda s, j, rng, e: f"{s}_{j // 3 + 1}_{j % 3 + 1}",
    sheet_keys=(
        "subject",
        "clip",
        "inducement",
        "onset",
        "apex",
        "offset",
        "duration",
        "micro",
        "aus",
        "emotion",
        "objective",
        "notes",
    ),
    headers={"inducement": "Inducement Code", "duration": "Duration", "micro": "Micro", "notes": "Notes"},
    sheet_notes=(
        "SAMM - Spontaneous Micro-Facial Movement Dataset (synthetic rendering by mefast)",
        *(f"Note {i}: FACS coding notes, as in the distributed sheet." for i in range(1, 13)),
    ),
    first_frame=(1000, 6000),
)
