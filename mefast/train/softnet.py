"""SOFTNet (Liong et al., ICIP 2021): score regression from optical-flow inputs, then peak detection.

Each frame ``i`` of a long video gives a ``(3, 42, 42)`` input: the brow (top half) and mouth (bottom half)
regions of ``|u|``, ``|v|`` and the optical strain of the TV-L1 flow ``i -> i+k`` (``softnet{k}`` of the
long-video pass, :mod:`mefast.spotting._features`). Training targets are pseudo-labels: 1 when the window
``[i, i+k-1]`` overlaps an annotated interval of the type, else 0; the network regresses them with MSE.

Network (314,817 weights, as the paper): one 5x5 "same" convolution per channel with 3, 5 and 8 filters and ReLU,
3x3 max pooling (stride 3), concatenation (16 x 14 x 14), 2x2 max pooling, dense 784 -> 400 ReLU -> 1.
Training: SGD lr 5e-4, batch 12, 10 epochs (the paper's), leave-one-subject-out.
Spotting: scores smoothed as ``s_j = mean(s_{j-k} .. s_{j+k-1})``, threshold ``T = mean + p (max - mean)`` with
``p = 0.55``, ``find_peaks(height=T, distance=k)``, intervals ``[j - k, j + k]``. Only complete windows are
smoothed, as SOFTNet's code keeps them (``agg[k:-k]``): the last ``k`` frames of a video have no input pair and
so no score (NaN in :func:`predict_scores`), and neither they nor the cut windows at the ends enter ``T`` or the
peak search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from .._validation import check_int
from ..spotting._intervals import peaks_to_intervals

__all__ = [
    "SOFTNet",
    "SoftnetConfig",
    "pseudo_labels",
    "smooth_scores",
    "softnet_intervals",
    "softnet_loso",
    "train_softnet",
    "predict_scores",
]


class SOFTNet(nn.Module):
    """The SOFTNet regressor: ``(n, 3, 42, 42)`` -> ``(n,)`` scores."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_u = nn.Conv2d(1, 3, 5, padding=2)
        self.conv_v = nn.Conv2d(1, 5, 5, padding=2)
        self.conv_e = nn.Conv2d(1, 8, 5, padding=2)
        self.pool3 = nn.MaxPool2d(3, 3)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 7 * 7, 400)
        self.fc2 = nn.Linear(400, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores of a batch ``(n, 3, 42, 42)``: tensor of shape (n,)."""
        branches = [
            self.pool3(torch.relu(conv(x[:, c : c + 1])))
            for c, conv in enumerate((self.conv_u, self.conv_v, self.conv_e))
        ]
        h = self.pool2(torch.cat(branches, 1))
        h = torch.relu(self.fc1(h.flatten(1)))
        return self.fc2(h)[:, 0]


@dataclass(frozen=True)
class SoftnetConfig:
    """Training and spotting settings (defaults: the paper's)."""

    epochs: int = 10
    batch_size: int = 12
    lr: float = 5e-4
    momentum: float = 0.0
    p: float = 0.55
    seed: int = 0
    n_threads: int | None = None  # torch threads while training (restored after); None leaves torch's setting


def pseudo_labels(n_frames: int, intervals: NDArray, k: int) -> NDArray[np.float32]:
    """1 for frames ``i`` whose window ``[i, i+k-1]`` overlaps an interval ``[onset, offset]``, else 0."""
    y = np.zeros(int(n_frames), np.float32)
    for on, off in np.asarray(intervals, np.int64).reshape(-1, 2)[:, :2]:
        y[max(0, on - k + 1) : min(n_frames, off + 1)] = 1.0
    return y


def train_softnet(x: NDArray, y: NDArray, config: SoftnetConfig | None = None) -> SOFTNet:
    """Train a SOFTNet on inputs ``(n, 3, 42, 42)`` and targets ``(n,)``; frames with NaN inputs are skipped."""
    cfg = config or SoftnetConfig()
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32)
    ok = np.isfinite(x).all(axis=(1, 2, 3))
    x, y = x[ok], y[ok]
    from .trainer import _torch_threads

    with _torch_threads(None if cfg.n_threads is None else int(cfg.n_threads)):
        return _train(x, y, cfg)


def _train(x: NDArray[np.float32], y: NDArray[np.float32], cfg: SoftnetConfig) -> SOFTNet:
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = SOFTNet()
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for _ in range(cfg.epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        for s in range(0, len(x), cfg.batch_size):
            idx = order[s : s + cfg.batch_size]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    return model


@torch.no_grad()
def predict_scores(model: SOFTNet, x: NDArray) -> NDArray[np.float64]:
    """Score of every frame; NaN for the frames without an input.

    Parameters
    ----------
    model : SOFTNet
    x : ndarray of shape (T, 3, 42, 42)
        SOFTNet inputs of a video (``softnet{k}``); frames whose input holds NaN have none (the last ``k``
        frames, whose partner ``t + k`` lies past the end).

    Returns
    -------
    scores : ndarray of shape (T,), float64
        The regressed score of each frame, NaN where there is no input: such frames have no score and
        :func:`softnet_intervals` leaves them out (a 0 there would be a made-up score that enters the threshold
        and the peak search).
    """
    x = np.asarray(x, np.float32)
    ok = np.isfinite(x).all(axis=(1, 2, 3))
    out = np.full(len(x), np.nan)
    if ok.any():
        xs = torch.from_numpy(np.ascontiguousarray(x[ok]))
        out[ok] = torch.cat([model(xs[i : i + 512]) for i in range(0, len(xs), 512)]).numpy()
    return out


def smooth_scores(s: NDArray, k: int) -> NDArray[np.float64]:
    """SOFTNet's score aggregation ``s_j = mean(s_{j-k} .. s_{j+k-1})`` on complete windows only.

    Parameters
    ----------
    s : ndarray of shape (T,)
        Per-frame scores, NaN where a frame has none (:func:`predict_scores`).
    k : int
        Half window, at least 1.

    Returns
    -------
    smoothed : ndarray of shape (T,), float64
        ``s_j`` where every frame of the interval ``[j - k, j + k]`` has a score, NaN elsewhere. For a video
        whose ``n`` first frames have scores that is ``k <= j <= n - k - 1``: exactly the values SOFTNet's code
        keeps (``agg[k:-k]`` of its ``n`` scores), so the last complete window ``j = n - k``, whose interval would
        end on a frame without a score, is left out as there.
    """
    s = np.asarray(s, np.float64)
    if s.ndim != 1:
        raise ValueError(f"s must be a 1-D score (one value per frame), got shape {s.shape}")
    k = check_int(k, "k", minimum=1)
    n = len(s)
    out = np.full(n, np.nan)
    if n < 2 * k + 1:
        return out
    finite = np.isfinite(s)
    c = np.concatenate([[0.0], np.cumsum(np.where(finite, s, 0.0))])
    m = np.concatenate([[0], np.cumsum(~finite)])
    j = np.arange(k, n - k)
    whole = m[j + k + 1] - m[j - k] == 0  # frames j-k .. j+k all scored
    out[j[whole]] = (c[j[whole] + k] - c[j[whole] - k]) / (2 * k)
    return out


def softnet_intervals(scores: NDArray, k: int, p: float = 0.55) -> NDArray[np.float64]:
    """Spotted ``(onset, offset, score)`` rows from raw per-frame scores (spec 5b).

    Parameters
    ----------
    scores : ndarray of shape (T,)
        Per-frame scores, NaN for frames without one (:func:`predict_scores`); the scores of the frames that
        have an input alone (SOFTNet's ``T - k`` values) give the same rows.
    k : int
        Half window.
    p : float
        Threshold position in [0, 1].

    Returns
    -------
    intervals : ndarray of shape (n, 3), float64
        ``[j - k, j + k]`` and the smoothed score of each peak ``j`` of :func:`smooth_scores` over
        ``T = mean + p (max - mean)`` (both over the complete windows only), at least ``k`` apart, whatever the
        scores' sign (the regressor's last layer is linear: a recording's scores may all be negative); the ends
        of the complete windows are not peaks, as in SOFTNet's ``find_peaks`` on ``agg[k:-k]``.
    """
    return peaks_to_intervals(smooth_scores(scores, k), k, p=p, signed=True)


def softnet_loso(
    subjects: Sequence[str],
    inputs: Sequence[NDArray],
    truths: Sequence[NDArray],
    k: int,
    config: SoftnetConfig | None = None,
) -> list[NDArray[np.float64]]:
    """Leave-one-subject-out SOFTNet: per subject, train on the other subjects' recordings, spot its own.

    Parameters
    ----------
    subjects : sequence of str
        Subject of each recording.
    inputs : sequence of ndarray of shape (T_r, 3, 42, 42)
        SOFTNet inputs of each recording (``softnet{k}``).
    truths : sequence of ndarray of shape (n_r, 2)
        Annotated intervals of each recording (of one expression type); only the training subjects' are read
        for each fold.
    k : int
    config : SoftnetConfig, optional

    Returns
    -------
    intervals : list of ndarray of shape (m_r, 3)
        Spotted intervals of every recording, predicted by the model of its subject's fold.
    """
    cfg = config or SoftnetConfig()
    if not len(subjects) == len(inputs) == len(truths):
        raise ValueError(f"subjects, inputs and truths differ in length: {len(subjects)}, {len(inputs)}, {len(truths)}")
    subj = np.asarray([str(s) for s in subjects])
    out: list[NDArray[np.float64]] = [np.zeros((0, 3))] * len(inputs)
    for s in sorted(set(subj)):
        train = np.flatnonzero(subj != s)
        test = np.flatnonzero(subj == s)
        if train.size == 0:
            raise ValueError(f"LOSO needs at least two subjects; all recordings belong to {s!r}")
        x = np.concatenate([inputs[int(i)] for i in train])
        y = np.concatenate([pseudo_labels(len(inputs[int(i)]), truths[int(i)], k) for i in train])
        model = train_softnet(x, y, cfg)
        for i in test:
            out[int(i)] = softnet_intervals(predict_scores(model, inputs[int(i)]), k, cfg.p)
    return out
