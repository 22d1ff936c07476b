"""Training and prediction of one network on one fold, leak-free.

A :class:`Trainer` trains for a fixed number of epochs. Early stopping happens only when asked for, on a
validation split carved from the training rows (grouped by subject when subjects are given, so the
validation is subject-independent like the test); the best epoch's weights are restored. The test rows
are predicted once, after training, without labels. Runs are seeded (weights, shuffling, augmentation).
CPU by default (``device="auto"`` picks CUDA when torch sees a GPU).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike, NDArray

from ..errors import CudaUnavailableError
from ..metrics import au_metrics, classification_metrics
from ..protocols import FitPredict, Fold, SealedLabels
from .clips import ClipDataset
from .data import FlowDataset, Source, flow_channels, make_loader
from .models import build_model
from .noisy import IDC, NoisyMethod, clean_mask, per_sample_loss, predict
from .registry import get_model
from .transforms import input_transforms

__all__ = ["TrainConfig", "Trainer", "fold_outputs", "resolve_device", "torch_method"]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training settings (defaults: MEB's, Adam lr 1e-4, weight decay 1e-3, batch 32, 200 epochs).

    Attributes
    ----------
    epochs : int
        Number of epochs (the fixed budget; early stopping may end sooner).
    batch_size : int
    lr, weight_decay : float
        Adam's learning rate and weight decay.
    augment : bool
        Random horizontal flips (negating u) of training batches.
    early_stopping : bool
        Stop when the validation score has not improved for ``patience`` epochs, restoring the best weights.
    patience : int
    val_fraction : float
        Fraction of the training fold (of its subjects, when given) held out for early stopping.
    noisy : LTM, ILC, IDC or None
        Noisy-label method (:mod:`mefast.train.noisy`).
    device : {"auto", "cpu", "cuda"}
    num_workers : int
        DataLoader worker processes (each opens the store itself).
    threads : int or None
        torch's CPU threads while training and predicting (None: torch's default). The shallow networks
        gain little from threads, and on a busy machine 1 thread avoids oversubscription (often 10x faster).
    weights : str or None
        A state dict to start from instead of a random initialisation (user-supplied; nothing is downloaded).
        Its classifier must have as many outputs as the task.
    input_size : int or None
        Input side instead of the model's own, for networks registered as ``resizable`` (the ResNets and
        video networks; quick runs use it); ignored by networks whose layers fix their input size.
    """

    epochs: int = 200
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-3
    augment: bool = True
    early_stopping: bool = False
    patience: int = 20
    val_fraction: float = 0.2
    noisy: NoisyMethod | None = None
    device: str = "auto"
    num_workers: int = 0
    threads: int | None = None
    weights: str | None = None
    input_size: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1, got {self.patience}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {self.num_workers}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1 (or None), got {self.threads}")
        if self.input_size is not None and self.input_size < 16:
            raise ValueError(f"input_size must be at least 16 (or None), got {self.input_size}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when torch sees a GPU, else CPU; ``cuda`` without a GPU raises."""
    if device == "cuda" and not torch.cuda.is_available():
        raise CudaUnavailableError("device='cuda' was asked for, but torch sees no CUDA GPU")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (unchanged for None), restoring the setting after."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _validation_split(n: int, groups: NDArray | None, fraction: float, seed: int) -> NDArray[np.bool_]:
    """Mask of the positions held out for validation (by group when there are at least two groups)."""
    from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

    if n < 2:
        raise ValueError(f"early stopping needs at least 2 training samples to carve a validation split, got {n}")
    if groups is not None and len(np.unique(groups)) >= 2:
        _, val = next(GroupShuffleSplit(1, test_size=fraction, random_state=seed).split(np.zeros(n), groups=groups))
    else:
        _, val = next(ShuffleSplit(1, test_size=fraction, random_state=seed).split(np.zeros(n)))
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    return mask


class Trainer:
    """Train one network on training rows and predict test rows.

    Parameters
    ----------
    model : str
        A registered model name (:func:`mefast.train.available_models`).
    source : Source
        Where inputs are read (:class:`~mefast.train.data.StoreSource` or ``ArraySource``).
    n_outputs : int
        Number of classes, or of AUs when ``multilabel``.
    multilabel : bool
        AU detection (binary cross-entropy per AU) instead of classes (cross-entropy).
    config : TrainConfig

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained network (after :meth:`fit`).
    history_ : list of dict
        Per epoch: ``epoch``, ``loss`` (mean training loss), ``n`` (samples seen), ``val`` (validation score,
        with early stopping).
    val_rows_ : ndarray
        Store rows used for validation (empty without early stopping).
    train_labels_ : ndarray
        The training labels at the end (changed only by ILC's corrections).
    """

    def __init__(
        self, model: str, source: Source, *, n_outputs: int, multilabel: bool, config: TrainConfig | None = None
    ) -> None:
        self.spec = get_model(model)
        self.model_name = self.spec.name
        self.config = config or TrainConfig()
        if self.config.input_size is not None and self.spec.input.resizable:
            size = self.config.input_size
            self.spec = dataclasses.replace(self.spec, input=dataclasses.replace(self.spec.input, size=size))
        self.source = source
        self.n_outputs = n_outputs
        self.multilabel = multilabel
        self.device = resolve_device(self.config.device)

    def _dataset(self, rows: NDArray, *, train: bool, positions: bool) -> FlowDataset | ClipDataset:
        if self.spec.input.video:
            return ClipDataset(
                self.source, rows, self.spec.input, train=train, flip=self.config.augment, with_positions=positions
            )
        u, v = flow_channels(self.source, rows, self.spec.inputs)  # a registered model may stack any arrays
        transform = input_transforms(
            self.spec.input_size, train=train, flip=self.config.augment, u_channel=u, v_channel=v
        )
        return FlowDataset(self.source, rows, inputs=self.spec.inputs, transform=transform, with_positions=positions)

    def _logits(self, rows: NDArray) -> torch.Tensor:
        """Logits of the current model for ``rows`` (eval mode, no augmentation)."""
        loader = make_loader(
            self._dataset(rows, train=False, positions=False),
            batch_size=max(self.config.batch_size, 64),
            shuffle=False,
            num_workers=self.config.num_workers,
        )
        self.model_.eval()
        with torch.no_grad():
            out = [self.model_(x.to(self.device)).cpu() for x in loader]
        return torch.cat(out) if out else torch.empty(0, self.n_outputs)

    def _score(self, rows: NDArray, labels: NDArray) -> float:
        pred = predict(self._logits(rows), multilabel=self.multilabel).numpy()
        if self.multilabel:
            names = [str(i) for i in range(self.n_outputs)]
            return au_metrics(labels, pred, names)["f1"]
        return classification_metrics(labels, pred, [str(i) for i in range(self.n_outputs)])["uf1"]

    def fit(
        self,
        rows: ArrayLike,
        targets: ArrayLike,
        *,
        seed: int = 0,
        groups: ArrayLike | None = None,
        sample_ids: ArrayLike | None = None,
    ) -> Trainer:
        """Train a fresh network on ``rows`` with ``targets`` (class codes or 0/1 AU matrix).

        ``groups`` (subject keys) group the early-stopping validation split; ``sample_ids`` (aligned with
        ``rows``) are needed by IDC with a list of clean sample ids.
        """
        with _torch_threads(self.config.threads):
            return self._fit(rows, targets, seed=seed, groups=groups, sample_ids=sample_ids)

    def _fit(
        self, rows: ArrayLike, targets: ArrayLike, *, seed: int, groups: ArrayLike | None, sample_ids: ArrayLike | None
    ) -> Trainer:
        cfg = self.config
        rows = np.asarray(rows, dtype=np.int64)
        labels = np.array(targets, copy=True)
        if len(labels) != len(rows):
            raise ValueError(f"{len(labels)} targets for {len(rows)} training rows")
        if len(rows) == 0:
            raise ValueError("no training rows")
        torch.manual_seed(seed)
        self.model_ = build_model(self.model_name, self.n_outputs, weights=self.config.weights).to(self.device)
        optimizer = torch.optim.Adam(self.model_.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

        val = self._validation_mask(len(rows), groups, seed)
        fit_pos = np.flatnonzero(~val)
        self.val_rows_ = rows[val]
        self.clean_rows_ = rows[:0]
        label_t = torch.as_tensor(labels)
        best: tuple[float, dict | None, int] = (-np.inf, None, -1)
        self.history_: list[dict] = []
        # One loader per set of training positions, kept across epochs (its workers and the source's cache
        # persist; its seeded generator draws a new order every epoch).
        loaders = {"all": (fit_pos, self._train_loader(rows[fit_pos], seed))}
        since_best = 0
        for epoch in range(cfg.epochs):
            key = "all"
            if isinstance(cfg.noisy, IDC) and cfg.noisy.on_clean_subset(epoch):
                if "clean" not in loaders:
                    if cfg.noisy.selection == "ids":
                        ids = None if sample_ids is None else np.asarray(sample_ids)[fit_pos]
                        clean = fit_pos[clean_mask(cfg.noisy, ids, len(fit_pos))]
                    else:
                        with torch.no_grad():
                            losses = per_sample_loss(
                                self._logits(rows[fit_pos]), label_t[fit_pos], multilabel=self.multilabel
                            )
                        clean = fit_pos[cfg.noisy.clean_subset(losses).numpy()]
                    self.clean_rows_ = rows[clean]
                    loaders["clean"] = (clean, self._train_loader(rows[clean], seed))
                key = "clean"
            pos, loader = loaders[key]
            loss_sum, seen = self._epoch(loader, pos, label_t, optimizer, epoch)
            record = {"epoch": epoch, "loss": loss_sum / max(seen, 1), "n": len(pos)}
            if cfg.early_stopping:
                score = self._score(*self._selection_set(labels[val]))
                record["val"] = score
                if score > best[0]:
                    best, since_best = (score, copy.deepcopy(self.model_.state_dict()), epoch), 0
                else:
                    since_best += 1
            self.history_.append(record)
            if cfg.early_stopping and since_best >= cfg.patience:
                break
        if cfg.early_stopping and best[1] is not None:
            self.model_.load_state_dict(best[1])
        self.best_epoch_ = best[2] if cfg.early_stopping else len(self.history_) - 1
        self.train_labels_ = label_t.numpy()
        return self

    def _validation_mask(self, n: int, groups: ArrayLike | None, seed: int) -> NDArray[np.bool_]:
        """Training positions held out for early stopping (none without it)."""
        if not self.config.early_stopping:
            return np.zeros(n, dtype=bool)
        return _validation_split(n, None if groups is None else np.asarray(groups), self.config.val_fraction, seed)

    def _selection_set(self, val_labels: NDArray) -> tuple[NDArray, NDArray]:
        """Rows and labels early stopping scores each epoch on: the validation split carved from training."""
        return self.val_rows_, val_labels

    def _train_loader(self, rows: NDArray, seed: int) -> torch.utils.data.DataLoader:
        cfg = self.config
        dataset = self._dataset(rows, train=True, positions=True)
        return make_loader(dataset, batch_size=cfg.batch_size, shuffle=True, seed=seed, num_workers=cfg.num_workers)

    def _epoch(
        self,
        loader: torch.utils.data.DataLoader,
        pos: NDArray,
        labels: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        epoch: int,
    ) -> tuple[float, int]:
        """One pass over ``loader`` (whose local positions index ``pos``); the loss sum and samples seen."""
        cfg = self.config
        self.model_.train()
        loss_sum, seen = 0.0, 0
        for x, local in loader:
            if len(local) < 2:  # BatchNorm cannot train on a single sample
                continue
            where = torch.from_numpy(pos)[local]
            y = labels[where]
            logits = self.model_(x.to(self.device))
            if cfg.noisy is None:
                loss, corrected = per_sample_loss(logits, y.to(self.device), multilabel=self.multilabel).mean(), None
            else:
                loss, corrected = cfg.noisy.step(logits, y.to(self.device), epoch, multilabel=self.multilabel)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if corrected is not None and getattr(cfg.noisy, "persist", False):
                labels[where] = corrected.cpu().to(labels.dtype)
            loss_sum += loss.item() * len(local)
            seen += len(local)
        return loss_sum, seen

    def predict(self, rows: ArrayLike) -> NDArray:
        """Class codes ``(n,)`` or 0/1 AU predictions ``(n, n_aus)`` for ``rows``."""
        if not hasattr(self, "model_"):
            raise RuntimeError("call fit before predict")
        with _torch_threads(self.config.threads):
            logits = self._logits(np.asarray(rows, dtype=np.int64))
        return predict(logits, multilabel=self.multilabel).numpy()


def _ids_of(sample_ids: SealedLabels | pd.Series, rows: NDArray[np.int64]) -> NDArray:
    """The sample ids of store ``rows``, from a Series indexed by store row or a :class:`SealedLabels`."""
    if isinstance(sample_ids, pd.Series):
        return sample_ids.loc[rows].to_numpy()
    return np.asarray(sample_ids[rows])


def fold_outputs(fold: Fold, n_outputs: int | None) -> int:
    """Outputs of the network trained on ``fold``: one per class of ``fold.classes`` (``n_outputs`` must agree).

    Parameters
    ----------
    fold : Fold
        The fold (its ``classes``: the vocabulary of ``y_train``; empty on a fold built by hand).
    n_outputs : int or None
        Outputs asked for by the caller; None: ``len(fold.classes)``.

    Raises
    ------
    ValueError
        ``n_outputs`` differs from the fold's number of classes, or neither is known.
    """
    k = len(fold.classes)
    if n_outputs is None:
        if not k:
            raise ValueError(f"fold {fold.name!r} has no classes: pass n_outputs")
        return k
    if k and n_outputs != k:
        raise ValueError(
            f"n_outputs={n_outputs}, but fold {fold.name!r} trains and predicts in {k} classes {list(fold.classes)}; "
            "leave n_outputs out to give each fold's network one output per class of its fold.classes"
        )
    return int(n_outputs)


def torch_method(
    model: str,
    source: Source,
    *,
    n_outputs: int | None = None,
    multilabel: bool,
    config: TrainConfig,
    groups: pd.Series | None = None,
    sample_ids: SealedLabels | pd.Series | None = None,
) -> FitPredict:
    """A ``fit_predict(fold, y_train, seed)`` for :func:`mefast.protocols.cross_validate`.

    Each fold's network has one output per class of ``fold.classes`` (per AU for AU detection), the fold's
    vocabulary (:func:`fold_outputs`): no fold's output holds a class only its test samples have. ``n_outputs``,
    when given, must agree with it.
    ``groups`` maps store rows to subject keys (a pandas Series) for subject-grouped validation splits;
    ``sample_ids`` maps store rows to sample ids (for IDC's clean list): ``Protocol.sample_ids``, which holds
    the running fold's training ids only, or a Series. Only the ids of the fold's training rows are read.
    """

    def fit_predict(fold: Fold, y_train: NDArray, seed: int) -> NDArray:
        g = None if groups is None else groups.loc[fold.train].to_numpy()
        ids = None if sample_ids is None else _ids_of(sample_ids, fold.train)
        trainer = Trainer(model, source, n_outputs=fold_outputs(fold, n_outputs), multilabel=multilabel, config=config)
        trainer.fit(fold.train, y_train, seed=seed, groups=g, sample_ids=ids)
        return trainer.predict(fold.test)

    return fit_predict
