"""Hand-crafted micro-expression descriptors, frame selection and sparse sampling.

LBP-TOP and TIM (C++ core); Bi-WOOF, MDMO, LBP-SIP, LBP-MOP, HOOF, 3DHOG and HIGO (Numba); DMDSP sparse sampling
and frame selection (NumPy).
Nothing here knows about datasets or stores: arrays in, arrays out.
"""

from __future__ import annotations

from ._biwoof import biwoof
from ._hog3d import higo, hog3d
from ._hoof import hoof
from ._lbpsip import lbp_mop, lbp_sip
from ._lbptop import lbp_top, lbp_top_batch, uniform_mapping
from ._mdmo import mdmo, mdmo_batch, meb_farneback_flows
from ._sampling import FRAME_SELECTIONS, DMDSPResult, dmdsp, dmdsp_modes, select_frames
from ._tim import tim, tim_batch, tim_weights
from .roi import mdmo_roi_masks, mdmo_rois

__all__: list[str] = []
__all__ += ["biwoof", "mdmo", "mdmo_batch", "mdmo_roi_masks", "mdmo_rois", "meb_farneback_flows"]
__all__ += ["lbp_top", "lbp_top_batch", "tim", "tim_batch", "tim_weights", "uniform_mapping"]
__all__ += ["higo", "hog3d", "hoof", "lbp_mop", "lbp_sip"]
__all__ += ["DMDSPResult", "FRAME_SELECTIONS", "dmdsp", "dmdsp_modes", "select_frames"]
