"""Synthetic long recordings for the spotting tests and demo (they live in :mod:`mefast.datasets.synthetic`)."""

from __future__ import annotations

from ..datasets.synthetic import _long
from ..datasets.synthetic._long import *  # noqa: F403  (the names of _long.__all__)

__all__ = list(_long.__all__)
