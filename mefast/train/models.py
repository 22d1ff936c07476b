"""Networks on flow inputs, each registered in :mod:`mefast.train.registry` with its input and source.

Every model maps ``(B, C, S, S)`` inputs to ``(B, n_outputs)`` logits; ``C`` and ``S`` are what its
:class:`~mefast.train.registry.ModelInput` declares. All are plain torch, initialised from scratch (pass
``weights=`` to :func:`build_model`, ``--weights`` on the command line, to load your own). Each class states
the paper (and table or section) its layer table comes from; ``tests/train/test_model_params.py`` checks each
one's parameter count against arithmetic written from that table.

=================  ==========================================  ==============  ===========================
name               source                                      input           channels
=================  ==========================================  ==============  ===========================
sssnet             Varanka et al. 2021, Fig. 4 (MEB sizes)     64 x 64         u, v, strain
sssnet24           same, second conv with 24 filters           64 x 64         u, v, strain
offapexnet         Gan et al. 2019, two streams (u | v)        28 x 28         u, v
offapexnet-meb     MEB's single-stream simplification          28 x 28         u, v
ststnet            Liong et al. 2019 (three conv streams)      28 x 28         u, v, strain
resnet10...101     He et al. 2016, Table 1                     112 x 112       u, v, strain
=================  ==========================================  ==============  ===========================

The video networks on TIM frames (``r2plus1d18``, ``r3d18``) live in :mod:`mefast.train.video`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .registry import MODELS, ModelEntry, ModelInput, get_model, register_model

__all__ = [
    "MODELS",
    "ModelSpec",
    "OffApexNet",
    "OffApexNetMEB",
    "ResNet",
    "ResNet18",
    "SSSNet",
    "STSTNet",
    "build_model",
    "load_weights",
    "read_state_dict",
]


class SSSNet(nn.Module):
    """Shallow single-stream network (Varanka, Peng and Zhao, 2021, Figure 4), for 64 x 64 inputs.

    conv 5x5 (h1) - ReLU - maxpool 3/3 - BN - dropout; conv 3x3 (h2) - ReLU - maxpool 2/2 - BN - dropout;
    fc 9*9*h2 -> h3 - ReLU - dropout - fc h3 -> n_outputs. ``hidden=(32, 64, 256)`` is the size MEB uses
    (1.3M parameters, data-leakage paper Table 5); SSSNet24 (the noisy-label paper's backbone, Tables 2-3)
    has 24 filters in the second convolution: ``hidden=(32, 24, 256)``.
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


def sssnet24(n_outputs: int, *, in_channels: int = 3, dropout: float = 0.5) -> SSSNet:
    """SSSNet24 (Varanka et al. 2021, Section "Shallow Single Stream Network"): 24 filters in the second conv."""
    return SSSNet(n_outputs, in_channels=in_channels, hidden=(32, 24, 256), dropout=dropout)


class STSTNet(nn.Module):
    """Shallow triple-stream network (Liong et al., FG 2019, Figure 2 / Table 1), for 28 x 28 inputs.

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
    """Off-ApexNet (Gan, Liong, Yau, Huang and Tan, Signal Processing: Image Communication 74, 2019), 28 x 28.

    The published two-stream network (Section 3.3, Figure 5): one stream on the horizontal flow u, one on the
    vertical flow v, each conv 5x5 (6 filters, same padding) - ReLU - maxpool 2/2 - conv 5x5 (16) - ReLU -
    maxpool 2/2, giving 7*7*16 = 784 features per stream; the two are concatenated (1568) and classified by
    fc 1568 -> 1024 - ReLU - dropout - fc 1024 -> 1024 - ReLU - dropout - fc 1024 -> n_outputs.
    """

    def __init__(self, n_outputs: int, *, in_channels: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        if in_channels != 2:
            raise ValueError(f"Off-ApexNet has one stream per flow component: in_channels must be 2, got {in_channels}")
        self.streams = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(1, 6, kernel_size=5, padding=2),
                nn.ReLU(),
                nn.MaxPool2d(2, 2),
                nn.Conv2d(6, 16, kernel_size=5, padding=2),
                nn.ReLU(),
                nn.MaxPool2d(2, 2),
            )
            for _ in range(2)
        )
        self.fc1 = nn.Linear(2 * 7 * 7 * 16, 1024)
        self.fc2 = nn.Linear(1024, 1024)
        self.fc = nn.Linear(1024, n_outputs)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, n_outputs); channel 0 (u) feeds one stream, channel 1 (v) the other."""
        feats = [s(x[:, i : i + 1]).flatten(1) for i, s in enumerate(self.streams)]
        x = self.drop(F.relu(self.fc1(torch.cat(feats, dim=1))))
        x = self.drop(F.relu(self.fc2(x)))
        return self.fc(x)


class OffApexNetMEB(nn.Module):
    """MEB's single-stream Off-ApexNet (Varanka, Li, Peng and Zhao, data-leakage paper, Table 5: 0.8M), 28 x 28.

    conv 3x3 (6, on u and v together) - ReLU - maxpool 2/2; conv 3x3 (16) - ReLU - maxpool 2/2; dropout -
    fc 7*7*16 -> 1024 - ReLU - dropout - fc 1024 -> n_outputs. Not the published network (that is
    :class:`OffApexNet`); kept because the data-leakage paper's numbers were produced with it.
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


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Sequential | None:
    """A residual block's projection shortcut (1x1 conv + batch norm) where the shape changes; None: identity."""
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.down = _shortcut(c_in, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int) -> None:
        super().__init__()
        c_out = planes * 4
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.down = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


#: Blocks per stage and block type of each depth (He et al. 2016, Table 1; ResNet-10 is one block per stage).
RESNET_LAYERS: dict[int, tuple[tuple[int, int, int, int], str]] = {
    10: ((1, 1, 1, 1), "basic"),
    18: ((2, 2, 2, 2), "basic"),
    34: ((3, 4, 6, 3), "basic"),
    50: ((3, 4, 6, 3), "bottleneck"),
    101: ((3, 4, 23, 3), "bottleneck"),
}


class ResNet(nn.Module):
    """ResNet (He, Zhang, Ren and Sun, CVPR 2016, Table 1) in plain torch, trained from scratch on flow inputs.

    conv 7x7/2 (64) - BN - ReLU - maxpool 3/2; four stages (64, 128, 256, 512 planes, stride 1, 2, 2, 2) of
    basic blocks (two 3x3 convs; depths 10, 18, 34) or bottleneck blocks (1x1, 3x3, 1x1 with 4x expansion;
    depths 50, 101), projection shortcuts (1x1 conv + BN) where the shape changes; global average pool; fc ->
    n_outputs. The data-leakage paper (Section 5.2) feeds them 112 x 112 optical flow with strain.
    """

    def __init__(self, n_outputs: int, *, depth: int = 18, in_channels: int = 3) -> None:
        super().__init__()
        if depth not in RESNET_LAYERS:
            raise ValueError(f"ResNet depth must be one of {sorted(RESNET_LAYERS)}, got {depth}")
        blocks, kind = RESNET_LAYERS[depth]
        block: Any = _BasicBlock if kind == "basic" else _Bottleneck
        self.depth = depth
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        layers, c = [], 64
        for planes, n, stride in zip((64, 128, 256, 512), blocks, (1, 2, 2, 2), strict=True):
            for i in range(n):
                layers.append(block(c, planes, stride if i == 0 else 1))
                c = planes * block.expansion
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(c, n_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, n_outputs)."""
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ResNet18(ResNet):
    """ResNet-18 (He et al. 2016, Table 1): :class:`ResNet` with ``depth=18``."""

    def __init__(self, n_outputs: int, *, in_channels: int = 3) -> None:
        super().__init__(n_outputs, depth=18, in_channels=in_channels)


def ModelSpec(factory: Callable[..., nn.Module], input_size: int, inputs: tuple[str, ...]) -> ModelEntry:  # noqa: N802
    """A registry entry from the former ``ModelSpec(factory, input_size, inputs)`` (for ``MODELS[name] = ...``)."""
    return ModelEntry("", factory, ModelInput(tuple(inputs), input_size), getattr(factory, "__name__", "model"))


def _load_failure(exc: Exception) -> str:
    """One line saying why ``torch.load`` could not read a file (its own messages run to paragraphs)."""
    if isinstance(exc, pickle.UnpicklingError):
        return "unpickling failed: not a torch.save file, or one that pickles more than tensors, such as a whole model"
    lines = str(exc).strip().splitlines()
    first = lines[0].strip() if lines else ""
    first = first if len(first) <= 120 else first[:117] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict a user-supplied weights file holds, read on the CPU and checked, nothing else.

    ``path`` is a ``torch.save``'d ``state_dict``, or a checkpoint holding one under ``"state_dict"`` or
    ``"model"``; it is read with ``weights_only=True`` (no code runs). Anything else (a NumPy file, a pickled
    module, text, a truncated file, a list) raises ``ValueError`` naming the file; a file that cannot be
    opened raises its ``OSError``. Whether the tensors fit a network is :func:`load_weights`' check.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # arbitrary bytes reach the unpickler: UnpicklingError, EOFError, KeyError, ...
        raise ValueError(f"weights file {path} is not a torch state dict ({_load_failure(exc)})") from None
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if isinstance(state, Mapping) and isinstance(state.get("model"), Mapping):
        state = state["model"]
    if not isinstance(state, Mapping):
        raise ValueError(f"weights file {path} is not a torch state dict (it holds a {type(state).__name__})")
    bad = [str(k) for k, v in state.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
    if bad:
        raise ValueError(
            f"weights file {path} is not a torch state dict (entries that are not named tensors: "
            f"{', '.join(bad[:5])}{', ...' if len(bad) > 5 else ''})"
        )
    return dict(state)


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a user-supplied state dict (a ``torch.save``'d ``state_dict`` or a checkpoint holding one).

    Nothing is ever downloaded. A file that is not a state dict (:func:`read_state_dict`), or a state dict
    whose keys or shapes do not match the network, raises ``ValueError`` naming the file and the problem.
    """
    state = read_state_dict(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # torch's message lists the mismatches a line each: kept, on one line
        why = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise ValueError(f"weights in {Path(path)} do not fit the network: {why}") from None
    return model


def build_model(name: str, n_outputs: int, *, weights: str | Path | None = None, **options: Any) -> nn.Module:
    """A freshly initialised registered model with ``n_outputs`` logits, optionally loading ``weights``."""
    model = get_model(name).build(n_outputs, **options)
    return model if weights is None else load_weights(model, weights)


_FLOW_STRAIN = ("flow", "strain")
# The fixed-size networks: name, builder, stacked inputs, input size, title, source.
_FIXED_SIZE_MODELS = (
    ("sssnet", SSSNet, _FLOW_STRAIN, 64, "SSSNet", "Varanka et al. 2021, Figure 4 (MEB sizes 32/64/256)"),
    (
        "sssnet24",
        sssnet24,
        _FLOW_STRAIN,
        64,
        "SSSNet24",
        "Varanka et al. 2021, Tables 2-3 backbone (24 filters in conv 2)",
    ),
    ("offapexnet", OffApexNet, ("flow",), 28, "Off-ApexNet", "Gan et al. 2019, two-stream network (u | v)"),
    (
        "offapexnet-meb",
        OffApexNetMEB,
        ("flow",),
        28,
        "Off-ApexNet (MEB)",
        "MEB's single-stream Off-ApexNet (data-leakage paper Table 5)",
    ),
    ("ststnet", STSTNet, _FLOW_STRAIN, 28, "STSTNet", "Liong et al. 2019, three conv streams"),
)
for _name, _builder, _arrays, _size, _title, _source in _FIXED_SIZE_MODELS:
    register_model(_name, _builder, input=ModelInput(_arrays, _size), title=_title, source=_source)
for _depth in RESNET_LAYERS:
    register_model(
        f"resnet{_depth}",
        ResNet,
        input=ModelInput(_FLOW_STRAIN, 112, resizable=True),
        title=f"ResNet-{_depth}",
        source=f"He et al. 2016, Table 1 ({_depth}-layer)",
        options={"depth": _depth},
    )
