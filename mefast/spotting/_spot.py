"""``mefast.spot``: spotted intervals of a video, from its frames or from precomputed features."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError
from ._features import FeatureOptions, default_lags, long_video_features
from ._intervals import (
    INTERVAL_METHODS,
    MEGC2020_MDMD_P,
    _check_lengths,
    _mdmd_frames,
    _need,
    megc2020_contrast,
    megc2020_mdmd,
    peaks_to_intervals,
    runs_to_intervals,
    score,
)

__all__ = ["DEFAULT_P", "SPOT_METHODS", "spot", "spot_features"]

SPOT_METHODS = (*INTERVAL_METHODS, "softnet")

#: Default threshold position p per method, with the default ``[peak - k, peak + k]`` intervals (chosen on
#: synthetic recordings of seeds 100-109, not the tests'; SOFTNet's is the paper's). Re-checked for "mdmd" with
#: the micro window k = 4 at 30 fps on those ten 450-frame recordings: micro F1 0.967 at p = 0.35, 0.951 at 0.3,
#: 0.931 at 0.4, 0.526 at 0.1. The MEGC2020 baseline's p = 0.01 belongs with its contrast and run rule
#: (``preset="megc2020"``: micro F1 0.500 there, k = 12; macro F1 0.435 with k = 39, where the default, k = 14 and
#: p = 0.35, gives 0.500: ``make_long_recording(seed)`` for the ten seeds through ``mefast.spot(..., fps=30,
#: kind=..., preset=...)`` and ``match_intervals`` at IoU 0.5, counts pooled).
DEFAULT_P: dict[str, float] = {"fd": 0.6, "mdmd": 0.35, "strain": 0.5, "softnet": 0.55}

Kind = Literal["micro", "macro"]
Intervals = Literal["peaks", "runs"]
Preset = Literal["mefast", "megc2020"]


def _feature_options(method: str, k: int, **kw: Any) -> FeatureOptions:
    feats = {"fd": ("lbp",), "mdmd": ("mdmd",), "strain": ("strain",), "softnet": ("softnet",)}[method]
    return FeatureOptions(lags=(k,), features=feats, **kw)


def spot_features(
    features: Mapping[str, NDArray],
    *,
    method: str = "mdmd",
    k: int,
    p: float | None = None,
    model: Any = None,
    m: int = 12,
    intervals: Intervals = "peaks",
    lengths: tuple[int, int | None] | None = None,
) -> NDArray[np.float64]:
    """Spotted ``(onset, offset, score)`` rows from the arrays of the long-video pass (see :func:`spot`).

    Parameters
    ----------
    features : mapping of str to ndarray
        Arrays of :func:`~mefast.spotting.long_video_features` (or a recording store), holding the method's
        feature at lag ``k``.
    method : {"mdmd", "fd", "strain", "softnet"}
    k : int
        Window (flow lag) in frames.
    p : float, optional
        Threshold position (default :data:`DEFAULT_P`; with ``intervals="runs"`` the baseline's 0.01).
    model : SOFTNet, optional
        For ``method="softnet"``.
    m : int
        Blocks averaged per frame (the ``M`` largest).
    intervals : {"peaks", "runs"}
        ``"peaks"``: ``[peak - k, peak + k]`` around the score's peaks over ``T`` (mefast's rule, every method).
        ``"runs"``: the MEGC2020 MDMD baseline's rule (``method="mdmd"`` only): every run of frames over ``T``
        kept if its length is in ``lengths``, over the baseline's contrast of the MDMD value
        (:func:`~mefast.spotting._intervals.megc2020_contrast`; ``T`` over the frames it scores, not clipped at 0;
        :func:`~mefast.spotting._intervals.runs_to_intervals`). For the baseline's ``k``, ``p`` and
        lengths see :func:`~mefast.spotting._intervals.megc2020_mdmd`.
    lengths : (int, int or None), optional
        With ``intervals="runs"``: shortest and longest run kept, frames (None: no upper bound); default every
        run.

    Returns
    -------
    intervals : ndarray of shape (n, 3), float64
    """
    if method not in SPOT_METHODS:
        raise ValueError(f"method must be one of {SPOT_METHODS}, got {method!r}")
    if intervals not in ("peaks", "runs"):
        raise ValueError(f"intervals must be 'peaks' or 'runs', got {intervals!r}")
    if intervals == "runs":
        if method != "mdmd":
            raise ValueError(
                f"intervals='runs' is the MEGC2020 MDMD baseline's rule: use it with method='mdmd', got {method!r}"
            )
        lengths = None if lengths is None else _check_lengths(lengths)
        c = megc2020_contrast(_mdmd_frames(_need(features, f"mdmd{k}"), k, m=m), k)
        return runs_to_intervals(c, p=MEGC2020_MDMD_P if p is None else float(p), lengths=lengths)
    if lengths is not None:
        raise ValueError("lengths= applies to intervals='runs', not to intervals='peaks'")
    p = DEFAULT_P[method] if p is None else float(p)
    if method == "softnet":
        if model is None:
            raise ValueError("method='softnet' needs a trained model= (mefast.train.softnet.train_softnet)")
        from ..train.softnet import predict_scores, softnet_intervals

        name = f"softnet{k}"
        if name not in features:
            raise KeyError(f"the features hold no {name!r} (computed: {sorted(features)})")
        return softnet_intervals(predict_scores(model, features[name]), k, p)
    c = score(features, method, k, m=m)
    return peaks_to_intervals(c, k, p=p)


def spot(
    video: ArrayLike | Iterable[ArrayLike],
    *,
    method: str = "mdmd",
    fps: float = 30.0,
    kind: Kind = "micro",
    k: int | None = None,
    p: float | None = None,
    landmarks: ArrayLike | str | None = "auto",
    model: Any = None,
    preset: Preset = "mefast",
    lengths: tuple[int, int | None] | None = None,
    **options: Any,
) -> NDArray[np.float64]:
    """Spot expression intervals in a long video.

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3), or an iterable of frames
        uint8 grey levels or floats in [0, 1]; an iterable (a generator reading frames from disk) is read once,
        lazily, in bounded memory.
    method : {"mdmd", "fd", "strain", "softnet"}
        See :mod:`mefast.spotting._intervals`; ``"softnet"`` needs ``model=`` (a trained
        :class:`mefast.train.softnet.SOFTNet`).
    fps : float
        Frame rate; sets the default window ``k`` (:func:`~mefast.spotting.default_lags`: half a typical
        expression, 0.3 s micro, 1 s macro; with ``preset="megc2020"`` the baseline's 0.4 s / 1.3 s).
    kind : {"micro", "macro"}
        Which expressions the window is sized for.
    k : int, optional
        Half window in frames (overrides ``fps``/``kind``).
    p : float, optional
        Threshold position between the score's mean and maximum (default :data:`DEFAULT_P`; with
        ``preset="megc2020"`` the baseline's 0.01).
    landmarks : array_like of shape (68, 2), "auto" or None
        Landmarks of the first frame (eye regions are left out); "auto" finds them.
    model : SOFTNet, optional
    preset : {"mefast", "megc2020"}
        ``"mefast"``: the defaults above and ``[peak - k, peak + k]`` intervals. ``"megc2020"`` (``method="mdmd"``
        only): the MEGC2020 MDMD baseline's settings (spec 5b): ``k`` = 0.4 s (micro) or 1.3 s (macro) of
        ``fps`` (12/39 frames at 30 fps, 80/260 at 200 fps), ``p = 0.01``, the MDMD value's contrast
        ``F_i - (F_{i-k+1} + F_{i+k-1}) / 2`` as the score (its ``cmd.m``), and every run of frames over ``T`` an
        interval, kept if its length fits ``kind`` (ME 7-16 / MaE >= 17 frames at 30 fps, CAS(ME)^2; 47-105 /
        >= 106 at 200 fps, SAMM-LV). An explicit ``k`` or ``p`` still wins. The flows stay mefast's TV-L1
        (the baseline used RLOF).
    lengths : (int, int or None), optional
        With ``preset="megc2020"``: the run lengths kept, frames (None: no upper bound); needed at frame rates
        other than 30 and 200 fps.
    **options
        Passed to :class:`~mefast.spotting._features.FeatureOptions` (``size``, ``blocks``, ``crop``, ``flow``,
        ``n_threads``, ``chunk``).

    Returns
    -------
    intervals : ndarray of shape (n, 3), float64
        Rows ``(onset, offset, score)``, 0-based inclusive frames, in time order.

    Raises
    ------
    ShapeError
        Frames that are not ``(H, W)`` or ``(H, W, 3)``, or a video of fewer than ``2k + 1`` frames (one window
        ``[t - k, t + k]``), whether an array or an iterable (counted once read: the same message).

    Examples
    --------
    >>> import numpy as np, mefast
    >>> from mefast.spotting._synthetic import make_long_recording, iter_frames
    >>> rec = make_long_recording(2, n_frames=150, n_micro=1, n_macro=0, n_blinks=1)
    >>> rows = mefast.spot(iter_frames(rec), fps=rec.fps, landmarks=rec.landmarks)
    >>> mefast.spotting.match_intervals(rows, rec.intervals("micro")).f1
    1.0
    """
    if method not in SPOT_METHODS:
        raise ValueError(f"method must be one of {SPOT_METHODS}, got {method!r}")
    if kind not in ("micro", "macro"):
        raise ValueError(f"kind must be 'micro' or 'macro', got {kind!r}")
    rule: Intervals = "peaks"
    if preset == "megc2020":
        if method != "mdmd":
            raise ValueError(
                f"preset='megc2020' is the MEGC2020 MDMD baseline: use it with method='mdmd', got {method!r}"
            )
        base = megc2020_mdmd(fps, kind, lengths=lengths)
        k = base.k if k is None else k
        p = base.p if p is None else p
        rule, lengths = "runs", base.lengths
    elif preset != "mefast":
        raise ValueError(f"preset must be 'mefast' or 'megc2020', got {preset!r}")
    elif lengths is not None:
        raise ValueError("lengths= applies to preset='megc2020' (runs over T), not to preset='mefast'")
    if k is None:
        k = default_lags(fps, (kind,))[kind]
    elif int(k) < 1:
        raise ValueError(f"k must be a positive number of frames, got {k}")
    k = int(k)
    if isinstance(video, np.ndarray) or (not hasattr(video, "__next__") and not isinstance(video, Iterable)):
        arr = np.asarray(video)
        if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
            raise ShapeError(f"video must be (T, H, W) or (T, H, W, 3), got shape {arr.shape}")
        _check_length(len(arr), k)
        feats = long_video_features(arr, _feature_options(method, k, **options), landmarks=landmarks)
    else:
        # Frames read lazily: their number is known once they are read, so it is checked after the pass (which
        # holds a bounded number of them) with the array's message; an empty iterable has no frames either.
        counted = _Counted(cast(Iterable[ArrayLike], video))
        try:
            feats = long_video_features(counted, _feature_options(method, k, **options), landmarks=landmarks)
        except ShapeError:  # "the video has no frames" is the length check's to tell, below
            if counted.n:
                raise
            feats = {}
        _check_length(counted.n, k)
    return spot_features(feats, method=method, k=k, p=p, model=model, intervals=rule, lengths=lengths)


def _check_length(n: int, k: int) -> None:
    """Refuse a video too short for one window ``[t - k, t + k]``."""
    if n < 2 * k + 1:
        raise ShapeError(f"video has {n} frames; spotting with k={k} needs at least {2 * k + 1}")


class _Counted:
    """An iterator over ``frames`` that counts the frames it has given."""

    def __init__(self, frames: Iterable[ArrayLike]) -> None:
        self._it = iter(frames)
        self.n = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> ArrayLike:
        frame = next(self._it)
        self.n += 1
        return frame
