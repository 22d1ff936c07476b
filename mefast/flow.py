"""Optical flow (TV-L1) and optical strain: numpy in, numpy out, computed in the C++ core.

Flow convention (OpenCV's): ``flow[..., 0]`` is u (horizontal, +x right), ``flow[..., 1]`` is v (vertical, +y
down), in pixels, from the first image to the second: ``I1(x + u, y + v) ~ I0(x, y)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._backend import kernels, require_cpu
from ._docs import fill_doc
from ._validation import as_gray_float, check_bool, check_flow, core_threads
from .errors import ShapeError

__all__ = [
    "TVL1",
    "TVL1Params",
    "TVL1_PRESETS",
    "compute_flow",
    "flow_to_channels_first",
    "optical_strain",
    "resize_flow",
    "tvl1",
]


@dataclass(frozen=True)
class TVL1Params:
    """Parameters of TV-L1 optical flow, named and defaulted as OpenCV's ``DualTVL1OpticalFlow``.

    Parameters
    ----------
    tau : float
        Time step of the dual ascent (stable for tau <= 0.25).
    lambda_ : float
        Weight of the data term; larger follows the images more closely, smaller gives smoother flow.
    theta : float
        Coupling between the flow and its auxiliary variable.
    nscales : int
        Number of pyramid levels. Frames too small for this many levels (a level would fall below
        ``min_size`` pixels) raise ``ValueError``, unless ``adapt_scales``.
    warps : int
        Warps (re-linearisations of the data term) per level.
    epsilon : float
        Stopping threshold: iterations stop when the mean squared flow update falls below ``epsilon**2``.
    inner_iterations, outer_iterations : int
        At most ``outer * inner`` iterations per warp; the median filter runs before each inner block.
    scale_step : float
        Size ratio between consecutive pyramid levels, in (0, 1).
    gamma : float
        Weight of the illumination-change term (0: none).
    median_filtering : int
        Size of the median filter applied to the flow (1: off, 3 or 5).
    presmooth_sigma : float
        Gaussian smoothing of both frames before anything else (0: none). The IPOL reference uses 0.8,
        which is most of why it is about twice as accurate as OpenCV's defaults on face images.
    pyramid_smoothing : bool
        Gaussian anti-aliasing before each downsampling (sigma = 0.6 sqrt(1/scale_step^2 - 1), as IPOL).
    min_size : int
        Smallest side, in pixels, a pyramid level may have.
    adapt_scales : bool
        Use fewer than ``nscales`` levels when the frames are too small for them (what OpenCV does
        silently), instead of raising. The ``accurate`` and ``fast`` presets set it, so they work on any
        frame size; the defaults keep OpenCV's parameters and say so when they cannot be honoured.
    finest_warps : int
        Warps on the full-size level (0: ``warps``). Large motions are found on the coarse levels, which cost
        little; the full-size level, the largest cost, often needs fewer warps to refine them.
    gamma_finest_level : int
        Finest pyramid level (0: full size) on which the illumination field is estimated; on finer levels it
        is held at its upsampled value. Brightness changes between frames (exposure, gain, offset) are smooth,
        so a coarse estimate serves the full-size levels, which then cost what they cost without ``gamma``.
        The coarsest level a pair solves always estimates it: a pyramid with fewer levels (``adapt_scales``) or
        a warm-started pair (:func:`compute_flow`'s ``warm_start``, which solves level 0 only) still has the term.
    finest_inner_iterations : int
        ``inner_iterations`` on the full-size level (0: ``inner_iterations``): as ``finest_warps``, a smaller budget
        where iterations cost most, after the coarse levels have found the motion. The stopping test
        (``epsilon``) applies on every level as before.

    Raises
    ------
    ValueError
        A value the C++ core refuses; the message is its ``validate``'s (the only rule set), naming the
        field and its value.

    Notes
    -----
    The fields are those of the C++ core's struct ``tvl1::Params`` (bound as ``mefast._core.TVL1Params``),
    which the dataclass builds and validates once; a field the struct lacks fails on import.

    Differences from OpenCV, all at the borders or in rounding: warping uses Catmull-Rom bicubic
    interpolation (OpenCV's kernel, a = -0.75, in floating point rather than OpenCV's 1/32-pixel fixed
    point) with replicated borders (OpenCV: zero outside the image);
    the stopping sum is accumulated in double. See ``TVL1_PRESETS`` for tuned settings.
    """

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    nscales: int = 5
    warps: int = 5
    epsilon: float = 0.01
    inner_iterations: int = 30
    outer_iterations: int = 10
    scale_step: float = 0.8
    gamma: float = 0.0
    median_filtering: int = 5
    presmooth_sigma: float = 0.0
    pyramid_smoothing: bool = False
    min_size: int = 16
    adapt_scales: bool = False
    # Fields added later go last (TVL1_ADDED_FIELDS), so positional arguments and older pickles keep their order.
    finest_warps: int = 0
    gamma_finest_level: int = 0
    finest_inner_iterations: int = 0

    def __post_init__(self) -> None:
        # Each field sets the bound struct's attribute of the same name (an unknown name raises AttributeError,
        # a value of the wrong type ValueError); the C++ validate() then applies the rules.
        struct = _core.TVL1Params(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        struct.validate()
        object.__setattr__(self, "_struct", struct)

    @property
    def _core_params(self) -> _core.TVL1Params:
        """The validated C++ struct the kernels take, built once with this object."""
        struct: _core.TVL1Params = self.__dict__["_struct"]
        return struct

    def __reduce__(self) -> tuple[Any, ...]:
        # The bound struct is rebuilt from the fields, not pickled; by name, so that fields added later cannot
        # shift the values of a pickle.
        return (_params_from_fields, (type(self), {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}))

    @classmethod
    def preset(cls, name: str) -> TVL1Params:
        """Return a named preset (see ``TVL1_PRESETS``)."""
        try:
            return TVL1_PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown TV-L1 preset {name!r}; choose one of {sorted(TVL1_PRESETS)}") from None

    def replace(self, **changes: object) -> TVL1Params:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _params_from_fields(cls: type[TVL1Params], fields: dict[str, Any]) -> TVL1Params:
    """Unpickle a :class:`TVL1Params` (see its ``__reduce__``)."""
    return cls(**fields)


#: Named parameter sets. ``accurate``, ``fast`` and ``robust`` were chosen by ``benchmarks/flow/tune_presets.py`` on the
#: tuning seeds of the flow battery (``mefast.testing.flow_battery``); their endpoint error (mean and worst case)
#: and time, next to OpenCV's DualTVL1 and DIS, are measured on its held-out report seeds by
#: ``benchmarks/flow/test_battery.py`` (the README's preset table):
#:
#: ``opencv``    OpenCV's defaults, for reproducing published settings.
#: ``accurate``  Gaussian pre-smoothing (sigma 0.5) and an anti-aliased pyramid (step 0.5, as IPOL), a data term
#:               weighted more than OpenCV's (lambda 0.25: less of TV's flattening of smooth motion), theta 0.5,
#:               and at most 2 warps x 20 iterations per level. Within 15 ms per 340x280 pair on one core.
#: ``fast``      ``accurate`` with at most 8 iterations per warp, for many full-size pairs: below DIS-medium's
#:               error on every tuning pair at no more than its time (about 7 ms per 340x280 pair on one core).
#:               Not for large, discontinuous motion: on layered stereo pairs (``mefast.testing.stereo_battery``,
#:               2-15 px) DIS medium is more accurate, and the best TV-L1 setting the tuning search found within
#:               DIS's time still loses 4 of its 16 stereo pairs and a synthetic one; winning all costs about
#:               1.4x DIS's time (``robust``; ``benchmarks/flow/tune_presets.py``).
#: ``robust``    large, discontinuous motion (2-15 px, occlusions) and brightness changes between the frames
#:               (another camera's gain and offset, exposure, flicker): chosen on the tuning seeds and on layered
#:               stereo pairs (``mefast.testing.stereo_battery``) as the cheapest setting found below DIS-medium's
#:               error on every tuning pair of both kinds. 5 warps on each coarse level (where large motions are
#:               found, cheaply) and 3 on the full-size one (``finest_warps``), each of at most 2 x 10 iterations
#:               stopped at epsilon 0.03, lambda 0.6, no median filter, and the illumination term (gamma 1)
#:               estimated on the coarse levels and held on the full-size one (``gamma_finest_level``), the level
#:               where estimating it costs most. About ``accurate``'s time (~1.2x DIS's). On the held-out battery it is
#:               below DIS medium on every synthetic pair but, by a hair, not on the Motorcycle stereo pair (the
#:               README's preset table).
#: ``per-frame`` many small-motion pairs at working size (128x128): MDMO's onset-to-every-frame flows in
#:               ``preprocess`` and spotting's frame-to-frame flows, validated with these settings (the ``fast``
#:               preset before the battery tuning: 3 levels, 2 warps x 15 iterations, no median filter). At
#:               128x128 it takes about a fifth of the battery-tuned ``fast``'s time (0.6 vs 3.0 ms per pair),
#:               and on sub-pixel motion between neighbouring frames ``fast`` (median 5, 8 iterations) leaves
#:               blotches that the interval spotters count as motion.
_ACCURATE = TVL1Params(
    lambda_=0.25,
    theta=0.5,
    nscales=6,  # frames too small for 6 levels of at least min_size pixels get fewer (adapt_scales)
    warps=2,
    epsilon=0.01,
    inner_iterations=20,
    outer_iterations=1,
    scale_step=0.5,
    presmooth_sigma=0.5,
    pyramid_smoothing=True,
    adapt_scales=True,
)
TVL1_PRESETS: dict[str, TVL1Params] = {
    "opencv": TVL1Params(),
    "accurate": _ACCURATE,
    "fast": _ACCURATE.replace(inner_iterations=8),
    "robust": _ACCURATE.replace(
        lambda_=0.6,
        theta=0.3,
        warps=5,
        finest_warps=3,
        epsilon=0.03,
        inner_iterations=10,
        outer_iterations=2,
        gamma=1.0,
        gamma_finest_level=1,
        median_filtering=1,
    ),
    "per-frame": TVL1Params(
        presmooth_sigma=0.8,
        scale_step=0.5,
        pyramid_smoothing=True,
        median_filtering=1,
        nscales=3,
        warps=2,
        inner_iterations=15,
        outer_iterations=1,
        epsilon=0.02,
        adapt_scales=True,
    ),
}


#: Fields added to ``TVL1Params`` after stores began recording TV-L1 values (``preprocess``, spotting), each with
#: the value that does what the core did before the field existed: a record without the field was made with it.
#: A new field must default to that value, and be listed here.
TVL1_ADDED_FIELDS: dict[str, Any] = {"finest_warps": 0, "gamma_finest_level": 0, "finest_inner_iterations": 0}


def with_added_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """TV-L1 values read back from a store's record, with the fields added since it was written filled in.

    Parameters
    ----------
    values : mapping
        Recorded ``TVL1Params`` fields (a record may also hold other keys, such as the preset's name).

    Returns
    -------
    dict
        ``values`` with every field of :data:`TVL1_ADDED_FIELDS` it lacks set to its old-behaviour value.
    """
    return {**TVL1_ADDED_FIELDS, **values}


def _resolve_params(params: TVL1Params | str | None) -> TVL1Params:
    if params is None:
        return TVL1_PRESETS["opencv"]
    if isinstance(params, str):
        return TVL1Params.preset(params)
    if not isinstance(params, TVL1Params):
        raise TypeError(f"params must be a TVL1Params, a preset name or None, got {type(params).__name__}")
    return params


@fill_doc
def tvl1(
    frame0: ArrayLike,
    frame1: ArrayLike,
    *,
    params: TVL1Params | str | None = None,
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """TV-L1 optical flow from ``frame0`` to ``frame1``.

    One pair; its batch twin is :func:`compute_flow` (every frame of a clip against a reference, the pairs
    in parallel).

    Parameters
    ----------
    frame0, frame1 : array_like of shape (H, W) or (H, W, 3)
        Grey or RGB frames. Integer input is grey levels (0-255); floating input is taken to lie in [0, 1]
        (OpenCV's convention) and multiplied by 255. RGB is converted with BT.601 luma weights. Values outside
        these ranges are used as they are: adding a constant to both frames changes little, but the data term
        grows with the frames' contrast (``lambda`` is tuned for 0-255). Grey levels beyond +-1e18 (floats
        beyond +-3.9e15) raise ``ShapeError``: the float32 solver squares their gradients, which overflow (such
        frames gave all-zero flow).
    params : TVL1Params or str, optional
        Parameters or a preset name (``"opencv"``, ``"accurate"``, ``"fast"``, ``"robust"``,
        ``"per-frame"``); OpenCV's defaults if None.
    n_threads : int, optional
        Accepted for the common kernel signature; a single pair runs on one thread.
    {{device_core}}

    Returns
    -------
    flow : ndarray of shape (H, W, 2), float32
        ``(u, v)`` with ``frame1(x + u, y + v) ~ frame0(x, y)``.

    Raises
    ------
    ShapeError
        Frames of another shape or dtype, of different sizes, holding NaN or infinity, or beyond the grey
        levels above (a ``ValueError``).

    Examples
    --------
    >>> import numpy as np, mefast
    >>> rng = np.random.default_rng(0)
    >>> img = (rng.random((64, 64)) * 255).astype(np.uint8)
    >>> mefast.tvl1(img, img).shape
    (64, 64, 2)
    """
    core_threads(n_threads)
    return _pairs(_pair_stack(frame0, frame1), _FIRST, _SECOND, _resolve_params(params), 1, device)[0]


_FIRST = np.array([0], dtype=np.int32)
_SECOND = np.array([1], dtype=np.int32)


#: Largest grey level (in magnitude; floats count after their scaling by 255) that the TV-L1 functions take.
#: The float32 solver squares image gradients, which overflow near 1.8e19: frames of 1e20 x [0, 1] floats came
#: back as all-zero flow, and flows degrade from about 1e19.
_MAX_GREY = 1e18


def _check_grey_range(frames: NDArray[np.float32], name: str) -> None:
    """Raise ``ShapeError`` naming ``name`` when the float32 grey ``frames`` reach beyond +-``_MAX_GREY``."""
    if frames.size == 0:
        return
    big = max(float(frames.max()), -float(frames.min()))
    if big > _MAX_GREY:
        raise ShapeError(
            f"{name} reaches grey level {big:g} (floats are multiplied by 255): TV-L1 computes in float32 and "
            f"overflows beyond +-{_MAX_GREY:g}; pass float frames in [0, 1] or integer grey levels 0..255"
        )


def _pair_stack(frame0: ArrayLike, frame1: ArrayLike) -> NDArray[np.float32]:
    a = as_gray_float(frame0, "frame0", ndim=2)
    b = as_gray_float(frame1, "frame1", ndim=2)
    _check_grey_range(a, "frame0")
    _check_grey_range(b, "frame1")
    if a.shape != b.shape:
        raise ShapeError(f"frame0 and frame1 must have the same shape, got {a.shape} and {b.shape}")
    return np.stack([a, b])


class TVL1:
    """TV-L1 optical flow that keeps its working memory between calls, for many pairs in a row.

    ``TVL1(params)(frame0, frame1)`` equals ``tvl1(frame0, frame1, params=params)`` bit for bit, but the
    ~8 MB of buffers a 340x280 pair needs are allocated once, as OpenCV's ``DualTVL1OpticalFlow`` object does:
    on one thread that saves about 3-4 ms per pair, half the ``fast`` preset's time. CPU only; one
    call at a time per object (concurrent calls on one object wait for each other: use one object per thread).

    Parameters
    ----------
    params : TVL1Params or str, optional
        Parameters or a preset name; OpenCV's defaults if None.

    Examples
    --------
    >>> import numpy as np, mefast
    >>> flow = mefast.TVL1("fast")
    >>> img = (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)
    >>> flow(img, img).shape
    (64, 64, 2)
    """

    def __init__(self, params: TVL1Params | str | None = None) -> None:
        self.params = _resolve_params(params)
        self._engine = _core.TVL1Engine(self.params._core_params)

    def __call__(self, frame0: ArrayLike, frame1: ArrayLike) -> NDArray[np.float32]:
        """Flow from ``frame0`` to ``frame1``, as :func:`tvl1`: ndarray of shape (H, W, 2), float32."""
        return self._engine.pairs(_pair_stack(frame0, frame1), _FIRST, _SECOND)[0]

    def __repr__(self) -> str:
        return f"TVL1({self.params!r})"


def _pairs(
    frames: np.ndarray, i0: np.ndarray, i1: np.ndarray, p: TVL1Params, n_threads: int, device: str
) -> NDArray[np.float32]:
    return kernels(device).tvl1_pairs(frames, i0, i1, p._core_params, n_threads)


@fill_doc
def compute_flow(
    video: ArrayLike,
    *,
    reference: Literal["first", "previous"] = "first",
    params: TVL1Params | str | None = None,
    n_threads: int | None = None,
    device: str = "cpu",
    warm_start: bool = False,
) -> NDArray[np.float32]:
    """TV-L1 flow from a reference frame to every later frame of a clip.

    The batch twin of :func:`tvl1`: all pairs in one call, run in parallel in the C++ core without the GIL.

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        The clip, T >= 2, grey or RGB (see :func:`tvl1` for dtypes).
    reference : {"first", "previous"}
        ``"first"``: flow from frame 0 to each frame t (the input of MDMO and most ME pipelines);
        ``"previous"``: flow from frame t-1 to frame t.
    params : TVL1Params or str, optional
        Parameters or a preset name; OpenCV's defaults if None.
    n_threads : int, optional
        Threads for the pairs, all cores if None.
    {{device_core}}
    warm_start : bool
        ``reference="first"`` on the CPU only (``"auto"`` runs it on the CPU, ``"cuda"`` raises
        ``CudaUnavailableError``). The frames are taken in runs of ``WARM_START_RUN`` (8): the first flow of a
        run is computed as without warm start, every other one starts from the previous frame's flow at full
        resolution, without the pyramid (that flow already holds the motion so far), with the same warps,
        iterations and stopping rule. About a fifth less time per frame with the ``fast`` preset; on smooth face
        motion the flows stay within the bounds the OpenCV-agreement test sets between mefast and OpenCV's
        DualTVL1 (endpoint error at most 1.05x the cold flows', mean difference from them under 0.04 px;
        ``tests/flow/test_warm_start.py``). Runs are independent, so the result does not depend on
        ``n_threads``.

    Returns
    -------
    flows : ndarray of shape (T-1, H, W, 2), float32

    Raises
    ------
    ShapeError
        ``video`` is not one clip of at least 2 frames (a ``ValueError``), or holds NaN, infinity or grey levels
        beyond +-1e18 (see :func:`tvl1`).
    ValueError
        ``reference`` is neither ``"first"`` nor ``"previous"``; ``warm_start`` is not a bool, or True with
        ``reference="previous"``; an unknown preset name or ``device``.
    CudaUnavailableError
        ``device="cuda"`` without a CUDA build or a visible GPU, or with ``warm_start=True`` (CPU only).
    TypeError
        ``params`` is neither a ``TVL1Params``, a preset name nor None.

    Notes
    -----
    On the CPU, ``reference="first"`` builds frame 0's pyramid once for all pairs; without ``warm_start`` the
    flows are those of :func:`tvl1`, bit for bit.
    """
    frames = as_gray_float(video, "video", ndim=3)
    if frames.shape[0] < 2:
        raise ShapeError(f"video needs at least 2 frames to compute flow, got shape {np.shape(video)}")
    _check_grey_range(frames, "video")
    t = frames.shape[0]
    if reference not in ("first", "previous"):
        raise ValueError(f"reference must be 'first' or 'previous', got {reference!r}")
    p, threads = _resolve_params(params), core_threads(n_threads)
    warm = check_bool(warm_start, "warm_start")  # not its truthiness: warm_start='no' ran warm started
    if warm:
        if reference != "first":
            raise ValueError("warm_start needs reference='first' (flows from frame 0 to each frame)")
        require_cpu(device, "compute_flow(warm_start=True)")
    # The backends that have the reference kernel (the CPU's) build frame 0's pyramid once; the others run pairs.
    k = kernels("cpu" if warm else device)
    from_reference = getattr(k, "tvl1_from_reference", None)
    if reference == "first" and from_reference is not None:
        run = WARM_START_RUN if warm else 0
        out: NDArray[np.float32] = from_reference(frames[0], frames[1:], p._core_params, run, threads)
        return out
    i0 = np.zeros(t - 1, dtype=np.int32) if reference == "first" else np.arange(t - 1, dtype=np.int32)
    i1 = np.arange(1, t, dtype=np.int32)
    return k.tvl1_pairs(frames, i0, i1, p._core_params, threads)


#: Frames per warm-started run of :func:`compute_flow` (``warm_start=True``): each run's first flow is computed
#: from scratch, so a lost track lasts at most this many frames, and the runs can run in parallel.
WARM_START_RUN = 8


_STRAIN_SCHEMES = {"central": 0, "backward": 1, "sobel_meb": 2}


@fill_doc
def optical_strain(
    flow: ArrayLike,
    *,
    deriv: Literal["central", "backward", "sobel_meb"] = "central",
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    r"""Magnitude of the optical strain tensor of a flow field.

    .. math:: |\varepsilon| = \sqrt{u_x^2 + v_y^2 + \tfrac12 (u_y + v_x)^2}

    the Frobenius norm of :math:`\tfrac12(\nabla\mathbf u + \nabla\mathbf u^T)`: zero for translations and
    rigid rotations, :math:`|a|` for a stretch ``u = a x``.

    Parameters
    ----------
    flow : array_like of shape (..., H, W, 2)
        One flow field or a stack of them (H, W >= 2).
    deriv : {"central", "backward", "sobel_meb"}
        Derivative scheme. ``"central"``: centred differences inside and one-sided ones on the border
        (``numpy.gradient``). ``"backward"``: ``f[i] - f[i-1]`` with 0 on the first row/column (the MEAN
        code of Liong et al.). ``"sobel_meb"``: reproduces the MEB library bit for bit, bugs included
        (unnormalised Sobel with zero padding, swapped axes, wrong shear term); only for comparing with
        numbers produced by MEB.
    n_threads : int, optional
        Threads over the stack, all cores if None.
    {{device_core}}

    Returns
    -------
    strain : ndarray of shape (..., H, W), float32

    Raises
    ------
    ShapeError
        ``flow`` is not (..., H, W, 2), holds NaN, infinity or values beyond float32's range, or is so large
        that the squared derivatives overflow float32 (derivatives beyond about 1e19 pixels): the strain is
        computed in float32, and rather than infinity such a flow gets this error. The strain is linear in the
        flow, so scale such a flow down and its strain up.
    ValueError
        An invalid ``deriv``, ``n_threads`` or ``device``.
    """
    f = check_flow(flow, "flow")
    if deriv not in _STRAIN_SCHEMES:
        raise ValueError(f"deriv must be one of {sorted(_STRAIN_SCHEMES)}, got {deriv!r}")
    lead = f.shape[:-3]
    h, w = f.shape[-3], f.shape[-2]
    stack = f.reshape(-1, h, w, 2)
    out = kernels(device).optical_strain(stack, _STRAIN_SCHEMES[deriv], core_threads(n_threads))
    if out.size and not np.isfinite(out.max()):  # strain >= 0: max is inf, or NaN (propagated), on overflow
        raise ShapeError(
            f"flow is too large for the float32 optical strain: its squared derivatives overflow (largest "
            f"magnitude {float(np.abs(f).max()):g}); the strain is linear in the flow: scale it down, the strain up"
        )
    return out.reshape(*lead, h, w)


def resize_flow(flow: ArrayLike, size: tuple[int, int]) -> NDArray[np.float32]:
    """Resize a ``(..., H, W, 2)`` flow to ``size = (H', W')``, scaling u by W'/W and v by H'/H.

    Uses area interpolation when shrinking and bilinear when enlarging (OpenCV).
    """
    import cv2

    f = check_flow(flow, "flow")
    h, w = f.shape[-3], f.shape[-2]
    nh, nw = (int(s) for s in size)
    if nh < 1 or nw < 1:
        raise ValueError(f"size must be two positive integers, got {size!r}")
    interp = cv2.INTER_AREA if nh * nw < h * w else cv2.INTER_LINEAR
    stack = f.reshape(-1, h, w, 2)
    out = np.empty((stack.shape[0], nh, nw, 2), np.float32)
    for i, fl in enumerate(stack):
        out[i] = cv2.resize(fl, (nw, nh), interpolation=interp)
    out[..., 0] *= nw / w
    out[..., 1] *= nh / h
    return out.reshape(*f.shape[:-3], nh, nw, 2)


def flow_to_channels_first(flow: ArrayLike) -> NDArray[np.float32]:
    """``(..., H, W, 2)`` -> ``(..., 2, H, W)``, the store's and torch's layout."""
    f = check_flow(flow, "flow")
    return np.ascontiguousarray(np.moveaxis(f, -1, -3))
