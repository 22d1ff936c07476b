"""Video networks on the stored TIM frames: R(2+1)D-18 and a 3D-ResNet-18, in plain torch.

Both follow Tran, Wang, Torresani, Ray, LeCun and Paluri, "A Closer Look at Spatiotemporal Convolutions for
Action Recognition" (CVPR 2018), Table 1 (the 18-layer column), in the layout torchvision uses
(``r2plus1d_18`` / ``r3d_18``; torchvision itself is not a dependency: its PyPI wheels do not import beside
mefast's torch build, so the layer tables are implemented here). They are trained from scratch; published
Kinetics weights can be loaded with ``weights=`` / ``--weights`` (the layout and parameter names match).

The input is the stored clip ``frames`` (N, T, H, W) uint8, resampled to ``ModelInput.frames`` frames (8, as
in the data-leakage paper, Section 5.2; shorter clips are interpolated), resized to 112 x 112, scaled to
[0, 1] and replicated to three channels (the networks' published RGB stem): ``(B, 3, 8, 112, 112)``.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ModelInput, register_model

__all__ = ["R2Plus1D18", "R3D18", "VideoResNet"]


def _midplanes(c_in: int, c_out: int) -> int:
    """Channels between the spatial and temporal convolution: a (2+1)D block has as many parameters as 3x3x3."""
    return (c_in * c_out * 3 * 3 * 3) // (c_in * 3 * 3 + 3 * c_out)


def _conv2plus1d(c_in: int, c_out: int, mid: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, c_out, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False),
    )


def _conv3d(c_in: int, c_out: int, mid: int, stride: int) -> nn.Conv3d:
    del mid
    return nn.Conv3d(c_in, c_out, 3, stride, 1, bias=False)


class _Block3d(nn.Module):
    def __init__(self, c_in: int, planes: int, stride: int, factorised: bool) -> None:
        super().__init__()
        conv = _conv2plus1d if factorised else _conv3d
        mid = _midplanes(c_in, planes)
        self.conv1 = nn.Sequential(conv(c_in, planes, mid, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv(planes, planes, mid, 1), nn.BatchNorm3d(planes))
        self.downsample = None
        if stride != 1 or c_in != planes:
            self.downsample = nn.Sequential(nn.Conv3d(c_in, planes, 1, stride, bias=False), nn.BatchNorm3d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class VideoResNet(nn.Module):
    """18-layer video ResNet (Tran et al. 2018, Table 1): ``factorised`` (2+1)D or full 3D convolutions.

    Stem: (2+1)D - conv 1x7x7/(1,2,2) (45) - BN - ReLU - conv 3x1x1 (64) - BN - ReLU; 3D - conv 3x7x7/(1,2,2)
    (64) - BN - ReLU. Four stages of two residual blocks (64, 128, 256, 512 channels, stride 1, 2, 2, 2 in time
    and space), each block two (2+1)D or 3x3x3 convolutions with BN; projection shortcuts (1x1x1 conv + BN);
    global average pool; fc 512 -> n_outputs.
    """

    def __init__(self, n_outputs: int, *, in_channels: int = 3, factorised: bool = True) -> None:
        super().__init__()
        if factorised:
            self.stem = nn.Sequential(
                nn.Conv3d(in_channels, 45, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
                nn.BatchNorm3d(45),
                nn.ReLU(inplace=True),
                nn.Conv3d(45, 64, (3, 1, 1), 1, (1, 0, 0), bias=False),
                nn.BatchNorm3d(64),
                nn.ReLU(inplace=True),
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv3d(in_channels, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                nn.BatchNorm3d(64),
                nn.ReLU(inplace=True),
            )
        layers, c = [], 64
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [_Block3d(c, planes, stride, factorised), _Block3d(planes, planes, 1, factorised)]
            c = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, n_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_outputs) of clips (B, C, T, H, W)."""
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool3d(x, 1), 1))


class R2Plus1D18(VideoResNet):
    """R(2+1)D-18 (Tran et al. 2018, Table 1, 18 layers; 31.5M parameters with 400 outputs)."""

    def __init__(self, n_outputs: int, *, in_channels: int = 3) -> None:
        super().__init__(n_outputs, in_channels=in_channels, factorised=True)


class R3D18(VideoResNet):
    """3D-ResNet-18, R3D (Tran et al. 2018, Table 1, 18 layers; 33.4M parameters with 400 outputs)."""

    def __init__(self, n_outputs: int, *, in_channels: int = 3) -> None:
        super().__init__(n_outputs, in_channels=in_channels, factorised=False)


_CLIP = ModelInput(("frames",), 112, frames=8, resizable=True)
register_model(
    "r2plus1d18",
    R2Plus1D18,
    input=_CLIP,
    title="R(2+1)D-18",
    source="Tran et al. 2018, Table 1 (R(2+1)D-18); data-leakage paper Tables 5, 9-11",
)
register_model("r3d18", R3D18, input=_CLIP, title="3D-ResNet-18", source="Tran et al. 2018, Table 1 (R3D-18)")
