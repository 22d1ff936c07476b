"""Noisy-label training methods of "Micro-expression recognition with noisy labels" (Varanka et al., 2021).

LTM and ILC flag the samples of a batch whose loss exceeds ``t = mean + alpha * std`` of the batch's
per-sample losses (the paper's Eq. 1; samples with wrong labels are the ones the network cannot fit):

:class:`LTM` (loss thresholding with moments)
    leaves the flagged samples out of the batch's loss.
:class:`ILC` (iterative label correction)
    trains on the flagged samples with the network's current prediction as their label (Eq. 3).
:class:`IDC` (initial data cleaning)
    trains only on a clean subset during a warm-up period, then on all data.

The defaults are the authors' settings (their published code, ``tvaranka/Noisy_MER``): ``alpha = 2.5``,
the sample standard deviation of the batch losses, LTM averaging over the whole batch with flagged losses
zeroed, ILC correcting from the first epoch *without persistence* (a correction changes only the loss of
that step; the stored training labels never change), and IDC with a clean subset chosen *before* training
(the paper's manual selection: a list of sample ids) used for the first 50 epochs. mefast's variants are
named options (and entries of :data:`NOISY_METHODS`):

- ``ltm-mefast``: ``LTM(alpha=1.0, unbiased=False, reduction="kept")`` (mean over the kept samples);
- ``ilc-mefast``: ``ILC(alpha=1.0, start_epoch=10, persist=True)``: corrections persist in the trainer's
  copy of the training labels, starting once the network fits the clean majority;
- ``idc-lowloss``: ``IDC(selection="low-loss")``: no manual list; after ``select_after`` epoch(s) on all
  data, the clean subset is the training samples whose loss does not exceed ``mean + alpha * std`` over the
  whole training fold (chosen from training labels only), used for ``warmup_epochs`` epochs, then all data.

For AU detection the per-sample loss is the binary cross-entropy summed over AUs and a prediction is
``logit > 0`` per AU.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray

__all__ = ["IDC", "ILC", "LTM", "NOISY_METHODS", "NoisyMethod", "flag_high_loss", "per_sample_loss", "predict"]


def per_sample_loss(logits: torch.Tensor, targets: torch.Tensor, *, multilabel: bool) -> torch.Tensor:
    """Cross-entropy per sample (classes) or binary cross-entropy summed over AUs, shape (B,)."""
    if multilabel:
        return F.binary_cross_entropy_with_logits(logits, targets.float(), reduction="none").sum(dim=1)
    return F.cross_entropy(logits, targets.long(), reduction="none")


def predict(logits: torch.Tensor, *, multilabel: bool) -> torch.Tensor:
    """Hard predictions: argmax class codes, or 0/1 per AU (``logit > 0``)."""
    return (logits > 0).to(torch.uint8) if multilabel else logits.argmax(dim=1)


def flag_high_loss(losses: torch.Tensor, alpha: float, *, unbiased: bool = False) -> torch.Tensor:
    """Boolean mask of the losses at or above ``t = mean + alpha * std``: the complement of the paper's clean set.

    The paper's clean set is the losses below ``t`` (Varanka et al., Eqs. 1-2), so a loss equal to ``t`` is
    flagged. Ties are real: in a batch of two with the population std and ``alpha = 1``, the larger loss is ``t``
    exactly, and a strict float32 comparison flagged it by the rounding of the mean and std (23 of 1,000 random
    pairs). The test is made in float64 with a tolerance of ``1e-9 * max(1, |mean|)``, so a tie is flagged
    every time. None is flagged for fewer than 2 losses or when all are equal (std 0: no loss stands out, and
    flagging all would leave LTM no loss to average).

    ``unbiased`` uses the sample standard deviation (divisor n - 1, the authors' code), otherwise the
    population one.
    """
    if losses.numel() < 2:
        return torch.zeros_like(losses, dtype=torch.bool)
    x = losses.detach().double()
    mean, std = x.mean(), x.std(unbiased=unbiased)
    if not std > 0:
        return torch.zeros_like(losses, dtype=torch.bool)
    tol = 1e-9 * max(1.0, abs(float(mean)))
    return (x - mean >= alpha * std - tol).to(losses.device)


def _check_alpha(alpha: float) -> None:
    # A negative alpha can flag every sample of a batch (LTM: the mean of no losses is NaN, which poisons the
    # weights) or of the training fold (IDC: an empty clean subset).
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0 (threshold mean + alpha * std), got {alpha}")


@dataclasses.dataclass(frozen=True)
class LTM:
    """Loss thresholding with moments (Varanka et al. 2021, Eqs. 1-2): flagged samples leave the batch loss.

    Attributes
    ----------
    alpha : float
        Threshold ``mean + alpha * std`` (authors: 2.5).
    unbiased : bool
        Sample (True, authors) or population standard deviation.
    reduction : {"batch", "kept"}
        ``batch`` (authors): flagged losses are zeroed and the mean is over the whole batch; ``kept``
        (mefast's variant): the mean over the kept samples.
    """

    alpha: float = 2.5
    unbiased: bool = True
    reduction: str = "batch"

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)
        if self.reduction not in ("batch", "kept"):
            raise ValueError(f"LTM reduction must be 'batch' or 'kept', got {self.reduction!r}")

    def step(
        self, logits: torch.Tensor, targets: torch.Tensor, epoch: int, *, multilabel: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch loss and (None) label corrections."""
        losses = per_sample_loss(logits, targets, multilabel=multilabel)
        keep = ~flag_high_loss(losses, self.alpha, unbiased=self.unbiased)
        if self.reduction == "kept":
            return losses[keep].mean(), None
        return (losses * keep).mean(), None


def _confidence(logits: torch.Tensor, *, multilabel: bool) -> torch.Tensor:
    """Probability of the predicted label (classes), or its minimum over the AUs."""
    if multilabel:
        p = torch.sigmoid(logits)
        return torch.maximum(p, 1 - p).amin(dim=1)
    return torch.softmax(logits, dim=1).amax(dim=1)


@dataclasses.dataclass(frozen=True)
class ILC:
    """Iterative label correction (Varanka et al. 2021, Eq. 3): flagged samples take the network's prediction.

    Attributes
    ----------
    alpha : float
        LTM threshold (authors: 2.5).
    start_epoch : int
        First epoch that corrects (authors: 0).
    persist : bool
        False (authors): a correction only changes the loss of its step. True (mefast's variant): the
        trainer keeps the corrected label for later epochs.
    unbiased : bool
        Sample (True, authors) or population standard deviation.
    min_confidence : float
        > 0 corrects only samples predicted with at least that probability (a guard of mefast's, not in
        the paper).
    """

    alpha: float = 2.5
    start_epoch: int = 0
    persist: bool = False
    unbiased: bool = True
    min_confidence: float = 0.0

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)
        if self.start_epoch < 0:
            raise ValueError(f"start_epoch must be >= 0, got {self.start_epoch}")

    def step(
        self, logits: torch.Tensor, targets: torch.Tensor, epoch: int, *, multilabel: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch loss on the corrected labels, and the corrected labels (None when nothing changed)."""
        losses = per_sample_loss(logits, targets, multilabel=multilabel)
        if epoch < self.start_epoch:
            return losses.mean(), None
        flagged = flag_high_loss(losses, self.alpha, unbiased=self.unbiased)
        if self.min_confidence > 0:
            flagged &= _confidence(logits.detach(), multilabel=multilabel) >= self.min_confidence
        if not flagged.any():
            return losses.mean(), None
        corrected = targets.clone()
        corrected[flagged] = predict(logits.detach(), multilabel=multilabel)[flagged].to(targets.dtype)
        return per_sample_loss(logits, corrected, multilabel=multilabel).mean(), corrected


@dataclasses.dataclass(frozen=True)
class IDC:
    """Initial data cleaning (Varanka et al. 2021, Section "Initial data cleaning").

    Attributes
    ----------
    warmup_epochs : int
        Epochs trained on the clean subset only (authors: 50 of 200).
    selection : {"ids", "low-loss"}
        ``ids`` (the paper): the clean subset is the training samples whose ``sample_id`` is in
        ``clean_ids``, fixed before training, used from the first epoch. ``low-loss`` (mefast's variant):
        after ``select_after`` epochs on all data, the training samples whose loss does not exceed
        ``mean + alpha * std`` over the training fold.
    clean_ids : frozenset of str or None
        The clean sample ids (``selection="ids"``); load a list with :meth:`from_file`.
    select_after : int
        Epochs on all data before the low-loss selection.
    alpha : float
        Threshold of the low-loss selection.
    """

    warmup_epochs: int = 50
    selection: str = "ids"
    clean_ids: frozenset[str] | None = None
    select_after: int = 1
    alpha: float = 1.0

    def __post_init__(self) -> None:
        if self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        _check_alpha(self.alpha)
        if self.selection not in ("ids", "low-loss"):
            raise ValueError(f"IDC selection must be 'ids' or 'low-loss', got {self.selection!r}")
        if self.clean_ids is not None:
            object.__setattr__(self, "clean_ids", frozenset(str(i) for i in self.clean_ids))
        if self.selection == "ids" and not self.clean_ids:
            raise ValueError(
                "IDC with selection='ids' (the paper's) needs clean_ids: the sample ids judged clean before "
                "training (IDC.from_file(path)); use selection='low-loss' (noisy='idc-lowloss') to select "
                "them from the training losses instead"
            )
        if self.select_after < 0:
            raise ValueError(f"select_after must be >= 0, got {self.select_after}")

    @classmethod
    def from_file(cls, path: str, **kwargs: Any) -> IDC:
        """IDC on the clean sample ids listed in a text file (one id a line; ``#`` starts a comment)."""
        with open(path, encoding="utf-8") as fh:
            ids = [line.split("#", 1)[0].strip() for line in fh]
        return cls(clean_ids=frozenset(i for i in ids if i), **kwargs)

    def step(
        self, logits: torch.Tensor, targets: torch.Tensor, epoch: int, *, multilabel: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The plain mean loss: IDC acts on which samples an epoch sees, not on the batch loss."""
        return per_sample_loss(logits, targets, multilabel=multilabel).mean(), None

    def on_clean_subset(self, epoch: int) -> bool:
        """Whether ``epoch`` trains on the clean subset only."""
        start = 0 if self.selection == "ids" else self.select_after
        return start <= epoch < start + self.warmup_epochs

    def clean_by_ids(self, sample_ids: Iterable[str]) -> NDArray[np.bool_]:
        """Mask of the given training samples that are in ``clean_ids``."""
        ids = self.clean_ids or frozenset()
        return np.fromiter((str(s) in ids for s in sample_ids), dtype=bool)

    def clean_subset(self, losses: torch.Tensor) -> torch.Tensor:
        """The low-loss clean subset from the per-sample losses of the whole training fold (a bool mask)."""
        return ~flag_high_loss(losses, self.alpha)


NoisyMethod = LTM | ILC | IDC

#: Noisy-label methods by name: the authors' settings and mefast's variants (see the module docstring).
NOISY_METHODS: dict[str, Callable[..., NoisyMethod]] = {
    "ltm": LTM,
    "ilc": ILC,
    "idc": IDC,
    "ltm-mefast": functools.partial(LTM, alpha=1.0, unbiased=False, reduction="kept"),
    "ilc-mefast": functools.partial(ILC, alpha=1.0, start_epoch=10, persist=True),
    "idc-lowloss": functools.partial(IDC, selection="low-loss", warmup_epochs=10),
}


def clean_mask(method: IDC, sample_ids: ArrayLike | None, n: int) -> NDArray[np.bool_]:
    """The paper's clean subset of ``n`` training samples by id (``selection='ids'``)."""
    if sample_ids is None:
        raise ValueError("IDC with clean_ids needs the training samples' ids (pass sample_ids to Trainer.fit)")
    mask = method.clean_by_ids(np.asarray(sample_ids))
    if len(mask) != n:
        raise ValueError(f"{len(mask)} sample ids for {n} training rows")
    if not mask.any():
        raise ValueError("none of the training samples is in IDC's clean_ids: check the ids match the store's")
    return mask
