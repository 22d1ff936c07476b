"""Frame folders: list the images of a clip in numeric order, check and read single frames.

A frame's number is the last run of digits in its file name (``img46.jpg``, ``reg_img46.jpg``,
``006_05562.jpg``, ``image090823.bmp``, ``1568.jpg`` and ``EP03_2-14.jpg`` give 46, 46, 5562, 90823, 1568
and 14), which is the number the corpora's spreadsheets use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "IMAGE_SUFFIXES",
    "REDUCTIONS",
    "FrameListing",
    "expected_frame_path",
    "folders_without_sample",
    "frame_number",
    "image_problem",
    "list_frames",
    "read_image",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".bmp", ".png"})
_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def frame_number(name: str) -> int | None:
    """The frame number of an image file name (last run of digits of the stem), ``None`` if it has none."""
    m = _LAST_DIGITS.search(Path(name).stem)
    return int(m.group(1)) if m else None


class FrameListing:
    """The images of one clip folder, sorted by frame number (hidden files, names starting with ".", skipped).

    Attributes
    ----------
    folder : Path
    exists : bool
        False when the folder is missing (numbers and paths are then empty).
    numbers : list of int
    paths : list of Path
    unnumbered : list of Path
        Image files whose names hold no number.
    duplicates : dict of int to list of Path
        Frame numbers given by more than one file (``img46.jpg`` next to ``reg_img46.jpg``).
    """

    __slots__ = ("duplicates", "exists", "folder", "numbers", "paths", "unnumbered")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.exists = folder.is_dir()
        self.numbers: list[int] = []
        self.paths: list[Path] = []
        self.unnumbered: list[Path] = []
        self.duplicates: dict[int, list[Path]] = {}
        if not self.exists:
            return
        found: dict[int, list[Path]] = {}
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith(".") or not entry.is_file():
                    continue  # hidden files such as macOS's "._img46.jpg" copies of metadata are never frames
                if Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                n = frame_number(entry.name)
                if n is None:
                    self.unnumbered.append(folder / entry.name)
                else:
                    found.setdefault(n, []).append(folder / entry.name)
        for n in sorted(found):
            paths = sorted(found[n])
            if len(paths) > 1:
                self.duplicates[n] = paths
            self.numbers.append(n)
            self.paths.append(paths[0])


def list_frames(folder: Path, cache: dict[Path, FrameListing] | None = None) -> FrameListing:
    """List a clip folder once (clips that share a recording folder share one listing)."""
    if cache is None:
        return FrameListing(folder)
    if folder not in cache:
        cache[folder] = FrameListing(folder)
    return cache[folder]


def _subfolders(folder: Path) -> list[Path]:
    """The folders in ``folder``, less hidden ones and ``__MACOSX`` (one listing; none when it cannot be read)."""
    try:
        with os.scandir(folder) as entries:
            return [Path(e.path) for e in entries if e.is_dir() and not e.name.startswith((".", "__MACOSX"))]
    except OSError:
        return []


def folders_without_sample(root: Path, clip_dirs: Sequence[Path]) -> list[tuple[Path, str]]:
    """Folders beside the clip folders, or subject folders under ``root``, that no clip folder is or holds.

    For corpora with one clip per folder. One listing per folder holding clip folders (a subject's; SMIC's
    emotion folders), and one of ``root`` when the clip folders are ``root/<subject>/<clip>``: nothing deeper,
    so SMIC's ``non_micro/`` beside ``micro/`` is not listed. Hidden folders are ignored.

    Returns
    -------
    list of (Path, str)
        Each such folder and what is wrong with it, in path order.
    """
    clips = set(clip_dirs)
    holders = {d.parent for d in clips if d.parent.is_dir()}
    found = [(d, "is not in the annotation sheet: no sample reads its frames")
             for holder in holders for d in _subfolders(holder) if d not in clips]  # fmt: skip
    if {h.parent for h in holders} == {root}:
        found += [(d, "holds no clip of the annotation sheet") for d in _subfolders(root)
                  if d not in holders and d not in clips]  # fmt: skip
    return sorted(found)


def expected_frame_path(paths: list[Path], numbers: list[int], number: int, folder: Path) -> Path:
    """The path frame ``number`` would have, following the naming of the folder's other frames."""
    if not paths:
        return folder / f"{number}.jpg"
    ref = paths[min(range(len(numbers)), key=lambda i: abs(numbers[i] - number))]
    m = _LAST_DIGITS.search(ref.stem)
    assert m is not None  # listed frames always carry a number
    digits = m.group(1)
    width = len(digits) if digits.startswith("0") else 0
    stem = ref.stem[: m.start()] + str(number).zfill(width) + ref.stem[m.end() :]
    return ref.with_name(stem + ref.suffix)


def image_problem(path: Path, *, decode: bool = True) -> str | None:
    """Why an image file cannot be used, or ``None`` when it is fine.

    Checks the format's end marker first (a truncated JPEG lacks its final ``FF D9``, a truncated PNG its
    ``IEND`` chunk, a truncated BMP the size its header declares), then, when ``decode``, decodes it.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    return _bytes_problem(data, path, decode=decode)


def _bytes_problem(data: bytes, path: Path, *, decode: bool) -> str | None:
    if not data:
        return "is empty (0 bytes)"
    if data[:2] == b"\xff\xd8":
        if b"\xff\xd9" not in data[-64:]:
            return f"is a truncated JPEG ({len(data)} bytes, no end-of-image marker)"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-16:]:
            return f"is a truncated PNG ({len(data)} bytes, no IEND chunk)"
    elif data[:2] == b"BM":
        declared = int.from_bytes(data[2:6], "little") if len(data) >= 6 else 0
        if len(data) < declared:
            return f"is a truncated BMP ({len(data)} of {declared} bytes)"
    else:
        return f"is not a JPEG, PNG or BMP image (starts with {data[:4]!r})"
    if decode and _decode(data) is None:
        return "cannot be decoded"
    return None


def _decode(data: bytes) -> NDArray[np.uint8] | None:
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else np.asarray(image, np.uint8)


def read_rgb(path: Path) -> tuple[NDArray[np.uint8] | None, str | None]:
    """Read one frame as RGB uint8 (grey images replicated to 3 channels); ``(None, why)`` on failure."""
    return read_image(path)


#: Reductions :func:`read_image` decodes at (libjpeg's DCT scaling factors).
REDUCTIONS = (1, 2, 4, 8)


def read_image(path: Path, *, gray: bool = False, reduction: int = 1) -> tuple[NDArray[np.uint8] | None, str | None]:
    """Read one frame as RGB uint8 ``(H, W, 3)`` or grey ``(H, W)``, optionally at ``1/reduction`` of its size.

    Parameters
    ----------
    path : Path
        A JPEG, PNG or BMP file.
    gray : bool
        BT.601 luma instead of RGB: a JPEG's own luma plane, decoded without its colour planes (within a few
        grey levels of converting the decoded RGB), for other formats exactly ``cv2.cvtColor(rgb,
        cv2.COLOR_RGB2GRAY)``.
    reduction : {1, 2, 4, 8}
        2, 4 or 8 decodes a JPEG at that fraction of its size by libjpeg's DCT scaling
        (``cv2.IMREAD_REDUCED_*``: cheaper than decoding it whole); other formats are decoded whole and averaged
        over ``r x r`` blocks (area). Either way the result has ``ceil(H / r) x ceil(W / r)`` pixels and pixel
        ``j`` covers source pixels ``r*j .. r*j + r - 1``.

    Returns
    -------
    image : ndarray of shape (H', W', 3) or (H', W'), uint8, or None
        The frame (grey images replicated to three channels for RGB); None when it could not be read.
    why : str or None
        None on success, else what is wrong with the file, as the end of a sentence naming it (``"does not
        exist"``, ``"is a truncated JPEG (...)"``, ``"cannot be decoded"``).

    Raises
    ------
    ValueError
        ``reduction`` is not 1, 2, 4 or 8.
    """
    import cv2

    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, "does not exist"
    except OSError as e:
        return None, f"cannot be read ({e.strerror or e})"
    problem = _bytes_problem(data, path, decode=False)
    if problem is not None:
        return None, problem
    buf = np.frombuffer(data, np.uint8)
    if data[:2] == b"\xff\xd8" and (gray or reduction > 1):
        flag = _JPEG_FLAGS[(gray, reduction)]
        image = cv2.imdecode(buf, getattr(cv2, flag) if isinstance(flag, str) else flag)
        if image is None:
            return None, "cannot be decoded"
        decoded = np.asarray(image, np.uint8)
        return (decoded if gray else np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), np.uint8)), None
    bgr = _decode(data)
    if bgr is None:
        return None, "cannot be decoded"
    out = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY if gray else cv2.COLOR_BGR2RGB), np.uint8)
    return (out if reduction == 1 else _block_mean(out, reduction)), None


_JPEG_FLAGS: dict[tuple[bool, int], int | str] = {
    (True, 1): "IMREAD_GRAYSCALE",
    **{(True, r): f"IMREAD_REDUCED_GRAYSCALE_{r}" for r in (2, 4, 8)},
    **{(False, r): f"IMREAD_REDUCED_COLOR_{r}" for r in (2, 4, 8)},
}


def _block_mean(image: NDArray[np.uint8], r: int) -> NDArray[np.uint8]:
    """Mean of every ``r x r`` block (edge blocks replicated to full size), rounded: ``ceil(H/r) x ceil(W/r)``."""
    import cv2

    h, w = image.shape[:2]
    ph, pw = -h % r, -w % r
    if ph or pw:
        image = np.asarray(cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_REPLICATE), np.uint8)
    size = ((w + pw) // r, (h + ph) // r)
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
