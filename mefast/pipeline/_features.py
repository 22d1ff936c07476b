"""Every stored feature of one clip, from its frames: the per-sample computation of ``mefast.preprocess``.

Arrays in, arrays out; nothing here knows about datasets, stores or parallelism. The steps are the public
API's, in this order (``n_threads`` is the number of threads the C++ core may use):

1. Convert the RGB frames to BT.601 grey uint8 (``cv2.cvtColor``), then :func:`mefast.face.crop_align` them
   to ``crop_size`` (``align="face"``), or resize them (area) when they already are face crops
   (``align="none"``). ``preprocess`` reads its clips already grey and cropped (``aligned=``): decoded at the
   size the crop needs, see :mod:`mefast.pipeline._reading`.
2. ``flow``: :func:`mefast.tvl1` onset -> apex at ``crop_size`` with ``PreprocessOptions.flow``, then
   :func:`mefast.resize_flow` to the store's ``size``, stored channels first ``(2, H, W)``.
3. ``strain``: :func:`mefast.optical_strain` of the stored flow.
4. ``biwoof``: :func:`mefast.descriptors.biwoof` of the crop-resolution flow and its strain.
5. ``mdmo``: :func:`mefast.compute_flow` from the onset to every frame with ``PreprocessOptions.mdmo_flow``
   (warm-started: ``PreprocessOptions.mdmo_warm_start``), then :func:`mefast.descriptors.mdmo` with the onset
   frame's 68 landmarks, both on the clip downscaled (area) to ``PreprocessOptions.mdmo_size``
   (:mod:`mefast.pipeline._mdmo_flows`).
6. ``frames``: :func:`mefast.descriptors.tim` to ``tim_frames`` frames (``output="uint8"``), resized to
   ``size`` (area interpolation).
7. ``lbptop``: :func:`mefast.descriptors.lbp_top` of the TIM clip at ``crop_size``.
8. On request only (:data:`EXTRA_FEATURES`): ``hoof`` (:func:`mefast.hoof` of the crop-resolution onset -> apex
   flow), ``lbpsip``, ``lbpmop``, ``hog3d``, ``higo`` (of the same clip as ``lbptop``).

``PreprocessOptions.frame_selection`` chooses that clip (and the ``frames`` feature): ``"tim"`` (default),
``"dmdsp"`` (:func:`mefast.dmdsp` to ``tim_frames`` frames), ``"uniform"`` (``tim_frames`` frames of the clip),
``"onset_apex"`` (2 frames) or ``"apex"`` (1 frame; the video descriptors need 3 frames or more).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import check_int, check_size, check_uint8_video
from ..flow import TVL1_PRESETS, TVL1Params, optical_strain, resize_flow, tvl1
from ._magnify_features import (
    MAGNIFY_FEATURES,
    MagnifyFeatureOptions,
    compute_magnify_features,
    flow_pair,
    magnify_feature_shapes,
)
from ._mdmo_flows import mdmo_feature, mdmo_grid

__all__ = ["ALL_FEATURES", "EXTRA_FEATURES", "FRAME_SELECTION", "PreprocessOptions", "compute_features",
           "feature_shapes"]  # fmt: skip

#: Every feature ``preprocess`` can store, in the order they are computed.
ALL_FEATURES: tuple[str, ...] = ("flow", "strain", "lbptop", "biwoof", "mdmo", "frames")

#: The other hand-crafted descriptors (issue 19), computed only when asked for.
EXTRA_FEATURES: tuple[str, ...] = ("hoof", "lbpsip", "lbpmop", "hog3d", "higo")

#: Choices of ``PreprocessOptions.frame_selection``.
FRAME_SELECTION: tuple[str, ...] = ("tim", "dmdsp", "uniform", "onset_apex", "apex")

_VIDEO_DESCRIPTORS = ("lbptop", "lbpsip", "lbpmop", "hog3d", "higo")
_DEVICES = ("cpu", "cuda", "auto", "emulated-cuda")  # the last: the CUDA kernels emulated on the CPU, for tests


@dataclass(frozen=True)
class PreprocessOptions:
    """How ``preprocess`` computes each feature (everything but the feature list and the store size).

    Parameters
    ----------
    crop_size : (int, int)
        ``(H, W)`` of the aligned face crop on which flow and descriptors are computed.
    align : {"face", "none"}
        ``"face"``: detect the face and landmarks and align with :func:`mefast.face.crop_align`;
        ``"none"``: the frames already are aligned face crops (e.g. CASME II's cropped release) and are only
        resized to ``crop_size``.
    flow : TVL1Params or str
        TV-L1 parameters of the onset -> apex flow. Default: the ``"accurate"`` preset (tuned on the flow
        battery; its endpoint error next to OpenCV's DualTVL1 is in the README's preset table). ``"opencv"``
        reproduces the settings most published ME work used.
    mdmo_flow : TVL1Params or str
        TV-L1 parameters of MDMO's onset -> every-frame flows (one flow per frame, so the cost that matters);
        default the ``"per-frame"`` preset.
    mdmo_size : (int, int) or None
        ``(H, W)`` at which MDMO's flows and regions are computed: the crop downscaled (area), at most the crop
        size; None keeps the crop's resolution (as ``"reference"`` mode and an explicit ``mdmo`` ``delta`` do).
        Default 128 x 128: a quarter of the pixels of the default crop, an inter-ocular distance near that of
        MEB's 112-pixel faces (see ``mefast.pipeline._mdmo_flows``).
    mdmo_warm_start : bool
        Compute MDMO's flows with ``compute_flow(warm_start=True)``: each flow starts from the previous frame's
        (runs of 8 frames), about a fifth less time, as close to the true motion as the flows computed from
        scratch (``tests/flow/test_warm_start.py``). False computes every flow from scratch.
    tim_frames : int
        Frames of the TIM-normalised clip (the ``frames`` feature and the input of LBP-TOP).
    lbptop, biwoof, mdmo : dict
        Keyword arguments passed to the descriptor functions.
    frame_selection : {"tim", "dmdsp", "uniform", "onset_apex", "apex"}
        The clip of the ``frames`` feature and of the video descriptors (see the module docstring).
    handcrafted : dict
        Keyword arguments of the :data:`EXTRA_FEATURES` descriptors and of ``dmdsp``, by name, e.g.
        ``{"lbpsip": {"blocks": (8, 8)}, "dmdsp": {"gamma": 0.01}}``.
    face : dict
        Keyword arguments of :func:`mefast.face.crop_align` (``detector``, ``method``, ``margin``, ``model``,
        ``coarse_size``); with ``align="none"``, the landmark ones go to :func:`mefast.face.landmarks68` for MDMO.
    decode : {"reduced", "full"}
        ``"reduced"``: frames are decoded grey, JPEGs at the largest reduction (libjpeg's DCT scaling, 1/2, 1/4,
        1/8) that still gives the crop at least one pixel per crop pixel, straight into the crop, the face
        searched on a downscaled copy (:mod:`mefast.pipeline._reading`); ``"full"``: every frame decoded whole
        in colour, converted and cropped, the face searched on the whole frame unless ``face`` sets
        ``coarse_size`` (slower on large frames; what ``preprocess`` did before).
    device : {"cpu", "cuda", "auto"}
        Where the C++ kernels run: the TV-L1 flows (onset -> apex and MDMO's), TIM and LBP-TOP. ``"cuda"``
        needs mefast's CUDA module and a visible GPU (``preprocess`` checks before any work); ``"auto"`` is
        ``"cuda"`` when both are there, else ``"cpu"``, and ``preprocess`` records the device it chose. On the
        GPU, MDMO's flows are computed cold in one batch (warm starts run one frame after another, on the CPU
        only), the other features as on the CPU up to float rounding; face alignment, strain, Bi-WOOF, the
        other descriptors and the magnification features stay on the CPU. A store is resumed only with the
        device it was started with (a store started with ``"auto"`` records the device it got). Tests also use
        ``"emulated-cuda"``: the CUDA kernels run one thread at a time on the CPU.
    """

    crop_size: tuple[int, int] = (256, 256)
    align: Literal["face", "none"] = "face"
    flow: TVL1Params | str = "accurate"
    mdmo_flow: TVL1Params | str = "per-frame"
    mdmo_size: tuple[int, int] | None = (128, 128)
    mdmo_warm_start: bool = True
    tim_frames: int = 10
    lbptop: Mapping[str, Any] = field(default_factory=dict)
    biwoof: Mapping[str, Any] = field(default_factory=dict)
    mdmo: Mapping[str, Any] = field(default_factory=dict)
    face: Mapping[str, Any] = field(default_factory=dict)
    #: Options of the magnification features (keys of ``MagnifyFeatureOptions``, see ``_magnify_features``).
    magnify: Mapping[str, Any] = field(default_factory=dict)
    frame_selection: str = "tim"
    handcrafted: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    decode: Literal["reduced", "full"] = "reduced"
    device: str = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "crop_size", _size(self.crop_size, "crop_size"))
        if self.align not in ("face", "none"):
            raise ValueError(f"align must be 'face' or 'none', got {self.align!r}")
        if self.decode not in ("reduced", "full"):
            raise ValueError(f"decode must be 'reduced' or 'full', got {self.decode!r}")
        if self.device not in _DEVICES:
            raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {self.device!r}")
        for name in ("flow", "mdmo_flow"):
            p = getattr(self, name)
            if isinstance(p, str):
                object.__setattr__(self, name, TVL1Params.preset(p))
            elif not isinstance(p, TVL1Params):
                raise TypeError(f"{name} must be a TVL1Params or a preset name, got {type(p).__name__}")
        object.__setattr__(self, "tim_frames", check_int(self.tim_frames, "tim_frames", minimum=2))
        if not isinstance(self.mdmo_warm_start, (bool, np.bool_)):
            raise TypeError(f"mdmo_warm_start must be a bool, got {type(self.mdmo_warm_start).__name__}")
        object.__setattr__(self, "mdmo_warm_start", bool(self.mdmo_warm_start))
        if self.mdmo_size is not None:
            object.__setattr__(self, "mdmo_size", _size(self.mdmo_size, "mdmo_size"))
        for name in ("lbptop", "biwoof", "mdmo", "face", "magnify"):
            object.__setattr__(self, name, dict(getattr(self, name)))
        MagnifyFeatureOptions.from_mapping(self.magnify)  # refuse bad magnify options before any work
        if self.frame_selection not in FRAME_SELECTION:
            raise ValueError(f"frame_selection must be one of {FRAME_SELECTION}, got {self.frame_selection!r}")
        hand = {str(k): dict(v) for k, v in dict(self.handcrafted).items()}
        unknown = sorted(set(hand) - set(EXTRA_FEATURES) - {"dmdsp"})
        if unknown:
            known = (*EXTRA_FEATURES, "dmdsp")
            raise ValueError(f"handcrafted options for unknown descriptors {unknown}; known: {known}")
        object.__setattr__(self, "handcrafted", hand)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record of every option (recorded in the store's attrs)."""
        d = dataclasses.asdict(self)
        d["crop_size"] = list(self.crop_size)
        for name in ("flow", "mdmo_flow"):
            params = getattr(self, name)
            preset = next((k for k, v in TVL1_PRESETS.items() if v == params), None)
            d[name] = {"preset": preset, **dataclasses.asdict(params)}
        weights = self.magnify.get("method_options", {}).get("weights")
        if isinstance(weights, str | os.PathLike) and os.path.exists(weights):
            # A path names the file, not the network: its digest makes a resume with other weights at the same
            # path a change of parameters (refused) instead of a store whose samples mix two networks.
            from ._provenance import weights_sha256

            d["magnify"] = {**d["magnify"], "weights_sha256": weights_sha256(weights)}
        return d


def _size(size: Sequence[int], name: str) -> tuple[int, int]:
    return check_size(size, name, minimum=16)


def _gray_frames(video: ArrayLike, name: str) -> NDArray[np.uint8]:
    """Grey uint8 ``(T, H, W)`` of a video checked by :func:`~mefast._validation.check_uint8_video`.

    ``name`` is what its errors call the video. RGB is converted by ``cv2.cvtColor`` (BT.601), grey passed through.
    """
    import cv2

    video = check_uint8_video(video, name)
    if video.ndim == 4:
        return np.stack([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in video])
    return np.ascontiguousarray(video)


def _gray_crop(
    video: ArrayLike, opts: PreprocessOptions, name: str = "video"
) -> tuple[NDArray[np.uint8], NDArray[np.float32] | None]:
    """Aligned grey uint8 clip ``(T, h, w)`` and the onset frame's 68 landmarks in crop coordinates.

    ``video`` is ``(T, H, W)`` or ``(T, H, W, 3)``, uint8, integers in 0..255 or floats in [0, 1]; anything else
    raises :class:`~mefast.errors.ShapeError` naming ``name``. The landmarks come with the alignment
    (``align="face"``), else None (found later, only if MDMO needs them).
    """
    import cv2

    h, w = opts.crop_size
    gray = _gray_frames(video, name)
    if opts.align == "face":
        from ..face import crop_align

        aligned = crop_align(gray, size=(h, w), **opts.face)
        return np.ascontiguousarray(aligned.video, np.uint8), np.asarray(aligned.landmarks, np.float32)
    return np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in gray]), None


def _landmarks(frame: NDArray[np.uint8], opts: PreprocessOptions) -> NDArray[np.float32]:
    from ..face import landmarks68

    kw = {k: v for k, v in opts.face.items() if k in ("method", "model", "detector")}
    return np.asarray(landmarks68(frame, **kw), dtype=np.float32)


def _selected_clip(gray: NDArray[np.uint8], apex: int, opts: PreprocessOptions, n_threads: int) -> np.ndarray:
    """The clip of ``opts.frame_selection`` (uint8): TIM, DMDSP, uniform, onset + apex or apex frames."""
    from ..descriptors import dmdsp, select_frames, tim

    how = opts.frame_selection
    if how == "tim":
        return tim(gray, opts.tim_frames, device=opts.device, **_with_threads({"output": "uint8"}, n_threads))
    if how == "dmdsp":
        return dmdsp(gray, **{"n_frames": opts.tim_frames, **opts.handcrafted.get("dmdsp", {})})
    if how == "uniform":
        return select_frames(gray, "uniform", n_frames=opts.tim_frames)
    return select_frames(gray, how, apex=apex)  # type: ignore[arg-type]


def _selected_frames(opts: PreprocessOptions) -> int:
    """Frames of the selected clip (``uniform`` assumes clips of at least ``tim_frames`` frames)."""
    return {"onset_apex": 2, "apex": 1}.get(opts.frame_selection, opts.tim_frames)


def _video_descriptor(name: str, clip: np.ndarray, opts: PreprocessOptions, n_threads: int) -> np.ndarray:
    from .. import descriptors as d

    fns: dict[str, Callable[..., Any]] = {
        "lbptop": d.lbp_top, "lbpsip": d.lbp_sip, "lbpmop": d.lbp_mop, "hog3d": d.hog3d, "higo": d.higo,
    }  # fmt: skip
    fn = fns[name]
    kw = {"device": opts.device, **opts.lbptop} if name == "lbptop" else opts.handcrafted.get(name, {})
    return np.asarray(fn(clip, **_with_threads(kw, n_threads)))


def _with_threads(kwargs: Mapping[str, Any], n_threads: int) -> dict[str, Any]:
    """``kwargs`` plus ``n_threads`` unless the caller set it: every kernel wrapper takes it."""
    return {"n_threads": n_threads, **kwargs}


def compute_features(
    video: NDArray[np.uint8],
    apex: int,
    *,
    features: Sequence[str],
    size: tuple[int, int],
    options: PreprocessOptions,
    n_threads: int = 1,
    aligned: tuple[NDArray[np.uint8], NDArray[np.float32] | None] | None = None,
    corpus: str | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Compute the requested features of one clip.

    Parameters
    ----------
    video : ndarray of shape (T, H, W, 3), uint8
        RGB frames from the onset to the offset.
    apex : int
        Index of the apex frame in ``video`` (0 <= apex < T).
    features : sequence of str
        Subset of :data:`ALL_FEATURES`.
    size : (int, int)
        ``(H, W)`` of the stored flow, strain and frames.
    options : PreprocessOptions
    n_threads : int
        Threads for the C++ core.
    aligned : (ndarray, ndarray or None), optional
        The grey crop clip ``(T, h, w)`` at ``crop_size`` and its onset landmarks (or None), when the caller
        read and aligned the clip already (:func:`mefast.pipeline._reading.read_clip`); ``video`` is then not
        used.
    corpus : str, optional
        The sample's corpus (``samples["dataset"]``), which ``options.magnify["on_off_target"] == "auto"``
        chooses On-A/Off-A's target by.

    Returns
    -------
    arrays : dict
        Feature name -> array in the store's per-sample layout.
    seconds : dict
        Wall time per step (``"align"`` and each feature).
    """
    wanted = set(features)
    seconds: dict[str, float] = {}
    out: dict[str, np.ndarray] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
        return value

    gray, landmarks = timed("align", lambda: _gray_crop(video, options)) if aligned is None else aligned
    if not 0 <= apex < len(gray):
        raise ValueError(f"apex index {apex} is outside the clip of {len(gray)} frames")
    h, w = size
    selected = None  # the clip of opts.frame_selection, computed once for frames, descriptors and magnify
    if (
        options.frame_selection == "tim"
        and wanted & {"frames", *_VIDEO_DESCRIPTORS}
        and wanted & {"flow_onset_frames", "frames_magnified"}
    ):
        selected = timed("frames", lambda: _selected_clip(gray, apex, options, n_threads))
    if wanted & set(MAGNIFY_FEATURES):
        out.update(timed("magnify", lambda: compute_magnify_features(
            gray, apex, features=features, size=size, options=options, n_threads=n_threads,
            clip=selected, corpus=corpus)))  # fmt: skip
    if wanted & {"flow", "strain", "biwoof", "hoof"}:
        substitute = MagnifyFeatureOptions.from_mapping(options.magnify).substitute_apex_offset
        i0, i1, _ = flow_pair(apex, len(gray), substitute)  # apex -> offset where onset == apex
        full = timed("flow", lambda: tvl1(gray[i0], gray[i1], params=options.flow, device=options.device))
        small = timed("flow", lambda: resize_flow(full, (h, w)))
        if "flow" in wanted:
            out["flow"] = np.ascontiguousarray(np.moveaxis(small, -1, 0))
        if "strain" in wanted:
            out["strain"] = timed("strain", lambda: optical_strain(small, n_threads=1))
        if "biwoof" in wanted:
            from ..descriptors import biwoof

            kw = _with_threads(options.biwoof, n_threads)
            out["biwoof"] = timed("biwoof", lambda: biwoof(full, optical_strain(full, n_threads=1), **kw))
        if "hoof" in wanted:
            from ..descriptors import hoof

            kw_hoof = _with_threads(options.handcrafted.get("hoof", {}), n_threads)
            out["hoof"] = timed("hoof", lambda: hoof(full, **kw_hoof))
    if "mdmo" in wanted:

        def _mdmo() -> np.ndarray:
            lm = landmarks if landmarks is not None else _landmarks(gray[0], options)
            grid = mdmo_grid(gray.shape[1:], options.mdmo_size, options.mdmo)
            return mdmo_feature(gray, lm, size=grid, params=options.mdmo_flow, mdmo_options=options.mdmo,
                                n_threads=n_threads, warm_start=options.mdmo_warm_start,
                                device=options.device)  # fmt: skip

        out["mdmo"] = timed("mdmo", _mdmo)
    if wanted & {"frames", *_VIDEO_DESCRIPTORS}:
        import cv2

        clip = selected
        if clip is None:
            clip = timed("frames", lambda: _selected_clip(gray, apex, options, n_threads))
        if "frames" in wanted:
            out["frames"] = timed(
                "frames",
                lambda: np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in clip]),
            )
        for name in _VIDEO_DESCRIPTORS:
            if name in wanted:
                out[name] = timed(name, functools.partial(_video_descriptor, name, clip, options, n_threads))
    for name, value in out.items():
        if name not in MAGNIFY_FEATURES:  # those come with their dtypes
            out[name] = np.asarray(value, dtype=np.uint8 if name == "frames" else np.float32)
    return out, seconds


def feature_shapes(
    features: Sequence[str], size: tuple[int, int], options: PreprocessOptions
) -> dict[str, tuple[tuple[int, ...], str]]:
    """Per-sample shape and dtype of each feature, as ``MEStore.create`` wants them.

    Descriptor lengths depend on their options, so the descriptors are run once on a blank clip of the
    crop size to measure them.
    """
    h, w = size
    shapes: dict[str, tuple[tuple[int, ...], str]] = {}
    probe: dict[str, np.ndarray] = {}
    options = dataclasses.replace(options, device="cpu")  # the lengths do not depend on where they are computed
    ch, cw = options.crop_size
    for name in _VIDEO_DESCRIPTORS:
        if name in features:
            blank = np.zeros((_selected_frames(options), ch, cw), np.uint8)
            probe[name] = _video_descriptor(name, blank, options, 1)
    if "hoof" in features:
        from ..descriptors import hoof

        probe["hoof"] = np.asarray(hoof(np.zeros((ch, cw, 2), np.float32), **options.handcrafted.get("hoof", {})))
    if "biwoof" in features:
        from ..descriptors import biwoof

        flow = np.zeros((ch, cw, 2), np.float32)
        probe["biwoof"] = np.asarray(biwoof(flow, np.zeros((ch, cw), np.float32), **options.biwoof))
    if "mdmo" in features:
        from ..data import face_landmarks
        from ..descriptors import mdmo

        lm = face_landmarks().astype(np.float32)
        lm = (lm - lm.min(0)) / np.ptp(lm, axis=0) * np.array([cw * 0.8, ch * 0.8]) + np.array([cw, ch]) * 0.1
        flows = np.full((2, ch, cw, 2), 0.5, np.float32)
        probe["mdmo"] = np.asarray(mdmo(flows, lm, **options.mdmo))
    shapes.update(magnify_feature_shapes(features, size, options.tim_frames))
    for name in features:
        if name in MAGNIFY_FEATURES:
            continue
        if name == "flow":
            shapes[name] = ((2, h, w), "float32")
        elif name == "strain":
            shapes[name] = ((h, w), "float32")
        elif name == "frames":
            shapes[name] = ((_selected_frames(options), h, w), "uint8")
        else:
            shapes[name] = (tuple(probe[name].shape), "float32")
    return shapes
