"""Motion magnification: Eulerian (C++ core), two-frame Eulerian, Lagrangian and learning-based.

:func:`magnify` is the one entry point (``mefast.magnify``); the methods are also callable directly.

Conventions (the shared spec): ``alpha`` of the Eulerian and Lagrangian methods turns a motion ``delta`` into
``(1 + alpha) delta``; the learned model's ``amplification`` is ``1 + alpha`` (motion ``amplification * delta``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import ShapeError
from ._evm import EVM_PRESETS, evm, evm_level_alphas, evm_pair, laplacian_pyramid, reconstruct_pyramid
from ._lagrangian import lagrangian
from ._onoff import on_off_apex

__all__ = [
    "EVM_PRESETS",
    "METHODS",
    "evm",
    "evm_level_alphas",
    "evm_pair",
    "lagrangian",
    "laplacian_pyramid",
    "magnify",
    "magnify_pair",
    "on_off_apex",
    "reconstruct_pyramid",
]

#: The methods of :func:`magnify`.
METHODS = ("eulerian", "eulerian-2frame", "lagrangian", "learned")


def magnify_pair(onset: ArrayLike, apex: ArrayLike, alpha: float, method: str = "eulerian-2frame",
                 **options: Any) -> np.ndarray:  # fmt: skip
    """Magnify the motion onset -> apex of one pair by ``alpha`` (``(1 + alpha) delta``); apex's shape and dtype.

    ``method``: ``"eulerian-2frame"`` (:func:`evm_pair`), ``"lagrangian"`` (:func:`lagrangian`) or ``"learned"``
    (:class:`mefast.train.magnification.LBMM`, ``weights=`` required; ``amplification = 1 + alpha``).
    """
    if method in ("eulerian-2frame", "eulerian"):
        return evm_pair(onset, apex, alpha=alpha, **options)
    if method == "lagrangian":
        return lagrangian(onset, apex, alpha=alpha, **options)
    if method == "learned":
        from ._learned import learned_pair

        return learned_pair(onset, apex, alpha=alpha, **options)
    raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")


def magnify(
    video: ArrayLike,
    alpha: float,
    method: str = "eulerian",
    *,
    fs: float | None = None,
    preset: str | None = None,
    device: str = "cpu",
    **options: Any,
) -> np.ndarray:
    """Magnify the motion in a video by ``alpha``; the result has the input's shape and dtype.

    One exception: ``eulerian`` with ``compat="reference"`` and ``temporal="butter"`` (or ``"ideal"`` with
    ``pyramid="gaussian"``) returns the first T - 10 frames, as the reference code's scripts write them
    (:func:`evm`'s ``compat``).

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        uint8 (0-255) or float in [0, 1]. The two-frame methods read frame 0 as the onset and magnify every
        later frame against it (a two-frame ``[onset, apex]`` gives ``[onset, amplified apex]``).
    alpha : float
        Output motion ``(1 + alpha) delta`` (0 returns the input).
    method : {"eulerian", "eulerian-2frame", "lagrangian", "learned"}
        ``eulerian``: :func:`evm` (Wu et al. 2012) with its temporal filter over the clip;
        ``eulerian-2frame``: :func:`evm_pair` per frame; ``lagrangian``: :func:`lagrangian` (TV-L1 flow, warp);
        ``learned``: Oh et al. 2018 (torch; ``weights=`` a file or an ``LBMM`` module).
    fs : float, optional
        Frame rate of ``video`` (``eulerian`` with ``butter`` or ``ideal``, whose bands are in Hz): default the
        preset's (the frame rate of the video it was made for), else 30.
    preset : str, optional
        ``eulerian`` only: a name in :data:`EVM_PRESETS`; ``alpha``, ``fs`` and ``options`` override its
        settings.
    device : {"cpu", "cuda", "auto"}
        The Eulerian and Lagrangian methods run on the CPU (no CUDA kernel yet): ``"cuda"`` raises, ``"auto"``
        uses the CPU. ``learned`` runs on the torch device given (``"auto"``: CUDA when torch sees a GPU).
    **options
        Keyword arguments of the method's function.

    Examples
    --------
    >>> import numpy as np, mefast
    >>> clip = np.random.default_rng(0).random((6, 40, 48)).astype(np.float32)
    >>> mefast.magnify(clip, 10).shape
    (6, 40, 48)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    if device == "cuda" and method != "learned":
        from ..errors import CudaUnavailableError

        raise CudaUnavailableError(f"method={method!r} has no CUDA path yet; use device='cpu' or 'auto'")
    arr = np.asarray(video)
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        raise ShapeError(f"video must have shape (T, H, W) or (T, H, W, 3), got shape {arr.shape}")
    if method == "eulerian":
        opts: dict[str, Any] = {}
        if preset is not None:
            if preset not in EVM_PRESETS:
                raise ValueError(f"unknown EVM preset {preset!r}; known: {', '.join(sorted(EVM_PRESETS))}")
            opts.update(EVM_PRESETS[preset])
        if fs is not None:  # the video's own frame rate: the preset's band is in Hz
            opts["fs"] = fs
        opts.setdefault("fs", 30.0)
        opts.update(options)
        opts["alpha"] = alpha
        fs_ = opts.pop("fs")
        return evm(arr, fs_, **opts)
    if preset is not None:
        raise ValueError(f"preset applies to method='eulerian' only, got method={method!r}")
    if arr.shape[0] < 2:
        raise ShapeError(f"method={method!r} needs at least two frames (onset, apex), got shape {arr.shape}")
    out = np.empty_like(arr)
    out[0] = arr[0]
    if method == "learned":
        from ._learned import learned_pairs

        out[1:] = learned_pairs(arr[0], arr[1:], alpha=alpha, device=device, **options)
        return out
    for t in range(1, arr.shape[0]):
        out[t] = magnify_pair(arr[0], arr[t], alpha, method, **options)
    return out
