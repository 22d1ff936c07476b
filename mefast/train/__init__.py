"""The torch layer: datasets, transforms, the model registry, noisy-label methods, trainer, baselines, experiments.

Only this package imports torch; ``import mefast`` never does (install the ``train`` extra).
"""

from __future__ import annotations

from .baselines import constant_method, svm_method
from .data import ArraySource, FlowDataset, StoreSource, make_loader, stack_inputs
from .embed import embed, fit, load_model, save_model
from .evaluate import METHODS, evaluate
from .leakage import LeakageComparison, leakage_comparison
from .models import MODELS, OffApexNet, OffApexNetMEB, ResNet, ResNet18, SSSNet, STSTNet, build_model, load_weights
from .noisy import IDC, ILC, LTM, NOISY_METHODS
from .registry import ModelEntry, ModelInput, UnknownModelError, available_models, get_model, register_model
from .reproduce import Experiment, Reproduction, experiment_files, load_experiment, run_experiment
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
    "Experiment",
    "LeakageComparison",
    "ModelEntry",
    "ModelInput",
    "OffApexNet",
    "OffApexNetMEB",
    "Reproduction",
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
    "embed",
    "evaluate",
    "experiment_files",
    "fit",
    "get_model",
    "input_transforms",
    "leakage_comparison",
    "load_experiment",
    "load_model",
    "load_weights",
    "make_loader",
    "register_model",
    "run_experiment",
    "save_model",
    "stack_inputs",
    "svm_method",
    "torch_method",
]
