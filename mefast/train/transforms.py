"""Load-time transforms of flow inputs, on torch tensors of shape ``(C, H, W)`` or ``(B, C, H, W)``.

Channels follow the store: ``u`` (horizontal, +x right), ``v`` (vertical, +y down), then channels that
are not vectors (strain). The geometry-changing transforms respect the vector meaning of u and v:
resizing scales u by W'/W and v by H'/H (strain, a ratio of lengths, is unchanged), and a horizontal
flip negates u. Apply them to physical values, before :class:`MinMaxNormalize`, which maps each channel
of each sample to [0, 1] (a constant channel to 0). Everything fitted on data belongs to the training
fold; these transforms fit nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

__all__ = ["Compose", "MinMaxNormalize", "RandomHorizontalFlip", "Resize", "input_transforms"]

Transform = Callable[[torch.Tensor], torch.Tensor]
Channels = int | Sequence[int] | None


def _channels(c: Channels) -> tuple[int, ...]:
    return () if c is None else (int(c),) if isinstance(c, int) else tuple(int(i) for i in c)


def _check_channels(channels: tuple[int, ...], n: int, what: str, name: str) -> None:
    bad = [c for c in channels if not 0 <= c < n]
    if bad:
        raise ValueError(f"{name}: {what} channel(s) {bad} do not exist in a {n}-channel input")


def _batched(x: torch.Tensor, name: str) -> tuple[torch.Tensor, bool]:
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim == 4:
        return x, False
    raise ValueError(f"{name} expects a (C, H, W) or (B, C, H, W) tensor, got shape {tuple(x.shape)}")


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Apply every transform to ``x``."""
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class MinMaxNormalize:
    """Per sample, per channel min-max normalisation to [0, 1]; a constant channel becomes 0."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised copy of ``x``."""
        b, single = _batched(x, "MinMaxNormalize")
        flat = b.flatten(2)
        lo = flat.amin(dim=2, keepdim=True)
        span = flat.amax(dim=2, keepdim=True) - lo
        out = torch.where(span > 0, (flat - lo) / torch.where(span > 0, span, 1), 0).view_as(b)
        return out[0] if single else out

    def __repr__(self) -> str:
        return "MinMaxNormalize()"


class Resize:
    """Resize to ``(H', W')``, scaling the flow vectors with the image.

    Area averaging when shrinking and bilinear interpolation when enlarging, like
    :func:`mefast.resize_flow`.

    Parameters
    ----------
    size : int or (int, int)
        Output height and width.
    u_channel, v_channel : int, sequence of int or None
        Channels holding u and v (several: one per flow of the input; None: no such channel).
    """

    def __init__(self, size: int | tuple[int, int], *, u_channel: Channels = 0, v_channel: Channels = 1):
        self.size = (size, size) if isinstance(size, int) else tuple(int(s) for s in size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"size must be a positive int or two positive ints, got {size!r}")
        self.u_channel, self.v_channel = _channels(u_channel), _channels(v_channel)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Resized ``x`` with scaled flow vectors."""
        b, single = _batched(x, "Resize")
        _check_channels(self.u_channel + self.v_channel, b.shape[1], "u/v", "Resize")
        h, w = b.shape[-2:]
        nh, nw = self.size
        if (nh, nw) != (h, w):
            mode = "area" if nh * nw < h * w else "bilinear"
            kw = {"align_corners": False} if mode == "bilinear" else {}
            b = F.interpolate(b, size=(nh, nw), mode=mode, **kw)
            scale = torch.ones(b.shape[1], dtype=b.dtype, device=b.device)
            for c in self.u_channel:
                scale[c] = nw / w
            for c in self.v_channel:
                scale[c] = nh / h
            b = b * scale.view(1, -1, 1, 1)
        return b[0] if single else b

    def __repr__(self) -> str:
        return f"Resize({self.size})"


class RandomHorizontalFlip:
    """Mirror each sample left-right with probability ``p``, negating its u channel.

    Parameters
    ----------
    p : float
        Probability of flipping each sample.
    u_channel : int, sequence of int or None
        Channel(s) holding u.
    generator : torch.Generator, optional
        Source of randomness (default: torch's global generator, seeded per DataLoader worker).
    """

    def __init__(self, p: float = 0.5, *, u_channel: Channels = 0, generator: torch.Generator | None = None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p, self.u_channel, self.generator = p, _channels(u_channel), generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with a random subset of its samples mirrored."""
        b, single = _batched(x, "RandomHorizontalFlip")
        _check_channels(self.u_channel, b.shape[1], "u", "RandomHorizontalFlip")
        flip = torch.rand(b.shape[0], generator=self.generator) < self.p
        if flip.any():
            b = b.clone()
            mirrored = b[flip].flip(-1)
            for c in self.u_channel:
                mirrored[:, c] = -mirrored[:, c]
            b[flip] = mirrored
        return b[0] if single else b

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def input_transforms(
    size: int | tuple[int, int],
    *,
    train: bool,
    flip: bool = True,
    u_channel: Channels = 0,
    v_channel: Channels = 1,
) -> Compose:
    """The standard chain: (random flip when training) -> resize -> per-sample min-max.

    ``u_channel``, ``v_channel``: where the input's flow vectors are (default: a flow first, as ``("flow",
    "strain")``); :func:`mefast.train.data.flow_channels` finds them for any list of stored inputs.
    """
    steps: list[Transform] = [RandomHorizontalFlip(u_channel=u_channel)] if train and flip else []
    return Compose([*steps, Resize(size, u_channel=u_channel, v_channel=v_channel), MinMaxNormalize()])
