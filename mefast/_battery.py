"""A battery of image pairs with known optical flow, split into tuning and held-out report seeds.

The report seeds warp the same images as the tuning seeds by other random fields (held-out fields and noise, not
held-out images); the Motorcycle pair is the one image no tuning run looks at.

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
* **Layered synthetic stereo** (:func:`stereo_battery`): a stand-in for real stereo pairs, drawn from the same
  seed splits: textured planar layers (crops of images that scikit-image and scikit-learn ship, never the
  Motorcycle views) at different depths, rendered into a left and a right view with a z-order, so that the
  pairs have what smooth warps lack: horizontal disparities of 2-15 px, depth discontinuities, and occlusions
  (marked invalid, as in the Motorcycle pair).

Seeds
-----
The random fields and scenes are drawn from seeds of two disjoint splits. ``"tuning"`` (seeds ``0 .. 999_999``)
is where parameters may be chosen; ``"report"`` (seeds ``1_000_000`` and above) is only for reporting. Every
number in the README's flow tables comes from the report split. mefast's ``accurate`` and ``fast`` presets were
chosen by ``benchmarks/flow/tune_presets.py`` on tuning seeds of these generators (which it asserts); the report
seeds were used for nothing else.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "AMPLITUDES",
    "BATTERY_IMAGES",
    "REPORT_SEED_BASE",
    "STEREO_TEXTURES",
    "TUNING_SEED_BASE",
    "BatteryCase",
    "battery_image",
    "flow_battery",
    "random_smooth_field",
    "split_seeds",
    "stereo_battery",
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


#: Texture sources of :func:`stereo_battery`'s layers: grey images shipped by scikit-image and scikit-learn
#: (the Motorcycle views are not among them: that pair is a report case).
STEREO_TEXTURES: tuple[str, ...] = (
    "astronaut",
    "brick",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "rocket",
    "china",
    "flower",
)

_STEREO_STREAM = zlib.crc32(b"layered-stereo")  # keeps these streams apart from flow_battery's for the same seed


@functools.cache
def _texture_source(name: str) -> NDArray[np.float32]:
    """A whole texture source image, grey, float32 in [0, 255] (cached: the generator crops it many times)."""
    import cv2

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        rgb = load_sample_image(f"{name}.jpg")
    else:
        import skimage.data

        if name not in STEREO_TEXTURES:
            raise ValueError(f"unknown texture {name!r}; known: {STEREO_TEXTURES}")
        rgb = getattr(skimage.data, name)()
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    out = np.asarray(grey, np.float32)
    out.flags.writeable = False
    return out


def _layer_texture(rng: np.random.Generator, shape: tuple[int, int], flat: bool) -> NDArray[np.float32]:
    """A random crop of a texture source resized to ``shape`` (supersampled), or a smooth shading when ``flat``.

    The crop is 1.5 to 3 times smaller than ``shape``, so after the supersampling factor is averaged away the
    texture keeps about its source resolution. A random gain and offset give each layer its own contrast.
    """
    import cv2

    h, w = shape
    if flat:  # a weakly textured surface (a wall, a painted panel): a shading gradient and faint grain
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        gy, gx = rng.normal(0, 40, 2) / np.float32(max(h, w))
        grain = cv2.GaussianBlur(rng.normal(0, 6, (h, w)).astype(np.float32), (0, 0), 3.0)
        return np.asarray(rng.uniform(60, 200) + gx * x + gy * y + grain, np.float32)
    src = _texture_source(STEREO_TEXTURES[int(rng.integers(len(STEREO_TEXTURES)))])
    zoom = rng.uniform(1.5, 3.0)
    ch, cw = min(src.shape[0], round(h / zoom)), min(src.shape[1], round(w / zoom))
    r0, c0 = int(rng.integers(0, src.shape[0] - ch + 1)), int(rng.integers(0, src.shape[1] - cw + 1))
    crop = cv2.resize(src[r0 : r0 + ch, c0 : c0 + cw], (w, h), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        crop = np.ascontiguousarray(crop[:, ::-1])
    gain, mean = rng.uniform(0.6, 1.2), float(crop.mean())
    return np.asarray((crop - mean) * gain + rng.uniform(70, 180), np.float32)


def _layer_mask(rng: np.random.Generator, xn: NDArray, yn: NDArray) -> NDArray[np.bool_]:
    """A random object's support on normalised coordinates (``xn, yn`` in [0, 1)).

    A star-shaped blob (a radius modulated by a few harmonics), a rotated rectangle, or a thin bar (a pole,
    a spoke): thin structures and concave outlines are where a smoothness prior loses most.
    """
    cx, cy = rng.uniform(0.1, 0.9, 2)
    kind = rng.choice(3, p=(0.5, 0.3, 0.2))
    if kind == 0:
        dx, dy = xn - cx, (yn - cy) * rng.uniform(0.7, 1.4)
        theta = np.arctan2(dy, dx)
        r = np.full_like(theta, rng.uniform(0.1, 0.3))
        for k in range(2, 6):
            r *= 1 + rng.normal(0, 0.12) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        return np.hypot(dx, dy) < r
    angle = rng.uniform(0, np.pi)
    ca, sa = np.cos(angle), np.sin(angle)
    along, across = (xn - cx) * ca + (yn - cy) * sa, -(xn - cx) * sa + (yn - cy) * ca
    if kind == 1:
        half = rng.uniform(0.08, 0.3, 2)
    else:
        half = np.array([rng.uniform(0.25, 0.6), rng.uniform(0.008, 0.03)])
    return (np.abs(along) < half[0]) & (np.abs(across) < half[1])


def stereo_battery(
    split: str = "report",
    *,
    size: tuple[int, int] = (125, 185),
    n_seeds: int = 4,
    max_disp: float = 15.0,
    min_disp: float = 2.0,
    noise: float = 1.0,
    gain: float = 0.02,
    offset: float = 2.0,
    supersample: int = 4,
) -> list[BatteryCase]:
    """Layered synthetic stereo pairs: a stand-in for real stereo and large, discontinuous motion.

    Each seed draws a scene of planar layers seen by two rectified cameras: a background (a texture over the
    whole frame, slanted, disparity ``min_disp`` to at most ``min_disp + 4`` px) and two to five objects in
    front of it (random blobs, rectangles and thin bars, each textured with a random crop of
    :data:`STEREO_TEXTURES` or, one time in five, a weakly textured shading), each a plane with disparities
    of ``min_disp + 4`` to ``max_disp`` px. Both views are rendered at ``supersample`` times the size with a
    z-buffer (each point shows the covering layer of largest disparity: the nearest) and averaged down, so
    depth edges are anti-aliased as in a camera. The flow from the left view (``frame0``) to the right view
    (``frame1``) is ``(-disparity, 0)``, as in :func:`stereo_ground_truth`. A pixel is valid when every one of
    its supersampled points is seen in the right view: points hidden there by a nearer layer, or leaving the
    frame, are occluded. Each view gets a random gain and offset, as two cameras do, and independent Gaussian
    noise; then it is rounded to uint8.

    Parameters
    ----------
    split : {"report", "tuning"}
        Which seeds (:func:`split_seeds`).
    size : (int, int)
        Frame size ``(H, W)``; the default is the Motorcycle pair's at :func:`stereo_ground_truth`'s scale.
    n_seeds : int
        Scenes (pairs) to draw.
    max_disp, min_disp : float
        Largest and smallest disparity in pixels (the background's nearest point is at least ``min_disp``).
    noise : float
        Standard deviation of the Gaussian noise added to each view, in grey levels.
    gain, offset : float
        Each view is multiplied by a random factor in ``1 +- gain`` and shifted by up to ``offset`` grey levels.
    supersample : int
        Rendering resolution factor (1: no anti-aliasing).

    Returns
    -------
    cases : list of BatteryCase
        One per seed, named ``"layered-stereo/seed<seed>"``, with ``valid`` set; ``amplitude`` is the largest
        valid disparity.

    Examples
    --------
    >>> (case,) = stereo_battery("tuning", size=(50, 74), n_seeds=1)
    >>> case.name, case.frame0.shape, bool(case.valid.all())
    ('layered-stereo/seed0', (50, 74), False)
    """
    import cv2

    if noise < 0 or not np.isfinite(noise):
        raise ValueError(f"noise must be a non-negative standard deviation, got {noise}")
    if not (np.isfinite(min_disp) and np.isfinite(max_disp) and 0 <= min_disp and min_disp + 6 <= max_disp):
        raise ValueError(f"need 0 <= min_disp and min_disp + 6 <= max_disp, got {min_disp} and {max_disp}")
    if not (0 <= gain < 1 and 0 <= offset and np.isfinite(offset)):
        raise ValueError(f"need 0 <= gain < 1 and a finite offset >= 0, got gain={gain}, offset={offset}")
    if supersample < 1:
        raise ValueError(f"supersample must be at least 1, got {supersample}")
    h, w = size
    if min(h, w) < 16:
        raise ValueError(f"size must be at least 16x16, got {size}")
    s = int(supersample)
    hs, ws = h * s, w * s
    xc, yc = (w - 1) / 2, (h - 1) / 2
    # supersampled points in final-pixel units: the s x s points of pixel (i, j) average to its centre
    y, x = np.mgrid[0:hs, 0:ws].astype(np.float32)
    yf, xf = (y - (s - 1) / 2) / s, (x - (s - 1) / 2) / s
    cases = []
    for seed in split_seeds(split, n_seeds):
        rng = np.random.default_rng([seed, _STEREO_STREAM])
        # planes d = a + b (x - xc) + c (y - yc) in final pixels: the background (at most min_disp + 4), then
        # objects in front of it (at least min_disp + 4, at most max_disp)
        n_obj = int(rng.integers(2, 6))
        b0, c0 = rng.uniform(-1, 1) / w, rng.uniform(0, 2) / h
        planes = [(min_disp + rng.uniform(0, 1) + abs(b0) * xc + c0 * yc, b0, c0)]
        for d_mid in rng.uniform(min_disp + 5, max_disp - 1, n_obj):
            planes.append((d_mid, rng.uniform(-1, 1) / w, rng.uniform(-1, 1) / h))
        textures = [_layer_texture(rng, (hs, ws), flat=False)]
        textures += [_layer_texture(rng, (hs, ws), flat=rng.random() < 0.2) for _ in range(n_obj)]
        masks = [np.ones((hs, ws), bool)] + [_layer_mask(rng, xf / w, yf / h) for _ in range(n_obj)]
        views, labels, disp = [], [], None
        for right in (False, True):
            # z-buffer: each point shows the layer with the largest disparity (the nearest) among those covering it
            view = np.zeros((hs, ws), np.float32)
            label = np.zeros((hs, ws), np.int16)
            d_top = np.full((hs, ws), -np.inf, np.float32)
            for k, ((a, b, c), tex, mask) in enumerate(zip(planes, textures, masks, strict=True)):
                xl = xf
                if right:  # the left point x shows at x - d(x, y) in the right view: invert that (planar d)
                    xl = (xf + a - b * xc + c * (yf - yc)) / (1 - b)
                    mx, my = np.asarray(xl * s + (s - 1) / 2, np.float32), y
                    tex = np.asarray(
                        cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT), np.float32
                    )
                    if k == 0:  # the background continues beyond the left view's border
                        mask = np.ones((hs, ws), bool)
                    else:
                        mask = cv2.remap(mask.astype(np.uint8), mx, my, cv2.INTER_NEAREST, borderValue=0) > 0
                d_k = np.asarray(a + b * (xl - xc) + c * (yf - yc), np.float32)
                top = mask & (d_k > d_top)
                view[top], label[top], d_top[top] = tex[top], k, d_k[top]
            views.append(view)
            labels.append(label)
            if not right:
                disp = d_top
        assert disp is not None
        # a left point is seen in the right view when it lands inside it and the nearest layer there is its own
        xr = xf - disp
        col = np.clip(np.rint(xr * s + (s - 1) / 2), 0, ws - 1).astype(np.intp)
        seen = (xr >= -0.5) & (xr <= w - 0.5) & (labels[1][y.astype(np.intp), col] == labels[0])
        seen_frac = cv2.resize(seen.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        d = cv2.resize(disp, (w, h), interpolation=cv2.INTER_AREA)
        valid = seen_frac > 0.999
        frames = []
        for view in views:
            small = cv2.resize(view, (w, h), interpolation=cv2.INTER_AREA)
            small = small * rng.uniform(1 - gain, 1 + gain) + rng.uniform(-offset, offset)
            frames.append(_to_u8(small + rng.normal(0, noise, small.shape)) if noise else _to_u8(small))
        flow = np.stack([-d, np.zeros_like(d)], axis=-1).astype(np.float32)
        amp = float(d[valid].max()) if valid.any() else 0.0
        left, right_view = frames
        cases.append(
            BatteryCase(f"layered-stereo/seed{seed}", "layered-stereo", amp, seed, left, right_view, flow, valid)
        )
    return cases
