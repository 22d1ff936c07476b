"""AU similarity, weighted supervised contrastive loss (against an independent SupCon), class weights, Eq. 8."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.train.dualbranch.losses import (  # noqa: E402
    au_similarity,
    class_weights,
    classification_loss,
    total_loss,
    wscl,
)


def supcon(z, labels, tau):
    """Supervised contrastive loss (Khosla et al. 2020, L_out), written loop by loop as a reference."""
    b = len(z)
    sim = (z @ z.T / tau).double()
    total = 0.0
    for i in range(b):
        pos = [j for j in range(b) if j != i and labels[j] == labels[i]]
        den = sum(torch.exp(sim[i, k]) for k in range(b) if k != i)
        total += -sum(sim[i, p] - torch.log(den) for p in pos) / len(pos)
    return total / b


def test_jaccard_cases():
    names = [1, 2, 4, 12]
    rows = np.array([[a in s for a in names] for s in ({1, 2}, {2, 4}, {12}, {12}, set(), set(), {1})], np.uint8)
    w = au_similarity(rows)
    assert w[0, 1] == pytest.approx(1 / 3) and w[2, 3] == 1.0
    assert w[4, 5] == 0.0 and w[4, 6] == 0.0 and w[4, 4] == 0.0
    torch.testing.assert_close(w, w.T)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_wscl_equals_supcon_with_01_similarities(tau):
    torch.manual_seed(0)
    labels = [0, 1, 2, 0, 1, 2, 0, 1]  # one AU per sample: Jaccard = same AU
    au = np.eye(3, dtype=np.uint8)[labels]
    z = torch.nn.functional.normalize(torch.randn(8, 16), dim=1)
    got = wscl(z, au_similarity(au), tau=tau, preset="paper")
    torch.testing.assert_close(got.double(), supcon(z, labels, tau), rtol=1e-5, atol=1e-6)
    perm = torch.randperm(8)
    torch.testing.assert_close(wscl(z[perm], au_similarity(au[perm.numpy()]), tau=tau, preset="paper"), got)


def test_wscl_weighted_anchor_formula_by_hand():
    torch.manual_seed(1)
    z = torch.nn.functional.normalize(torch.randn(3, 4), dim=1)
    w = torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.25], [0.0, 0.25, 1.0]])
    s = (z @ z.T / 0.1).double()
    expect = []
    for i in range(3):
        others = [k for k in range(3) if k != i]
        log_den = torch.log(sum(torch.exp(s[i, k]) for k in others))
        expect.append(-sum(w[i, j] * (s[i, j] - log_den) for j in others) / sum(w[i, j] for j in others))
    torch.testing.assert_close(wscl(z, w, preset="paper").double(), sum(expect) / 3)
    # reference: the anchor is its own positive, +1e-5 per exponential, mean over all anchors
    den = [sum(torch.exp(s[i, k]) + 1e-5 for k in range(3) if k != i) for i in range(3)]
    ref = [
        -sum(w[i, j] * (torch.log(torch.exp(s[i, j]) + 1e-5) - torch.log(den[i])) for j in range(3)) / w[i].sum()
        for i in range(3)
    ]
    torch.testing.assert_close(wscl(z, w, preset="reference").double(), sum(ref) / 3)


def test_wscl_reference_adds_1e5_to_numerator_too():
    # Spec 5 / authors' loss.py: exp(s) + 1e-5 on every exponential, the positives' numerators included.
    # Anchors 0 and 1 share an AU but point in opposite directions: exp(s_01) = e^-10 is below 1e-5.
    z = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], dtype=torch.float64), dim=1)
    w = au_similarity(np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1]], np.uint8)).double()
    s = z @ z.T / 0.1
    total = 0.0
    for i in range(3):
        den = sum(math.exp(s[i, k]) + 1e-5 for k in range(3) if k != i)
        num = sum(float(w[i, j]) * (math.log(math.exp(s[i, j]) + 1e-5) - math.log(den)) for j in range(3))
        total += -num / float(w[i].sum())
    assert abs(total / 3 - (-5.36870)) < 1e-4  # the reviewer's hand value
    assert abs(float(wscl(z, w, preset="reference")) - total / 3) < 1e-9


@pytest.mark.parametrize("preset", ["paper", "reference"])
def test_wscl_finite_without_positives(preset):
    z = torch.nn.functional.normalize(torch.randn(4, 8), dim=1).requires_grad_(True)
    au = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], np.uint8)  # no pair shares an AU, one has none
    loss = wscl(z, au_similarity(au), preset=preset)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(z.grad).all()
    if preset == "paper":
        assert loss.item() == 0.0 and z.grad.abs().max() == 0.0
    # One anchor with a positive: an AU-less sample as anchor adds nothing (paper: left out of the mean).
    au2 = np.array([[1, 0], [1, 0], [0, 0], [0, 0]], np.uint8)
    z2 = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    v = wscl(z2, au_similarity(au2), preset=preset)
    assert torch.isfinite(v)


def test_class_weights_eq6():
    y = np.repeat(np.arange(5), [63, 32, 99, 27, 25])
    np.testing.assert_allclose(class_weights(y, 5), [99 / 63, 99 / 32, 1, 99 / 27, 99 / 25], rtol=1e-6)
    np.testing.assert_array_equal(class_weights([0, 0, 2], 3), [1, 0, 2])
    with pytest.raises(ValueError, match="labels"):
        class_weights([0, 5], 3)


def test_classification_and_total_loss():
    torch.manual_seed(0)
    a, b = torch.randn(6, 3), torch.randn(6, 3)
    y = torch.tensor([0, 1, 2, 0, 0, 1])
    w = torch.tensor([1.0, 1.5, 3.0])
    got = classification_loss([a, b], y, w, smoothing=0.0)
    by_hand = 0.0
    for logits in (a, b):
        nll = -logits.log_softmax(1)[torch.arange(6), y]
        by_hand += (w[y] * nll).sum() / w[y].sum()
    torch.testing.assert_close(got, by_hand)
    assert total_loss(got, None) is got
    torch.testing.assert_close(total_loss(got, torch.tensor(2.0), 0.3), 0.7 * got + 0.6)
