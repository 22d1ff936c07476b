"""How each corpus lays out its files, for the synthetic writer.

Folder and file names, subject ids, AU notation, emotion words and sheet columns of each corpus, as the
readers' module docstrings describe them. :func:`sheet_table` and :func:`write_sheet` write a sheet in a
corpus's own format (tests use them for damaged and release-sized sheets).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["LAYOUTS", "Layout", "clip_name", "sheet_table", "write_sheet"]


def _plain(aus: Sequence[int], rng: np.random.Generator, sep: str = "+", prefix: str = "") -> str:
    return sep.join(f"{prefix}{a}" for a in aus)


def _casme2_aus(aus: Sequence[int], rng: np.random.Generator) -> str:
    return "+".join(("L" if rng.random() < 0.5 else "R") + str(a) if rng.random() < 0.15 else str(a) for a in aus)


def _samm_aus(aus: Sequence[int], rng: np.random.Generator) -> str:
    parts = []
    for a in aus:
        side = str(rng.choice(["L", "R"])) if rng.random() < 0.3 else ""
        level = str(rng.choice(list("ABCDE"))) if rng.random() < 0.3 else ""
        parts.append(f"{side}{a}{level}")
    return " + ".join(parts)


def _fourd_aus(aus: Sequence[int], rng: np.random.Generator) -> str:
    parts = [f"AU{a}" for a in aus]
    if rng.random() < 0.4:  # a "(k)" AU the reader leaves out
        extra = int(rng.choice([a for a in (25, 26, 43, 45) if a not in aus]))
        parts.append(f"AU{extra}(k)")
    return "+".join(parts)


@dataclass(frozen=True)
class Layout:
    """How one corpus lays out its files, for the synthetic writer (see each reader's module docstring)."""

    corpus: str
    frames: str  # frame root, relative to the output folder
    frames_cropped: str
    sheet: str  # annotation sheet, relative to the output folder
    labels: dict[str, str]  # expression category -> the corpus's emotion word
    subject: Callable[[int], tuple[object, str]]  # k -> (sheet value, subject id used in folders)
    clip_dir: Callable[[str, str, str], str]  # (subject id, folder name, emotion word) -> relative folder
    frame_name: Callable[[str, str, int, bool], str]  # (subject id, clip, number, cropped) -> file name
    aus: Callable[[Sequence[int], np.random.Generator], str] | None
    grey: bool = False
    long_recordings: bool = False  # folders hold a task recording with lead-in and tail (CAS(ME)^3)
    first_frame: tuple[int, int] = (1, 200)
    apex_annotated: bool = True  # False: no apex in the corpus (SMIC, CAS(ME)^3 C); rendered mid-clip


_NEG = "negative"
LAYOUTS: dict[str, Layout] = {
    "casme2": Layout(
        "casme2",
        "CASME2/CASME2_RAW_selected",
        "CASME2/Cropped",
        "CASME2/CASME2-coding-20140508.xlsx",
        {
            "happiness": "happiness",
            "surprise": "surprise",
            "anger": "others",
            "disgust": "disgust",
            "sadness": "sadness",
            "fear": "fear",
            "contempt": "repression",
        },
        lambda k: (k, f"{k:02d}"),
        lambda s, c, e: f"sub{s}/{c}",
        lambda s, c, n, crop: f"{'reg_' if crop else ''}img{n}.jpg",
        _casme2_aus,
    ),
    "samm": Layout(
        "samm",
        "SAMM/SAMM",
        "SAMM/SAMM_CROP",
        "SAMM/SAMM_Micro_FACS_Codes_v2.xlsx",
        {
            "happiness": "Happiness",
            "surprise": "Surprise",
            "anger": "Anger",
            "disgust": "Disgust",
            "sadness": "Sadness",
            "fear": "Fear",
            "contempt": "Contempt",
        },
        lambda k: (f"{5 + k:03d}", f"{5 + k:03d}"),
        lambda s, c, e: f"{s}/{c}",
        lambda s, c, n, crop: f"{s}_{n:05d}.jpg",
        _samm_aus,
        grey=True,
        first_frame=(1000, 6000),
    ),
    "casme3a": Layout(
        "casme3a",
        "CASME3/part_A/data/part_A",
        "CASME3/part_A/data/part_A",
        "CASME3/part_A/annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
        {
            "happiness": "happy",
            "surprise": "surprise",
            "anger": "anger",
            "disgust": "disgust",
            "sadness": "sad",
            "fear": "fear",
            "contempt": "others",
        },
        lambda k: (f"spNO.{k}", f"spNO.{k}"),
        lambda s, c, e: f"{s}/{c}/color",
        lambda s, c, n, crop: f"{n}.jpg",
        _plain,
        long_recordings=True,
        first_frame=(0, 1),
    ),
    "casme3c": Layout(
        "casme3c",
        "CASME3/part_C/data",
        "CASME3/part_C/data",
        "CASME3/part_C/CAS(ME)3_part_C_ME.xlsx",
        {
            "happiness": "happy",
            "surprise": "surprise",
            "anger": "anger",
            "disgust": "disgust",
            "sadness": "sad",
            "fear": "fear",
            "contempt": "others",
        },
        lambda k: (k, f"{k:02d}"),
        lambda s, c, e: f"{s}/{c}/color",
        lambda s, c, n, crop: f"{n}.jpg",
        lambda aus, rng: ",".join(str(a) for a in aus),
        long_recordings=True,
        first_frame=(0, 1),
        apex_annotated=False,
    ),
    "casme": Layout(
        "casme",
        "CASME/CASME_raw_selected",
        "CASME/Cropped",
        "CASME/casme.xlsx",
        {
            "happiness": "happiness",
            "surprise": "surprise",
            "anger": "tense",
            "disgust": "disgust",
            "sadness": "sadness",
            "fear": "fear",
            "contempt": "repression",
        },
        lambda k: (k, f"{k:02d}"),
        lambda s, c, e: f"sub{s}/{c}",
        lambda s, c, n, crop: f"{'reg_' if crop else ''}{c}-{n}.jpg",
        _plain,
    ),
    "mmew": Layout(
        "mmew",
        "MMEW/Micro_Expression",
        "MMEW/Micro_Expression",
        "MMEW/MMEW_Micro_Exp.xlsx",
        {
            "happiness": "happiness",
            "surprise": "surprise",
            "anger": "anger",
            "disgust": "disgust",
            "sadness": "sadness",
            "fear": "fear",
            "contempt": "others",
        },
        lambda k: (f"S{k:02d}", f"S{k:02d}"),
        lambda s, c, e: f"{e}/{c}",
        lambda s, c, n, crop: f"{n}.jpg",
        _plain,
    ),
    "4dme": Layout(
        "4dme",
        "4DME/gray_micro",
        "4DME/gray_micro_crop",
        "4DME/4DME_Labelling_Micro_release v1.xlsx",
        {
            "happiness": "Positive",
            "surprise": "Surprise",
            "anger": "Negative",
            "disgust": "Negative",
            "sadness": "Negative",
            "fear": "Negative",
            "contempt": "Repression",
        },
        lambda k: (f"S{k:02d}", f"S{k:02d}"),
        lambda s, c, e: f"{s}/{c}",
        lambda s, c, n, crop: f"img{n:04d}.jpg",
        _fourd_aus,
        grey=True,
    ),
    "smic": Layout(
        "smic",
        "SMIC/HS",
        "SMIC/SMIC_all_cropped/HS",
        "SMIC/smic.xlsx",
        {
            "happiness": "positive",
            "surprise": "surprise",
            "anger": _NEG,
            "disgust": _NEG,
            "sadness": _NEG,
            "fear": _NEG,
            "contempt": _NEG,
        },
        lambda k: (f"s{k}", f"s{k}"),
        lambda s, c, e: f"{s}/micro/{e}/{c}",
        lambda s, c, n, crop: f"{'reg_' if crop else ''}image{n:06d}.bmp",
        None,
        first_frame=(10000, 99000),
        apex_annotated=False,
    ),
}

_SMIC_ABBR = {"negative": "ne", "positive": "po", "surprise": "sur"}


def clip_name(corpus: str, subject_id: str, j: int, rng: np.random.Generator, emotion: str) -> str:
    if corpus in ("casme2", "casme"):
        return f"EP{j + 1:02d}_{int(rng.integers(1, 20)):02d}" + ("f" if rng.random() < 0.3 else "")
    if corpus == "samm":
        return f"{subject_id}_{j // 3 + 1}_{j % 3 + 1}"
    if corpus == "casme3c":
        return str(j + 1)
    if corpus == "smic":
        return f"{subject_id}_{_SMIC_ABBR[emotion]}_{j + 1:02d}"
    return f"{subject_id}_{j + 1:02d}"  # mmew, 4dme


def sheet_table(corpus: str, rows: Sequence[dict]) -> pd.DataFrame:
    """An annotation table with the corpus's own column names, from records with mefast's keys.

    Keys: ``subject`` (as the sheet writes it), ``clip``, ``onset``, ``apex``, ``offset``, ``aus`` (the
    corpus's notation), ``emotion`` (the corpus's word), and for some corpora ``objective``,
    ``inducement``, ``duration``, ``micro``, ``notes``, ``apex2``; missing keys give empty cells.
    """
    c = corpus
    if c == "casme2":
        cols = {
            "Subject": "subject",
            "Filename": "clip",
            "OnsetFrame": "onset",
            "ApexFrame": "apex",
            "OffsetFrame": "offset",
            "Action Units": "aus",
            "Estimated Emotion": "emotion",
        }
    elif c == "samm":
        cols = {
            "Subject": "subject",
            "Filename": "clip",
            "Inducement Code": "inducement",
            "Onset Frame": "onset",
            "Apex Frame": "apex",
            "Offset Frame": "offset",
            "Duration": "duration",
            "Micro": "micro",
            "Objective Classes": "objective",
            "Notes": "notes",
            "Action Units": "aus",
            "Estimated Emotion": "emotion",
        }
    elif c == "casme3a":
        cols = {
            "Subject": "subject",
            "Filename": "clip",
            "Onset": "onset",
            "Apex": "apex",
            "Offset": "offset",
            "AU": "aus",
            "Objective class": "objective",
            "emotion": "emotion",
        }
    elif c == "casme3c":
        cols = {
            "sub": "subject",
            "count": "clip",
            "onset": "onset",
            "offset": "offset",
            "au": "aus",
            "emotion": "emotion",
        }
    elif c == "casme":
        cols = {
            "Subject": "subject",
            "Filename": "clip",
            "OnsetF": "onset",
            "ApexF1": "apex",
            "ApexF2": "apex2",
            "OffsetF": "offset",
            "Duration": "duration",
            "AU": "aus",
            "Emotion": "emotion",
        }
    elif c == "mmew":
        cols = {
            "Subject": "subject",
            "Filename": "clip",
            "OnsetFrame": "onset",
            "ApexFrame": "apex",
            "OffsetFrame": "offset",
            "Action Units": "aus",
            "Estimated Emotion": "emotion",
            "remarks": "notes",
        }
    elif c == "4dme":
        cols = {
            "sub_ID": "subject",
            "fold_name": "clip",
            "Onset": "onset",
            "Apex": "apex",
            "Offset": "offset",
            "AUs": "aus",
            "Emotion": "emotion",
        }
    else:  # smic: the MEB library's sheet
        cols = {"subject": "subject", "material": "clip", "emotion": "emotion", "onset": "onset", "offset": "offset"}
    return pd.DataFrame({name: [r.get(key, "") for r in rows] for name, key in cols.items()})


def write_sheet(corpus: str, table: pd.DataFrame, path: str | Path) -> Path:
    """Write an annotation table as the corpus's sheet (SAMM: below its block of notes, as distributed).

    ``table`` has the corpus's own column names (what :func:`write_synthetic` writes); tests use this to
    write damaged or release-sized sheets.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if corpus == "samm":
        notes = pd.DataFrame(
            [["SAMM - Spontaneous Micro-Facial Movement Dataset (synthetic rendering by mefast)"]]
            + [[f"Note {i}: FACS coding notes, as in the distributed sheet."] for i in range(1, 13)]
        )
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            notes.to_excel(writer, index=False, header=False, startrow=0)
            table.to_excel(writer, index=False, startrow=13)
    else:
        table.to_excel(path, index=False, engine="openpyxl")
    return path
