"""Trained models on disk and their penultimate-layer features, for other frameworks.

:func:`fit` trains a registered network on every done sample of a store and saves it as a *model directory*
(``model.pt``: the state dict; ``model.json``: model name, outputs, classes, label kind, training settings);
:func:`embed` loads such a directory and returns, per sample of a store, the input of the network's classifier
layer (the last ``nn.Linear``, or the registered ``head``): the features a t-SNE/UMAP plot or a linear probe
uses. Nothing here reads a test fold: :func:`fit` is for a final model or a visualisation, not for scoring.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike
from torch import nn

from ..store import MEStore
from .data import StoreSource
from .models import build_model
from .registry import ModelEntry, get_model
from .trainer import TrainConfig, Trainer, _torch_threads, resolve_device

__all__ = ["embed", "fit", "load_model", "save_model"]

_STATE = "model.pt"
_INFO = "model.json"


def save_model(
    trainer: Trainer,
    model_dir: str | Path,
    *,
    classes: Sequence[str] = (),
    label: str = "",
    train_ids: Sequence[str] | None = None,
) -> Path:
    """Write a fitted :class:`~mefast.train.Trainer`'s network to ``model_dir`` (created); returns the folder.

    ``train_ids``, the ids of the samples it trained on, go to ``model.json`` (``train_ids``), so that
    :func:`~mefast.train.explain.explain_sample` can tell whether the model saw a sample it is asked to explain.
    """
    if not hasattr(trainer, "model_"):
        raise ValueError("the trainer has not been fitted: call fit before saving")
    out = Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in trainer.model_.state_dict().items()}, out / _STATE)
    cfg = {k: v for k, v in dataclasses.asdict(trainer.config).items() if k != "noisy"}
    cfg["noisy"] = None if trainer.config.noisy is None else repr(trainer.config.noisy)
    info = {
        "model": trainer.model_name,
        "n_outputs": trainer.n_outputs,
        "multilabel": trainer.multilabel,
        "classes": list(classes),
        "label": label,
        "config": cfg,
    }
    if train_ids is not None:
        info["train_ids"] = [str(i) for i in train_ids]
    (out / _INFO).write_text(json.dumps(info, indent=2, default=str) + "\n")
    return out


def load_model(model_dir: str | Path) -> tuple[nn.Module, ModelEntry, dict[str, Any]]:
    """The network saved in ``model_dir`` (eval mode, CPU), its registry entry and its ``model.json``.

    The entry's input size is the one the network was trained at: ``TrainConfig.input_size`` of the saved
    settings for a ``resizable`` model (as :class:`~mefast.train.Trainer` applies it), else the registry's.
    """
    folder = Path(model_dir)
    if not (folder / _INFO).is_file() or not (folder / _STATE).is_file():
        raise ValueError(f"{folder} is not a mefast model directory (needs {_INFO} and {_STATE}; see mefast.train.fit)")
    info = json.loads((folder / _INFO).read_text())
    entry = get_model(info["model"])
    size = (info.get("config") or {}).get("input_size")
    if size is not None and entry.input.resizable:
        entry = dataclasses.replace(entry, input=dataclasses.replace(entry.input, size=int(size)))
    model = build_model(entry.name, int(info["n_outputs"]), weights=folder / _STATE)
    return model.eval(), entry, info


def _input_config(entry: ModelEntry) -> TrainConfig:
    """Settings under which a :class:`~mefast.train.Trainer` of ``entry.name`` builds ``entry``'s inputs.

    ``entry`` from :func:`load_model` carries the trained input size; a Trainer looks its model up in the
    registry again, so the size is passed as ``input_size`` (for the ``resizable`` models that take one).
    """
    return TrainConfig(input_size=entry.input.size if entry.input.resizable else None)


def fit(
    store: str | Path | MEStore,
    model: str,
    *,
    label: str = "emotion",
    classes: Sequence[str] | None = None,
    config: TrainConfig | None = None,
    seed: int = 0,
    out: str | Path | None = None,
) -> Trainer:
    """Train ``model`` on every done sample of ``store`` (no held-out fold) and optionally save it to ``out``.

    Parameters
    ----------
    store : str, Path or MEStore
    model : str
        A registered model name.
    label : {"emotion", "au", "objective"}
    classes : sequence of str, optional
        Restrict the class labels (or AUs) to these.
    config : TrainConfig, optional
    seed : int
    out : str or Path, optional
        Model directory to write (for :func:`embed`); its ``model.json`` lists the ids of the samples it trained
        on (``train_ids``).

    Returns
    -------
    Trainer
        The fitted trainer (``trainer.model_``).
    """
    from ..protocols import make_protocol

    st = store if isinstance(store, MEStore) else MEStore.open(store, mode="r")
    done = st.done
    meta = st.meta
    proto = make_protocol("loso", meta[done], au=st.au[done], au_names=st.au_names, label=label, classes=classes)
    rows = proto.index
    targets = proto.labels[rows]
    groups = (proto.meta["dataset"].astype(str) + "/" + proto.meta["subject"].astype(str)).to_numpy()
    ids = meta["sample_id"].astype(str).to_numpy()[rows] if "sample_id" in meta else None
    trainer = Trainer(model, StoreSource(st), n_outputs=len(proto.classes), multilabel=proto.multilabel, config=config)
    trainer.fit(rows, targets, seed=seed, groups=groups, sample_ids=ids)
    if out is not None:
        save_model(trainer, out, classes=proto.classes, label=proto.label, train_ids=ids)
    return trainer


def _head(model: nn.Module, entry: ModelEntry) -> nn.Module:
    if entry.head is not None:
        return getattr(model, entry.head)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"model {entry.name!r} has no nn.Linear classifier; register it with head=...")
    return linears[-1]


def embed(
    model_dir: str | Path,
    store: str | Path | MEStore,
    *,
    rows: ArrayLike | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    threads: int | None = None,
) -> pd.DataFrame:
    """Penultimate-layer features of every (done) sample of ``store`` under the model saved in ``model_dir``.

    Parameters
    ----------
    model_dir : str or Path
        A folder written by :func:`fit` / :func:`save_model`.
    store : str, Path or MEStore
        Any store with the arrays the model reads (it need not be the one it was trained on).
    rows : array_like of int, optional
        Store rows to embed (default: every sample marked done).
    batch_size : int
    device : {"cpu", "cuda", "auto"}
    threads : int, optional
        torch CPU threads.

    Returns
    -------
    pandas.DataFrame
        One row per sample (index: store row), a ``sample_id`` and ``dataset`` column when the store has them,
        then the feature columns ``f0 .. f{D-1}``. No label columns.
    """
    model, entry, info = load_model(model_dir)
    dev = resolve_device(device)
    model = model.to(dev)
    st = store if isinstance(store, MEStore) else MEStore.open(store, mode="r")
    sel = np.flatnonzero(st.done) if rows is None else np.asarray(rows, dtype=np.int64)
    trainer = Trainer(
        entry.name,
        StoreSource(st),
        n_outputs=int(info["n_outputs"]),
        multilabel=bool(info["multilabel"]),
        config=_input_config(entry),
    )
    captured: list[torch.Tensor] = []
    hook = _head(model, entry).register_forward_pre_hook(lambda _m, args: captured.append(args[0].detach().cpu()))
    try:
        with _torch_threads(threads), torch.no_grad():
            for start in range(0, len(sel), batch_size):
                x = trainer._dataset(sel[start : start + batch_size], train=False, positions=False)[
                    list(range(min(batch_size, len(sel) - start)))
                ]
                model(x.to(dev))
    finally:
        hook.remove()
    feats = torch.cat(captured).flatten(1).numpy() if captured else np.zeros((0, 0), np.float32)
    frame = pd.DataFrame(feats, index=pd.Index(sel, name="row"), columns=[f"f{i}" for i in range(feats.shape[1])])
    meta = st.meta
    for col in ("dataset", "sample_id")[::-1]:
        if col in meta.columns:
            frame.insert(0, col, meta[col].to_numpy()[sel])
    return frame
