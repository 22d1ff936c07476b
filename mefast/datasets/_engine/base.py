"""The :class:`Dataset` every reader returns: the sample table, the frames of each clip, and their provenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ...errors import FrameRangeError, FrameReadError
from ...labels import au_name, parse_aus
from .frames import REDUCTIONS, expected_frame_path, read_image

__all__ = ["CORRECTION_COLUMNS", "ISSUE_COLUMNS", "SAMPLE_COLUMNS", "Dataset", "empty_corrections", "empty_issues"]

#: Columns of :attr:`Dataset.samples`, in order.
SAMPLE_COLUMNS: tuple[str, ...] = (
    "sample_id",
    "dataset",
    "subject",
    "clip",
    "onset",
    "apex",
    "offset",
    "n_frames",
    "emotion",
    "megc2019",
    "objective_class",
    "aus",
)
#: Columns of :attr:`Dataset.corrections`.
CORRECTION_COLUMNS: tuple[str, ...] = ("sample_id", "row", "field", "old", "new", "reason", "status")
#: Columns of :attr:`Dataset.issues` and of :func:`mefast.datasets.validate`'s report.
ISSUE_COLUMNS: tuple[str, ...] = ("sample_id", "problem", "detail", "severity")


def empty_corrections() -> pd.DataFrame:
    """An empty corrections table."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CORRECTION_COLUMNS})


def empty_issues() -> pd.DataFrame:
    """An empty issue table."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS})


@dataclass
class Dataset:
    """A micro-expression corpus (or a composite of several) read into one sample table.

    Attributes
    ----------
    name : str
        ``"casme"``, ``"casme2"``, ``"samm"``, ``"smic"``, ``"mmew"``, ``"4dme"``, ``"casme3a"``,
        ``"casme3c"`` or a composite name (``"megc2019"``, ``"cd6me"``, ...).
    root : Path
        The folder the frames were read from (a composite: the members' common folder).
    samples : DataFrame
        One row per sample (RangeIndex), columns :data:`SAMPLE_COLUMNS`: ``sample_id`` is
        ``f"{dataset}/{subject}/{clip}"`` and unique; ``onset``, ``apex``, ``offset`` are frame numbers as
        in the corpus's file names (``-1`` where the annotation gives none and nothing could fill it:
        :func:`validate` names these); ``n_frames`` counts the images in the clip folder; ``emotion`` is the
        corpus label in mefast's spelling; ``megc2019`` is ``"negative"``, ``"positive"``, ``"surprise"`` or
        ``""``; ``objective_class`` is the MEGC2018 class 1-7 (0 without AUs); ``aus`` is the canonical AU
        string (``"1+2+4"``).
    frame_numbers : list of list of int
        Per sample, the sorted frame numbers of its clip folder.
    frame_paths : list of list of Path
        Per sample, the image paths aligned with ``frame_numbers``.
    au_names : tuple of str
        Default AU columns of :meth:`au_matrix` (``("AU1", "AU2", ...)``).
    annotations : Path or None
        The annotation file the samples were read from.
    clip_dirs : list of Path
        Per sample, the clip folder (where it was looked for, when missing).
    corrections : DataFrame
        Every change made to the annotation, and every known correction checked: ``sample_id, row, field,
        old, new, reason, status`` (``row`` is the 0-based data row of the spreadsheet, -1 for a change not
        made on a sheet row such as ``frame_range="clip"``; ``status`` is ``applied``, ``already_fixed``
        (the sheet holds the right value) or ``conflict`` (the sheet holds neither the expected mistake nor
        the fix: left as it is)).
    issues : DataFrame
        Problems found while reading (``sample_id, problem, detail, severity``); :func:`validate` returns
        these together with the checks of frames and annotations.
    """

    name: str
    root: Path
    samples: pd.DataFrame
    frame_numbers: list[list[int]]
    frame_paths: list[list[Path]]
    au_names: tuple[str, ...]
    annotations: Path | None = None
    clip_dirs: list[Path] = field(default_factory=list)
    corrections: pd.DataFrame = field(default_factory=empty_corrections)
    issues: pd.DataFrame = field(default_factory=empty_issues)

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} samples, root={str(self.root)!r})"

    def au_matrix(self, au_names: Sequence[str] | None = None) -> NDArray[np.uint8]:
        """AU occurrence matrix.

        Parameters
        ----------
        au_names : sequence of str, optional
            Columns (``"AU12"`` or ``"12"``); default :attr:`au_names`.

        Returns
        -------
        au : ndarray of shape (N, n_au), uint8
            1 where the sample's AU string holds the AU.
        """
        names = tuple(self.au_names if au_names is None else au_names)
        numbers = []
        for n in names:
            text = str(n).strip()
            digits = text[2:] if text.upper().startswith("AU") else text
            if not digits.isdigit():
                raise ValueError(f"au_names: {n!r} is not an AU name such as 'AU12'")
            numbers.append(int(digits))
        col = {a: j for j, a in enumerate(numbers)}
        out = np.zeros((len(self), len(numbers)), np.uint8)
        for i, text in enumerate(self.samples["aus"].tolist()):
            for a in parse_aus(text):
                j = col.get(a)
                if j is not None:
                    out[i, j] = 1
        return out

    def read_frames(
        self, i: int, first: int | None = None, last: int | None = None, *, gray: bool = False, reduction: int = 1
    ) -> NDArray[np.uint8]:
        """Read the frames of sample ``i`` numbered ``first`` to ``last`` (default onset to offset).

        Parameters
        ----------
        i : int
            Sample index.
        first, last : int, optional
            Frame numbers (default the onset and the offset).
        gray : bool
            Grey ``(T, H, W)`` BT.601 luma instead of RGB: a JPEG's luma plane is decoded alone (faster;
            within a few grey levels of converting the RGB frames), other formats are converted exactly as
            ``cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)``.
        reduction : {1, 2, 4, 8}
            Decode at ``1/reduction`` of the size: JPEGs by libjpeg's DCT scaling (cheaper than a whole
            decode), other formats by ``r x r`` block means; ``ceil(H/r) x ceil(W/r)`` pixels, pixel ``j``
            covering source pixels ``r*j .. r*j + r - 1``.

        Returns
        -------
        frames : ndarray of shape (T, H, W, 3) or (T, H, W), uint8
            RGB, grey corpora (SAMM, 4DME) replicated to three channels; or grey with ``gray=True``.

        Raises
        ------
        FrameReadError
            A frame of the range is missing, truncated or undecodable, or the frames differ in size; the
            message names the sample and the path. :class:`~mefast.errors.FrameRangeError` (a subclass, also
            a ``ValueError``) when the folder's frames do not reach ``first`` or ``last`` (see ``frame_range``).
        IndexError
            ``i`` is not a sample index.
        ValueError
            ``reduction`` is not 1, 2, 4 or 8.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"sample index {i} out of range for {n} samples")
        i = i % n
        row = self.samples.iloc[i]
        sid = row["sample_id"]
        lo = int(row["onset"]) if first is None else int(first)
        hi = int(row["offset"]) if last is None else int(last)
        if lo < 0 or hi < 0:  # named as given: the annotation's onset/offset, or the first/last asked for
            given = f"{'onset' if first is None else 'first'} {lo}, {'offset' if last is None else 'last'} {hi}"
            raise FrameReadError(f"sample {sid}: no frame range ({given}); see validate()")
        if lo > hi:
            raise FrameReadError(f"sample {sid}: first frame {lo} is after last frame {hi}")
        numbers, paths = self.frame_numbers[i], self.frame_paths[i]
        folder = self.clip_dirs[i] if self.clip_dirs else self.root
        if not numbers:
            raise FrameReadError(f"sample {sid}: no frames in clip folder {folder} (missing or empty)")
        if lo < numbers[0] or hi > numbers[-1]:
            raise FrameRangeError(
                f"sample {sid}: frames {lo}..{hi} are not all in clip folder {folder}, which holds frames "
                f"{numbers[0]}..{numbers[-1]}; see validate(), or load(..., frame_range='clip') to use the overlap"
            )
        by_number = dict(zip(numbers, paths, strict=True))
        frames: list[NDArray[np.uint8]] = []
        for k in range(lo, hi + 1):
            path = by_number.get(k)
            if path is None:
                guess = expected_frame_path(paths, numbers, k, folder)
                raise FrameReadError(f"sample {sid}: frame {k} is missing ({guess} does not exist)")
            image, why = read_image(path, gray=gray, reduction=reduction)
            if image is None:
                raise FrameReadError(f"sample {sid}: frame {k} at {path} {why}")
            if frames and image.shape != frames[0].shape:
                raise FrameReadError(
                    f"sample {sid}: frame {k} at {path} has shape {image.shape}, frame {lo} has {frames[0].shape}"
                )
            frames.append(image)
        return np.stack(frames)

    def subset(self, index: Sequence[int] | NDArray, name: str | None = None) -> Dataset:
        """A dataset of the samples at ``index`` (in that order), with their corrections and issues."""
        idx = [int(i) for i in np.asarray(index, dtype=np.int64).ravel()]
        samples = self.samples.iloc[idx].reset_index(drop=True)
        keep = set(samples["sample_id"]) | {""}
        return Dataset(
            name=self.name if name is None else name,
            root=self.root,
            samples=samples,
            frame_numbers=[self.frame_numbers[i] for i in idx],
            frame_paths=[self.frame_paths[i] for i in idx],
            au_names=self.au_names,
            annotations=self.annotations,
            clip_dirs=[self.clip_dirs[i] for i in idx] if self.clip_dirs else [],
            corrections=self.corrections[self.corrections["sample_id"].isin(keep)].reset_index(drop=True),
            issues=self.issues[self.issues["sample_id"].isin(keep)].reset_index(drop=True),
        )


def au_names_of(aus: Sequence[str]) -> tuple[str, ...]:
    """Sorted union of the AUs in canonical AU strings, as ``("AU1", "AU2", ...)``."""
    found: set[int] = set()
    for text in aus:
        found.update(parse_aus(text))
    return tuple(au_name(a) for a in sorted(found))
