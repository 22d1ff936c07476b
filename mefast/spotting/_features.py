"""Per-frame spotting features of a long video, computed in chunks with bounded memory.

One pass over the frames, read once and in order. Each frame is converted to grey (BT.601), optionally cropped
to a fixed face box, and resized to a small working size (``size``, 128x128 by default, as SOFTNet). For every
frame ``t`` and every lag ``k`` of ``lags`` the pass computes TV-L1 flow ``t -> t+k`` on the C++ core (one pair
per frame and lag; MDMD's ``t -> t+2k`` is the sum of two consecutive lag-k flows), then pools per block of a
``rows x cols`` grid:

========================  =====================  ===============================================================
name                      shape per frame        what
========================  =====================  ===============================================================
``lbp``                   (nb, 59) float32       LBP(8, 1) u2 histogram of frame t per block, each summing to 1
``uv{k}``                 (nb, 2) float32        mean flow (u, v) t -> t+k per block, head motion removed
``mag{k}``                (nb,) float32          mean flow magnitude t -> t+k per block, head motion removed
``strain{k}``             (nb,) float32          mean optical strain of that flow per block
``mdmd{k}``               (nb,) float32          MDMD block value: in the block's fullest of 4 direction bins of
                                                 flow t -> t+k, mean of the top third of |F(t,t+k)| - |F(t,t+2k)|
``softnet{k}``            (3, 42, 42) float32    SOFTNet input of flow t -> t+k: brow and mouth regions of
                                                 (|u|, |v|, strain), each channel min-max scaled (strain from
                                                 forward differences, as SOFTNet; see ``softnet_input``)
========================  =====================  ===============================================================

``nb = rows * cols``. Frames ``t`` whose partner ``t+k`` (or ``t+2k``) lies past the end hold NaN. Pixels of
the eye regions (landmarks 36-47, widened) are left out of every block and zeroed in ``softnet`` (SOFTNet's eye
polygons, see :class:`FrameGeometry`) so that blinks do not count as facial motion; head motion is removed by
subtracting the mean flow of a box on the nose bridge (landmark 28), as SOFTNet does. Landmarks come from the
first frame (dlib when installed, else the template).

Memory: the pass holds ``chunk + 2 max(lags)`` working-size frames and the flows of one chunk, whatever the
video's length; :func:`iter_features` yields the features chunk by chunk so that a caller (the store writer)
never holds more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError

if TYPE_CHECKING:
    from ..flow import TVL1Params

__all__ = ["FeatureChunk", "FeatureOptions", "FrameGeometry", "feature_shapes", "iter_features", "long_video_features"]

N_LBP_BINS = 59
_SOFTNET_SIDE = 42
_FEATURES = ("lbp", "uv", "mag", "strain", "mdmd", "softnet")
_SOFTNET_INPUTS = ("spec", "legacy")


@dataclass(frozen=True)
class FeatureOptions:
    """What the long-video pass computes (recorded in the store with the arrays).

    Attributes
    ----------
    lags : tuple of int
        Frame lags ``k`` of the flows ``t -> t+k`` (the spotting windows: about half an expression's length).
    size : (int, int)
        Working size ``(H, W)`` every frame is resized to (after the crop).
    blocks : (int, int)
        Block grid ``(rows, cols)`` for the pooled features.
    features : tuple of str
        Any of ``"lbp"``, ``"uv"``, ``"mag"``, ``"strain"``, ``"mdmd"``, ``"softnet"``.
    flow : str
        TV-L1 preset name (``"per-frame"``: the settings the spotting methods were validated with, about 1 ms
        per 128x128 pair; see ``TVL1_PRESETS``). A store records the preset's values with its name, and resumes
        only with the same values.
    crop : (x, y, w, h), "face" or None
        A fixed crop box in source pixels; ``"face"``: the face box detected in the first frame
        (:func:`mefast.detect_face`), widened by 20 % on each side, kept for the whole video (SOFTNet's and
        MDMD's practice; the whole frame when no face is found); None: the whole frame (a video of face crops).
    mask_eyes : bool
        Leave the eye regions out (blinks).
    chunk : int
        Frames per chunk.
    n_threads : int or None
        Threads of the flow kernel; all cores if None.
    softnet_input : {"spec", "legacy"}
        How ``softnet{k}`` is made. ``"spec"``: as spec 5b and SOFTNet's code (Liong et al. 2021), the strain
        channel from forward differences (``u(x+1) - u(x)``, the last row and column repeated), the eyes'
        polygons pushed out 15 px zeroed, the mouth box of landmarks 60, 64, 50, 57 (:class:`FrameGeometry`).
        ``"legacy"``: what mefast wrote before this option existed (central differences, the blocks' eye boxes,
        a mouth box over 48-64), the value a store that does not record the option was written with; kept to
        resume such stores. Recorded with the ``softnet`` feature.
    """

    lags: tuple[int, ...] = (4,)
    size: tuple[int, int] = (128, 128)
    blocks: tuple[int, int] = (6, 6)
    features: tuple[str, ...] = ("lbp", "mag", "strain", "mdmd")
    flow: str = "per-frame"
    crop: tuple[int, int, int, int] | str | None = None
    mask_eyes: bool = True
    chunk: int = 64
    n_threads: int | None = None
    # Options added later go last (FEATURE_ADDED_OPTIONS), so positional arguments keep their order.
    softnet_input: str = "spec"

    def __post_init__(self) -> None:
        lags = tuple(int(k) for k in self.lags)
        if not lags or min(lags) < 1:
            raise ValueError(f"lags must be positive frame counts, got {self.lags!r}")
        object.__setattr__(self, "lags", tuple(sorted(set(lags))))
        unknown = [f for f in self.features if f not in _FEATURES]
        if unknown or not self.features:
            raise ValueError(f"features: {unknown or '()'} unknown; choose from {_FEATURES}")
        try:
            _ = self.tvl1  # an unknown preset name raises here, not in every recording's job
        except ValueError as e:
            raise ValueError(f"flow: {e}") from None
        h, w = (int(v) for v in self.size)
        r, c = (int(v) for v in self.blocks)
        if r < 1 or c < 1:
            raise ValueError(f"blocks must be a positive grid, got {self.blocks}")
        if h < 32 or w < 32 or (h - 2) // r < 2 or (w - 2) // c < 2:
            raise ValueError(f"size {self.size} is too small for {self.blocks} blocks (at least 32x32, 2 px a block)")
        if int(self.chunk) < 1:
            raise ValueError(f"chunk must be >= 1, got {self.chunk}")
        if self.softnet_input not in _SOFTNET_INPUTS:
            raise ValueError(f"softnet_input must be one of {_SOFTNET_INPUTS}, got {self.softnet_input!r}")
        if isinstance(self.crop, str):
            if self.crop != "face":
                raise ValueError(f"crop must be (x, y, width, height), 'face' or None, got {self.crop!r}")
        elif self.crop is not None and (len(self.crop) != 4 or min(self.crop[2:]) < 8):
            raise ValueError(f"crop must be (x, y, width, height) with a size of at least 8 px, got {self.crop}")

    @property
    def n_blocks(self) -> int:
        return int(self.blocks[0]) * int(self.blocks[1])

    @property
    def tvl1(self) -> TVL1Params:
        """The TV-L1 parameters of the preset :attr:`flow`."""
        from ..flow import TVL1Params

        return TVL1Params.preset(self.flow)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record of what the pass computes (recorded in the store; ``n_threads`` and ``chunk`` left out).

        ``flow`` is recorded as ``{"preset": name, **values}``: the TV-L1 values, not only the name (a preset's
        values may change between versions, as ``"fast"``'s did).
        """
        out = {
            "lags": list(self.lags),
            "size": list(self.size),
            "blocks": list(self.blocks),
            "features": list(self.features),
            "flow": {"preset": self.flow, **asdict(self.tvl1)},
            "crop": self.crop if self.crop is None or isinstance(self.crop, str) else list(self.crop),
            "mask_eyes": bool(self.mask_eyes),
        }
        for name, (feature, _) in FEATURE_ADDED_OPTIONS.items():
            if feature in self.features:  # recorded only where it changes what is written
                out[name] = getattr(self, name)
        return out

    def differences(self, recorded: Mapping[str, Any]) -> list[str]:
        """What differs between these options and a record of :meth:`as_dict` (a store's); empty: the same.

        The flow is compared by its TV-L1 values, whatever the presets are named. Stores of older versions
        recorded only the preset's name: ``"fast"`` there (the default then) and ``"spotting"`` mean the values
        that are now the ``"per-frame"`` preset (``"fast"`` was tuned for larger frames since). An option of
        :data:`FEATURE_ADDED_OPTIONS` that a record lacks has its old-behaviour value there, and is compared
        only when both hold its feature.

        Parameters
        ----------
        recorded : mapping
            Options recorded by :meth:`as_dict`, read back from a store.

        Returns
        -------
        list of str
            One line per differing option, naming it, the recorded value and this one.
        """
        mine = self.as_dict()
        recorded = dict(recorded)
        both = set(recorded.get("features") or ()) & set(self.features)
        for name, (feature, old) in FEATURE_ADDED_OPTIONS.items():
            if feature in (recorded.get("features") or ()):
                recorded.setdefault(name, old)
        out = []
        for key in [*mine, *sorted(set(recorded) - set(mine))]:
            if key in FEATURE_ADDED_OPTIONS and FEATURE_ADDED_OPTIONS[key][0] not in both:
                continue  # the feature itself differs (reported under "features")
            have, want = recorded.get(key), mine.get(key)
            if key != "flow":
                if have != want:
                    out.append(f"{key}: the store's {have!r}, these options' {want!r}")
                continue
            values = _recorded_tvl1(have)
            if values != asdict(self.tvl1):
                out.append(f"flow: the store's {_describe_tvl1(have, values)}, these options' flow={self.flow!r}")
        return out


#: Options added to :class:`FeatureOptions` after recording stores began recording their options: name ->
#: (the feature whose arrays it changes, recorded only with it; the value that does what the pass did before the
#: option existed, which a record without it was written with). A new option must be listed here.
FEATURE_ADDED_OPTIONS: dict[str, tuple[str, Any]] = {"softnet_input": ("softnet", "legacy")}

#: Preset names recorded by older versions (only the name, no values), and the preset that now has their values.
_RENAMED_FLOW = {"fast": "per-frame", "spotting": "per-frame"}


def _recorded_tvl1(flow: Any) -> dict[str, Any] | None:
    """The TV-L1 values of a recorded ``flow`` option (a name from older versions or ``{"preset", **values}``)."""
    from ..flow import TVL1_PRESETS, with_added_fields

    if isinstance(flow, str):
        params = TVL1_PRESETS.get(_RENAMED_FLOW.get(flow, flow))
        return None if params is None else asdict(params)
    if isinstance(flow, Mapping):  # values recorded before a field was added lack it: its old-behaviour value
        return with_added_fields({k: v for k, v in flow.items() if k != "preset"})
    return None


def _describe_tvl1(flow: Any, values: dict[str, Any] | None) -> str:
    """Words for a recorded ``flow`` option: its name as recorded and the current preset with its values."""
    from ..flow import TVL1_PRESETS

    if isinstance(flow, str):
        said = f"flow {flow!r} (recorded by an older mefast, without values)"
    elif isinstance(flow, Mapping):
        said = f"TV-L1 settings (recorded as preset {flow.get('preset')!r})"
    else:
        return f"flow {flow!r} (not a recorded TV-L1 setting)"
    now = [name for name, p in TVL1_PRESETS.items() if values is not None and asdict(p) == values]
    if now:
        return f"{said}, now the {now[0]!r} preset (pass flow={now[0]!r} to resume it)"
    return f"{said}, which no preset has now"


def feature_shapes(opts: FeatureOptions) -> dict[str, tuple[int, ...]]:
    """Per-frame shape of every array the pass writes."""
    nb = opts.n_blocks
    out: dict[str, tuple[int, ...]] = {}
    if "lbp" in opts.features:
        out["lbp"] = (nb, N_LBP_BINS)
    for k in opts.lags:
        if "uv" in opts.features:
            out[f"uv{k}"] = (nb, 2)
        if "mag" in opts.features:
            out[f"mag{k}"] = (nb,)
        if "strain" in opts.features:
            out[f"strain{k}"] = (nb,)
        if "mdmd" in opts.features:
            out[f"mdmd{k}"] = (nb,)
        if "softnet" in opts.features:
            out[f"softnet{k}"] = (3, _SOFTNET_SIDE, _SOFTNET_SIDE)
    return out


@dataclass
class FrameGeometry:
    """Where things are in the working-size frame: blocks, eye masks, nose box, SOFTNet regions.

    Distances are at 128 px, scaled with the working size (``s = min(H, W) / 128``). The blocks leave out the
    eyes' landmark boxes (36-41, 42-47) widened by 6 s px (``eye_mask``). SOFTNet (``softnet_input="spec"``,
    spec 5b) zeroes each eye's six-point polygon with its corners pushed out by 15 s px (36 and 42 left, 39
    and 45 right, the upper lid up, the lower lid down; ``softnet_eye_mask``) and reads the brow box (17-26
    +- 12 s) and the mouth box (x of 60 and 64, y of 50 and 57, +- 12 s); ``"legacy"``: the block eye mask and
    the box of 48, 54, 50, 57, 60, 64 +- 12 s, as mefast did before.
    """

    size: tuple[int, int]
    blocks: tuple[int, int]
    landmarks: NDArray[np.float64] | None
    mask_eyes: bool
    softnet_input: str = "spec"
    block_of: NDArray[np.int64] = field(init=False)  # (H-2, W-2) block index of each inner pixel, -1 = left out
    block_count: NDArray[np.float64] = field(init=False)
    gather: NDArray[np.int64] = field(init=False)  # (nb, P) flat inner-pixel index of each block's pixels
    gvalid: NDArray[np.bool_] = field(init=False)  # (nb, P) False on padding
    eye_mask: NDArray[np.bool_] = field(init=False)  # (H, W) True on the eye regions
    softnet_eye_mask: NDArray[np.bool_] = field(init=False)  # (H, W) True where SOFTNet's inputs are zeroed
    nose: tuple[slice, slice] = field(init=False)
    brow: tuple[slice, slice] = field(init=False)
    mouth: tuple[slice, slice] = field(init=False)

    def __post_init__(self) -> None:
        h, w = self.size
        rows, cols = self.blocks
        eye = np.zeros((h, w), bool)
        lm = self.landmarks
        s = min(h, w) / 128.0
        if lm is not None and self.mask_eyes:
            for lo, hi in ((36, 42), (42, 48)):
                pts = lm[lo:hi]
                x0, y0 = pts.min(0) - 6 * s
                x1, y1 = pts.max(0) + 6 * s
                ys = slice(max(0, int(y0)), max(0, int(math.ceil(y1)) + 1))
                eye[ys, max(0, int(x0)) : max(0, int(math.ceil(x1)) + 1)] = True
        self.eye_mask = eye
        self.softnet_eye_mask = eye
        if lm is not None and self.mask_eyes and self.softnet_input == "spec":
            self.softnet_eye_mask = _softnet_eye_polygons(lm, (h, w), 15 * s)
        # Blocks tile the inner (H-2) x (W-2) pixels (the LBP centres); the remainder rows/cols are left out.
        ih, iw = h - 2, w - 2
        bh, bw = ih // rows, iw // cols
        by = np.minimum(np.arange(ih) // bh, rows - 1)
        bx = np.minimum(np.arange(iw) // bw, cols - 1)
        block_of = (by[:, None] * cols + bx[None, :]).astype(np.int64)
        block_of[eye[1:-1, 1:-1]] = -1
        self.block_of = block_of
        cnt = np.bincount(block_of[block_of >= 0].ravel(), minlength=rows * cols).astype(np.float64)
        self.block_count = cnt
        # Gather table: the flat inner-pixel indices of each block, padded to the largest block.
        flat = block_of.ravel()
        order = np.argsort(flat, kind="stable")
        width = max(int(cnt.max()), 1)
        gather = np.zeros((rows * cols, width), np.int64)
        gvalid = np.zeros((rows * cols, width), bool)
        starts = np.searchsorted(flat[order], np.arange(rows * cols))
        for b in range(rows * cols):
            m = int(cnt[b])
            gather[b, :m] = order[starts[b] : starts[b] + m]
            gvalid[b, :m] = True
        self.gather = gather
        self.gvalid = gvalid

        def box(x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
            ya, yb = int(np.clip(np.floor(y0), 0, h - 2)), int(np.clip(np.ceil(y1), 1, h - 1))
            xa, xb = int(np.clip(np.floor(x0), 0, w - 2)), int(np.clip(np.ceil(x1), 1, w - 1))
            return slice(ya, max(yb, ya + 2) + 1), slice(xa, max(xb, xa + 2) + 1)

        if lm is not None:
            nx, ny = lm[28]
            self.nose = box(nx - 5 * s, ny - 5 * s, nx + 5 * s, ny + 5 * s)
            brow_pts = lm[17:27]
            lo, hi = brow_pts.min(0) - 12 * s, brow_pts.max(0) + 12 * s
            self.brow = box(lo[0], lo[1], hi[0], hi[1])
            if self.softnet_input == "spec":
                d = 12 * s
                self.mouth = box(lm[60, 0] - d, lm[50, 1] - d, lm[64, 0] + d, lm[57, 1] + d)
            else:
                mouth_pts = lm[[48, 54, 50, 57, 60, 64]]
                lo, hi = mouth_pts.min(0) - 12 * s, mouth_pts.max(0) + 12 * s
                self.mouth = box(lo[0], lo[1], hi[0], hi[1])
        else:  # a frame that is the face crop: nose bridge at the centre, brows in the upper, mouth in the lower third
            self.nose = box(0.45 * w, 0.4 * h, 0.55 * w, 0.48 * h)
            self.brow = box(0.1 * w, 0.15 * h, 0.9 * w, 0.42 * h)
            self.mouth = box(0.25 * w, 0.65 * h, 0.75 * w, 0.92 * h)


#: Where SOFTNet pushes each eye landmark (36-41, and 42-47 alike): (dx, dy) in units of the push distance.
_EYE_PUSH = np.array([(-1, 0), (0, -1), (0, -1), (1, 0), (0, 1), (0, 1)], np.float64)


def _softnet_eye_polygons(lm: NDArray[np.float64], size: tuple[int, int], d: float) -> NDArray[np.bool_]:
    """``(H, W)`` mask of both eyes' six-point polygons, each vertex pushed out by ``d`` px (spec 5b, [S]).

    A pushed coordinate is clipped to the frame ``[0, W]`` / ``[0, H]``, as SOFTNet's code does; vertices are
    rounded to whole pixels (SOFTNet's landmarks are dlib's integers) and the polygons filled (``cv2.fillPoly``).
    """
    import cv2

    h, w = size
    mask = np.zeros((h, w), np.uint8)
    for first in (36, 42):
        pts = lm[first : first + 6] + d * _EYE_PUSH
        pts[:, 0] = np.where(_EYE_PUSH[:, 0] != 0, np.clip(pts[:, 0], 0, w), pts[:, 0])
        pts[:, 1] = np.where(_EYE_PUSH[:, 1] != 0, np.clip(pts[:, 1], 0, h), pts[:, 1])
        cv2.fillPoly(mask, [np.rint(pts).astype(np.int32)], 1)
    return mask.astype(bool)


@dataclass
class FeatureChunk:
    """Features of the frames ``start .. start + len - 1``: name -> array of shape (len, *per-frame shape)."""

    start: int
    arrays: dict[str, NDArray[np.float32]]

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values()))) if self.arrays else 0


def _to_grey(frame: ArrayLike, t: int) -> NDArray[np.float32]:
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[-1] == 3:
        import cv2

        if a.dtype != np.uint8:
            a = a.astype(np.float32)
        a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    elif a.ndim != 2:
        raise ShapeError(f"frame {t} must be (H, W) or (H, W, 3), got shape {np.shape(frame)}")
    if a.dtype == np.uint8:
        return a.astype(np.float32)
    if not np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_:
        raise ShapeError(f"frame {t} must be numeric, got dtype {a.dtype}")
    out = a.astype(np.float32)
    if not np.isfinite(out).all():
        raise ShapeError(f"frame {t} contains NaN or infinity")
    return out * 255.0 if np.issubdtype(a.dtype, np.floating) else out


class _Prepare:
    """Frame -> working-size grey float32 in [0, 255] (crop, area resize)."""

    def __init__(self, opts: FeatureOptions) -> None:
        self.opts = opts
        self.shape: tuple[int, ...] | None = None
        self.box: tuple[int, int, int, int] | None = None  # the crop in source pixels, clipped to the frame

    def _resolve(self, g: NDArray[np.float32]) -> None:
        """Fix the crop box on the first frame (``crop="face"``: detect the face)."""
        fh, fw = g.shape
        crop = self.opts.crop
        if crop == "face":
            from ..errors import FaceNotFoundError
            from ..face import detect_face

            try:
                bx, by, bw, bh = (float(v) for v in detect_face(np.clip(g, 0, 255).astype(np.uint8)))
            except FaceNotFoundError:
                return
            x, y, w, h = bx - 0.2 * bw, by - 0.2 * bh, 1.4 * bw, 1.4 * bh
        elif crop is None or isinstance(crop, str):
            return
        else:
            x, y, w, h = (float(v) for v in crop)
        x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
        x1, y1 = min(fw, int(round(x + w))), min(fh, int(round(y + h)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            raise ValueError(f"crop {crop} lies outside the frames of shape {g.shape}")
        self.box = (x0, y0, x1 - x0, y1 - y0)

    def __call__(self, frame: ArrayLike, t: int) -> NDArray[np.float32]:
        import cv2

        g = _to_grey(frame, t)
        if self.shape is None:
            self.shape = g.shape
            self._resolve(g)
        elif g.shape != self.shape:
            raise ShapeError(f"frame {t} has shape {g.shape}, frame 0 has {self.shape}")
        if self.box is not None:
            x, y, w, h = self.box
            g = g[y : y + h, x : x + w]
        h, w = (int(v) for v in self.opts.size)
        if g.shape != (h, w):
            g = np.asarray(cv2.resize(g, (w, h), interpolation=cv2.INTER_AREA))
        return np.ascontiguousarray(g, np.float32)

    def landmark_transform(self, lm: NDArray[np.float64], shape: tuple[int, ...]) -> NDArray[np.float64]:
        ox, oy, sw, sh = 0.0, 0.0, float(shape[1]), float(shape[0])
        if self.box is not None:
            ox, oy, sw, sh = (float(v) for v in self.box)
        h, w = self.opts.size
        return np.column_stack([(lm[:, 0] - ox) * w / sw, (lm[:, 1] - oy) * h / sh])


def find_landmarks(frame: ArrayLike) -> NDArray[np.float64] | None:
    """68 landmarks of the first frame (dlib or the template on the detected face), None when no face is found."""
    from ..errors import FaceNotFoundError
    from ..face import landmarks68

    try:
        return np.asarray(landmarks68(frame), np.float64)
    except FaceNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------------- kernels
_OFFSETS = [
    (int(np.floor(-np.sin(2 * np.pi * p / 8) + 0.5)), int(np.floor(np.cos(2 * np.pi * p / 8) + 0.5))) for p in range(8)
]  # (dy, dx) of neighbour p at angle 2 pi p / 8, radius 1, rounded


def lbp_codes(frames: NDArray[np.float32]) -> NDArray[np.uint8]:
    """LBP(8, 1) codes of the inner pixels of a stack ``(n, H, W)``: bit p set when neighbour p >= centre."""
    n, h, w = frames.shape
    c = frames[:, 1:-1, 1:-1]
    codes = np.zeros((n, h - 2, w - 2), np.uint8)
    for p, (dy, dx) in enumerate(_OFFSETS):
        nb = frames[:, 1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]
        codes |= (nb >= c).astype(np.uint8) << p
    return codes


def _u2_table() -> NDArray[np.int64]:
    from ..descriptors import uniform_mapping

    table, n_bins = uniform_mapping(8, "u2")
    assert n_bins == N_LBP_BINS
    return table.astype(np.int64)


def block_lbp(
    frames: NDArray[np.float32], geo: FrameGeometry, table: NDArray[np.int64], sigma: float = 1.5
) -> NDArray[np.float32]:
    """``(n, nb, 59)`` u2 histograms of each block, normalised to sum 1 (eye pixels left out).

    Frames are smoothed by a Gaussian of ``sigma`` pixels first (at 128 px; scaled with the working size): LBP
    codes of flat skin are otherwise sensor noise, which drowns the change of a micro-expression.
    """
    import cv2

    n = len(frames)
    s = float(sigma) * min(geo.size) / 128.0
    if s > 0:
        frames = np.stack([cv2.GaussianBlur(f, (0, 0), s) for f in frames])
    nb = geo.blocks[0] * geo.blocks[1]
    bins = table.astype(np.int32)[lbp_codes(frames)]  # (n, H-2, W-2)
    keep = geo.block_of >= 0
    base = (np.arange(n, dtype=np.int32)[:, None] * nb + geo.block_of[keep].astype(np.int32)[None, :]) * N_LBP_BINS
    idx = base + bins[:, keep]
    hist = np.bincount(idx.ravel(), minlength=n * nb * N_LBP_BINS).reshape(n, nb, N_LBP_BINS).astype(np.float32)
    cnt = np.maximum(geo.block_count, 1.0).astype(np.float32)
    return hist / cnt[None, :, None]


def _blocks(maps: NDArray, geo: FrameGeometry) -> NDArray:
    """``(n, nb, P, ...)`` block-gathered inner pixels of ``(n, H, W, ...)`` maps (padding: see ``geo.gvalid``)."""
    n, h, w = maps.shape[:3]
    inner = maps[:, 1:-1, 1:-1].reshape(n, (h - 2) * (w - 2), *maps.shape[3:])
    return inner[:, geo.gather]


def block_mean(maps: NDArray[np.float32], geo: FrameGeometry) -> NDArray[np.float32]:
    """``(n, nb)`` mean of ``(n, H, W)`` maps over each block's pixels (the LBP block tiling, eyes left out)."""
    from ._kernels import block_mean_kernel

    n, h, w = maps.shape
    inner = np.ascontiguousarray(maps[:, 1:-1, 1:-1], np.float32).reshape(n, -1)
    return block_mean_kernel(inner, geo.gather, geo.block_count.astype(np.int64))


def block_mdmd(f1: NDArray[np.float32], f2: NDArray[np.float32], geo: FrameGeometry) -> NDArray[np.float32]:
    """MDMD block values of flow pairs ``(n, H, W, 2)``: fullest direction bin of f1, top third of |f1|-|f2|.

    Four direction bins (the quadrants of the full circle: MEGC2020's ``atan(u/v)`` leaves two bins empty).
    """
    from ._kernels import mdmd_kernel

    n = len(f1)

    def comp(f: NDArray, c: int) -> NDArray[np.float32]:
        return np.ascontiguousarray(f[:, 1:-1, 1:-1, c], np.float32).reshape(n, -1)

    return mdmd_kernel(comp(f1, 0), comp(f1, 1), comp(f2, 0), comp(f2, 1), geo.gather, geo.block_count.astype(np.int64))


def forward_strain(flow: NDArray[np.float32]) -> NDArray[np.float32]:
    """Optical strain of flows ``(n, H, W, 2)`` from forward differences, as SOFTNet's ``computeStrain``.

    ``u_x = u(y, x+1) - u(y, x)`` and likewise for the other derivatives; the last column and row, which have
    no forward neighbour, repeat the ones before them (SOFTNet's forward fill). Returns ``(n, H, W)`` float32.
    """
    f = np.asarray(flow, np.float32)
    u, v = f[..., 0], f[..., 1]
    ux = u[:, :-1, 1:] - u[:, :-1, :-1]
    uy = u[:, 1:, :-1] - u[:, :-1, :-1]
    vx = v[:, :-1, 1:] - v[:, :-1, :-1]
    vy = v[:, 1:, :-1] - v[:, :-1, :-1]
    s = np.sqrt(ux * ux + vy * vy + 0.5 * (uy + vx) ** 2)
    return np.pad(s, ((0, 0), (0, 1), (0, 1)), mode="edge").astype(np.float32, copy=False)


def softnet_input(flow: NDArray[np.float32], strain: NDArray[np.float32], geo: FrameGeometry) -> NDArray[np.float32]:
    """``(n, 3, 42, 42)`` SOFTNet inputs: brow (top) and mouth (bottom) regions of |u|, |v|, strain, min-max."""
    import cv2

    n = len(flow)
    out = np.empty((n, 3, _SOFTNET_SIDE, _SOFTNET_SIDE), np.float32)
    half = _SOFTNET_SIDE // 2
    for i in range(n):
        chans = (np.abs(flow[i, ..., 0]), np.abs(flow[i, ..., 1]), strain[i])
        for c, m in enumerate(chans):
            m = np.where(geo.softnet_eye_mask, 0.0, m).astype(np.float32)
            top = cv2.resize(m[geo.brow], (_SOFTNET_SIDE, half), interpolation=cv2.INTER_AREA)
            bot = cv2.resize(m[geo.mouth], (_SOFTNET_SIDE, half), interpolation=cv2.INTER_AREA)
            img = np.vstack([top, bot])
            lo, hi = float(img.min()), float(img.max())
            out[i, c] = (img - lo) / (hi - lo) if hi > lo else 0.0
    return out


# ---------------------------------------------------------------------------------------------------- the pass
def iter_features(
    frames: Iterable[ArrayLike],
    options: FeatureOptions | None = None,
    *,
    landmarks: ArrayLike | str | None = "auto",
) -> Iterator[FeatureChunk]:
    """Compute the spotting features of a long video chunk by chunk (bounded memory; see the module docstring).

    Parameters
    ----------
    frames : iterable of array_like of shape (H, W) or (H, W, 3)
        The video's frames in order (a generator is read once, lazily). uint8 grey levels or floats in [0, 1].
    options : FeatureOptions, optional
    landmarks : array_like of shape (68, 2), "auto" or None
        Landmarks of the first frame in source pixels; ``"auto"`` finds them (dlib or template), None uses a
        fixed face-crop geometry (eyes at 35-45 % of the height) without landmarks.

    Yields
    ------
    FeatureChunk
        Consecutive chunks covering every frame once.
    """
    from .._validation import core_threads
    from ..flow import TVL1Params, _pairs, optical_strain

    opts = options or FeatureOptions()
    prep = _Prepare(opts)
    table = _u2_table()
    params = TVL1Params.preset(opts.flow)
    n_threads = core_threads(opts.n_threads)
    reach = 2 * max(opts.lags) if "mdmd" in opts.features else max(opts.lags)
    shapes = feature_shapes(opts)
    it = iter(frames)
    buf: list[NDArray[np.float32]] = []  # working frames start .. start + len - 1
    start = 0
    geo: FrameGeometry | None = None
    exhausted = False
    t_read = 0
    while True:
        while not exhausted and len(buf) < opts.chunk + reach:
            try:
                raw = next(it)
            except StopIteration:
                exhausted = True
                break
            buf.append(prep(raw, t_read))  # the first call also fixes the crop box
            t_read += 1
            if geo is None:
                lm: NDArray[np.float64] | None
                if isinstance(landmarks, str):
                    if landmarks != "auto":
                        raise ValueError(f"landmarks must be (68, 2) points, 'auto' or None, got {landmarks!r}")
                    lm = find_landmarks(raw)
                elif landmarks is None:
                    lm = None
                else:
                    lm = np.asarray(landmarks, np.float64)
                    if lm.shape != (68, 2):
                        raise ShapeError(f"landmarks must have shape (68, 2), got {lm.shape}")
                if lm is not None:
                    assert prep.shape is not None  # fixed by prep's first call, on this frame
                    lm = prep.landmark_transform(lm, prep.shape)
                size = (int(opts.size[0]), int(opts.size[1]))
                grid = (int(opts.blocks[0]), int(opts.blocks[1]))
                geo = FrameGeometry(size, grid, lm, opts.mask_eyes, opts.softnet_input)
        if not buf:
            return
        n_out = min(opts.chunk, len(buf)) if exhausted else opts.chunk
        assert geo is not None
        stack = np.stack(buf)
        arrays: dict[str, NDArray[np.float32]] = {}
        if "lbp" in shapes:
            arrays["lbp"] = block_lbp(stack[:n_out], geo, table)
        mdmd = "mdmd" in opts.features
        softnet_central = "softnet" in opts.features and opts.softnet_input == "legacy"
        need_strain = "strain" in opts.features or softnet_central
        needs_flow = any(f in opts.features for f in ("uv", "mag", "strain", "mdmd", "softnet"))
        for k in opts.lags if needs_flow else ():
            # Flows t -> t+k for the chunk's frames, and for MDMD also for the k frames after it (their flows
            # t+k -> t+2k complete F(t -> t+2k) ~ F(t -> t+k) + F(t+k -> t+2k), the composition of two small
            # smooth motions to first order: one TV-L1 pair per frame and lag instead of two).
            n_flow = min(n_out + k, len(buf)) if mdmd else n_out
            i0 = np.flatnonzero(np.arange(n_flow) + k < len(buf)).astype(np.int32)
            f_all = np.full((n_flow, *opts.size, 2), np.nan, np.float32)
            if i0.size:
                fl = _pairs(stack, i0, i0 + np.int32(k), params, n_threads, "cpu")
                ys, xs = geo.nose
                fl -= fl[:, ys, xs].mean(axis=(1, 2), keepdims=True)  # head motion: the nose bridge's motion
                f_all[i0] = fl
            f = f_all[:n_out]
            valid = np.arange(n_out) + k < len(buf)
            if "uv" in opts.features:
                arrays[f"uv{k}"] = np.stack([block_mean(f[..., 0], geo), block_mean(f[..., 1], geo)], -1)
            if "mag" in opts.features:
                arrays[f"mag{k}"] = block_mean(np.hypot(f[..., 0], f[..., 1]), geo)
            st = np.full((n_out, *opts.size), np.nan, np.float32)
            if need_strain and valid.any():
                st[valid] = optical_strain(f[valid], n_threads=opts.n_threads)
            if "strain" in opts.features:
                arrays[f"strain{k}"] = block_mean(st, geo)
            if mdmd:
                md = np.full((n_out, opts.n_blocks), np.nan, np.float32)
                valid2 = np.arange(n_out) + 2 * k < len(buf)
                if valid2.any():
                    j = np.flatnonzero(valid2)
                    md[j] = block_mdmd(f_all[j], f_all[j] + f_all[j + k], geo)
                arrays[f"mdmd{k}"] = md
            if "softnet" in opts.features:
                sn = np.full((n_out, 3, _SOFTNET_SIDE, _SOFTNET_SIDE), np.nan, np.float32)
                if valid.any():
                    sst = st[valid] if softnet_central else forward_strain(f[valid])
                    sn[valid] = softnet_input(f[valid], sst, geo)
                arrays[f"softnet{k}"] = sn
        yield FeatureChunk(start, arrays)
        del buf[:n_out]
        start += n_out
        if exhausted and not buf:
            return


def long_video_features(
    frames: Iterable[ArrayLike], options: FeatureOptions | None = None, *, landmarks: ArrayLike | str | None = "auto"
) -> dict[str, NDArray[np.float32]]:
    """All features of a video as whole arrays ``(T, ...)`` (concatenated chunks of :func:`iter_features`)."""
    parts: dict[str, list[NDArray[np.float32]]] = {}
    for chunk in iter_features(frames, options, landmarks=landmarks):
        for name, a in chunk.arrays.items():
            parts.setdefault(name, []).append(a)
    if not parts:
        raise ShapeError("the video has no frames")
    return {name: np.concatenate(v) for name, v in parts.items()}


def default_lags(fps: float, kinds: Sequence[str] = ("micro", "macro")) -> dict[str, int]:
    """Spotting lag ``k = (N - 1) / 2`` for a typical expression length N: 0.3 s (micro) and 1 s (macro).

    The feature-difference rule of spec 5b (``k = (N - 1) / 2``, Moilanen et al.), used by every method by
    default and by the feature store's lags (one pass serves ``fd``, ``mdmd``, ``strain`` and ``softnet``):
    mefast's intervals are ``[peak - k, peak + k]``, so ``k`` must be about half an expression for an interval
    to cover one (4 and 14 frames at 30 fps, 29 and 99 at 200 fps).

    The MEGC2020 MDMD baseline's ``k`` (12/39 frames at 30 fps, 80/260 at 200 fps: 0.4 s and 1.3 s) is not
    this: its intervals are the runs of frames over the threshold, so its ``k`` only sets the flow lag, and
    ``[peak - k, peak + k]`` with it would give 25-frame (0.83 s) micro intervals, longer than any
    micro-expression (micro F1 0.10 instead of 0.97, p = 0.35, on the synthetic recordings of seeds 100-109). Use
    ``mefast.spot(..., preset="megc2020")`` or :func:`~mefast.spotting._intervals.megc2020_mdmd` for the baseline.

    Parameters
    ----------
    fps : float
        Frame rate, positive.
    kinds : sequence of {"micro", "macro"}

    Returns
    -------
    lags : dict of str to int
        ``k`` per kind, at least 1.

    Examples
    --------
    >>> default_lags(30.0)
    {'micro': 4, 'macro': 14}
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    typical = {"micro": 0.3, "macro": 1.0}
    out = {}
    for kind in kinds:
        if kind not in typical:
            raise ValueError(f"kind must be 'micro' or 'macro', got {kind!r}")
        n = max(3, int(round(typical[kind] * fps)))
        out[kind] = max(1, (n - 1) // 2)
    return out
