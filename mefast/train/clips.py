"""Video inputs: a batched Dataset over the stored TIM frames for the video networks.

:class:`ClipDataset` has :class:`~mefast.train.data.FlowDataset`'s interface (indexed by lists of positions,
optional targets and positions) so the trainer and :func:`~mefast.train.data.make_loader` treat both alike.
A clip ``(T, H, W)`` uint8 becomes ``(3, frames, size, size)`` float32: trilinear resampling in time and
space (so clips shorter than ``frames`` are interpolated, as in the data-leakage paper), scaled to [0, 1],
randomly mirrored left-right when training, replicated to three channels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray

from .data import RowDataset, Source
from .registry import ModelInput

__all__ = ["ClipDataset", "clip_batch"]


def clip_batch(source: Source, rows: ArrayLike, spec: ModelInput, *, flip: torch.Tensor | None = None) -> torch.Tensor:
    """``(n, 3, frames, size, size)`` float32 clips of ``rows``; ``flip`` mirrors the samples it marks."""
    rows = np.asarray(rows, dtype=np.int64)
    name = spec.arrays[0]
    if name not in source.features:
        raise ValueError(f"the input {name!r} is not in the store, which has {list(source.features)}")
    a = source.read(name, rows)
    if a.ndim != 4:
        raise ValueError(f"input {name!r} has per-sample shape {a.shape[1:]}; expected (T, H, W)")
    x = torch.from_numpy(np.ascontiguousarray(a)).to(torch.float32)
    if not torch.isfinite(x).all():
        bad = rows[~torch.isfinite(x).reshape(len(rows), -1).all(dim=1).numpy()][:5].tolist()
        raise ValueError(f"samples at store rows {bad} have non-finite frames (not preprocessed?)")
    if np.issubdtype(a.dtype, np.integer):
        x = x / 255.0
    x = F.interpolate(
        x[:, None], size=(int(spec.frames or 1), spec.size, spec.size), mode="trilinear", align_corners=False
    )
    if flip is not None and flip.any():
        x[flip] = x[flip].flip(-1)
    return x.expand(-1, spec.channels, -1, -1, -1).contiguous()


class ClipDataset(RowDataset):
    """Batched clips (and targets) for a set of store rows; see the module docstring.

    Parameters
    ----------
    source : Source
    rows : array_like of int
        Store rows.
    spec : ModelInput
        A video input (``spec.video``).
    targets : array_like, optional
        Class codes or AU matrix aligned with ``rows`` (None for test rows).
    train : bool
        Random left-right mirroring (when ``flip``).
    flip : bool
    with_positions : bool
        Also return the batch positions (int64 tensor), last.
    """

    def __init__(
        self,
        source: Source,
        rows: ArrayLike,
        spec: ModelInput,
        *,
        targets: ArrayLike | None = None,
        train: bool = False,
        flip: bool = True,
        with_positions: bool = False,
    ) -> None:
        if not spec.video:
            raise ValueError(f"ClipDataset needs a video input, got arrays {spec.arrays}")
        super().__init__(rows, targets, with_positions)
        self.source, self.spec = source, spec
        self.augment = train and flip

    def _inputs(self, pos: NDArray[np.int64]) -> torch.Tensor:
        flip = torch.rand(len(pos)) < 0.5 if self.augment else None
        return clip_batch(self.source, self.rows[pos], self.spec, flip=flip)
