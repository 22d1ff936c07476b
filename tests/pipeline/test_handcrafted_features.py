"""The extra hand-crafted descriptors and the frame selections in ``preprocess``, and the SVM on them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import mefast
from mefast import MEStore
from mefast.pipeline import PreprocessOptions, preprocess

from .test_pipeline import CROP, SIZE, write_tiny

EXTRA = ("hoof", "lbpsip", "lbpmop", "hog3d", "higo")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny(tmp_path_factory.mktemp("tiny_hand"), n=4)


def _aligned(tiny, i):
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in tiny.read_frames(i)])
    return mefast.crop_align(gray, size=CROP).video


def test_extra_descriptors_match_the_public_api(tiny, tmp_path):
    opts = PreprocessOptions(crop_size=CROP, frame_selection="uniform", tim_frames=5,
                             handcrafted={"lbpsip": {"blocks": (4, 4)}, "hog3d": {"bins": 6}})  # fmt: skip
    report = preprocess(tiny, tmp_path / "s.zarr", size=SIZE, options=opts, features=("frames", *EXTRA),
                        n_jobs=1, progress=False)  # fmt: skip
    assert report.complete and not report.failures
    st = MEStore.open(tmp_path / "s.zarr")
    assert set(st.features) == {"frames", *EXTRA}
    i = 1
    clip = _aligned(tiny, i)
    sel = mefast.select_frames(clip, "uniform", n_frames=5)
    small = np.stack([cv2.resize(f, SIZE[::-1], interpolation=cv2.INTER_AREA) for f in sel])
    np.testing.assert_array_equal(st.read("frames", i), small)
    np.testing.assert_array_equal(st.read("lbpsip", i), mefast.lbp_sip(sel, blocks=(4, 4)))
    np.testing.assert_array_equal(st.read("lbpmop", i), mefast.lbp_mop(sel))
    np.testing.assert_array_equal(st.read("hog3d", i), mefast.hog3d(sel, bins=6))
    np.testing.assert_array_equal(st.read("higo", i), mefast.higo(sel))
    full = mefast.tvl1(clip[0], clip[3], params="accurate")
    np.testing.assert_array_equal(st.read("hoof", i), mefast.hoof(full))


@pytest.mark.parametrize(("how", "n"), [("onset_apex", 2), ("apex", 1), ("dmdsp", 4)])
def test_frame_selection_of_the_frames_feature(tiny, tmp_path, how, n):
    opts = PreprocessOptions(crop_size=CROP, frame_selection=how, tim_frames=4)
    preprocess(tiny, tmp_path / "f.zarr", size=SIZE, options=opts, features=("frames",), n_jobs=1, progress=False)
    st = MEStore.open(tmp_path / "f.zarr")
    frames = st.read("frames", 0)
    assert frames.shape == (n, *SIZE) and frames.dtype == np.uint8
    if how == "onset_apex":
        clip = _aligned(tiny, 0)
        want = np.stack([cv2.resize(f, SIZE[::-1], interpolation=cv2.INTER_AREA) for f in clip[[0, 3]]])
        np.testing.assert_array_equal(frames, want)


def test_options_validation():
    with pytest.raises(ValueError, match="frame_selection"):
        PreprocessOptions(frame_selection="random")
    with pytest.raises(ValueError, match="unknown descriptors"):
        PreprocessOptions(handcrafted={"lbp_sip": {}})


def test_svm_on_an_extra_descriptor(tiny, tmp_path):
    from mefast.train.baselines import SVM_FEATURES, svm_features
    from mefast.train.data import StoreSource

    assert set(EXTRA) <= set(SVM_FEATURES)
    opts = PreprocessOptions(crop_size=CROP)
    preprocess(tiny, tmp_path / "v.zarr", size=SIZE, options=opts, features=("lbpsip", "hoof"), n_jobs=1,
               progress=False)  # fmt: skip
    src = StoreSource(MEStore.open(tmp_path / "v.zarr"))
    x = svm_features(src, np.arange(4), "lbpsip")
    assert x.shape == (4, 25 * 20) and np.isfinite(x).all()
    from mefast.train import evaluate

    ev = evaluate(tmp_path / "v.zarr", "loso", "svm", feature="hoof")
    assert "hoof" in ev.method
    assert len(ev.predictions) == 4
