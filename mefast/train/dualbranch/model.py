"""The dual-branch eyes/mouth network of Ruan et al. ("Mimicking the annotation process", ACM MM 2022).

Shared base = ResNet-18's stem, ``layer1`` and ``layer2``; one branch per face half (eyes = rows ``[0, H/2)``,
mouth = rows ``[H/2, H)``) = ``layer3`` and ``layer4`` with their own weights, global average pooling and L2
normalisation; every basic block carries a group-specific Shuffle Attention unit after its second BN. The
Area Weighted Module (paper Eqs. 1-3, h = 1024) re-weights the concatenated 1024-d feature, two heads
classify the eyes and mouth halves, and the prediction is the argmax of the summed head outputs. The
single-branch ResNet-18 of the ablation (Table 4, "sb") is the same base plus one branch on the whole image.
Two presets: ``reference`` (the authors' code: LayerNorm/dropout/detach in the AWM, LayerNorm/dropout in
the heads, summed logits) and ``paper`` (the equations taken literally). See ``specs/dual-branch.md`` §4.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "VARIANTS",
    "AreaWeightedModule",
    "BasicBlock",
    "DualBranchNet",
    "ShuffleAttention",
    "Variant",
    "get_variant",
]

Preset = Literal["reference", "paper"]


@dataclasses.dataclass(frozen=True)
class Variant:
    """One row of the paper's Table 4.

    Attributes
    ----------
    name : str
        Registry key.
    row : str
        Table 4's label.
    dual : bool
        Two branches (eyes, mouth) instead of one on the whole face.
    awm : bool
        Area Weighted Module (``X_F = X`` without it).
    au : bool
        AU alignment: the weighted supervised contrastive loss (Eq. 5) joins the loss (Eq. 8).
    rr_p : float
        Probability of Region Replacing per training sample.
    """

    name: str
    row: str
    dual: bool
    awm: bool
    au: bool
    rr_p: float = 0.5


#: The ablation variants of Table 4, by registry key.
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("singlebranch", "sb", dual=False, awm=False, au=False),
        Variant("singlebranch-au", "sb + AU", dual=False, awm=False, au=True),
        Variant("dualbranch-plain", "db", dual=True, awm=False, au=False),
        Variant("dualbranch-au", "db + AU", dual=True, awm=False, au=True),
        Variant("dualbranch-awm", "db + AWM", dual=True, awm=True, au=False),
        Variant("dualbranch-norr", "db + all w/o RR", dual=True, awm=True, au=True, rr_p=0.0),
        Variant("dualbranch", "db + all", dual=True, awm=True, au=True),
    )
}


def get_variant(name: str) -> Variant:
    """The Table 4 variant ``name`` (a :data:`VARIANTS` key)."""
    key = str(name).lower()
    if key not in VARIANTS:
        raise ValueError(f"unknown dual-branch variant {name!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[key]


class ShuffleAttention(nn.Module):
    """Shuffle Attention with one set of gate parameters per group (the paper's group-specific variant).

    The ``C`` channels form ``G`` groups; each group's halves get a channel gate (from the spatial mean) and a
    spatial gate (from a per-channel GroupNorm over h x w); the halves are concatenated per group, the groups
    reassembled and the channels shuffled between 2 groups. ``gate="softmax"`` normalises each gate over the
    ``G`` groups (the authors' code), ``"sigmoid"`` is SA-Net's gate. Weights start at 0 and biases at 1, so
    at initialisation every softmax gate is ``1/G``. Parameters: ``2C + C/G``.

    Parameters
    ----------
    channels : int
        ``C``, a multiple of ``2G``.
    groups : int
        ``G``.
    gate : {"softmax", "sigmoid"}
    """

    def __init__(self, channels: int, groups: int = 4, gate: Literal["softmax", "sigmoid"] = "softmax") -> None:
        super().__init__()
        if channels % (2 * groups):
            raise ValueError(f"Shuffle Attention needs channels ({channels}) divisible by 2 * groups ({2 * groups})")
        if gate not in ("softmax", "sigmoid"):
            raise ValueError(f"gate must be 'softmax' or 'sigmoid', got {gate!r}")
        self.groups, self.gate = groups, gate
        half = channels // (2 * groups)
        shape = (1, groups, half, 1, 1)
        self.channel_weight = nn.Parameter(torch.zeros(shape))
        self.channel_bias = nn.Parameter(torch.ones(shape))
        self.spatial_weight = nn.Parameter(torch.zeros(shape))
        self.spatial_bias = nn.Parameter(torch.ones(shape))
        self.norm = nn.GroupNorm(half, half)

    def _gate(self, a: torch.Tensor) -> torch.Tensor:
        return torch.softmax(a, dim=1) if self.gate == "softmax" else torch.sigmoid(a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend and shuffle ``(B, C, H, W)``."""
        b, c, h, w = x.shape
        g = x.view(b, self.groups, c // self.groups, h, w)
        x0, x1 = g.chunk(2, dim=2)
        ch = x0 * self._gate(self.channel_weight * x0.mean((3, 4), keepdim=True) + self.channel_bias)
        n1 = self.norm(x1.reshape(b * self.groups, -1, h, w)).view_as(x1)
        sp = x1 * self._gate(self.spatial_weight * n1 + self.spatial_bias)
        out = torch.cat([ch, sp], dim=2).reshape(b, c, h, w)
        return out.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)


class BasicBlock(nn.Module):
    """ResNet basic block with Shuffle Attention after the second BN, before the residual addition."""

    def __init__(self, cin: int, cout: int, stride: int = 1, *, sa_gate: str = "softmax") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.sa = ShuffleAttention(cout, 4, sa_gate)  # type: ignore[arg-type]
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(SA(bn2(conv2(relu(bn1(conv1(x)))))) + shortcut(x))``."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.sa(self.bn2(self.conv2(out)))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def _layer(cin: int, cout: int, stride: int, sa_gate: str) -> nn.Sequential:
    return nn.Sequential(BasicBlock(cin, cout, stride, sa_gate=sa_gate), BasicBlock(cout, cout, 1, sa_gate=sa_gate))


class Base(nn.Module):
    """Shared base: conv 7x7/2 - BN - ReLU - maxpool 3/2 - layer1 (64) - dropout - layer2 (128, /2) - dropout."""

    def __init__(
        self, in_channels: int = 3, *, width: int = 64, sa_gate: str = "softmax", dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = _layer(width, width, 1, sa_gate)
        self.layer2 = _layer(width, 2 * width, 2, sa_gate)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, 128, H/8, W/8)``."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.drop(self.layer2(self.drop(self.layer1(x))))


class Branch(nn.Module):
    """One region's branch: layer3 (256, /2) - dropout - layer4 (512, /2) - global average pool - L2 normalise."""

    def __init__(
        self, *, width: int = 64, sa_gate: str = "softmax", dropout: float = 0.2, normalise: bool = True
    ) -> None:
        super().__init__()
        self.layer3 = _layer(2 * width, 4 * width, 2, sa_gate)
        self.layer4 = _layer(4 * width, 8 * width, 2, sa_gate)
        self.drop = nn.Dropout(dropout)
        self.normalise = normalise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 128, h, w) -> (B, 512)``."""
        f = self.layer4(self.drop(self.layer3(x))).mean((2, 3))
        return F.normalize(f, dim=1) if self.normalise else f


class AreaWeightedModule(nn.Module):
    """Area Weighted Module (Eqs. 1-3): ``X_F = X * sigmoid(W2 relu(W1 X + b1) + b2)`` on ``X = [X_e | X_m]``.

    ``reference`` adds LayerNorm after each linear layer, dropout 0.3 after the ReLU and computes the weights
    from ``X.detach()`` (no gradient into the branches through the weights), as the authors' code does.
    """

    def __init__(self, features: int = 1024, hidden: int = 1024, *, preset: Preset = "reference") -> None:
        super().__init__()
        self.preset = preset
        self.fc1 = nn.Linear(features, hidden)
        self.fc2 = nn.Linear(hidden, features)
        ref = preset == "reference"
        self.ln1 = nn.LayerNorm(hidden) if ref else nn.Identity()
        self.ln2 = nn.LayerNorm(features) if ref else nn.Identity()
        self.drop = nn.Dropout(0.3) if ref else nn.Identity()

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """``X_weight`` of Eq. 2, shape ``(B, features)``, in (0, 1)."""
        if self.preset == "reference":
            x = x.detach()
        return torch.sigmoid(self.ln2(self.fc2(self.drop(F.relu(self.ln1(self.fc1(x)))))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(X_F, X_weight)`` (Eq. 2 and the product of Eq. 3)."""
        w = self.weights(x)
        return x * w, w


def _head(n_outputs: int, preset: Preset, features: int = 512) -> nn.Sequential:
    f = features
    if preset == "reference":
        return nn.Sequential(nn.Linear(f, f), nn.LayerNorm(f), nn.ReLU(), nn.Dropout(0.3), nn.Linear(f, n_outputs))
    return nn.Sequential(nn.Linear(f, f), nn.ReLU(), nn.Linear(f, n_outputs))


class DualBranchNet(nn.Module):
    """The dual-branch network (or its single-branch ablation), see the module docstring.

    Parameters
    ----------
    n_outputs : int
        Number of classes.
    in_channels : int
        Input channels (3: amplified frame, On-A, Off-A; or u, v, strain).
    variant : str
        A :data:`VARIANTS` key (architecture: ``dual``, ``awm``).
    preset : {"reference", "paper"}
    sa_gate : {"softmax", "sigmoid"}
    width : int
        Channels of the first stage (64 in ResNet-18; the stages have 1, 2, 4, 8 times as many, each branch
        gives ``8 * width`` features and the AWM's hidden layer has ``16 * width``, 1024 at 64). Smaller widths
        only for quick tests on CPU.
    weights : str or Path, optional
        A torchvision ResNet-18 state dict (your own file; nothing is downloaded): stem/layer1/layer2 go to the
        base, layer3/layer4 to every branch; ``fc`` is dropped.

    Notes
    -----
    :meth:`forward` returns the fused score ``(B, C)`` (summed logits, or summed softmaxes under ``paper``),
    so any trainer's argmax is the paper's prediction; :meth:`forward_train` returns every head and feature.
    """

    def __init__(
        self,
        n_outputs: int,
        in_channels: int = 3,
        *,
        variant: str = "dualbranch",
        preset: Preset = "reference",
        sa_gate: Literal["softmax", "sigmoid"] = "softmax",
        width: int = 64,
        weights: str | Path | None = None,
    ) -> None:
        super().__init__()
        if width < 8 or width % 8:
            raise ValueError(f"width must be a positive multiple of 8, got {width}")
        if preset not in ("reference", "paper"):
            raise ValueError(f"preset must be 'reference' or 'paper', got {preset!r}")
        if n_outputs < 1:
            raise ValueError(f"n_outputs must be at least 1, got {n_outputs}")
        self.variant = get_variant(variant)
        self.preset = preset
        self.n_outputs = n_outputs
        f = 8 * width
        self.base = Base(in_channels, width=width, sa_gate=sa_gate)
        n = 2 if self.variant.dual else 1
        self.branches = nn.ModuleList([Branch(width=width, sa_gate=sa_gate) for _ in range(n)])
        self.awm = AreaWeightedModule(2 * f, 2 * f, preset=preset) if self.variant.awm else None
        self.heads = nn.ModuleList([_head(n_outputs, preset, f) for _ in range(n)])
        self.z_drop = nn.Dropout(0.1)  # both presets: spec 13.6's `paper` removals do not include it
        if weights is not None:
            self.load_resnet18(weights)

    def regions(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The image split into eyes (upper half) and mouth (lower half); the whole image for one branch."""
        if x.ndim != 4:
            raise ValueError(f"input must have shape (B, C, H, W), got {tuple(x.shape)}")
        if not self.variant.dual:
            return [x]
        h = x.shape[2] // 2
        return [x[:, :, :h], x[:, :, h : 2 * h]]

    def forward_train(self, x: torch.Tensor) -> dict[str, Any]:
        """Every output: ``logits`` (one ``(B, C)`` per head), ``x`` (``X``), ``x_f`` (``X_F``), ``z``, ``weight``."""
        parts = self.regions(x)
        # The shared base runs on each half separately (authors' code): BatchNorm never pools eyes and mouth.
        halves = [self.base(p) for p in parts]
        feats = [br(h) for br, h in zip(self.branches, halves, strict=True)]
        xx = torch.cat(feats, dim=1)
        if self.awm is not None:
            x_f, weight = self.awm(xx)
        else:
            x_f, weight = xx, None
        chunks = x_f.chunk(len(self.heads), dim=1)
        logits = [head(c) for head, c in zip(self.heads, chunks, strict=True)]
        z = self.z_drop(F.normalize(x_f, dim=1))
        return {"logits": logits, "x": xx, "x_f": x_f, "z": z, "weight": weight}

    def fuse(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """The prediction score: summed logits (``reference``) or summed softmaxes (``paper``)."""
        if self.preset == "paper":
            return torch.stack([torch.softmax(a, dim=1) for a in logits]).sum(0)
        return torch.stack(logits).sum(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fused class score ``(B, C)``; its argmax is the prediction."""
        return self.fuse(self.forward_train(x)["logits"])

    def load_resnet18(self, path: str | Path) -> None:
        """Copy a torchvision ResNet-18 state dict into the base and (each) branch; SA, AWM and heads keep init."""
        state: Mapping[str, torch.Tensor] = torch.load(path, map_location="cpu", weights_only=True)
        mine = self.state_dict()
        used = set()
        for key, value in state.items():
            top = key.split(".")[0]
            if top in ("conv1", "bn1", "layer1", "layer2"):
                targets = [f"base.{key}"]
            elif top in ("layer3", "layer4"):
                targets = [f"branches.{i}.{key}" for i in range(len(self.branches))]
            else:
                continue
            for t in targets:
                if t not in mine or mine[t].shape != value.shape:
                    raise ValueError(f"weights {path}: {key} {tuple(value.shape)} does not fit {t}")
                mine[t] = value
            used.add(key)
        if not used:
            raise ValueError(f"weights {path} hold no ResNet-18 layers (conv1, layer1..layer4)")
        self.load_state_dict(mine)


def dualbranch_factory(variant: str) -> Any:
    """A registry factory building ``DualBranchNet(..., variant=variant)``."""

    def factory(n_outputs: int, *, in_channels: int = 3, **options: Any) -> DualBranchNet:
        return DualBranchNet(n_outputs, in_channels, variant=variant, **options)

    factory.__doc__ = f"Ruan et al., ACM MM 2022, Table 4 row '{VARIANTS[variant].row}' (mefast.train.dualbranch)."
    return factory
