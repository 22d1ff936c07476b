"""Optical strain against the analytic oracles of the descriptor spec (section 1.4 and 7, S1-S4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mefast
from mefast import _core
from mefast._backend import kernels


def field(u, v, n=32):
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    return np.stack([u(x, y) * np.ones_like(x), v(x, y) * np.ones_like(x)], axis=-1).astype(np.float32)


CASES = {
    # name: (u, v, correct value, MEB interior value from the spec's table)
    "translation": (lambda x, y: 2.0, lambda x, y: -1.0, 0.0, 0.0),
    "stretch_x": (lambda x, y: 0.1 * x, lambda x, y: 0.0, 0.1, 0.5657),
    "stretch_y": (lambda x, y: 0.0, lambda x, y: 0.1 * y, 0.1, 0.5657),
    "rotation": (lambda x, y: -0.1 * y, lambda x, y: 0.1 * x, 0.0, 1.1314),
    "simple_shear": (lambda x, y: 0.1 * y, lambda x, y: 0.0, 0.1 / np.sqrt(2), 0.8),
    "pure_shear": (lambda x, y: 0.1 * y, lambda x, y: 0.1 * x, 0.1 * np.sqrt(2), 1.1314),
    "isotropic": (lambda x, y: 0.1 * x, lambda x, y: 0.1 * y, 0.1 * np.sqrt(2), 0.8),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("deriv", ["central", "backward"])
def test_linear_fields_match_the_analytic_strain(name, deriv):
    u, v, expected, _ = CASES[name]
    s = mefast.optical_strain(field(u, v), deriv=deriv)
    # central: exact everywhere on linear fields; backward: exact away from the first row/column
    region = s if deriv == "central" else s[1:, 1:]
    np.testing.assert_allclose(region, expected, atol=1e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_meb_mode_reproduces_the_spec_table(name):
    u, v, _, meb = CASES[name]
    s = mefast.optical_strain(field(u, v), deriv="sobel_meb")
    assert s[1:-1, 1:-1].mean() == pytest.approx(meb, abs=1e-4)


def test_meb_translation_border_artefact():
    s = mefast.optical_strain(field(lambda x, y: 2.0, lambda x, y: -1.0), deriv="sobel_meb")
    assert np.abs(s[1:-1, 1:-1]).max() < 1e-6
    assert s.max() == pytest.approx(8.49, abs=0.01)  # zero padding makes the border light up


def test_rotation_separates_correct_from_meb():
    rot = field(lambda x, y: -0.05 * y, lambda x, y: 0.05 * x)
    assert np.abs(mefast.optical_strain(rot)).max() < 1e-6
    assert mefast.optical_strain(rot, deriv="sobel_meb")[1:-1, 1:-1].mean() == pytest.approx(
        8 * np.sqrt(2) * 0.05, abs=1e-4
    )


def test_matches_numpy_gradient_reference(rng, backend):
    f = rng.normal(size=(3, 20, 24, 2)).astype(np.float32)
    s = mefast.optical_strain(f, device=backend)
    uy, ux = np.gradient(f[..., 0].astype(np.float64), axis=(1, 2))
    vy, vx = np.gradient(f[..., 1].astype(np.float64), axis=(1, 2))
    ref = np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2)
    assert s.shape == (3, 20, 24) and s.dtype == np.float32
    np.testing.assert_allclose(s, ref, rtol=1e-5, atol=1e-5)


def test_meb_mode_matches_scipy_sobel(rng):
    from scipy import ndimage

    f = rng.normal(size=(18, 22, 2))
    u, v = f[..., 0], f[..., 1]
    a = ndimage.sobel(u, axis=0, mode="constant")
    b = ndimage.sobel(u, axis=1, mode="constant")
    c = ndimage.sobel(v, axis=0, mode="constant")
    d = ndimage.sobel(v, axis=1, mode="constant")
    ref = np.sqrt(a**2 + d**2 + 0.5 * (b**2 + c**2))
    np.testing.assert_allclose(mefast.optical_strain(f, deriv="sobel_meb"), ref, rtol=1e-5, atol=1e-4)


@settings(max_examples=30, deadline=None)
@given(c=st.floats(-5, 5), tu=st.floats(-3, 3), tv=st.floats(-3, 3), seed=st.integers(0, 1000))
def test_homogeneous_and_translation_invariant(c, tu, tv, seed):
    f = np.random.default_rng(seed).normal(size=(12, 14, 2)).astype(np.float32)
    s = mefast.optical_strain(f).astype(np.float64)
    np.testing.assert_allclose(mefast.optical_strain(c * f), abs(c) * s, rtol=1e-4, atol=1e-4)
    shifted = f + np.array([tu, tv], np.float32)
    np.testing.assert_allclose(mefast.optical_strain(shifted), s, atol=1e-4)


def test_shapes_and_errors():
    assert mefast.optical_strain(np.zeros((5, 6, 2))).shape == (5, 6)
    assert mefast.optical_strain(np.zeros((2, 3, 5, 6, 2))).shape == (2, 3, 5, 6)
    with pytest.raises(ValueError, match=r"flow must have shape \(\.\.\., H, W, 2\), got shape \(5, 6, 3\)"):
        mefast.optical_strain(np.zeros((5, 6, 3)))
    with pytest.raises(ValueError, match=r"at least 2 x 2"):
        mefast.optical_strain(np.zeros((1, 6, 2)))
    with pytest.raises(ValueError, match=r"flow contains NaN"):
        mefast.optical_strain(np.full((4, 4, 2), np.nan))
    with pytest.raises(ValueError, match=r"deriv must be one of"):
        mefast.optical_strain(np.zeros((4, 4, 2)), deriv="forward")  # type: ignore[arg-type]


@pytest.mark.parametrize("deriv", ["central", "backward", "sobel_meb"])
def test_a_flow_whose_squares_overflow_float32_raises(deriv):
    """Review repro: optical_strain(N(0, 1) * 1e20 float32) was infinite in 1598 of 1600 pixels (float32 squares)."""
    flow = (np.random.default_rng(0).standard_normal((40, 40, 2)) * 1e20).astype(np.float32)
    match = r"^flow is too large for the float32 optical strain: its squared derivatives overflow \(largest magnitude"
    with pytest.raises(ValueError, match=match):
        mefast.optical_strain(flow, deriv=deriv)
    with pytest.raises(ValueError, match=match):
        mefast.optical_strain(np.stack([flow / 1e20, flow]), deriv=deriv)  # one frame of a stack is enough
    sign = np.sign(np.random.default_rng(1).standard_normal((40, 40, 2)))
    with pytest.raises(ValueError, match=match):
        mefast.optical_strain((sign * 3e38).astype(np.float32), deriv=deriv)
    # the advice of the message: the strain is linear in the flow (a power of two scales it exactly)
    scaled = mefast.optical_strain(flow / np.float32(2.0**70), deriv=deriv).astype(np.float64) * 2.0**70
    assert np.isfinite(scaled).all() and scaled.max() > 1e20


def test_resize_flow_scales_vectors():
    f = np.zeros((40, 60, 2), np.float32)
    f[..., 0], f[..., 1] = 3.0, -2.0
    r = mefast.resize_flow(f, (20, 30))
    assert r.shape == (20, 30, 2)
    np.testing.assert_allclose(r[..., 0], 1.5, atol=1e-6)
    np.testing.assert_allclose(r[..., 1], -1.0, atol=1e-6)
    cf = mefast.flow_to_channels_first(r)
    assert cf.shape == (2, 20, 30)


def test_axis_beyond_int_is_rejected_not_truncated():
    """A width of 2**32 + 2 must not be taken as 2 (the extent was cast to int). The view claims memory it
    does not have, so only a refusal before any read is safe."""
    from mefast import _core

    base = np.zeros(2 * 2 * 2, np.float32)
    W = 2**32 + 2
    flows = np.lib.stride_tricks.as_strided(base, shape=(1, 2, W, 2), strides=(2 * W * 8, W * 8, 8, 4), writeable=False)
    assert flows.flags.c_contiguous
    with pytest.raises(ValueError, match=r"flows of shape \(1, 2, 4294967298, 2\) is too large"):
        _core.optical_strain(flows, 0, 1)


@pytest.mark.parametrize("scheme", [0, 1, 2], ids=["central", "backward", "sobel_meb"])
def test_backends_match_the_cpu_core(rng, backend, scheme):
    flows = rng.normal(size=(5, 61, 47, 2)).astype(np.float32)
    out = kernels(backend).optical_strain(flows, scheme, 2)
    cpu = _core.optical_strain(flows, scheme, 1)
    if backend == "cuda":
        np.testing.assert_allclose(out, cpu, rtol=1e-6, atol=1e-6)
    else:  # the emulation runs the GPU arithmetic on the CPU: bit for bit
        np.testing.assert_array_equal(out, cpu)


def test_backends_reject_bad_shapes(backend):
    with pytest.raises(ValueError, match=r"\(N, H, W, 2\)"):
        kernels(backend).optical_strain(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"flows must be a C-contiguous float32 array .* got dtype float64"):
        kernels(backend).optical_strain(np.zeros((1, 4, 4, 2), np.float64))  # the core never casts
