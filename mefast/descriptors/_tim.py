"""TIM, the temporal interpolation model (Zhou, Zhao & Pietikäinen, CVPR 2011), by its exact closed form.

The graph-embedding model (centre the frames, SVD, embed them on the path graph's Laplacian eigenvectors, walk
the curve, map back) reduces, whenever it is defined, to a fixed linear combination of the input frames that is
the same for every pixel: DCT-II interpolation at fractional frame positions (shared spec section 3.2). mefast
computes that combination in the C++ core (an n x n_frames weight matrix, then one product accumulated in
double), so no SVD is needed and every clip has an answer.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .._backend import resolve_device
from .._validation import check_int, check_video, core_threads

__all__ = ["tim", "tim_weights"]


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


def tim(
    video: ArrayLike,
    n_frames: int,
    *,
    output: Literal["float", "uint8"] = "float",
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32] | NDArray[np.uint8]:
    """Resample a clip to ``n_frames`` frames with the temporal interpolation model (TIM).

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        The clip, any real dtype (uint8, float32 and float64 are read as they are, other dtypes are converted
        to float64). Colour channels are interpolated with the same weights, as the model does when it
        flattens all channels into one vector per frame.
    n_frames : int
        Output frames, >= 1.
    output : {"float", "uint8"}
        ``"float"``: float32 values, which may overshoot the input range (TIM is not linear interpolation: its
        weights are negative in places). ``"uint8"``: rounded half away from zero and saturated to [0, 255], as
        MATLAB's ``uint8()`` does in the reference code.
    n_threads : int, optional
        Threads over the pixels, all cores if None. The kernel runs without the GIL.
    device : {"cpu", "cuda", "auto"}
        Where to compute.

    Returns
    -------
    frames : ndarray of shape (n_frames, H, W) or (n_frames, H, W, 3), float32 or uint8

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
    arr = check_video(video, "video")
    nf = check_int(n_frames, "n_frames", minimum=1)
    if output not in ("float", "uint8"):
        raise ValueError(f"output must be 'float' or 'uint8', got {output!r}")
    if arr.dtype not in (np.uint8, np.float32, np.float64):
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr)
    threads = core_threads(n_threads)
    if resolve_device(device) == "cuda":
        from .._backend import _cuda_module

        # CUDA contract: _cuda.tim(frames: C-contiguous (T, ...) uint8/float32/float64, n_out: int,
        # output: "float" | "uint8") -> (n_out, ...) float32 | uint8, the same numbers as _core.tim.
        return _cuda_module().tim(arr, nf, output)  # type: ignore[union-attr,no-any-return]
    return _core.tim(arr, nf, output, threads)
