"""Dual-branch network: parameter counts from the layer table, Shuffle Attention at init, AWM, shapes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from mefast.train.dualbranch.model import (  # noqa: E402
    AreaWeightedModule,
    DualBranchNet,
    ShuffleAttention,
    _head,
    get_variant,
)


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv(cin, cout, k):  # no bias
    return cin * cout * k * k


def bn(c):
    return 2 * c


def sa(c, g=4):  # 4 gate tensors of shape (G, C/2G) + GroupNorm affine (C/2G each)
    return 4 * g * (c // (2 * g)) + 2 * (c // (2 * g))


def block(cin, cout):
    down = conv(cin, cout, 1) + bn(cout) if cin != cout else 0
    return conv(cin, cout, 3) + bn(cout) + conv(cout, cout, 3) + bn(cout) + sa(cout) + down


def stage(cin, cout):
    return block(cin, cout) + block(cout, cout)


def linear(i, o):
    return i * o + o


# The layer table of ResNet-18 (+ SA in every block), AWM (Eqs. 1-3, h = 1024) and the heads, by hand.
BASE = conv(3, 64, 7) + bn(64) + stage(64, 64) + stage(64, 128)
BRANCH = stage(128, 256) + stage(256, 512)
AWM_REFERENCE = linear(1024, 1024) + linear(1024, 1024) + 2 * 1024 + 2 * 1024  # + LayerNorm(h), LayerNorm(1024)
AWM_PAPER = linear(1024, 1024) + linear(1024, 1024)


def head(c, layernorm=True):
    return linear(512, 512) + (2 * 512 if layernorm else 0) + linear(512, c)


def test_layer_table_arithmetic_matches_the_spec():
    # The spec's verified numbers, so the arithmetic above is itself checked.
    assert BASE == 683_936
    assert BRANCH == 10_496_896
    assert AWM_REFERENCE == 2_103_296 and AWM_PAPER == 2_099_200
    assert head(5) == 266_245 and head(3) == 265_219
    # Without SA, base + one branch is torchvision's ResNet-18 without fc: 11,176,512.
    sa_total = 2 * (sa(64) + sa(128) + sa(256) + sa(512))
    assert BASE + BRANCH - sa_total == 11_176_512


def test_parameter_counts_equal_the_layer_table():
    c = 5
    m = DualBranchNet(c)
    assert n_params(m.base) == BASE
    assert [n_params(b) for b in m.branches] == [BRANCH, BRANCH]
    assert n_params(m.awm) == AWM_REFERENCE
    assert [n_params(h) for h in m.heads] == [head(c), head(c)]
    assert n_params(m) == BASE + 2 * BRANCH + AWM_REFERENCE + 2 * head(c)
    assert n_params(_head(3, "reference")) == head(3)
    assert n_params(AreaWeightedModule(preset="paper")) == AWM_PAPER
    assert n_params(_head(c, "paper")) == head(c, layernorm=False)
    single = DualBranchNet(c, variant="singlebranch")
    assert n_params(single) == BASE + BRANCH + head(c)
    assert single.awm is None and DualBranchNet(c, variant="dualbranch-plain", width=8).awm is None


def test_shuffle_attention_at_init_is_shuffle_over_groups():
    torch.manual_seed(0)
    c = 16
    unit = ShuffleAttention(c, groups=4)
    assert unit.channel_weight.shape == (1, 4, c // 8, 1, 1)
    x = torch.randn(2, c, 5, 6)
    out = unit(x)
    perm = [0] * c  # out channel 2k <- k, 2k + 1 <- C/2 + k
    for k in range(c // 2):
        perm[2 * k], perm[2 * k + 1] = k, c // 2 + k
    torch.testing.assert_close(out, x[:, perm] / 4)
    assert n_params(unit) == 2 * c + c // 4


def test_shuffle_attention_groups_have_their_own_gates():
    torch.manual_seed(1)
    unit = ShuffleAttention(16, groups=4, gate="sigmoid")
    x = torch.randn(1, 16, 4, 4)
    before = unit(x)
    with torch.no_grad():
        unit.channel_bias[0, 2] = -5.0  # only group 2's channel gate changes
    after = unit(x)
    changed = (after - before).abs().amax((0, 2, 3)) > 1e-6
    # Group 2's channel half is input channels 8, 9 -> after the shuffle at outputs 2*8-16+1=1 and 3.
    assert changed.sum() == 2 and changed[1] and changed[3]


@pytest.mark.parametrize("preset", ["reference", "paper"])
def test_awm_zero_and_one_weights(preset):
    torch.manual_seed(0)
    awm = AreaWeightedModule(32, 32, preset=preset).eval()
    x = torch.randn(4, 32, requires_grad=True)
    with torch.no_grad():
        awm.fc2.weight.zero_()
        awm.fc2.bias.zero_()
    x_f, w = awm(x)
    assert x_f.shape == (4, 32) and w.shape == (4, 32)
    torch.testing.assert_close(w, torch.full_like(w, 0.5))
    torch.testing.assert_close(x_f, x / 2)
    # A very large bias in the last layer opens every gate: X_F = X (weight one); a very negative one closes them.
    if preset == "paper":
        with torch.no_grad():
            awm.fc2.bias.fill_(50.0)
        torch.testing.assert_close(awm(x)[0], x)
        with torch.no_grad():
            awm.fc2.bias.fill_(-50.0)
        assert awm(x)[0].abs().max() < 1e-12


def test_awm_reference_sends_no_gradient_through_the_weights():
    torch.manual_seed(0)
    ref = AreaWeightedModule(16, 16, preset="reference").eval()
    x = torch.randn(3, 16, requires_grad=True)
    x_f, w = ref(x)
    (g,) = torch.autograd.grad(x_f.sum(), x)
    torch.testing.assert_close(g, w.detach())  # d(x * w(x.detach())) / dx = w


def test_forward_shapes_and_fused_prediction():
    torch.manual_seed(0)
    m = DualBranchNet(4, width=8).eval()
    x = torch.randn(3, 3, 64, 64)
    out = m.forward_train(x)
    assert [tuple(a.shape) for a in out["logits"]] == [(3, 4), (3, 4)]
    assert out["x_f"].shape == (3, 128) and out["z"].shape == (3, 128)
    torch.testing.assert_close(m(x), out["logits"][0] + out["logits"][1])
    # The mouth head sees only the lower half: changing the upper half leaves mouth features unchanged.
    x2 = x.clone()
    x2[:, :, :32] = torch.randn(3, 3, 32, 64)
    torch.testing.assert_close(m.forward_train(x2)["x"][:, 64:], out["x"][:, 64:])
    assert not torch.allclose(m.forward_train(x2)["x"][:, :64], out["x"][:, :64])
    paper = DualBranchNet(4, width=8, preset="paper").eval()
    o = paper.forward_train(x)
    torch.testing.assert_close(paper(x), o["logits"][0].softmax(1) + o["logits"][1].softmax(1))


def test_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        get_variant("tripplebranch")
    with pytest.raises(ValueError, match="width"):
        DualBranchNet(3, width=12)
    with pytest.raises(ValueError, match="divisible"):
        ShuffleAttention(12, groups=4)


@pytest.mark.parametrize("preset", ["reference", "paper"])
def test_embedding_dropout_in_both_presets(preset):
    # Spec 4: z = X_F / |X_F|, dropout 0.1 in training; 13.6's list of what `paper` removes does not include it.
    torch.manual_seed(0)
    net = DualBranchNet(3, width=8, preset=preset).train()
    out = net.forward_train(torch.randn(64, 3, 32, 32))
    live = out["x_f"] != 0  # pooled ReLU features may be exactly 0 already
    assert 0.07 < float((out["z"][live] == 0).float().mean()) < 0.13
    net.eval()
    out = net.forward_train(torch.randn(4, 3, 32, 32))
    assert (out["z"][out["x_f"] != 0] != 0).all()


@pytest.mark.parametrize("preset", ["reference", "paper"])
def test_base_batch_norm_sees_each_half_alone_in_training(preset):
    # The shared base runs on eyes and mouth separately (authors' code): in training, BatchNorm's batch
    # statistics of the eyes come from eyes only, so the eyes features ignore the mouth half entirely.
    net = DualBranchNet(3, width=8, preset=preset).train()
    x = torch.randn(6, 3, 32, 32)
    x2 = x.clone()
    x2[:, :, 16:] = 3.0 * torch.randn(6, 3, 16, 32) + 2.0
    torch.manual_seed(0)
    a = net.forward_train(x)["x"]
    torch.manual_seed(0)
    b = net.forward_train(x2)["x"]
    torch.testing.assert_close(a[:, :64], b[:, :64])
    assert not torch.allclose(a[:, 64:], b[:, 64:])
