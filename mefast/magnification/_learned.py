"""The bridge from :func:`mefast.magnify` to the learned model in :mod:`mefast.train.magnification` (torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import ShapeError
from ._evm import _as_frame, _as_video

__all__ = ["learned_pair", "learned_pairs"]

_NEEDS = (
    "method='learned' needs weights=: a local file of the learning-based magnification network (Oh et al. 2018) "
    "- an .npz/.safetensors converted from the authors' TensorFlow checkpoint with "
    "mefast.train.magnification.convert_tf_checkpoint (needs tensorflow, once), a torch state dict of "
    "mefast.train.magnification.LBMM, or an LBMM module (e.g. from train_lbmm); nothing is downloaded"
)


def _model(weights: Any) -> Any:
    if weights is None:
        raise ValueError(_NEEDS)
    try:
        from ..train.magnification import LBMM
    except ImportError as e:
        raise ImportError(f"method='learned' needs torch: pip install 'mefast[train]' ({e})") from e
    model = weights if isinstance(weights, LBMM) else LBMM.load(Path(weights))
    return model


def learned_pairs(onset: ArrayLike, frames: ArrayLike, *, alpha: float, weights: Any = None, device: str = "cpu",
                  batch: int = 4) -> np.ndarray:  # fmt: skip
    """Magnify every frame of ``frames`` (N, H, W[, 3]) against ``onset`` with amplification ``1 + alpha``."""
    on, _ = _as_frame(onset, "onset")  # the Eulerian functions' checks: dtype, shape, [0, 1] scale
    fr, fr_dtype = _as_video(frames, "frames")
    grey = on.ndim == 2
    if fr.shape[1:] != on.shape:
        raise ShapeError(f"frames of shape {fr.shape[1:]} do not match the onset's {on.shape}")
    model = _model(weights)
    from ..train.magnification import magnify_pairs

    on3 = on.astype(np.float32) / (255.0 if on.dtype == np.uint8 else 1.0)
    fr3 = fr.astype(np.float32) / (255.0 if fr.dtype == np.uint8 else 1.0)
    if grey:
        on3, fr3 = np.repeat(on3[..., None], 3, -1), np.repeat(fr3[..., None], 3, -1)
    elif on.ndim != 3 or on.shape[-1] != 3:
        raise ShapeError(f"frames must be (H, W) grey or (H, W, 3) RGB, got onset shape {on.shape}")
    out = magnify_pairs(model, on3, fr3, 1.0 + float(alpha), device=device, batch=batch)
    if grey:  # BT.601 luma of the RGB output
        out = out @ np.array([0.299, 0.587, 0.114], np.float32)
    if fr_dtype == np.uint8:
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
    return out.astype(fr_dtype)


def learned_pair(
    onset: ArrayLike, apex: ArrayLike, *, alpha: float, weights: Any = None, device: str = "cpu"
) -> np.ndarray:
    """Magnify one (onset, apex) pair with amplification ``1 + alpha``; apex's shape and dtype."""
    return learned_pairs(onset, np.asarray(apex)[None], alpha=alpha, weights=weights, device=device)[0]
