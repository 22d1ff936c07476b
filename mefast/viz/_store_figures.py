"""Figures of a store: sample gallery, class means, one sample's flow in detail, quiver plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._twins import options_of
from ._colour import _as_flow, flow_legend, flow_to_rgb, overlay_heatmap, strain_to_rgb, to_rgb_image
from ._means import ClassMeans, class_means, face_frames, magnified_feature, open_store, store_rows
from ._mpl import new_figure, show_image

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from PIL import Image

__all__ = ["cam_figure", "class_means_figure", "flow_figure", "gallery", "gallery_image", "quiver"]

_LABEL_PX = 14  # height of the caption band above each gallery cell
_GAP_PX = 4


def _resize(img: NDArray[np.uint8], side: int) -> NDArray[np.uint8]:
    if img.shape[0] == side and img.shape[1] == side:
        return img
    import cv2

    interp = cv2.INTER_AREA if img.shape[0] > side else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(img, (side, side), interpolation=interp), dtype=np.uint8)


def gallery_image(
    store: Any,
    rows: Sequence[int] | NDArray[np.integer] | None = None,
    *,
    n: int = 64,
    tile: int = 96,
    columns: int | None = None,
    max_magnitude: float | Literal["shared", "per-image"] = "shared",
) -> tuple[NDArray[np.uint8], list[tuple[int, int, str]], list[str]]:
    """The gallery mosaic as an RGB array, its captions and its panel names (see :func:`gallery`).

    Returns
    -------
    mosaic : ndarray of shape (H, W, 3), uint8
    captions : list of (x, y, text)
        Pixel position (left, top of the caption band) and text of every cell.
    panels : list of str
        What each cell shows, left to right (``face``, ``flow``, ``strain``, ``magnified``).
    """
    st = open_store(store)
    done = np.flatnonzero(st.done)
    if rows is None:
        sel = done[: max(int(n), 0)]
    else:
        sel = store_rows(rows, len(st))
        sel = sel[st.done[sel]][: max(int(n), 0)]
    if not len(sel):
        raise ValueError(f"no finished samples to show in {st!r}")
    if tile < 16:
        raise ValueError(f"tile must be at least 16 pixels, got {tile}")
    meta = st.meta.iloc[sel]
    panels: list[tuple[str, list[NDArray[np.uint8]]]] = []
    faces = face_frames(st, sel)
    if faces is not None:
        panels.append(("face", [to_rgb_image(f) for f in faces]))
    if "flow" in st.features:
        flows = st.read("flow", sel)
        mags = np.sqrt((flows.astype(np.float32) ** 2).sum(axis=1))
        if max_magnitude == "shared":
            peak = float(np.nanmax(mags)) if np.isfinite(mags).any() else 0.0
            mm: float | None = peak if peak > 0 else None
        elif max_magnitude == "per-image":
            mm = None
        else:
            mm = float(max_magnitude)
        panels.append(("flow", [flow_to_rgb(f, mm) for f in flows]))
    if "strain" in st.features:
        strains = st.read("strain", sel)
        top = float(np.nanmax(strains)) if np.isfinite(strains).any() else 0.0
        panels.append(("strain", [strain_to_rgb(s, top if top > 0 else None) for s in strains]))
    mag = magnified_feature(st)
    if mag is not None:
        m = face_frames(st, sel, mag)
        assert m is not None
        panels.append(("magnified", [to_rgb_image(x) for x in m]))
    if not panels:
        raise ValueError(f"the store has nothing to show (no frames, flow or strain): {list(st.features)}")
    k = len(panels)
    n_cells = len(sel) + 1  # the last cell holds the flow colour key
    cols = columns or max(1, min(n_cells, int(np.ceil(np.sqrt(n_cells * 1.5 / k)))))
    cell_w, cell_h = k * tile + (k - 1) * 2, tile + _LABEL_PX
    n_rows = int(np.ceil(n_cells / cols))
    width = cols * cell_w + (cols + 1) * _GAP_PX
    height = n_rows * cell_h + (n_rows + 1) * _GAP_PX
    mosaic = np.full((height, width, 3), 255, np.uint8)
    captions: list[tuple[int, int, str]] = []
    ids = meta["sample_id"].astype(str).tolist()
    emotions = meta["emotion"].astype(str).tolist() if "emotion" in meta else [""] * len(sel)
    for c in range(n_cells):
        x0 = _GAP_PX + (c % cols) * (cell_w + _GAP_PX)
        y0 = _GAP_PX + (c // cols) * (cell_h + _GAP_PX)
        if c == len(sel):
            if "flow" in st.features:
                mosaic[y0 + _LABEL_PX : y0 + cell_h, x0 : x0 + tile] = flow_legend(tile)
                captions.append((x0, y0, "flow colour key"))
            continue
        for j, (_, images) in enumerate(panels):
            x = x0 + j * (tile + 2)
            mosaic[y0 + _LABEL_PX : y0 + cell_h, x : x + tile] = _resize(images[c], tile)
        text = ids[c] if not emotions[c] else f"{ids[c]} · {emotions[c]}"
        captions.append((x0, y0, text))
    return mosaic, captions, [name for name, _ in panels]


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # scalable (FreeType) default font of Pillow >= 10.1
    except (TypeError, OSError):
        return ImageFont.load_default()


@options_of(gallery_image)
def gallery(store: Any, rows: Sequence[int] | NDArray[np.integer] | None = None, **options: Any) -> Image.Image:
    """A gallery of samples: face, flow and strain side by side, captioned with sample id and emotion.

    Drawn with Pillow rather than matplotlib: a 64-sample gallery is a large image, and Agg takes seconds to
    resample and encode it.

    Parameters
    ----------
    store : str, path or MEStore
    rows : sequence of int or boolean mask, optional
        Store rows to show (default: the first ``n`` done samples); rows not done are skipped. A boolean mask
        has one entry per store row.
    n : int
        At most this many samples.
    tile : int
        Side of each image in pixels.
    columns : int, optional
        Samples per row (default: a roughly 3:2 layout).
    max_magnitude : float, "shared" or "per-image"
        Flow colour scaling: one maximum over all shown samples (default, colours comparable), each
        image's own, or a fixed value in pixels. Strain uses one shared maximum.

    Returns
    -------
    PIL.Image.Image
        RGB. The faces are onset frames (``frames`` feature); a ``magnified`` (or ``amplified``) store
        feature adds a panel with its most-moved frame; the last cell is the flow colour key.
    """
    from PIL import Image, ImageDraw

    mosaic, captions, panels = gallery_image(store, rows, **options)
    tile = options["tile"]
    img = Image.fromarray(mosaic, mode="RGB")
    draw = ImageDraw.Draw(img)
    font = _font(max(8, min(12, tile // 8)))
    room = len(panels) * tile + (len(panels) - 1) * 2 - 2
    for x, y, text in captions:
        draw.text((x + 1, y + 1), _fit(draw, text, font, room), fill=(0, 0, 0), font=font)
    return img


def _fit(draw: Any, text: str, font: Any, room: int) -> str:
    """``text`` shortened from the left (``…`` + the end of the sample id) to fit ``room`` pixels."""
    if draw.textlength(text, font=font) <= room:
        return text
    for start in range(1, len(text)):
        short = "…" + text[start:]
        if draw.textlength(short, font=font) <= room:
            return short
    return text[-1:]


def class_means_figure(
    means: ClassMeans | Any,
    by: str = "emotion",
    *,
    tile: int = 128,
) -> Image.Image:
    """The class means of :func:`~mefast.viz.class_means` as a grid (the noisy-label paper's Figure 1).

    One row per class: mean onset face, mean flow (Middlebury coding, one maximum for all classes, key on
    the right), mean strain (hot colour map, one maximum for all classes) and that strain over the face.
    ``means`` may also be a store (path or :class:`mefast.MEStore`), averaged ``by`` the given label. Drawn
    with Pillow (a many-panel matplotlib figure takes seconds to draw).

    Returns
    -------
    PIL.Image.Image
        RGB.
    """
    from PIL import Image, ImageDraw

    cm = means if isinstance(means, ClassMeans) else class_means(means, by)
    cols: list[str] = [c for c in ("face", "flow", "strain") if c in cm.means]
    if "face" in cm.means and "strain" in cm.means:
        cols.append("strain on face")
    if not cols:
        raise ValueError("the class means hold neither flow, strain nor faces")
    if not len(cm.labels):
        raise ValueError(f"no class to draw: no finished sample has a {cm.by!r} label")
    flow_max = strain_max = None
    if "flow" in cm.means:
        peak = float(np.sqrt((cm.means["flow"] ** 2).sum(axis=1)).max())
        flow_max = peak if peak > 0 else None
    if "strain" in cm.means:
        top = float(cm.means["strain"].max())
        strain_max = top if top > 0 else None
    gap, label_px, title_px = 6, 16, 22 + 16  # title line, then the column names once
    key = "flow" in cm.means
    width = gap + len(cols) * (tile + gap) + (tile + gap if key else 0)
    height = title_px + len(cm.labels) * (tile + label_px + gap) + gap
    mosaic = np.full((height, width, 3), 255, np.uint8)
    texts: list[tuple[int, int, str]] = [(gap, 4, f"class means by {cm.by} (mean over the samples of each class)")]
    texts += [(gap + j * (tile + gap), 22, col) for j, col in enumerate(cols)]
    for i, label in enumerate(cm.labels):
        y = title_px + i * (tile + label_px + gap)
        texts.append((gap, y + 2, f"{label} (n={cm.counts[i]})"))
        face = np.clip(cm.means["face"][i], 0, 255).astype(np.uint8) if "face" in cm.means else None
        for j, col in enumerate(cols):
            x = gap + j * (tile + gap)
            if col == "face":
                assert face is not None
                img = to_rgb_image(face)
            elif col == "flow":
                img = flow_to_rgb(cm.means["flow"][i], flow_max)
            elif col == "strain":
                img = strain_to_rgb(cm.means["strain"][i], strain_max)
            else:
                assert face is not None
                heat = cm.means["strain"][i] / strain_max if strain_max else np.zeros_like(cm.means["strain"][i])
                img = overlay_heatmap(face, heat, cmap="hot", alpha=0.85)
            mosaic[y + label_px : y + label_px + tile, x : x + tile] = _resize(img, tile)
    if key:
        x = gap + len(cols) * (tile + gap)
        mosaic[title_px + label_px : title_px + label_px + tile, x : x + tile] = flow_legend(tile)
        texts.append((x, 22, "flow key"))
        texts.append((x, title_px + 2, f"max {flow_max:.2f} px" if flow_max else "no motion"))
    image = Image.fromarray(mosaic, mode="RGB")
    draw = ImageDraw.Draw(image)
    font = _font(11)
    for x, y, text in texts:
        draw.text((x, y), text, fill=(0, 0, 0), font=font)
    return image


def quiver(
    ax: Any,
    flow: ArrayLike,
    image: ArrayLike | None = None,
    *,
    step: int = 8,
    colour: str = "yellow",
    scale: float | None = None,
) -> None:
    """Draw flow arrows on a grid of ``step`` pixels over an image (or a blank canvas) on ``ax``.

    Parameters
    ----------
    ax : matplotlib Axes
    flow : array_like of shape (H, W, 2) or (2, H, W)
    image : array_like of shape (H, W) or (H, W, 3), optional
        Background (the face); grey if omitted.
    step : int
        Grid spacing; each arrow is the mean flow of its ``step`` x ``step`` block.
    scale : float, optional
        Arrow length per pixel of motion (default: the longest block mean spans 1.5 grid steps).
    """
    f = _as_flow(flow)
    h, w = f.shape[:2]
    if step < 1:
        raise ValueError(f"step must be a positive integer, got {step}")
    bg = to_rgb_image(image) if image is not None else np.full((h, w, 3), 128, np.uint8)
    if bg.shape[:2] != (h, w):
        raise ValueError(f"image {bg.shape[:2]} and flow {(h, w)} differ in size")
    ax.imshow(bg, interpolation="nearest")
    hb, wb = h // step, w // step
    if hb == 0 or wb == 0:
        raise ValueError(f"step {step} is larger than the flow ({h} x {w})")
    blocks = np.nan_to_num(f[: hb * step, : wb * step]).reshape(hb, step, wb, step, 2).mean(axis=(1, 3))
    y, x = np.mgrid[0:hb, 0:wb] * step + (step - 1) / 2
    longest = float(np.sqrt((blocks**2).sum(-1)).max())
    k = scale if scale is not None else (1.5 * step / longest if longest > 0 else 1.0)
    ax.quiver(
        x, y, blocks[..., 0] * k, blocks[..., 1] * k,
        color=colour, angles="xy", scale_units="xy", scale=1.0, width=0.006, headwidth=3.5,
    )  # fmt: skip
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_axis_off()


def flow_figure(store: Any, sample: int | str, *, step: int = 8, tile: int = 200, dpi: int = 100) -> Figure:
    """One sample in detail: face with flow arrows, Middlebury and HSV codings with their keys, strain."""
    st = open_store(store)
    row = int(st.row_of(sample))
    if not st.done[row]:
        raise ValueError(f"sample {st.meta['sample_id'].iloc[row]!r} (row {row}) is not preprocessed (not done)")
    if "flow" not in st.features:
        raise ValueError(f"the store has no flow array; it has {list(st.features)}")
    flow = np.moveaxis(st.read("flow", row), 0, -1)
    faces = face_frames(st, np.asarray([row]))
    face = faces[0] if faces is not None else None
    panels = 4 + ("strain" in st.features)
    fig = new_figure(panels * tile + 20, tile + 60, dpi=dpi)
    meta = st.meta.iloc[row]
    emotion = f" · {meta['emotion']}" if "emotion" in meta and str(meta["emotion"]) else ""
    fig.suptitle(f"{meta['sample_id']}{emotion} · onset → apex flow", fontsize=9)
    axes = [fig.add_axes(((4 + i * tile) / (panels * tile + 20), 0.02, (tile - 8) / (panels * tile + 20), 0.8))
            for i in range(panels)]  # fmt: skip
    quiver(axes[0], flow, face, step=step)
    axes[0].set_title("face + flow arrows", fontsize=8)
    peak = float(np.sqrt((flow**2).sum(-1)).max())
    show_image(axes[1], flow_to_rgb(flow), f"Middlebury (max {peak:.2f} px)")
    show_image(axes[2], flow_legend(tile), "Middlebury key")
    show_image(axes[3], flow_to_rgb(flow, coding="hsv"), "HSV (hue direction, value magnitude)")
    if "strain" in st.features:
        show_image(axes[4], strain_to_rgb(st.read("strain", row)), "optical strain")
    return fig


def cam_figure(
    face: ArrayLike,
    heat: ArrayLike,
    *,
    title: str = "",
    flow: ArrayLike | None = None,
    tile: int = 240,
    alpha: float = 0.5,
    dpi: int = 100,
) -> Figure:
    """A CAM / Grad-CAM map over the face: face, overlay (jet colour map) and, when given, the flow.

    ``heat`` in [0, 1] at any size (resized to the face); see :func:`mefast.viz.overlay_heatmap`.
    """
    panels = [("face", to_rgb_image(face, "face")), ("map on face", overlay_heatmap(face, heat, alpha=alpha))]
    if flow is not None:
        panels.append(("flow (Middlebury)", flow_to_rgb(flow)))
    import textwrap

    width = len(panels) * tile + 20
    lines = textwrap.wrap(title, width=max(20, int(width / 6.5))) if title else []
    top = 40 + 14 * len(lines)  # title lines, then the panel names
    height = tile + top + 10
    fig = new_figure(width, height, dpi=dpi)
    if lines:
        fig.suptitle("\n".join(lines), fontsize=9, y=1 - 4 / height, va="top")
    for i, (name, img) in enumerate(panels):
        ax = fig.add_axes(((10 + i * tile) / width, 10 / height, (tile - 8) / width, tile / height))
        show_image(ax, img, name)
    return fig
