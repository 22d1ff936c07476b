"""Facial motion on a real photograph: subject styles, AU displacement fields, exact warps.

The synthetic corpora are renderings of :func:`mefast.data.face_image` (public domain) under known motion.
A *subject* is the photograph under a similarity transform with a face-shape change, lighting and sensor
noise. Frame ``t`` of a recording shows the subject's neutral face ``R`` moved by a smooth motion ``A_t``:
``frame_t(y) = R(y - A_t(y))``, so a skin point moves by about ``A_t``. ``A_t`` is the sum of

* a head drift (a slow translation),
* the active AUs: each AU is a few Gaussian pulls anchored on the 68 landmarks, in the direction the
  muscle moves the skin (FACS), scaled to its amplitude in pixels and by its onset->apex->offset profile,
* blinks (upper lids down, lower lids up).

Rendering is one bicubic resampling per frame. The exact displacement of each frame from the neutral face
(:meth:`Recording.fields`) and the exact optical flow between any two frames (:meth:`Recording.flow`)
follow from ``A`` by fixed-point iterations that converge because the motion's gradients stay below 0.5.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

__all__ = ["AU_MOTIONS", "Event", "Recording", "SubjectStyle", "neutral_face"]

# (anchor landmarks, direction (dx, dy) in image coordinates, weight, sigma in inter-ocular distances).
# Landmarks are iBUG-68, 0-based; "image-left" is the subject's right side.
_Pull = tuple[tuple[int, ...], tuple[float, float], float, float]

AU_MOTIONS: dict[int, tuple[_Pull, ...]] = {
    1: (  # inner brow raiser: inner brows and mid forehead up
        ((21,), (0.15, -1.0), 1.0, 0.16),
        ((22,), (-0.15, -1.0), 1.0, 0.16),
        ((20,), (0.0, -1.0), 0.6, 0.16),
        ((23,), (0.0, -1.0), 0.6, 0.16),
    ),
    2: (  # outer brow raiser: outer brows up
        ((18,), (0.0, -1.0), 1.0, 0.16),
        ((25,), (0.0, -1.0), 1.0, 0.16),
        ((17,), (0.0, -1.0), 0.8, 0.14),
        ((26,), (0.0, -1.0), 0.8, 0.14),
    ),
    4: (  # brow lowerer: inner brows down and together
        ((21,), (0.5, 1.0), 1.0, 0.15),
        ((22,), (-0.5, 1.0), 1.0, 0.15),
        ((20,), (0.3, 1.0), 0.7, 0.15),
        ((23,), (-0.3, 1.0), 0.7, 0.15),
        ((21, 22), (0.0, 0.7), 0.5, 0.12),
    ),
    5: (  # upper lid raiser
        ((37,), (0.0, -1.0), 1.0, 0.09),
        ((38,), (0.0, -1.0), 1.0, 0.09),
        ((43,), (0.0, -1.0), 1.0, 0.09),
        ((44,), (0.0, -1.0), 1.0, 0.09),
    ),
    6: (  # cheek raiser: cheeks up and out, lower lids up
        ((40, 41, 31, 2), (-0.25, -1.0), 1.0, 0.22),
        ((46, 47, 35, 14), (0.25, -1.0), 1.0, 0.22),
        ((40, 41), (0.0, -1.0), 0.5, 0.09),
        ((46, 47), (0.0, -1.0), 0.5, 0.09),
    ),
    7: (  # lid tightener: lower lids up, upper lids slightly down
        ((40, 41), (0.0, -1.0), 1.0, 0.09),
        ((46, 47), (0.0, -1.0), 1.0, 0.09),
        ((37, 38), (0.0, 0.4), 0.5, 0.09),
        ((43, 44), (0.0, 0.4), 0.5, 0.09),
    ),
    9: (  # nose wrinkler: nose wings up, skin of the nasal root down, upper lip up
        ((31,), (0.0, -1.0), 1.0, 0.11),
        ((35,), (0.0, -1.0), 1.0, 0.11),
        ((27,), (0.0, 0.6), 0.5, 0.12),
        ((50,), (0.0, -1.0), 0.4, 0.1),
        ((52,), (0.0, -1.0), 0.4, 0.1),
    ),
    10: (  # upper lip raiser
        ((50, 51, 52), (0.0, -1.0), 1.0, 0.11),
        ((49,), (0.0, -1.0), 0.6, 0.1),
        ((53,), (0.0, -1.0), 0.6, 0.1),
        ((31,), (0.0, -1.0), 0.3, 0.1),
        ((35,), (0.0, -1.0), 0.3, 0.1),
    ),
    12: (  # lip corner puller: corners up and out
        ((48,), (-0.7, -0.7), 1.0, 0.14),
        ((54,), (0.7, -0.7), 1.0, 0.14),
        ((48, 31), (-0.2, -1.0), 0.3, 0.18),
        ((54, 35), (0.2, -1.0), 0.3, 0.18),
    ),
    14: (  # dimpler: corners tightened back into the cheeks
        ((48,), (-1.0, 0.1), 1.0, 0.09),
        ((54,), (1.0, 0.1), 1.0, 0.09),
    ),
    15: (  # lip corner depressor: corners down
        ((48,), (-0.2, 1.0), 1.0, 0.12),
        ((54,), (0.2, 1.0), 1.0, 0.12),
        ((57,), (0.0, 1.0), 0.3, 0.1),
    ),
    17: (  # chin raiser: chin boss and lower lip up
        ((8,), (0.0, -1.0), 1.0, 0.18),
        ((57,), (0.0, -1.0), 0.8, 0.1),
        ((56,), (0.0, -1.0), 0.6, 0.1),
        ((58,), (0.0, -1.0), 0.6, 0.1),
    ),
}

_BLINK: tuple[_Pull, ...] = (
    ((37,), (0.0, 1.0), 1.0, 0.09),
    ((38,), (0.0, 1.0), 1.0, 0.09),
    ((43,), (0.0, 1.0), 1.0, 0.09),
    ((44,), (0.0, 1.0), 1.0, 0.09),
    ((40, 41), (0.0, -1.0), 0.3, 0.09),
    ((46, 47), (0.0, -1.0), 0.3, 0.09),
)

_MAX_GRADIENT = 0.5  # of a displacement field: keeps x -> x + w(x) invertible and the iteration fast


@dataclass(frozen=True)
class SubjectStyle:
    """How one synthetic subject differs from the photograph.

    Attributes
    ----------
    scale, aspect, rotation : float
        Face scale, width/height stretch and in-plane rotation (degrees).
    shift : tuple of float
        Face position offset as a fraction of (width, height).
    shape_seed : int
        Seed of a smooth face-shape deformation of ``shape_amount`` times the image size.
    gain, bias : float
        Lighting: ``out = gain * (1 + gradient . position) * tint * in + bias``.
    gradient : tuple of float
        Illumination slope across the image (x, y), as a fraction per image size.
    tint : tuple of float
        Per-channel (R, G, B) factors.
    noise : float
        Standard deviation of the per-frame Gaussian sensor noise, in grey levels.
    """

    scale: float = 1.0
    aspect: float = 1.0
    rotation: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    shape_seed: int = 0
    shape_amount: float = 0.0
    gain: float = 1.0
    bias: float = 0.0
    gradient: tuple[float, float] = (0.0, 0.0)
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    noise: float = 0.0

    @classmethod
    def random(cls, rng: np.random.Generator, noise: tuple[float, float] = (0.5, 2.0)) -> SubjectStyle:
        """A plausible subject: a few percent of scale, rotation, shape and lighting change."""
        return cls(
            scale=float(rng.uniform(0.92, 1.08)),
            aspect=float(rng.uniform(0.94, 1.06)),
            rotation=float(rng.uniform(-6.0, 6.0)),
            shift=(float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-0.03, 0.03))),
            shape_seed=int(rng.integers(0, 2**31 - 1)),
            shape_amount=float(rng.uniform(0.005, 0.015)),
            gain=float(rng.uniform(0.8, 1.15)),
            bias=float(rng.uniform(-10.0, 10.0)),
            gradient=(float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.15, 0.15))),
            tint=tuple(float(v) for v in rng.uniform(0.95, 1.05, 3)),  # type: ignore[arg-type]
            noise=float(rng.uniform(*noise)),
        )


def _shape_field(h: int, w: int, seed: int, amount: float) -> NDArray[np.float32]:
    """A smooth, low-frequency face-shape deformation, max about ``amount * max(h, w)`` pixels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    yn, xn = y / h, x / w
    field = np.zeros((h, w, 2))
    for c in range(2):
        for _ in range(3):
            fx, fy = rng.uniform(0.3, 1.2, 2)
            ph = rng.uniform(0, 2 * np.pi, 2)
            field[..., c] += np.sin(2 * np.pi * fx * xn + ph[0]) * np.sin(2 * np.pi * fy * yn + ph[1])
    peak = np.abs(field).max()
    return (field * (amount * max(h, w) / max(peak, 1e-9))).astype(np.float32)


@lru_cache(maxsize=64)
def neutral_face(size: tuple[int, int], style: SubjectStyle) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """The subject's neutral face at ``size = (H, W)`` (float32 RGB, 0-255, before lighting) and landmarks.

    The crop centres the 68 landmarks and spans 1.45 times their brow-to-chin height (cropped ME corpora
    frame the face about so).
    """
    import cv2

    from ..._synthesis import warp_image
    from ...data import face_image, face_landmarks

    h, w = size
    src = face_image().astype(np.float32)
    lm = face_landmarks().astype(np.float64)
    lo, hi = lm.min(0), lm.max(0)
    centre = (lo + hi) / 2 + np.array([0.0, -0.08 * (hi[1] - lo[1])])
    box_h = 1.45 * (hi[1] - lo[1]) / style.scale
    zoom = h / box_h  # output pixels per source pixel
    if zoom < 1:
        src = np.asarray(cv2.GaussianBlur(src, (0, 0), 0.5 / zoom), np.float32)
    th = np.deg2rad(style.rotation)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    lin = rot @ np.diag([1.0 / (zoom * style.aspect), 1.0 / zoom])  # output offset -> source offset
    out_centre = np.array([w / 2 + style.shift[0] * w, h / 2 + style.shift[1] * h])
    offset = centre - lin @ out_centre
    m = np.hstack([lin, offset[:, None]])  # maps output (x, y, 1) to source (x, y)
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    face = np.asarray(cv2.warpAffine(src, m, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE), np.float32)
    landmarks = (lm - offset) @ np.linalg.inv(lin).T
    if style.shape_amount > 0:
        shape = _shape_field(h, w, style.shape_seed, style.shape_amount)
        face = warp_image(face, shape)
        # out(x) = face(x + s(x)): the feature at p moves to the x solving x + s(x) = p.
        base = landmarks
        for _ in range(5):
            landmarks = base - _bilinear(shape.astype(np.float64), landmarks[:, 0], landmarks[:, 1])
    face = np.clip(face, 0, 255).astype(np.float32)
    face.setflags(write=False)
    return face, landmarks


def _unit_field(pulls: tuple[_Pull, ...], landmarks: NDArray, size: tuple[int, int]) -> NDArray[np.float32]:
    """Sum of Gaussian pulls, scaled so that its largest displacement is 1 pixel."""
    h, w = size
    iod = float(np.linalg.norm(landmarks[36:42].mean(0) - landmarks[42:48].mean(0)))
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    field = np.zeros((h, w, 2), np.float32)
    for anchors, (dx, dy), weight, sigma in pulls:
        px, py = landmarks[list(anchors)].mean(0)
        s = sigma * iod
        g = weight * np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * s * s))
        norm = np.hypot(dx, dy)
        field[..., 0] += g * (dx / norm)
        field[..., 1] += g * (dy / norm)
    peak = float(np.sqrt((field**2).sum(-1)).max())
    return field / max(peak, 1e-9)


@lru_cache(maxsize=256)
def _au_field(au: int, size: tuple[int, int], style: SubjectStyle) -> NDArray[np.float32]:
    """Unit motion field of one AU (``au=0``: a blink) on a subject's face, cached per subject."""
    field = _unit_field(_BLINK if au == 0 else AU_MOTIONS[au], neutral_face(size, style)[1], size)
    field.setflags(write=False)
    return field


def max_gradient(field: NDArray) -> float:
    """Largest absolute partial derivative of a displacement field (finite differences)."""
    gx = np.abs(np.diff(field, axis=1)).max(initial=0.0)
    gy = np.abs(np.diff(field, axis=0)).max(initial=0.0)
    return float(max(gx, gy))


def random_drift(
    rng: np.random.Generator, magnitude: float | tuple[float, float], *, sway: float, max_freq: float
) -> tuple[float, float, float, float, float, float]:
    """A random head drift ``(dx, dy, ax, ay, freq, phase)`` for :class:`Recording`.

    Parameters
    ----------
    rng : Generator
    magnitude : float or (float, float)
        Length of the linear translation in pixels, or the range it is drawn from (after the direction).
    sway : float
        Largest sway amplitude per axis in pixels (each drawn from ``0 .. sway``).
    max_freq : float
        The sway makes ``0.5 .. max_freq`` cycles over the recording.
    """
    angle = rng.uniform(0, 2 * np.pi)
    length = rng.uniform(*magnitude) if isinstance(magnitude, tuple) else magnitude
    return (
        float(length * np.cos(angle)),
        float(length * np.sin(angle)),
        float(rng.uniform(0, sway)),
        float(rng.uniform(0, sway)),
        float(rng.uniform(0.5, max_freq)),
        float(rng.uniform(0, 2 * np.pi)),
    )


def _profile(t: NDArray, onset: int, apex: int, offset: int) -> NDArray[np.float64]:
    """0 before onset, raised-cosine rise to 1 at apex, fall to 0 at offset."""
    t = np.asarray(t, np.float64)
    p = np.zeros_like(t)
    rise = (t > onset) & (t <= apex)
    p[rise] = 0.5 - 0.5 * np.cos(np.pi * (t[rise] - onset) / max(apex - onset, 1))
    fall = (t > apex) & (t < offset)
    p[fall] = 0.5 + 0.5 * np.cos(np.pi * (t[fall] - apex) / max(offset - apex, 1))
    if apex == onset:
        p[t == apex] = 1.0
    return p


@dataclass(frozen=True)
class Event:
    """One micro-expression: frame numbers, AUs and their amplitudes (pixels at the apex)."""

    onset: int
    apex: int
    offset: int
    aus: tuple[int, ...]
    amplitudes: tuple[float, ...]


@dataclass(frozen=True)
class Recording:
    """A rendered frame folder: a subject, its frame numbers, its events, drift and blinks.

    ``drift = (dx, dy, ax, ay, freq, phase)``: a linear translation reaching ``(dx, dy)`` pixels at the last
    frame plus a sinusoid of amplitude ``(ax, ay)``, ``freq`` cycles per recording. ``blinks`` holds
    ``(start frame, duration in frames, amplitude in pixels)``.
    """

    size: tuple[int, int]
    style: SubjectStyle
    first_frame: int
    n_frames: int
    events: tuple[Event, ...]
    drift: tuple[float, float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    blinks: tuple[tuple[int, int, float], ...] = ()
    noise_seed: int = 0
    grey: bool = False

    @property
    def frame_numbers(self) -> list[int]:
        return list(range(self.first_frame, self.first_frame + self.n_frames))

    def _basis(self) -> tuple[NDArray, dict[int, NDArray], NDArray, NDArray]:
        face, lm = neutral_face(self.size, self.style)
        units = {a: _au_field(a, self.size, self.style) for e in self.events for a in e.aus}
        return face, units, _au_field(0, self.size, self.style), lm

    def peak_gradient(self) -> float:
        """Largest motion gradient over the frames (drift is constant in space and adds none)."""
        _, units, blink, _ = self._basis()
        return max(max_gradient(self._motion(t, units, blink)) for t in self.frame_numbers)

    def _motion(self, t: int, units: dict[int, NDArray], blink: NDArray) -> NDArray[np.float32]:
        """The motion ``A_t`` of frame ``t``: ``frame_t(y) = R(y - A_t(y))``."""
        h, w = self.size
        s = (t - self.first_frame) / max(self.n_frames - 1, 1)
        dx, dy, ax, ay, freq, phase = self.drift
        osc = np.sin(2 * np.pi * freq * s + phase) - np.sin(phase)
        field = np.empty((h, w, 2), np.float32)
        field[..., 0] = dx * s + ax * osc
        field[..., 1] = dy * s + ay * osc
        for e in self.events:
            p = float(_profile(np.array([t]), e.onset, e.apex, e.offset)[0])
            if p:
                for a, amp in zip(e.aus, e.amplitudes, strict=True):
                    field += (p * amp) * units[a]
        for start, dur, amp in self.blinks:
            if start <= t < start + dur:
                field += (amp * np.sin(np.pi * (t - start + 0.5) / dur)) * blink
        return field

    def _noiseless(self, numbers: Iterable[int]) -> Iterator[NDArray[np.float32]]:
        """Frames ``numbers`` before sensor noise and rounding: float32 ``light(y) * R(y - A_t(y)) + bias``.

        The warp is OpenCV's bicubic remap (which rounds sample positions to 1/32 pixel); a grey recording lights
        the grey face by the mean of its tint.
        """
        import cv2

        face, units, blink, _ = self._basis()
        h, w = self.size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        st = self.style
        light = st.gain * (1 + st.gradient[0] * (xx / w - 0.5) + st.gradient[1] * (yy / h - 0.5))
        if self.grey:
            face = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
            light = light * float(np.mean(st.tint))
        else:
            light = light[..., None] * np.asarray(st.tint, np.float32)
        for t in numbers:
            a = self._motion(t, units, blink)
            frame = np.asarray(
                cv2.remap(face, xx - a[..., 0], yy - a[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE),
                np.float32,
            )
            frame *= light
            frame += st.bias
            yield frame

    def render(self) -> NDArray[np.uint8]:
        """All frames, uint8 ``(T, H, W, 3)`` (``(T, H, W)`` for a grey corpus), as written before encoding.

        ``frame_t(y) = light(y) * R(y - A_t(y)) + bias + noise``, resampled bicubically by OpenCV (which
        rounds sample positions to 1/32 pixel).
        """
        import cv2

        # OpenCV's generator is per thread and several times faster than numpy's normal deviates here.
        cv2.setRNGSeed(int(self.noise_seed) % (2**31 - 1))
        h, w = self.size
        noise = np.empty((h, w) if self.grey else (h, w, 3), np.float32)
        noise_2d = noise.reshape(h, -1)  # one channel, so that cv2.randn fills every value
        out = []
        for frame in self._noiseless(self.frame_numbers):
            cv2.randn(noise_2d, np.zeros(1), np.full(1, self.style.noise))
            frame += noise
            out.append(np.clip(np.rint(frame), 0, 255).astype(np.uint8))
        return np.stack(out)

    def fields(self, numbers: list[int] | None = None) -> NDArray[np.float32]:
        """Exact displacement of every frame from the neutral face, in mefast's flow convention.

        ``frame_t(x + w_t(x)) = R(x)``: the point ``x`` of the neutral face is seen at ``x + w_t(x)`` in
        frame ``t`` (before noise and lighting).

        Parameters
        ----------
        numbers : list of int, optional
            Frame numbers (default all of the recording).

        Returns
        -------
        fields : ndarray of shape (T, H, W, 2), float32
        """
        _, units, blink, _ = self._basis()
        h, w = self.size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        out = []
        for t in self.frame_numbers if numbers is None else numbers:
            a = self._motion(t, units, blink).astype(np.float64)
            # y = x + w(x) solves y - A(y) = x, so w(x) = A(x + w(x)).
            out.append(_fixed_point(lambda wk, a=a: _bilinear(a, xx + wk[..., 0], yy + wk[..., 1]), a))
        return np.stack(out).astype(np.float32)

    def flow(self, first: int, last: int) -> NDArray[np.float32]:
        """Exact optical flow from frame ``first`` to frame ``last`` (numbers), mefast's convention.

        ``frame_last(y + flow(y)) = frame_first(y)`` (before noise and lighting); from
        ``frame_t(y) = R(y - A_t(y))`` it solves ``flow(y) = A_last(y + flow(y)) - A_first(y)``.

        Returns
        -------
        flow : ndarray of shape (H, W, 2), float32
        """
        _, units, blink, _ = self._basis()
        h, w = self.size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        a = self._motion(first, units, blink).astype(np.float64)
        b = self._motion(last, units, blink).astype(np.float64)
        u = _fixed_point(lambda uk: _bilinear(b, xx + uk[..., 0], yy + uk[..., 1]) - a, b - a)
        return u.astype(np.float32)


def _fixed_point(step, start: NDArray, *, tol: float = 1e-6, max_iter: int = 100) -> NDArray[np.float64]:
    """Iterate ``x <- step(x)`` from ``start``; converges for the contractions used here (gradient < 1)."""
    x = start
    for _ in range(max_iter):
        nxt = step(x)
        if np.abs(nxt - x).max() < tol:
            return nxt
        x = nxt
    return x


def _bilinear(field: NDArray, px: NDArray, py: NDArray) -> NDArray[np.float64]:
    """Exact (float64) bilinear samples of an (H, W, C) field at (px, py), replicating the border."""
    h, w = field.shape[:2]
    px = np.clip(px, 0, w - 1)
    py = np.clip(py, 0, h - 1)
    x0 = np.minimum(np.floor(px).astype(np.intp), w - 2)
    y0 = np.minimum(np.floor(py).astype(np.intp), h - 2)
    fx = (px - x0)[..., None]
    fy = (py - y0)[..., None]
    f00, f01 = field[y0, x0], field[y0, x0 + 1]
    f10, f11 = field[y0 + 1, x0], field[y0 + 1, x0 + 1]
    return (f00 * (1 - fx) + f01 * fx) * (1 - fy) + (f10 * (1 - fx) + f11 * fx) * fy
