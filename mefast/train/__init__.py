"""The torch layer: store-backed datasets, transforms, models, noisy-label methods, trainer and baselines.

Only this package imports torch; ``import mefast`` never does (install the ``train`` extra).
"""

from __future__ import annotations

from .baselines import constant_method, svm_method
from .data import ArraySource, FlowDataset, StoreSource, make_loader, stack_inputs
from .evaluate import METHODS, evaluate
from .models import MODELS, OffApexNet, OffApexNetMEB, ResNet, ResNet18, SSSNet, STSTNet, build_model, load_weights
from .noisy import IDC, ILC, LTM, NOISY_METHODS
from .registry import ModelEntry, ModelInput, UnknownModelError, available_models, get_model, register_model
from .trainer import TrainConfig, Trainer, torch_method
from .transforms import Compose, MinMaxNormalize, RandomHorizontalFlip, Resize, input_transforms

__all__ = [
    "IDC",
    "ILC",
    "LTM",
    "METHODS",
    "MODELS",
    "NOISY_METHODS",
    "ArraySource",
    "Compose",
    "FlowDataset",
    "MinMaxNormalize",
    "ModelEntry",
    "ModelInput",
    "OffApexNet",
    "OffApexNetMEB",
    "RandomHorizontalFlip",
    "ResNet",
    "ResNet18",
    "Resize",
    "SSSNet",
    "STSTNet",
    "StoreSource",
    "TrainConfig",
    "Trainer",
    "UnknownModelError",
    "available_models",
    "build_model",
    "constant_method",
    "evaluate",
    "get_model",
    "input_transforms",
    "load_weights",
    "make_loader",
    "register_model",
    "stack_inputs",
    "svm_method",
    "torch_method",
]
