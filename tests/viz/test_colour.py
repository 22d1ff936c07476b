"""Flow, strain and heat-map colour coding against the Middlebury wheel's definition and two peers: flow_vis
(T. Runia's port of Baker et al.'s colorcode.cpp) and OpenCV's HSV conversion."""

from __future__ import annotations

import colorsys
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mefast.errors import ShapeError
from mefast.viz import (
    MIDDLEBURY_HUES,
    colour_wheel,
    flow_legend,
    flow_to_rgb,
    heat_to_rgb,
    overlay_heatmap,
    strain_to_rgb,
)

flow_vis = pytest.importorskip("flow_vis")

DIRECTIONS = {
    "right": (1, 0),
    "right-down": (1, 1),
    "down": (0, 1),
    "left-down": (-1, 1),
    "left": (-1, 0),
    "left-up": (-1, -1),
    "up": (0, -1),
    "right-up": (1, -1),
}


def _hue(rgb) -> float:
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, float) / 255))[0] * 360


def _const_flow(u, v, shape=(4, 5)):
    f = np.zeros((*shape, 2), np.float32)
    f[..., 0], f[..., 1] = u, v
    return f


@pytest.mark.parametrize("name", list(DIRECTIONS))
def test_analytic_directions_give_the_documented_hue(name):
    u, v = DIRECTIONS[name]
    rgb = flow_to_rgb(_const_flow(u, v))
    assert (rgb == rgb[0, 0]).all()  # a uniform flow is one colour
    hue = _hue(rgb[0, 0])
    want = MIDDLEBURY_HUES[name][1]
    assert min(abs(hue - want), 360 - abs(hue - want)) < 1.0, (name, rgb[0, 0], hue)
    # the peer (same wheel, same interpolation) agrees to one grey level
    ref = flow_vis.flow_to_color(_const_flow(u, v))
    assert np.abs(rgb.astype(int) - ref.astype(int)).max() <= 1


def test_axis_colours_are_the_wheel_ramps():
    # at full magnitude the four axes are pure wheel colours: right = red, down = ramp RY at 13.5 steps
    assert flow_to_rgb(_const_flow(3, 0))[0, 0].tolist() == [255, 0, 0]
    assert flow_to_rgb(_const_flow(-2, 0))[0, 0].tolist() == colour_wheel()[27].astype(int).tolist()
    wheel = colour_wheel()
    assert wheel.shape == (55, 3) and wheel[0].tolist() == [255, 0, 0] and wheel[15].tolist() == [255, 255, 0]


def test_zero_flow_is_white_in_middlebury_and_black_in_hsv():
    z = np.zeros((6, 7, 2), np.float32)
    assert (flow_to_rgb(z) == 255).all()
    assert (flow_to_rgb(z, coding="hsv") == 0).all()
    f = _const_flow(1, 0)
    f[2, 3] = 0
    assert flow_to_rgb(f)[2, 3].tolist() == [255, 255, 255]


@pytest.mark.parametrize("name", list(DIRECTIONS))
def test_saturation_grows_monotonically_with_magnitude(name):
    u, v = np.asarray(DIRECTIONS[name], np.float32) / np.hypot(*DIRECTIONS[name])
    mags = np.linspace(0, 1, 41, dtype=np.float32)
    flow = np.stack([mags * u, mags * v], axis=-1)[None]
    rgb = flow_to_rgb(flow, max_magnitude=1.0)[0]
    sat = np.array([colorsys.rgb_to_hsv(*(c / 255.0))[1] for c in rgb.astype(float)])
    val = np.array([colorsys.rgb_to_hsv(*(c / 255.0))[2] for c in rgb.astype(float)])
    assert sat[0] == 0 and sat[-1] == pytest.approx(1, abs=0.01)
    assert (np.diff(sat) >= -1e-9).all() and (np.diff(sat) > 0).sum() >= 35
    assert (val == 1).all()  # brightness stays at the maximum inside the wheel
    hsv = flow_to_rgb(flow, max_magnitude=1.0, coding="hsv")[0].astype(int)
    assert (np.diff(hsv.max(axis=1)) >= 0).all()  # HSV coding: value grows with magnitude


def test_random_field_matches_flow_vis_per_image_and_fixed_maximum(rng):
    f = rng.normal(0, 2, (48, 64, 2)).astype(np.float32)
    ours = flow_to_rgb(f).astype(int)
    assert np.abs(ours - flow_vis.flow_to_color(f).astype(int)).max() <= 1
    # fixed maximum below the largest vector: longer vectors are darkened to 75 % (colorcode.cpp)
    fixed = flow_to_rgb(f, max_magnitude=3.0).astype(int)
    ref = flow_vis.flow_uv_to_colors(f[..., 0] / 3.0, f[..., 1] / 3.0).astype(int)
    assert np.abs(fixed - ref).max() <= 1
    assert (np.hypot(f[..., 0], f[..., 1]) > 3).any()


def test_hsv_coding_matches_opencv(rng):
    f = rng.normal(0, 1, (40, 50, 2)).astype(np.float32)
    mag, ang = cv2.cartToPolar(f[..., 0], f[..., 1])
    hsv = np.stack([ang * 180 / np.pi, np.ones_like(mag), mag / mag.max()], axis=-1).astype(np.float32)
    ref = np.rint(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255).astype(int)
    assert np.abs(flow_to_rgb(f, coding="hsv").astype(int) - ref).max() <= 1


def test_channels_first_non_finite_and_dtypes(rng):
    f = rng.normal(size=(10, 12, 2)).astype(np.float32)
    assert np.array_equal(flow_to_rgb(np.moveaxis(f, -1, 0)), flow_to_rgb(f))
    assert np.array_equal(flow_to_rgb(f.astype(np.float64)), flow_to_rgb(f))
    g = f.copy()
    g[3, 4, 0] = np.nan
    g[5, 6, 1] = np.inf
    out = flow_to_rgb(g, max_magnitude=2.0)
    assert out[3, 4].tolist() == [0, 0, 0] and out[5, 6].tolist() == [0, 0, 0]
    ok = np.ones(f.shape[:2], bool)
    ok[3, 4] = ok[5, 6] = False
    assert np.array_equal(out[ok], flow_to_rgb(f, max_magnitude=2.0)[ok])
    assert flow_to_rgb(f).dtype == np.uint8 and flow_to_rgb(f).shape == (10, 12, 3)


@pytest.mark.parametrize(
    ("args", "err"),
    [
        ((np.zeros((4, 4)),), ShapeError),
        ((np.zeros((4, 4, 3)),), ShapeError),
        ((np.zeros((4, 4, 2), complex),), ShapeError),
        ((np.zeros((4, 4, 2)), 0.0), ValueError),
        ((np.zeros((4, 4, 2)), float("nan")), ValueError),
    ],
)
def test_bad_flow_input_raises(args, err):
    with pytest.raises(err):
        flow_to_rgb(*args)
    with pytest.raises(ValueError, match="coding"):
        flow_to_rgb(np.zeros((4, 4, 2)), coding="rainbow")


def test_legend_wheel():
    leg = flow_legend(65)
    assert leg.shape == (65, 65, 3) and leg.dtype == np.uint8
    assert leg[32, 32].tolist() == [255, 255, 255]  # centre: no motion
    assert leg[32, 64].tolist() == [255, 0, 0]  # right rim: rightward motion, red
    assert leg[0, 0].tolist() == [255, 255, 255]  # outside the disc
    assert abs(_hue(leg[0 + 1, 32]) - MIDDLEBURY_HUES["up"][1]) < 3  # top rim: upward motion
    with pytest.raises(ValueError):
        flow_legend(3)


def test_strain_heat_map():
    s = np.linspace(0, 2, 11, dtype=np.float32)[None].repeat(3, 0)
    rgb = strain_to_rgb(s)
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, -1].tolist() == [255, 255, 255]
    lum = rgb.astype(float) @ [0.299, 0.587, 0.114]
    assert (np.diff(lum[0]) > 0).all()
    clipped = strain_to_rgb(s, 1.0)
    assert (clipped[0, 5:] == 255).all()  # at and above the fixed maximum: the top of the map
    assert (strain_to_rgb(np.zeros((4, 4))) == 0).all()
    with pytest.raises(ShapeError):
        strain_to_rgb(np.zeros((2, 4, 4)))
    assert heat_to_rgb(np.array([np.nan]))[0].tolist() == [0, 0, 0]
    assert heat_to_rgb(np.array([0.0, 1.0]), cmap="jet").tolist() == [[0, 0, 128], [128, 0, 0]]


def test_overlay_heatmap(rng):
    face = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    out = overlay_heatmap(face, np.zeros((5, 5)))
    assert out.shape == (20, 30, 3) and np.array_equal(out, np.repeat(face[..., None], 3, -1))
    full = overlay_heatmap(face, np.ones((20, 30)), alpha=1.0)
    assert (full == np.array([128, 0, 0])).all()  # jet at 1
    half = overlay_heatmap(face.astype(np.float32) / 255, np.ones((7, 9)), alpha=0.5).astype(int)
    want = np.rint(0.5 * face[..., None] + 0.5 * np.array([128, 0, 0])).astype(int)
    assert np.abs(half - want).max() <= 1
    norm = overlay_heatmap(face, np.full((4, 4), 7.0), normalize=True)
    assert np.array_equal(norm, np.repeat(face[..., None], 3, -1))  # a constant map normalises to 0
    with pytest.raises(ValueError):
        overlay_heatmap(face, np.zeros((4, 4)), alpha=2)
    with pytest.raises(ShapeError):
        overlay_heatmap(face, np.zeros((2, 4, 4)))


def test_colour_coding_does_not_import_matplotlib_or_pillow():
    code = (
        "import sys, numpy as np, mefast, mefast.viz\n"
        "mefast.viz.flow_to_rgb(np.ones((4, 4, 2))); mefast.viz.strain_to_rgb(np.ones((4, 4)))\n"
        "mefast.viz.overlay_heatmap(np.zeros((4, 4)), np.ones((2, 2)))\n"
        "bad = [m for m in ('matplotlib', 'PIL', 'torch', 'sklearn') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
