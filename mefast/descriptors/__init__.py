"""Hand-crafted micro-expression descriptors: LBP-TOP and TIM (C++ core), Bi-WOOF and MDMO (Numba).

Nothing here knows about datasets or stores: arrays in, arrays out.
"""

from __future__ import annotations

from ._biwoof import biwoof
from ._lbptop import lbp_top, lbp_top_batch, uniform_mapping
from ._mdmo import mdmo, mdmo_batch, meb_farneback_flows
from ._tim import tim, tim_batch, tim_weights
from .roi import mdmo_roi_masks, mdmo_rois

__all__: list[str] = []
__all__ += ["biwoof", "mdmo", "mdmo_batch", "mdmo_roi_masks", "mdmo_rois", "meb_farneback_flows"]
__all__ += ["lbp_top", "lbp_top_batch", "tim", "tim_batch", "tim_weights", "uniform_mapping"]
