"""Reading large frames for preprocess (issue 17.2): grey decode at a reduced size, straight into the face crop.

References we did not write: OpenCV's whole-frame decode followed by an exact ``r x r`` block mean (what a
reduced decode approximates), ``cv2.cvtColor`` for grey, and the crop of the whole decoded frame that
``preprocess`` made before (``decode="full"``). The reduction must never make the crop upsample a frame that the
whole decode would not.
"""

from __future__ import annotations

import dataclasses
import inspect

import cv2
import numpy as np
import pandas as pd
import pytest

import mefast
from mefast import MEStore, StoreError
from mefast.data import face_image
from mefast.datasets import Dataset
from mefast.datasets._engine.frames import _block_mean, read_image, read_rgb
from mefast.errors import FrameReadError
from mefast.face import COARSE_SIZE, FaceTransform, face_transform
from mefast.pipeline import PreprocessOptions, preprocess
from mefast.pipeline._reading import read_clip, reduction_for_size, supports_reduced_reads
from mefast.testing import smooth_field, warp_image

FRAME = (720, 1280)  # CAS(ME)^3 part A
T = 5  # frames 1..5, apex 3


def _scene(seed: int = 0) -> np.ndarray:
    """A 1280x720 RGB frame: the astronaut face (about 500 px tall) on a lit background, float32."""
    rng = np.random.default_rng(seed)
    face = cv2.resize(face_image(), None, fx=2.2, fy=2.2, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    h, w = FRAME
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    canvas = np.repeat((90 + 40 * x / w + 20 * y / h)[..., None], 3, axis=2)
    fh, fw = face.shape[:2]
    top, left = (h - fh) // 2 + 10, (w - fw) // 2 + 37 * seed
    canvas[top : top + fh, left : left + fw] = face
    return canvas + rng.normal(0, 1.5, canvas.shape).astype(np.float32)


def _write_clips(root, n: int = 2, ext: str = ".jpg") -> Dataset:
    rows, numbers, paths, dirs = [], [], [], []
    for i in range(n):
        base = _scene(i)
        field = smooth_field(*FRAME, amplitude=1.5, seed=i)
        folder = root / f"s{i}"
        folder.mkdir(parents=True)
        clip = []
        for t in range(1, T + 1):
            img = np.clip(np.rint(warp_image(base, field * (1 - abs(t - 3) / 2))), 0, 255).astype(np.uint8)
            p = folder / f"img{t}{ext}"
            cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
            clip.append(p)
        rows.append({"sample_id": f"big/s{i}/EP01", "dataset": "big", "subject": f"s{i}", "clip": "EP01", "onset": 1,
                     "apex": 3, "offset": T, "n_frames": T, "emotion": "surprise", "aus": "1+2"})  # fmt: skip
        numbers.append(list(range(1, T + 1)))
        paths.append(clip)
        dirs.append(folder)
    return Dataset(name="big", root=root, samples=pd.DataFrame(rows), frame_numbers=numbers, frame_paths=paths,
                   au_names=("AU1", "AU2"), clip_dirs=dirs)  # fmt: skip


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Dataset:
    return _write_clips(tmp_path_factory.mktemp("big"))


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b).mean())


# ---------------------------------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("r", [2, 4, 8])
def test_reduced_jpeg_decode_is_the_block_mean_of_the_whole_decode(big, r):
    path = big.frame_paths[0][0]
    whole, why = read_image(path, gray=True)
    assert why is None and whole.shape == FRAME
    reduced, _ = read_image(path, gray=True, reduction=r)
    assert reduced.shape == (-(-FRAME[0] // r), -(-FRAME[1] // r))
    ref = _block_mean(whole, r)
    assert ref.shape == reduced.shape
    # libjpeg's scaled IDCT is not an exact block mean: within a grey level almost everywhere
    assert _mae(reduced, ref) < 0.3 and np.abs(reduced.astype(int) - ref).max() <= 3
    colour, _ = read_image(path, reduction=r)
    assert colour.shape == (*reduced.shape, 3)
    assert _mae(cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY), reduced) < 0.5


def test_jpeg_luma_is_within_grey_levels_of_converting_rgb(big):
    path = big.frame_paths[0][2]
    rgb, _ = read_rgb(path)
    luma, _ = read_image(path, gray=True)
    converted = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert _mae(luma, converted) < 0.05 and np.abs(luma.astype(int) - converted).max() <= 4


@pytest.mark.parametrize("ext", [".png", ".bmp"])
def test_other_formats_are_converted_exactly_and_block_averaged(tmp_path, ext):
    img = np.clip(_scene()[::3, ::3], 0, 255).astype(np.uint8)  # 240 x 427: odd width, a partial edge block
    path = tmp_path / f"f{ext}"
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    rgb, _ = read_rgb(path)
    gray, _ = read_image(path, gray=True)
    np.testing.assert_array_equal(gray, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    for r in (2, 4):
        reduced, _ = read_image(path, gray=True, reduction=r)
        assert reduced.shape == (-(-gray.shape[0] // r), -(-gray.shape[1] // r))
        # an interior block is the rounded mean of its r x r pixels
        block = gray[r * 7 : r * 8, r * 11 : r * 12].astype(np.float64).mean()
        assert abs(int(reduced[7, 11]) - block) <= 0.5 + 1e-9


def test_read_frames_gray_and_reduced_keep_the_errors(big, tmp_path):
    frames = big.read_frames(0, gray=True, reduction=2)
    assert frames.shape == (T, 360, 640) and frames.dtype == np.uint8
    with pytest.raises(ValueError, match="reduction must be one of"):
        big.read_frames(0, reduction=3)
    broken = big.subset([1])
    bad = tmp_path / "img2.jpg"
    bad.write_bytes(broken.frame_paths[0][1].read_bytes()[:5000])
    broken.frame_paths = [[p if k != 1 else bad for k, p in enumerate(broken.frame_paths[0])]]  # a copy: subset shares
    for kw in ({}, {"gray": True, "reduction": 4}):
        with pytest.raises(FrameReadError, match=r"sample big/s1/EP01: frame 2 at .* is a truncated JPEG"):
            broken.read_frames(0, **kw)


# ------------------------------------------------------------------------------------------ choosing a reduction


def test_the_reduction_never_upsamples_and_is_the_largest_allowed(big):
    ref = big.read_frames(0, 1, 1, gray=True)[0]
    lm = mefast.landmarks68(ref)
    seen = set()
    for side in (16, 40, 64, 90, 128, 200, 256, 400, 512, 1024):
        t = face_transform(ref, size=(side, side), landmarks=lm)
        r = t.max_reduction()
        seen.add(r)
        assert r == 1 or t.scale * r <= 1.0 + 1e-9, (side, t.scale, r)  # >= one decoded pixel per crop pixel
        assert r == 8 or t.scale * 2 * r > 1.0, (side, t.scale, r)  # and the largest such
        assert t.max_reduction(limit=2) == min(r, 2)
        if t.scale > 0.5:  # the crop magnifies the face already: whole frames
            assert r == 1
    assert seen == {1, 2, 4, 8}
    assert t.max_reduction(limit=1) == 1
    for bad in (0, 2.0):
        with pytest.raises(ValueError, match="limit must be an integer >= 1"):
            t.max_reduction(limit=bad)
    assert reduction_for_size((720, 1280), (256, 256)) == 2
    assert reduction_for_size((720, 1280), (90, 160)) == 8
    assert reduction_for_size((280, 340), (256, 256)) == 1


def test_reduced_transform_maps_pixel_centres():
    """Warping a block-averaged frame with reduced(r) gives the crop of the whole frame (smooth image)."""
    rng = np.random.default_rng(3)
    small = rng.uniform(0, 255, (12, 20)).astype(np.float32)
    image = cv2.resize(small, (1280, 720), interpolation=cv2.INTER_CUBIC)  # smooth: area and point sampling agree
    lin = 0.1 * np.array([[np.cos(0.2), np.sin(0.2)], [-np.sin(0.2), np.cos(0.2)]])
    t = FaceTransform(np.column_stack([lin, [-30.0, 20.0]]), (64, 96))
    want = t.warp(image)
    for r in (2, 4, 8):
        got = t.reduced(r).warp(_block_mean_f(image, r))
        naive = FaceTransform(t.matrix @ np.diag([r, r, 1.0]), t.size).warp(_block_mean_f(image, r))  # no centre shift
        err, naive_err = _mae(got, want), _mae(naive, want)
        assert err < 0.015 * r * r, (r, err)  # the block mean's blur of a smooth image (measured 0.04, 0.17, 0.65)
        assert naive_err > 5 * err, (r, err, naive_err)  # half a reduced pixel off: 10-20x that
    assert t.reduced(1) is t
    with pytest.raises(ValueError, match="reduction must be 1, 2, 4 or 8"):
        t.reduced(3)


def _block_mean_f(image: np.ndarray, r: int) -> np.ndarray:
    h, w = image.shape
    return image[: h - h % r, : w - w % r].reshape(h // r, r, w // r, r).mean(axis=(1, 3)).astype(np.float32)


# ------------------------------------------------------------------------------------------------ the clip crop


@pytest.mark.parametrize("crop", [(128, 128), (64, 64), (32, 32)])
def test_cropped_face_is_close_to_the_whole_decode(big, crop):
    opts = PreprocessOptions(crop_size=crop)
    gray, lm, seconds, r = read_clip(big, 0, opts)
    assert gray.shape == (T, *crop) and gray.dtype == np.uint8 and set(seconds) == {"read", "align"}
    ref = big.read_frames(0, 1, 1, gray=True)[0]
    t = face_transform(ref, size=crop, coarse_size=COARSE_SIZE)  # the face searched as preprocess searches it
    assert r == t.max_reduction() > 1
    np.testing.assert_allclose(lm, t.landmarks.points)
    whole = big.read_frames(0, gray=True)
    # the same transform on the whole decode, block-averaged: differs only by the scaled IDCT (a grey level)
    averaged = t.reduced(r).warp(np.stack([_block_mean(f, r) for f in whole]))
    assert _mae(gray, averaged) < 0.3 and np.abs(gray.astype(int) - averaged).max() <= 3
    # and the crop preprocess made before (whole colour decode, grey, bilinear crop of the whole frame): that
    # one point-samples the frame, keeping its sensor noise (sigma 1.5 here) and aliasing where the crop shrinks
    # the frame by more than 2, which the block mean averages away. At r = 2 (the default 256 x 256 crop of a
    # CAS(ME)^3 face) measured 1.5 grey levels; at r = 4 and 8 the old crop's aliasing grows it to 4.3 and 8.4.
    rgb = big.read_frames(0)
    before = t.warp(np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb]))
    assert _mae(gray, before) < {2: 2.5, 4: 6.0, 8: 12.0}[r], (r, _mae(gray, before))


def test_large_crops_read_whole_frames(big):
    gray, _, _, r = read_clip(big, 0, PreprocessOptions(crop_size=(640, 640)))
    assert r == 1 and gray.shape == (T, 640, 640)


def test_decode_full_and_foreign_datasets_take_the_old_path(big):
    opts = PreprocessOptions(crop_size=(64, 64), decode="full")
    gray, lm, _, r = read_clip(big, 1, opts)
    converted = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in big.read_frames(1)])
    old = mefast.crop_align(converted, size=(64, 64), coarse_size=None)  # the face searched on the whole frame
    assert r == 1
    np.testing.assert_array_equal(gray, old.video)
    np.testing.assert_array_equal(lm, old.landmarks.points)

    class Plain:  # a dataset whose read_frames takes (i, first, last) only
        samples = big.samples

        def read_frames(self, i, first=None, last=None):
            return big.read_frames(i, first, last)

    assert supports_reduced_reads(big) and not supports_reduced_reads(Plain())
    gray2, _, _, r2 = read_clip(Plain(), 1, PreprocessOptions(crop_size=(64, 64)))
    assert r2 == 1
    np.testing.assert_array_equal(gray2, mefast.crop_align(converted, size=(64, 64), coarse_size=COARSE_SIZE).video)
    with pytest.raises(ValueError, match="decode must be 'reduced' or 'full'"):
        PreprocessOptions(decode="half")


@pytest.mark.parametrize("reference", [2, -3])
def test_the_face_reference_option_aligns_on_that_frame(big, reference):
    """``face={"reference": k}`` is crop_align's: frame ``k`` of the clip (3rd here, the apex) gives the transform."""
    opts = PreprocessOptions(crop_size=(64, 64), face={"reference": reference})
    gray, lm, _, r = read_clip(big, 0, opts)
    apex = big.read_frames(0, 3, 3, gray=True)[0]  # frame numbers 1..5
    t = face_transform(apex, size=(64, 64), coarse_size=COARSE_SIZE)
    assert r == t.max_reduction() > 1
    np.testing.assert_array_equal(lm, t.landmarks.points)
    np.testing.assert_array_equal(gray, t.reduced(r).warp(big.read_frames(0, gray=True, reduction=r)))
    # the whole-decode path takes it as crop_align does
    converted = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in big.read_frames(0)])
    full, full_lm, _, _ = read_clip(big, 0, PreprocessOptions(crop_size=(64, 64), face=opts.face, decode="full"))
    old = mefast.crop_align(converted, size=(64, 64), reference=reference)
    np.testing.assert_array_equal(full, old.video)
    np.testing.assert_array_equal(full_lm, old.landmarks.points)
    with pytest.raises(ValueError, match="reference must be a frame index of the 5-frame clip, got 5"):
        read_clip(big, 0, PreprocessOptions(crop_size=(64, 64), face={"reference": T}))


def test_preprocess_searches_large_frames_on_a_copy_and_the_public_functions_do_not(big, monkeypatch):
    """The coarse search is preprocess's choice (``COARSE_SIZE``); crop_align and the rest search the whole frame
    unless given ``coarse_size`` (``tests/face/test_coarse_detection.py``)."""
    from mefast import face

    calls = []
    real = face._boxes
    monkeypatch.setattr(face, "_boxes", lambda name, gray, up: calls.append(gray.shape) or real(name, gray, up))

    def searched(fn):
        calls.clear()
        fn()
        return [c for c in calls if c != face_image().shape[:2]]  # not the template's own image

    dlib_box = "dlib" in face.available_detectors() and face.dlib_model_path() is not None  # else the template's
    small = (COARSE_SIZE, round(FRAME[1] * COARSE_SIZE / FRAME[0]))
    opts = PreprocessOptions(crop_size=(64, 64))
    assert searched(lambda: read_clip(big, 0, opts))[0] == (small if dlib_box else FRAME)
    assert searched(lambda: read_clip(big, 0, dataclasses.replace(opts, decode="full")))[0] == FRAME
    onset = big.read_frames(0, 1, 1, gray=True)
    assert searched(lambda: mefast.crop_align(onset, size=(64, 64)))[0] == FRAME


def test_align_none_reads_no_larger_than_the_crop(big):
    opts = PreprocessOptions(crop_size=(90, 160), align="none")
    gray, lm, _, r = read_clip(big, 0, opts)
    assert r == 8 and lm is None and gray.shape == (T, 90, 160)
    whole = big.read_frames(0, gray=True)
    ref = np.stack([cv2.resize(f, (160, 90), interpolation=cv2.INTER_AREA) for f in whole])
    assert _mae(gray, ref) < 0.3


# ------------------------------------------------------------------------------------------------- preprocess


def test_preprocess_reduced_against_full_decode(big, tmp_path):
    kw = {"features": ("flow", "strain", "frames"), "size": (32, 32), "n_jobs": 1, "progress": False}
    crop = (64, 64)
    full = preprocess(big, tmp_path / "full.zarr", options=PreprocessOptions(crop_size=crop, decode="full"), **kw)
    fast = preprocess(big, tmp_path / "fast.zarr", options=PreprocessOptions(crop_size=crop), **kw)
    assert full.complete and fast.complete
    a, b = MEStore.open(tmp_path / "full.zarr"), MEStore.open(tmp_path / "fast.zarr")
    for i in range(len(big)):
        fa, fb = np.moveaxis(a.read("flow", i), 0, -1), np.moveaxis(b.read("flow", i), 0, -1)
        moving = np.linalg.norm(fa, axis=-1).mean()
        assert moving > 0.05  # the clips move
        assert np.linalg.norm(fa - fb, axis=-1).mean() < 0.25 * moving, i
        assert _mae(a.read("frames", i), b.read("frames", i)) < 5.0  # measured 3.2: landmarks and r = 4
    # the decode is part of the store's parameters: a store of one is not resumed with the other
    with pytest.raises(StoreError, match="decode"):
        preprocess(big, tmp_path / "full.zarr", options=PreprocessOptions(crop_size=crop), **kw)


# ------------------------------------------------------------------------------------------------- docstrings


def _sections(fn) -> dict[str, list[str]]:
    """A numpydoc docstring's sections: header -> the names of its unindented entries."""
    lines = (inspect.getdoc(fn) or "").splitlines()
    out: dict[str, list[str]] = {}
    name = None
    for line, below in zip(lines, [*lines[1:], ""], strict=True):
        if below and set(below) == {"-"} and len(below) == len(line):
            name = line
            out[name] = []
        elif name and line and not line.startswith(" ") and set(line) != {"-"}:
            out[name].append(line.split(" :")[0])
    return out


@pytest.mark.parametrize("fn", [FaceTransform.max_reduction, FaceTransform.reduced, read_image])
def test_the_reading_helpers_document_parameters_returns_and_raises(fn):
    sections = _sections(fn)
    documented = {n.strip() for entry in sections.get("Parameters", []) for n in entry.split(",")}
    assert set(inspect.signature(fn).parameters) - {"self"} <= documented, sections
    assert sections.get("Returns") and sections.get("Raises") == ["ValueError"], sections
