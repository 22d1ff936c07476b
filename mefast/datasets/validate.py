"""Check a dataset's annotations against its frames and report every inconsistency.

:func:`validate` never prints and never raises for a data problem: it returns one row per problem with
the sample id, a problem code and a sentence naming the frame, path or value at fault.

Problem codes (severity ``"error"`` unless noted):

=====================  ======================================================================================
``empty_row``           a blank row in the annotation sheet (no sample)
``invalid_annotation``  a row without subject/clip, or an onset/apex/offset that is not a frame number (text,
                        a fraction, a negative number; the sample table's ``-1`` marks it unknown)
``invalid_aus``         an AU code that cannot be read (the readable AUs are kept)
``duplicate_sample``    the sheet lists the same clip twice
``corrections_skipped`` the sheet is not the release the row-addressed corrections refer to (warning)
``correction_conflict`` the sheet holds neither the mistake a known correction expects nor its fix: left as
                        it is (warning)
``correction_not_found`` the sample of an identity-keyed correction is not in the sheet (warning)
``correction_already_fixed`` the sheet already holds a known correction's fix (severity ``"info"``)
``frame_range``         the clip folder's frames do not cover onset..offset and ``frame_range="clip"`` cannot
                        reconcile them (no overlap, or the apex outside it)
``frame_range_clipped`` onset..offset clipped to the folder's frames by ``frame_range="clip"`` (warning)
``onset_after_apex``    onset > apex
``apex_after_offset``   apex > offset
``apex_equals_onset``   apex == onset: the onset->apex motion is zero (warning)
``missing_folder``      the clip folder does not exist
``empty_folder``        the clip folder holds no images
``frame_count``         the folder's frame count differs from offset - onset + 1 (clip-per-folder corpora;
                        a warning when the folder holds more, as a whole-recording folder does)
``onset_outside_clip``  onset / apex / offset not among the folder's frame numbers range
``apex_outside_clip``
``offset_outside_clip``
``missing_frame``       frames of onset..offset absent from the folder
``unreadable_image``    a frame is empty, truncated, not an image, or cannot be decoded
``frame_size``          the frames of a clip differ in size
``duplicate_frame``     two files give the same frame number (warning)
``unnumbered_image``    an image whose name holds no frame number (warning)
``unknown_emotion``     an emotion outside the corpus's vocabulary, or none
``folder_without_sample`` a folder beside the clip folders (or a subject folder under the root) that no row
                        of the sheet reads: a clip missing from the sheet, or named otherwise there (warning;
                        corpora with one clip per folder; found while reading, so a subset or a composite
                        that leaves samples out does not report their folders)
``objective_class_derived`` the objective classes come from the AUs by the MEGC2018 rule: no per-sample
                        objective-class file was read (CASME II's ``CASME2-ObjectiveClasses.xlsx``; ``"info"``)
``objective_class_missing`` a sample absent from the objective-class file keeps its sheet's or derived class
                        (warning)
``objective_class_invalid`` the file's class for a sample is not 1-7 or I-VII (warning)
``objective_class_conflict`` the file lists a sample with two classes, or contradicts the sheet's (warning)
``objective_class_unmatched`` rows of the objective-class file that name no sample (warning)
=====================  ======================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._engine.base import ISSUE_COLUMNS, Dataset
from ._engine.frames import FrameListing, image_problem, list_frames
from .corpora import SPECS

__all__ = ["validate"]


def _ranges(numbers: Iterable[int]) -> str:
    """``[3, 4, 5, 9] -> "3-5, 9"``."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(f"{a}-{b}" if b != a else f"{a}" for a, b in runs)


def _frame_number_problems(sample: Any, reported: bool) -> list[str]:
    """Why a sample's onset, apex or offset is no frame number: negative, or ``-1`` (unknown) unreported.

    The readers store ``-1`` for a frame number the sheet does not give, each with an ``invalid_annotation``
    issue (``reported``); other negative values, or an unreported ``-1``, come from tables made elsewhere.
    """
    out = []
    for name in ("onset", "apex", "offset"):
        value = int(getattr(sample, name))
        if value < -1:
            out.append(f"{name} {value} is negative: not a frame number")
        elif value == -1 and not reported:
            out.append(f"{name} is unknown (-1)")
    return out


def _image_check(path: Path, decode: bool) -> tuple[str | None, tuple[int, ...] | None]:
    problem = image_problem(path, decode=False)
    if problem is not None or not decode:
        return problem, None
    import cv2

    image = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        return "cannot be decoded", None
    return None, image.shape[:2]


def validate(dataset: Dataset, *, check_images: bool = True, decode: bool = True, n_jobs: int = 1) -> pd.DataFrame:
    """Report every inconsistency between a dataset's annotations, folders and images.

    Parameters
    ----------
    dataset : Dataset
        A corpus or composite from :func:`mefast.datasets.load` / :func:`mefast.datasets.composite`.
    check_images : bool
        Check every frame of onset..offset (end markers, and decoding when ``decode``).
    decode : bool
        Decode each frame (slower; also catches corrupt data inside a complete file, and size changes).
    n_jobs : int
        Threads for the image checks.

    Returns
    -------
    report : DataFrame
        Columns ``sample_id, problem, detail, severity`` (see the module docstring for the problem
        codes); the problems found while reading come first, then the samples in order. Empty when
        everything is consistent.
    """
    rows: list[dict] = dataset.issues.to_dict("records")
    issues = dataset.issues
    reported = set(issues.loc[issues["problem"] == "invalid_annotation", "sample_id"]) if len(issues) else set()
    image_jobs: list[tuple[str, int, Path]] = []
    listings: dict[Path, FrameListing] = {}
    for i, s in enumerate(dataset.samples.itertuples(index=False)):
        sid = s.sample_id
        spec = SPECS.get(s.dataset)

        def add(problem: str, detail: str, severity: str = "error", sid: str = sid) -> None:
            rows.append({"sample_id": sid, "problem": problem, "detail": detail, "severity": severity})

        onset, apex, offset = int(s.onset), int(s.apex), int(s.offset)
        for detail in _frame_number_problems(s, sid in reported):
            add("invalid_annotation", detail)
        known = onset >= 0 and apex >= 0 and offset >= 0
        if known:
            if onset > apex:
                add("onset_after_apex", f"onset {onset} is after apex {apex}")
            if apex > offset:
                add("apex_after_offset", f"apex {apex} is after offset {offset}")
            if onset == apex:
                add("apex_equals_onset", f"apex equals onset ({apex}): the onset->apex motion is zero", "warning")

        if spec is not None:
            parts = [p for p in str(s.emotion).split("+") if p] if spec.multi_label else [str(s.emotion)]
            unknown = [p for p in parts if p not in spec.emotions]
            if not s.emotion:
                add("unknown_emotion", "the emotion is empty")
            elif unknown:
                add("unknown_emotion", f"emotion {s.emotion!r} is not one of {sorted(spec.emotions)}")

        folder = dataset.clip_dirs[i] if dataset.clip_dirs else dataset.root
        listing = list_frames(folder, listings)  # MEs of one recording share a listing
        if not listing.exists:
            add("missing_folder", f"clip folder {folder} does not exist")
            continue
        for n, paths in listing.duplicates.items():
            add("duplicate_frame", f"frame {n} is given by {', '.join(str(p) for p in paths)}", "warning")
        for p in listing.unnumbered:
            add("unnumbered_image", f"{p} has no frame number in its name", "warning")
        nums = listing.numbers
        if not nums:
            add("empty_folder", f"clip folder {folder} holds no jpg/bmp/png images")
            continue
        first, last = nums[0], nums[-1]
        if spec is not None and spec.clip_per_folder and onset >= 0 and offset >= onset:
            span = offset - onset + 1
            if len(nums) != span:
                # More frames than the span is also what a folder of the whole recording looks like
                # (CASME2-RAW instead of CASME2_RAW_selected): a warning; fewer is an error.
                more = len(nums) > span
                add(
                    "frame_count",
                    f"the clip folder holds {len(nums)} frames ({first} to {last}), the annotation spans "
                    f"{span} (onset {onset} to offset {offset})"
                    + ("; fine if the folder holds the whole recording" if more else ""),
                    "warning" if more else "error",
                )
        for name, value in (("onset", onset), ("apex", apex), ("offset", offset)):
            if value >= 0 and not first <= value <= last:
                add(
                    f"{name}_outside_clip", f"{name} {value} is outside the clip's frames {first} to {last} in {folder}"
                )
        if onset < 0 or offset < onset:
            continue
        present = set(nums)
        missing = [k for k in range(max(onset, first), min(offset, last) + 1) if k not in present]
        if missing:
            add("missing_frame", f"frame(s) {_ranges(missing)} of {onset}..{offset} missing from {folder}")
        if check_images:
            image_jobs.extend((sid, k, p) for k, p in zip(nums, listing.paths, strict=True) if onset <= k <= offset)

    if image_jobs:
        paths = [p for _, _, p in image_jobs]
        if n_jobs > 1:
            with ThreadPoolExecutor(n_jobs) as pool:
                results = list(pool.map(lambda p: _image_check(p, decode), paths))
        else:
            results = [_image_check(p, decode) for p in paths]
        shape_of: dict[str, tuple[int, tuple[int, ...]]] = {}
        for (sid, k, path), (problem, shape) in zip(image_jobs, results, strict=True):
            if problem is not None:
                rows.append(
                    {
                        "sample_id": sid,
                        "problem": "unreadable_image",
                        "detail": f"frame {k}: {path} {problem}",
                        "severity": "error",
                    }
                )
            elif shape is not None:
                ref = shape_of.setdefault(sid, (k, shape))
                if shape != ref[1]:
                    rows.append(
                        {
                            "sample_id": sid,
                            "problem": "frame_size",
                            "detail": f"frame {k}: {path} is {shape[1]}x{shape[0]}, frame {ref[0]} is "
                            f"{ref[1][1]}x{ref[1][0]}",
                            "severity": "error",
                        }
                    )

    report = pd.DataFrame(rows, columns=list(ISSUE_COLUMNS))
    order = {sid: i for i, sid in enumerate(dataset.samples["sample_id"])}
    key = report["sample_id"].map(lambda s: order.get(s, -1))
    return report.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)
