"""``mefast magnify``: magnify the motion of a clip (folder of frames, video file or .npy) into frames or a video.

mefast magnify CASME2/Cropped/sub01/EP02_01f --alpha 10 --method eulerian --out ep02_mag.mp4
mefast magnify clip.mp4 --alpha 5 --method lagrangian --out magnified/        # one PNG per frame
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import numpy as np

from ._common import fail

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    from ..magnification import EVM_PRESETS, METHODS

    p.add_argument("input", help="folder of frames (numeric order of the names' last digits), a video file or .npy")
    p.add_argument("--alpha", type=float, required=True, help="magnification: motion d becomes (1 + alpha) d")
    p.add_argument("--method", default="eulerian", choices=METHODS, help="default eulerian (EVM over the clip)")
    p.add_argument("--out", required=True,
                   help=f"output folder (one PNG per frame) or video file ({', '.join(_VIDEO_SUFFIXES)})")  # fmt: skip
    p.add_argument("--fs", type=float, default=None, help="frame rate in Hz (default: the video's, else 30)")
    p.add_argument("--preset", choices=sorted(EVM_PRESETS), help="EVM settings of a published script (eulerian)")
    p.add_argument("--temporal", choices=("iir", "butter", "ideal", "diff"), help="EVM temporal filter")
    p.add_argument("--fl", type=float, help="lower cutoff in Hz (butter, ideal)")
    p.add_argument("--fh", type=float, help="upper cutoff in Hz (butter, ideal)")
    p.add_argument("--lambda-c", type=float, dest="lambda_c", help="EVM cutoff wavelength in pixels (default 16)")
    p.add_argument("--weights", help="weights of the learned model (method learned)")
    p.add_argument("--grey", action="store_true", help="magnify the BT.601 grey frames")


def _out_problem(out: str) -> str | None:
    """Why ``--out`` names neither a video file :func:`write_clip` can write nor a folder (None when it does).

    :func:`write_clip` writes a video for a suffix in ``_VIDEO_SUFFIXES`` and a folder of PNGs for any other
    name, so ``x.gif`` or ``x.npy`` would become a folder of that name: refused, unless the name ends in ``/``
    (a folder the user named with a dot, ``run.2/``).
    """
    if out.endswith(("/", os.sep)):
        return None
    suffix = Path(out).suffix
    if suffix and suffix.lower() not in _VIDEO_SUFFIXES:
        return (f"--out {out}: unsupported video format '{suffix}'; use {'/'.join(_VIDEO_SUFFIXES)} or a folder "
                "(end its name with / if it has a dot)")  # fmt: skip
    return None


def read_clip(path: Path) -> tuple[np.ndarray, float | None]:
    """The frames of a folder or video (RGB uint8, (T, H, W, 3)) or .npy, and the video's frame rate if it has one.

    A .npy holds uint8 frames or float frames in [0, 1] (mefast's video convention), (T, H, W) or (T, H, W, 3).
    """
    import cv2

    if path.is_dir():
        from ..datasets._engine.frames import frame_number

        # numeric order of the names' last digits; names without digits first
        files = sorted((f for f in path.iterdir() if f.suffix.lower() in _IMAGE_SUFFIXES),
                       key=lambda f: (-1 if (n := frame_number(f.name)) is None else n, f.name))  # fmt: skip
        if not files:
            raise ValueError(f"{path} holds no image files ({', '.join(_IMAGE_SUFFIXES)})")
        frames = []
        for f in files:
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f"cannot read the image {f}")
            frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        if len({fr.shape for fr in frames}) != 1:
            raise ValueError(f"the frames in {path} do not all have the same size")
        return np.stack(frames), None
    if path.suffix.lower() == ".npy":
        arr = np.load(path, allow_pickle=False)
        if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
            raise ValueError(f"{path}: frames must have shape (T, H, W) or (T, H, W, 3), got {arr.shape}")
        if arr.dtype != np.uint8 and not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"{path}: frames must be uint8 or float in [0, 1], got dtype {arr.dtype}")
        if arr.dtype != np.uint8 and not (np.isfinite(arr).all() and arr.min() >= 0 and arr.max() <= 1):
            raise ValueError(f"{path}: float frames must be finite and in [0, 1] (uint8 frames: 0-255)")
        return arr, None
    if not path.is_file():
        raise ValueError(f"{path} does not exist")
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or None
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    cap.release()
    if not frames:
        raise ValueError(f"cannot read any frame of the video {path}")
    return np.stack(frames), fps


def write_clip(frames: np.ndarray, out: Path, fps: float) -> None:
    """Write uint8 frames (T, H, W[, 3]) RGB as PNGs into a folder, or as a video by OpenCV's writer."""
    import cv2

    def bgr(f: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(f, cv2.COLOR_GRAY2BGR if f.ndim == 2 else cv2.COLOR_RGB2BGR)

    if out.suffix.lower() in _VIDEO_SUFFIXES:
        out.parent.mkdir(parents=True, exist_ok=True)
        code = "mp4v" if out.suffix.lower() in (".mp4", ".mov") else "MJPG"
        fourcc = cv2.VideoWriter_fourcc(*code)  # type: ignore[attr-defined]
        h, w = frames.shape[1:3]
        writer = cv2.VideoWriter(str(out), fourcc, float(fps), (w, h), True)
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot open a video writer for {out}")
        for f in frames:
            writer.write(bgr(f))
        writer.release()
        return
    out.mkdir(parents=True, exist_ok=True)
    for t, f in enumerate(frames):
        if not cv2.imwrite(str(out / f"frame_{t:05d}.png"), bgr(f)):
            raise OSError(f"cannot write {out / f'frame_{t:05d}.png'}")


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; 0 on success, 2 on bad input or arguments."""
    from ..errors import MefastError
    from ..magnification import magnify

    if args.fs is not None and not (math.isfinite(args.fs) and args.fs > 0):  # 0 is a rate given, not "none"
        return fail("magnify", f"--fs must be a positive frame rate in Hz, got {args.fs}")
    problem = _out_problem(args.out)  # before the work: x.gif was written as a folder named x.gif
    if problem is not None:
        return fail("magnify", problem)
    try:
        clip, fps = read_clip(Path(args.input))
        if args.grey and clip.ndim == 4:
            import cv2

            if clip.dtype != np.uint8:  # OpenCV converts uint8 and float32 colour, not float64
                clip = clip.astype(np.float32)
            clip = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in clip])
        fs = fps if args.fs is None else args.fs  # None: the preset's frame rate, else 30
        opts = {k: getattr(args, k) for k in ("temporal", "fl", "fh", "lambda_c") if getattr(args, k) is not None}
        if args.method == "eulerian":
            out = magnify(clip, args.alpha, "eulerian", fs=fs, preset=args.preset, **opts)
        else:
            if opts or args.preset:
                raise ValueError("--preset, --temporal, --fl, --fh and --lambda-c apply to --method eulerian only")
            extra = {"weights": args.weights} if args.method == "learned" else {}
            out = magnify(clip, args.alpha, args.method, **extra)
        if out.dtype != np.uint8:  # float frames in [0, 1] (a float .npy in): written as 0-255
            out = np.clip(np.rint(np.asarray(out, np.float64) * 255), 0, 255).astype(np.uint8)
        write_clip(out, Path(args.out), fs or 30.0)
    except (MefastError, ValueError, OSError, ImportError) as exc:
        return fail("magnify", exc)
    print(f"magnified {len(out)} frames of {out.shape[1]} x {out.shape[2]} ({args.method}, alpha {args.alpha}) "
          f"-> {args.out}")  # fmt: skip
    return 0
