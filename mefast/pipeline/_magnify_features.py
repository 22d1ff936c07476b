"""Store features of the magnification work (issue 13): flows between key frames, On-A/Off-A, magnified frames.

Arrays in, arrays out, like :mod:`mefast.pipeline._features`, which calls :func:`compute_magnify_features` for
the names in :data:`MAGNIFY_FEATURES`. Every feature's recipe (frame pair, flow parameters, magnifier) is written
to the store's attrs (``parameters.recipes``) by :func:`feature_recipes`.

Key frames of a clip read from onset to offset: onset = frame 0, apex = the annotated apex, offset = the last
frame. When the onset is the apex (CAS(ME)^3 has such rows) the onset -> apex flow is empty, so the flows that
need it use the apex -> offset flow instead, as MEB and the data-leakage paper do (the motion is reversed); the
``flow_pair`` feature records per sample which pair was used (0: onset -> apex, 1: apex -> offset).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAGNIFY_FEATURES",
    "MagnifyFeatureOptions",
    "compute_magnify_features",
    "feature_recipes",
    "flow_pair",
    "magnify_feature_shapes",
]

#: Each feature's per-sample layout in the store: its shape from the stored ``(h, w)`` and the TIM length ``t``,
#: and its dtype.
_STORED: dict[str, tuple[Callable[[int, int, int], tuple[int, ...]], str]] = {
    "flow_pair": (lambda h, w, t: (1,), "uint8"),
    "flow_apex_offset": (lambda h, w, t: (2, h, w), "float32"),
    "flow_onset_frames": (lambda h, w, t: (t - 1, 2, h, w), "float32"),
    "amplified": (lambda h, w, t: (h, w), "uint8"),
    "on_a": (lambda h, w, t: (h, w), "float32"),
    "off_a": (lambda h, w, t: (h, w), "float32"),
    "frames_magnified": (lambda h, w, t: (t, h, w), "uint8"),
}

#: The features this module computes (requested explicitly; the default feature set does not include them).
MAGNIFY_FEATURES: tuple[str, ...] = tuple(_STORED)


@dataclass(frozen=True)
class MagnifyFeatureOptions:
    """How the magnification features are computed (``PreprocessOptions(magnify={...})`` takes these keys).

    Parameters
    ----------
    alpha : float
        Magnification: motion ``delta`` becomes ``(1 + alpha) delta``. The dual-branch paper's amplification 6 is
        ``alpha=5`` (the default).
    method : str
        Two-frame method of :func:`mefast.magnification.magnify_pair`: ``"eulerian-2frame"`` (default),
        ``"lagrangian"`` or ``"learned"`` (then ``method_options={"weights": path}``).
    method_options : dict
        Keyword arguments of the method.
    on_off_target : {"apex", "amplified", "auto"}
        The frame On-A and Off-A flow into: the apex (the paper's choice for CASME II), the amplified frame (its
        choice for SAMM), or ``"auto"``: each sample by its corpus, the amplified frame for SAMM and the apex
        for the others (:func:`on_off_target_of`), as the dual-branch paper does in a CASME II + SAMM store.
    on_off_scale_step : float
        Pyramid scale of the On-A/Off-A TV-L1 (OpenCV's parameters otherwise, as the paper's code).
    substitute_apex_offset : bool
        Use the apex -> offset flow where the onset is the apex (recorded in ``flow_pair``).
    """

    alpha: float = 5.0
    method: str = "eulerian-2frame"
    method_options: Mapping[str, Any] = field(default_factory=dict)
    on_off_target: str = "apex"
    on_off_scale_step: float = 0.5
    substitute_apex_offset: bool = True

    def __post_init__(self) -> None:
        from ..magnification import METHODS

        if not np.isfinite(self.alpha):
            raise ValueError(f"magnify alpha must be finite, got {self.alpha!r}")
        if self.method not in METHODS or self.method == "eulerian":
            raise ValueError(f"magnify method must be a two-frame method of {METHODS[1:]}, got {self.method!r}")
        if self.on_off_target not in ON_OFF_TARGETS:
            raise ValueError(f"on_off_target must be one of {ON_OFF_TARGETS}, got {self.on_off_target!r}")
        if not 0 < self.on_off_scale_step < 1:
            raise ValueError(f"on_off_scale_step must be in (0, 1), got {self.on_off_scale_step!r}")
        object.__setattr__(self, "method_options", dict(self.method_options))

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> MagnifyFeatureOptions:
        """Build from ``PreprocessOptions.magnify``; unknown keys are refused by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown magnify option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


#: Values of ``MagnifyFeatureOptions.on_off_target``.
ON_OFF_TARGETS = ("apex", "amplified", "auto")


def on_off_target_of(target: str, corpus: str | None) -> str:
    """The frame (``"apex"`` or ``"amplified"``) a sample's On-A/Off-A flow into.

    ``"auto"`` picks by the sample's corpus, as the dual-branch paper (Ruan et al. 2022, section 4.3): the
    amplified frame for SAMM (``samm``, ``samm_lv``...), the apex for every other corpus. ``"auto"`` needs the
    corpus.
    """
    if target != "auto":
        return target
    if corpus is None:
        raise ValueError("on_off_target='auto' chooses by the sample's corpus, and none was given")
    from ..magnification._onoff import on_off_target_for

    return on_off_target_for(str(corpus))


def flow_pair(apex: int, n_frames: int, substitute: bool = True) -> tuple[int, int, int]:
    """Return (first, second, code) of the clip's motion flow.

    Onset -> apex (code 0), or apex -> offset (code 1) when the onset is the apex and ``substitute``.
    """
    if apex == 0 and substitute and n_frames > 1:
        return 0, n_frames - 1, 1
    return 0, apex, 0


def _tvl1_onoff(scale_step: float) -> Any:
    from ..magnification._onoff import _flow_params

    # OpenCV's parameters with the paper code's scale step, as many levels as the crop allows: on_off_apex's
    return _flow_params("opencv", scale_step)


def feature_recipes(features: Sequence[str], options: Any) -> dict[str, str]:
    """One line per requested flow/magnification feature: which frames, which flow, which magnifier."""
    m = MagnifyFeatureOptions.from_mapping(getattr(options, "magnify", {}) or {})
    mag = f"{m.method} alpha={m.alpha} (motion x {1 + m.alpha}) {dict(m.method_options) or ''}".strip()
    sub = " (apex -> offset where onset == apex, see flow_pair)" if m.substitute_apex_offset else ""
    target = "the amplified frame for SAMM, the apex otherwise" if m.on_off_target == "auto" else m.on_off_target
    on_off_note = {
        "apex": "dual-branch paper, CASME II choice",
        "amplified": f"amplified = {mag}",
        "auto": f"dual-branch paper's choice per corpus; amplified = {mag}",
    }[m.on_off_target]
    recipes = {
        "flow": f"TV-L1 options.flow, onset -> apex{sub}, on the crop, resized to size (vectors scaled)",
        "flow_pair": "0: the motion flows use onset -> apex; 1: apex -> offset (onset == apex)",
        "flow_apex_offset": "TV-L1 options.flow, apex -> offset, on the crop, resized to size (vectors scaled)",
        "flow_onset_frames": "TV-L1 options.flow, onset -> each frame of the TIM clip (tim_frames, frame 0 = onset) "
        "except the onset itself, on the crop, resized to size",
        "amplified": f"grey apex magnified against the onset: {mag}; uint8, resized to size (area)",
        "on_a": f"|TV-L1| onset -> {target} (OpenCV parameters, scale_step {m.on_off_scale_step}), pixels at size; "
        f"{on_off_note}",
        "off_a": f"|TV-L1| offset -> {target} (OpenCV parameters, scale_step {m.on_off_scale_step}), pixels at size",
        "frames_magnified": f"TIM clip (tim_frames) with every frame magnified against its frame 0: {mag}; uint8 at "
        "size",
    }
    return {k: v for k, v in recipes.items() if k in features}


def magnify_feature_shapes(features: Sequence[str], size: tuple[int, int], tim_frames: int) -> dict[str, Any]:
    """Per-sample (shape, dtype) of the requested features of this module."""
    h, w = size
    return {k: (shape(h, w, tim_frames), dtype) for k, (shape, dtype) in _STORED.items() if k in features}


def _resize_u8(img: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    import cv2

    h, w = size
    return np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA), np.uint8)


def compute_magnify_features(
    gray: NDArray[np.uint8],
    apex: int,
    *,
    features: Sequence[str],
    size: tuple[int, int],
    options: Any,
    n_threads: int = 1,
    clip: np.ndarray | None = None,
    corpus: str | None = None,
) -> dict[str, np.ndarray]:
    """The requested :data:`MAGNIFY_FEATURES` of one aligned grey clip ``(T, h, w)`` uint8 (onset .. offset).

    ``clip``: the TIM clip of ``gray`` (``tim(gray, options.tim_frames, output="uint8")``) when the caller has it
    already; computed here when a feature needs it and none is given. ``corpus``: the sample's corpus, which
    ``on_off_target="auto"`` chooses by.
    """
    from ..flow import compute_flow, resize_flow, tvl1
    from ..magnification import magnify, magnify_pair

    wanted = set(features) & set(MAGNIFY_FEATURES)
    m = MagnifyFeatureOptions.from_mapping(getattr(options, "magnify", {}) or {})
    out: dict[str, np.ndarray] = {}
    n = len(gray)
    onset, offset = gray[0], gray[-1]
    i0, i1, code = flow_pair(apex, n, m.substitute_apex_offset)
    if "flow_pair" in wanted:
        out["flow_pair"] = np.array([code], np.uint8)
    if "flow_apex_offset" in wanted:
        f = tvl1(gray[apex], offset, params=options.flow)
        out["flow_apex_offset"] = np.moveaxis(resize_flow(f, size), -1, 0)
    if clip is None and wanted & {"flow_onset_frames", "frames_magnified"}:
        from ..descriptors import tim

        clip = tim(gray, options.tim_frames, output="uint8", n_threads=n_threads)
    if "flow_onset_frames" in wanted:
        assert clip is not None
        flows = compute_flow(clip, reference="first", params=options.flow, n_threads=n_threads)
        out["flow_onset_frames"] = np.stack([np.moveaxis(resize_flow(f, size), -1, 0) for f in flows])
    amplified = None
    if wanted & {"amplified", "on_a", "off_a"}:
        # the magnified motion frame: the (possibly substituted) motion pair's second frame moved further
        amplified = magnify_pair(gray[i0], gray[i1], m.alpha, m.method, **m.method_options)
        if "amplified" in wanted:
            out["amplified"] = _resize_u8(amplified, size)
    if wanted & {"on_a", "off_a"}:
        target = gray[apex] if on_off_target_of(m.on_off_target, corpus) == "apex" else amplified
        assert target is not None
        params = _tvl1_onoff(m.on_off_scale_step)
        for name, src in (("on_a", onset), ("off_a", offset)):
            if name in wanted:
                f = resize_flow(tvl1(src, target, params=params), size)
                out[name] = np.hypot(f[..., 0], f[..., 1])
    if "frames_magnified" in wanted:
        assert clip is not None
        mag = magnify(clip, m.alpha, m.method, **m.method_options)
        out["frames_magnified"] = np.stack([_resize_u8(f, size) for f in mag])
    shapes = magnify_feature_shapes(list(out), size, options.tim_frames)
    return {k: np.ascontiguousarray(v, dtype=shapes[k][1]) for k, v in out.items()}
