"""Hand-crafted micro-expression descriptors: LBP-TOP and TIM (C++ core), Bi-WOOF and MDMO (Numba).

Nothing here knows about datasets or stores: arrays in, arrays out.
"""

from __future__ import annotations

from .biwoof import biwoof
from .mdmo import mdmo, mdmo_batch, meb_farneback_flows
from .roi import mdmo_roi_masks, mdmo_rois

__all__: list[str] = []
__all__ += ["biwoof", "mdmo", "mdmo_batch", "mdmo_roi_masks", "mdmo_rois", "meb_farneback_flows"]
