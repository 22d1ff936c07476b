"""Pictures: flow and strain colour coding, store views, evaluation plots, CAM overlays, an HTML report.

The colour coding (:func:`flow_to_rgb`, :func:`strain_to_rgb`, :func:`overlay_heatmap`, ...) and the class
means are numpy only: numpy in, ``uint8`` RGB out. The figures need the ``viz`` extra (matplotlib and Pillow,
``pip install 'mefast[viz]'``); they are loaded on first use, so ``import mefast.viz`` never imports matplotlib.

Every figure function returns a matplotlib ``Figure`` drawn by Agg (no display needed), except
:func:`gallery`, a Pillow image (large mosaics encode much faster that way); :func:`save_figure` writes
either as PNG, :func:`figure_png` gives the bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes as _lazy_attributes
from . import _colour
from ._colour import *  # noqa: F403  (the colour coding: the names of _colour.__all__)
from ._means import ClassMeans, class_means

if TYPE_CHECKING:  # the lazily loaded names, for type checkers
    from ._eval_figures import au_f1_figure, confusion_figure, corpus_figure, tsne_embedding, tsne_figure
    from ._mpl import figure_png, save_figure
    from ._report import Report, store_report
    from ._results import EvalResults, au_f1, confusion, constant_au_f1, corpus_scores, load_results
    from ._store_figures import cam_figure, class_means_figure, flow_figure, gallery, gallery_image, quiver

__all__ = [
    "ClassMeans",
    "EvalResults",
    "Report",
    "au_f1",
    "au_f1_figure",
    "cam_figure",
    "class_means",
    "class_means_figure",
    "confusion",
    "confusion_figure",
    "constant_au_f1",
    "corpus_figure",
    "corpus_scores",
    "figure_png",
    "flow_figure",
    "gallery",
    "gallery_image",
    "load_results",
    "quiver",
    "save_figure",
    "store_report",
    "tsne_embedding",
    "tsne_figure",
]
__all__ += _colour.__all__

# Loaded on first use: matplotlib, Pillow, pandas and scikit-learn stay out of ``import mefast.viz``.
_LAZY = {name: "_results" for name in ("EvalResults", "au_f1", "confusion", "constant_au_f1", "corpus_scores")}
_LAZY["load_results"] = "_results"
_LAZY.update({name: "_mpl" for name in ("figure_png", "save_figure")})
_LAZY.update(
    {
        name: "_store_figures"
        for name in ("cam_figure", "class_means_figure", "flow_figure", "gallery", "gallery_image", "quiver")
    }  # fmt: skip
)
_LAZY.update(
    {
        name: "_eval_figures"
        for name in ("au_f1_figure", "confusion_figure", "corpus_figure", "tsne_embedding", "tsne_figure")
    }  # fmt: skip
)
_LAZY.update({"Report": "_report", "store_report": "_report"})

__getattr__, __dir__ = _lazy_attributes(globals(), _LAZY)
