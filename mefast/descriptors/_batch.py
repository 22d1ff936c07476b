"""Batch inputs shared by the clip descriptors' ``*_batch`` twins (LBP-TOP, TIM)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["clip_items"]


def clip_items(videos: object, error: type[ValueError] = ValueError) -> Sequence[Any]:
    """The clips of ``videos``: a sequence as it is, an (N, T, H, W) / (N, T, H, W, 3) array split on axis 0.

    Parameters
    ----------
    videos : object
        A sequence of clips (not a string) or an ndarray of 4 or 5 dimensions.
    error : type of ValueError
        Raised for an ndarray of another number of dimensions.

    Returns
    -------
    items : sequence
        One entry per clip, not yet validated.

    Raises
    ------
    ValueError
        (``error``) An ndarray that is not 4- or 5-dimensional.
    TypeError
        Neither a sequence nor an ndarray.
    """
    if isinstance(videos, np.ndarray):
        if videos.ndim not in (4, 5):
            raise error(
                f"videos must be a sequence of clips or an array of shape (N, T, H, W) or (N, T, H, W, 3), "
                f"got shape {videos.shape}"
            )
        return list(videos)
    if isinstance(videos, Sequence) and not isinstance(videos, str):
        return videos
    raise TypeError(f"videos must be a sequence of clips or an ndarray, got {type(videos).__name__}")
