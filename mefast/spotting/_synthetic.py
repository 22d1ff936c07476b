"""Synthetic long recordings with planted micro- and macro-expressions, blinks and head drift.

A long recording is a :class:`mefast.datasets._face_motion.Recording` (the public-domain astronaut face moved by
AU displacement fields) of several hundred frames holding a few expressions with known onset, apex and offset:
micro-expressions of 0.2-0.45 s, macro-expressions of 0.7-1.6 s with larger amplitudes, blinks (eyelids only,
3-8 frames) and a slow head drift as distractors. Frames are rendered one at a time (:func:`iter_frames`), so a
recording of any length never sits in memory. The on-disk writer in :mod:`mefast.datasets.synthetic` lays these
recordings out as the long-video corpora do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..datasets.synthetic._face_motion import Event, Recording, SubjectStyle, max_gradient, neutral_face

__all__ = ["LongRecording", "PlantedExpression", "iter_frames", "make_long_recording"]

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
    ang = rng.uniform(0, 2 * np.pi)
    drift_p = (
        float(drift * np.cos(ang)),
        float(drift * np.sin(ang)),
        float(rng.uniform(0, 0.3)),
        float(rng.uniform(0, 0.3)),
        float(rng.uniform(0.5, 2.0)),
        float(rng.uniform(0, 2 * np.pi)),
    )
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
    import cv2

    r = rec.recording if isinstance(rec, LongRecording) else rec
    face, units, blink, _ = r._basis()
    h, w = r.size
    stop = r.n_frames if stop is None else min(int(stop), r.n_frames)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    st = r.style
    light = st.gain * (1 + st.gradient[0] * (xx / w - 0.5) + st.gradient[1] * (yy / h - 0.5))
    if r.grey:
        face = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
        light = light * float(np.mean(st.tint))
    else:
        light = light[..., None] * np.asarray(st.tint, np.float32)
    rng = np.random.default_rng(np.random.SeedSequence([int(r.noise_seed), int(start)]))
    for t in range(r.first_frame + int(start), r.first_frame + stop):
        a = r._motion(t, units, blink)
        frame = np.asarray(
            cv2.remap(face, xx - a[..., 0], yy - a[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE),
            np.float32,
        )
        frame *= light
        frame += st.bias
        frame += rng.standard_normal(frame.shape, np.float32) * np.float32(st.noise)
        yield np.clip(np.rint(frame), 0, 255).astype(np.uint8)
