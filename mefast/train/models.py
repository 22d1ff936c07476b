"""Networks for flow inputs: SSSNet, Off-ApexNet, STSTNet (published layer tables) and a plain ResNet-18.

Every model maps ``(B, C, S, S)`` inputs to ``(B, n_outputs)`` logits. :data:`MODELS` records each one's
input size and channels: SSSNet 64 x 64 (u, v, strain); STSTNet and Off-ApexNet 28 x 28 ((u, v, strain)
and (u, v)); ResNet-18 112 x 112 (u, v, strain), the sizes the fully connected layers require and that
MEB uses (see the descriptors spec, section 6).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MODELS", "ModelSpec", "OffApexNet", "ResNet18", "SSSNet", "STSTNet", "build_model"]


class SSSNet(nn.Module):
    """Shallow single-stream network (Varanka, Peng and Zhao, 2021), for 64 x 64 inputs.

    conv 5x5 (32) - ReLU - maxpool 3/3 - BN - dropout; conv 3x3 (64) - ReLU - maxpool 2/2 - BN - dropout;
    fc 9*9*64 -> 256 - ReLU - dropout - fc 256 -> n_outputs.
    """

    def __init__(
        self,
        n_outputs: int,
        *,
        in_channels: int = 3,
        hidden: tuple[int, int, int] = (32, 64, 256),
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        h1, h2, h3 = hidden
        self.conv1 = nn.Conv2d(in_channels, h1, kernel_size=5)
        self.bn1 = nn.BatchNorm2d(h1)
        self.conv2 = nn.Conv2d(h1, h2, kernel_size=3)
        self.bn2 = nn.BatchNorm2d(h2)
        self.drop_conv = nn.Dropout2d(dropout)
        self.fc1 = nn.Linear(9 * 9 * h2, h3)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(h3, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, n_outputs)."""
        x = self.drop_conv(self.bn1(F.max_pool2d(F.relu(self.conv1(x)), 3, 3)))
        x = self.drop_conv(self.bn2(F.max_pool2d(F.relu(self.conv2(x)), 2, 2)))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc(self.drop(x))


class STSTNet(nn.Module):
    """Shallow triple-stream network (Liong et al., FG 2019), for 28 x 28 inputs.

    Three parallel conv 3x3 streams (3, 5 and 8 filters, padding 2) - ReLU - BN - maxpool 3/3 (pad 1) -
    dropout; concatenated (16 channels) - avgpool 2/2 - fc 5*5*16 -> n_outputs.
    """

    def __init__(self, n_outputs: int, *, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.streams = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, c, kernel_size=3, padding=2),
                nn.ReLU(),
                nn.BatchNorm2d(c),
                nn.MaxPool2d(3, 3, padding=1),
                nn.Dropout(dropout),
            )
            for c in (3, 5, 8)
        )
        self.fc = nn.Linear(5 * 5 * 16, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, n_outputs)."""
        x = torch.cat([s(x) for s in self.streams], dim=1)
        return self.fc(F.avg_pool2d(x, 2, 2).flatten(1))


class OffApexNet(nn.Module):
    """Off-ApexNet (Gan, Liong et al., SP:IC 2019) on the onset-apex flow (u, v), 28 x 28.

    conv 3x3 (6) - ReLU - maxpool 2/2; conv 3x3 (16) - ReLU - maxpool 2/2; dropout - fc 7*7*16 -> 1024 -
    ReLU - dropout - fc 1024 -> n_outputs (the layer table MEB implements).
    """

    def __init__(self, n_outputs: int, *, in_channels: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(7 * 7 * 16, 1024)
        self.fc = nn.Linear(1024, n_outputs)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, n_outputs)."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = F.relu(self.fc1(self.drop(x.flatten(1))))
        return self.fc(self.drop(x))


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """ResNet-18 (He et al., 2016) in plain torch, trained from scratch on flow inputs.

    conv 7x7/2 (64) - BN - ReLU - maxpool 3/2; four stages of two basic blocks (64, 128, 256, 512 channels,
    stride 1, 2, 2, 2); global average pool; fc 512 -> n_outputs.
    """

    def __init__(self, n_outputs: int, *, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        layers, c = [], 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [_BasicBlock(c, c_out, stride), _BasicBlock(c_out, c_out, 1)]
            c = c_out
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, n_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, n_outputs)."""
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """How to build a model and what input it takes.

    Attributes
    ----------
    factory : callable
        ``factory(n_outputs, in_channels=...) -> nn.Module``.
    input_size : int
        Side of the square input.
    inputs : tuple of str
        Store features stacked as channels, in order (``flow`` gives u and v).
    """

    factory: Callable[..., nn.Module]
    input_size: int
    inputs: tuple[str, ...]

    @property
    def in_channels(self) -> int:
        """Number of input channels."""
        return sum(2 if f == "flow" else 1 for f in self.inputs)


MODELS: dict[str, ModelSpec] = {
    "sssnet": ModelSpec(SSSNet, 64, ("flow", "strain")),
    "offapexnet": ModelSpec(OffApexNet, 28, ("flow",)),
    "ststnet": ModelSpec(STSTNet, 28, ("flow", "strain")),
    "resnet18": ModelSpec(ResNet18, 112, ("flow", "strain")),
}


def build_model(name: str, n_outputs: int) -> nn.Module:
    """A freshly initialised model from :data:`MODELS` with ``n_outputs`` logits."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if n_outputs < 1:
        raise ValueError(f"n_outputs must be at least 1, got {n_outputs}")
    spec = MODELS[name]
    return spec.factory(n_outputs, in_channels=spec.in_channels)
