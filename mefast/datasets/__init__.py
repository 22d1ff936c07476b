"""Readers for the micro-expression corpora, label tables, composites and the synthetic dataset.

Nothing here knows about Zarr.
"""

from __future__ import annotations

__all__: list[str] = []
