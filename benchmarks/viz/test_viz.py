"""Picture speed, side by side with the peers: Middlebury colour coding of a 256x256 flow (goal < 2 ms; peer
flow_vis, the usual Python port of colorcode.cpp) and a 64-sample gallery read from a store (goal < 2 s; peer:
the usual matplotlib subplot grid, one axes per image)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mefast.store import MEStore
from mefast.viz import figure_png, flow_to_rgb, gallery, strain_to_rgb

flow_vis = pytest.importorskip("flow_vis")
pytest.importorskip("matplotlib")

GROUP_FLOW = "flow colour coding 256x256 (Middlebury wheel)"
GROUP_GALLERY = "gallery of 64 samples from a store (face, flow, strain; 128x128), to PNG bytes"


@pytest.fixture(scope="module")
def flow256():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:256, 0:256].astype(np.float32)
    # a smooth rotating field plus noise: every direction and a range of magnitudes
    f = np.stack([-(y - 128) / 40, (x - 128) / 40], axis=-1) + rng.normal(0, 0.3, (256, 256, 2))
    return f.astype(np.float32)


def test_flow_colour_flow_vis(benchmark, report, flow256):
    out = benchmark(flow_vis.flow_to_color, flow256)
    assert out.shape == (256, 256, 3)
    report(GROUP_FLOW, "flow_vis.flow_to_color (NumPy)", benchmark, baseline=True)


def test_flow_colour_mefast(benchmark, report, flow256):
    out = benchmark(flow_to_rgb, flow256)
    assert np.abs(out.astype(int) - flow_vis.flow_to_color(flow256).astype(int)).max() <= 1  # same picture
    report(GROUP_FLOW, "mefast.viz.flow_to_rgb", benchmark)


@pytest.fixture(scope="module")
def store64(tmp_path_factory):
    n, s = 64, 128
    rng = np.random.default_rng(1)
    samples = pd.DataFrame(
        {
            "sample_id": [f"casme2/sub{i // 4:02d}/EP{i:02d}_01f" for i in range(n)],
            "subject": [f"sub{i // 4:02d}" for i in range(n)],
            "emotion": [("happiness", "surprise", "disgust", "repression")[i % 4] for i in range(n)],
        }
    )
    path = tmp_path_factory.mktemp("viz") / "g.zarr"
    st = MEStore.create(
        path,
        samples,
        au=np.zeros((n, 1), np.uint8),
        au_names=["AU1"],
        arrays={"flow": ((2, s, s), "float32"), "strain": ((s, s), "float32"), "frames": ((10, s, s), "uint8")},
    )
    import cv2

    from mefast.data import face_image

    face = cv2.resize(face_image(gray=True), (s, s), interpolation=cv2.INTER_AREA)
    y, x = np.mgrid[0:s, 0:s].astype(np.float32) / s
    for i in range(n):
        # a face (the bundled one, with sensor noise) and a smooth flow: what real galleries show
        k = 1 + i % 5
        flow = np.stack([np.sin(k * np.pi * x) * np.cos(np.pi * y), np.cos(k * np.pi * y) * x]) * (0.5 + i / 64)
        flow = (flow + rng.normal(0, 0.05, flow.shape)).astype(np.float32)
        frames = np.clip(face[None] + rng.normal(0, 3, (10, s, s)), 0, 255).astype(np.uint8)
        st.write_sample(i, {"flow": flow, "strain": np.abs(np.gradient(flow[0])[0]), "frames": frames})
        st.mark_done(i)
    return path


def _matplotlib_grid(path):
    """The usual way: read the arrays, one imshow axes per image on a subplot grid, titles, savefig."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    st = MEStore.open(path)
    rows = np.flatnonzero(st.done)[:64]
    flows, strains, frames = st.read("flow", rows), st.read("strain", rows), st.read("frames", rows)
    fig = Figure(figsize=(24, 16), dpi=64)
    FigureCanvasAgg(fig)
    axes = fig.subplots(16, 12)
    peak = float(np.sqrt((flows**2).sum(1)).max())
    for i in range(64):
        r, c = divmod(i, 4)
        for j, img in enumerate((frames[i, 0], flow_to_rgb(flows[i], peak), strain_to_rgb(strains[i]))):
            ax = axes[r, 3 * c + j]
            ax.imshow(img, cmap="gray")
            ax.set_axis_off()
        axes[r, 3 * c].set_title(st.meta["sample_id"][rows[i]], fontsize=6)
    return figure_png(fig)


def test_gallery_matplotlib_grid(benchmark, report, store64):
    png = benchmark.pedantic(_matplotlib_grid, args=(store64,), rounds=2, iterations=1)
    assert png[:4] == b"\x89PNG"
    report(GROUP_GALLERY, "matplotlib subplot grid (192 axes) + savefig", benchmark, baseline=True)


def test_gallery_mefast(benchmark, report, store64):
    def run():
        return figure_png(gallery(store64, n=64, tile=96))

    png = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    assert png[:4] == b"\x89PNG"
    report(GROUP_GALLERY, "mefast.viz.gallery (mosaic + Pillow) + PNG", benchmark)
