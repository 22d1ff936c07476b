"""A held-out battery of image pairs with known optical flow, for measuring flow methods on data nobody tuned on.

The battery has two parts:

* **Synthetic warps** (:func:`flow_battery`): several grey images that installed packages ship without any
  download (the astronaut face bundled with mefast; scikit-image's cameraman head and Chelsea the cat's face;
  scikit-learn's ``china.jpg``), each resampled to ``size`` and warped by random smooth displacement fields
  (:func:`random_smooth_field`: random low-frequency modes, random Gaussian "action unit" bumps and a small
  global motion, scaled to a given maximum displacement) at several amplitudes. Both frames get independent
  Gaussian sensor noise and are rounded to uint8. ``frame0(x) = frame1(x + flow(x))`` before noise, the flow
  convention of :func:`mefast.tvl1`.
* **Real ground truth** (:func:`stereo_ground_truth`): the Middlebury 2014 "Motorcycle" stereo pair with its
  measured disparity, which scikit-image ships (``skimage.data.stereo_motorcycle``). A rectified stereo pair is
  a flow pair whose flow is ``(-disparity, 0)``; pixels without a disparity are left out of the error. No other
  pip-installable package found ships ground-truth optical-flow sequences (Middlebury flow, Sintel, KITTI and
  FlyingChairs are downloads, which CI cannot make).

Seeds
-----
The random fields are drawn from seeds of two disjoint splits. ``"tuning"`` (seeds ``0 .. 999_999``) is where
parameters may be chosen; ``"report"`` (seeds ``1_000_000`` and above) is only for reporting. Every number in
the README's flow tables comes from the report split. mefast's ``accurate`` and ``fast`` presets were chosen by
``benchmarks/flow/tune_presets.py`` on tuning seeds 0 and 1 of this generator (which it asserts); the report
seeds were used for nothing else.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "AMPLITUDES",
    "BATTERY_IMAGES",
    "REPORT_SEED_BASE",
    "TUNING_SEED_BASE",
    "BatteryCase",
    "battery_image",
    "flow_battery",
    "random_smooth_field",
    "split_seeds",
    "stereo_ground_truth",
]

BATTERY_IMAGES: tuple[str, ...] = ("astronaut", "cameraman", "chelsea", "china")
"""Names of the battery's images: what :func:`battery_image` accepts."""

AMPLITUDES: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
"""Default maximum displacements in pixels: micro-expression motion is 0.3-3 px, 4 px is a larger one."""

TUNING_SEED_BASE = 0
"""First seed of the tuning split (seeds ``0 .. 999_999``)."""

REPORT_SEED_BASE = 1_000_000
"""First seed of the report split (held out: never used to choose parameters)."""

_SPLIT_SIZE = 1_000_000

# (row0, row1, col0, col1) of each source image: a face (or, for china.jpg, a textured scene) with the
# height/width ratio of a 340x280 face crop.
_CROPS = {
    "astronaut": (20, 238, 25, 204),  # mefast.data.face_image: the face region of the specs' measurements
    "cameraman": (55, 245, 140, 300),  # skimage.data.camera: head and shoulder
    "chelsea": (0, 300, 70, 320),  # skimage.data.chelsea: the cat's face
    "china": (60, 400, 200, 480),  # sklearn's china.jpg: roofs and trees
}


@dataclass(frozen=True)
class BatteryCase:
    """One pair of the battery: ``frame1(x + flow(x)) ~ frame0(x)`` where ``valid`` holds.

    Attributes
    ----------
    name : str
        ``"<image>/amp<amplitude>/seed<seed>"``, or the name of a real sequence.
    image : str
        Source image (or sequence) name.
    amplitude : float
        Maximum displacement of the field in pixels (for real sequences: the largest true motion).
    seed : int
        Seed of the field and the noise (-1 for real sequences).
    frame0, frame1 : ndarray of shape (H, W), uint8
        The two frames.
    flow : ndarray of shape (H, W, 2), float32
        The true flow ``(u, v)`` from ``frame0`` to ``frame1``.
    valid : ndarray of shape (H, W), bool, or None
        Pixels where the true flow is known (None: all of them).
    """

    name: str
    image: str
    amplitude: float
    seed: int
    frame0: NDArray[np.uint8]
    frame1: NDArray[np.uint8]
    flow: NDArray[np.float32]
    valid: NDArray[np.bool_] | None = None

    def endpoint_error(self, flow: NDArray) -> float:
        """Mean endpoint error of ``flow`` (H, W, 2) to the true flow over the valid pixels."""
        d = np.asarray(flow, np.float64) - self.flow.astype(np.float64)
        err = np.sqrt((d**2).sum(axis=-1))
        return float(err[self.valid].mean() if self.valid is not None else err.mean())


def split_seeds(split: str, n: int) -> list[int]:
    """The first ``n`` seeds of a split, ``"tuning"`` or ``"report"``.

    Examples
    --------
    >>> split_seeds("report", 3)
    [1000000, 1000001, 1000002]
    >>> split_seeds("tuning", 2)
    [0, 1]
    """
    bases = {"tuning": TUNING_SEED_BASE, "report": REPORT_SEED_BASE}
    if split not in bases:
        raise ValueError(f"split must be 'tuning' or 'report', got {split!r}")
    if not 0 < n <= _SPLIT_SIZE:
        raise ValueError(f"n must be in 1..{_SPLIT_SIZE}, got {n}")
    return [bases[split] + k for k in range(n)]


def _source_gray(name: str) -> NDArray[np.uint8]:
    import cv2

    if name == "astronaut":
        from .data import face_image

        return np.asarray(face_image(gray=True), np.uint8)
    if name == "cameraman":
        from skimage.data import camera

        return np.asarray(camera(), np.uint8)
    if name == "chelsea":
        from skimage.data import chelsea

        return np.asarray(cv2.cvtColor(chelsea(), cv2.COLOR_RGB2GRAY), np.uint8)
    if name == "china":
        from sklearn.datasets import load_sample_image

        return np.asarray(cv2.cvtColor(load_sample_image("china.jpg"), cv2.COLOR_RGB2GRAY), np.uint8)
    raise ValueError(f"unknown battery image {name!r}; known: {BATTERY_IMAGES}")


def battery_image(name: str, size: tuple[int, int] = (340, 280)) -> NDArray[np.float32]:
    """One battery image, grey, cropped and resampled to ``size = (H, W)``, float32 in [0, 255].

    Examples
    --------
    >>> battery_image("chelsea", (68, 56)).shape
    (68, 56)
    """
    import cv2

    r0, r1, c0, c1 = _CROPS[name] if name in _CROPS else (0, 0, 0, 0)
    src = _source_gray(name)[r0:r1, c0:c1].astype(np.float32)
    h, w = size
    interp = cv2.INTER_AREA if h * w < src.size else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(src, (w, h), interpolation=interp), np.float32)


def random_smooth_field(height: int, width: int, max_disp: float, rng: np.random.Generator) -> NDArray[np.float32]:
    """A random smooth displacement field whose largest vector is ``max_disp`` pixels long.

    The sum of a small global translation and expansion (head motion), six random sinusoidal modes of at
    most 2 cycles per image side, and two to four Gaussian bumps of random position (central 80 %), width
    (6-15 % of the image) and direction, which play the part of action units. The result is scaled so that
    ``max |field| == max_disp``.

    Returns
    -------
    field : ndarray of shape (height, width, 2), float32
        ``(u, v)`` in pixels.

    Examples
    --------
    >>> f = random_smooth_field(40, 30, 2.0, np.random.default_rng(1_000_000))
    >>> f.shape, round(float(np.hypot(f[..., 0], f[..., 1]).max()), 4)
    ((40, 30, 2), 2.0)
    """
    if not (np.isfinite(max_disp) and max_disp > 0):
        raise ValueError(f"max_disp must be a positive number of pixels, got {max_disp}")
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    yn, xn = y / height - 0.5, x / width - 0.5
    field = np.zeros((height, width, 2))
    field += rng.normal(0, 0.15, 2)  # translation
    field += rng.normal(0, 0.15) * np.stack([xn, yn], axis=-1)  # expansion / contraction
    for _ in range(6):
        fy, fx = rng.uniform(0.25, 2.0, 2)
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * (fx * xn * rng.choice([-1, 1]) + fy * yn) + phase)
        field += rng.normal(0, 0.3, 2) * wave[..., None]
    for _ in range(int(rng.integers(2, 5))):
        cy, cx = rng.uniform(-0.4, 0.4, 2)
        sy, sx = rng.uniform(0.06, 0.15, 2)
        g = np.exp(-(((yn - cy) / sy) ** 2 + ((xn - cx) / sx) ** 2))
        angle = rng.uniform(0, 2 * np.pi)
        field += rng.uniform(0.5, 1.5) * np.stack([np.cos(angle) * g, np.sin(angle) * g], axis=-1)
    peak = float(np.hypot(field[..., 0], field[..., 1]).max())
    return (field * (max_disp / peak)).astype(np.float32)


def _warp(image: NDArray[np.float32], field: NDArray[np.float32]) -> NDArray[np.float32]:
    """``out(x) = image(x + field(x))``, bicubic, replicated border."""
    import cv2

    h, w = image.shape
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = cv2.remap(image, gx + field[..., 0], gy + field[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, np.float32)


def _to_u8(image: NDArray) -> NDArray[np.uint8]:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def flow_battery(
    split: str = "report",
    *,
    size: tuple[int, int] = (340, 280),
    images: tuple[str, ...] = BATTERY_IMAGES,
    amplitudes: tuple[float, ...] = AMPLITUDES,
    n_seeds: int = 4,
    noise: float = 1.0,
) -> list[BatteryCase]:
    """The synthetic part of the battery: every image x amplitude x seed of ``split``.

    Parameters
    ----------
    split : {"report", "tuning"}
        Which seeds: ``"report"`` for published numbers, ``"tuning"`` for choosing parameters.
    size : (int, int)
        Frame size ``(H, W)``.
    images : tuple of str
        Names from :data:`BATTERY_IMAGES`.
    amplitudes : tuple of float
        Maximum displacements in pixels.
    n_seeds : int
        Random fields per image and amplitude.
    noise : float
        Standard deviation of the Gaussian noise added to each frame, in grey levels.

    Returns
    -------
    cases : list of BatteryCase
        ``len(images) * len(amplitudes) * n_seeds`` cases, in that nesting order.

    Examples
    --------
    >>> cases = flow_battery(size=(68, 56), images=("astronaut",), amplitudes=(1.0,), n_seeds=2)
    >>> [c.name for c in cases]
    ['astronaut/amp1/seed1000000', 'astronaut/amp1/seed1000001']
    >>> cases[0].frame0.shape, cases[0].flow.dtype
    ((68, 56), dtype('float32'))
    """
    if noise < 0 or not np.isfinite(noise):
        raise ValueError(f"noise must be a non-negative standard deviation, got {noise}")
    seeds = split_seeds(split, n_seeds)
    cases = []
    for name in images:
        base = battery_image(name, size)
        for amp in amplitudes:
            for seed in seeds:
                # one stream per (seed, image, amplitude): a case never depends on which others are drawn
                rng = np.random.default_rng([seed, zlib.crc32(name.encode()), int(round(amp * 1000))])
                flow = random_smooth_field(size[0], size[1], float(amp), rng)
                frame1 = _to_u8(base + rng.normal(0, noise, base.shape)) if noise else _to_u8(base)
                warped = _warp(base, flow)
                frame0 = _to_u8(warped + rng.normal(0, noise, base.shape)) if noise else _to_u8(warped)
                cases.append(BatteryCase(f"{name}/amp{amp:g}/seed{seed}", name, float(amp), seed, frame0, frame1, flow))
    return cases


def stereo_ground_truth(scale: float = 0.25) -> BatteryCase:
    """Middlebury 2014 "Motorcycle" (shipped by scikit-image) as a flow pair with measured ground truth.

    The left and right views are converted to grey and downscaled by ``scale`` (the disparities with them);
    the flow from the left to the right view is ``(-disparity, 0)``. Pixels whose disparity is unknown
    (infinite in the file, 7 % of them: occlusions) are marked invalid, and so is every downscaled pixel that
    averages one of them. At the default scale the frames are 125x185, 73 % of the pixels are valid and the
    motion is 1.9-15 px.

    Examples
    --------
    >>> case = stereo_ground_truth()
    >>> case.frame0.shape, round(float(case.valid.mean()), 2)
    ((125, 185), 0.73)
    """
    import cv2
    from skimage.data import stereo_motorcycle

    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    left, right, disp = stereo_motorcycle()
    h, w = disp.shape
    size = (round(w * scale), round(h * scale))
    gl = cv2.resize(cv2.cvtColor(left, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    gr = cv2.resize(cv2.cvtColor(right, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    known = np.isfinite(disp)
    d = np.where(known, disp, 0).astype(np.float32)
    # average the known disparities only; a pixel with no known source disparity stays invalid
    num = cv2.resize(d, size, interpolation=cv2.INTER_AREA)
    den = cv2.resize(known.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    valid = den > 0.999
    u = -np.where(valid, num / np.maximum(den, 1e-6), 0) * scale
    flow = np.stack([u, np.zeros_like(u)], axis=-1).astype(np.float32)
    amp = float(np.abs(u[valid]).max())
    return BatteryCase(f"middlebury-motorcycle/x{scale:g}", "middlebury-motorcycle", amp, -1, gl, gr, flow, valid)
