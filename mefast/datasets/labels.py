"""Deprecated alias of :mod:`mefast.labels` (the label vocabularies moved to the top level)."""

from __future__ import annotations

import warnings

from ..labels import *  # noqa: F403
from ..labels import __all__  # noqa: F401

warnings.warn("mefast.datasets.labels is deprecated; import mefast.labels instead", DeprecationWarning, stacklevel=2)
