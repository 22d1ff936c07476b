"""TIM, the temporal interpolation model (Zhou, Zhao & Pietikäinen, CVPR 2011), by its exact closed form.

The graph-embedding model (centre the frames, SVD, embed them on the path graph's Laplacian eigenvectors, walk
the curve, map back) reduces, whenever it is defined, to a fixed linear combination of the input frames that is
the same for every pixel: DCT-II interpolation at fractional frame positions (shared spec section 3.2). mefast
computes that combination in the C++ core (an n x n_frames weight matrix, then one product accumulated in
double), so no SVD is needed and every clip has an answer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .._backend import kernels
from .._docs import fill_doc
from .._twins import options_of
from .._validation import check_float32_range, check_int, check_video, core_threads
from ..errors import ShapeError
from ._batch import clip_items

__all__ = ["tim", "tim_batch", "tim_weights"]


def tim_weights(n: int, n_frames: int) -> NDArray[np.float64]:
    r"""The TIM weight matrix: output frame ``j`` is ``sum_i K[i, j] * video[i]``.

    .. math:: K_i(s) = \frac1n + \frac2n \sum_{k=1}^{n-1} \cos\frac{\pi k (i + \frac12)}{n}
              \cos\frac{\pi k (s + \frac12)}{n},\qquad s_j = j\,\frac{n-1}{n_{frames}-1}

    with 0-based frame indices; ``n_frames = 1`` puts its one frame at ``s = 0``. Columns whose position falls
    exactly on an input frame are that frame's unit vector.

    Parameters
    ----------
    n : int
        Input frames, >= 1.
    n_frames : int
        Output frames, >= 1.

    Returns
    -------
    K : ndarray of shape (n, n_frames), float64

    Examples
    --------
    >>> import mefast
    >>> mefast.tim_weights(2, 3)
    array([[1. , 0.5, 0. ],
           [0. , 0.5, 1. ]])
    """
    nn = check_int(n, "n", minimum=1)
    nf = check_int(n_frames, "n_frames", minimum=1)
    return _core.tim_weights(nn, nf)


@fill_doc
def tim(
    video: ArrayLike,
    n_frames: int,
    *,
    output: Literal["float", "uint8"] = "float",
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32] | NDArray[np.uint8]:
    """Resample a clip to ``n_frames`` frames with the temporal interpolation model (TIM).

    One clip; its batch twin is :func:`tim_batch`.

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        The clip, any real dtype (uint8, float32 and float64 are read as they are, other dtypes are converted
        to float64), finite and within float32's range (+-3.4e38). Colour channels are interpolated with the
        same weights, as the model does when it flattens all channels into one vector per frame.
    n_frames : int
        Output frames, >= 1.
    output : {"float", "uint8"}
        ``"float"``: float32 values, which may overshoot the input range (TIM is not linear interpolation: its
        weights are negative in places). ``"uint8"``: rounded half away from zero and saturated to [0, 255], as
        MATLAB's ``uint8()`` does in the reference code.
    n_threads : int, optional
        Threads over the pixels, all cores if None. The kernel runs without the GIL.
    {{device_core}}

    Returns
    -------
    frames : ndarray of shape (n_frames, H, W) or (n_frames, H, W, 3), float32 or uint8

    Raises
    ------
    ShapeError
        ``video`` is not one clip, holds NaN or infinity or values beyond float32's range; or, with
        ``output="float"``, an interpolated value overshoots float32's range (a clip within a few times of
        3.4e38: scale it down, TIM commutes with scaling).
    ValueError
        An invalid ``n_frames``, ``output``, ``n_threads`` or ``device``.

    Notes
    -----
    Output frame ``j`` sits at position ``s_j = j (T-1) / (n_frames-1)`` on the input's frame axis
    (``linspace(1/T, 1, n_frames)`` on the model's curve), see :func:`tim_weights`. Properties, exact up to
    float rounding: the first and last output frames are the first and last input frames (bit for bit), so is
    every frame when ``n_frames == T``; a constant clip stays constant; ``tim(a*X + b) == a*tim(X) + b``;
    reversing time commutes with TIM; pixels are independent.

    Edge cases (spec section 3.4), all defined here where the SVD-based references fail or return nonsense:

    * Rank-deficient clips (repeated frames, a constant clip, fewer pixels than frames, first frame equal to
      the last): the closed form still applies and keeps the properties above. The SVD-based code in
      circulation returns wrong frames for a clip whose first frame equals its last (MEB: off by up to 126
      grey levels even for ``n_frames == T``), crashes when there are fewer pixels than frames, and its rank
      check never fires.
    * ``n_frames == 1``: the first frame (MEB returns NaN).
    * ``T == 1``: ``n_frames`` copies of the frame.

    Examples
    --------
    >>> import numpy as np, mefast
    >>> clip = np.stack([np.full((2, 2), v, np.uint8) for v in (10, 20, 40)])
    >>> mefast.tim(clip, 5)[:, 0, 0].round(3)
    array([10.   , 13.006, 20.   , 30.327, 40.   ], dtype=float32)
    """
    params = _params(n_frames, output)
    arr = _frames(video, "video")
    out: NDArray[np.float32] | NDArray[np.uint8] = kernels(device).tim(arr, params, core_threads(n_threads))
    _check_overshoot(out, arr, "video")
    return out


@options_of(tim)
def tim_batch(
    videos: Sequence[ArrayLike] | ArrayLike, n_frames: int, *, output: str, n_threads: int | None, device: str
) -> NDArray[np.float32] | NDArray[np.uint8]:
    """TIM of many clips to the same number of frames: the batch twin of :func:`tim`.

    Parameters
    ----------
    videos : sequence of array_like, or array_like of shape (N, T, H, W) or (N, T, H, W, 3)
        The clips; in a sequence they may differ in length, but not in frame shape.
    n_frames, output, n_threads, device
        As for :func:`tim`.

    Returns
    -------
    frames : ndarray of shape (N, n_frames, H, W) or (N, n_frames, H, W, 3), float32 or uint8
        ``frames[i]`` equals ``tim(videos[i], n_frames, ...)``.

    Examples
    --------
    >>> import numpy as np, mefast
    >>> clips = [np.zeros((t, 4, 4), np.uint8) for t in (3, 8)]
    >>> mefast.tim_batch(clips, 5).shape
    (2, 5, 4, 4)
    """
    params = _params(n_frames, output)
    clips = [_frames(v, f"videos[{i}]") for i, v in enumerate(clip_items(videos, ShapeError))]
    shapes = {c.shape[1:] for c in clips}
    if len(shapes) > 1:
        raise ShapeError(f"videos must share their frame shape, got {sorted(shapes)}")
    dtype = np.uint8 if params.output == "uint8" else np.float32
    frame_shape = shapes.pop() if shapes else (0, 0)
    out = np.empty((len(clips), params.n_frames, *frame_shape), dtype)
    run = kernels(device)
    threads = core_threads(n_threads)
    for i, clip in enumerate(clips):
        out[i] = run.tim(clip, params, threads)
        _check_overshoot(out[i], clip, f"videos[{i}]")
    return out


def _params(n_frames: object, output: object) -> _core.TIMParams:
    """The C++ core's parameter struct: ``n_frames`` converted here, the rules checked by its ``validate``."""
    nf = check_int(n_frames, "n_frames", minimum=1, maximum=_core.TIM_MAX_FRAMES)
    if not isinstance(output, str):
        return _core.TIMParams(n_frames=nf, output=output)  # raises: the core's setter names the value
    return _struct(nf, output)


@functools.lru_cache(maxsize=32)
def _struct(n_frames: int, output: str) -> _core.TIMParams:
    # Built and validated once per setting (never modified afterwards): a clip-sized call pays no rebuild.
    params = _core.TIMParams()
    params.n_frames = n_frames
    params.output = output
    params.validate()
    return params


def _frames(video: ArrayLike, name: str) -> np.ndarray:
    """A validated clip as one of the kernels' dtypes (uint8, float32, float64), C-contiguous.

    Values beyond float32's range are refused here: the output is float32 (or uint8 grey levels).
    """
    arr = check_video(video, name)
    check_float32_range(arr, name)
    if arr.dtype not in (np.uint8, np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def _check_overshoot(out: np.ndarray, clip: np.ndarray, name: str) -> None:
    """Raise when float32 frames interpolated from a float clip overflowed.

    TIM's weights overshoot the input range (by up to about a third), so a clip near float32's largest value
    can interpolate to infinity. A uint8 clip cannot, nor can uint8 output (saturated).
    """
    if out.dtype != np.float32 or clip.dtype == np.uint8 or np.isfinite(out).all():
        return
    big = max(float(clip.max()), -float(clip.min()))
    raise ShapeError(
        f"{name}: the interpolated frames overshoot the float32 range (the clip's values reach {big:g}, TIM's "
        "weights go beyond the input range); scale the clip down (TIM commutes with scaling) or use output='uint8'"
    )
