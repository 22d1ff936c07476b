"""DMDSP sparse sampling and the frame selections."""

from __future__ import annotations

import numpy as np
import pytest

import mefast
from mefast.descriptors import dmdsp_modes
from mefast.errors import ShapeError


def _modal_clip(t=12):
    rng = np.random.default_rng(0)
    a, b, c, d = rng.normal(size=(4, 8, 9))
    return np.stack([a + b * 0.8**k + c * np.cos(0.5 * k) + d * np.sin(0.5 * k) for k in range(t)])


def test_exact_dmd_of_a_modal_clip():
    clip = _modal_clip()
    res = dmdsp_modes(clip, gamma=0.0)
    lam = np.sort_complex(res.eigenvalues)
    np.testing.assert_allclose(lam, np.sort_complex([0.8, 1.0, np.exp(0.5j), np.exp(-0.5j)]), atol=1e-8)
    assert res.kept.all()
    np.testing.assert_allclose(mefast.dmdsp(clip, gamma=0.0, n_frames=12), clip, atol=1e-5)
    # fractional times interpolate the modes: tau = 5.5 between frames 5 and 6
    half = mefast.dmdsp(clip, gamma=0.0, n_frames=23)[11]
    rng = np.random.default_rng(0)
    a, b, c, d = rng.normal(size=(4, 8, 9))
    np.testing.assert_allclose(half, a + b * 0.8**5.5 + c * np.cos(2.75) + d * np.sin(2.75), atol=1e-4)


def test_polished_amplitudes_are_the_least_squares_fit_of_the_kept_modes():
    clip = _modal_clip() + np.random.default_rng(1).normal(scale=0.05, size=(12, 8, 9))
    res = dmdsp_modes(clip, gamma=0.05)
    kept = res.kept
    assert 0 < kept.sum() < kept.size  # the penalty dropped some modes
    x0 = clip.reshape(12, -1)[:-1].T / res.scale
    cols = [np.outer(res.modes[:, i], res.eigenvalues[i] ** np.arange(11)).ravel() for i in np.flatnonzero(kept)]
    want = np.linalg.lstsq(np.stack(cols, 1), x0.ravel().astype(complex), rcond=None)[0]
    np.testing.assert_allclose(res.amplitudes[kept], want, rtol=1e-6, atol=1e-9)
    assert (res.amplitudes[~kept] == 0).all()
    assert dmdsp_modes(clip, gamma=5.0).kept.sum() <= kept.sum()


def test_still_and_zero_clips():
    out = mefast.dmdsp(np.full((6, 8, 8), 90, np.uint8))
    assert out.dtype == np.uint8 and out.shape == (2, 8, 8) and (out == 90).all()
    z = mefast.dmdsp(np.zeros((5, 4, 4), np.float32))
    assert np.isfinite(z).all() and not z.any()


def test_select_frames():
    clip = np.arange(10, dtype=np.uint8)[:, None, None] * np.ones((1, 3, 3), np.uint8)
    assert mefast.select_frames(clip, "apex", apex=6)[:, 0, 0].tolist() == [6]
    assert mefast.select_frames(clip, "onset_apex", apex=6)[:, 0, 0].tolist() == [0, 6]
    assert mefast.select_frames(clip, "onset_apex", apex=6, onset=2)[:, 0, 0].tolist() == [2, 6]
    assert mefast.select_frames(clip, "uniform", n_frames=3)[:, 0, 0].tolist() == [0, 4, 9]


def test_bad_input_names_the_problem():
    clip = np.zeros((5, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="apex index"):
        mefast.select_frames(clip, "apex")
    with pytest.raises(ValueError, match="apex index 5 is outside"):
        mefast.select_frames(clip, "apex", apex=5)
    with pytest.raises(ValueError, match="n_frames"):
        mefast.select_frames(clip, "uniform", n_frames=6)
    with pytest.raises(ValueError, match="method"):
        mefast.select_frames(clip, "random")
    with pytest.raises(ShapeError, match="at least 3 frames"):
        mefast.dmdsp(clip[:2])
    with pytest.raises(ValueError, match="gamma"):
        mefast.dmdsp(clip, gamma=-1)
    with pytest.raises(ValueError, match="n_frames"):
        mefast.dmdsp(clip, n_frames=1)
