"""on_off_apex with the spec's names: magnifier="lbmm", flow=, target="auto" with dataset= (review fix)."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

import mefast.magnification as mg
from mefast.data import face_image
from mefast.flow import TVL1_PRESETS, tvl1

# ---------------------------------------------------------------------------------------------------------------
# on_off_apex: the spec's names (magnifier="lbmm", flow=, target="auto" with dataset=)


@pytest.fixture(scope="module")
def frames() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    face = face_image(gray=True)[60:124, 60:124].astype(np.float32) / 255
    return face, np.roll(face, 1, axis=1), np.roll(face, 1, axis=0)


def _same(x: mg._onoff.OnOffApex, y: mg._onoff.OnOffApex) -> None:
    for a, b in zip(x, y, strict=True):
        np.testing.assert_array_equal(a, b)


def test_signature_has_the_spec_keywords():
    params = inspect.signature(mg.on_off_apex).parameters
    for name in ("target", "amplification", "magnifier", "flow", "scale_step", "normalize", "dataset", "weights"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["flow"].default == "opencv"
    assert params["scale_step"].default == 0.5
    assert params["amplification"].default == 6.0


def test_default_flow_is_opencv_with_the_reference_scale_step(frames):
    """flow="opencv" (the default) is what on_off_apex computed before flow= existed, bit for bit: OpenCV
    DualTVL1's parameters with scale_step 0.5, as many levels as the frame allows."""
    a, b, c = frames
    got = mg.on_off_apex(a, b, c)
    params = dataclasses.replace(TVL1_PRESETS["opencv"], scale_step=0.5, adapt_scales=True)
    np.testing.assert_array_equal(got.on_a, np.hypot(*np.moveaxis(tvl1(a, b, params=params), -1, 0)))
    np.testing.assert_array_equal(got.off_a, np.hypot(*np.moveaxis(tvl1(c, b, params=params), -1, 0)))
    _same(mg.on_off_apex(a, b, c, flow="opencv", scale_step=0.5), got)
    _same(mg.on_off_apex(a, b, c, flow=params), got)  # a TVL1Params: used with the given scale_step


def test_flow_preset_and_scale_step(frames):
    a, b, c = frames
    fast = dataclasses.replace(TVL1_PRESETS["fast"], scale_step=0.5, adapt_scales=True)
    got = mg.on_off_apex(a, b, c, flow="fast")
    np.testing.assert_array_equal(got.on_a, np.hypot(*np.moveaxis(tvl1(a, b, params=fast), -1, 0)))
    own = mg.on_off_apex(a, b, c, flow="fast", scale_step=None)  # None: the preset's own scale step
    np.testing.assert_array_equal(own.on_a, np.hypot(*np.moveaxis(tvl1(a, b, params="fast"), -1, 0)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"flow": "tvl2"}, ValueError, r"flow must be a TV-L1 preset name \(.*'opencv'.*\) or a .*, got 'tvl2'"),
        ({"flow": 3}, TypeError, r"flow must be a TV-L1 preset name \(.*\) or a TVL1Params, got int"),
        ({"flow": None}, TypeError, r"flow must be a TV-L1 preset name .* got NoneType"),
        ({"scale_step": 1.0}, ValueError, r"scale_step must be a number in \(0, 1\) or None, got 1.0"),
        ({"scale_step": "0.5"}, ValueError, r"scale_step must be a number in \(0, 1\) or None, got '0.5'"),
        ({"target": "auto"}, ValueError, r"target='auto' chooses by the corpus: give dataset="),
        ({"target": "auto", "dataset": 3}, ValueError, r"dataset must be a corpus name"),
        ({"target": "samm"}, ValueError, r"target must be 'auto', 'apex' or 'amplified', got 'samm'"),
        ({"magnifier": "oh"}, ValueError, r"magnifier must be 'evm_pair', 'lagrangian', 'lbmm' or 'learned'"),
    ],
)
def test_bad_values_are_refused(frames, kwargs, error, match):
    with pytest.raises(error, match=match):
        mg.on_off_apex(*frames, **kwargs)


def test_target_auto_chooses_by_dataset(frames):
    """target="auto": the amplified frame for SAMM, the apex elsewhere (the dual-branch paper's choice)."""
    a, b, c = frames
    apex = mg.on_off_apex(a, b, c, target="apex")
    amplified = mg.on_off_apex(a, b, c, target="amplified")
    assert not np.array_equal(apex.on_a, amplified.on_a)
    for name in ("samm", "SAMM", "samm_lv", "SAMM-LV"):
        _same(mg.on_off_apex(a, b, c, target="auto", dataset=name), amplified)
    for name in ("casme2", "CASME II", "casme3", "smic"):
        _same(mg.on_off_apex(a, b, c, target="auto", dataset=name), apex)


def test_auto_rule_is_the_pipelines():
    from mefast.pipeline._magnify_features import on_off_target_of

    for name in ("samm", "SAMM", "samm_lv", "SAMM-LV", "casme2", "CASME II", "casme3", "cas(me)^2", "smic", "mmew"):
        assert mg._onoff.on_off_target_for(name) == on_off_target_of("auto", name)


def test_lbmm_is_the_learned_magnifier(frames, monkeypatch):
    """magnifier="lbmm" (the spec's name) and "learned" call the same model with the same weights."""
    calls = []

    def fake(onset, apex, alpha, method="eulerian-2frame", **options):
        calls.append((alpha, method, options))
        return np.clip(apex + alpha * (apex - onset), 0, 1)

    monkeypatch.setattr(mg, "magnify_pair", fake)
    a, b, c = frames
    w = object()
    for target in ("apex", "amplified"):
        _same(mg.on_off_apex(a, b, c, magnifier="lbmm", weights=w, target=target),
              mg.on_off_apex(a, b, c, magnifier="learned", weights=w, target=target))  # fmt: skip
    assert {(al, m) for al, m, _ in calls} == {(5.0, "learned")}
    assert all(o == {"weights": w} for _, _, o in calls)


def test_lbmm_needs_weights(frames):
    with pytest.raises((ValueError, ImportError), match="weights=|torch"):
        mg.on_off_apex(*frames, magnifier="lbmm")


def test_lbmm_with_a_model_equals_learned(frames):
    pytest.importorskip("torch")
    from mefast.train.magnification import LBMM

    net = LBMM(8, n_encoder=1, n_texture=1, n_shape=1, n_manipulator=1, n_decoder=1).eval()
    a, b, c = frames
    _same(mg.on_off_apex(a, b, c, magnifier="lbmm", weights=net, target="amplified"),
          mg.on_off_apex(a, b, c, magnifier="learned", weights=net, target="amplified"))  # fmt: skip
