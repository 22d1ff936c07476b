"""Pictures: flow and strain colour coding, store views, evaluation plots, CAM overlays, an HTML report.

The colour coding (:func:`flow_to_rgb`, :func:`strain_to_rgb`, :func:`overlay_heatmap`, ...) is numpy only:
numpy in, ``uint8`` RGB out. The figures need the ``viz`` extra (matplotlib and Pillow,
``pip install 'mefast[viz]'``); they are loaded on first use, so ``import mefast.viz`` never imports matplotlib.
"""

from __future__ import annotations

from ._colour import (
    MIDDLEBURY_HUES,
    colour_wheel,
    flow_legend,
    flow_to_rgb,
    heat_to_rgb,
    overlay_heatmap,
    strain_to_rgb,
    to_rgb_image,
)

__all__ = [
    "MIDDLEBURY_HUES",
    "colour_wheel",
    "flow_legend",
    "flow_to_rgb",
    "heat_to_rgb",
    "overlay_heatmap",
    "strain_to_rgb",
    "to_rgb_image",
]
