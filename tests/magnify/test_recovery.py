"""Magnified motion measured back with TV-L1 on the real face: about (1 + alpha) x the true motion.

Tolerances per method (face crop 256 x 256, TV-L1 'accurate', 40-px border left out):
* Lagrangian (backward warp by alpha x the TV-L1 flow): within 15 % of (1 + alpha) delta for a translation, and a
  least-squares gain within 15 % for a smooth local warp (its error is the flow error x alpha, plus the
  destination-read approximation).
* Two-frame Eulerian, reference schedule (lambda_c = 16): 0.55 - 0.95 of (1 + alpha) delta. The finest band, which
  carries a part of the face's texture, is never amplified and the next one is attenuated, so the measured motion
  is below (1 + alpha) delta by design; 'flat' (every band amplified) within 25 % while (1 + alpha) delta stays
  below about 1 px (the finest bands leave the first-order model: they overshoot first, then fall).
* Sequence Eulerian, ideal band-pass over a 160 x 160 clip with sinusoidal in-band motion: reference schedule with
  lambda_c = 8 within 0.75 - 1.0; 'flat' within 0.9 - 1.35 (overshoot of the fine bands).
"""

from __future__ import annotations

import numpy as np
import pytest

import mefast
from mefast import magnification as mg
from mefast.testing import smooth_field, warp_image


@pytest.fixture(scope="module")
def face256():
    import cv2

    from mefast.data import face_image

    face = face_image(gray=True)[20:238, 25:204].astype(np.float32) / 255.0
    # bicubic overshoots [0, 1] a little (-0.06..1.01), which the Eulerian functions refuse
    return np.clip(cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC), 0, 1).astype(np.float32)


def _moved(base, field):
    """base with its content moved by field (so that tvl1(base, moved) ~ field)."""
    return np.clip(warp_image(base, -field), 0, 1).astype(np.float32)


def _measured_gain(base, out, truth, border=40):
    flow = mefast.tvl1(base, out, params="accurate")[border:-border, border:-border]
    t = truth[border:-border, border:-border]
    return float((flow * t).sum() / (t * t).sum())


@pytest.mark.parametrize("alpha", [2.0, 5.0])
def test_translation_recovered(face256, alpha):
    delta = 0.2
    field = np.zeros((256, 256, 2), np.float32)
    field[..., 0] = delta
    apex = _moved(face256, field)
    target = (1 + alpha) * field
    lag = _measured_gain(face256, mg.lagrangian(face256, apex, alpha=alpha), target)
    assert lag == pytest.approx(1.0, abs=0.15)
    eul = _measured_gain(face256, mg.evm_pair(face256, apex, alpha=alpha, lambda_c=16), target)
    assert 0.55 < eul < 0.95
    if (1 + alpha) * delta <= 1.0:
        flat = _measured_gain(face256, mg.evm_pair(face256, apex, alpha=alpha, schedule="flat"), target)
        assert flat == pytest.approx(1.0, abs=0.25)
    # mefast.magnify on the two-frame clip gives the same frames
    clip = np.stack([face256, apex])
    pair = mg.evm_pair(face256, apex, alpha=alpha)
    np.testing.assert_array_equal(mefast.magnify(clip, alpha, "eulerian-2frame")[1], pair)
    np.testing.assert_array_equal(mefast.magnify(clip, alpha, "lagrangian")[0], face256)


def test_smooth_local_warp_recovered(face256):
    alpha = 3.0
    field = smooth_field(256, 256, 0.25, seed=1)  # at most about 0.5 px
    apex = _moved(face256, field)
    target = (1 + alpha) * field
    assert _measured_gain(face256, mg.lagrangian(face256, apex, alpha=alpha), target) == pytest.approx(1.0, abs=0.15)
    gain = _measured_gain(face256, mg.evm_pair(face256, apex, alpha=alpha, schedule="flat"), target)
    assert gain == pytest.approx(1.0, abs=0.25)


def test_sequence_ideal_band_motion_recovered(face256):
    """A clip whose face moves sinusoidally at 3 Hz (in band) by 0.15 px: the magnified frame at the peak."""
    import cv2

    small = np.asarray(cv2.resize(face256, (160, 160), interpolation=cv2.INTER_AREA), np.float32)
    fs, t, amp, alpha = 30.0, 30, 0.15, 4.0
    shifts = amp * np.sin(2 * np.pi * 3.0 * np.arange(t) / fs)
    clip = np.stack([_moved(small, np.broadcast_to(np.array([s, 0], np.float32), (160, 160, 2))) for s in shifts])
    peak = int(np.argmax(shifts))
    truth = np.zeros((160, 160, 2), np.float32)
    truth[..., 0] = (1 + alpha) * shifts[peak]
    # measured from the unmoved face (shift 0 at frame 0), so the target is the whole magnified displacement
    out = mg.evm(clip, fs, alpha=alpha, temporal="ideal", fl=2.0, fh=4.0, lambda_c=8)
    assert 0.75 < _measured_gain(small, out[peak], truth, border=24) < 1.0
    out = mg.evm(clip, fs, alpha=alpha, temporal="ideal", fl=2.0, fh=4.0, schedule="flat")
    assert 0.9 < _measured_gain(small, out[peak], truth, border=24) < 1.35
    # a 10-14 Hz band holds only the motion's weak harmonics: changes under 5 % of the in-band ones
    still = mg.evm(clip, fs, alpha=alpha, temporal="ideal", fl=10.0, fh=14.0, schedule="flat")
    assert np.abs(still - clip).max() < 0.05 * np.abs(out - clip).max()


def test_lagrangian_oracles(rng):
    """L1 zero flow: bit-exact copy; L2 constant flow (1, 0), alpha 2: an exact 2-px shift inside; L4 forward =
    backward for a constant sub-pixel flow, without holes."""
    img = rng.random((40, 50)).astype(np.float32)
    np.testing.assert_array_equal(mg.lagrangian(img, img, np.zeros((40, 50, 2), np.float32), alpha=7), img)
    flow = np.zeros((40, 50, 2), np.float32)
    flow[..., 0] = 1.0
    out = mg.lagrangian(img, img, flow, alpha=2, flow_floor=0)
    np.testing.assert_allclose(out[:, 5:-5], img[:, 3:-7], atol=1e-6)
    flow[..., 0], flow[..., 1] = 0.3, -0.2
    back = mg.lagrangian(img, img, flow, alpha=2, source="onset", flow_floor=0)
    fwd = mg.lagrangian(img, img, flow, alpha=2, mode="forward", fill="none", flow_floor=0)
    inner = (slice(5, -5), slice(5, -5))
    assert not np.isnan(fwd[inner]).any()
    # bilinear splat vs bilinear sampling of a shift by (0.9, -0.6): both low-pass, equal to within the blur
    assert np.abs(fwd[inner] - back[inner]).mean() < 0.05
    u8 = (img * 255).astype(np.uint8)
    assert mg.lagrangian(u8, u8, flow, alpha=2).dtype == np.uint8
    with pytest.raises(ValueError, match="flow must have shape"):
        mg.lagrangian(img, img, np.zeros((4, 4, 2), np.float32))
    with pytest.raises(ValueError, match="mode must be"):
        mg.lagrangian(img, img, flow, mode="sideways")
