"""Training the dual-branch method on one fold, and the ``fit_predict`` of :func:`mefast.protocols.cross_validate`.

Leak-free: a fold's trainer receives the fold's training rows, their labels and their AU rows only (AUs are
read through an ``au_reader`` that is asked for training rows only); Region Replacing draws partners among
those rows; test rows are predicted once, after training, from their inputs alone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike, NDArray

from ..data import Source
from ..trainer import TrainConfig, _torch_threads, fold_outputs, resolve_device
from .losses import au_similarity, class_weights, classification_loss, total_loss, wscl
from .model import VARIANTS, DualBranchNet, get_variant
from .transforms import (
    RegionReplacer,
    flip,
    input_mode,
    load_inputs,
    random_erasing,
    signed_u_channels,
    standardize,
)

__all__ = [
    "DualBranchConfig",
    "DualBranchTrainer",
    "dualbranch_method",
    "fold_model_dir",
    "is_dualbranch",
    "recording_test_ids",
]


@dataclasses.dataclass(frozen=True)
class DualBranchConfig:
    """Training settings (defaults: the paper's, but for the weight decay, which the paper does not give).

    Attributes
    ----------
    epochs, batch_size : int
        100 and 128.
    lr, weight_decay : float
        AdamW's, 3e-3 (the paper's) and 1e-5 (mefast's choice: the paper names no weight decay).
    scheduler : {"cosine_restarts", None}
        Cosine annealing with warm restarts (``t0``, ``t_mult``), stepped per epoch.
    t0, t_mult : int
    lam, tau : float
        Weight of the contrastive loss (Eq. 8) and its temperature.
    rr_p : float or None
        Region Replacing probability (None: the variant's, 0.5 or 0 for ``dualbranch-norr``).
    au_mix : {"union", "regional"}
        AU set of a Region-Replaced composite.
    flip_p, erase_p : float
        Horizontal flip and random erasing probabilities.
    preset : {"reference", "paper"}
    sa_gate : {"softmax", "sigmoid"}
    label_smoothing : float or None
        None: 0.1 under ``reference``, 0 under ``paper``.
    input_size : int
        Side of the square input (224 in the paper).
    width : int
        Channels of the first ResNet stage (64; smaller only for quick CPU tests).
    weights : str or None
        torchvision ResNet-18 state dict to start from.
    device : {"auto", "cpu", "cuda"}
    threads : int or None
        torch CPU threads.
    """

    epochs: int = 100
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-5
    scheduler: Literal["cosine_restarts"] | None = "cosine_restarts"
    t0: int = 10
    t_mult: int = 2
    lam: float = 0.3
    tau: float = 0.1
    rr_p: float | None = None
    au_mix: Literal["union", "regional"] = "union"
    flip_p: float = 0.5
    erase_p: float = 0.5
    preset: Literal["reference", "paper"] = "reference"
    sa_gate: Literal["softmax", "sigmoid"] = "softmax"
    label_smoothing: float | None = None
    input_size: int = 224
    width: int = 64
    weights: str | None = None
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "t0", "t_mult"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.input_size < 16 or self.input_size % 2:
            raise ValueError(f"input_size must be an even number >= 16, got {self.input_size}")
        for name in ("lam", "flip_p", "erase_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.rr_p is not None and not 0.0 <= self.rr_p <= 1.0:
            raise ValueError(f"rr_p must be in [0, 1] or None, got {self.rr_p}")
        if self.scheduler not in (None, "cosine_restarts"):
            raise ValueError(f"scheduler must be 'cosine_restarts' or None, got {self.scheduler!r}")
        if self.preset not in ("reference", "paper"):
            raise ValueError(f"preset must be 'reference' or 'paper', got {self.preset!r}")
        if self.tau <= 0:
            raise ValueError(f"tau must be positive, got {self.tau}")

    @classmethod
    def from_train_config(cls, config: TrainConfig | None, **overrides: Any) -> DualBranchConfig:
        """The paper's settings, overridden by the fields of ``config`` that differ from their defaults.

        Epochs, batch size, lr, weight decay, device, threads, weights and input size are taken from ``config``
        where they differ from :class:`~mefast.train.TrainConfig`'s defaults (so a plain ``TrainConfig()``
        means the paper's settings); ``augment=False`` turns flips and erasing off.

        Raises
        ------
        ValueError
            If ``config`` asks for a noisy-label method or early stopping: the dual-branch loop has neither, and
            training without them would report a method that did not run.
        """
        kw: dict[str, Any] = {}
        if config is not None:
            unsupported = [
                what
                for what, on in (
                    (f"noisy={type(config.noisy).__name__}", config.noisy is not None),
                    ("early_stopping=True", config.early_stopping),
                )
                if on
            ]
            if unsupported:
                raise ValueError(
                    f"the dual-branch method trains with its own loop, which has no {' or '.join(unsupported)}; "
                    "leave them unset (its schedule is the paper's fixed number of epochs)"
                )
            default = TrainConfig()
            for name in ("epochs", "batch_size", "lr", "weight_decay", "device", "threads", "weights", "input_size"):
                value = getattr(config, name)
                if value != getattr(default, name) and value is not None:
                    kw[name] = value
            if not config.augment:
                kw.update(flip_p=0.0, erase_p=0.0)
        kw.update(overrides)
        return cls(**kw)


def is_dualbranch(model: str) -> bool:
    """Whether ``model`` names a dual-branch method or one of its Table 4 ablations."""
    return str(model).lower() in VARIANTS


class DualBranchTrainer:
    """Train one dual-branch network (any Table 4 variant) on training rows and predict test rows.

    Parameters
    ----------
    variant : str
        A :data:`~mefast.train.dualbranch.model.VARIANTS` key.
    source : Source
        The store's inputs (no labels).
    n_outputs : int
        Number of classes.
    config : DualBranchConfig, optional
    au_names : sequence of str
        Names of the AU columns (for ``au_mix="regional"``).
    """

    #: The ``model.json`` record of a trainer made by :meth:`load` (set only there).
    info_: dict[str, Any]

    def __init__(
        self,
        variant: str,
        source: Source,
        *,
        n_outputs: int,
        config: DualBranchConfig | None = None,
        au_names: Sequence[str] = (),
    ) -> None:
        self.variant = get_variant(variant)
        self.source = source
        self.n_outputs = int(n_outputs)
        self.config = config or DualBranchConfig()
        self.au_names = tuple(au_names)
        self.device = resolve_device(self.config.device)
        self.mode = input_mode(source.features)

    def build(self) -> DualBranchNet:
        """A freshly initialised network."""
        c = self.config
        return DualBranchNet(
            self.n_outputs,
            3,
            variant=self.variant.name,
            preset=c.preset,
            sa_gate=c.sa_gate,
            width=c.width,
            weights=c.weights,
        )

    def fit(
        self, rows: ArrayLike, labels: ArrayLike, *, au: ArrayLike | None = None, seed: int = 0
    ) -> DualBranchTrainer:
        """Train on ``rows`` with class codes ``labels`` and (for the AU variants) their 0/1 AU rows ``au``."""
        with _torch_threads(self.config.threads):
            return self._fit(rows, labels, au, seed)

    def _fit(self, rows: ArrayLike, labels: ArrayLike, au: ArrayLike | None, seed: int) -> DualBranchTrainer:
        c = self.config
        rows = np.asarray(rows, dtype=np.int64)
        y = np.asarray(labels, dtype=np.int64)
        if len(rows) == 0 or len(y) != len(rows):
            raise ValueError(f"need as many labels as training rows (>= 1), got {len(y)} for {len(rows)} rows")
        if self.variant.au:
            if au is None:
                raise ValueError(f"variant {self.variant.name!r} (AU alignment) needs the training rows' AUs")
            au_rows = np.asarray(au).astype(np.uint8)
            if au_rows.shape[0] != len(rows):
                raise ValueError(f"{au_rows.shape[0]} AU rows for {len(rows)} training rows")
        else:
            au_rows = None
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        x_all = load_inputs(self.source, rows, c.input_size, mode=self.mode, standardized=False)
        self.model_ = self.build().to(self.device)
        opt = torch.optim.AdamW(self.model_.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        sched = (
            torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=c.t0, T_mult=c.t_mult)
            if c.scheduler == "cosine_restarts"
            else None
        )
        cw = torch.as_tensor(class_weights(y, self.n_outputs), device=self.device)
        smoothing = c.label_smoothing if c.label_smoothing is not None else (0.1 if c.preset == "reference" else 0.0)
        rr_p = self.variant.rr_p if c.rr_p is None else c.rr_p
        replacer = RegionReplacer(y, p=rr_p, seed=seed)
        signed = signed_u_channels(self.mode)
        y_t = torch.as_tensor(y)
        self.history_: list[dict[str, float]] = []
        for epoch in range(c.epochs):
            self.model_.train()
            order = torch.randperm(len(rows), generator=gen).numpy()
            loss_sum, seen = 0.0, 0
            for start in range(0, len(order), c.batch_size):
                pos = order[start : start + c.batch_size]
                if len(pos) < 2:  # BatchNorm cannot train on one sample
                    continue
                partner = replacer.partners(pos)
                replaced = partner >= 0
                xb = x_all[pos]
                if replaced.any():
                    xb = RegionReplacer.compose(xb, x_all[np.where(replaced, partner, pos)], torch.from_numpy(replaced))
                if c.flip_p > 0:
                    mask = torch.rand(len(pos), generator=gen) < c.flip_p
                    if mask.any():
                        xb = xb.clone()
                        xb[mask] = flip(xb[mask], signed)
                if c.erase_p > 0:
                    xb = random_erasing(xb, gen, p=c.erase_p)
                xb = standardize(xb, self.mode)  # spec 3: RR, flip, erasing, then Standardize
                out = self.model_.forward_train(xb.to(self.device))
                yb = y_t[pos].to(self.device)
                cls = classification_loss(out["logits"], yb, cw, smoothing=smoothing)
                con = None
                if au_rows is not None:
                    a = au_rows[pos]
                    if replaced.any():
                        other = au_rows[np.where(replaced, partner, pos)]
                        mixed = RegionReplacer.mix_aus(a, other, self.au_names, c.au_mix)
                        a = np.where(replaced[:, None], mixed, a)
                    con = wscl(out["z"], au_similarity(a).to(self.device), tau=c.tau, preset=c.preset)
                loss = total_loss(cls, con, c.lam)
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss_sum += float(loss.detach()) * len(pos)
                seen += len(pos)
            if sched is not None:
                sched.step()
            self.history_.append({"epoch": epoch, "loss": loss_sum / max(seen, 1), "lr": opt.param_groups[0]["lr"]})
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("call fit (or load) before predicting")

    def scores(self, rows: ArrayLike) -> torch.Tensor:
        """Fused class scores ``(n, C)`` of ``rows`` (eval mode, no augmentation)."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        out = []
        with _torch_threads(self.config.threads), torch.no_grad():
            self.model_.eval()
            for start in range(0, len(rows), 64):
                x = load_inputs(self.source, rows[start : start + 64], self.config.input_size, mode=self.mode)
                out.append(self.model_(x.to(self.device)).cpu())
        return torch.cat(out) if out else torch.empty(0, self.n_outputs)

    def predict(self, rows: ArrayLike) -> NDArray[np.int64]:
        """Class codes of ``rows``: argmax of the fused score."""
        return self.scores(rows).argmax(1).numpy()

    def save(self, directory: str | Path, **info: Any) -> Path:
        """Write ``model.pt`` and ``model.json`` (variant, classes, input mode, config, ``info``) to ``directory``."""
        self._check_fitted()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        torch.save(self.model_.state_dict(), d / "model.pt")
        meta = {
            "variant": self.variant.name,
            "n_outputs": self.n_outputs,
            "mode": self.mode,
            "config": dataclasses.asdict(self.config),
            **info,
        }
        (d / "model.json").write_text(json.dumps(meta, indent=1, default=str))
        return d

    @classmethod
    def load(cls, directory: str | Path, source: Source) -> DualBranchTrainer:
        """A trainer whose model is the one :meth:`save` wrote (``info`` in :attr:`info_`)."""
        d = Path(directory)
        if not (d / "model.json").is_file() or not (d / "model.pt").is_file():
            raise ValueError(f"{d} holds no saved dual-branch model (model.json + model.pt)")
        meta = json.loads((d / "model.json").read_text())
        config = DualBranchConfig(**{**meta["config"], "weights": None, "device": "cpu"})
        self = cls(meta["variant"], source, n_outputs=meta["n_outputs"], config=config)
        if self.mode != meta["mode"]:
            raise ValueError(f"the model in {d} reads {meta['mode']} inputs, the store gives {self.mode}")
        self.model_ = self.build()
        self.model_.load_state_dict(torch.load(d / "model.pt", map_location="cpu", weights_only=True))
        self.model_.eval()
        self.info_ = meta
        return self


def fold_model_dir(save_dir: str | Path, seed: int, fold_name: str) -> Path:
    """Where :func:`dualbranch_method` saves the model of one fold and seed: ``save_dir/seed<seed>/<fold name>``.

    Characters of the fold name other than letters, digits, ``-``, ``_`` and ``.`` become ``_``
    (``casme2/s01`` is saved as ``casme2_s01``).
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(fold_name))
    return Path(save_dir) / f"seed{seed}" / safe


def dualbranch_method(
    variant: str,
    source: Source,
    *,
    n_outputs: int | None = None,
    config: DualBranchConfig | TrainConfig | None = None,
    au_reader: Callable[[NDArray[np.int64]], NDArray] | None = None,
    au_names: Sequence[str] = (),
    classes: Sequence[str] = (),
    save_dir: str | Path | None = None,
) -> Callable[..., NDArray]:
    """A ``fit_predict(fold, y_train, seed)`` for :func:`mefast.protocols.cross_validate`.

    Each fold's network has one output per class of ``fold.classes``, the fold's vocabulary (its saved model
    records them as its classes); ``n_outputs`` and ``classes``, when given, are for folds built by hand without
    classes (``n_outputs`` must agree with a fold's classes).

    ``au_reader(rows)`` returns the 0/1 AU rows of store rows; it is called with each fold's training rows
    only. With ``save_dir``, each fold's model is saved in :func:`fold_model_dir` with its fold name and classes.
    The method never receives sample names (a name can carry the label: SMIC's ``s1_ne_01``), so the ids of the
    fold's test samples, which :func:`~mefast.train.dualbranch.explain.explain_dualbranch` needs to explain a
    sample with the model that never saw it, are written by the evaluator once the fold's predictions are back:
    :func:`mefast.train.evaluate` does it, and a caller of :func:`~mefast.protocols.cross_validate` wraps the
    method with :func:`recording_test_ids`.
    """
    cfg = config if isinstance(config, DualBranchConfig) else DualBranchConfig.from_train_config(config)
    if get_variant(variant).au and au_reader is None:
        raise ValueError(f"variant {variant!r} (AU alignment) needs an au_reader")

    def fit_predict(fold: Any, y_train: NDArray, seed: int) -> NDArray:
        n = fold_outputs(fold, n_outputs)
        tr = DualBranchTrainer(variant, source, n_outputs=n, config=cfg, au_names=au_names)
        au = au_reader(np.asarray(fold.train)) if (au_reader is not None and tr.variant.au) else None
        tr.fit(fold.train, y_train, au=au, seed=seed)
        if save_dir is not None:
            names = [str(c) for c in (getattr(fold, "classes", ()) or classes)]
            tr.save(fold_model_dir(save_dir, seed, fold.name), fold=str(fold.name), classes=names)
        return tr.predict(fold.test)

    return fit_predict


def recording_test_ids(
    fit_predict: Callable[..., NDArray], save_dir: str | Path, sample_ids: pd.Series
) -> Callable[..., NDArray]:
    """``fit_predict`` that, once a fold's predictions are back, writes its test sample ids into its saved model.

    The evaluator's side of :func:`dualbranch_method` with ``save_dir``: after the method has predicted a fold,
    the ids of the fold's test samples are added to the ``model.json`` it saved in :func:`fold_model_dir`
    (``test_ids``), which is how :func:`~mefast.train.dualbranch.explain.find_fold_model` finds the model that
    held a sample out. The method itself never sees them.

    Parameters
    ----------
    fit_predict : callable
        A :func:`dualbranch_method` built with the same ``save_dir``.
    save_dir : str or Path
        Where it saves the fold models.
    sample_ids : pandas.Series
        Sample id of every store row (index: store row), the evaluator's copy (``MEStore.meta["sample_id"]``).

    Returns
    -------
    callable
        ``fit_predict(fold, y_train, seed)`` for :func:`~mefast.protocols.cross_validate`.
    """

    def with_test_ids(fold: Any, y_train: NDArray, seed: int) -> NDArray:
        out = fit_predict(fold, y_train, seed)
        info_path = fold_model_dir(save_dir, seed, fold.name) / "model.json"
        if info_path.is_file():
            info = json.loads(info_path.read_text())
            info["test_ids"] = [str(s) for s in sample_ids.loc[np.asarray(fold.test)]]
            info_path.write_text(json.dumps(info, indent=1, default=str))
        return out

    return with_test_ids
