"""On-A / Off-A inputs of the dual-branch paper (Ruan et al., ACM MM 2022): an amplified frame and two flows."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError
from ._evm import _as_frame

__all__ = ["OnOffApex", "on_off_apex", "flow_magnitude_image"]


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


def on_off_apex(
    onset: ArrayLike,
    apex: ArrayLike,
    offset: ArrayLike,
    *,
    target: Literal["apex", "amplified"] = "apex",
    amplification: float = 6.0,
    magnifier: Literal["evm_pair", "lagrangian", "learned"] = "evm_pair",
    scale_step: float = 0.5,
    normalize: Literal["reference"] | None = None,
    weights: Any = None,
) -> OnOffApex:
    """Compute the dual-branch inputs: amplified frame, On-A = flow(onset -> target), Off-A = flow(offset -> target).

    ``target="apex"`` is what the paper's code does for CASME II, ``"amplified"`` for SAMM. Flows: TV-L1 with
    OpenCV's parameters and ``scale_step`` 0.5 (the reference code), on BT.601 grey. ``amplification`` multiplies
    the motion (the learned model's convention; the Eulerian/Lagrangian ``alpha`` is ``amplification - 1``).
    ``magnifier="learned"`` needs ``weights`` (the paper uses the learned model; ``evm_pair`` needs none).
    ``normalize="reference"``: flow images as :func:`flow_magnitude_image`; otherwise raw magnitudes in pixels.
    """
    from ..flow import TVL1_PRESETS, tvl1
    from . import magnify_pair

    a, b, c = _grey01(onset, "onset"), _grey01(apex, "apex"), _grey01(offset, "offset")
    if not (a.shape == b.shape == c.shape):
        raise ShapeError(f"onset, apex and offset must have one shape, got {a.shape}, {b.shape}, {c.shape}")
    if target not in ("apex", "amplified"):
        raise ValueError(f"target must be 'apex' or 'amplified', got {target!r}")
    if normalize not in (None, "reference"):
        raise ValueError(f"normalize must be None or 'reference', got {normalize!r}")
    opts: dict[str, Any] = {"weights": weights} if magnifier == "learned" else {}
    method = {"evm_pair": "eulerian-2frame", "lagrangian": "lagrangian", "learned": "learned"}.get(magnifier)
    if method is None:
        raise ValueError(f"magnifier must be 'evm_pair', 'lagrangian' or 'learned', got {magnifier!r}")
    amplified = np.clip(magnify_pair(a, b, float(amplification) - 1.0, method, **opts), 0.0, 1.0).astype(np.float32)
    params = dataclasses.replace(TVL1_PRESETS["opencv"], scale_step=scale_step, adapt_scales=True)
    tgt = b if target == "apex" else amplified
    on = tvl1(a, tgt, params=params)
    off = tvl1(c, tgt, params=params)
    if normalize == "reference":
        return OnOffApex(amplified, flow_magnitude_image(on), flow_magnitude_image(off))
    return OnOffApex(amplified, np.hypot(on[..., 0], on[..., 1]), np.hypot(off[..., 0], off[..., 1]))
