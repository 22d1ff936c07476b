"""CASME (Yan et al. 2013, IEEE FG): 195 spontaneous MEs of 19 subjects at 60 fps (189 with frames).

Layout as read by the MEB library::

    CASME/
      casme.xlsx                  Subject, Filename, OnsetF, ApexF1, ApexF2, OffsetF, Duration, AU, Emotion
                                  (the corpus's label sheet with its header on the first row)
      CASME_raw_selected/sub01/EP03_2/<frames>      or   Cropped/sub01/EP03_2/<frames>

Frame numbers are the last digits of the file names. Subjects are numbers in the sheet, folders
``sub01``; mefast's subject id is ``"01"``. A clip folder holds exactly onset..offset.
"""

from __future__ import annotations

from .._engine.layout import emotion_words, plain_aus
from .._engine.reader import CorpusSpec, Correction, spec_reader
from .._engine.table import sheet_columns
from .casme2 import LAYOUT as CASME2_LAYOUT  # CASME II's successor layout
from .casme2 import _clip_dirs, _subject

__all__ = ["LAYOUT", "SPEC", "read"]

_WHY = "onset/offset disagree with the clip's frame folder; fix from the MEB library"
_MID = "apex unknown after the onset/offset fix; the middle frame (MEB library)"
# MEB sets row 40's apex to 120 under the comment "Apex to middle frame", but the middle of its corrected
# onset..offset 100..149 is 124 (rows 42 and 43 are the middles of theirs). mefast keeps MEB's value so that
# its samples match MEB's, and says what it is.
_MEB_APEX_40 = (
    "apex unknown after the onset/offset fix; MEB's value 120, kept for compatibility with the MEB library "
    "(its comment says 'Apex to middle frame', but the middle of the corrected 100..149 is 124)"
)
CORRECTIONS: tuple[Correction, ...] = (
    Correction(40, "onset", 100, _WHY),
    Correction(42, "onset", 101, _WHY),
    Correction(43, "onset", 57, _WHY),
    Correction(40, "offset", 149, _WHY),
    Correction(42, "offset", 119, _WHY),
    Correction(43, "offset", 74, _WHY),
    Correction(54, "offset", 40, _WHY),
    Correction(140, "offset", 142, _WHY),
    Correction(40, "apex", 120, _MEB_APEX_40),
    Correction(42, "apex", 110, _MID),
    Correction(43, "apex", 65, _MID),
)


SPEC = CorpusSpec(
    name="casme",
    title="CASME",
    annotation_files=("casme.xlsx", "CASME-coding.xlsx"),
    columns=sheet_columns(
        frames=("{Field}F", "{Field}Frame", "{Field} Frame"),
        apex=("ApexF1", "ApexFrame", "Apex Frame"),
        aus=("AU", "Action Units"),
        emotion=("Emotion", "Estimated Emotion"),
    ),
    clip_dirs=_clip_dirs,
    emotions=frozenset(
        {"amusement", "happiness", "sadness", "disgust", "surprise", "contempt", "fear", "repression", "tense"}
    ),
    release_rows=189,
    corrections=CORRECTIONS,
    subject=_subject,
)


read = spec_reader(
    SPEC,
    root="``CASME_raw_selected`` or ``Cropped`` (folders ``sub01/EP03_2/``).",
)


#: The on-disk layout, for the synthetic writer: CASME II's subjects and clip names, CASME's files and sheet.
LAYOUT = CASME2_LAYOUT.like(
    spec=SPEC,
    path="CASME/CASME_raw_selected/sub{subject}/{clip}/{clip}-{n}.jpg",
    cropped_path="CASME/Cropped/sub{subject}/{clip}/reg_{clip}-{n}.jpg",
    labels=emotion_words("happiness", "surprise", "tense", "disgust", "sadness", "fear", "repression"),
    aus=plain_aus,
    sheet_keys=("subject", "clip", "onset", "apex", "apex2", "offset", "duration", "aus", "emotion"),
    headers={"apex2": "ApexF2", "duration": "Duration"},
)
