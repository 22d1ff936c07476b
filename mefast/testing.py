"""Image pairs with known optical flow, for tests, benchmarks and the demo.

The public home of the image synthesis in :mod:`mefast._synthesis`: a real photograph warped by a known smooth
displacement field, so the exact flow of the pair is known.
"""

from __future__ import annotations

from ._synthesis import FlowPair, endpoint_error, face_flow_pair, smooth_field, warp_image

__all__ = ["FlowPair", "endpoint_error", "face_flow_pair", "smooth_field", "warp_image"]
