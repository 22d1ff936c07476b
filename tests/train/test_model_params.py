"""Every registered model: its parameter count against arithmetic from the published layer table, one training step.

The expected counts are written out from the papers' layer tables (conv: k*k*c_in*c_out + bias; BatchNorm: 2 per
channel; fc: n_in*n_out + n_out), never by calling the model. Where a paper or a reference implementation
publishes a total, the test also checks the arithmetic against it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mefast.train import available_models, build_model, get_model, load_weights  # noqa: E402


def conv(k, c_in, c_out, bias=True, kt=1):
    return kt * k * k * c_in * c_out + (c_out if bias else 0)


def bn(c):
    return 2 * c


def fc(n_in, n_out):
    return n_in * n_out + n_out


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# --- shallow flow networks -------------------------------------------------------------------------------------


def expected_sssnet(k, h1=32, h2=64, h3=256):
    # Varanka et al. 2021, Figure 4: conv5x5 (3 -> h1) BN, conv3x3 (h1 -> h2) BN, fc 9*9*h2 -> h3, fc h3 -> k
    return conv(5, 3, h1) + bn(h1) + conv(3, h1, h2) + bn(h2) + fc(9 * 9 * h2, h3) + fc(h3, k)


def expected_offapexnet(k):
    # Gan et al. 2019: per stream (u, v) conv5x5 1->6, pool, conv5x5 6->16, pool (7x7x16); fc 1568-1024-1024-k
    stream = conv(5, 1, 6) + conv(5, 6, 16)
    return 2 * stream + fc(2 * 7 * 7 * 16, 1024) + fc(1024, 1024) + fc(1024, k)


def expected_offapexnet_meb(k):
    # MEB: conv3x3 2->6, conv3x3 6->16, fc 7*7*16 -> 1024, fc 1024 -> k
    return conv(3, 2, 6) + conv(3, 6, 16) + fc(784, 1024) + fc(1024, k)


def expected_ststnet(k):
    # Liong et al. 2019: three 3x3 conv streams (3, 5, 8 filters) on 3 channels, each with BN; fc 5*5*16 -> k
    return sum(conv(3, 3, c) + bn(c) for c in (3, 5, 8)) + fc(5 * 5 * 16, k)


# --- ResNets (He et al. 2016, Table 1) ----------------------------------------------------------------------


def expected_resnet(depth, k, c_in=3):
    blocks = {10: [1, 1, 1, 1], 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}[depth]
    bottleneck = depth >= 50
    total = conv(7, c_in, 64, bias=False) + bn(64)
    c = 64
    for planes, n, stride in zip((64, 128, 256, 512), blocks, (1, 2, 2, 2), strict=True):
        for i in range(n):
            s = stride if i == 0 else 1
            if bottleneck:
                out = 4 * planes
                total += conv(1, c, planes, False) + bn(planes) + conv(3, planes, planes, False) + bn(planes)
                total += conv(1, planes, out, False) + bn(out)
            else:
                out = planes
                total += conv(3, c, planes, False) + bn(planes) + conv(3, planes, planes, False) + bn(planes)
            if s != 1 or c != out:
                total += conv(1, c, out, False) + bn(out)
            c = out
    return total + fc(c, k)


# --- video ResNets (Tran et al. 2018, Table 1) ------------------------------------------------------------------


def expected_video(k, factorised, c_in=3):
    def mid(a, b):  # (2+1)D: as many parameters as the 3x3x3 conv it replaces
        return (a * b * 27) // (a * 9 + 3 * b)

    def conv3(a, b, m):
        if factorised:  # 1x3x3 a->m, BN(m), 3x1x1 m->b
            return 9 * a * m + bn(m) + 3 * m * b
        return 27 * a * b

    if factorised:
        total = 49 * c_in * 45 + bn(45) + 3 * 45 * 64 + bn(64)
    else:
        total = 3 * 49 * c_in * 64 + bn(64)
    c = 64
    for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for i in range(2):
            a = c if i == 0 else planes
            m = mid(a, planes)
            total += conv3(a, planes, m) + bn(planes) + conv3(planes, planes, m) + bn(planes)
            if i == 0 and (stride != 1 or c != planes):
                total += c * planes + bn(planes)
            c = planes
    return total + fc(512, k)


EXPECTED = {
    "sssnet": lambda k: expected_sssnet(k),
    "sssnet24": lambda k: expected_sssnet(k, h2=24),
    "offapexnet": expected_offapexnet,
    "offapexnet-meb": expected_offapexnet_meb,
    "ststnet": expected_ststnet,
    "resnet10": lambda k: expected_resnet(10, k),
    "resnet18": lambda k: expected_resnet(18, k),
    "resnet34": lambda k: expected_resnet(34, k),
    "resnet50": lambda k: expected_resnet(50, k),
    "resnet101": lambda k: expected_resnet(101, k),
    "r2plus1d18": lambda k: expected_video(k, True),
    "r3d18": lambda k: expected_video(k, False),
}


def test_every_builtin_has_an_expected_count():
    assert set(EXPECTED) <= set(available_models())
    # The dual-branch variants' counts are checked against their layer table in tests/train/dualbranch/.
    others = {n for n in available_models() if not n.startswith(("test", "dualbranch", "singlebranch"))}
    assert others <= set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parameter_count_matches_the_layer_table_and_one_step_trains(name):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    entry = get_model(name)
    model = entry.build(3).train()
    assert n_params(model) == EXPECTED[name](3)
    assert entry.source, f"{name} registers no source"
    assert re.search(r"(19|20)\d\d|Table \d", type(model).__doc__ or ""), f"{name}: no paper or table in the docstring"
    # one training step on the declared input (the resizable nets at 32 x 32, videos with 4 frames, to stay fast)
    shape = entry.input.shape
    if entry.input.resizable:
        shape = (*shape[:-3], min(shape[-3], 4), 32, 32) if entry.input.video else (*shape[:-2], 32, 32)
    x, y = torch.randn(3, *shape), torch.tensor([0, 1, 2])
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    before = model.fc.weight.detach().clone()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert np.isfinite(loss.item())
    assert not torch.equal(before, model.fc.weight)


def test_offapexnet_streams_see_one_flow_component_each():
    model = build_model("offapexnet", 3).eval()
    x = torch.randn(2, 2, 28, 28)
    u_only, v_only = x.clone(), x.clone()
    u_only[:, 1] = 0
    v_only[:, 0] = 0
    s_u = model.streams[0](x[:, :1]).flatten(1)
    assert torch.allclose(model.streams[0](u_only[:, :1]).flatten(1), s_u)
    # changing v leaves the u stream's features unchanged
    x2 = x.clone()
    x2[:, 1] += 1.0
    assert torch.allclose(model.streams[0](x2[:, :1]).flatten(1), s_u)
    with pytest.raises(ValueError, match="in_channels must be 2"):
        get_model("offapexnet").factory(3, in_channels=3)


def test_weights_are_loaded_not_downloaded(tmp_path):
    src = build_model("sssnet24", 3)
    torch.save(src.state_dict(), tmp_path / "w.pt")
    dst = build_model("sssnet24", 3, weights=tmp_path / "w.pt")
    assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values(), strict=True))
    torch.save({"state_dict": src.state_dict()}, tmp_path / "ckpt.pt")
    load_weights(build_model("sssnet24", 3), tmp_path / "ckpt.pt")
    with pytest.raises(ValueError, match="do not fit the network"):
        build_model("sssnet", 3, weights=tmp_path / "w.pt")
    with pytest.raises(ValueError, match="does not exist"):
        build_model("sssnet", 3, weights=tmp_path / "missing.pt")
