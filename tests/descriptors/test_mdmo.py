"""MDMO and its 36 regions: the spec's oracles (descriptors.md §5.4, §7 M1-M4), brute-force NumPy references of
both modes, known directions per region, alignment, batches, bad input, and the whole chain detect ->
landmarks -> crop/align -> flow -> MDMO / Bi-WOOF on synthetic action units applied to a real photograph."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import map_coordinates

import mefast
from mefast.data import face_landmarks
from mefast.descriptors import mdmo_roi_masks, meb_farneback_flows
from mefast.descriptors.roi import RIGID_LANDMARKS, roi_delta
from mefast.errors import ShapeError
from mefast.testing import smooth_field, warp_image

H, W = 280, 230  # the shipped face image and its landmarks
TWO_PI = 2 * np.pi


@pytest.fixture(scope="module")
def lm():
    return face_landmarks().astype(np.float64)


def _uniform(phi, c=1.0, frames=3, shape=(H, W)):
    f = np.empty((frames, *shape, 2), np.float32)
    f[..., 0] = c * np.cos(phi)
    f[..., 1] = c * np.sin(phi)
    return f


def _angle_diff(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + np.pi) % TWO_PI - np.pi)


# ---------------------------------------------------------------------------------------------------------
# The region table, encoded again from the spec's text (descriptors.md §5.2)

SPEC_AUX = {
    "T0": "up 17", "T1": "up 19", "T2": "up 21", "T4": "up 22", "T5": "up 24", "T6": "up 26", "T3": "mid T2 T4",
    "T7": "mid L3 L29", "T8": "mid L13 L29", "T9": "mid L4 L33", "T11": "mid L4 L33", "T10": "mid L12 L33",
    "T12": "mid L12 L33", "T13": "mid L5 L59", "T17": "mid L5 L59", "T14": "mid L11 L55", "T21": "mid L11 L55",
    "T15": "mid L2 L41", "T16": "mid L14 L46", "T18": "mid L6 L58", "T19": "mid L8 L57", "T20": "mid L10 L56",
}  # fmt: skip
SPEC_ROIS = """
L17,T0,T1,L19 L19,T1,T2,L21 L21,T2,T3,L27 L27,T3,T4,L22 L22,T4,T5,L24 L24,T5,T6,L26 L1,L0,L17,L36 L36,L17,L19,L38
L38,L19,L21,L39 L39,L21,L27,L28 L28,L27,L22,L42 L42,L22,L24,L43 L43,L24,L26,L45 L45,L26,L16,L15 L3,L2,T15,T7
T7,T15,L41,L39 T7,L39,L28,L29 L29,L28,L42,T8 T8,L42,L46,T16 T8,T16,L14,L13 T11,T7,L29,L33 L33,L29,T8,T12
T13,T9,L33,L59 L55,L33,T10,T14 T18,T17,L59,L58 T19,T18,L58,L57 T20,T19,L57,L56 T21,T20,L56,L55 L4,L3,T7,T11
T12,T8,L13,L12 L5,L4,T9,T13 T14,T10,L12,L11 L6,L5,T17,T18 L8,L6,T18,T19 L10,L8,T19,T20 L11,L10,T20,T21
""".split()


def _spec_point(name, pts, delta, cache):
    if name.startswith("L"):
        return pts[int(name[1:])]
    if name not in cache:
        kind, *args = SPEC_AUX[name].split()
        if kind == "up":
            p = pts[int(args[0])]
            cache[name] = np.array([p[0], max(p[1] - delta, 0.0)])
        else:
            cache[name] = 0.5 * (_spec_point(args[0], pts, delta, cache) + _spec_point(args[1], pts, delta, cache))
    return cache[name]


@pytest.mark.parametrize("delta", [20.0, 0.0, 80.0])
def test_rois_follow_the_spec_table(lm, delta):
    cache: dict = {}
    expected = np.array([[_spec_point(v, lm, delta, cache) for v in roi.split(",")] for roi in SPEC_ROIS])
    got = mefast.mdmo_rois(lm, delta=delta)
    assert got.shape == (36, 4, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-4)
    if delta == 80.0:  # above the image top: clamped to y = 0
        assert (got[:6, 1:3, 1] >= 0).all() and (got[:6, 1:3, 1] == 0).any()


def test_default_delta_scales_with_the_face(lm):
    assert roi_delta(lm) == pytest.approx(0.45 * 43.396, rel=1e-3)
    np.testing.assert_allclose(mefast.mdmo_rois(2 * lm), 2 * mefast.mdmo_rois(lm), rtol=1e-6)


def test_masks_cover_the_face_and_share_boundaries(lm):
    masks = mdmo_roi_masks(lm, (H, W))
    assert masks.shape == (36, H, W) and masks.dtype == bool
    assert (masks.sum(axis=(1, 2)) > 20).all()  # no empty region on a 93-pixel face
    # Filled polygons include their boundary: neighbours R1 and R2 share the edge L19-T1.
    assert (masks[0] & masks[1]).any()
    # Every pixel of a region lies inside (or on) its polygon.
    quad = mefast.mdmo_rois(lm)[22]
    ys, xs = np.nonzero(masks[22])
    inside = [
        cv2.pointPolygonTest(np.rint(quad).reshape(-1, 1, 2), (float(x), float(y)), True) >= -1.0
        for x, y in zip(xs, ys, strict=True)
    ]
    assert all(inside)


# ---------------------------------------------------------------------------------------------------------
# Brute-force references of both modes, from the spec's text


def _ref_align(flows, landmarks):
    """Least squares of the affine map (p + flow(p)) -> p over the rigid landmarks, applied to every pixel."""
    flows = np.asarray(flows, np.float64)
    gy, gx = np.mgrid[0 : flows.shape[1], 0 : flows.shape[2]].astype(np.float64)
    rigid = landmarks[list(RIGID_LANDMARKS)]
    out = np.empty_like(flows)
    for f, fl in enumerate(flows):
        u, v = fl[..., 0], fl[..., 1]
        at = [map_coordinates(c, [rigid[:, 1], rigid[:, 0]], order=1) for c in (u, v)]
        design = np.column_stack([rigid[:, 0] + at[0], rigid[:, 1] + at[1], np.ones(len(rigid))])
        coef = np.linalg.lstsq(design, rigid, rcond=None)[0]  # (3, 2)
        xs, ys = gx + u, gy + v
        out[f, ..., 0] = coef[0, 0] * xs + coef[1, 0] * ys + coef[2, 0] - gx
        out[f, ..., 1] = coef[0, 1] * xs + coef[1, 1] * ys + coef[2, 1] - gy
    return out


def _ref_paper(flows, landmarks, align):
    flows = _ref_align(flows, landmarks) if align else np.asarray(flows, np.float64)
    masks = mdmo_roi_masks(landmarks, flows.shape[1:3])
    vecs = np.zeros((len(flows), 36, 2))
    for f, fl in enumerate(flows):
        u, v = fl[..., 0], fl[..., 1]
        for k, m in enumerate(masks):
            uu, vv = u[m], v[m]
            keep = np.hypot(uu, vv) >= 1e-6
            uu, vv = uu[keep], vv[keep]
            if uu.size == 0:
                continue
            b = np.floor(np.mod(np.arctan2(vv, uu), TWO_PI) / (np.pi / 4) + 0.5).astype(int) % 8
            best = np.argmax(np.bincount(b, minlength=8))
            vecs[f, k] = uu[b == best].mean(), vv[b == best].mean()
    mean = vecs.mean(axis=0)
    rho = np.hypot(mean[:, 0], mean[:, 1])
    theta = np.where(rho > 0, np.mod(np.arctan2(mean[:, 1], mean[:, 0]), TWO_PI), 0.0)
    rho = rho / rho.max() if rho.max() > 0 else rho
    return np.column_stack([rho, theta]).ravel()


def _ref_meb(flows, landmarks):
    """MEB's MDMO_video semantics as the spec describes them (histogram + digitize, merged bins, polar means,
    angle-weighted frames, OpenCV polar conversions, -pi shift, [rho | theta] layout)."""
    masks = mdmo_roi_masks(landmarks, flows.shape[1:3], delta=20.0, rounding="truncate")
    edges = np.array([0.0] + [np.pi / 8 * k for k in (1, 3, 5, 7, 9, 11, 13, 15)] + [2 * np.pi])
    feats = np.zeros((2, 36, len(flows)))
    for f, fl in enumerate(flows):
        rho, theta = cv2.cartToPolar(np.ascontiguousarray(fl[..., 0]), np.ascontiguousarray(fl[..., 1]))
        for k, m in enumerate(masks):
            t, r = theta[m], rho[m]
            counts, _ = np.histogram(t, edges)
            counts[0] += counts[7] + counts[8]
            idx = np.digitize(t, edges)
            idx[(idx == 8) | (idx == 9)] = 1
            sel = idx == np.argmax(counts) + 1
            feats[:, k, f] = r[sel].astype(np.float64).mean(), t[sel].astype(np.float64).mean()
    rho_sum = feats[0].sum()
    uf, vf = cv2.polarToCart(feats[0].T.copy(), feats[1].T.copy())
    wu, wv = np.zeros(36), np.zeros(36)
    for f in range(len(flows)):
        alpha = feats[1, :, f].sum() / rho_sum
        wu += alpha * uf[f]
        wv += alpha * vf[f]
    r, t = cv2.cartToPolar(wu[None], wv[None])
    return np.concatenate([r[0] / r[0].max(), t[0] - np.pi])


@pytest.fixture(scope="module")
def random_flows():
    rng = np.random.default_rng(99)
    base = [smooth_field(H, W, 1.5, seed=s) for s in range(4)]
    return np.stack([b + rng.normal(0, 0.4, b.shape).astype(np.float32) for b in base])


@pytest.mark.parametrize("align", [False, True])
def test_paper_mode_matches_reference(random_flows, lm, align):
    got = mefast.mdmo(random_flows, lm, align=align)
    ref = _ref_paper(random_flows, lm, align)
    assert got.shape == (72,) and got.dtype == np.float32
    np.testing.assert_allclose(got[0::2], ref[0::2], atol=2e-6)
    assert _angle_diff(got[1::2], ref[1::2]).max() < 2e-6


def test_meb_mode_matches_reference(random_flows, lm):
    got = mefast.mdmo(random_flows, lm, mode="reference")
    np.testing.assert_allclose(got, _ref_meb(random_flows, lm), rtol=1e-5, atol=2e-6)


# ---------------------------------------------------------------------------------------------------------
# Spec oracles


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_m1_zero_flow(lm, mode):
    feat = mefast.mdmo(np.zeros((4, H, W, 2), np.float32), lm, mode=mode)
    assert np.isfinite(feat).all()
    if mode == "paper":
        np.testing.assert_array_equal(feat, 0.0)
    else:  # MEB: NaN; mefast: rho 0 and MEB's angle for a zero vector, 0 - pi
        np.testing.assert_array_equal(feat[:36], 0.0)
        np.testing.assert_allclose(feat[36:], -np.pi)


@pytest.mark.parametrize("phi", [0.0, 0.3, np.pi / 8, np.pi / 2, 3.0, np.pi, 4.5, 5.9, TWO_PI - 0.01])
@pytest.mark.parametrize("c", [0.05, 2.0])
def test_m2_uniform_flow(lm, phi, c):
    feat = mefast.mdmo(_uniform(phi, c), lm, align=False)
    np.testing.assert_allclose(feat[0::2], 1.0, rtol=1e-6)
    assert _angle_diff(feat[1::2], phi).max() < 1e-5
    assert ((feat[1::2] >= 0) & (feat[1::2] < TWO_PI)).all()


def test_m2_uniform_flow_meb(lm):
    phi = 4.0  # in a non-merged bin: MEB gives rho 1 and theta phi (shifted by -pi)
    feat = mefast.mdmo(_uniform(phi), lm, mode="reference")
    np.testing.assert_allclose(feat[:36], 1.0, rtol=1e-6)
    np.testing.assert_allclose(feat[36:] + np.pi, phi, atol=2e-4)  # OpenCV's single-precision angles


def _region_mix(lm, parts, scale=3):
    """Unit flow in which every region holds about the given (fraction, angle) mix: a fine pattern of the angles
    (in tenths, by (x + 3 y) mod 10) over a face scaled up so that every region has many pixels."""
    big = lm * scale
    h, w = H * scale, W * scale
    covered = mdmo_roi_masks(big, (h, w)).any(axis=0)
    gy, gx = np.mgrid[0:h, 0:w]
    tenth = (gx + 3 * gy) % 10
    angle = np.zeros((h, w))
    start = 0
    for fraction, a in parts:
        stop = start + int(round(10 * fraction))
        angle[(tenth >= start) & (tenth < stop)] = a
        start = stop
    flow = np.zeros((2, h, w, 2), np.float32)
    flow[..., 0] = np.where(covered, np.cos(angle), 0)
    flow[..., 1] = np.where(covered, np.sin(angle), 0)
    return flow, big


def test_m3_wrap_around_zero(lm):
    flow, big = _region_mix(lm, [(0.5, np.radians(3)), (0.5, np.radians(-3))])
    paper = mefast.mdmo(flow, big, align=False)
    assert _angle_diff(paper[1::2], 0.0).max() < 0.005  # the pattern's proportions are not exactly 50/50
    meb = mefast.mdmo(flow, big, mode="reference")  # MEB averages 3 and 357 degrees as numbers: 180
    assert _angle_diff(meb[36:] + np.pi, np.pi).max() < 0.1


def test_m4_merged_bin(lm):
    flow, big = _region_mix(lm, [(0.3, np.radians(315)), (0.3, np.radians(10)), (0.4, np.radians(90))])
    paper = mefast.mdmo(flow, big, align=False)
    assert _angle_diff(paper[1::2], np.pi / 2).max() < 1e-5
    meb = mefast.mdmo(flow, big, mode="reference")  # MEB merges 315 and 10 degrees and averages them: 2.836 rad
    assert _angle_diff(meb[36:] + np.pi, 2.836).max() < 0.1


def test_still_face_and_rho_range(random_flows, lm):
    for mode in ("paper", "reference"):
        feat = mefast.mdmo(random_flows, lm, mode=mode)
        rho = feat[0::2] if mode == "paper" else feat[:36]
        assert np.isfinite(feat).all() and rho.min() >= 0 and rho.max() == pytest.approx(1.0)


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_repeating_the_sequence_changes_nothing(random_flows, lm, mode):
    once = mefast.mdmo(random_flows, lm, mode=mode)
    twice = mefast.mdmo(np.concatenate([random_flows, random_flows]), lm, mode=mode)
    np.testing.assert_allclose(twice, once, rtol=1e-5, atol=1e-6)


def test_frames_average_as_vectors(lm):
    flows = np.concatenate([_uniform(0.0, frames=1), _uniform(np.pi / 2, frames=1)])
    feat = mefast.mdmo(flows, lm, align=False)
    np.testing.assert_allclose(feat[1::2], np.pi / 4, atol=1e-6)


def test_known_direction_per_region(lm):
    """Paint every region with its own direction (a bin centre) and magnitude per direction: recovered exactly,
    although neighbouring regions share boundary pixels."""
    scale = 2  # bigger regions: boundary pixels are a minority everywhere
    big = lm * scale
    masks = mdmo_roi_masks(big, (H * scale, W * scale))
    flow = np.zeros((H * scale, W * scale, 2), np.float32)
    bins = np.array([(3 * k + 1) % 8 for k in range(36)])
    mags = 0.5 + 0.25 * np.arange(8)
    for k in range(36):
        phi = bins[k] * np.pi / 4
        flow[masks[k]] = mags[bins[k]] * np.cos(phi), mags[bins[k]] * np.sin(phi)
    feat = mefast.mdmo(np.stack([flow, flow]), big, align=False)
    assert _angle_diff(feat[1::2], bins * np.pi / 4).max() < 1e-6
    np.testing.assert_allclose(feat[0::2], mags[bins] / mags[bins].max(), rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# Optical-flow-driven alignment


def _head_motion(flow_local, angle_deg=2.0, scale=1.02, shift=(1.5, -0.8)):
    """Compose a local facial motion with a global head motion: p -> G(p + local(p))."""
    t = np.radians(angle_deg)
    lin = scale * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    centre = np.array([W / 2, H / 2])
    gy, gx = np.mgrid[0:H, 0:W].astype(np.float64)
    p = np.stack([gx, gy], axis=-1)
    moved = p + flow_local
    return ((moved - centre) @ lin.T + centre + shift - p).astype(np.float32)


def _lip_corner_pull(lm, amplitude=1.5, sigma=4.0):
    gy, gx = np.mgrid[0:H, 0:W].astype(np.float64)
    flow = np.zeros((H, W, 2))
    for idx, sx in ((48, -1.0), (54, 1.0)):
        d2 = (gx - lm[idx, 0]) ** 2 + (gy - lm[idx, 1]) ** 2
        g = np.where(d2 < (3 * sigma) ** 2, np.exp(-d2 / (2 * sigma**2)), 0.0)  # compact support
        flow[..., 0] += sx * amplitude * g
        flow[..., 1] -= amplitude * g
    return flow


def test_alignment_removes_head_motion(lm):
    local = _lip_corner_pull(lm)
    # The alignment is exact when the rigid landmarks (and their bilinear neighbours) do not move locally.
    rigid = lm[list(RIGID_LANDMARKS)]
    assert np.abs(local[np.floor(rigid[:, 1]).astype(int), np.floor(rigid[:, 0]).astype(int)]).max() == 0
    flows = np.stack([_head_motion(s * local, angle_deg=s * 2.0, shift=(s * 1.5, -s)) for s in (0.5, 1.0)])
    clean = np.stack([0.5 * local, local]).astype(np.float32)
    aligned = mefast.mdmo(flows, lm, align=True)
    expected = mefast.mdmo(clean, lm, align=False)
    np.testing.assert_allclose(aligned[0::2], expected[0::2], atol=1e-4)
    moving = expected[0::2] > 0.05
    assert moving.sum() >= 4
    assert _angle_diff(aligned[1::2][moving], expected[1::2][moving]).max() < 1e-3
    # Without alignment the head motion dominates every region.
    raw = mefast.mdmo(flows, lm, align=False)
    assert _angle_diff(raw[1::2][moving], expected[1::2][moving]).max() > 0.3


def test_pure_head_motion_aligns_to_zeros(lm):
    flows = np.stack([_head_motion(np.zeros((H, W, 2)), angle_deg=a, shift=(a, 0.5)) for a in (1.0, -2.0)])
    np.testing.assert_array_equal(mefast.mdmo(flows, lm), 0.0)  # align=True by default in paper mode


def test_meb_mode_with_alignment_sees_the_aligned_flow(random_flows, lm):
    flows = random_flows + np.stack([_head_motion(np.zeros((H, W, 2)), angle_deg=a) for a in (1, -1, 2, 0.5)])
    aligned = _ref_align(flows, lm).astype(np.float32)
    np.testing.assert_allclose(
        mefast.mdmo(flows, lm, mode="reference", align=True), _ref_meb(aligned, lm), rtol=1e-5, atol=2e-6
    )


# ---------------------------------------------------------------------------------------------------------
# Batches and threads


def test_batch_matches_single_clips(random_flows, lm):
    clips = [random_flows[:2], random_flows[1:], random_flows[:1], random_flows[3:]]
    marks = [lm, lm + 1.0, lm - 2.0, lm]
    single = np.stack([mefast.mdmo(c, m) for c, m in zip(clips, marks, strict=True)])
    np.testing.assert_array_equal(mefast.mdmo_batch(clips, marks, n_threads=1), single)
    np.testing.assert_array_equal(mefast.mdmo_batch(clips, marks, n_threads=2), single)
    stacked = mefast.mdmo_batch(np.stack([random_flows[:2]] * 3), np.stack([lm] * 3), mode="reference", n_threads=2)
    np.testing.assert_array_equal(stacked, np.stack([mefast.mdmo(random_flows[:2], lm, mode="reference")] * 3))
    assert mefast.mdmo_batch([], []).shape == (0, 72)


def test_meb_farneback_flows_are_opencvs(rng):
    base = (smooth_field(64, 64, 40.0, seed=0)[..., 0] + 128).astype(np.uint8)
    video = np.stack([base, np.roll(base, 1, axis=0), np.roll(base, 2, axis=0)])
    flows = meb_farneback_flows(video)
    assert flows.shape == (2, 64, 64, 2)
    np.testing.assert_array_equal(
        flows[1], cv2.calcOpticalFlowFarneback(video[0], video[2], None, 0.5, 3, 15, 3, 5, 1.2, 0)
    )
    with pytest.raises(ShapeError, match="uint8"):
        meb_farneback_flows(video.astype(np.float32))


# ---------------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("flows", "landmarks", "match"),
    [
        (np.zeros((H, W, 2)), None, r"\(T-1, H, W, 2\)"),
        (np.zeros((2, H, W, 3)), None, r"\(T-1, H, W, 2\)"),
        (np.zeros((0, H, W, 2)), None, "at least one frame"),
        (np.full((2, H, W, 2), np.nan), None, "NaN"),
        (None, np.zeros((67, 2)), r"\(68, 2\)"),
        (None, np.zeros((68, 3)), r"\(68, 2\)"),
        (None, "nan", "NaN"),
        (None, "outside", "outside the 280x230 image, first landmark 16"),
        (None, np.full((68, 2), "a"), "numeric"),
    ],
)
def test_bad_input_raises_shape_error(lm, flows, landmarks, match):
    if flows is None:
        flows = np.zeros((2, H, W, 2), np.float32)
    if isinstance(landmarks, str) and landmarks == "nan":
        landmarks = lm.copy()
        landmarks[5, 1] = np.nan
    elif isinstance(landmarks, str) and landmarks == "outside":
        landmarks = lm.copy()
        landmarks[16, 0] = W + 3.0
    elif landmarks is None:
        landmarks = lm
    with pytest.raises(ShapeError, match=match):
        mefast.mdmo(flows, landmarks)


def test_bad_parameters(lm):
    flows = np.zeros((1, H, W, 2), np.float32)
    with pytest.raises(ValueError, match="mode"):
        mefast.mdmo(flows, lm, mode="MEB")
    with pytest.raises(ValueError, match="delta"):
        mefast.mdmo(flows, lm, delta=-1.0)
    with pytest.raises(ShapeError, match="2 clips of flows but 1 landmark"):
        mefast.mdmo_batch([flows, flows], [lm])
    with pytest.raises(ShapeError, match=r"landmarks\[1\]"):
        mefast.mdmo_batch([flows, flows], [lm, lm[:60]])
    with pytest.raises(ValueError, match="n_threads"):
        mefast.mdmo_batch([flows, flows], [lm, lm], n_threads=0)


@pytest.mark.parametrize("align", ["yes", "no", 0, 1, 1.0, [True]])
def test_align_must_be_a_flag(lm, align):
    """mdmo(align='yes') aligned and mdmo(align='no') did too (bool('no') is True); align=0 was taken as False.
    The flag check of biwoof's and hoof's flags: bools (Python or NumPy) only, and None for the mode's default."""
    flows = np.zeros((1, H, W, 2), np.float32)
    msg = rf"^align must be True, False or None \(the mode's default\), got {re.escape(repr(align))}$"
    with pytest.raises(ValueError, match=msg):
        mefast.mdmo(flows, lm, align=align)
    with pytest.raises(ValueError, match=msg):
        mefast.mdmo_batch([flows], [lm], align=align)


@pytest.mark.parametrize("delta", ["3", b"3", True, -1.0, float("nan"), float("inf"), [3.0], np.array([3.0])])
def test_delta_must_be_a_number_of_pixels(lm, delta):
    """mdmo(delta='3') was float('3') = 3 px, delta=True 1 px; a list or array of one number passed float() too."""
    flows = np.zeros((1, H, W, 2), np.float32)
    msg = r"^delta must be a finite number of pixels >= 0 \(or None\), got "
    with pytest.raises(ValueError, match=msg):
        mefast.mdmo(flows, lm, delta=delta)
    with pytest.raises(ValueError, match=msg):
        mefast.mdmo_batch([flows], [lm], delta=delta)
    with pytest.raises(ValueError, match=msg):
        mefast.mdmo_rois(lm, delta=delta)


def test_flags_and_deltas_of_numpy_types_are_accepted(random_flows, lm):
    want = mefast.mdmo(random_flows, lm, align=True, delta=12.0)
    np.testing.assert_array_equal(mefast.mdmo(random_flows, lm, align=np.bool_(True), delta=np.float32(12)), want)
    np.testing.assert_array_equal(mefast.mdmo(random_flows, lm, align=True, delta=12), want)
    np.testing.assert_array_equal(mefast.mdmo_rois(lm, delta=np.int64(12)), mefast.mdmo_rois(lm, delta=12.0))


# ---------------------------------------------------------------------------------------------------------
# The whole chain on a real photograph: synthetic brow raise (AU1+2) and lip-corner pull (AU12)


def _au_clip(frames=5, amplitude=2.0, sigma=8.0):
    """skimage's astronaut with a brow raise and a lip-corner pull growing linearly to the last frame, and the
    known displacement field at the apex (content at p moves to p + field(p))."""
    from skimage.data import astronaut

    base = astronaut()
    pts = face_landmarks().astype(np.float64) + (140, 20)  # the shipped face is astronaut()[20:300, 140:370]
    h, w = base.shape[:2]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)

    def bump(points):
        d2 = np.min([(gx - x) ** 2 + (gy - y) ** 2 for x, y in points], axis=0)
        return np.exp(-d2 / (2 * sigma**2))

    field = np.zeros((h, w, 2))
    field[..., 1] -= amplitude * bump(pts[17:27])  # brows and forehead move up
    for idx, sx in ((48, -1.0), (54, 1.0)):  # mouth corners move out and up
        g = bump([pts[idx]])
        field[..., 0] += sx * amplitude / np.sqrt(2) * g
        field[..., 1] -= amplitude / np.sqrt(2) * g
    steps = np.arange(frames) / (frames - 1)
    video = np.stack(
        [base] + [np.clip(np.rint(warp_image(base, -s * field)), 0, 255).astype(np.uint8) for s in steps[1:]]
    )
    return video, field, steps


def _crop_flow(field, transform):
    """The known displacement field carried into the crop: d'(T p) = A d(p) for the similarity T = [A | b]."""
    m = transform.matrix
    h, w = transform.size
    comps = [cv2.warpAffine(field[..., i].astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR) for i in (0, 1)]
    return (np.stack(comps, axis=-1) @ m[:, :2].T).astype(np.float32)


def _dlib_ready():
    from mefast.face import available_detectors, dlib_model_path

    return "dlib" in available_detectors() and dlib_model_path() is not None


@pytest.fixture(scope="module", params=["dlib", "no-dlib"])
def chain(request):
    if request.param == "dlib" and not _dlib_ready():
        pytest.skip("dlib or its 68-point model is not installed (the mefast[landmarks] extra)")
    video, field, steps = _au_clip()
    if request.param == "dlib":
        clip, transform = mefast.crop_align(video, size=(128, 128))
    else:  # what a machine without dlib does: LBP cascade + mean-shape template
        clip, transform = mefast.crop_align(video, size=(128, 128), detector="lbp", method="template")
    assert transform.landmarks.approximate == (request.param == "no-dlib")
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in clip])
    flows = mefast.compute_flow(gray, params="fast")
    truth = np.stack([s * _crop_flow(field, transform) for s in steps[1:]])
    return request.param, flows, truth, transform.landmarks


BROW_ROIS = [0, 1, 2, 3, 4, 5, 7, 8, 11, 12]  # R1-R6, R8, R9, R12, R13
MOUTH_LEFT, MOUTH_RIGHT = [20, 22, 28], [21, 23, 29]  # R21/R23/R29 and R22/R24/R30 (image left / right)
STILL_ROIS = [25, 26, 32, 33, 34, 35]  # the chin: R26, R27, R33-R36


def test_chain_mdmo_recovers_the_action_units(chain):
    kind, flows, truth, landmarks = chain
    feat = mefast.mdmo(flows, landmarks)
    rho, theta = feat[0::2], feat[1::2]
    tol = np.radians(15 if kind == "dlib" else 25)
    assert _angle_diff(theta[BROW_ROIS], 3 * np.pi / 2).max() < tol  # up
    assert _angle_diff(theta[MOUTH_LEFT], 5 * np.pi / 4).max() < tol  # left and up
    assert _angle_diff(theta[MOUTH_RIGHT], 7 * np.pi / 4).max() < tol  # right and up
    # The template's regions sit a little off the moving skin (R23 catches less of the mouth corner).
    assert rho[BROW_ROIS + MOUTH_LEFT + MOUTH_RIGHT].min() > (0.3 if kind == "dlib" else 0.1)
    assert rho[STILL_ROIS].max() < 0.2
    # Against the same descriptor of the known motion, with the same landmarks.
    exact = mefast.mdmo(truth, landmarks)
    moving = exact[0::2] > 0.3
    assert moving.sum() >= 16
    assert _angle_diff(theta[moving], exact[1::2][moving]).max() < np.radians(15)
    assert np.abs(rho[moving] - exact[0::2][moving]).max() < 0.25


def test_chain_biwoof_recovers_the_action_units(chain):
    kind, flows, truth, _ = chain
    est = mefast.biwoof(flows[-1]).reshape(25, 8)
    exact = mefast.biwoof(truth[-1]).reshape(25, 8)
    # The cosine of the two histograms is 0.78-0.92 over both chains and the presets (fast, accurate, opencv), and
    # does not follow the flow's error: the fast preset tuned for issue 17.3 has a lower EPE on both chains than the
    # one before it (0.028 / 0.038 px against 0.029 / 0.043) and the lowest cosine on the no-dlib chain (0.78).
    # One bound per chain: the template's regions (no dlib) sit a little off the moving skin.
    assert float(est.ravel() @ exact.ravel()) > (0.8 if kind == "dlib" else 0.75)
    strong = exact.sum(axis=1) > 0.15  # blocks with a clear motion
    assert strong.sum() >= 8
    assert (np.abs(est[strong].argmax(axis=1) - exact[strong].argmax(axis=1)) <= 1).all()
    # The brow blocks (rows 0-1) move up: bins 1 and 2 hold [-135, -45) degrees.
    brows = exact[:10].sum(axis=1) > 0.15
    assert np.isin(est[:10][brows].argmax(axis=1), [1, 2]).all()


def test_vectors_near_bin_edges_are_binned_exactly():
    """The kernel's fast angle must not move vectors across an edge: a 40/35/25 mix where the two largest
    groups sit a hair either side of an edge, with very different magnitudes."""
    from mefast.descriptors._mdmo import _identity, _paper_frame_vectors

    for j in range(8):
        edge = (2 * j + 1) * np.pi / 8
        for eps in (1e-9, 3e-6, 2e-5):
            parts = [(40, edge - eps, 1.0), (35, edge + eps, 10.0), (25, edge + 2.0, 1.0)]
            vecs = np.concatenate([np.tile([m * np.cos(a), m * np.sin(a)], (n, 1)) for n, a, m in parts])
            flow = vecs.reshape(1, 1, 100, 2).astype(np.float32)
            box = np.array([0, 1, 0, 100], np.int64)
            ptr = np.array([0, 100], np.int64)
            idx = np.arange(100, dtype=np.uintp)
            mean = _paper_frame_vectors(flow, _identity(1), box, ptr, idx)[0, 0]
            # What arctan2 says about the float32 vectors (at 1e-9 the two groups may round to one angle).
            v = flow[0, 0].astype(np.float64)
            b = np.floor(np.mod(np.arctan2(v[:, 1], v[:, 0]), 2 * np.pi) / (np.pi / 4) + 0.5).astype(int) % 8
            main = np.argmax(np.bincount(b, minlength=8))
            np.testing.assert_allclose(mean, v[b == main].mean(axis=0), rtol=1e-12, err_msg=f"{j} {eps}")
            if eps > 1e-6:
                assert np.hypot(*mean) == pytest.approx(1.0, rel=1e-6)


def test_kernel_releases_the_gil(longest_python_pause):
    from mefast.descriptors._mdmo import _identity, _paper_frame_vectors

    flows = np.repeat(smooth_field(128, 128, 1.0, seed=0)[None], 400, axis=0)
    box = np.array([0, 128, 0, 128], np.int64)
    ptr = np.array([0, 128 * 128], np.int64)
    idx = np.arange(128 * 128, dtype=np.uintp)
    affine = _identity(400)
    _paper_frame_vectors(flows[:1], affine[:1], box, ptr, idx)  # compiled before the test
    pause, seconds = longest_python_pause(lambda: _paper_frame_vectors(flows, affine, box, ptr, idx))
    assert seconds > 2e-3  # long enough to tell
    assert pause < 0.5 * seconds  # with the GIL held, the Python thread would stall for the whole call


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.floats(0.01, 20), st.integers(0, 2**31 - 1), st.sampled_from(["paper", "reference"]))
def test_feature_ranges(frames, amplitude, seed, mode):
    rng = np.random.default_rng(seed)
    flows = (amplitude * rng.standard_normal((frames, 96, 80, 2))).astype(np.float32)
    lm = face_landmarks().astype(np.float64) * 0.3 + 5  # a small face inside the 96x80 frame
    feat = mefast.mdmo(flows, lm, mode=mode)
    rho, theta = (feat[0::2], feat[1::2]) if mode == "paper" else (feat[:36], feat[36:] + np.pi)
    assert np.isfinite(feat).all() and feat.dtype == np.float32
    assert rho.min() >= 0 and rho.max() == pytest.approx(1.0, abs=1e-6)
    assert theta.min() >= 0 and theta.max() < 2 * np.pi + 1e-6


def test_old_mode_name_meb_warns_and_gives_identical_output(random_flows):
    lm = face_landmarks().astype(np.float64)
    with pytest.warns(DeprecationWarning, match="mode='meb' is deprecated; use mode='reference'"):
        old = mefast.mdmo(random_flows[:3], lm, mode="meb")
    np.testing.assert_array_equal(old, mefast.mdmo(random_flows[:3], lm, mode="reference"))
    with pytest.warns(DeprecationWarning):
        old_batch = mefast.mdmo_batch(random_flows[None, :3], lm[None], mode="meb")
    np.testing.assert_array_equal(old_batch[0], old)
