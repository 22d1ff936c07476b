"""The chunked long-video feature pass: kernels against brute force, chunking invariance, bounded memory."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest

from mefast.errors import ShapeError
from mefast.spotting import FeatureOptions, iter_features, long_video_features
from mefast.spotting._features import FrameGeometry, _u2_table, block_lbp, block_mdmd, block_mean, lbp_codes


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((h, w)).astype(np.float32) * 255, (0, 0), 2.0)


def _moving_frames(n: int, h: int = 40, w: int = 40, seed: int = 0):
    """A lazily generated video: a smooth texture translating by a fraction of a pixel per frame, plus noise."""
    import cv2

    base = _texture(h + 8, w + 8, seed)
    rng = np.random.default_rng(seed + 1)
    for t in range(n):
        dx = 2.0 * np.sin(t / 25.0)
        m = np.float32([[1, 0, dx], [0, 1, 0]])
        f = cv2.warpAffine(base, m, (w + 8, h + 8), flags=cv2.INTER_LINEAR)[4:-4, 4:-4]
        yield np.clip(f + rng.normal(0, 1.0, f.shape), 0, 255).astype(np.uint8)


def test_lbp_codes_match_the_definition() -> None:
    img = np.random.default_rng(3).integers(0, 256, (9, 11)).astype(np.float32)
    codes = lbp_codes(img[None])[0]
    offsets = [(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]  # (dy, dx), angle 2 pi p / 8
    for y in range(1, 8):
        for x in range(1, 10):
            want = sum(1 << p for p, (dy, dx) in enumerate(offsets) if img[y + dy, x + dx] >= img[y, x])
            assert codes[y - 1, x - 1] == want


def test_block_pooling_against_numpy() -> None:
    rng = np.random.default_rng(1)
    h, w = 34, 38
    geo = FrameGeometry((h, w), (2, 3), None, False)
    maps = rng.random((3, h, w)).astype(np.float32)
    bh, bw = (h - 2) // 2, (w - 2) // 3
    want = np.array(
        [
            [
                maps[i, 1 + r * bh : 1 + (r + 1) * bh, 1 + c * bw : 1 + (c + 1) * bw].mean()
                for r in range(2)
                for c in range(3)
            ]
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(block_mean(maps, geo), want, rtol=1e-5)
    frames = rng.integers(0, 256, (2, h, w)).astype(np.float32)
    hist = block_lbp(frames, geo, _u2_table(), sigma=0)
    np.testing.assert_allclose(hist.sum(-1), 1.0, rtol=1e-6)
    table = _u2_table()
    codes = lbp_codes(frames)
    blk = codes[1, bh : 2 * bh, 2 * bw : 3 * bw]
    np.testing.assert_allclose(hist[1, 5], np.bincount(table[blk].ravel(), minlength=59) / blk.size, rtol=1e-6)


def test_mdmd_block_value_against_brute_force() -> None:
    rng = np.random.default_rng(2)
    h, w = 20, 20
    geo = FrameGeometry((h, w), (2, 2), None, False)
    f1 = rng.normal(0, 1, (2, h, w, 2)).astype(np.float32)
    f1[0, ..., 0] += 0.7  # a dominant direction
    f2 = rng.normal(0, 1, (2, h, w, 2)).astype(np.float32)
    got = block_mdmd(f1, f2, geo)
    for i in range(2):
        for b in range(4):
            r, c = divmod(b, 2)
            sl = (i, slice(1 + 9 * r, 1 + 9 * (r + 1)), slice(1 + 9 * c, 1 + 9 * (c + 1)))
            u, v = f1[sl][..., 0].ravel(), f1[sl][..., 1].ravel()
            q = np.where(v < 0, np.where(u >= 0, 1, 0), np.where(u >= 0, 2, 3))
            best = int(np.bincount(q, minlength=4).argmax())
            d = np.hypot(u, v) - np.hypot(f2[sl][..., 0].ravel(), f2[sl][..., 1].ravel())
            sel = np.sort(d[q == best])[::-1]
            top = -(-len(sel) // 3)
            assert got[i, b] == pytest.approx(sel[:top].mean(), rel=1e-5)


def test_chunking_does_not_change_the_features() -> None:
    frames = list(_moving_frames(45))
    opts = dict(lags=(2, 3), size=(40, 40), blocks=(3, 3), features=("lbp", "uv", "mag", "strain", "mdmd", "softnet"))
    a = long_video_features(frames, FeatureOptions(chunk=7, **opts), landmarks=None)
    b = long_video_features(iter(frames), FeatureOptions(chunk=100, **opts), landmarks=None)
    assert set(a) == {
        "lbp",
        "uv2",
        "uv3",
        "mag2",
        "mag3",
        "strain2",
        "strain3",
        "mdmd2",
        "mdmd3",
        "softnet2",
        "softnet3",
    }
    for name in a:
        assert a[name].shape[0] == 45
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=name)
    assert np.isnan(a["mag3"][-3:]).all() and np.isfinite(a["mag3"][:-3]).all()  # no partner frame t + k
    assert np.isnan(a["mdmd2"][-4:]).all() and np.isfinite(a["mdmd2"][:-4]).all()


def test_bounded_memory_on_10000_frames() -> None:
    opts = FeatureOptions(lags=(1,), size=(32, 32), blocks=(2, 2), features=("lbp", "mag"), chunk=128)

    def peak(n: int) -> tuple[int, int]:
        tracemalloc.start()
        try:
            count = 0
            for chunk in iter_features(_moving_frames(n, 32, 32), opts, landmarks=None):
                count += len(chunk)  # a consumer that writes each chunk away (the store) keeps nothing
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    n_small, p_small = peak(1000)
    n_big, p_big = peak(10_000)
    assert (n_small, n_big) == (1000, 10_000)
    # The whole 10 000-frame video at 32x32 float32 would take 41 MB: the pass holds one chunk of it.
    assert p_big < 8 * 2**20, p_big
    assert p_big < 1.3 * p_small + 2**20, (p_small, p_big)


def test_bad_frames_are_refused() -> None:
    frames = [np.zeros((40, 40), np.uint8)] * 5 + [np.zeros((40, 41), np.uint8)]
    with pytest.raises(ShapeError, match="frame 5 has shape"):
        long_video_features(frames, FeatureOptions(lags=(1,), size=(40, 40), blocks=(2, 2)), landmarks=None)
    with pytest.raises(ShapeError, match="NaN"):
        long_video_features([np.full((40, 40), np.nan)] * 3, FeatureOptions(lags=(1,), size=(40, 40)), landmarks=None)
    with pytest.raises(ValueError, match="lags"):
        FeatureOptions(lags=(0,))
    with pytest.raises(ValueError, match="features"):
        FeatureOptions(features=("hog",))


def test_face_crop_is_fixed_on_the_first_frame() -> None:
    from mefast.spotting._features import _Prepare
    from mefast.spotting._synthetic import iter_frames, make_long_recording

    rec = make_long_recording(2, n_frames=40, n_micro=1, n_macro=0, n_blinks=0, size=(128, 128))
    frames = []
    for f in iter_frames(rec):
        canvas = np.full((240, 320, 3), 90, np.uint8)
        canvas[60:188, 120:248] = f  # a face crop pasted into a larger frame
        frames.append(canvas)
    prep = _Prepare(FeatureOptions(crop="face"))
    prep(frames[0], 0)
    x, y, w, h = prep.box
    assert 100 <= x <= 150 and 40 <= y <= 90 and 90 <= w <= 170 and 90 <= h <= 170, prep.box
    out = long_video_features(frames, FeatureOptions(lags=(4,), crop="face", features=("mag",)), landmarks=None)
    assert np.isfinite(out["mag4"][:-4]).all()
    with pytest.raises(ValueError, match="crop"):
        FeatureOptions(crop="eyes")


def test_options_record_the_flow_values_and_compare_them() -> None:
    """as_dict records the preset's TV-L1 values; differences compares values (older stores: names only)."""
    import json
    from dataclasses import asdict

    from mefast.flow import TVL1_PRESETS

    opts = FeatureOptions(lags=(3, 9))
    recorded = json.loads(json.dumps(opts.as_dict()))  # as a store gives it back
    assert recorded["flow"] == {"preset": "per-frame", **asdict(TVL1_PRESETS["per-frame"])}
    assert opts.differences(recorded) == []
    # a preset name from an older version: "fast" then had what is now "per-frame"'s values
    for old in ("fast", "spotting"):
        assert opts.differences({**recorded, "flow": old}) == []
        fast = FeatureOptions(lags=(3, 9), flow="fast")
        (line,) = fast.differences({**recorded, "flow": old})
        assert line.startswith(f"flow: the store's flow {old!r}") and "pass flow='per-frame'" in line
    assert FeatureOptions(lags=(3, 9), flow="fast").differences(json.loads(json.dumps(fast.as_dict()))) == []
    # values recorded before the TV-L1 fields added since: those fields' defaults are what the core did then
    from mefast.flow import TVL1_ADDED_FIELDS

    older = {k: v for k, v in recorded["flow"].items() if k not in TVL1_ADDED_FIELDS}
    assert len(older) == len(recorded["flow"]) - len(TVL1_ADDED_FIELDS)
    assert opts.differences({**recorded, "flow": older}) == []
    assert opts.differences({**recorded, "flow": {**older, "finest_warps": 1}})[0].startswith("flow: the store's")
    assert opts.differences({**recorded, "flow": "nope"})[0].startswith("flow: the store's flow 'nope'")
    assert opts.differences({**recorded, "mask_eyes": False}) == ["mask_eyes: the store's False, these options' True"]
    extra = opts.differences({**recorded, "colour": True})
    assert extra == ["colour: the store's True, these options' None"]
    with pytest.raises(ValueError, match="flow: unknown TV-L1 preset 'nope'"):
        FeatureOptions(flow="nope")


def _compute_strain_reference(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """SOFTNet's computeStrain (spec 5b [S]): pandas forward differences, NaN at the end forward-filled."""
    import pandas as pd

    u_x = u - pd.DataFrame(u).shift(-1, axis=1)
    v_y = v - pd.DataFrame(v).shift(-1, axis=0)
    u_y = u - pd.DataFrame(u).shift(-1, axis=0)
    v_x = v - pd.DataFrame(v).shift(-1, axis=1)
    return np.array(np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2).ffill(axis=1).ffill(axis=0))


def test_softnet_strain_channel_uses_forward_differences(monkeypatch) -> None:
    import mefast.spotting._features as feat

    rng = np.random.default_rng(4)
    flow = rng.normal(0, 0.5, (2, 17, 23, 2)).astype(np.float32)
    got = feat.forward_strain(flow)
    for i in range(2):
        want = _compute_strain_reference(flow[i, ..., 0].astype(np.float64), flow[i, ..., 1].astype(np.float64))
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-6)
    # the pass feeds SOFTNet's inputs that strain (central differences only with softnet_input="legacy")
    seen = []
    real = feat.softnet_input

    def spy(f, strain, geo):
        seen.append((f.copy(), strain.copy()))
        return real(f, strain, geo)

    monkeypatch.setattr(feat, "softnet_input", spy)
    frames = list(_moving_frames(12))
    opts = FeatureOptions(lags=(2,), size=(40, 40), blocks=(3, 3), features=("softnet",))
    spec = long_video_features(frames, opts, landmarks=None)["softnet2"]
    ((f, strain),) = seen
    np.testing.assert_allclose(strain, feat.forward_strain(f), rtol=1e-6)
    from mefast.flow import optical_strain

    legacy = long_video_features(frames, dataclasses.replace(opts, softnet_input="legacy"), landmarks=None)
    np.testing.assert_allclose(seen[1][1], optical_strain(seen[1][0]), rtol=1e-6)
    np.testing.assert_array_equal(legacy["softnet2"][:, :2], spec[:, :2])  # |u|, |v| unchanged
    assert not np.allclose(legacy["softnet2"][:-2, 2], spec[:-2, 2])
    with pytest.raises(ValueError, match="softnet_input"):
        FeatureOptions(softnet_input="central")


def test_options_record_the_softnet_input_and_older_records_mean_legacy() -> None:
    import json

    opts = FeatureOptions(lags=(3,), features=("lbp", "softnet"))
    recorded = json.loads(json.dumps(opts.as_dict()))
    assert recorded["softnet_input"] == "spec" and opts.differences(recorded) == []
    older = {k: v for k, v in recorded.items() if k != "softnet_input"}  # written before the option existed
    assert opts.differences(older) == ["softnet_input: the store's 'legacy', these options' 'spec'"]
    legacy = FeatureOptions(lags=(3,), features=("lbp", "softnet"), softnet_input="legacy")
    assert legacy.differences(older) == []
    # without the softnet feature the option changes nothing: not recorded, not compared
    plain = FeatureOptions(lags=(3,), features=("lbp",))
    assert "softnet_input" not in plain.as_dict()
    assert plain.differences(json.loads(json.dumps(plain.as_dict()))) == []
    assert FeatureOptions(lags=(3,), features=("lbp",), softnet_input="legacy").differences(plain.as_dict()) == []
    assert opts.differences(plain.as_dict()) == ["features: the store's ['lbp'], these options' ['lbp', 'softnet']"]


def _face_in_128() -> np.ndarray:
    """The template's 68 landmarks in a 128 x 128 face crop (its box widened by 20 % a side), whole pixels."""
    from mefast.data import face_landmarks

    lm = face_landmarks().astype(np.float64)
    lo, hi = lm.min(0), lm.max(0)
    pad = 0.2 * (hi - lo)
    return np.round((lm - lo + pad) / (hi - lo + 2 * pad) * 128)


def test_softnet_regions_follow_the_spec() -> None:
    """Spec 5b: eye polygons (36-47) pushed out 15 px zeroed; mouth box of landmarks 60, 64, 50, 57 +- 12 px."""
    import cv2

    from mefast.spotting._features import softnet_input

    lm = _face_in_128()
    geo = FrameGeometry((128, 128), (6, 6), lm, True)
    want = np.zeros((128, 128), np.uint8)
    push = [(-15, 0), (0, -15), (0, -15), (15, 0), (0, 15), (0, 15)]  # 36/42 left, 39/45 right, lids up/down
    for first in (36, 42):
        poly = [
            (min(max(lm[first + i, 0] + dx, 0), 128), min(max(lm[first + i, 1] + dy, 0), 128))
            for i, (dx, dy) in enumerate(push)
        ]
        cv2.fillPoly(want, [np.array(poly, np.int32)], 1)
    np.testing.assert_array_equal(geo.softnet_eye_mask, want.astype(bool))
    assert (geo.softnet_eye_mask & ~geo.eye_mask).sum() > 500  # larger than the blocks' +-6 px boxes
    x0, x1, y0, y1 = int(lm[60, 0]) - 12, int(lm[64, 0]) + 12, int(lm[50, 1]) - 12, int(lm[57, 1]) + 12
    assert geo.mouth == (slice(y0, y1 + 1), slice(x0, x1 + 1))
    assert x0 > lm[48, 0] - 12 and x1 < lm[54, 0] + 12  # not the outer lip corners 48, 54
    # the blocks keep their eye boxes; "legacy" keeps the old SOFTNet regions
    old = FrameGeometry((128, 128), (6, 6), lm, True, "legacy")
    np.testing.assert_array_equal(old.eye_mask, geo.eye_mask)
    np.testing.assert_array_equal(old.softnet_eye_mask, old.eye_mask)
    assert old.mouth[1].start == int(lm[48, 0]) - 12 and old.brow == geo.brow
    # the inputs are zeroed on the polygons: a flow that moves only there gives an all-zero input
    flow = np.zeros((1, 128, 128, 2), np.float32)
    flow[0, geo.softnet_eye_mask] = 3.0
    strain = np.where(geo.softnet_eye_mask, 1.0, 0.0)[None].astype(np.float32)
    assert not softnet_input(flow, strain, geo).any()
    assert softnet_input(flow, strain, old)[0, 0].any()  # the old boxes leave some of it


def test_the_pass_builds_softnet_inputs_with_the_chosen_regions() -> None:
    frames = list(_moving_frames(10, 128, 128))
    lm = _face_in_128()
    opts = FeatureOptions(lags=(2,), size=(128, 128), blocks=(6, 6), features=("softnet", "mag"))
    spec = long_video_features(frames, opts, landmarks=lm)
    old = long_video_features(frames, dataclasses.replace(opts, softnet_input="legacy"), landmarks=lm)
    np.testing.assert_array_equal(spec["mag2"], old["mag2"])  # the blocks do not change
    assert not np.allclose(spec["softnet2"][:-2, :2], old["softnet2"][:-2, :2])
