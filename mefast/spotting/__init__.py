"""Micro-expression spotting: apex frames in clips, expression intervals in long videos, MEGC scoring.

>>> import mefast
>>> rows = mefast.spot(video, method="mdmd", fps=30)                     # doctest: +SKIP
>>> mefast.spotting.match_intervals(rows, [[120, 131]], iou=0.5).f1    # doctest: +SKIP

* :func:`apex_frame` / :func:`apex_curve`: the apex of a clip (``"flow"``, ``"strain"``, ``"fd"``, ``"dnc"``,
  ``"frequency"``);
  :func:`spot_apexes` fills a corpus's apex column (SMIC) and records it as corrections.
* :func:`iter_features` / :func:`long_video_features`: the chunked, bounded-memory feature pass of a long video
  (LBP block histograms, flow ``t -> t+k`` magnitudes, optical strain, MDMD block values, SOFTNet inputs).
* :func:`mefast.spot` / :func:`spot_features`: intervals ``(onset, offset, score)`` by ``"mdmd"``, ``"fd"``
  (Moilanen's feature difference), ``"strain"`` or ``"softnet"`` (trained in :mod:`mefast.train.softnet`);
  ``preset="megc2020"`` (:func:`megc2020_mdmd`, :func:`runs_to_intervals`) runs the MEGC2020 MDMD baseline's rule.
* :func:`match_intervals`, :func:`megc_table`: the MEGC evaluation (IoU >= 0.5, one match per ground truth).
* :mod:`mefast.spotting.evaluate`: a store of long recordings -> per-video spotting -> the MEGC table, and
  spot-then-recognise.
"""

from __future__ import annotations

from ._features import FeatureChunk, FeatureOptions, default_lags, feature_shapes, iter_features, long_video_features
from ._intervals import (
    INTERVAL_METHODS,
    MDMDBaseline,
    megc2020_mdmd,
    peaks_to_intervals,
    runs_to_intervals,
    threshold,
)
from ._spot import DEFAULT_P, SPOT_METHODS, spot, spot_features
from .apex import APEX_METHODS, apex_curve, apex_frame, spot_apexes
from .metric import (
    CORPUS_SPOTTING,
    MatchResult,
    SpottingCorpus,
    expression_type,
    interval_iou,
    match_intervals,
    megc_table,
    prf,
    strs,
)

__all__ = [
    "APEX_METHODS",
    "CORPUS_SPOTTING",
    "DEFAULT_P",
    "INTERVAL_METHODS",
    "SPOT_METHODS",
    "FeatureChunk",
    "FeatureOptions",
    "MDMDBaseline",
    "MatchResult",
    "SpottingCorpus",
    "apex_curve",
    "apex_frame",
    "default_lags",
    "expression_type",
    "feature_shapes",
    "interval_iou",
    "iter_features",
    "long_video_features",
    "match_intervals",
    "megc2020_mdmd",
    "megc_table",
    "peaks_to_intervals",
    "prf",
    "runs_to_intervals",
    "spot",
    "spot_apexes",
    "spot_features",
    "strs",
    "threshold",
]
