"""The synthetic writer: plans subjects, clips and events per corpus and renders them to its layout."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ...labels import format_aus, objective_class
from .._engine.layout import Layout
from ..corpora import LAYOUTS
from ._face_motion import Event, Recording, SubjectStyle, neutral_face, random_drift
from ._sheets import clip_name, sheet_table, write_sheet
from ._truth import TRUTH_FILE, write_truth

__all__ = ["EXPRESSIONS", "write_synthetic"]

#: Expression category -> AU combinations. Each combination is an exact MEGC2018 objective-class pattern
#: (happiness I, surprise II, anger III, disgust IV, sadness V, fear VI, contempt VII).
EXPRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "happiness": ((6, 12), (12,), (6, 7, 12)),
    "surprise": ((1, 2), (1, 2, 5), (5,)),
    "anger": ((4,), (4, 7), (4, 5)),
    "disgust": ((9,), (4, 9), (10,), (4, 7, 9)),
    "sadness": ((1,), (15,), (1, 4), (15, 17)),
    "fear": ((1, 2, 4),),
    "contempt": ((14,), (14, 17)),
}


def _sample_events(
    layout: Layout,
    rng: np.random.Generator,
    n_frames: tuple[int, int],
    amplitude: tuple[float, float],
    n_events: int,
    start: int,
) -> tuple[list[tuple[Event, str]], int, int]:
    """Events of one folder: (event, category) pairs, the folder's first frame number and frame count."""
    events = []
    t = start
    if layout.long_recordings:
        t += int(rng.integers(3, 7))  # lead-in frames before the first ME
    for k in range(n_events):
        category = str(rng.choice(list(EXPRESSIONS)))
        combos = EXPRESSIONS[category]
        aus = tuple(combos[int(rng.integers(len(combos)))])
        length = int(rng.integers(n_frames[0], n_frames[1] + 1))
        onset, offset = t, t + length - 1
        if layout.apex_annotated:
            apex = onset + max(1, int(round(rng.uniform(0.3, 0.55) * (length - 1))))
        else:  # the corpus gives no apex and readers take the middle frame: put the apex there
            apex = onset + (length - 1) // 2
        amps = tuple(float(rng.uniform(*amplitude)) for _ in aus)
        events.append((Event(onset, apex, offset, aus, amps), category))
        t = offset + 1 + (int(rng.integers(2, 6)) if k + 1 < n_events else 0)
    end = t + (int(rng.integers(3, 7)) if layout.long_recordings else 0)
    return events, start, end - start


def foreign_files(out_dir: str | Path, corpora: Sequence[str], *, cropped: bool = False) -> Path | None:
    """The first corpus folder or annotation sheet under ``out_dir`` that :func:`write_synthetic` did not write.

    A frame root holding the writer's :data:`~mefast.datasets.synthetic.TRUTH_FILE` is its own (with its sheet);
    any other non-empty root, or a sheet beside no such root, is someone's data, which a caller about to call
    ``write_synthetic(..., overwrite=True)`` there must not replace. None when there is nothing of the kind.
    """
    out = Path(out_dir)
    for corpus in (c for c in corpora if c in LAYOUTS):  # (write_synthetic names an unknown corpus)
        root, sheet = out / LAYOUTS[corpus].root(cropped), out / LAYOUTS[corpus].sheet
        if (root / TRUTH_FILE).is_file():
            continue
        if root.exists() and not (root.is_dir() and not any(root.iterdir())):
            return root
        if sheet.exists():
            return sheet
    return None


def write_synthetic(
    out_dir: str | Path,
    *,
    corpora: Sequence[str] = ("casme2", "samm", "casme3a"),
    n_subjects: int = 4,
    clips_per_subject: int = 5,
    size: tuple[int, int] = (128, 128),
    n_frames: tuple[int, int] = (12, 24),
    seed: int = 0,
    amplitude: tuple[float, float] = (0.3, 3.0),
    label_noise: float = 0.0,
    blink_prob: float = 0.3,
    drift: float = 0.6,
    noise: tuple[float, float] = (0.5, 2.0),
    shared_recordings: float = 0.25,
    cropped: bool = False,
    jpeg_quality: int = 95,
    n_jobs: int = 1,
    overwrite: bool = False,
) -> dict[str, tuple[Path, Path]]:
    """Write a synthetic dataset in the layouts of ``corpora``.

    Parameters
    ----------
    out_dir : path-like
        Output folder; each corpus gets its distributed folder name in it (``CASME2/``, ``SAMM/``,
        ``CASME3/``...).
    corpora : sequence of str
        Any of :data:`LAYOUTS` (``"casme2"``, ``"samm"``, ``"casme3a"``, ``"casme3c"``, ``"casme"``,
        ``"mmew"``, ``"4dme"``, ``"smic"``).
    n_subjects, clips_per_subject : int
        Per corpus.
    size : (int, int)
        Frame size ``(H, W)`` of the face crops.
    n_frames : (int, int)
        Inclusive range of frames from onset to offset.
    seed : int
        Everything is a function of the seed.
    amplitude : (float, float)
        Range of each AU's displacement at the apex, in pixels (micro-expressions move 0.3-3 px).
    label_noise : float
        Fraction of each corpus's samples (rounded to a count) whose written emotion is replaced by another
        of the corpus's words (not SMIC, whose label is the clip's folder).
    blink_prob : float
        Probability that a folder contains a blink.
    drift : float
        Largest head drift over a folder, in pixels.
    noise : (float, float)
        Range of the subjects' sensor-noise standard deviation (grey levels).
    shared_recordings : float
        CAS(ME)^3 part A: probability that an ME shares the recording folder of the subject's previous
        one (the sheet then repeats the file name, as in the real sheet).
    cropped : bool
        Write the cropped variant's folder and file names (``Cropped/.../reg_img46.jpg``).
    jpeg_quality : int
        JPEG quality of the frames.
    n_jobs : int
        Threads rendering folders in parallel.
    overwrite : bool
        Replace existing frame folders of the corpora written.

    Returns
    -------
    paths : dict
        corpus -> (frame root, annotation sheet), the arguments of :func:`mefast.datasets.load`.

    Raises
    ------
    ValueError
        Unknown corpus or impossible parameters.
    FileExistsError
        A frame root exists already and ``overwrite`` is False.
    """
    unknown = [c for c in corpora if c not in LAYOUTS]
    if unknown:
        raise ValueError(f"corpora: {unknown} unknown; expected some of {list(LAYOUTS)}")
    if n_subjects < 1 or clips_per_subject < 1:
        raise ValueError(f"n_subjects and clips_per_subject must be >= 1, got {n_subjects}, {clips_per_subject}")
    if not 3 <= n_frames[0] <= n_frames[1]:
        raise ValueError(f"n_frames must be a range (lo, hi) with 3 <= lo <= hi, got {n_frames}")
    if not 0 < amplitude[0] <= amplitude[1]:
        raise ValueError(f"amplitude must be a range (lo, hi) of pixels with 0 < lo <= hi, got {amplitude}")
    if not 0 <= label_noise <= 1:
        raise ValueError(f"label_noise must be in [0, 1], got {label_noise}")
    h, w = (int(v) for v in size)
    if min(h, w) < 32:
        raise ValueError(f"size must be at least (32, 32), got {size}")
    out = Path(out_dir)
    result: dict[str, tuple[Path, Path]] = {}
    for ci, corpus in enumerate(corpora):
        layout = LAYOUTS[corpus]
        root = out / layout.root(cropped)
        if root.exists() and any(root.iterdir()):
            if not overwrite:
                raise FileExistsError(f"{root} exists and is not empty; pass overwrite=True to replace it")
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(np.random.SeedSequence([seed, ci, 7919]))
        plan = _plan_corpus(
            layout,
            rng,
            n_subjects,
            clips_per_subject,
            (h, w),
            n_frames,
            amplitude,
            label_noise,
            blink_prob,
            drift,
            noise,
            shared_recordings,
            cropped,
        )
        jobs = [(rec, folder, names) for rec, folder, names, _ in plan["recordings"]]

        def render(job: tuple[Recording, str, list[str]], root: Path = root) -> None:
            import cv2

            rec, folder, names = job
            dest = root / folder
            dest.mkdir(parents=True, exist_ok=True)
            params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
            for frame, name in zip(rec.render(), names, strict=True):
                image = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
                if not cv2.imwrite(str(dest / name), image, params if name.endswith(".jpg") else []):
                    raise OSError(f"cannot write {dest / name}")

        if n_jobs > 1:
            with ThreadPoolExecutor(n_jobs) as pool:
                list(pool.map(render, jobs))
        else:
            for job in jobs:
                render(job)

        rows = [{**r, "clip": r["sheet_clip"]} for _, _, _, recs in plan["recordings"] for r in recs]
        sheet = write_sheet(corpus, sheet_table(corpus, rows), out / layout.sheet)
        write_truth(root, corpus, (h, w), seed, cropped, plan)
        result[corpus] = (root, sheet)
    return result


def _plan_corpus(
    layout: Layout,
    rng: np.random.Generator,
    n_subjects: int,
    clips: int,
    size: tuple[int, int],
    n_frames: tuple[int, int],
    amplitude: tuple[float, float],
    label_noise: float,
    blink_prob: float,
    drift: float,
    noise: tuple[float, float],
    shared: float,
    cropped: bool,
) -> dict:
    words = sorted(set(layout.labels.values()))
    recordings = []
    styles = {}
    for k in range(1, n_subjects + 1):
        sheet_subject, sid = layout.subject(k)
        style = SubjectStyle.random(rng, noise)
        styles[sid] = dataclasses.asdict(style)
        lm = neutral_face(size, style)[1]
        iod = float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))
        j = 0
        letters = iter("abcdefghijklmnopqrstuvwxyz")
        used_clips: set[str] = set()
        while j < clips:
            n_events = 1
            if layout.corpus == "casme3a":
                while j + n_events < clips and rng.random() < shared:
                    n_events += 1
            start = int(rng.integers(*layout.first_frame)) if layout.first_frame[1] > layout.first_frame[0] else 0
            events, first, count = _sample_events(layout, rng, n_frames, amplitude, n_events, start)
            drift_p = random_drift(rng, (0, drift), sway=0.15, max_freq=1.5)
            blinks = []
            if rng.random() < blink_prob:
                dur = int(rng.integers(4, 8))
                blinks.append(
                    (first + int(rng.integers(0, max(count - dur, 1))), dur, float(rng.uniform(0.04, 0.07) * iod))
                )
            rec = Recording(
                size,
                style,
                first,
                count,
                tuple(e for e, _ in events),
                drift_p,
                tuple(blinks),
                int(rng.integers(0, 2**31 - 1)),
                layout.grey,
            )
            peak = rec.peak_gradient()
            if peak > 0.45:  # keep the motion invertible and smooth
                f = 0.45 / peak
                scaled = tuple(
                    dataclasses.replace(e, amplitudes=tuple(a * f for a in e.amplitudes)) for e in rec.events
                )
                rec = dataclasses.replace(rec, events=scaled, blinks=tuple((s, d, a * f) for s, d, a in rec.blinks))
            category0 = events[0][1]
            true_word = layout.labels[category0]
            if layout.corpus == "casme3a":
                folder_clip = next(letters)
            else:
                folder_clip = clip_name(layout.corpus, sid, j, rng, true_word)
                while folder_clip in used_clips:
                    folder_clip = clip_name(layout.corpus, sid, j + len(used_clips) + 7, rng, true_word)
            used_clips.add(folder_clip)
            folder = layout.clip_dir(sid, folder_clip, true_word)
            names = [layout.frame_name(sid, folder_clip, n, cropped) for n in rec.frame_numbers]
            rows = []
            for (_, category), ev in zip(events, rec.events, strict=True):
                word = layout.labels[category]
                noisy = False
                aus_text = layout.aus(ev.aus, rng) if layout.aus is not None else ""
                rows.append(
                    {
                        "subject": sheet_subject,
                        "subject_id": sid,
                        "sheet_clip": folder_clip,
                        "onset": ev.onset,
                        "apex": ev.apex,
                        "offset": ev.offset,
                        "aus": aus_text,
                        "true_aus": format_aus(ev.aus),
                        "amplitudes": list(ev.amplitudes),
                        "emotion": word,
                        "true_emotion": layout.labels[category],
                        "category": category,
                        "noisy": noisy,
                        "objective": objective_class(ev.aus),
                        "inducement": f"{int(rng.integers(1, 8))}",
                        "duration": ev.offset - ev.onset + 1,
                        "micro": "Micro - 1/2",
                        "notes": "",
                        "apex2": "/",
                    }
                )
            recordings.append((rec, folder, names, rows))
            j += n_events
    # Label noise: exactly round(label_noise * N) written emotions replaced by another of the corpus's words.
    # SMIC is exempt: its label is the clip's folder.
    rows_all = [r for *_, rows in recordings for r in rows]
    n_noisy = int(round(label_noise * len(rows_all))) if layout.corpus != "smic" and len(words) > 1 else 0
    for i in sorted(rng.choice(len(rows_all), n_noisy, replace=False).tolist()) if n_noisy else []:
        row = rows_all[i]
        row["emotion"] = str(rng.choice([x for x in words if x != row["emotion"]]))
        row["noisy"] = True
    return {"styles": styles, "recordings": recordings}
