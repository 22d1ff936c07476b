"""Learning-based motion magnification (Oh et al., ECCV 2018): the network, its weight loader and training.

A torch port of the authors' released TensorFlow model (``12dmodel/deep_motion_mag``, configuration
``o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3``): a shared encoder splits each frame into a texture representation
``V`` (1/4 resolution) and a shape representation ``M`` (1/2 resolution); the manipulator returns
``M_b + h((amplification - 1) g(M_b - M_a))``; the decoder renders ``[V_b, M]``. All convolutions are bias-free;
the two stride-2 convolutions pad as TensorFlow's ``SAME`` (0 before, 1 after on even sizes), the others are
reflect-padded. Images are RGB in [-1, 1]; ``amplification`` multiplies the motion (1 = identity; the
``alpha`` of the Eulerian methods is ``amplification - 1``). Static mode: A is the reference (onset) frame.

Weights are never downloaded. :meth:`LBMM.load` reads

* ``.npz`` / ``.safetensors`` with the TensorFlow variable names (``ynet_3frames/encoder/enc_conv1_c/Conv/weights``,
  HWIO), written from the authors' checkpoint by :func:`convert_tf_checkpoint` (needs ``tensorflow``, offline),
  or with this module's state-dict names (OIHW);
* a torch state dict (``.pt``/``.pth``) of this module, possibly wrapped as ``{"state_dict": ...}`` or prefixed
  ``module.`` (DataParallel);
* an authors' TensorFlow checkpoint directory directly when ``tensorflow`` is installed.

The other ports' weights (ZhengPeng7, postech-ami, cgst) belong to different architectures and are refused with a
message that names them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

__all__ = [
    "LBMM",
    "MagnificationTrainResult",
    "MagnificationWeightsError",
    "convert_tf_checkpoint",
    "synthetic_magnification_pairs",
    "tf_name",
    "train_lbmm",
]

_TF_ROOT = "ynet_3frames"


class MagnificationWeightsError(ValueError):
    """A weight file does not fit the network: missing or unexpected keys, wrong shapes, or another variant."""


def _same_pad(x: torch.Tensor, k: int, s: int) -> torch.Tensor:
    """TensorFlow 'SAME' zero padding for a k x k convolution of stride s (the extra pixel goes after)."""
    pads = []
    for n in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class _Conv(nn.Module):
    """A bias-free convolution, reflect-padded by (k-1)/2 or padded as TensorFlow's SAME, with optional ReLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, *, same: bool = False, relu: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, bias=False)
        self.k, self.stride, self.same, self.relu = k, stride, same, relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = _same_pad(x, self.k, self.stride)
        elif self.k > 1:
            p = (self.k - 1) // 2
            x = F.pad(x, (p, p, p, p), mode="reflect")
        y = self.conv(x)
        return F.relu(y) if self.relu else y


class _ResBlock(nn.Module):
    """3x3 conv, ReLU, 3x3 conv, plus the input (reflect padding)."""

    def __init__(self, c: int):
        super().__init__()
        self.c1 = _Conv(c, c, 3, relu=True)
        self.c2 = _Conv(c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(self.c1(x))


def _resblocks(prefix: str, n: int, c: int, first_suffix: str = "") -> dict[str, nn.Module]:
    if first_suffix:  # TF scope names of repeated blocks: name, name_1, name_2, ...
        names = [prefix] + [f"{prefix}_{i}" for i in range(1, n)]
    else:
        names = [f"{prefix}{i}" for i in range(n)]
    return {name: _ResBlock(c) for name in names}


class LBMM(nn.Module):
    """The learning-based motion magnification network (Oh et al. 2018), static two-frame mode.

    Parameters
    ----------
    width : int
        Channels of the representations (32 in the released model; smaller for quick experiments).
    n_encoder, n_texture, n_shape, n_manipulator, n_decoder : int
        Residual blocks per part (3, 2, 2, 1, 9 in the released model: 918,928 weights).

    Examples
    --------
    >>> import torch
    >>> net = LBMM()
    >>> sum(p.numel() for p in net.parameters())
    918928
    """

    def __init__(self, width: int = 32, *, n_encoder: int = 3, n_texture: int = 2, n_shape: int = 2,
                 n_manipulator: int = 1, n_decoder: int = 9):  # fmt: skip
        super().__init__()
        c = width
        self.config = {"width": width, "n_encoder": n_encoder, "n_texture": n_texture, "n_shape": n_shape,
                       "n_manipulator": n_manipulator, "n_decoder": n_decoder}  # fmt: skip
        enc: dict[str, nn.Module] = {
            "enc_conv1_c": _Conv(3, c // 2, 7, relu=True),
            "enc_conv2_c": _Conv(c // 2, c, 3, 2, same=True, relu=True),
        }
        enc.update(_resblocks("encoder_resblk", n_encoder, c))
        enc["enc_texture_conv"] = _Conv(c, c, 3, 2, same=True, relu=True)
        enc.update(_resblocks("texture_enc", n_texture, c, first_suffix="_"))
        enc.update(_resblocks("shape_enc", n_shape, c, first_suffix="_"))
        self.encoder = nn.ModuleDict(enc)
        mani: dict[str, nn.Module] = {"mani_conv0c": _Conv(c, c, 7, relu=True), "mani_aft_conv0c": _Conv(c, c, 3)}
        mani.update(_resblocks("mani_resblk", n_manipulator, c))
        self.manipulator = nn.ModuleDict(mani)
        dec: dict[str, nn.Module] = {"texture_upsample": _Conv(c, c, 3, relu=True)}
        dec.update(_resblocks("decoder_resblk", n_decoder, 2 * c))
        dec["dec_conv2_c"] = _Conv(2 * c, c, 3, relu=True)
        dec["pred_conv"] = _Conv(c, 3, 7)
        self.decoder = nn.ModuleDict(dec)
        self._n = (n_encoder, n_texture, n_shape, n_manipulator, n_decoder)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02, a=-0.04, b=0.04)  # [T]: truncated normal, stddev 0.02

    def _blocks(self, d: nn.ModuleDict, prefix: str, n: int, underscore: bool = False) -> list[nn.Module]:
        if underscore:
            return [d[prefix]] + [d[f"{prefix}_{i}"] for i in range(1, n)]
        return [d[f"{prefix}{i}"] for i in range(n)]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(texture V at 1/4 resolution, shape M at 1/2) of images in [-1, 1], (N, 3, H, W), H and W % 4 == 0."""
        e = self.encoder
        r = e["enc_conv2_c"](e["enc_conv1_c"](x))
        for b in self._blocks(e, "encoder_resblk", self._n[0]):
            r = b(r)
        v = e["enc_texture_conv"](r)
        for b in self._blocks(e, "texture_enc", self._n[1], True):
            v = b(v)
        m = r
        for b in self._blocks(e, "shape_enc", self._n[2], True):
            m = b(m)
        return v, m

    def manipulate(self, m_a: torch.Tensor, m_b: torch.Tensor, amplification: torch.Tensor | float) -> torch.Tensor:
        """``M_b + h((amplification - 1) g(M_b - M_a))``; amplification a float or one value per sample."""
        d = self.manipulator
        amp = torch.as_tensor(amplification, dtype=m_b.dtype, device=m_b.device).reshape(-1, 1, 1, 1)
        diff = d["mani_conv0c"](m_b - m_a) * (amp - 1.0)
        diff = d["mani_aft_conv0c"](diff)
        for b in self._blocks(d, "mani_resblk", self._n[3]):
            diff = b(diff)
        return m_b + diff

    def decode(self, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """The image in [-1, 1] from texture ``v`` and shape ``m``."""
        d = self.decoder
        v = d["texture_upsample"](F.interpolate(v, scale_factor=2, mode="nearest"))
        r = torch.cat([v, m], dim=1)
        for b in self._blocks(d, "decoder_resblk", self._n[4]):
            r = b(r)
        r = F.interpolate(r, scale_factor=2, mode="nearest")
        out = d["pred_conv"](d["dec_conv2_c"](r))
        return torch.clamp(out, -1.0, 1.0)

    def forward(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, amplification: torch.Tensor | float
    ) -> torch.Tensor:
        """Magnify the motion A -> B: images (N, 3, H, W) in [-1, 1], any H, W (reflect-padded to a multiple of 4)."""
        h, w = frame_a.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
            frame_a = F.pad(frame_a, (0, pw, 0, ph), mode=mode)
            frame_b = F.pad(frame_b, (0, pw, 0, ph), mode=mode)
        v_a, m_a = self.encode(frame_a)
        v_b, m_b = self.encode(frame_b)
        del v_a
        out = self.decode(v_b, self.manipulate(m_a, m_b, amplification))
        return out[..., :h, :w]

    # ------------------------------------------------------------------------------------------- weights

    def tf_state_dict(self) -> dict[str, NDArray[np.float32]]:
        """The weights under the authors' TensorFlow names, HWIO, as :func:`convert_tf_checkpoint` writes them."""
        return {tf_name(k): v.detach().cpu().numpy().transpose(2, 3, 1, 0) for k, v in self.state_dict().items()}

    def load_weights(self, state: Mapping[str, Any], *, source: str = "state dict") -> LBMM:
        """Load a state dict of this module (torch or numpy arrays, OIHW) or of TF names (HWIO), strictly.

        Raises
        ------
        MagnificationWeightsError
            Naming the missing and unexpected keys, or the first shape mismatch, or another port's weights.
        """
        state = dict(state)
        for wrapper in ("state_dict", "model"):
            if wrapper in state and isinstance(state[wrapper], Mapping):
                state = dict(state[wrapper])
        _refuse_other_variants(state, source)
        if any("/" in k for k in state):
            state = {_from_tf_name(k): np.asarray(v).transpose(3, 2, 0, 1) for k, v in state.items()}
        state = {k.removeprefix("module."): v for k, v in state.items()}
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise MagnificationWeightsError(
                f"{source} does not fit LBMM({self.config}): "
                f"{len(missing)} missing key(s) {_short(missing)}, "
                f"{len(unexpected)} unexpected key(s) {_short(unexpected)}"
            )
        tensors = {}
        for k, v in state.items():
            t = torch.as_tensor(np.asarray(v) if not isinstance(v, torch.Tensor) else v, dtype=own[k].dtype)
            if tuple(t.shape) != tuple(own[k].shape):
                raise MagnificationWeightsError(
                    f"{source}: {k} has shape {tuple(t.shape)}, LBMM({self.config}) needs {tuple(own[k].shape)}"
                )
            tensors[k] = t
        self.load_state_dict(tensors, strict=True)
        return self

    @classmethod
    def load(cls, path: str | Path, *, map_location: str = "cpu", **config: int) -> LBMM:
        """Build an :class:`LBMM` (``config``: its constructor arguments) and load weights from ``path``.

        ``path``: ``.npz``, ``.safetensors``, a torch ``.pt``/``.pth``/``.bin`` state dict, or a TensorFlow
        checkpoint directory (needs ``tensorflow``). Nothing is downloaded.
        """
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"LBMM weights not found: {p} (mefast downloads nothing; pass a local file)")
        net = cls(**config)
        return net.load_weights(_read_weights(p, map_location), source=str(p))


def _short(keys: list[str], n: int = 6) -> str:
    return "[" + ", ".join(keys[:n]) + (", ..." if len(keys) > n else "") + "]"


def tf_name(key: str) -> str:
    """Map a state-dict key of :class:`LBMM` to the authors' TF variable name.

    ``encoder.encoder_resblk0.c1.conv.weight`` -> ``ynet_3frames/encoder/encoder_resblk0_c1/Conv/weights``.
    """
    parts = key.split(".")
    if len(parts) == 5:  # part.block.c1|c2.conv.weight
        part, block, sub = parts[0], parts[1], parts[2]
        scope = f"{block}_{sub}"
    else:  # part.layer.conv.weight
        part, scope = parts[0], parts[1]
    return f"{_TF_ROOT}/{part}/{scope}/Conv/weights"


def _from_tf_name(name: str) -> str:
    parts = name.split("/")
    if len(parts) != 5 or parts[0] != _TF_ROOT or parts[3:] != ["Conv", "weights"]:
        return name  # left for the missing/unexpected report
    part, scope = parts[1], parts[2]
    if scope.endswith(("_c1", "_c2")):  # the two convolutions of a residual block
        return f"{part}.{scope[:-3]}.{scope[-2:]}.conv.weight"
    return f"{part}.{scope}.conv.weight"


def _refuse_other_variants(state: Mapping[str, Any], source: str) -> None:
    keys = list(state)
    if "model_state_dict" in keys:
        raise MagnificationWeightsError(
            f"{source} is a postech-ami/Deep-Motion-Mag-Pytorch checkpoint ('model_state_dict'): that port has "
            "biases and extra layers and is not weight-compatible with the authors' model that LBMM implements"
        )
    if any(k.removeprefix("module.").startswith(("encoder.cba_", "manipulator.h_conv", "manipulator.g")) for k in keys):
        raise MagnificationWeightsError(
            f"{source} holds ZhengPeng7/motion_magnification_learning-based weights (encoder.cba_*, manipulator.g): "
            "a different architecture (3x3 g, extra shape conv, no texture-upsample conv), not loadable into LBMM"
        )


def _read_weights(p: Path, map_location: str) -> Mapping[str, Any]:
    if p.is_dir():
        return _read_tf_checkpoint(p)
    suffix = p.suffix.lower()
    if suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if suffix == ".safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError as e:
            raise ImportError(f"reading {p} needs the safetensors package: pip install safetensors") from e
        return load_file(str(p))
    if suffix in (".pt", ".pth", ".bin", ".tar", ".ckpt"):
        try:
            obj = torch.load(p, map_location=map_location, weights_only=True)
        except Exception as e:  # pickled whole modules (cgst's torch.save(model)) are refused by weights_only
            raise MagnificationWeightsError(
                f"{p} is not a plain state dict ({type(e).__name__}: {e}); pickled modules (such as "
                "cgst/motion-magnification's torch.save(model)) are a different architecture and are not loaded"
            ) from None
        if isinstance(obj, nn.Module):
            obj = obj.state_dict()
        if not isinstance(obj, Mapping):
            raise MagnificationWeightsError(f"{p} holds a {type(obj).__name__}, not a state dict")
        return obj
    raise MagnificationWeightsError(
        f"unknown LBMM weight format {p.suffix!r} ({p}); use .npz/.safetensors (TF names or this module's), a torch "
        ".pt/.pth state dict, or the authors' TensorFlow checkpoint directory"
    )


def _read_tf_checkpoint(ckpt_dir: Path) -> dict[str, NDArray[np.float32]]:
    try:
        import tensorflow as tf  # type: ignore[import-not-found]
    except ImportError as e:
        raise ImportError(
            f"{ckpt_dir} looks like a TensorFlow checkpoint directory: reading it needs tensorflow "
            "(pip install tensorflow), once, to convert it with "
            "mefast.train.magnification.convert_tf_checkpoint(ckpt_dir, 'lbmm.npz'); the .npz then loads without it"
        ) from e
    prefix = tf.train.latest_checkpoint(str(ckpt_dir)) or str(ckpt_dir)
    reader = tf.train.load_checkpoint(prefix)
    names = [n for n in reader.get_variable_to_shape_map() if n.startswith(_TF_ROOT) and n.endswith("/Conv/weights")]
    return {n: np.asarray(reader.get_tensor(n), dtype=np.float32) for n in names}


def convert_tf_checkpoint(ckpt_dir: str | Path, out: str | Path) -> Path:
    """Convert the authors' TF checkpoint (``data/training/<exp>/checkpoint/``) to an ``.npz`` of its conv kernels.

    Needs ``tensorflow`` (offline, once); the result loads with :meth:`LBMM.load` without it. Other variables
    (optimiser slots, the step counter) are left out.
    """
    weights = _read_tf_checkpoint(Path(ckpt_dir))
    out = Path(out)
    np.savez(out, **weights)  # type: ignore[arg-type]
    return out


# ------------------------------------------------------------------------------------------------ training


def _smooth_texture(rng: np.random.Generator, size: int) -> NDArray[np.float32]:
    """A colour texture: multi-scale Gaussian-filtered noise, band-limited so that bicubic warps are accurate."""
    import cv2

    img = np.zeros((size, size, 3), np.float32)
    for sigma, gain in ((1.0, 0.35), (2.5, 0.6), (6.0, 0.8)):
        n = rng.standard_normal((size, size, 3)).astype(np.float32)
        img += gain * cv2.GaussianBlur(n, (0, 0), sigma) * sigma
    img -= img.mean(axis=(0, 1))
    img /= max(float(np.abs(img).max()), 1e-6)
    return np.clip(0.5 + 0.45 * img, 0.0, 1.0)


def _face_crop(rng: np.random.Generator, size: int, face: NDArray[np.uint8]) -> NDArray[np.float32]:
    import cv2

    h, w = face.shape[:2]
    s = int(rng.integers(size, min(h, w)))
    y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
    crop = cv2.resize(face[y : y + s, x : x + s].astype(np.float32) / 255.0, (size, size), interpolation=cv2.INTER_AREA)
    return np.asarray(crop, np.float32)


def _motion_field(rng: np.random.Generator, size: int, max_motion: float) -> NDArray[np.float32]:
    """A smooth random field: a global sub-pixel translation plus one Gaussian bump of local motion."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    field = np.zeros((size, size, 2), np.float32)
    field[...] = rng.uniform(-0.5, 0.5, 2).astype(np.float32)
    cy, cx = rng.uniform(0.25, 0.75, 2)
    bump = np.exp(-(((yy - cy) / 0.2) ** 2 + ((xx - cx) / 0.2) ** 2))
    field += bump[..., None] * rng.uniform(-1, 1, 2).astype(np.float32)
    m = float(np.abs(field).max())
    return field * (rng.uniform(0.2, 1.0) * max_motion / max(m, 1e-6))


def synthetic_magnification_pairs(
    n: int,
    size: int = 64,
    *,
    seed: int = 0,
    max_motion: float = 1.0,
    amplification: tuple[float, float] = (2.0, 6.0),
    face_fraction: float = 0.5,
) -> dict[str, NDArray[np.float32]]:
    """Training pairs with known sub-pixel motion and their magnified targets.

    Each sample is a colour texture (band-limited noise) or a crop of the bundled face, an image ``I``; a smooth
    field ``d`` (global translation plus a local bump, at most ``max_motion`` px) and an amplification ``a`` drawn
    from ``amplification``. With ``W(I, f)(x) = I(x + f(x))`` (bicubic): ``frame_a = I``, ``frame_b = W(I, d)``,
    ``target = W(I, a d)`` (the motion multiplied by ``a``), ``frame_b_perturbed`` = ``frame_b`` with a random colour
    gain (for the shape-invariance term of the loss).

    Returns
    -------
    dict of float32 arrays
        ``frame_a``, ``frame_b``, ``frame_b_perturbed``, ``target``: (n, 3, size, size) in [-1, 1];
        ``amplification``: (n,); ``motion``: (n, size, size, 2) in pixels.
    """
    from ..data import face_image
    from ..testing import warp_image

    rng = np.random.default_rng(seed)
    face = face_image()
    out: dict[str, list[Any]] = {k: [] for k in ("frame_a", "frame_b", "frame_b_perturbed", "target", "amplification",
                                                 "motion")}  # fmt: skip
    for _ in range(n):
        img = _face_crop(rng, size, face) if rng.random() < face_fraction else _smooth_texture(rng, size)
        d = _motion_field(rng, size, max_motion)
        a = float(rng.uniform(*amplification))
        b = np.clip(warp_image(img, d), 0, 1)
        y = np.clip(warp_image(img, a * d), 0, 1)
        gain = rng.uniform(0.8, 1.2, 3).astype(np.float32)
        for key, val in (("frame_a", img), ("frame_b", b), ("frame_b_perturbed", np.clip(b * gain, 0, 1)),
                         ("target", y)):  # fmt: skip
            out[key].append(val.transpose(2, 0, 1) * 2.0 - 1.0)
        out["amplification"].append(a)
        out["motion"].append(d)
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


@dataclass
class MagnificationTrainResult:
    """What :func:`train_lbmm` returns: the model, the loss per step and the held-out L1 of model and identity."""

    model: LBMM
    losses: list[float] = field(default_factory=list)
    heldout_l1: float = math.nan
    identity_l1: float = math.nan
    seconds: float = 0.0


def _l1(model: LBMM, data: Mapping[str, NDArray[np.float32]], batch: int = 16) -> float:
    model.eval()
    tot, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(data["frame_a"]), batch):
            a = torch.from_numpy(data["frame_a"][i : i + batch])
            b = torch.from_numpy(data["frame_b"][i : i + batch])
            amp = torch.from_numpy(data["amplification"][i : i + batch])
            y = torch.from_numpy(data["target"][i : i + batch])
            tot += float(torch.abs(model(a, b, amp) - y).sum())
            n += y.numel()
    return tot / n


def train_lbmm(
    model: LBMM | None = None,
    *,
    train: Mapping[str, NDArray[np.float32]] | None = None,
    heldout: Mapping[str, NDArray[np.float32]] | None = None,
    steps: int = 1000,
    batch_size: int = 4,
    lr: float = 1e-4,
    reg_weight: float = 0.1,
    size: int = 64,
    n_train: int = 256,
    n_heldout: int = 32,
    seed: int = 0,
    max_seconds: float | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> MagnificationTrainResult:
    """Train :class:`LBMM` on synthetic pairs (:func:`synthetic_magnification_pairs`) with the paper's loss.

    Loss: ``L1(Y_hat, Y) + reg_weight * (L1(V_a, V_b) + L1(M_b, M_b'))`` (texture unchanged by motion, shape unchanged
    by a colour change), Adam (beta1 0.9). The authors train 384 x 384 pairs for days; this entry point is for
    fine-tuning and for checking the pipeline. Returns the model, the losses, and the held-out L1 of the model and of
    the identity (``frame_b`` as the prediction).
    """
    torch.manual_seed(seed)
    model = model if model is not None else LBMM()
    train = train if train is not None else synthetic_magnification_pairs(n_train, size, seed=seed)
    heldout = heldout if heldout is not None else synthetic_magnification_pairs(n_heldout, size, seed=seed + 10_000)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    rng = np.random.default_rng(seed)
    n = len(train["frame_a"])
    t0 = time.perf_counter()
    result = MagnificationTrainResult(model)
    for step in range(steps):
        model.train()
        idx = rng.choice(n, size=min(batch_size, n), replace=False)
        a, b, bp, y = (torch.from_numpy(train[k][idx]) for k in ("frame_a", "frame_b", "frame_b_perturbed", "target"))
        amp = torch.from_numpy(train["amplification"][idx])
        v_a, m_a = model.encode(a)
        v_b, m_b = model.encode(b)
        pred = model.decode(v_b, model.manipulate(m_a, m_b, amp))
        loss = F.l1_loss(pred, y)
        if reg_weight:
            _, m_bp = model.encode(bp)
            loss = loss + reg_weight * (F.l1_loss(v_a, v_b) + F.l1_loss(m_b, m_bp))
        opt.zero_grad()
        loss.backward()
        opt.step()
        result.losses.append(float(loss.detach()))
        if callback is not None:
            callback(step, float(loss.detach()))
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            break
    result.seconds = time.perf_counter() - t0
    result.heldout_l1 = _l1(model, heldout)
    result.identity_l1 = float(np.abs(heldout["frame_b"] - heldout["target"]).mean())
    return result


def magnify_pairs(
    model: LBMM, onset: NDArray, frames: NDArray, amplification: float, *, device: str = "cpu", batch: int = 4
) -> NDArray[np.float32]:
    """Run the model on (onset, frame) for every frame: RGB float in [0, 1], (N, H, W, 3) -> (N, H, W, 3)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()
    a = torch.from_numpy(np.ascontiguousarray(onset.transpose(2, 0, 1)[None] * 2.0 - 1.0, dtype=np.float32))
    outs = []
    with torch.no_grad():
        for i in range(0, len(frames), batch):
            b = torch.from_numpy(np.ascontiguousarray(frames[i : i + batch].transpose(0, 3, 1, 2) * 2.0 - 1.0,
                                                      dtype=np.float32))  # fmt: skip
            y = model(a.expand(len(b), -1, -1, -1).to(device), b.to(device), float(amplification))
            outs.append(((y.cpu().numpy() + 1.0) / 2.0).transpose(0, 2, 3, 1))
    return np.clip(np.concatenate(outs), 0.0, 1.0).astype(np.float32)
