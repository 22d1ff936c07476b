"""The dual-branch eyes/mouth method of Ruan et al., "Mimicking the annotation process" (ACM MM 2022).

- :mod:`.model`: :class:`DualBranchNet` (shared ResNet-18 base, per-region branches with group-specific Shuffle
  Attention, Area Weighted Module, two heads) and the Table 4 ablation :data:`VARIANTS`;
- :mod:`.transforms`: inputs from a store (amplified apex + On-A + Off-A, or flow + strain), Region Replacing,
  flips, random erasing;
- :mod:`.losses`: AU similarity, weighted supervised contrastive loss, class-weighted cross-entropy, Eq. 8;
- :mod:`.train`: :class:`DualBranchTrainer` and the ``fit_predict`` used by ``mefast evaluate --model
  dualbranch``;
- :mod:`.explain`: AU-CAM, Grad-CAM and the fused features of a trained model.

Importing this package registers every variant in the model registry (``dualbranch``, ``dualbranch-awm``,
``singlebranch``, ...), so ``mefast.train.get_model("dualbranch")`` builds the network.
"""

from __future__ import annotations

from ..registry import ModelInput, register_model
from .model import (
    VARIANTS,
    AreaWeightedModule,
    DualBranchNet,
    ShuffleAttention,
    Variant,
    dualbranch_factory,
    get_variant,
)
from .train import (
    DualBranchConfig,
    DualBranchTrainer,
    dualbranch_method,
    fold_model_dir,
    is_dualbranch,
    recording_test_ids,
)
from .transforms import ONOFF

__all__ = [
    "VARIANTS",
    "AreaWeightedModule",
    "DualBranchConfig",
    "DualBranchNet",
    "DualBranchTrainer",
    "ShuffleAttention",
    "Variant",
    "dualbranch_method",
    "fold_model_dir",
    "get_variant",
    "is_dualbranch",
    "recording_test_ids",
    "register",
]


def register() -> None:
    """Register every Table 4 variant (idempotent)."""
    for name, v in VARIANTS.items():
        title = "Dual-branch" if name == "dualbranch" else f"Dual-branch ({v.row})"
        register_model(
            name,
            dualbranch_factory(name),
            input=ModelInput(arrays=ONOFF, size=224, resizable=True),
            title=title,
            source=f"Ruan et al., ACM MM 2022 (mimicking the annotation process), Table 4 row '{v.row}'",
            replace=True,
        )


register()
