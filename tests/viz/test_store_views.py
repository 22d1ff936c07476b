"""Store views: class means against numpy means of the store arrays, the gallery's tiles, magnified frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mefast.viz import (
    class_means,
    class_means_figure,
    figure_png,
    flow_figure,
    flow_to_rgb,
    gallery,
    gallery_image,
    save_figure,
    strain_to_rgb,
)


def test_class_means_equal_numpy_means(tmp_path, make_store, const):
    EMOTIONS, SIZE = const.EMOTIONS, const.SIZE
    st = make_store(tmp_path / "s.zarr", n=12, done_all=False)  # row 1 not done: left out
    cm = class_means(st, "emotion", batch=5)
    done = st.done
    flow, strain, frames = st.read("flow", slice(None)), st.read("strain", slice(None)), st.read("frames", slice(None))
    emo = st.meta["emotion"].to_numpy()
    assert cm.labels == tuple(sorted(EMOTIONS))
    for k, label in enumerate(cm.labels):
        sel = done & (emo == label)
        assert cm.counts[k] == sel.sum()
        np.testing.assert_allclose(cm.means["flow"][k], flow[sel].mean(axis=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(cm.means["strain"][k], strain[sel].mean(axis=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(cm.means["face"][k], frames[sel, 0].astype(float).mean(axis=0), rtol=1e-5)
    assert cm.means["flow"].shape == (3, 2, SIZE, SIZE) and cm.means["flow"].dtype == np.float32


def test_class_means_by_au_count_every_au_of_a_sample(store, const):
    AU_NAMES = const.AU_NAMES
    cm = class_means(store, "au")
    au = store.au
    flow = store.read("flow", slice(None))
    assert cm.labels == tuple(AU_NAMES)
    for k in range(len(AU_NAMES)):
        sel = au[:, k] == 1
        assert cm.counts[k] == sel.sum()
        np.testing.assert_allclose(cm.means["flow"][k], flow[sel].mean(axis=0), rtol=1e-5, atol=1e-6)
    assert cm.counts.sum() > len(store)  # samples with two AUs count twice


def test_class_means_rows_and_errors(store):
    cm = class_means(store, "dataset", rows=[0, 1, 2, 9], features=["strain"])
    assert cm.labels == ("casme2", "samm") and cm.counts.tolist() == [3, 1] and set(cm.means) == {"strain", "face"}
    np.testing.assert_allclose(cm.means["strain"][1], store.read("strain", 9), rtol=1e-6)
    with pytest.raises(ValueError, match="metadata column"):
        class_means(store, "colour")
    with pytest.raises(ValueError, match="no \\['lbptop'\\]"):
        class_means(store, features=["lbptop"])
    with pytest.raises(ValueError, match="rows"):
        class_means(store, rows=[99])


def test_gallery_tiles_are_the_colour_coded_store_arrays(store, const):
    SIZE = const.SIZE
    mosaic, captions, panels = gallery_image(store, n=5, tile=SIZE, columns=3)
    assert panels == ["face", "flow", "strain"]
    assert len(captions) == 6 and captions[0][2] == "casme2/s0/clip00 · happiness"
    assert captions[-1][2] == "flow colour key"
    flows = store.read("flow", np.arange(5))
    shared = float(np.sqrt((flows**2).sum(axis=1)).max())
    strains = store.read("strain", np.arange(5))
    # cell 4 (row 1, column 0): face | flow | strain, each SIZE wide with 2 px between
    x0, y0 = captions[4][0], captions[4][1] + 14
    np.testing.assert_array_equal(mosaic[y0 : y0 + SIZE, x0 : x0 + SIZE, 0], store.read("frames", 4)[0])
    np.testing.assert_array_equal(
        mosaic[y0 : y0 + SIZE, x0 + SIZE + 2 : x0 + 2 * SIZE + 2], flow_to_rgb(flows[4], shared)
    )
    np.testing.assert_array_equal(
        mosaic[y0 : y0 + SIZE, x0 + 2 * SIZE + 4 : x0 + 3 * SIZE + 4], strain_to_rgb(strains[4], strains.max())
    )


def test_gallery_is_a_png_of_the_mosaic_size(store, tmp_path, png_size):
    img = gallery(store, n=12, tile=40)
    mosaic, _, _ = gallery_image(store, n=12, tile=40)
    assert img.size == (mosaic.shape[1], mosaic.shape[0])
    path = save_figure(img, tmp_path / "g.png")
    assert png_size(path.read_bytes()) == img.size
    arr = np.asarray(Image.open(path).convert("RGB"))
    assert arr.std() > 10  # not blank


def test_gallery_shows_magnified_frames_when_the_store_has_them(tmp_path, make_store, const):
    SIZE = const.SIZE
    st = make_store(tmp_path / "m.zarr", n=4, magnified=True)
    mosaic, captions, panels = gallery_image(st, tile=SIZE, columns=4)
    assert panels == ["face", "flow", "strain", "magnified"]
    x0, y0 = captions[2][0], captions[2][1] + 14
    mag = st.read("magnified", 2)
    np.testing.assert_array_equal(mosaic[y0 : y0 + SIZE, x0 + 3 * (SIZE + 2) : x0 + 4 * SIZE + 6, 0], mag[2])


def test_class_means_figure_draws_the_means(store, const, png_size):
    SIZE = const.SIZE
    cm = class_means(store)
    img = class_means_figure(cm, tile=SIZE)
    arr = np.asarray(img)
    peak = float(np.sqrt((cm.means["flow"] ** 2).sum(axis=1)).max())
    want = flow_to_rgb(cm.means["flow"][0], peak)
    # the first class's flow tile: second column (6 px gaps), below the title, column names and row label
    x, y = 6 + SIZE + 6, 22 + 16 + 16
    np.testing.assert_array_equal(arr[y : y + SIZE, x : x + SIZE], want)
    last = flow_to_rgb(cm.means["flow"][2], peak)
    y2 = 22 + 16 + 2 * (SIZE + 16 + 6) + 16
    np.testing.assert_array_equal(arr[y2 : y2 + SIZE, x : x + SIZE], last)
    assert png_size(figure_png(img)) == img.size
    assert class_means_figure(store, "au", tile=SIZE).size == img.size  # three AUs, three emotions


def test_flow_figure_renders_headless_at_the_stated_size(store, png_size):
    fig = flow_figure(store, "samm/s2/clip06", tile=150, dpi=100)
    assert fig.canvas.get_default_filetype() == "png"
    assert type(fig.canvas).__name__ == "FigureCanvasAgg"
    assert png_size(figure_png(fig)) == (5 * 150 + 20, 150 + 60)
    with pytest.raises(ValueError, match="not in the"):
        flow_figure(store, "nope/none")


def test_rows_accept_a_boolean_mask_and_refuse_other_dtypes(store, const):
    mask = (store.meta["dataset"] == "samm").to_numpy()  # rows 6..11, not rows 0 and 1
    cm = class_means(store, "dataset", rows=mask)
    assert cm.labels == ("samm",) and cm.counts.tolist() == [int(mask.sum())]
    _, captions, _ = gallery_image(store, rows=mask, tile=const.SIZE)
    assert [c[2].split(" · ")[0] for c in captions[:-1]] == store.meta["sample_id"][mask].tolist()
    for bad in (mask[:-1], np.array([0.0, 1.0]), np.array(["0", "1"])):
        with pytest.raises(ValueError, match="rows"):
            class_means(store, rows=bad)
        with pytest.raises(ValueError, match="rows"):
            gallery_image(store, rows=bad)


def test_class_means_figure_refuses_zero_classes(tmp_path, make_store):
    from mefast.store import MEStore

    make_store(tmp_path / "s.zarr", n=6)
    st = MEStore.open(tmp_path / "s.zarr", mode="r+")
    meta = st.meta
    meta["emotion"] = ""
    st.rewrite_meta(meta, st.au)
    cm = class_means(st, "emotion")
    assert cm.labels == ()
    with pytest.raises(ValueError, match="no class to draw"):
        class_means_figure(cm)
