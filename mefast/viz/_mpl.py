"""Matplotlib plumbing: headless figures, PNG bytes, images as axes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._colour import to_rgb_image

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure_png", "new_figure", "save_figure", "show_image"]


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError as exc:
        if exc.name != "matplotlib":
            raise
        raise ModuleNotFoundError(
            "mefast.viz figures need matplotlib: pip install 'mefast[viz]'", name="matplotlib"
        ) from exc
    return matplotlib


def new_figure(width_px: int, height_px: int, *, dpi: int = 100) -> Figure:
    """A figure of exactly ``width_px`` x ``height_px`` pixels at ``dpi``, drawn by Agg (no display needed).

    ``matplotlib.figure.Figure`` is used directly rather than ``pyplot``, so no GUI backend is touched and
    nothing is kept in pyplot's global figure list.
    """
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure | Any) -> bytes:
    """PNG bytes of a matplotlib figure (at its own size and dpi), a Pillow image or a ``uint8`` RGB array."""
    buf = io.BytesIO()
    if isinstance(fig, np.ndarray):
        from PIL import Image

        fig = Image.fromarray(to_rgb_image(fig), mode="RGB")
    if hasattr(fig, "savefig"):
        fig.savefig(buf, format="png", dpi=getattr(fig, "dpi", 100))  # bbox_inches left alone: the size stays exact
    elif hasattr(fig, "save"):
        fig.save(buf, format="PNG", compress_level=1)  # zlib level 1: a third of level 3's time, 10 % larger
    else:
        raise TypeError(f"cannot write a {type(fig).__name__} as PNG; give a Figure, a PIL image or an RGB array")
    return buf.getvalue()


def save_figure(fig: Figure | Any, path: str | Path) -> Path:
    """Write a figure (see :func:`figure_png`) as a PNG file, parents created; return its path."""
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise ValueError(f"figures are written as PNG; give a path ending in .png, got {str(path)!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(figure_png(fig))
    return p


def show_image(ax: Any, image: NDArray[np.uint8], title: str | None = None, *, fontsize: float = 8) -> None:
    """Draw an RGB image on ``ax`` without ticks or frame, with an optional title."""
    ax.imshow(image, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=fontsize)
