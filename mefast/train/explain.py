"""Where a network looks: Grad-CAM (Selvaraju et al., ICCV 2017) and CAM (Zhou et al., CVPR 2016).

:func:`grad_cam` hooks convolution layers, back-propagates one logit per sample to their outputs, weighs
each channel by its spatially averaged gradient, keeps the positive part of the weighted sum, upsamples it
bilinearly to the input size and scales each sample's map to [0, 1] (min-max; a constant map is 0).
:func:`class_activation_map` is the original CAM of networks that end in global average pooling and one
linear layer (the ResNets): the classifier's weights times the last feature maps. On such networks the two
agree after normalisation when Grad-CAM hooks the layer CAM reads, the pooled one (the default on the ResNets,
see :func:`default_cam_layers`), which the tests use as a check.

:func:`explain_sample` trains a registered model on every other subject of a store (or loads a model
directory written by :func:`mefast.train.fit`) and returns the map of one sample at the store's resolution,
for :func:`mefast.viz.overlay_heatmap`. Grad-CAM needs image inputs ``(B, C, H, W)``; video models are refused.
A loaded model that trained on the sample (``fit`` trains on every done sample of its store) still explains it,
with a warning: its map shows what it learned from that very sample, not how it reads an unseen one
(:attr:`Explanation.held_out` says which case a map is).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from ..store import MEStore
from .data import StoreSource
from .models import ResNet
from .trainer import TrainConfig, Trainer, _torch_threads

__all__ = ["CAM_LAYERS", "Explanation", "class_activation_map", "default_cam_layers", "explain_sample", "grad_cam"]


def _resnet_stages(net: nn.Module) -> list[nn.Module]:
    """A ResNet's residual stages, whose output the global average pooling and ``fc`` read.

    That is the last block's output, after its residual add and ReLU. The last ``Conv2d`` is not: it is the
    last block's 1x1 shortcut (ResNet-10) or its conv2, before batch norm, the add and the ReLU (ResNet-18 on).
    """
    return [net.get_submodule("layers")]


#: Layers whose output feeds the classifier, per network class (checked with ``isinstance``, in order), for
#: networks whose last ``Conv2d`` is not that layer. A package registering such a network can add its own.
CAM_LAYERS: dict[type[nn.Module], Callable[[nn.Module], list[nn.Module]]] = {ResNet: _resnet_stages}


def default_cam_layers(model: nn.Module) -> list[nn.Module]:
    """The layers Grad-CAM hooks by default: the ones whose output feeds the classifier.

    A network class listed in :data:`CAM_LAYERS` gets its entry (the ResNets: the residual stages
    ``net.layers``, so that Grad-CAM equals CAM on them). Networks with parallel streams (an ``nn.ModuleList``
    attribute ``streams``, as STSTNet and Off-ApexNet) concatenate the streams' maps, so each stream's last
    convolution contributes; otherwise the last ``Conv2d`` in registration order (the deepest one in the
    other built-in networks).
    """
    for cls, layers in CAM_LAYERS.items():
        if isinstance(model, cls):
            return layers(model)
    streams = getattr(model, "streams", None)
    if isinstance(streams, nn.ModuleList):
        lasts = [[m for m in s.modules() if isinstance(m, nn.Conv2d)] for s in streams]
        if all(lasts):
            return [convs[-1] for convs in lasts]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer for Grad-CAM; pass layers=...")
    return [convs[-1]]


def _normalise(cam: torch.Tensor) -> torch.Tensor:
    """Min-max per sample of ``(B, H, W)``; samples whose map is constant become 0."""
    flat = cam.flatten(1)
    lo, hi = flat.min(dim=1).values, flat.max(dim=1).values
    span = (hi - lo).clamp_min(0)
    out = (cam - lo[:, None, None]) / torch.where(span > 0, span, torch.ones_like(span))[:, None, None]
    return torch.where((span > 0)[:, None, None], out, torch.zeros_like(out))


def _targets(logits: torch.Tensor, target: int | Sequence[int] | None) -> torch.Tensor:
    b, k = logits.shape
    if target is None:
        t = logits.argmax(dim=1)
    else:
        t = torch.as_tensor(np.broadcast_to(np.asarray(target, dtype=np.int64), (b,)).copy())
    if (t < 0).any() or (t >= k).any():
        raise ValueError(f"target {target!r} out of range for {k} outputs")
    return t


def grad_cam(
    model: nn.Module,
    x: torch.Tensor | NDArray[np.floating],
    *,
    target: int | Sequence[int] | None = None,
    layers: Sequence[nn.Module] | None = None,
) -> NDArray[np.float32]:
    """Grad-CAM maps of a batch.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(B, C, H, W)`` to ``(B, K)`` logits; evaluated in eval mode (its mode is restored after).
    x : tensor or ndarray of shape (B, C, H, W)
        Network inputs (already transformed as the model expects).
    target : int or sequence of int, optional
        Output whose score is explained, per sample or for all (default: each sample's highest logit).
    layers : sequence of nn.Module, optional
        Layers whose outputs are weighted (default :func:`default_cam_layers`); maps of several layers are
        upsampled to the input size and summed before normalising.

    Returns
    -------
    ndarray of shape (B, H, W), float32
        In [0, 1]; a sample whose positive evidence is nowhere (all zero) gives all zeros.
    """
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32)) if isinstance(x, np.ndarray) else x
    if xt.ndim != 4:
        raise ValueError(f"Grad-CAM needs image inputs of shape (B, C, H, W), got {tuple(xt.shape)}")
    hooked = list(layers) if layers is not None else default_cam_layers(model)
    acts: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _i, out: acts.append(out)) for m in hooked]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            inp = xt.detach().float().requires_grad_(True)  # a graph even when the weights are frozen
            logits = model(inp)
            if logits.ndim != 2:
                raise ValueError(f"the model returned logits of shape {tuple(logits.shape)}; expected (B, K)")
            t = _targets(logits, target)
            score = logits.gather(1, t[:, None].to(logits.device)).sum()
            if len(acts) != len(hooked):
                raise ValueError("a hooked layer ran more or less than once per forward pass; pass layers=...")
            grads = torch.autograd.grad(score, acts)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    size = tuple(xt.shape[-2:])
    total = torch.zeros((xt.shape[0], *size), dtype=torch.float32)
    for a, g in zip(acts, grads, strict=True):
        if a.ndim != 4:
            raise ValueError(f"hooked layer output has shape {tuple(a.shape)}; Grad-CAM needs (B, K, h, w) maps")
        weights = g.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * a).sum(dim=1, keepdim=True)).detach().float().cpu()
        total += F.interpolate(cam, size=size, mode="bilinear", align_corners=False)[:, 0]
    return _normalise(total).numpy()


def class_activation_map(
    model: nn.Module,
    x: torch.Tensor | NDArray[np.floating],
    *,
    features: nn.Module,
    classifier: nn.Linear,
    target: int | Sequence[int] | None = None,
) -> NDArray[np.float32]:
    """CAM of a network ending in global average pooling and one linear layer.

    ``features`` is the module whose output ``(B, K, h, w)`` is pooled, ``classifier`` the linear layer on
    the pooled vector. Map = ReLU(sum_k w[target, k] A_k), bilinearly upsampled, min-max per sample.
    """
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32)) if isinstance(x, np.ndarray) else x
    acts: list[torch.Tensor] = []
    handle = features.register_forward_hook(lambda _m, _i, out: acts.append(out.detach()))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(xt.float())
    finally:
        handle.remove()
        model.train(was_training)
    t = _targets(logits, target)
    w = classifier.weight.detach()[t]  # (B, K)
    cam = F.relu(torch.einsum("bk,bkhw->bhw", w, acts[0]))[:, None].float().cpu()
    up = F.interpolate(cam, size=tuple(xt.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
    return _normalise(up).numpy()


@dataclass(frozen=True)
class Explanation:
    """Grad-CAM of one store sample.

    Attributes
    ----------
    sample_id : str
    row : int
        Store row.
    heat : ndarray of shape (H, W), float32
        The map in [0, 1] at the store's image size (the model's input size upsampled bilinearly).
    classes : tuple of str
    probabilities : ndarray of shape (K,)
        Softmax of the model's logits for the sample.
    predicted, explained, true : str
        Predicted class, the class the map explains, and the sample's label.
    model : str
        Registered model name.
    trained_on : int
        Samples of the other subjects the model was trained on here (0 for a loaded model directory).
    held_out : bool or None
        Whether the model never trained on the sample: True for a model trained here (without the sample's
        subject) or a loaded model whose ``model.json`` lists its training samples without this one; False for a
        loaded model that trained on it; None when the model directory does not record its training samples.
    """

    sample_id: str
    row: int
    heat: NDArray[np.float32]
    classes: tuple[str, ...]
    probabilities: NDArray[np.float32]
    predicted: str
    explained: str
    true: str
    model: str
    trained_on: int
    held_out: bool | None = None


def explain_sample(
    store: str | Path | MEStore,
    sample: int | str,
    *,
    model: str = "sssnet",
    model_dir: str | Path | None = None,
    target: str | None = None,
    config: TrainConfig | None = None,
    seed: int = 0,
) -> Explanation:
    """Grad-CAM of one sample under a model trained without the sample's subject, or a saved model.

    A saved model may have trained on the sample: :func:`mefast.train.fit` trains on every done sample of its store.
    Its map is still returned, for looking at what a final model learned, but with a :class:`UserWarning` and
    ``held_out=False`` (``held_out=None`` and a warning when the directory does not list its training samples):
    it shows what the model learned from that very sample, not how it reads an unseen one. Explain with
    ``model_dir=None`` (a model trained here without the sample's subject) for the latter.

    Parameters
    ----------
    store : str, Path or MEStore
    sample : int or str
        Store row or sample id.
    model : str
        Registered model to train on the store's other subjects (emotion labels), when no ``model_dir``; it
        has one output per class those subjects' samples have.
    model_dir : str or Path, optional
        A model directory of :func:`mefast.train.fit` to load instead of training (see above when it trained on the
        sample).
    target : str, optional
        Class to explain (default: the predicted one).
    config : TrainConfig, optional
        Training settings (default: 30 epochs, Adam lr 1e-3, CPU, one thread).
    seed : int

    Returns
    -------
    Explanation

    Warns
    -----
    UserWarning
        The loaded model trained on the sample, or its directory does not say which samples it trained on.
    """
    from ..protocols import Fold, make_protocol

    st = store if isinstance(store, MEStore) else MEStore.open(store, mode="r")
    row = st.row_of(sample)
    done = st.done
    if not done[row]:
        raise ValueError(f"sample {st.meta['sample_id'].iloc[row]!r} (row {row}) is not preprocessed (not done)")
    meta = st.meta
    source = StoreSource(st)
    trained_on = 0
    held_out: bool | None = True
    if model_dir is not None:
        from .embed import _input_config, load_model

        net, entry, info = load_model(model_dir)
        if info.get("multilabel"):
            raise ValueError(f"{model_dir} holds an AU detector; Grad-CAM here explains class predictions")
        held_out = _warn_unless_held_out(model_dir, info, str(meta["sample_id"].iloc[row]))
        classes = tuple(str(c) for c in info.get("classes") or range(int(info["n_outputs"])))
        name, threads = entry.name, None
        probe = Trainer(name, source, n_outputs=len(classes), multilabel=False, config=_input_config(entry))
    else:
        proto = make_protocol("loso", meta[done], au=st.au[done], au_names=st.au_names, label="emotion")
        subject = (meta["dataset"].astype(str) + "/" + meta["subject"].astype(str)).to_numpy()
        rows = np.asarray([r for r in proto.index if subject[r] != subject[row]], dtype=np.int64)
        if not len(rows):
            raise ValueError(f"no other subject than {subject[row]!r} to train on")
        cfg = config or TrainConfig(epochs=30, lr=1e-3, batch_size=16, device="cpu", threads=1)
        fold = Fold(str(subject[row]), rows, np.asarray([row], dtype=np.int64))
        classes = proto.fold_classes(fold)  # the classes of the training samples: its output holds no other
        code = {c: i for i, c in enumerate(classes)}
        targets = np.asarray([code[proto.classes[int(c)]] for c in proto.labels[rows]], dtype=np.int64)
        trainer = Trainer(model, source, n_outputs=len(classes), multilabel=False, config=cfg)
        trainer.fit(rows, targets, seed=seed, groups=subject[rows])
        net, name, threads = trainer.model_.cpu(), model, cfg.threads
        trained_on = len(rows)
        probe = trainer  # inputs as the network was trained on them (cfg.input_size)
    if probe.spec.input.video:
        raise ValueError(f"model {name!r} reads video clips; Grad-CAM here explains image (flow) models")
    x = probe._dataset(np.asarray([row]), train=False, positions=False)[[0]]
    t = None if target is None else classes.index(target) if target in classes else -1
    if t == -1:
        raise ValueError(f"target {target!r} is not one of the model's classes {list(classes)}")
    with _torch_threads(threads):
        net.eval()
        with torch.no_grad():
            prob = torch.softmax(net(x.float()), dim=1)[0].numpy()
        cam = grad_cam(net, x, target=t)[0]
    size = st.shapes["flow"][0][-2:] if "flow" in st.shapes else cam.shape
    heat = F.interpolate(torch.from_numpy(cam)[None, None], size=tuple(size), mode="bilinear", align_corners=False)
    pred = classes[int(prob.argmax())]
    true = str(meta["emotion"].iloc[row]) if "emotion" in meta.columns else ""
    return Explanation(
        sample_id=str(meta["sample_id"].iloc[row]),
        row=row,
        heat=heat[0, 0].clamp(0, 1).numpy().astype(np.float32),
        classes=classes,
        probabilities=prob.astype(np.float32),
        predicted=pred,
        explained=pred if t is None else classes[t],
        true=true,
        model=name,
        trained_on=trained_on,
        held_out=held_out,
    )


def _warn_unless_held_out(model_dir: str | Path, info: dict, sample_id: str) -> bool | None:
    """Whether the saved model (its ``model.json`` is ``info``) never trained on ``sample_id``; warns unless so."""
    train_ids = info.get("train_ids")
    if train_ids is None:
        warnings.warn(
            f"the model in {model_dir} does not list the samples it trained on (model.json has no train_ids): it may "
            f"have trained on sample {sample_id!r}, whose map would then show what it learned from that sample, not "
            "how it reads an unseen one",
            UserWarning,
            stacklevel=3,
        )
        return None
    if sample_id in set(train_ids):
        warnings.warn(
            f"the model in {model_dir} trained on sample {sample_id!r} (mefast.train.fit trains on every done "
            "sample): the map shows what it learned from this sample, not how it reads an unseen one; explain "
            "without model_dir for a model trained without the sample's subject",
            UserWarning,
            stacklevel=3,
        )
        return False
    return True
