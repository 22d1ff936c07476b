"""AU-CAM, Grad-CAM and fused features of a trained dual-branch network (paper §4.6, Eqs. 12-13).

For each branch ``b`` the activation ``A_b`` of its last Shuffle Attention unit (layer4's second block) is
hooked; ``alpha_b^k`` is the spatial mean of ``dy_b / dA_b^k`` and the map ``C_b = ReLU(sum_k alpha_b^k A_b^k)``
is min-max scaled per sample (an all-zero map stays 0) and resized bilinearly to the region's size; the eyes
map sits above the mouth map, so the result has the input's size. AU-CAM's target is ``y_b = max_k
X_{b,w}[k]`` (the largest AWM-weighted feature of the branch, one backward per branch); Grad-CAM's is the
fused score of the predicted (or given) class.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from ...errors import MefastError
from .model import DualBranchNet

__all__ = [
    "DualBranchExplanation",
    "SampleNotExplainableError",
    "cam",
    "embed_features",
    "explain_dualbranch",
    "explanation_image",
    "find_fold_model",
    "save_explanation",
]


class SampleNotExplainableError(MefastError, ValueError):
    """No saved fold model held out the asked-for sample (a model that trained on it does not explain it)."""


def _maps(
    model: DualBranchNet, x: torch.Tensor, kind: str, target: int | Sequence[int] | None, layer: str
) -> torch.Tensor:
    if layer not in ("layer3", "layer4"):
        raise ValueError(f"layer must be 'layer3' or 'layer4', got {layer!r}")
    acts: list[torch.Tensor] = []
    hooks = [getattr(br, layer)[-1].sa.register_forward_hook(lambda _m, _i, o: acts.append(o)) for br in model.branches]
    try:
        with torch.enable_grad():
            out = model.forward_train(x)
    finally:
        for h in hooks:
            h.remove()
    maps = []
    n = len(model.branches)
    if kind == "au":
        chunks = out["x_f"].chunk(n, dim=1)
        for b in range(n):
            (g,) = torch.autograd.grad(chunks[b].max(1).values.sum(), acts[b], retain_graph=b < n - 1)
            maps.append((g.mean((2, 3), keepdim=True) * acts[b]).sum(1).relu())
    elif kind == "grad":
        score = model.fuse(out["logits"])
        if target is None:
            tgt = score.argmax(1)
        else:
            tgt = torch.as_tensor(np.broadcast_to(np.asarray(target), (len(x),)).copy(), dtype=torch.long)
        y = score.gather(1, tgt[:, None]).sum()
        grads = torch.autograd.grad(y, acts, allow_unused=True)
        for a, g in zip(acts, grads, strict=True):
            g = torch.zeros_like(a) if g is None else g
            maps.append((g.mean((2, 3), keepdim=True) * a).sum(1).relu())
    else:
        raise ValueError(f"kind must be 'au' or 'grad', got {kind!r}")
    return torch.stack([m.detach() for m in maps])  # (branches, B, h, w)


def _minmax(m: torch.Tensor) -> torch.Tensor:
    flat = m.reshape(len(m), -1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    span = hi - lo
    return torch.where(span > 0, (flat - lo) / span.clamp_min(1e-12), torch.zeros_like(flat)).view_as(m)


def cam(
    model: DualBranchNet,
    x: torch.Tensor,
    kind: Literal["au", "grad"] = "au",
    *,
    target: int | Sequence[int] | None = None,
    layer: Literal["layer4", "layer3"] = "layer4",
) -> NDArray[np.float32]:
    """AU-CAM (``kind="au"``) or Grad-CAM (``"grad"``, class ``target`` or the predicted one) of inputs ``x``.

    ``layer`` picks the hooked stage: the last SA unit of ``layer4`` (the paper's) or of ``layer3`` (twice the
    resolution, for small inputs).

    Returns
    -------
    ndarray of shape (B, H, W), float32 in [0, 1]
        Eyes map over the upper half, mouth map over the lower half (the whole image for one branch).
    """
    if x.ndim != 4:
        raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
    was_training = model.training
    model.eval()
    try:
        maps = _maps(model, x, kind, target, layer)
    finally:
        model.train(was_training)
    regions = model.regions(x)
    out = []
    for b, region in enumerate(regions):
        m = _minmax(maps[b])[:, None]
        out.append(F.interpolate(m, size=region.shape[2:], mode="bilinear", align_corners=False)[:, 0])
    full = torch.cat(out, dim=1)
    if full.shape[1] != x.shape[2]:  # odd height: the last row belongs to no half
        full = F.pad(full, (0, 0, 0, x.shape[2] - full.shape[1]))
    return full.clamp(0, 1).numpy().astype(np.float32)


def embed_features(model: DualBranchNet, x: torch.Tensor) -> NDArray[np.float32]:
    """The fused features ``z = X_F / |X_F|`` (the contrastive loss's embedding; eval mode, no dropout)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model.forward_train(x)["z"].numpy().astype(np.float32)
    finally:
        model.train(was_training)


@dataclasses.dataclass
class DualBranchExplanation:
    """What :func:`explain_dualbranch` returns.

    Attributes
    ----------
    sample_id : str
    image : ndarray (H, W) float32 in [0, 1]
        The displayed input: the amplified apex (``onoff`` inputs) or the flow magnitude.
    au_cam, grad_cam : ndarray (H, W) float32 in [0, 1]
    features : ndarray (F,)
        Fused feature ``z`` for a t-SNE plot.
    scores : ndarray (C,)
        Fused class scores.
    predicted : str
        Predicted class name.
    fold : str
        Fold whose model (which never saw the sample) explains it.
    """

    sample_id: str
    image: NDArray[np.float32]
    au_cam: NDArray[np.float32]
    grad_cam: NDArray[np.float32]
    features: NDArray[np.float32]
    scores: NDArray[np.float32]
    predicted: str
    fold: str


def find_fold_model(model_dir: str | Path, sample_id: str) -> Path:
    """The saved model directory whose fold held out ``sample_id``: ``model_dir`` itself or a fold model under it.

    A model is chosen only when its ``model.json`` lists the sample among its ``test_ids`` (the samples its fold
    held out), so the sample is always explained by a model that never trained on it.

    Parameters
    ----------
    model_dir : str or Path
        A saved model (``model.json`` + ``model.pt``) or the ``--save-models`` directory of ``mefast evaluate``.
    sample_id : str
        The sample to explain.

    Returns
    -------
    Path
        The directory of the model that held the sample out.

    Raises
    ------
    SampleNotExplainableError
        ``model_dir`` does not exist; it is a saved model that trained on the sample (or that does not record which
        samples it held out); no fold model under it held the sample out.
    """
    root = Path(model_dir)
    if not root.exists():
        raise SampleNotExplainableError(f"model directory {root} does not exist")
    if (root / "model.json").is_file():
        info = json.loads((root / "model.json").read_text())
        if sample_id not in info.get("test_ids", []):
            raise SampleNotExplainableError(_not_held_out(root, info, sample_id))
        return root
    for meta in sorted(root.rglob("model.json")):
        if sample_id in json.loads(meta.read_text()).get("test_ids", []):
            return meta.parent
    raise SampleNotExplainableError(
        f"no fold model under {root} held out sample {sample_id!r} (save them with mefast evaluate --save-models)"
    )


def _not_held_out(model_dir: Path, info: dict, sample_id: str) -> str:
    """Why the saved model in ``model_dir`` (its ``model.json`` is ``info``) cannot explain ``sample_id``."""
    fold = f" of fold {info['fold']!r}" if "fold" in info else ""
    held = info.get("test_ids") or []
    why = (
        f"trained on sample {sample_id!r} (its fold held out {len(held)} other samples)"
        if held
        else f"does not record which samples it held out (model.json has no test_ids), so it may have trained on "
        f"sample {sample_id!r}"
    )
    return (
        f"the model{fold} in {model_dir} {why}; pass the --save-models directory of mefast evaluate to explain the "
        "sample with the fold model that held it out"
    )


def explain_dualbranch(store: str | Path, model_dir: str | Path, sample: str | int) -> DualBranchExplanation:
    """AU-CAM, Grad-CAM and fused features of one store sample, by the fold model that held it out.

    ``model_dir`` is the ``--save-models`` directory of ``mefast evaluate`` (the fold model that held the sample
    out is found in it) or one saved fold model, which must have held the sample out (:func:`find_fold_model`
    raises :class:`SampleNotExplainableError` otherwise).
    """
    from ...store import MEStore
    from ..data import StoreSource
    from .train import DualBranchTrainer
    from .transforms import load_inputs

    st = MEStore.open(store, mode="r")
    ids = st.meta["sample_id"].astype(str).to_numpy()
    if isinstance(sample, int | np.integer):
        if not 0 <= int(sample) < len(ids):
            raise SampleNotExplainableError(f"sample row {sample} outside the store's {len(ids)} rows")
        row = int(sample)
    else:
        hit = np.flatnonzero(ids == str(sample))
        if not len(hit):
            raise SampleNotExplainableError(f"sample {sample!r} is not in store {store}")
        row = int(hit[0])
    sid = str(ids[row])
    d = find_fold_model(model_dir, sid)
    source = StoreSource(st)
    tr = DualBranchTrainer.load(d, source)
    x = load_inputs(source, np.array([row]), tr.config.input_size, mode=tr.mode)
    model = tr.model_
    with torch.no_grad():
        scores = model(x)[0].numpy()
    classes = tr.info_.get("classes") or [str(i) for i in range(tr.n_outputs)]
    if tr.mode == "onoff":
        img = source.read("amplified", np.array([row]))[0].astype(np.float32)
        img = img / 255.0 if img.max() > 1 else img
    else:
        flow = source.read("flow", np.array([row]))[0]
        mag = np.hypot(flow[0], flow[1]).astype(np.float32)
        img = mag / max(float(mag.max()), 1e-6)
    size = tr.config.input_size
    img_t = F.interpolate(torch.from_numpy(img)[None, None], size=(size, size), mode="bilinear", align_corners=False)
    return DualBranchExplanation(
        sample_id=sid,
        image=img_t[0, 0].clamp(0, 1).numpy(),
        au_cam=cam(model, x, "au")[0],
        grad_cam=cam(model, x, "grad")[0],
        features=embed_features(model, x)[0],
        scores=scores.astype(np.float32),
        predicted=str(classes[int(np.argmax(scores))]),
        fold=str(tr.info_.get("fold", d.name)),
    )


def explanation_image(e: DualBranchExplanation, *, min_side: int = 224) -> NDArray[np.uint8]:
    """One RGB picture: the input, its AU-CAM and its Grad-CAM overlays side by side (jet, 50/50 blend)."""
    from ...viz import overlay_heatmap, to_rgb_image

    panels = [to_rgb_image(e.image), overlay_heatmap(e.image, e.au_cam), overlay_heatmap(e.image, e.grad_cam)]
    rep = max(1, int(np.ceil(min_side / e.image.shape[0])))
    gap = np.full((e.image.shape[0] * rep, 4, 3), 255, np.uint8)
    big = [np.repeat(np.repeat(p, rep, 0), rep, 1) for p in panels]
    return np.concatenate([big[0], gap, big[1], gap, big[2]], axis=1)


def save_explanation(e: DualBranchExplanation, out: str | Path) -> tuple[Path, Path]:
    """Write the PNG overlay (:func:`explanation_image`) to ``out`` and the arrays to ``out`` with ``.npz``."""
    from PIL import Image

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(explanation_image(e)).save(out)
    npz = out.with_suffix(".npz")
    np.savez_compressed(
        npz,
        image=e.image,
        au_cam=e.au_cam,
        grad_cam=e.grad_cam,
        features=e.features,
        scores=e.scores,
        sample_id=e.sample_id,
        predicted=e.predicted,
        fold=e.fold,
    )
    return out, npz
