"""Synthetic long recordings for the spotting tests and demo (they live in :mod:`mefast.datasets.synthetic`)."""

from __future__ import annotations

from ..datasets.synthetic._long import (
    LONG_TRUTH_FILE,
    LongRecording,
    PlantedExpression,
    iter_frames,
    make_long_recording,
    write_long_synthetic,
)

__all__ = [
    "LONG_TRUTH_FILE",
    "LongRecording",
    "PlantedExpression",
    "iter_frames",
    "make_long_recording",
    "write_long_synthetic",
]
