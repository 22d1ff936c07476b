"""Noisy-label training methods of "Micro-expression recognition with noisy labels" (Varanka et al., 2021).

Each method flags the samples of a batch whose loss exceeds ``mean + alpha * std`` of the batch's
per-sample losses (samples with wrong labels are the hard ones the network cannot fit early on):

:class:`LTM` (loss thresholding)
    drops the flagged samples from the batch's loss.
:class:`ILC` (iterative label correction)
    replaces the labels of the flagged samples with the network's prediction, from ``start_epoch`` on;
    corrections persist in the trainer's copy of the training labels (the store is never changed), so
    labels the network finds wrong stay corrected in later epochs.
:class:`IDC` (iterative data cleaning)
    trains on all data for one epoch, keeps the samples whose loss over the whole training fold does not
    exceed ``mean + alpha * std`` as the clean subset, trains ``warmup_epochs`` epochs on it, then on
    all data again.

For AU detection the per-sample loss is the binary cross-entropy summed over AUs and a prediction is
``logit > 0`` per AU.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

__all__ = ["IDC", "ILC", "LTM", "NOISY_METHODS", "NoisyMethod", "flag_high_loss", "per_sample_loss", "predict"]


def per_sample_loss(logits: torch.Tensor, targets: torch.Tensor, *, multilabel: bool) -> torch.Tensor:
    """Cross-entropy per sample (classes) or binary cross-entropy summed over AUs, shape (B,)."""
    if multilabel:
        return F.binary_cross_entropy_with_logits(logits, targets.float(), reduction="none").sum(dim=1)
    return F.cross_entropy(logits, targets.long(), reduction="none")


def predict(logits: torch.Tensor, *, multilabel: bool) -> torch.Tensor:
    """Hard predictions: argmax class codes, or 0/1 per AU (``logit > 0``)."""
    return (logits > 0).to(torch.uint8) if multilabel else logits.argmax(dim=1)


def flag_high_loss(losses: torch.Tensor, alpha: float) -> torch.Tensor:
    """Boolean mask of losses above ``mean + alpha * std`` (population std); none for fewer than 2."""
    if losses.numel() < 2:
        return torch.zeros_like(losses, dtype=torch.bool)
    losses = losses.detach()
    return losses > losses.mean() + alpha * losses.std(unbiased=False)


def _check_alpha(alpha: float) -> None:
    # A negative alpha can flag every sample of a batch (LTM: the mean of no losses is NaN, which poisons the
    # weights) or of the training fold (IDC: an empty clean subset).
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0 (threshold mean + alpha * std), got {alpha}")


@dataclasses.dataclass(frozen=True)
class LTM:
    """Loss thresholding: leave out samples whose loss exceeds mean + alpha * std of the batch."""

    alpha: float = 1.0

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)

    def step(
        self, logits: torch.Tensor, targets: torch.Tensor, epoch: int, *, multilabel: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch loss and (None) label corrections."""
        losses = per_sample_loss(logits, targets, multilabel=multilabel)
        keep = ~flag_high_loss(losses, self.alpha)
        return losses[keep].mean(), None


def _confidence(logits: torch.Tensor, *, multilabel: bool) -> torch.Tensor:
    """Probability of the predicted label (classes), or its minimum over the AUs."""
    if multilabel:
        p = torch.sigmoid(logits)
        return torch.maximum(p, 1 - p).amin(dim=1)
    return torch.softmax(logits, dim=1).amax(dim=1)


@dataclasses.dataclass(frozen=True)
class ILC:
    """Label correction: flagged samples take the network's prediction as their label from ``start_epoch``.

    Corrections persist, so they need a network that already fits the clean majority: start late enough
    (``start_epoch``). ``min_confidence`` > 0 corrects only samples predicted with at least that
    probability, a guard (not in the paper) against a network that relabels towards its own mistakes on
    hard data.
    """

    alpha: float = 1.0
    start_epoch: int = 10
    min_confidence: float = 0.0

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)

    def step(
        self, logits: torch.Tensor, targets: torch.Tensor, epoch: int, *, multilabel: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch loss on the corrected labels, and the corrected labels (None before start_epoch)."""
        losses = per_sample_loss(logits, targets, multilabel=multilabel)
        if epoch < self.start_epoch:
            return losses.mean(), None
        flagged = flag_high_loss(losses, self.alpha)
        if self.min_confidence > 0:
            flagged &= _confidence(logits.detach(), multilabel=multilabel) >= self.min_confidence
        if not flagged.any():
            return losses.mean(), None
        corrected = targets.clone()
        corrected[flagged] = predict(logits.detach(), multilabel=multilabel)[flagged].to(targets.dtype)
        return per_sample_loss(logits, corrected, multilabel=multilabel).mean(), corrected


@dataclasses.dataclass(frozen=True)
class IDC:
    """Data cleaning: after one epoch on all data, ``warmup_epochs`` epochs on the low-loss subset, then all."""

    warmup_epochs: int = 10
    alpha: float = 1.0

    def __post_init__(self) -> None:
        if self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        _check_alpha(self.alpha)

    def step(
        self, logits: torch.Tensor, targets: torch.Tensor, epoch: int, *, multilabel: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The plain mean loss: IDC acts on which samples an epoch sees, not on the batch loss."""
        return per_sample_loss(logits, targets, multilabel=multilabel).mean(), None

    def on_clean_subset(self, epoch: int) -> bool:
        """Whether ``epoch`` trains on the clean subset only."""
        return 1 <= epoch <= self.warmup_epochs

    def clean_subset(self, losses: torch.Tensor) -> torch.Tensor:
        """The clean subset from the per-sample losses of the whole training fold (a bool mask)."""
        return ~flag_high_loss(losses, self.alpha)


NoisyMethod = LTM | ILC | IDC
NOISY_METHODS: dict[str, type] = {"ltm": LTM, "ilc": ILC, "idc": IDC}
