"""CAS(ME)^3 (Li et al. 2022, IEEE TPAMI): part A (860 MEs of 100 subjects) and part C, RGB-D at 30 fps.

Layout as distributed::

    CASME3/
      part_A/annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx
                       sheet label: Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion
                       (every cell stored as text; emotions happy, sad, disgust, surprise, fear, anger, others)
      part_A/annotation/cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx
                       macro-expressions (sub, seq, onset, apex, offset, ..., emotion): read by
                       mefast.datasets.load_long, not here
      part_A/data/part_A/spNO.1/a/color/0.jpg ...     one folder per recording task (a..m);
                                                       depth/ beside color/ is not read
      part_C/CAS(ME)3_part_C_ME.xlsx                   sheet mockCrimeME: sub, count, onset, offset, au, emotion
                                                       (emotions negative, positive, surprise, others)
      part_C/data/01/1/color/...                        one folder per ME

A part-A recording folder holds a whole task, so several MEs share it: the sheet then repeats the file
name. mefast numbers the repeats of a subject's file name in sheet order (``f``, ``f2``, ``f3`` as the
MEB library does) to make sample ids unique; a row repeating an earlier one exactly (same onset, apex and
offset) is the same ME listed twice, reported as a ``duplicate_sample`` rather than numbered. Frames are read
from the ME's own folder when there is one (``f2/color`` or ``f2``: a cropped copy with one folder per ME, as
MEB writes it), else from the recording's ``f/color``. Frame numbers are the jpg indices. Part C has no apex
column: the middle frame is used (as MEB does); its AU cells use commas, once a full-width one. Part C labels
emotions with four classes of its own (``negative``, ``positive``, ``surprise``, ``others``), not part A's seven;
CAS(ME)^3 is no part of MEGC2019, so neither part has a ``megc2019`` class.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .._engine.layout import Layout, emotion_words, plain_aus, subject_ids
from .._engine.reader import STANDARD_FIELDS, CorpusSpec, Correction, spec_reader
from .._engine.table import sheet_columns, text_cell, zero_padded

__all__ = ["LAYOUT_A", "LAYOUT_C", "SPEC_A", "SPEC_C", "read_a", "read_c"]

_MEB = "fix from the MEB library"
CORRECTIONS_A: tuple[Correction, ...] = (
    Correction(128, "apex", 123, f"apex outside the ME's frames; {_MEB}"),
    Correction(749, "onset", 2647, f"onset after the apex; {_MEB}"),
    Correction(708, "offset", 34, f"offset outside the ME's frames; {_MEB}"),
    Correction(796, "offset", 1845, f"offset outside the ME's frames; {_MEB}"),
    Correction(798, "offset", 2403, f"offset outside the ME's frames; {_MEB}"),
    Correction(
        750, "onset", 1, f"onset and apex inconsistent with the offset; the ME starts at frame 1 with its apex; {_MEB}"
    ),
    Correction(
        750, "apex", 1, f"onset and apex inconsistent with the offset; the ME starts at frame 1 with its apex; {_MEB}"
    ),
)

_EMOTIONS = frozenset({"happiness", "sadness", "anger", "disgust", "fear", "surprise", "others"})
#: Part C's emotions, as its sheet (CAS(ME)3_part_C_ME.xlsx, sheet mockCrimeME) spells them.
_EMOTIONS_C = frozenset({"negative", "positive", "surprise", "others"})


_NUMBERED = (
    "file name repeated for this subject (several MEs of one recording); numbered in sheet order as in the MEB library"
)


def _number_duplicates(table: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple]]:
    """Number repeated (subject, file name) pairs in sheet order: ``f``, ``f2``, ``f3``.

    A row that repeats an earlier one exactly (subject, file name, onset, apex and offset) is no other ME of the
    recording but the same one again: it takes the earlier row's name, and the reader reports it as a
    ``duplicate_sample`` (as it does a repeated row of any corpus) instead of counting it as a new ME.
    """
    count: dict[tuple[str, str], int] = {}
    named: dict[tuple[str, ...], str] = {}  # a row's identity and frames -> the name it was given
    changes = []
    clips = []
    for r, subject, clip, *frames in zip(
        table["row"], table["subject"], table["clip"], table["onset"], table["apex"], table["offset"], strict=True
    ):
        key = (subject, clip, *(text_cell(f) for f in frames))
        if key in named:
            new = named[key]
            reason = f"repeats an earlier row exactly (same onset, apex and offset): the same ME as {new}"
        else:
            k = count.get((subject, clip), 0) + 1
            count[(subject, clip)] = k
            new, reason = (clip if k == 1 else f"{clip}{k}"), _NUMBERED
            named[key] = new
        if new != clip:
            changes.append((r, "clip", clip, new, reason))
        clips.append(new)
    table = table.copy()
    table["clip"] = clips
    return table, changes


def _dirs_a(root: Path, rec: Mapping[str, str]) -> list[Path]:
    """The ME's own folder where there is one (``f2/color``, ``f2``: a cropped copy), then the recording's.

    A missing clip is reported at the recording's folder (``f/color``), where the release keeps its frames.
    """
    s, folder, clip = rec["subject"], rec["folder"], rec["clip"]
    own = [d for d in (root / s / clip / "color", root / s / clip) if clip != folder and d.is_dir()]
    return [*own, root / s / folder / "color", root / s / folder]


def _dirs_c(root: Path, rec: Mapping[str, str]) -> list[Path]:
    s, clip = rec["subject"], rec["folder"]
    return [root / s / clip / "color", root / s / clip]


SPEC_A = CorpusSpec(
    name="casme3a",
    title="CAS(ME)^3 part A",
    annotation_files=("cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "cas(me)3_part_A_ME_label_JpgIndex_v2_emotion.xlsx"),
    columns=sheet_columns(
        frames=("{Field}",),
        aus=("AU", "Action Units"),
        emotion=("emotion", "Emotion", "Estimated Emotion"),
        objective=("Objective class", "Objective Classes"),
    ),
    clip_dirs=_dirs_a,
    clip_per_folder=False,
    emotions=_EMOTIONS,
    release_rows=860,
    corrections=CORRECTIONS_A,
    transform=_number_duplicates,
)

SPEC_C = CorpusSpec(
    name="casme3c",
    title="CAS(ME)^3 part C",
    annotation_files=("CAS(ME)3_part_C_ME.xlsx",),
    columns=sheet_columns(
        subject="sub", clip="count", frames=("{field}",), aus=("au", "AU"), emotion=("emotion", "Emotion")
    ),
    required=("subject", "clip", "onset", "offset", "aus"),
    clip_dirs=_dirs_c,
    clip_per_folder=False,
    emotions=_EMOTIONS_C,
    subject=zero_padded(2),
    apex_fill_reason="part C has no apex annotation; the middle frame of onset..offset is used (as MEB does)",
)


read_a = spec_reader(
    SPEC_A,
    root="The folder holding ``spNO.1/a/color/`` (``part_A/data/part_A``), or a cropped copy with "
    "``spNO.1/f2/`` per ME.",
    corrections="Apply the known position-keyed corrections (duplicate names are always numbered).",
)


read_c = spec_reader(SPEC_C, root="The folder holding ``01/1/color/`` (``part_C/data``).")


_LAYOUT_LABELS = emotion_words("happy", "surprise", "anger", "disgust", "sad", "fear", "others")

#: The on-disk layout of part A, for the synthetic writer.
LAYOUT_A = Layout(
    spec=SPEC_A,
    path="CASME3/part_A/data/part_A/{subject}/{clip}/color/{n}.jpg",
    sheet="CASME3/part_A/annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
    labels=_LAYOUT_LABELS,
    subject=subject_ids("spNO.{k}"),
    sheet_keys=(*STANDARD_FIELDS[:-1], "objective", "emotion"),
    long_recordings=True,
    first_frame=(0, 1),
)

#: The on-disk layout of part C, for the synthetic writer. Its four classes by valence: contempt, which part A
#: has no word for either, is ``others`` as there.
LAYOUT_C = Layout(
    spec=SPEC_C,
    path="CASME3/part_C/data/{subject}/{clip}/color/{n}.jpg",
    sheet="CASME3/part_C/CAS(ME)3_part_C_ME.xlsx",
    labels=emotion_words("positive", "surprise", "negative", "negative", "negative", "negative", "others"),
    subject=subject_ids("{k:02d}", sheet_number=True),
    aus=lambda aus, rng: plain_aus(aus, rng, sep=","),
    clip_name=lambda s, j, rng, e: str(j + 1),
    sheet_keys=("subject", "clip", "onset", "offset", "aus", "emotion"),
    long_recordings=True,
    first_frame=(0, 1),
    apex_annotated=False,
)
