"""Inputs and training transforms of the dual-branch method.

Inputs (:func:`load_inputs`): the amplified apex, On-A and Off-A of the magnification features when the
store has them (``mode="onoff"``: amplified / 255; every channel resized, then each flow magnitude min-max
scaled and zeroed below 1.5 x its mean, then ImageNet standardisation, as the authors' code does), else
onset -> apex flow and strain (``mode="flowstrain"``: u and v divided by the sample's largest flow magnitude,
strain by its maximum; channel 0 is signed horizontal flow). Every channel is resized to the model's square input.

Training transforms, in order: Region Replacing (:class:`RegionReplacer`: the mouth half of a sample replaced
by that of another training sample of the same class), horizontal flip (every channel mirrored, signed u
channels negated) and random erasing (pixels <- N(0, 1)) on the unstandardised inputs; :func:`standardize`
comes last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray

from ..data import Source, stack_inputs

__all__ = [
    "EYE_AUS",
    "MOUTH_AUS",
    "ONOFF",
    "RegionReplacer",
    "flip",
    "input_mode",
    "load_inputs",
    "magnitude_normalize",
    "random_erasing",
    "signed_u_channels",
    "standardize",
]

#: Store features of the magnification worker read in ``onoff`` mode.
ONOFF: tuple[str, ...] = ("amplified", "on_a", "off_a")
#: AUs of the upper face and of the lower face (authors' code), for ``au_mix="regional"``.
EYE_AUS = frozenset([*range(1, 10), 41, 42, 43, 44, 61, 62, 63, 64])
MOUTH_AUS = frozenset([*range(10, 29), 38])
_MEAN = torch.tensor([0.485, 0.456, 0.406])
_STD = torch.tensor([0.229, 0.224, 0.225])


def input_mode(features: Sequence[str]) -> Literal["onoff", "flowstrain"]:
    """``onoff`` when the store has the amplified frame, On-A and Off-A, else ``flowstrain`` (needs ``flow``)."""
    if set(ONOFF) <= set(features):
        return "onoff"
    if "flow" in features:
        return "flowstrain"
    raise ValueError(
        f"the dual-branch model reads {', '.join(ONOFF)} (mefast preprocess --features ...) or flow (+ strain); "
        f"the store has {list(features)}"
    )


def signed_u_channels(mode: str) -> tuple[int, ...]:
    """Channels holding signed horizontal flow (negated on a horizontal flip)."""
    return (0,) if mode == "flowstrain" else ()


def magnitude_normalize(m: torch.Tensor, threshold: float = 1.5) -> torch.Tensor:
    """Per image ``(B, H, W)``: min-max to [0, 1] (a constant image -> 0), then 0 where below ``threshold`` x mean."""
    flat = m.reshape(len(m), -1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    span = hi - lo
    x = torch.where(span > 0, (flat - lo) / span.clamp_min(1e-12), torch.zeros_like(flat))
    x = torch.where(x < threshold * x.mean(1, keepdim=True), torch.zeros_like(x), x)
    return x.view_as(m)


def standardize(x: torch.Tensor, mode: str) -> torch.Tensor:
    """ImageNet standardisation of ``onoff`` inputs ``(B, 3, H, W)`` (the last input step); ``flowstrain`` as is."""
    if mode != "onoff":
        return x
    return (x - _MEAN[:, None, None].to(x)) / _STD[:, None, None].to(x)


def load_inputs(
    source: Source, rows: ArrayLike, size: int, *, mode: str | None = None, standardized: bool = True
) -> torch.Tensor:
    """Network inputs ``(n, 3, size, size)`` float32 of store ``rows`` (see the module docstring).

    ``standardized=False`` stops before :func:`standardize` (``onoff`` values in [0, 1]): the trainer
    augments first (Region Replacing, flip, erasing) and standardises last, as the spec's step order says.
    """
    rows = np.asarray(rows, dtype=np.int64)
    mode = mode or input_mode(source.features)
    if mode == "onoff":
        amp = torch.from_numpy(np.asarray(source.read("amplified", rows), dtype=np.float32))
        if amp.numel() and float(amp.max()) > 1.0:
            amp = amp / 255.0
        on = torch.from_numpy(np.asarray(source.read("on_a", rows), dtype=np.float32))
        off = torch.from_numpy(np.asarray(source.read("off_a", rows), dtype=np.float32))
        x = torch.stack([amp, on, off], 1)
        if not torch.isfinite(x).all():
            raise ValueError(f"store rows {rows[:5].tolist()}...: non-finite amplified / On-A / Off-A values")
        # Resize the raw magnitudes first, then normalise them (spec 1: Resize, then MagnitudeNormalize)
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        x = torch.stack([x[:, 0], magnitude_normalize(x[:, 1]), magnitude_normalize(x[:, 2])], 1)
        return standardize(x, mode) if standardized else x
    if mode != "flowstrain":
        raise ValueError(f"mode must be 'onoff' or 'flowstrain', got {mode!r}")
    x = torch.from_numpy(stack_inputs(source, rows, ("flow", "strain")))
    mag = x[:, :2].square().sum(1).sqrt().amax((1, 2)).clamp_min(1e-6)
    x = torch.cat([x[:, :2] / mag[:, None, None, None], x[:, 2:] / x[:, 2:].amax((1, 2, 3), True).clamp_min(1e-6)], 1)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


def flip(x: torch.Tensor, signed_u: Sequence[int] = ()) -> torch.Tensor:
    """Mirror ``(B, C, H, W)`` left-right; negate the channels in ``signed_u`` (signed horizontal flow)."""
    out = x.flip(-1)
    if signed_u:
        out = out.clone()
        idx = list(signed_u)
        out[:, idx] = -out[:, idx]
    return out


def random_erasing(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    p: float = 0.5,
    scale: tuple[float, float] = (0.02, 0.3),
    ratio: tuple[float, float] = (0.3, 3.3),
    tries: int = 10,
) -> torch.Tensor:
    """Random erasing: per sample with probability ``p``, a rectangle set to N(0, 1) noise on every channel.

    The rectangle covers a fraction ``scale`` of the image with a log-uniform aspect ``ratio``; at most
    ``tries`` draws are made to fit it in the image.
    """
    out = x.clone()
    b, c, h, w = x.shape
    log_r = (float(np.log(ratio[0])), float(np.log(ratio[1])))
    for i in range(b):
        if torch.rand((), generator=generator) >= p:
            continue
        for _ in range(tries):
            area = h * w * (scale[0] + (scale[1] - scale[0]) * float(torch.rand((), generator=generator)))
            r = float(np.exp(log_r[0] + (log_r[1] - log_r[0]) * float(torch.rand((), generator=generator))))
            eh, ew = round((area * r) ** 0.5), round((area / r) ** 0.5)
            if 0 < eh < h and 0 < ew < w:
                top = int(torch.randint(0, h - eh + 1, (), generator=generator))
                left = int(torch.randint(0, w - ew + 1, (), generator=generator))
                out[i, :, top : top + eh, left : left + ew] = torch.randn((c, eh, ew), generator=generator)
                break
    return out


class RegionReplacer:
    """Region Replacing: draws, for training samples, a partner of the same class among the fit samples only.

    Parameters
    ----------
    labels : array_like of int
        Class of every fit sample (the training fold minus any validation rows), by fit position. Partners are
        positions into this array: nothing outside the fit set can ever be drawn.
    p : float
        Probability that a sample's mouth is replaced.
    seed : int
        Seed of the draws (a fresh draw at every call).
    """

    def __init__(self, labels: ArrayLike, *, p: float = 0.5, seed: int = 0) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Region Replacing probability must be in [0, 1], got {p}")
        self.labels = np.asarray(labels, dtype=np.int64)
        self.p = float(p)
        self.rng = np.random.default_rng(seed)
        self._by_class = {int(c): np.flatnonzero(self.labels == c) for c in np.unique(self.labels)}

    def partners(self, positions: ArrayLike) -> NDArray[np.int64]:
        """Partner fit position of each of ``positions`` (fit positions), or -1 where not replaced."""
        pos = np.asarray(positions, dtype=np.int64)
        out = np.full(len(pos), -1, dtype=np.int64)
        if self.p == 0.0:
            return out
        replace = self.rng.random(len(pos)) < self.p
        for k in np.flatnonzero(replace):
            pool = self._by_class[int(self.labels[pos[k]])]
            if len(pool) < 2:
                continue
            j = pool[self.rng.integers(len(pool) - 1)]
            out[k] = j if j != pos[k] else pool[-1]  # uniform over the class, itself excluded
        return out

    @staticmethod
    def compose(x: torch.Tensor, partner: torch.Tensor, replaced: torch.Tensor) -> torch.Tensor:
        """Samples of ``x`` with the mouth half (rows ``[H/2, H)``) of ``partner`` where ``replaced``."""
        out = x.clone()
        h = x.shape[2] // 2
        out[replaced, :, h:] = partner[replaced, :, h:]
        return out

    @staticmethod
    def mix_aus(
        au: NDArray, partner_au: NDArray, names: Sequence[str], rule: Literal["union", "regional"] = "union"
    ) -> NDArray[np.uint8]:
        """AU rows of composites: the union, or (sample's eye AUs) | (partner's mouth AUs) for ``regional``."""
        if rule == "union":
            return (np.asarray(au) | np.asarray(partner_au)).astype(np.uint8)
        if rule != "regional":
            raise ValueError(f"au_mix must be 'union' or 'regional', got {rule!r}")
        nums = [int("".join(ch for ch in str(n) if ch.isdigit()) or -1) for n in names]
        eye = np.array([n in EYE_AUS for n in nums])
        mouth = np.array([n in MOUTH_AUS for n in nums])
        return ((np.asarray(au) & eye) | (np.asarray(partner_au) & mouth)).astype(np.uint8)
