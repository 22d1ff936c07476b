"""Apex spotting inside a clip (spec 5a): the frame of strongest facial change between onset and offset.

``"flow"`` (default) and ``"strain"``
    TV-L1 flow from the first frame to every frame (head motion removed by the nose bridge's flow), mean
    magnitude (or optical strain) per block, mean of the ``m`` largest blocks; the apex is the argmax.
``"fd"``
    Feature difference: per block the chi-squared distance of the frame's LBP histogram to the mean of the
    first and last frames' histograms (an apex differs most from both ends), mean of the ``m`` largest blocks,
    smoothed over 3 frames; the apex is the argmax.
``"dnc"``
    Divide and conquer (Liong et al. 2015, 2018): per block the dissimilarity ``1 - r`` of the frame's LBP
    histogram to the first (onset) frame's, ``r`` their Pearson correlation, with the LBP, blocks and ``m`` of
    ``"fd"`` (the ROIs are the ``m`` most changed blocks, where the papers use eye/brow and mouth regions); the
    range of frames is halved into ``[lo, mid]`` and ``[mid + 1, hi]``, ``mid = (lo + hi) // 2``, keeping the
    half whose scores sum higher (a tie keeps the earlier half) until one frame is left. The split and tie rules
    are mefast's choice (the papers leave them open); the apex is that frame, not the curve's argmax.
``"frequency"``
    Li, Huang & Zhao (ICIP 2018): LBP code images in windows of ``w`` frames (ends padded with copies), per block
    of a 6x6 grid the window's 3-D FFT through an ideal high-pass, the magnitudes summed over the blocks; the
    apex is the argmax over the window centres. ``w=61`` is the paper's for CASME II (200 fps): about one
    micro-expression's length, to be scaled with the frame rate. ``compat="reference"`` follows the authors'
    MATLAB code and its quirks (see :mod:`mefast.spotting._apex_frequency`). No eye mask here (whole blocks) and
    no smoothing (the paper's raw codes).

Eye regions are left out (blinks) when landmarks are known (``"flow"``, ``"strain"``, ``"fd"``, ``"dnc"``).
Only ``"flow"`` and ``"strain"`` remove head motion: on synthetic clips with the test helper's head drift
``"dnc"`` landed 4-12 frames off, and ``"frequency"``, on raw LBP codes, left the apex's half-intensity frames in
about 10 of 16 clips with sensor noise of 0.5-1 grey levels (``tests/spotting/test_apex_methods.py`` checks both
on still, clean faces). Prefer them on aligned, low-noise clips, or to compare with their papers.
:func:`spot_apexes` fills the apex column of a corpus without apex annotation (SMIC) and records the choice.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError
from ._apex_dnc import dnc_index, lbp_dissimilarity
from ._apex_frequency import FREQUENCY_COMPAT, check_window, frequency_scores, reference_lbp_codes
from ._features import FeatureOptions, FrameGeometry, _Prepare, _u2_table, block_lbp, block_mean, find_landmarks

__all__ = ["APEX_METHODS", "apex_curve", "apex_frame", "spot_apexes"]

APEX_METHODS = ("flow", "strain", "fd", "dnc", "frequency")
ApexMethod = Literal["flow", "strain", "fd", "dnc", "frequency"]


def _top_mean(x: NDArray, m: int) -> NDArray[np.float64]:
    m = max(1, min(int(m), x.shape[-1]))
    return -np.sort(-np.asarray(x, np.float64), axis=-1)[..., :m].mean(-1)


def apex_curve(
    clip: ArrayLike,
    method: ApexMethod = "flow",
    *,
    landmarks: ArrayLike | str | None = "auto",
    size: tuple[int, int] = (128, 128),
    blocks: tuple[int, int] = (6, 6),
    m: int = 12,
    flow: str = "per-frame",
    w: int = 61,
    compat: str = "paper",
) -> NDArray[np.float64]:
    """The per-frame apex score of a clip (its argmax is :func:`apex_frame`, except for ``"dnc"``).

    Parameters
    ----------
    clip : array_like of shape (T, H, W) or (T, H, W, 3)
        Onset to offset, T >= 2; uint8 or floats in [0, 1].
    method : {"flow", "strain", "fd", "dnc", "frequency"}
        See the module.
    landmarks : array_like of shape (68, 2), "auto" or None
        Landmarks of the first frame (eyes left out); "auto" finds them; None uses no landmarks. Not used by
        ``"frequency"``.
    size, blocks : (int, int)
        Working size every frame is resized to, and block grid (6x6 in all the methods' papers).
    m : int
        Number of largest blocks averaged (not ``"frequency"``).
    flow : str
        TV-L1 preset (``"flow"``, ``"strain"``).
    w : int
        ``"frequency"`` only: the window, an odd number of frames >= 3. The default 61 is the paper's for CASME II
        at 200 fps (about a micro-expression's length); scale it with the frame rate (e.g. 9 at 30 fps).
    compat : {"paper", "reference"}
        ``"frequency"`` only: ``"paper"`` (default) as the paper describes it, ``"reference"`` as the authors'
        MATLAB code computes it (its sort-index quirk over the blocks, its block tiling and filter centre, the
        last frame never a window centre: scored ``-inf``).

    Returns
    -------
    score : ndarray of shape (T,), float64
        ``"dnc"``: the mean dissimilarity to the onset of the ``m`` most changed blocks (0 at frame 0), which the
        divide and conquer of :func:`apex_frame` halves; ``"frequency"``: the score of the window centred on
        each frame.

    Raises
    ------
    ValueError
        An unknown method or compat, ``compat="reference"`` with a method other than ``"frequency"``, a bad
        ``w``, bad landmarks.
    ShapeError
        A clip of the wrong shape or with fewer than 2 frames.
    """
    from .._validation import core_threads
    from ..flow import TVL1Params, _pairs, optical_strain

    if method not in APEX_METHODS:
        raise ValueError(f"method must be one of {APEX_METHODS}, got {method!r}")
    if compat not in FREQUENCY_COMPAT:
        raise ValueError(f"compat must be one of {FREQUENCY_COMPAT}, got {compat!r}")
    if compat != "paper" and method != "frequency":
        raise ValueError(f"compat={compat!r} applies to method='frequency' only, got method={method!r}")
    if method == "frequency":
        w = check_window(w)
    video = np.asarray(clip)
    if video.ndim not in (3, 4) or (video.ndim == 4 and video.shape[-1] != 3):
        raise ShapeError(f"clip must be (T, H, W) or (T, H, W, 3), got shape {video.shape}")
    if len(video) < 2:
        raise ShapeError(f"clip needs at least 2 frames, got {len(video)}")
    opts = FeatureOptions(lags=(1,), size=size, blocks=blocks, features=("lbp",), flow=flow)
    prep = _Prepare(opts)
    frames = np.stack([prep(f, t) for t, f in enumerate(video)])
    if isinstance(landmarks, str) and landmarks != "auto":
        raise ValueError(f"landmarks must be (68, 2) points, 'auto' or None, got {landmarks!r}")
    if method == "frequency":
        return frequency_scores(reference_lbp_codes(frames), w, blocks=opts.blocks, compat=compat)
    if isinstance(landmarks, str):
        lm = find_landmarks(video[0])
    else:
        lm = None if landmarks is None else np.asarray(landmarks, np.float64)
    if lm is not None:
        if lm.shape != (68, 2):
            raise ShapeError(f"landmarks must have shape (68, 2), got {lm.shape}")
        lm = prep.landmark_transform(lm, video.shape[1:3])
    geo = FrameGeometry(opts.size, opts.blocks, lm, True)
    t = len(frames)
    if method == "dnc":
        return _top_mean(lbp_dissimilarity(block_lbp(frames, geo, _u2_table())), m)
    if method == "fd":
        h = block_lbp(frames, geo, _u2_table()).astype(np.float64)
        aff = 0.5 * (h[0] + h[-1])
        den = h + aff
        chi = np.where(den > 0, (h - aff) ** 2 / np.where(den > 0, den, 1.0), 0.0).sum(-1)
        f = _top_mean(chi, m)
        return np.convolve(np.pad(f, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    i1 = np.arange(1, t, dtype=np.int32)
    fl = _pairs(frames, np.zeros(t - 1, np.int32), i1, TVL1Params.preset(flow), core_threads(None), "cpu")
    ys, xs = geo.nose
    fl -= fl[:, ys, xs].mean(axis=(1, 2), keepdims=True)
    maps = np.hypot(fl[..., 0], fl[..., 1]) if method == "flow" else optical_strain(fl)
    return np.concatenate([[0.0], _top_mean(block_mean(maps, geo), m)])


def apex_frame(clip: ArrayLike, method: ApexMethod = "flow", **kw: Any) -> int:
    """Index (0-based, within the clip) of the spotted apex; see :func:`apex_curve` for the parameters.

    The argmax of :func:`apex_curve` (the first of equal maxima); for ``"dnc"`` the frame the divide and
    conquer keeps (:func:`~mefast.spotting._apex_dnc.dnc_index`: halves ``[lo, mid]`` and ``[mid + 1, hi]``,
    ``mid = (lo + hi) // 2``, the larger sum kept, ties keep the earlier half; mefast's rules).

    Examples
    --------
    >>> import numpy as np
    >>> from mefast.spotting import apex_frame
    >>> from mefast.spotting._synthetic import make_long_recording, iter_frames
    >>> rec = make_long_recording(3, n_frames=60, n_micro=1, n_macro=0, n_blinks=0, drift=0)
    >>> e = rec.expressions[0]
    >>> clip = np.stack(list(iter_frames(rec, e.onset, e.offset + 1)))
    >>> abs(e.onset + apex_frame(clip, landmarks=rec.landmarks) - e.apex) <= 2
    True
    """
    curve = apex_curve(clip, method, **kw)
    return dnc_index(curve) if method == "dnc" else int(np.argmax(curve))


def _filled_apexes(corrections: Any) -> dict[str, str]:
    """Sample id -> the apex a reader or a known correction wrote, as text (the last applied one per sample)."""
    if corrections is None or not len(corrections) or "field" not in corrections.columns:
        return {}
    c = corrections[corrections["field"] == "apex"]
    if "status" in c.columns:
        c = c[c["status"] == "applied"]
    return {str(s): str(v) for s, v in zip(c["sample_id"], c["new"], strict=True)}


def spot_apexes(dataset: Any, method: ApexMethod = "flow", *, only_missing: bool = False, **kw: Any) -> Any:
    """A copy of a :class:`~mefast.datasets.Dataset` whose apexes are spotted from the frames.

    Every row (or, with ``only_missing``, every row whose apex is -1 or the middle frame a reader filled in, as
    ``dataset.corrections`` records: an annotated apex that happens to be the middle frame is kept) gets the
    :func:`apex_frame` of onset..offset (the argmax of :func:`apex_curve`; ``"dnc"``: its divide and conquer).
    Every spotted apex is recorded in
    ``dataset.corrections`` (field ``apex``, old and new value as text, status ``applied``, reason
    ``"apex spotted (method=...)"``), also where it equals the old one, so the store's provenance says which
    apexes are annotated and which are spotted.
    """
    import pandas as pd

    from ..datasets._engine.corrections import show

    samples = dataset.samples.copy()
    filled = _filled_apexes(dataset.corrections)
    rows = []
    for i in range(len(samples)):
        r = samples.iloc[i]
        onset, offset, apex = int(r["onset"]), int(r["offset"]), int(r["apex"])
        middle_filled = apex == onset + (offset - onset) // 2 and filled.get(str(r["sample_id"])) == str(apex)
        if only_missing and apex >= 0 and not middle_filled:
            continue
        clip = dataset.read_frames(i, onset, offset)
        new = onset + apex_frame(clip, method, **kw)
        samples.iat[i, samples.columns.get_loc("apex")] = new
        rows.append(
            {
                "sample_id": r["sample_id"],
                "row": -1,
                "field": "apex",
                "old": show(apex),
                "new": show(new),
                "reason": f"apex spotted (method={method!r})",
                "status": "applied",
            }
        )
    import dataclasses

    corrections = (
        pd.concat([dataset.corrections, pd.DataFrame(rows, columns=dataset.corrections.columns)], ignore_index=True)
        if rows
        else dataset.corrections
    )
    return dataclasses.replace(dataset, samples=samples, corrections=corrections)
