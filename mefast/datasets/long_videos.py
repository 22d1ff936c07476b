"""Long recordings for spotting: whole task videos with their micro- and macro-expression intervals.

:func:`load_long` reads a spotting corpus as its authors distribute it and returns :class:`Recordings`: one row
per recording (the whole video, not a clip) and one row per annotated interval, with frames read lazily and in
order (:meth:`Recordings.iter_frames`), never the whole video at once.

===========  =======================================================================================  =====
``load_long``  layout (``root``; sheet found next to or above it)                                        fps
===========  =======================================================================================  =====
``casme3a``  ``CASME3/part_A/data/part_A/spNO.1/a/color/0.jpg`` (one folder per task);                   30
             ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` (sheet ``label``: Subject, Filename, Onset,
             Apex, Offset, AU, Objective class, emotion; cells stored as text) and
             ``cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx`` (sheet ``Sheet1``: sub, seq, onset,
             apex, offset, a sixth column, emotion; macro-expressions; the older name without
             ``_emotion`` is found too). A sheet's type is read from its file name (``ME`` or ``MaE``, in
             any order of sheets), and a name that says neither is an error; without a MaE sheet (or an
             ME sheet) the intervals lack that kind, which ``issues`` says (``macro_sheet_missing``)
``samm_lv``  ``SAMM_longvideos/006_1/006_1_00001.jpg`` (one folder per video);                          200
             ``SAMM_LongVideos_V3_Release.xlsx``, ``..._V2_...`` or ``..._V1_...`` (the newest found is
             read; notes, then Subject, Filename ``006_1_2``, Inducement Code, Onset, Apex, Offset,
             Duration, Type ``Micro - 1/2`` / ``Macro``, Action Units, Notes); the video is the first two
             parts of the file name
``casme2lv`` ``CAS(ME)^2/rawpic/s15/15_0101disgustingteeth/img1.jpg``;                                    30
             ``CAS(ME)^2code_final.xlsx`` or ``CAS(ME)^2code_final(Updated).xlsx`` as released: a first
             sheet with no header row (participant 1-22, file name ``disgust1_1``, onset, apex, offset,
             AUs, emotion, type ``micro-expression`` / ``macro-expression``, self-report), a second
             mapping participant -> subject code (column 3 -> column 2: ``1`` -> ``s15``), a third
             mapping the file name's part before ``_`` -> video code (column 2 -> column 1: ``disgust1``
             -> ``0101``); the recording is ``s<code>/<code>_<video code>...``. A first sheet with a
             header row (Subject = subject code, Filename contained in the folder name, Onset, Apex,
             Offset, AUs, Emotion, Type) is read too. An offset of 0 means missing and becomes the apex
             (as SOFTNet does)
===========  =======================================================================================  =====

A sheet found automatically is looked for in ``root``, the four folders above it, their ``annotation/``
folders and their other subfolders; the nearest folder holding one of its names gives it, and of the names
found there the first listed above (the newest release) is read. :attr:`Recordings.annotations` records the
sheets read, :attr:`Recordings.issues` every other candidate found beside them (``annotation_not_read``).
A workbook's first sheet holding the header row is read.

Interval frames are converted to 0-based positions in the recording's sorted frame list (spec 0); the
sheets' frame numbers stay in ``onset_frame``/``offset_frame``. A missing or unusable apex becomes the middle
of onset..offset and every such fill (and CAS(ME)^2's offset 0) is listed in :attr:`Recordings.corrections`;
an apex outside onset..offset is kept and reported in :attr:`Recordings.issues`. The sheets' layouts follow the
distributed files as the MEGC baselines and SOFTNet's and MEAN's loaders read them; they were checked on
synthetic copies (:func:`mefast.datasets.synthetic.write_long_synthetic`), not on the licensed originals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import AnnotationError, FrameReadError
from ._engine.base import CORRECTION_COLUMNS, ISSUE_COLUMNS, empty_corrections, empty_issues
from ._engine.corrections import show
from ._engine.frames import list_frames, read_rgb
from ._engine.table import frame_cell, is_blank

__all__ = ["LONG_CORPORA", "RECORDING_COLUMNS", "INTERVAL_COLUMNS", "Recordings", "load_long"]

RECORDING_COLUMNS = ("recording_id", "dataset", "subject", "video", "n_frames", "fps")
INTERVAL_COLUMNS = (
    "recording", "recording_id", "sample_id", "onset", "apex", "offset", "kind", "emotion", "aus",
    "onset_frame", "offset_frame",
)  # fmt: skip


@dataclass(frozen=True)
class _LongSpec:
    corpus: str
    fps: float
    # per sheet, the file names it is distributed under, searched next to and above root (first sheet: micro,
    # or both); a sheet's names in order of preference (the newest release first), see _find
    sheets: tuple[tuple[str, ...], ...]
    grey: bool = False


# CAS(ME)^3 part A's sheets as released; the MaE sheet also under the name mefast looked for before (no "_emotion")
_C3_ME = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
_C3_MAE = ("cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx", "cas(me)3_part_A_MaE_label_JpgIndex_v2.xlsx")
# The header rows' first column: "Subject" (CAS(ME)^3 ME sheet, SAMM, CAS(ME)^2 with a header), "sub" (CAS(ME)^3
# MaE sheet: sub, seq, onset, apex, offset, ..., emotion)
_FIRST_COLUMNS = ("Subject", "sub")

LONG_CORPORA: dict[str, _LongSpec] = {
    "casme3a": _LongSpec("casme3a", 30.0, ((_C3_ME,), _C3_MAE)),
    "samm_lv": _LongSpec(
        "samm_lv", 200.0,
        (("SAMM_LongVideos_V3_Release.xlsx", "SAMM_LongVideos_V2_Release.xlsx", "SAMM_LongVideos_V1_Release.xlsx"),),
        grey=True,
    ),
    "casme2lv": _LongSpec(
        "casme2lv", 30.0, (("CAS(ME)^2code_final.xlsx", "CAS(ME)^2code_final(Updated).xlsx"),)
    ),
}  # fmt: skip
_ALIASES = {"sammlv": "samm_lv", "samm-lv": "samm_lv", "cas(me)^2": "casme2lv", "casme^2": "casme2lv",
            "cas(me)3a": "casme3a", "casme3": "casme3a"}  # fmt: skip
# The columns of the released CAS(ME)^2 sheet, which has no header row (as SOFTNet, MEAN and the MEGC loaders
# name them).
_CASME2_RELEASE = ("Subject", "Filename", "Onset", "Apex", "Offset", "AUs", "Emotion", "Type", "Self-report")
_APEX_FILL = "the middle frame of onset..offset is used"


@dataclass
class Recordings:
    """Long recordings of a spotting corpus and their annotated intervals.

    Attributes
    ----------
    name : str
    root : Path
    fps : float
    recordings : DataFrame
        Columns :data:`RECORDING_COLUMNS`; ``recording_id`` is ``f"{dataset}/{subject}/{video}"``.
    intervals : DataFrame
        Columns :data:`INTERVAL_COLUMNS`; ``recording`` is the row in ``recordings``, ``onset``/``apex``/
        ``offset`` 0-based positions in that recording, ``kind`` ``"micro"`` or ``"macro"``.
    frame_paths : list of list of Path
        Per recording, its frames in order.
    annotations : tuple of Path
        The sheets read.
    issues : DataFrame
        ``sample_id, problem, detail, severity``: rows that could not be placed (``missing_recording``,
        ``interval_outside``: left out), problems of rows that were kept (``onset_after_apex``,
        ``apex_after_offset``: the annotated apex is kept; ``apex_outside_recording``, ``invalid_annotation``:
        the apex is filled, see ``corrections``), and of the sheets (``macro_sheet_missing``,
        ``micro_sheet_missing``: CAS(ME)^3 part A read without its MaE or ME sheet, a warning;
        ``annotation_not_read``: another sheet found beside the one read, such as an older SAMM-LV release,
        for information).
    corrections : DataFrame
        ``sample_id, row, field, old, new, reason, status`` (:data:`mefast.datasets.CORRECTION_COLUMNS`): every
        value the reader filled in, ``old`` as the sheet has it and ``new`` in the sheet's frame numbers, ``row``
        the data row of the sheet named in ``reason``.
    """

    name: str
    root: Path
    fps: float
    recordings: pd.DataFrame
    intervals: pd.DataFrame
    frame_paths: list[list[Path]]
    annotations: tuple[Path, ...] = ()
    issues: pd.DataFrame = field(default_factory=empty_issues)
    corrections: pd.DataFrame = field(default_factory=empty_corrections)

    def __len__(self) -> int:
        return len(self.recordings)

    def __repr__(self) -> str:
        return f"Recordings({self.name!r}, {len(self)} recordings, {len(self.intervals)} intervals, fps={self.fps})"

    def truth(self, i: int, kind: str | None = None) -> NDArray[np.int64]:
        """``(n, 2)`` annotated onset/offset rows of recording ``i`` (one kind when given)."""
        iv = self.intervals[self.intervals["recording"] == i]
        if kind is not None:
            iv = iv[iv["kind"] == kind]
        return iv[["onset", "offset"]].to_numpy(np.int64).reshape(-1, 2)

    def iter_frames(self, i: int, start: int = 0, stop: int | None = None) -> Iterator[NDArray[np.uint8]]:
        """Frames ``start .. stop - 1`` of recording ``i``, read one at a time: RGB uint8 ``(H, W, 3)``.

        Raises
        ------
        FrameReadError
            A frame is unreadable or differs in size from the first (the message names the recording and path).
        """
        if not 0 <= i < len(self):
            raise IndexError(f"recording index {i} out of range for {len(self)} recordings")
        rid = self.recordings["recording_id"].iloc[i]
        paths = self.frame_paths[i][start:stop]
        shape = None
        for path in paths:
            image, why = read_rgb(path)
            if image is None:
                raise FrameReadError(f"recording {rid}: frame {path} {why}")
            if shape is None:
                shape = image.shape
            elif image.shape != shape:
                raise FrameReadError(f"recording {rid}: frame {path} has shape {image.shape}, the first {shape}")
            yield image

    def subset(self, index: Sequence[int]) -> Recordings:
        """The recordings at ``index`` (in that order) with their intervals renumbered."""
        idx = [int(i) for i in index]
        new_of = {old: new for new, old in enumerate(idx)}
        iv = self.intervals[self.intervals["recording"].isin(idx)].copy()
        iv["recording"] = iv["recording"].map(new_of)
        return Recordings(
            self.name,
            self.root,
            self.fps,
            self.recordings.iloc[idx].reset_index(drop=True),
            iv.sort_values(["recording", "onset"]).reset_index(drop=True),
            [self.frame_paths[i] for i in idx],
            self.annotations,
            self.issues,
            self.corrections,
        )


def _find(root: Path, names: Sequence[tuple[str, ...]]) -> list[tuple[Path | None, list[Path]]]:
    """Per sheet, the file to read (None: none found) and the other candidates found beside it, not read.

    The folders searched are ``root`` and the four above it, nearest first, each with its ``annotation/`` folder
    and its other subfolders. The nearest folder holding any of a sheet's names gives the sheet; of the names
    found there, the first in the sheet's list (the newest release) is read.
    """
    out: list[tuple[Path | None, list[Path]]] = []
    for alternatives in names:
        hits: list[Path] = []
        for folder in (root, *list(root.parents)[:4]):
            for name in alternatives:
                for cand in (folder / name, folder / "annotation" / name, *sorted(folder.glob(f"*/{name}"))):
                    if cand.is_file() and cand not in hits:
                        hits.append(cand)
            if hits:
                break
        out.append((hits[0], hits[1:]) if hits else (None, []))
    return out


def _read_book(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook by name, in order, as read with no header row."""
    try:
        return pd.read_excel(path, header=None, dtype=object, sheet_name=None)
    except Exception as e:  # openpyxl raises many kinds
        raise AnnotationError(f"cannot read the annotation sheet {path}: {e}") from e


def _header_table(raw: pd.DataFrame, first_columns: Sequence[str]) -> pd.DataFrame | None:
    """The rows below the header row (the first starting with one of ``first_columns``, maybe below notes).

    None when no row starts with one of them.
    """
    wanted = {c.lower() for c in first_columns}
    hits = [r for r in range(len(raw)) if str(raw.iat[r, 0]).strip().lower() in wanted]
    if not hits:
        return None
    h = hits[0]
    table = raw.iloc[h + 1 :].copy()
    table.columns = [str(c).strip() for c in raw.iloc[h]]
    return table.dropna(how="all").reset_index(drop=True)


def _read_table(path: Path, first_columns: Sequence[str]) -> pd.DataFrame:
    """The first sheet of a workbook with a header row starting with one of ``first_columns`` (maybe below notes).

    The released CAS(ME)^3 MaE workbook keeps its rows in a sheet ``Sheet1`` that need not be the first.

    Raises
    ------
    AnnotationError
        No sheet has such a header row (the message names the sheets).
    """
    book = _read_book(path)
    for raw in book.values():
        table = _header_table(raw, first_columns)
        if table is not None:
            return table
    starts = " or ".join(repr(c) for c in first_columns)
    raise AnnotationError(f"{path}: none of its sheets {list(book)} has a header row starting with {starts}")


@dataclass(frozen=True)
class _Casme2Names:
    """The released CAS(ME)^2 sheet's naming rules: participant -> subject code, video name -> video code."""

    subjects: dict[int, str]  # 1 -> "15"
    videos: dict[str, str]  # "disgust1" -> "0101"


def _read_casme2(path: Path) -> tuple[pd.DataFrame, _Casme2Names | None]:
    """CAS(ME)^2's sheet: the header layout (no naming rules) or the released, headerless three-sheet one.

    Raises
    ------
    AnnotationError
        Neither layout (the message says what each needs).
    """
    sheets = list(_read_book(path).values())
    table = _header_table(sheets[0], ("Subject",))
    if table is not None:
        return table, None
    first = sheets[0].dropna(how="all").reset_index(drop=True)
    if first.empty:  # no expressions at all
        first = pd.DataFrame(columns=list(_CASME2_RELEASE))
    types = first.iloc[:, 7].astype(str).str.lower() if first.shape[1] >= 8 else pd.Series(dtype=str)
    if len(first) and not types.str.contains("micro|macro").any():
        raise AnnotationError(
            f"{path}: neither a header row starting with 'Subject' nor the released layout (no header row; "
            f"participant, file name, onset, apex, offset, AUs, emotion, type 'micro-expression'/"
            f"'macro-expression' in columns 1-8); its first sheet has {first.shape[1]} columns"
        )
    if len(sheets) < 3:
        raise AnnotationError(
            f"{path}: the first sheet has no header row (the released layout) but the workbook has {len(sheets)} "
            "sheet(s); the release maps participant -> subject code in sheet 2 and video name -> video code in "
            "sheet 3 ('naming rule1', 'naming rule2')"
        )
    first.columns = [*_CASME2_RELEASE, *(f"column {c + 1}" for c in range(9, first.shape[1]))][: first.shape[1]]
    subjects: dict[int, str] = {}
    for row in sheets[1].itertuples(index=False):
        cells = list(row)
        participant = frame_cell(cells[2]) if len(cells) > 2 else None
        # the subject code: "s15" (or 15) in column 2, else in column 1
        code = next((m.group(0) for c in cells[1::-1] if (m := re.search(r"\d+", show(c)))), None)
        if participant is not None and code is not None:
            subjects[participant] = str(int(code))
    videos: dict[str, str] = {}
    for row in sheets[2].itertuples(index=False):
        cells = list(row)
        if len(cells) < 2 or is_blank(cells[0]) or is_blank(cells[1]):
            continue
        number = frame_cell(cells[0])
        videos[show(cells[1]).lower()] = f"{number:04d}" if number is not None else show(cells[0])
    return first, _Casme2Names(subjects, videos)


def _sheet_kind(path: Path) -> str:
    """``"micro"`` or ``"macro"`` from a CAS(ME)^3 sheet's file name (``..._ME_label...`` / ``..._MaE_label...``).

    Raises
    ------
    AnnotationError
        The name says neither, or both.
    """
    name = re.sub(r"cas\W*me\W*", "", path.name.lower())  # the corpus name "cas(me)3" holds "me"
    tokens = set(re.split(r"[^a-z]+", name))
    micro, macro = bool(tokens & {"me", "micro"}), bool(tokens & {"mae", "macro"})
    if micro == macro:
        raise AnnotationError(
            f"casme3a: cannot tell from the file name {path.name!r} ({path}) whether it lists micro- or "
            f"macro-expressions; the name must hold ME or MaE as a word, as the released {_C3_ME} and "
            f"{_C3_MAE[0]} do"
        )
    return "micro" if micro else "macro"


def _missing_kinds(root: Path, kinds: Sequence[str], given: bool) -> list[dict]:
    """Issues for a CAS(ME)^3 part A kind of sheet (micro, macro) that none of the sheets read lists.

    Without its MaE sheet every interval read is a micro-expression, and the recordings' macro-expressions are
    missing from the truth (a spotting evaluation counts them as false positives).
    """
    out = []
    for kind, names, other in (("micro", (_C3_ME,), "macro"), ("macro", _C3_MAE, "micro")):
        if kind in kinds:
            continue
        where = "among the sheets given" if given else f"next to or above {root}"
        out.append(
            {
                "sample_id": "",
                "problem": f"{kind}_sheet_missing",
                "detail": (
                    f"casme3a: no {kind}-expression sheet ({' or '.join(names)}) {where}; the intervals hold only "
                    f"{other}-expressions and the recordings' {kind}-expressions are missing from them"
                ),
                "severity": "warning",
            }
        )
    return out


def _col(table: pd.DataFrame, path: Path, *names: str) -> pd.Series:
    low = {c.lower(): c for c in table.columns}
    for n in names:
        if n.lower() in low:
            return table[low[n.lower()]]
    raise AnnotationError(f"{path}: no column {names[0]!r}; it has {list(table.columns)}")


def _optional(table: pd.DataFrame, *names: str) -> pd.Series:
    hits = [c for c in table.columns if c.lower() in names]
    return table[hits[0]] if hits else pd.Series([""] * len(table))


def _int(v: object) -> int:
    try:
        return int(float(str(v).strip()))
    except ValueError:
        return -1


def load_long(
    corpus: str, root: str | Path, annotations: str | Path | Sequence[str | Path] | None = None
) -> Recordings:
    """Read a long-video spotting corpus (see the module docstring for layouts).

    Parameters
    ----------
    corpus : {"casme3a", "samm_lv", "casme2lv"}
    root : path-like
        The folder of recording folders.
    annotations : path-like or sequence of path-like, optional
        The sheet(s); found automatically when omitted (``casme3a``: the ME sheet and, if present, the MaE one).

    Returns
    -------
    Recordings

    Raises
    ------
    ValueError
        Unknown corpus.
    FileNotFoundError
        ``root`` is not a folder.
    AnnotationError
        A sheet is missing, unreadable or lacks a column; a ``casme3a`` sheet's name says neither ME nor MaE.
    """
    key = str(corpus).lower().replace(" ", "")
    key = _ALIASES.get(key, key)
    spec = LONG_CORPORA.get(key)
    if spec is None:
        raise ValueError(f"unknown long-video corpus {corpus!r}; expected one of {list(LONG_CORPORA)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{corpus}: root {root} is not a folder")
    issues: list[dict] = []
    if annotations is None:
        sheets = _find(root, spec.sheets)
        if sheets[0][0] is None:
            names = " or ".join(spec.sheets[0])
            raise AnnotationError(f"{corpus}: no {names} next to or above {root}; pass annotations=")
        paths = [p for p, _ in sheets if p is not None]
        for p, others in sheets:
            for other in others:  # another release (SAMM-LV V1 beside V3), or another copy
                detail = f"{corpus}: {other} was found and not read; {p} was (the preferred name found nearest)"
                issues.append({"sample_id": "", "problem": "annotation_not_read", "detail": detail, "severity": "info"})
    else:
        paths = [Path(a) for a in ([annotations] if isinstance(annotations, str | Path) else annotations)]
    sheet_kinds = [_sheet_kind(p) for p in paths] if key == "casme3a" else [None] * len(paths)
    if key == "casme3a":
        issues += _missing_kinds(root, [k for k in sheet_kinds if k], given=annotations is not None)
    # Recording folders.
    if key == "casme3a":
        folders = sorted(p.parent for p in root.glob("*/*/color"))
        ident = [(f.parent.name, f.name) for f in folders]  # (subject, task)
        folders = [f / "color" for f in folders]
    else:
        folders = sorted(p for p in root.glob("*/*" if key == "casme2lv" else "*") if p.is_dir())
        if key == "samm_lv":
            ident = [(f.name.split("_")[0], f.name) for f in folders]
        else:
            ident = [(f.parent.name.lstrip("s").zfill(2), f.name) for f in folders]
    rec_rows, frame_paths, numbers = [], [], []
    for (subject, video), folder in zip(ident, folders, strict=True):
        listing = list_frames(folder)
        if not listing.paths:
            continue
        rec_rows.append(
            {
                "recording_id": f"{key}/{subject}/{video}",
                "dataset": key,
                "subject": subject,
                "video": video,
                "n_frames": len(listing.paths),
                "fps": spec.fps,
            }
        )
        frame_paths.append(list(listing.paths))
        numbers.append(listing.numbers)
    recordings = pd.DataFrame(rec_rows, columns=list(RECORDING_COLUMNS))
    lookup: dict[tuple[str, str], int] = {(str(r["subject"]), str(r["video"])): i for i, r in enumerate(rec_rows)}
    rows: list[dict] = []
    fixes: list[dict] = []
    for path, sheet_kind in zip(paths, sheet_kinds, strict=True):
        naming: _Casme2Names | None = None
        if key == "casme2lv":
            table, naming = _read_casme2(path)
        else:
            table = _read_table(path, _FIRST_COLUMNS)
        subj = _col(table, path, "Subject", "sub")
        fname = _col(table, path, "Filename", "seq", "video")
        onset = _col(table, path, "Onset", "Onset Frame", "OnsetFrame")
        apex = _col(table, path, "Apex", "Apex Frame", "ApexFrame")
        offset = _col(table, path, "Offset", "Offset Frame", "OffsetFrame")
        if sheet_kind is not None:
            kinds = [sheet_kind] * len(table)
        else:
            kinds = [
                ("micro" if "micro" in str(v).lower() else "macro")
                for v in _col(table, path, "Type", "Expression type")
            ]
        emotion = _optional(table, "emotion", "estimated emotion")
        aus = _optional(table, "au", "aus", "action units")
        for r in range(len(table)):
            s_raw = str(subj.iloc[r]).strip()
            name = str(fname.iloc[r]).strip()
            why_missing = ""
            if key == "casme3a":
                k = (s_raw, name)
            elif key == "samm_lv":
                k = (s_raw.zfill(3), "_".join(name.split("_")[:2]))
            elif naming is not None:  # released CAS(ME)^2: participant and video name through the naming rules
                participant, stem = _int(s_raw), name.split("_")[0]
                code, vcode = naming.subjects.get(participant), naming.videos.get(stem.lower())
                s2 = code.zfill(2) if code is not None else f"participant {s_raw}"
                # the folder is "<code>_<video code><title>": 15_0101disgustingteeth
                cands = [v for (s, v) in lookup if vcode and s == s2 and v.split("_", 1)[-1].startswith(vcode)]
                k = (s2, cands[0] if cands else vcode or stem)
                if code is None:
                    why_missing = f" (participant {s_raw} is not in the naming rule of sheet 2)"
                elif vcode is None:
                    why_missing = f" (video name {stem!r} is not in the naming rule of sheet 3)"
            else:
                s2 = str(_int(s_raw)).zfill(2)
                stem = re.sub(r"_\d+$", "", name)  # "disgustingteeth_1" -> "disgustingteeth"
                cands = [str(v) for (s, v) in lookup if s == s2 and name in str(v)]
                cands = cands or [str(v) for (s, v) in lookup if s == s2 and stem in str(v)]
                k = (s2, cands[0] if cands else name)
            tag = {"micro": "me", "macro": "mae"}.get(sheet_kind or "", "")  # ME and MaE sheets number rows alike
            sid = f"{key}/{k[0]}/{name}/{tag}{r}"
            i = lookup.get(k)
            on, ap, off = _int(onset.iloc[r]), _int(apex.iloc[r]), _int(offset.iloc[r])
            if off == 0 and key == "casme2lv" and ap > 0:
                off = ap
                fixes.append(
                    {
                        "sample_id": sid,
                        "row": r,
                        "field": "offset",
                        "old": show(offset.iloc[r]),
                        "new": str(ap),
                        "reason": f"{path.name} row {r}: offset 0 means missing in CAS(ME)^2; the apex is used",
                        "status": "applied",
                    }
                )
            if i is None:
                issues.append(
                    {
                        "sample_id": sid,
                        "problem": "missing_recording",
                        "detail": f"{path.name} row {r}: no recording folder for {k}{why_missing}",
                        "severity": "error",
                    }
                )
                continue
            pos = {n: j for j, n in enumerate(numbers[i])}
            if on not in pos or off not in pos or off < on:
                issues.append(
                    {
                        "sample_id": sid,
                        "problem": "interval_outside",
                        "detail": f"{path.name} row {r}: frames {on}-{off} not inside recording {k}",
                        "severity": "error",
                    }
                )
                continue
            where = f"{path.name} row {r}"
            ap_pos = _apex(sid, r, where, apex.iloc[r], on, off, numbers[i], pos, issues, fixes)
            rows.append(
                {
                    "recording": i,
                    "recording_id": rec_rows[i]["recording_id"],
                    "sample_id": sid,
                    "onset": pos[on],
                    "apex": ap_pos,
                    "offset": pos[off],
                    "kind": kinds[r],
                    "emotion": str(emotion.iloc[r]).strip(),
                    "aus": str(aus.iloc[r]).strip(),
                    "onset_frame": on,
                    "offset_frame": off,
                }
            )
    intervals = pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))
    intervals = intervals.sort_values(["recording", "onset"], kind="stable").reset_index(drop=True)
    issue_df = pd.DataFrame(issues, columns=list(ISSUE_COLUMNS))
    fix_df = pd.DataFrame(fixes, columns=list(CORRECTION_COLUMNS)) if fixes else empty_corrections()
    return Recordings(key, root, spec.fps, recordings, intervals, frame_paths, tuple(paths), issue_df, fix_df)


def _apex(
    sid: str,
    r: int,
    where: str,
    cell: object,
    on: int,
    off: int,
    frames: Sequence[int],
    pos: dict[int, int],
    issues: list[dict],
    fixes: list[dict],
) -> int:
    """The apex's position in the recording: the annotated one, or the middle of onset..offset (recorded)."""
    ap = frame_cell(cell)
    if ap is not None and ap in pos:
        if not on <= ap <= off:
            problem, order = ("onset_after_apex", "before onset") if ap < on else ("apex_after_offset", "after offset")
            issues.append(
                {
                    "sample_id": sid,
                    "problem": problem,
                    "detail": f"{where}: apex {ap} is {order} ({on}..{off}); the annotated apex is kept",
                    "severity": "error",
                }
            )
        return pos[ap]
    middle = pos[on] + (pos[off] - pos[on]) // 2
    if ap is not None:
        problem = "apex_outside_recording"
        why = f"apex {ap} is not a frame of the recording ({frames[0]}..{frames[-1]})"
    elif is_blank(cell) or str(cell).strip() in ("/", "-"):
        problem, why = "", "apex missing in the annotation"
    else:
        problem, why = "invalid_annotation", f"apex {show(cell)!r} is not a frame number"
    if problem:
        issues.append(
            {"sample_id": sid, "problem": problem, "detail": f"{where}: {why}; {_APEX_FILL}", "severity": "error"}
        )
    fixes.append(
        {
            "sample_id": sid,
            "row": r,
            "field": "apex",
            "old": show(cell),
            "new": str(frames[middle]),
            "reason": f"{where}: {why}; {_APEX_FILL}",
            "status": "applied",
        }
    )
    return middle
