"""Region Replacing (labels kept, training fold only, mouth half only), flips, erasing, inputs from a store."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from mefast.train.data import ArraySource  # noqa: E402
from mefast.train.dualbranch.transforms import (  # noqa: E402
    RegionReplacer,
    flip,
    input_mode,
    load_inputs,
    magnitude_normalize,
    random_erasing,
)


def test_partners_share_the_class_and_come_from_the_fit_set_only():
    labels = np.array([0, 0, 1, 1, 1, 2, 0, 2])
    rr = RegionReplacer(labels, p=1.0, seed=3)
    seen = set()
    for _ in range(200):
        pos = np.arange(len(labels))
        part = rr.partners(pos)
        ok = part >= 0
        assert np.all(part[ok] < len(labels))  # positions into the fit set: nothing else exists for it
        assert np.all(labels[part[ok]] == labels[pos[ok]])
        assert np.all(part[ok] != pos[ok])
        seen.update(zip(pos[ok].tolist(), part[ok].tolist(), strict=True))
    assert ok.all()  # every class has >= 2 samples, so p = 1 always replaces
    assert (0, 1) in seen and (0, 6) in seen  # uniform over the class: both partners of sample 0 occur


def test_no_test_fold_sample_is_ever_a_partner():
    # A LOSO fold: the replacer is built from the training rows only; test rows of the same class never appear.
    store_rows = np.arange(20)
    labels_all = np.tile([0, 1], 10)
    test = store_rows[store_rows % 5 == 0]
    train = np.setdiff1d(store_rows, test)
    rr = RegionReplacer(labels_all[train], p=1.0, seed=0)
    for seed in range(50):
        rr.rng = np.random.default_rng(seed)
        part = rr.partners(np.arange(len(train)))
        partner_rows = train[part[part >= 0]]
        assert not np.isin(partner_rows, test).any()


def test_rate_zero_identity_and_single_member_class():
    rr = RegionReplacer([0, 1, 1], p=1.0, seed=0)
    assert rr.partners([0])[0] == -1  # a class with one sample is never replaced
    assert (RegionReplacer([0, 0, 0], p=0.0).partners([0, 1, 2]) == -1).all()
    hits = (RegionReplacer(np.zeros(4000, int), p=0.5, seed=1).partners(np.arange(4000)) >= 0).mean()
    assert abs(hits - 0.5) < 0.03  # binomial, ~4 standard deviations


def test_compose_touches_only_the_mouth_half_and_keeps_labels():
    x = torch.arange(2 * 3 * 6 * 4, dtype=torch.float32).view(2, 3, 6, 4)
    partner = -torch.ones_like(x)
    out = RegionReplacer.compose(x, partner, torch.tensor([True, False]))
    torch.testing.assert_close(out[0, :, :3], x[0, :, :3])
    torch.testing.assert_close(out[0, :, 3:], partner[0, :, 3:])
    torch.testing.assert_close(out[1], x[1])


def test_au_mix_rules():
    names = ["AU1", "AU4", "AU12", "AU15"]
    a = np.array([[1, 0, 1, 0]], np.uint8)
    b = np.array([[0, 1, 0, 1]], np.uint8)
    np.testing.assert_array_equal(RegionReplacer.mix_aus(a, b, names), [[1, 1, 1, 1]])
    np.testing.assert_array_equal(RegionReplacer.mix_aus(a, b, names, "regional"), [[1, 0, 0, 1]])


def test_flip_mirrors_every_channel_and_negates_signed_u_only():
    x = torch.randn(2, 3, 5, 7)
    torch.testing.assert_close(flip(x), x.flip(-1))
    f = flip(x, (0,))
    torch.testing.assert_close(f[:, 0], -x[:, 0].flip(-1))
    torch.testing.assert_close(f[:, 1:], x[:, 1:].flip(-1))


def test_random_erasing_changes_a_rectangle():
    x = torch.zeros(20, 3, 32, 32)
    out = random_erasing(x, torch.Generator().manual_seed(0), p=1.0)
    changed = (out != 0).any(1)
    for m in changed:
        rows, cols = m.any(1).nonzero()[:, 0], m.any(0).nonzero()[:, 0]
        area = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert 0.02 * 1024 * 0.5 <= area <= 0.3 * 1024 * 1.5
    assert torch.equal(random_erasing(x, torch.Generator().manual_seed(0), p=0.0), x)


def test_inputs_from_either_kind_of_store():
    rng = np.random.default_rng(0)
    flow = rng.normal(size=(3, 2, 16, 16)).astype(np.float32)
    strain = np.abs(rng.normal(size=(3, 16, 16))).astype(np.float32)
    src = ArraySource({"flow": flow, "strain": strain})
    assert input_mode(src.features) == "flowstrain"
    x = load_inputs(src, [0, 2], 32)
    assert x.shape == (2, 3, 32, 32) and x[:, :2].abs().max() <= 1.0001
    amp = rng.integers(0, 255, (3, 16, 16)).astype(np.uint8)
    on, off = np.abs(flow[:, 0]), np.abs(flow[:, 1])
    src2 = ArraySource({"amplified": amp, "on_a": on, "off_a": off, "flow": flow})
    assert input_mode(src2.features) == "onoff"
    assert load_inputs(src2, [1], 16).shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match="amplified"):
        input_mode(("strain",))
    m = magnitude_normalize(torch.from_numpy(on))
    assert m.min() >= 0 and m.max() <= 1
    assert magnitude_normalize(torch.ones(1, 4, 4)).abs().max() == 0


def test_onoff_magnitudes_resized_before_normalising():
    # Spec 1: Resize(224) on the raw magnitudes, then MagnitudeNormalize((1, 2), 1.5), then Standardize.
    rng = np.random.default_rng(0)
    src = ArraySource({k: (rng.random((2, 16, 16)) ** 3).astype(np.float32) for k in ("amplified", "on_a", "off_a")})
    x = load_inputs(src, [0, 1], 40)
    std, mean = (0.229, 0.224, 0.225), (0.485, 0.456, 0.406)
    for c, name in ((1, "on_a"), (2, "off_a")):
        raw = torch.from_numpy(src.arrays[name])[:, None]
        want = magnitude_normalize(F.interpolate(raw, size=(40, 40), mode="bilinear", align_corners=False)[:, 0])
        torch.testing.assert_close(x[:, c] * std[c] + mean[c], want, atol=1e-5, rtol=0)


def test_onoff_inputs_square_from_a_non_square_store():
    # A (256, 224) store has the right width but not the right height: it must still be resized to 224 x 224.
    rng = np.random.default_rng(0)
    src = ArraySource({k: rng.random((2, 20, 16)).astype(np.float32) for k in ("amplified", "on_a", "off_a")})
    assert load_inputs(src, [0, 1], 16).shape == (2, 3, 16, 16)
