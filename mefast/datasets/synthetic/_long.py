"""Synthetic long recordings with planted micro- and macro-expressions, blinks and head drift, and their writer.

A long recording is a :class:`~._face_motion.Recording` (the public-domain astronaut face moved by
AU displacement fields) of several hundred frames holding a few expressions with known onset, apex and offset:
micro-expressions of 0.2-0.45 s, macro-expressions of 0.7-1.6 s with larger amplitudes, blinks (eyelids only,
3-8 frames) and a slow head drift as distractors. Frames are rendered one at a time (:func:`iter_frames`), so a
recording of any length never sits in memory. :func:`write_long_synthetic` lays recordings out as the long-video
corpora distribute them (CAS(ME)^3 part A task folders, SAMM long videos, CAS(ME)^2 raw videos, with their
sheets), for :func:`mefast.datasets.long_videos.load_long`; ``long_truth.json`` in each root lists every planted
expression and blink.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ...labels import objective_class
from ._face_motion import Event, Recording, SubjectStyle, max_gradient, neutral_face, random_drift

__all__ = [
    "LONG_TRUTH_FILE",
    "LongRecording",
    "PlantedExpression",
    "iter_frames",
    "make_long_recording",
    "write_long_synthetic",
]

_MICRO_AUS = ((12,), (6, 12), (1, 2), (4,), (4, 7), (9,), (10,), (15,), (14,), (17,), (1, 4), (4, 9))


@dataclass(frozen=True)
class PlantedExpression:
    """One planted expression: 0-based frame indices (inclusive) and its type."""

    onset: int
    apex: int
    offset: int
    kind: str  # "micro" or "macro"
    aus: tuple[int, ...]


@dataclass(frozen=True)
class LongRecording:
    """A synthetic long recording: the renderer, its planted expressions and blinks (0-based frames)."""

    recording: Recording
    expressions: tuple[PlantedExpression, ...]
    blinks: tuple[tuple[int, int], ...]  # (first frame, last frame)
    fps: float

    @property
    def n_frames(self) -> int:
        return self.recording.n_frames

    @property
    def landmarks(self) -> NDArray[np.float64]:
        """The 68 landmarks of the neutral face (frame coordinates)."""
        return np.asarray(neutral_face(self.recording.size, self.recording.style)[1], np.float64)

    def intervals(self, kind: str | None = None) -> NDArray[np.int64]:
        """``(n, 2)`` onset/offset rows of the planted expressions (of one kind when given)."""
        rows = [(e.onset, e.offset) for e in self.expressions if kind is None or e.kind == kind]
        return np.asarray(rows, np.int64).reshape(-1, 2)


def make_long_recording(
    seed: int | np.random.Generator = 0,
    *,
    n_frames: int = 450,
    fps: float = 30.0,
    size: tuple[int, int] = (128, 128),
    n_micro: int = 3,
    n_macro: int = 1,
    n_blinks: int = 3,
    drift: float = 1.5,
    micro_amplitude: tuple[float, float] = (1.2, 2.4),
    macro_amplitude: tuple[float, float] = (2.5, 4.0),
    noise: tuple[float, float] = (0.5, 1.5),
    grey: bool = False,
    style: SubjectStyle | None = None,
) -> LongRecording:
    """Plan a long recording (nothing is rendered until :func:`iter_frames`).

    Parameters
    ----------
    seed : int or Generator
    n_frames : int
        Length of the recording.
    fps : float
        Frame rate the expression durations are measured in (micro 0.2-0.45 s, macro 0.7-1.6 s, blinks 0.1-0.27 s).
    size : (int, int)
        Frame size ``(H, W)``.
    n_micro, n_macro, n_blinks : int
        Planted expressions and blinks; they never overlap each other (expressions are at least 0.4 s apart).
    drift : float
        Largest head translation over the recording, pixels.
    micro_amplitude, macro_amplitude : (float, float)
        Range of each AU's displacement at the apex, pixels.
    noise : (float, float)
        Range of the sensor-noise standard deviation.
    grey : bool
        Grey frames (SAMM) instead of RGB.
    style : SubjectStyle, optional
        The subject; random when None.

    Returns
    -------
    LongRecording

    Raises
    ------
    ValueError
        The events do not fit into ``n_frames``.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if style is None:
        style = SubjectStyle.random(rng, noise)
    sec = float(fps)
    kinds = ["micro"] * n_micro + ["macro"] * n_macro + ["blink"] * n_blinks
    rng.shuffle(kinds)
    lengths = []
    for kind in kinds:
        lo, hi = {"micro": (0.2, 0.45), "macro": (0.7, 1.6), "blink": (0.1, 0.27)}[kind]
        lengths.append(max(3, int(round(rng.uniform(lo, hi) * sec))))
    gap = max(4, int(round(0.4 * sec)))
    slack = n_frames - sum(lengths) - gap * (len(kinds) + 1)
    if slack < 0:
        raise ValueError(
            f"n_frames={n_frames} is too short for {n_micro} micro, {n_macro} macro and {n_blinks} blinks at {fps} fps"
        )
    extra = np.diff(np.sort(np.concatenate([[0, slack], rng.integers(0, slack + 1, len(kinds))])))
    t = 0
    events: list[Event] = []
    planted: list[PlantedExpression] = []
    blinks: list[tuple[int, int, float]] = []
    face_lm = neutral_face(size, style)[1]
    iod = float(np.linalg.norm(face_lm[36:42].mean(0) - face_lm[42:48].mean(0)))
    for kind, length, pad in zip(kinds, lengths, extra[: len(kinds)], strict=True):
        t += gap + int(pad)
        onset, offset = t, t + length - 1
        if kind == "blink":
            blinks.append((onset, length, float(rng.uniform(0.05, 0.08) * iod)))
        else:
            aus = _MICRO_AUS[int(rng.integers(len(_MICRO_AUS)))]
            amp_range = micro_amplitude if kind == "micro" else macro_amplitude
            amps = tuple(float(rng.uniform(*amp_range)) for _ in aus)
            apex = onset + int(round(rng.uniform(0.4, 0.6) * (length - 1)))
            events.append(Event(onset, apex, offset, aus, amps))
            planted.append(PlantedExpression(onset, apex, offset, kind, aus))
        t = offset + 1
    drift_p = random_drift(rng, drift, sway=0.3, max_freq=2.0)
    rec = Recording(
        size, style, 0, int(n_frames), tuple(events), drift_p, tuple(blinks), int(rng.integers(0, 2**31 - 1)), grey
    )
    rec = _keep_invertible(rec)
    return LongRecording(rec, tuple(planted), tuple((s, s + d - 1) for s, d, _ in blinks), float(fps))


def _keep_invertible(rec: Recording) -> Recording:
    """Scale each event (and blink) down where its apex field's gradient would exceed 0.45 (invertible warps)."""
    _, units, blink, _ = rec._basis()
    events = []
    for e in rec.events:
        field = sum(a * units[au] for au, a in zip(e.aus, e.amplitudes, strict=True))
        g = max_gradient(np.asarray(field))
        f = min(1.0, 0.45 / g) if g > 0 else 1.0
        events.append(dataclasses.replace(e, amplitudes=tuple(a * f for a in e.amplitudes)))
    blinks = []
    for s, d, a in rec.blinks:
        g = max_gradient(a * blink)
        blinks.append((s, d, a * min(1.0, 0.45 / g) if g > 0 else a))
    return dataclasses.replace(rec, events=tuple(events), blinks=tuple(blinks))


def iter_frames(rec: LongRecording | Recording, start: int = 0, stop: int | None = None) -> Iterator[NDArray[np.uint8]]:
    """Render frames ``start .. stop - 1`` one at a time: uint8 ``(H, W, 3)`` (``(H, W)`` when grey).

    The noise is drawn per call from the recording's seed and ``start``; the motion is exactly the recording's.
    """
    r = rec.recording if isinstance(rec, LongRecording) else rec
    stop = r.n_frames if stop is None else min(int(stop), r.n_frames)
    rng = np.random.default_rng(np.random.SeedSequence([int(r.noise_seed), int(start)]))
    noise = np.float32(r.style.noise)
    for frame in r._noiseless(range(r.first_frame + int(start), r.first_frame + stop)):
        frame += rng.standard_normal(frame.shape, np.float32) * noise
        yield np.clip(np.rint(frame), 0, 255).astype(np.uint8)


LONG_TRUTH_FILE = "long_truth.json"

# corpus -> (frame root, sheets (micro/both, macro or None), fps, grey, first frame number)
_LONG_LAYOUTS: dict[str, tuple[str, tuple[str, str | None], float, bool, int]] = {
    "casme3a": (
        "CASME3/part_A/data/part_A",
        ("CASME3/part_A/annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
         "CASME3/part_A/annotation/cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx"),
        30.0, False, 0,
    ),
    "samm_lv": ("SAMM/SAMM_longvideos", ("SAMM/SAMM_LongVideos_V3_Release.xlsx", None), 200.0, True, 1),
    "casme2lv": ("CAS(ME)^2/rawpic", ("CAS(ME)^2/CAS(ME)^2code_final.xlsx", None), 30.0, False, 1),
}  # fmt: skip
_EMOTION = {
    (12,): "happy",
    (6, 12): "happy",
    (1, 2): "surprise",
    (4,): "anger",
    (4, 7): "anger",
    (9,): "disgust",
    (10,): "disgust",
    (15,): "sad",
    (14,): "others",
    (17,): "others",
    (1, 4): "sad",
    (4, 9): "disgust",
}
# CAS(ME)^3 part A's MaE sheet spells two emotions as nouns where its ME sheet has adjectives
_CASME3_MAE_WORDS = {"happy": "happiness", "sad": "sadness"}
_ROMAN = ("", "I", "II", "III", "IV", "V", "VI", "VII")
_CASME3_ME_HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
_CASME3_MAE_HEADER = ("sub", "seq", "onset", "apex", "offset", "au", "emotion")
_CASME2_VIDEOS = ("0101disgustingteeth", "0102eatingworms", "0401girlcrashing", "0502funnyerrors",
                  "0503unnyfarting", "0505funnyinnovations")  # fmt: skip
# the released sheet names a video by its stimulus ("disgust1_2": the second expression of disgust1), which its
# third sheet maps to the folder's video code
_CASME2_STIMULI = ("disgust1", "disgust2", "anger1", "happy1", "happy2", "happy3")
_CASME2_CLASS = {"happy": "positive", "surprise": "surprise", "anger": "negative", "disgust": "negative",
                 "sad": "negative", "others": "others"}  # fmt: skip


def _frame_name(corpus: str, subject: str, video: str, n: int) -> str:
    if corpus == "samm_lv":
        return f"{video}_{n:05d}.jpg"
    if corpus == "casme2lv":
        return f"img{n}.jpg"
    return f"{n}.jpg"


def write_long_synthetic(
    out_dir: str | Path,
    *,
    corpora: Sequence[str] = ("casme3a",),
    n_subjects: int = 3,
    videos_per_subject: int = 2,
    n_frames: int | None = None,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
    n_micro: int = 3,
    n_macro: int = 1,
    n_blinks: int = 3,
    jpeg_quality: int = 95,
    overwrite: bool = False,
    casme2_layout: str = "release",
) -> dict[str, tuple[Path, list[Path]]]:
    """Write synthetic long recordings in the layouts of the long-video corpora.

    Parameters
    ----------
    out_dir : path-like
    corpora : sequence of {"casme3a", "samm_lv", "casme2lv"}
    n_subjects, videos_per_subject : int
    n_frames : int, optional
        Frames per recording (default 15 s at the corpus's frame rate capped to 450 at 30 fps and 3000 at 200 fps).
    size : (int, int)
    seed : int
    n_micro, n_macro, n_blinks : int
        Planted per recording.
    jpeg_quality : int
    overwrite : bool
        Replace existing frame roots.
    casme2_layout : {"release", "header"}
        The CAS(ME)^2 sheet as released (a first sheet with no header row: participant number, file name
        ``disgust1_1``, onset, apex, offset, AUs, emotion, type, self-report; ``naming rule1`` mapping the
        participant to its subject code ``s15``; ``naming rule2`` mapping ``disgust1`` to the video code
        ``0101``) or one sheet with a header row (Subject = subject code, Filename = the folder's video name).

    Returns
    -------
    paths : dict
        corpus -> (frame root, sheet paths), the arguments of :func:`mefast.datasets.long_videos.load_long`.
    """
    import json
    import shutil

    import cv2
    import pandas as pd

    if casme2_layout not in ("release", "header"):
        raise ValueError(f"casme2_layout must be 'release' or 'header', got {casme2_layout!r}")
    unknown = [c for c in corpora if c not in _LONG_LAYOUTS]
    if unknown:
        raise ValueError(f"corpora: {unknown} unknown; expected some of {list(_LONG_LAYOUTS)}")
    if n_subjects < 1 or videos_per_subject < 1:
        raise ValueError(f"n_subjects and videos_per_subject must be >= 1, got {n_subjects}, {videos_per_subject}")
    out = Path(out_dir)
    result: dict[str, tuple[Path, list[Path]]] = {}
    # what every recording plants; the corpus sets the length, frame rate and colour, the subject the face
    plan = functools.partial(make_long_recording, size=size, n_micro=n_micro, n_macro=n_macro, n_blinks=n_blinks)
    for ci, corpus in enumerate(corpora):
        rel_root, sheets, fps, grey, first = _LONG_LAYOUTS[corpus]
        root = out / rel_root
        if root.exists() and any(root.iterdir()):
            if not overwrite:
                raise FileExistsError(f"{root} exists and is not empty; pass overwrite=True to replace it")
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
        length = n_frames or (450 if fps <= 30 else 3000)
        rng = np.random.default_rng(np.random.SeedSequence([seed, ci, 4242]))
        micro_rows: list[dict] = []
        macro_rows: list[dict] = []
        truth_rows: list[dict] = []
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
        for s in range(1, n_subjects + 1):
            style = SubjectStyle.random(rng)
            for v in range(videos_per_subject):
                rec = plan(rng, n_frames=length, fps=fps, grey=grey, style=style)
                if corpus == "casme3a":
                    subject, video, sheet_subject = f"spNO.{s}", "abcdefghijklm"[v], f"spNO.{s}"
                    folder = root / subject / video / "color"
                elif corpus == "samm_lv":
                    subject = f"{5 + s:03d}"
                    video, sheet_subject = f"{subject}_{v + 1}", subject
                    folder = root / video
                else:
                    subject = f"{14 + s:02d}"
                    video, sheet_subject = f"{subject}_{_CASME2_VIDEOS[v % len(_CASME2_VIDEOS)]}", str(int(subject))
                    folder = root / f"s{subject}" / video
                folder.mkdir(parents=True, exist_ok=True)
                for n, frame in enumerate(iter_frames(rec), start=first):
                    image = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
                    if not cv2.imwrite(str(folder / _frame_name(corpus, subject, video, n)), image, params):
                        raise OSError(f"cannot write {folder}")
                for j, e in enumerate(rec.expressions):
                    on, ap, off = e.onset + first, e.apex + first, e.offset + first
                    emo = _EMOTION.get(e.aus, "others")
                    au = "+".join(str(a) for a in e.aus)
                    if corpus == "casme3a" and e.kind == "macro":  # the MaE sheet's own header
                        row = {
                            "sub": sheet_subject,
                            "seq": video,
                            "onset": on,
                            "apex": ap,
                            "offset": off,
                            "au": au,
                            "emotion": _CASME3_MAE_WORDS.get(emo, emo),
                        }
                    elif corpus == "casme3a":
                        row = {
                            "Subject": sheet_subject,
                            "Filename": video,
                            "Onset": on,
                            "Apex": ap,
                            "Offset": off,
                            "AU": au,
                            "Objective class": _ROMAN[objective_class(e.aus)],
                            "emotion": emo,
                        }
                    elif corpus == "samm_lv":
                        row = {
                            "Subject": sheet_subject,
                            "Filename": f"{video}_{j + 1}",
                            "Inducement Code": 1,
                            "Onset": on,
                            "Apex": ap,
                            "Offset": off,
                            "Duration": off - on + 1,
                            "Type": "Micro - 1/2" if e.kind == "micro" else "Macro",
                            "Action Units": au,
                            "Notes": "",
                        }
                    elif casme2_layout == "header":
                        row = {
                            "Subject": sheet_subject,
                            "Filename": video.split("_", 1)[1][4:],
                            "Onset": on,
                            "Apex": ap,
                            "Offset": off,
                            "AUs": au,
                            "Emotion": emo,
                            "Type": f"{e.kind}-expression",
                        }
                    else:  # released: no header; participant s, the stimulus and the expression's number
                        row = {
                            "Subject": s,
                            "Filename": f"{_CASME2_STIMULI[v % len(_CASME2_STIMULI)]}_{j + 1}",
                            "Onset": on,
                            "Apex": ap,
                            "Offset": off,
                            "AUs": au,
                            "Emotion": _CASME2_CLASS.get(emo, "others"),
                            "Type": f"{e.kind}-expression",
                            "Self-report": emo,
                        }
                    (macro_rows if (corpus == "casme3a" and e.kind == "macro") else micro_rows).append(row)
                truth_rows.append(
                    {
                        "subject": subject,
                        "video": video,
                        "fps": fps,
                        "first_frame": first,
                        "landmarks": rec.landmarks.tolist(),
                        "expressions": [dataclasses.asdict(e) for e in rec.expressions],
                        "blinks": [list(b) for b in rec.blinks],
                    }
                )
        written = []
        for rows, rel in ((micro_rows, sheets[0]), (macro_rows, sheets[1])):
            if rel is None:
                continue
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            table = pd.DataFrame(rows)
            if corpus == "samm_lv":  # notes above the header, as distributed
                notes = pd.DataFrame([["SAMM Long Videos (synthetic rendering by mefast)"], ["Frame rate: 200 fps"]])
                with pd.ExcelWriter(path, engine="openpyxl") as w:
                    notes.to_excel(w, index=False, header=False, startrow=0)
                    table.to_excel(w, index=False, startrow=3)
            elif corpus == "casme2lv" and casme2_layout == "release":
                _write_casme2_release(path, table, n_subjects, videos_per_subject)
            elif corpus == "casme3a":
                _write_casme3_release(path, table, micro=rows is micro_rows)
            else:
                table.to_excel(path, index=False, engine="openpyxl")
            written.append(path)
        (root / LONG_TRUTH_FILE).write_text(json.dumps({"corpus": corpus, "seed": seed, "recordings": truth_rows}))
        result[corpus] = (root, written)
    return result


def _write_casme3_release(path: Path, table: object, micro: bool) -> None:
    """A CAS(ME)^3 part A sheet as released.

    The ME sheet (``Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion``) is sheet ``label``
    with every cell stored as text (``'355'``, the objective class a Roman numeral), followed by the empty
    sheets ``Sheet1`` and ``Sheet3``. The MaE sheet (``sub, seq, onset, apex, offset, au, emotion``) is sheet
    ``Sheet1``, its frame numbers numbers (the sixth column's header is not known from public sources; it is
    written as ``au``).
    """
    import pandas as pd

    header = _CASME3_ME_HEADER if micro else _CASME3_MAE_HEADER
    frame = pd.DataFrame(table, columns=list(header))  # the header even when no expression of the kind was planted
    with pd.ExcelWriter(path, engine="openpyxl") as w:
        if micro:
            frame.astype(str).to_excel(w, sheet_name="label", index=False)
            for name in ("Sheet1", "Sheet3"):
                pd.DataFrame().to_excel(w, sheet_name=name, index=False)
        else:
            frame.to_excel(w, sheet_name="Sheet1", index=False)


def _write_casme2_release(path: Path, table: object, n_subjects: int, videos_per_subject: int) -> None:
    """CAS(ME)^2code_final.xlsx as released: three sheets, none with a header row.

    The first holds the expressions, ``naming rule1`` maps participant number (third column) to subject code
    (second column; the first is not read by the loaders, here the same code), ``naming rule2`` maps the
    stimulus (second column) to the video code (first column, text ``"0101"``).
    """
    import pandas as pd

    subjects = [[f"s{14 + s}", f"s{14 + s}", s] for s in range(1, n_subjects + 1)]
    n_videos = min(videos_per_subject, len(_CASME2_STIMULI))
    videos = [[_CASME2_VIDEOS[v][:4], _CASME2_STIMULI[v]] for v in range(n_videos)]
    with pd.ExcelWriter(path, engine="openpyxl") as w:
        pd.DataFrame(table).to_excel(w, sheet_name="CASFEcode_final", index=False, header=False)
        pd.DataFrame(subjects).to_excel(w, sheet_name="naming rule1", index=False, header=False)
        pd.DataFrame(videos).to_excel(w, sheet_name="naming rule2", index=False, header=False)
