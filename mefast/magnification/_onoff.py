"""On-A / Off-A inputs of the dual-branch paper (Ruan et al., ACM MM 2022): an amplified frame and two flows."""

from __future__ import annotations

import dataclasses
import numbers
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError
from ._evm import _as_frame

if TYPE_CHECKING:
    from ..flow import TVL1Params

__all__ = ["OnOffApex", "flow_magnitude_image", "on_off_apex", "on_off_target_for"]


class OnOffApex(NamedTuple):
    """The three inputs: the amplified frame (grey, [0, 1]) and the On-A / Off-A flow magnitudes (pixels)."""

    amplified: NDArray[np.float32]
    on_a: NDArray[np.float32]
    off_a: NDArray[np.float32]


def _grey01(x: ArrayLike, name: str) -> NDArray[np.float32]:
    """A grey float32 frame in [0, 1], checked as the Eulerian functions check theirs (:func:`_as_frame`)."""
    arr, _ = _as_frame(x, name)
    f = arr.astype(np.float32) / (255.0 if arr.dtype == np.uint8 else 1.0)
    if f.ndim == 3:
        f = f @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.ascontiguousarray(f)


def flow_magnitude_image(flow: ArrayLike) -> NDArray[np.float32]:
    """Return the reference code's flow image in float.

    ``sqrt(u^2 + v^2)`` min-max scaled to [0, 1] (eps 1e-8), then 0 where below 1.5 x its mean.
    """
    f = np.asarray(flow, dtype=np.float32)
    mag = np.hypot(f[..., 0], f[..., 1])
    mag = (mag - mag.min()) / (mag.max() - mag.min() + 1e-8)
    mag[mag < 1.5 * mag.mean()] = 0.0
    return mag.astype(np.float32)


#: The magnifiers of :func:`on_off_apex` and the :func:`~mefast.magnification.magnify_pair` method each calls.
#: ``"lbmm"`` is the spec's name of the learned model (Oh et al. 2018), ``"learned"`` mefast's (both work).
_MAGNIFIERS = {"evm_pair": "eulerian-2frame", "lagrangian": "lagrangian", "lbmm": "learned", "learned": "learned"}


def on_off_target_for(dataset: str) -> Literal["apex", "amplified"]:
    """The frame that On-A/Off-A flow into for a corpus: the dual-branch paper's choice (Ruan et al. 2022, 4.3).

    The amplified frame for SAMM (any name starting with ``samm``, case-insensitive: ``"SAMM"``, ``"samm_lv"``,
    ``"SAMM-LV"``), the apex for every other corpus. The rule of ``on_off_target="auto"`` in
    ``mefast preprocess`` (:func:`mefast.pipeline._magnify_features.on_off_target_of`).

    Parameters
    ----------
    dataset : str
        The corpus's name.

    Returns
    -------
    {"apex", "amplified"}
        The target frame.

    Raises
    ------
    ValueError
        ``dataset`` is not a string.
    """
    if not isinstance(dataset, str):
        raise ValueError(f"dataset must be a corpus name (a str such as 'samm' or 'casme2'), got {dataset!r}")
    return "amplified" if dataset.lower().startswith("samm") else "apex"


def _flow_params(flow: object, scale_step: object) -> Any:
    """The TV-L1 parameters of :func:`on_off_apex`.

    A preset (as many levels as the frames allow) or the given parameters, with ``scale_step`` where not None.
    """
    from ..flow import TVL1_PRESETS, TVL1Params

    if scale_step is not None and (
        isinstance(scale_step, bool | np.bool_)
        or not isinstance(scale_step, numbers.Real)
        or not 0.0 < float(scale_step) < 1.0
    ):
        raise ValueError(f"scale_step must be a number in (0, 1) or None, got {scale_step!r}")
    known = ", ".join(map(repr, sorted(TVL1_PRESETS)))
    if isinstance(flow, str):
        if flow not in TVL1_PRESETS:
            raise ValueError(f"flow must be a TV-L1 preset name ({known}) or a TVL1Params, got {flow!r}")
        params = dataclasses.replace(TVL1_PRESETS[flow], adapt_scales=True)
    elif isinstance(flow, TVL1Params):
        params = flow
    else:
        raise TypeError(f"flow must be a TV-L1 preset name ({known}) or a TVL1Params, got {type(flow).__name__}")
    if scale_step is not None:
        params = dataclasses.replace(params, scale_step=float(scale_step))
    return params


def on_off_apex(
    onset: ArrayLike,
    apex: ArrayLike,
    offset: ArrayLike,
    *,
    target: Literal["auto", "apex", "amplified"] = "apex",
    amplification: float = 6.0,
    magnifier: Literal["evm_pair", "lagrangian", "lbmm", "learned"] = "evm_pair",
    flow: TVL1Params | str = "opencv",
    scale_step: float | None = 0.5,
    normalize: Literal["reference"] | None = None,
    dataset: str | None = None,
    weights: Any = None,
) -> OnOffApex:
    """Compute the dual-branch inputs: amplified frame, On-A = flow(onset -> target), Off-A = flow(offset -> target).

    The inputs of Ruan et al. (ACM MM 2022) as their code makes them: the apex magnified against the onset, and
    the TV-L1 flows from the onset and from the offset into the target frame, on BT.601 grey.

    Parameters
    ----------
    onset, apex, offset : array_like of shape (H, W) or (H, W, 3)
        One shape; uint8 (0-255) or float in [0, 1] (the Eulerian functions' checks).
    target : {"apex", "amplified", "auto"}
        The frame the flows go into: the apex (the paper's code for CASME II), the amplified frame (its choice for
        SAMM), or ``"auto"``: chosen by ``dataset`` (:func:`on_off_target_for`: the amplified frame for SAMM, the
        apex elsewhere), which ``"auto"`` needs. The default stays ``"apex"`` (the spec's is ``"auto"``): a pair
        of frames does not say which corpus it comes from, and a default that needs ``dataset`` would refuse every
        call without it.
    amplification : float
        Motion ``delta`` comes out as ``amplification * delta`` (the learned model's convention; the Eulerian and
        Lagrangian ``alpha`` is ``amplification - 1``). The paper uses 6.
    magnifier : {"evm_pair", "lagrangian", "lbmm", "learned"}
        :func:`~mefast.magnification.evm_pair` (the default: it needs no weights),
        :func:`~mefast.magnification.lagrangian`, or the learned model of Oh et al. 2018 that the paper uses:
        ``"lbmm"`` (the spec's name) and ``"learned"`` are the same and need ``weights``.
    flow : TVL1Params or str
        TV-L1 parameters or a preset name of :data:`mefast.flow.TVL1_PRESETS`. A name is the preset with as many
        pyramid levels as the frames allow; ``"opencv"`` (the default) is OpenCV ``DualTVL1``'s parameters, which
        the paper's code uses. A ``TVL1Params`` is used as given.
    scale_step : float or None
        Pyramid scale step that replaces ``flow``'s own; 0.5 (the default) is the paper code's ``scaleStep``.
        None keeps the preset's or the parameters' own.
    normalize : {None, "reference"}
        None: raw flow magnitudes in pixels. ``"reference"``: the paper code's flow images in float
        (:func:`flow_magnitude_image`).
    dataset : str, optional
        The frames' corpus (``"samm"``, ``"casme2"``...), read by ``target="auto"`` only.
    weights : optional
        The learned model's weights (a file or an ``LBMM`` module) for ``magnifier="lbmm"``/``"learned"``.

    Returns
    -------
    OnOffApex
        ``amplified`` (grey, [0, 1]), ``on_a`` and ``off_a`` (float32 pixels, or [0, 1] with ``normalize``).

    Raises
    ------
    ShapeError
        Frames of different shapes, or not frames.
    ValueError
        An unknown ``target``, ``magnifier``, ``normalize`` or ``flow`` preset name; ``target="auto"`` without
        ``dataset``; ``scale_step`` outside (0, 1); the learned model without ``weights``.
    TypeError
        ``flow`` is neither a preset name nor a ``TVL1Params``.
    """
    from ..flow import tvl1
    from . import magnify_pair

    a, b, c = _grey01(onset, "onset"), _grey01(apex, "apex"), _grey01(offset, "offset")
    if not (a.shape == b.shape == c.shape):
        raise ShapeError(f"onset, apex and offset must have one shape, got {a.shape}, {b.shape}, {c.shape}")
    if target not in ("auto", "apex", "amplified"):
        raise ValueError(f"target must be 'auto', 'apex' or 'amplified', got {target!r}")
    if target == "auto":
        if dataset is None:
            raise ValueError(
                "target='auto' chooses by the corpus: give dataset= (e.g. 'samm' for the amplified frame, 'casme2' "
                "for the apex), or target='apex' or 'amplified'"
            )
        target = on_off_target_for(dataset)
    if normalize not in (None, "reference"):
        raise ValueError(f"normalize must be None or 'reference', got {normalize!r}")
    method = _MAGNIFIERS.get(magnifier) if isinstance(magnifier, str) else None
    if method is None:
        raise ValueError(f"magnifier must be 'evm_pair', 'lagrangian', 'lbmm' or 'learned', got {magnifier!r}")
    params = _flow_params(flow, scale_step)
    opts: dict[str, Any] = {"weights": weights} if method == "learned" else {}
    amplified = np.clip(magnify_pair(a, b, float(amplification) - 1.0, method, **opts), 0.0, 1.0).astype(np.float32)
    tgt = b if target == "apex" else amplified
    on = tvl1(a, tgt, params=params)
    off = tvl1(c, tgt, params=params)
    if normalize == "reference":
        return OnOffApex(amplified, flow_magnitude_image(on), flow_magnitude_image(off))
    return OnOffApex(amplified, np.hypot(on[..., 0], on[..., 1]), np.hypot(off[..., 0], off[..., 1]))
