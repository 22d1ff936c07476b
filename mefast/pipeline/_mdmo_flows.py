"""MDMO of an aligned clip, its onset -> every-frame flows computed at the resolution its regions need.

MDMO needs one TV-L1 flow per frame (the largest cost of preprocessing a corpus) but only each of its 36
regions' main direction and mean vector, normalised by the largest region's magnitude in ``"paper"`` mode. The
regions are tens of pixels wide on a 256-pixel crop, so :func:`mdmo_feature` downscales the grey clip (area
interpolation) to ``PreprocessOptions.mdmo_size`` (default 128 x 128: an inter-ocular distance of about 50 px,
a little above that of MEB's 112-pixel crops), maps the landmarks to the same pixel grid, and computes the flows
and MDMO there: a quarter of the pixels. In ``"paper"`` mode the feature is scale-free (normalised magnitudes,
angles, region heights relative to the inter-ocular distance), so it stays close to the full-resolution one
(``tests/pipeline/test_mdmo_flows.py`` states the tolerance). ``"reference"`` mode reproduces MEB's numbers
(absolute magnitudes, a 20-pixel forehead) and an explicit ``delta`` is in crop pixels, so both keep the crop's
resolution.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._backend import runs_on
from ..flow import TVL1Params, compute_flow

__all__ = ["mdmo_feature", "mdmo_grid"]


def mdmo_grid(
    crop: tuple[int, int], mdmo_size: tuple[int, int] | None, mdmo_options: Mapping[str, Any]
) -> tuple[int, int]:
    """``(H, W)`` at which MDMO's flows are computed: ``mdmo_size`` capped by the crop, or the crop itself.

    The crop size is kept when ``mdmo_size`` is None, in ``"reference"`` mode and when ``delta`` is given.
    """
    if mdmo_size is None or mdmo_options.get("mode", "paper") != "paper" or mdmo_options.get("delta") is not None:
        return crop
    return min(crop[0], mdmo_size[0]), min(crop[1], mdmo_size[1])


def mdmo_feature(
    gray: NDArray[np.uint8],
    landmarks: NDArray[np.floating],
    *,
    size: tuple[int, int],
    params: TVL1Params | str,
    mdmo_options: Mapping[str, Any],
    n_threads: int,
    warm_start: bool = False,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """MDMO of a grey clip ``(T, H, W)`` with the onset's 68 landmarks, its flows computed at ``size``.

    ``size`` comes from :func:`mdmo_grid`; when it is the clip's own size nothing is resized. Landmarks map
    with the resize's pixel-centre convention, ``x' = (x + 0.5) * W' / W - 0.5`` (likewise y). ``warm_start``
    is :func:`mefast.compute_flow`'s (each flow started from the previous frame's); it applies on the CPU only,
    any other ``device`` computes the flows cold in one batch.
    """
    import cv2

    from ..descriptors import mdmo

    h, w = gray.shape[1:]
    lm = np.asarray(landmarks, np.float64)
    if (h, w) != tuple(size):
        sh, sw = size
        gray = np.stack([cv2.resize(f, (sw, sh), interpolation=cv2.INTER_AREA) for f in gray])
        scale = np.array([sw / w, sh / h])
        lm = np.clip((lm + 0.5) * scale - 0.5, 0.0, np.array([sw - 1, sh - 1], np.float64))
    on_cpu = runs_on(device) == "cpu"
    flows = compute_flow(gray, reference="first", params=params, n_threads=n_threads, device=device,
                         warm_start=warm_start and on_cpu)  # fmt: skip
    return np.asarray(mdmo(flows, lm, **mdmo_options), np.float32)
