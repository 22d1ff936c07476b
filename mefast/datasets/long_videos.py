"""Long recordings for spotting: whole task videos with their micro- and macro-expression intervals.

:func:`load_long` reads a spotting corpus as its authors distribute it and returns :class:`Recordings`: one row
per recording (the whole video, not a clip) and one row per annotated interval, with frames read lazily and in
order (:meth:`Recordings.iter_frames`), never the whole video at once.

===========  =======================================================================================  =====
``load_long``  layout (``root``; sheet found next to or above it)                                        fps
===========  =======================================================================================  =====
``casme3a``  ``CASME3/part_A/data/part_A/spNO.1/a/color/0.jpg`` (one folder per task);                   30
             ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` (Subject, Filename, Onset, Apex, Offset, AU,
             Objective class, emotion) and, when present, ``cas(me)3_part_A_MaE_label_JpgIndex_v2.xlsx``
             (the same columns, macro-expressions)
``samm_lv``  ``SAMM_longvideos/006_1/006_1_00001.jpg`` (one folder per video);                          200
             ``SAMM_LongVideos_V3_Release.xlsx`` (notes, then Subject, Filename ``006_1_2``,
             Inducement Code, Onset, Apex, Offset, Duration, Type ``Micro - 1/2`` / ``Macro``,
             Action Units, Notes); the video is the first two parts of the file name
``casme2lv`` ``CAS(ME)^2/rawpic/s15/15_0101disgustingteeth/img1.jpg``;                                    30
             ``CAS(ME)^2code_final.xlsx`` (Subject, Filename ``disgustingteeth``, Onset, Apex, Offset,
             AUs, Emotion, Type ``micro-expression`` / ``macro-expression``); an offset of 0 means
             missing and becomes the apex (as SOFTNet does)
===========  =======================================================================================  =====

Interval frames are converted to 0-based positions in the recording's sorted frame list (spec 0); the
sheets' frame numbers stay in ``onset_frame``/``offset_frame``. The sheets' column names follow the
distributed files as described by the MEGC baselines and SOFTNet's loaders; they were checked on synthetic
copies (:func:`mefast.datasets.synthetic.write_long_synthetic`), not on the licensed originals.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import AnnotationError, FrameReadError
from ._engine.frames import list_frames, read_rgb

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
    sheets: tuple[str, ...]  # file names searched next to and above root (first: micro, or both types)
    grey: bool = False


LONG_CORPORA: dict[str, _LongSpec] = {
    "casme3a": _LongSpec(
        "casme3a", 30.0,
        ("cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "cas(me)3_part_A_MaE_label_JpgIndex_v2.xlsx"),
    ),
    "samm_lv": _LongSpec("samm_lv", 200.0, ("SAMM_LongVideos_V3_Release.xlsx",), grey=True),
    "casme2lv": _LongSpec("casme2lv", 30.0, ("CAS(ME)^2code_final.xlsx",)),
}  # fmt: skip
_ALIASES = {"sammlv": "samm_lv", "samm-lv": "samm_lv", "cas(me)^2": "casme2lv", "casme^2": "casme2lv",
            "cas(me)3a": "casme3a", "casme3": "casme3a"}  # fmt: skip


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
    issues : DataFrame
        ``sample_id, problem, detail, severity`` of rows that could not be placed (unknown video, frames outside
        the recording, offset before onset).
    """

    name: str
    root: Path
    fps: float
    recordings: pd.DataFrame
    intervals: pd.DataFrame
    frame_paths: list[list[Path]]
    annotations: tuple[Path, ...] = ()
    issues: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["sample_id", "problem", "detail", "severity"])
    )

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
        )


def _find(root: Path, names: Sequence[str]) -> list[Path | None]:
    out: list[Path | None] = []
    for name in names:
        hit = None
        for folder in (root, *list(root.parents)[:4]):
            for cand in (folder / name, folder / "annotation" / name):
                if cand.is_file():
                    hit = cand
                    break
            if hit is None:
                found = sorted(folder.glob(f"*/{name}"))
                hit = found[0] if found else None
            if hit is not None:
                break
        out.append(hit)
    return out


def _read_table(path: Path, first_column: str) -> pd.DataFrame:
    """A sheet whose header row (the one starting with ``first_column``) may sit below rows of notes."""
    try:
        raw = pd.read_excel(path, header=None, dtype=object)
    except Exception as e:  # openpyxl raises many kinds
        raise AnnotationError(f"cannot read the annotation sheet {path}: {e}") from e
    hits = [r for r in range(len(raw)) if str(raw.iat[r, 0]).strip().lower() == first_column.lower()]
    if not hits:
        raise AnnotationError(f"{path}: no header row starting with {first_column!r}")
    h = hits[0]
    table = raw.iloc[h + 1 :].copy()
    table.columns = [str(c).strip() for c in raw.iloc[h]]
    return table.dropna(how="all").reset_index(drop=True)


def _col(table: pd.DataFrame, path: Path, *names: str) -> pd.Series:
    low = {c.lower(): c for c in table.columns}
    for n in names:
        if n.lower() in low:
            return table[low[n.lower()]]
    raise AnnotationError(f"{path}: no column {names[0]!r}; it has {list(table.columns)}")


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
        A sheet is missing, unreadable or lacks a column.
    """
    key = str(corpus).lower().replace(" ", "")
    key = _ALIASES.get(key, key)
    spec = LONG_CORPORA.get(key)
    if spec is None:
        raise ValueError(f"unknown long-video corpus {corpus!r}; expected one of {list(LONG_CORPORA)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{corpus}: root {root} is not a folder")
    if annotations is None:
        sheets = _find(root, spec.sheets)
        if sheets[0] is None:
            raise AnnotationError(f"{corpus}: no {spec.sheets[0]} next to or above {root}; pass annotations=")
        paths = [p for p in sheets if p is not None]
    else:
        paths = [Path(a) for a in ([annotations] if isinstance(annotations, str | Path) else annotations)]
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
    lookup = {(r["subject"], r["video"]): i for i, r in enumerate(rec_rows)}
    rows, issues = [], []
    for sheet_i, path in enumerate(paths):
        first = "Subject"
        table = _read_table(path, first)
        subj = _col(table, path, "Subject", "sub")
        fname = _col(table, path, "Filename", "video")
        onset = _col(table, path, "Onset", "Onset Frame", "OnsetFrame")
        apex = _col(table, path, "Apex", "Apex Frame", "ApexFrame")
        offset = _col(table, path, "Offset", "Offset Frame", "OffsetFrame")
        if key == "casme3a":
            kinds = ["macro" if sheet_i > 0 or "mae" in path.name.lower() else "micro"] * len(table)
        else:
            kinds = [
                ("micro" if "micro" in str(v).lower() else "macro")
                for v in _col(table, path, "Type", "Expression type")
            ]
        emotion = (
            table[[c for c in table.columns if c.lower() in ("emotion", "estimated emotion")][0]]
            if any(c.lower() in ("emotion", "estimated emotion") for c in table.columns)
            else pd.Series([""] * len(table))
        )
        aus = (
            table[[c for c in table.columns if c.lower() in ("au", "aus", "action units")][0]]
            if any(c.lower() in ("au", "aus", "action units") for c in table.columns)
            else pd.Series([""] * len(table))
        )
        for r in range(len(table)):
            s_raw = str(subj.iloc[r]).strip()
            name = str(fname.iloc[r]).strip()
            if key == "casme3a":
                k = (s_raw, name)
            elif key == "samm_lv":
                k = (s_raw.zfill(3), "_".join(name.split("_")[:2]))
            else:
                s2 = str(_int(s_raw)).zfill(2)
                cands = [str(v) for (s, v) in lookup if s == s2 and name in str(v)]
                k = (s2, cands[0] if cands else name)
            sid = f"{key}/{k[0]}/{name}/{r}"
            i = lookup.get(k)
            on, ap, off = _int(onset.iloc[r]), _int(apex.iloc[r]), _int(offset.iloc[r])
            if off == 0 and key == "casme2lv":
                off = ap
            if i is None:
                issues.append(
                    {
                        "sample_id": sid,
                        "problem": "missing_recording",
                        "detail": f"{path.name} row {r}: no recording folder for {k}",
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
            rows.append(
                {
                    "recording": i,
                    "recording_id": rec_rows[i]["recording_id"],
                    "sample_id": sid,
                    "onset": pos[on],
                    "apex": pos.get(ap, pos[on] + (pos[off] - pos[on]) // 2),
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
    issue_df = pd.DataFrame(issues, columns=["sample_id", "problem", "detail", "severity"])
    return Recordings(key, root, spec.fps, recordings, intervals, frame_paths, tuple(paths), issue_df)
