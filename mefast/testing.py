"""Image pairs with known optical flow, for tests, benchmarks and the demo.

The public home of the image synthesis in :mod:`mefast._synthesis`: a real photograph warped by a known smooth
displacement field, so the exact flow of the pair is known; and the held-out battery of :mod:`mefast._battery`
(several images, amplitudes and random fields drawn from seeds never used for tuning, plus a real stereo pair
with measured ground truth) on which the README's flow figures are measured.
"""

from __future__ import annotations

from . import _battery
from ._battery import *  # noqa: F403  (the names of _battery.__all__)
from ._synthesis import FlowPair, endpoint_error, face_flow_pair, smooth_field, warp_image

__all__ = [*_battery.__all__, "FlowPair", "endpoint_error", "face_flow_pair", "smooth_field", "warp_image"]
