"""Losses of the dual-branch method (AU similarity, WSCL, class-weighted cross-entropy, Eq. 8).

AU similarity (Eq. 4), weighted supervised contrastive loss (Eq. 5), class-weighted cross-entropy on both
heads (Eqs. 6-7) and their combination (Eq. 8).

A sample without AUs has similarity 0 to every sample (an empty union counts as no overlap): it is never
a positive, and as an anchor it adds nothing (``paper``: left out of the mean; ``reference``: loss 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray

__all__ = ["au_similarity", "class_weights", "classification_loss", "total_loss", "wscl"]


def au_similarity(au: torch.Tensor | ArrayLike) -> torch.Tensor:
    """Jaccard similarity ``|AU_i & AU_j| / |AU_i | AU_j|`` of 0/1 AU rows ``(B, K)``; 0 where the union is empty."""
    a = torch.as_tensor(np.asarray(au) if not isinstance(au, torch.Tensor) else au).float()
    if a.ndim != 2:
        raise ValueError(f"AU rows must have shape (B, K), got {tuple(a.shape)}")
    inter = a @ a.T
    size = a.sum(1)
    union = size[:, None] + size[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))


def wscl(
    z: torch.Tensor, weights: torch.Tensor, *, tau: float = 0.1, preset: Literal["reference", "paper"] = "reference"
) -> torch.Tensor:
    """Weighted supervised contrastive loss (Eq. 5) of embeddings ``z`` ``(B, D)`` with pair weights ``(B, B)``.

    ``paper`` (SupCon's convention): ``l_i = -sum_{j != i} w_ij [s_ij - log sum_{k != i} exp s_ik] /
    sum_{j != i} w_ij`` with ``s = z z^T / tau``, averaged over the anchors with positive weight (0 with no
    gradient when none has). ``reference`` (the authors' code): the anchor itself is a positive of weight 1
    when it has AUs (``w_ii`` as given), ``1e-5`` is added to every exponential, and the mean runs over all
    anchors. ``z`` should be L2-normalised.
    """
    if z.ndim != 2 or weights.shape != (len(z), len(z)):
        raise ValueError(f"wscl needs z (B, D) and weights (B, B); got {tuple(z.shape)} and {tuple(weights.shape)}")
    b = len(z)
    w = weights.to(z.dtype)
    s = z @ z.T / tau
    eye = torch.eye(b, dtype=torch.bool, device=z.device)
    if preset == "paper":
        s = s - s.max(dim=1, keepdim=True).values.detach()
        log_den = torch.logsumexp(s.masked_fill(eye, float("-inf")), dim=1, keepdim=True)
        w = w.masked_fill(eye, 0.0)
        norm = w.sum(1)
        has = norm > 0
        if not has.any():
            return (z * 0).sum()
        per = -(w * (s - log_den)).sum(1)[has] / norm[has]
        return per.mean()
    if preset != "reference":
        raise ValueError(f"preset must be 'reference' or 'paper', got {preset!r}")
    e = torch.exp(s) + 1e-5  # on every exponential, the positives' numerators too [R]
    den = (e * (~eye)).sum(1, keepdim=True)
    log_prob = torch.log(e) - torch.log(den)
    norm = w.sum(1)
    per = -(w * log_prob).sum(1) / norm.clamp_min(1e-12)
    per = torch.where(norm > 0, per, torch.zeros_like(per))
    return per.mean()


def class_weights(labels: ArrayLike, n_classes: int) -> NDArray[np.float32]:
    """Eq. 6: ``w_c = max_k n_k / n_c`` over the training labels; 0 for a class with no sample."""
    y = np.asarray(labels, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{y.min()}, {y.max()}]")
    n = np.bincount(y, minlength=n_classes).astype(np.float64)
    if not n.any():
        raise ValueError("class weights need at least one training label")
    return np.where(n > 0, n.max() / np.maximum(n, 1), 0.0).astype(np.float32)


def classification_loss(
    logits: Sequence[torch.Tensor], y: torch.Tensor, weights: torch.Tensor, *, smoothing: float = 0.1
) -> torch.Tensor:
    """Eq. 7 on every head, summed: torch's class-weighted cross-entropy (weighted mean) with label smoothing."""
    out = logits[0].new_zeros(())
    for a in logits:
        out = out + F.cross_entropy(a, y, weight=weights, label_smoothing=smoothing)
    return out


def total_loss(cls: torch.Tensor, contrastive: torch.Tensor | None, lam: float = 0.3) -> torch.Tensor:
    """Eq. 8: ``(1 - lambda) L_cls + lambda L_wscl``; ``L_cls`` alone without the AU task."""
    if contrastive is None:
        return cls
    return (1.0 - lam) * cls + lam * contrastive
