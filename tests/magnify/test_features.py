"""Store features of the magnification work: flows between key frames, On-A/Off-A, magnified frames, recipes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

import mefast
from mefast import MEStore
from mefast.data import face_image
from mefast.datasets import Dataset
from mefast.magnification import magnify, magnify_pair
from mefast.pipeline import PreprocessOptions, preprocess
from mefast.testing import smooth_field, warp_image

FRAME = (64, 56)
SIZE = (32, 28)
T = 7
PROFILE = [0.0, 0.4, 0.8, 1.0, 0.7, 0.3, 0.0]  # frames 1..7: onset 1, apex 4, offset 7


def _field(i: int) -> np.ndarray:
    return smooth_field(*FRAME, amplitude=0.8, seed=i)


def _write(root: Path) -> Dataset:
    """Three clips of the face moved by a known field; the last one is annotated with onset == apex (CAS(ME)^3)."""
    face = cv2.resize(face_image(), (FRAME[1], FRAME[0]), interpolation=cv2.INTER_AREA)
    rows, numbers, paths, dirs = [], [], [], []
    for i in range(3):
        folder = root / f"s{i}" / "EP01"
        folder.mkdir(parents=True)
        clip = []
        for t in range(1, T + 1):
            img = np.clip(np.rint(warp_image(face, _field(i) * PROFILE[t - 1])), 0, 255).astype(np.uint8)
            p = folder / f"img{t}.png"
            cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            clip.append(p)
        apex = 1 if i == 2 else 4
        rows.append({"sample_id": f"m/s{i}/EP01", "dataset": "m", "subject": f"s{i}", "clip": "EP01", "onset": 1,
                     "apex": apex, "offset": T, "n_frames": T, "emotion": "surprise", "aus": "1+2"})  # fmt: skip
        numbers.append(list(range(1, T + 1)))
        paths.append(clip)
        dirs.append(folder)
    return Dataset(name="m", root=root, samples=pd.DataFrame(rows), frame_numbers=numbers, frame_paths=paths,
                   au_names=("AU1", "AU2"), clip_dirs=dirs)  # fmt: skip


FEATURES = "flow,flow_pair,flow_apex_offset,flow_onset_frames,amplified,on_a,off_a,frames_magnified"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    ds = _write(tmp_path_factory.mktemp("clips"))
    opts = PreprocessOptions(crop_size=FRAME, align="none", tim_frames=5, magnify={"alpha": 3.0})
    path = tmp_path_factory.mktemp("store") / "m.zarr"
    report = preprocess(ds, path, features=FEATURES, size=SIZE, options=opts, n_jobs=1, progress=False)
    assert report.complete, report.failures
    return ds, MEStore.open(path), opts


def _grey(ds: Dataset, i: int) -> np.ndarray:
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in ds.read_frames(i)])


def test_flows_between_key_frames(store):
    ds, st, opts = store
    np.testing.assert_array_equal([int(st.read("flow_pair", i)[0]) for i in range(3)], [0, 0, 1])
    for i in (0, 1):
        # apex -> offset moves the content back by the whole field
        truth = mefast.resize_flow(_field(i), SIZE)
        got = np.moveaxis(st.read("flow_apex_offset", i), 0, -1)
        assert np.linalg.norm(got - truth, axis=-1)[3:-3, 3:-3].mean() < 0.15
        onset_apex = np.moveaxis(st.read("flow", i), 0, -1)
        assert np.linalg.norm(onset_apex + truth, axis=-1)[3:-3, 3:-3].mean() < 0.15
    # onset == apex: the motion flow is apex -> offset, the same as flow_apex_offset
    g = _grey(ds, 2)
    sub = mefast.resize_flow(mefast.tvl1(g[0], g[-1], params=opts.flow), SIZE)
    np.testing.assert_allclose(np.moveaxis(st.read("flow", 2), 0, -1), sub, atol=1e-5)
    np.testing.assert_allclose(st.read("flow_apex_offset", 2), st.read("flow", 2), atol=1e-5)
    # onset -> each TIM frame: the public API on the TIM clip
    clip = mefast.tim(_grey(ds, 0), 5, output="uint8")
    flows = mefast.compute_flow(clip, reference="first", params=opts.flow)
    want = np.stack([np.moveaxis(mefast.resize_flow(f, SIZE), -1, 0) for f in flows])
    np.testing.assert_allclose(st.read("flow_onset_frames", 0), want, atol=1e-5)


def test_amplified_and_on_off_apex(store):
    ds, st, _ = store
    g = _grey(ds, 0)
    amp = magnify_pair(g[0], g[3], 3.0)
    want = cv2.resize(amp, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(st.read("amplified", 0), want)
    # On-A: onset -> apex magnitude (target 'apex'), about the true motion's length at the store size
    truth = np.linalg.norm(mefast.resize_flow(_field(0), SIZE), axis=-1)
    on_a = st.read("on_a", 0)
    assert np.abs(on_a - truth)[3:-3, 3:-3].mean() < 0.2
    assert truth.max() > 0.5
    # Off-A: offset -> apex, the same motion back
    assert np.abs(st.read("off_a", 0) - truth)[3:-3, 3:-3].mean() < 0.2
    frames = st.read("frames_magnified", 0)
    clip = mefast.tim(g, 5, output="uint8")
    mag = magnify(clip, 3.0, "eulerian-2frame")
    np.testing.assert_array_equal(frames, np.stack([cv2.resize(f, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_AREA)
                                                    for f in mag]))  # fmt: skip


def test_recipes_recorded_in_the_store_attrs(store):
    _, st, _ = store
    params = st.attrs["parameters"]
    recipes = params["recipes"]
    assert set(recipes) == set(FEATURES.split(","))
    assert "apex -> offset" in recipes["flow_apex_offset"]
    assert "alpha=3.0" in recipes["amplified"]
    assert params["options"]["magnify"] == {"alpha": 3.0}


def test_bad_magnify_options_are_refused():
    with pytest.raises(ValueError, match="unknown magnify option"):
        PreprocessOptions(magnify={"alfa": 2})
    with pytest.raises(ValueError, match="two-frame method"):
        PreprocessOptions(magnify={"method": "eulerian"})
    with pytest.raises(ValueError, match="features must be"):
        preprocess(None, "x.zarr", features="flow,magic")  # type: ignore[arg-type]


def test_on_off_target_auto_chooses_by_corpus(tmp_path):
    """on_off_target="auto": On-A/Off-A flow into the amplified frame for a SAMM sample and into the apex for a
    CASME II one, in one store (the dual-branch paper's choice per corpus)."""
    import dataclasses

    ds = _write(tmp_path / "clips")
    samples = ds.samples.iloc[:2].copy()
    samples["dataset"] = ["samm", "casme2"]
    ds = dataclasses.replace(ds, samples=samples, frame_numbers=ds.frame_numbers[:2], frame_paths=ds.frame_paths[:2],
                             clip_dirs=ds.clip_dirs[:2])  # fmt: skip
    got = {}
    for target in ("apex", "amplified", "auto"):
        opts = PreprocessOptions(crop_size=FRAME, align="none", magnify={"alpha": 3.0, "on_off_target": target})
        path = tmp_path / f"{target}.zarr"
        assert preprocess(ds, path, features="on_a,off_a", size=SIZE, options=opts, n_jobs=1, progress=False).complete
        got[target] = MEStore.open(path)
    for name in ("on_a", "off_a"):
        assert not np.array_equal(got["apex"].read(name, 0), got["amplified"].read(name, 0))
        np.testing.assert_array_equal(got["auto"].read(name, 0), got["amplified"].read(name, 0))  # SAMM
        np.testing.assert_array_equal(got["auto"].read(name, 1), got["apex"].read(name, 1))  # CASME II
    assert "amplified frame for SAMM" in got["auto"].attrs["parameters"]["recipes"]["on_a"]
    with pytest.raises(ValueError, match="on_off_target must be one of"):
        PreprocessOptions(magnify={"on_off_target": "samm"})
