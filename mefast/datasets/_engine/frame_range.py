"""Annotated frame ranges that the clip folder does not cover, reconciled by a documented policy.

Real corpora have clips whose folder frames do not cover the annotated onset..offset: the frames end before
the offset, start after the onset, or are numbered another way (renumbered from 0 or 1, or the whole
recording). What happens is chosen with ``frame_range``:

``"strict"`` (default)
    Annotations are used as written. A range the folder does not cover is an error in
    :func:`~mefast.datasets.validate` (``onset_outside_clip``, ``offset_outside_clip``...) and reading its
    frames raises :class:`~mefast.errors.FrameReadError` naming the sample and the range.
``"clip"``
    A range the folder does not cover is clipped to its overlap with the folder's frames
    ``max(onset, first)..min(offset, last)``, when the apex lies inside that overlap. Every change is
    recorded: in :attr:`Dataset.corrections` (the old and new onset/offset, with the folder's range in
    the reason) and as a ``frame_range_clipped`` warning of the validation report. When the apex is
    outside the overlap (or there is no overlap: frames numbered another way), nothing is changed and the
    sample gets a ``frame_range`` error: the policy never guesses a renumbering.

Nothing is silent: a sample is either used as annotated, or clipped with a record, or reported as an error.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from .base import CORRECTION_COLUMNS, ISSUE_COLUMNS, Dataset

__all__ = ["FRAME_RANGE_POLICIES", "apply_frame_range", "check_frame_range"]

#: The policies of :func:`apply_frame_range`.
FRAME_RANGE_POLICIES: tuple[str, ...] = ("strict", "clip")


def check_frame_range(policy: str) -> str:
    """Return ``policy`` when it is one of :data:`FRAME_RANGE_POLICIES`, else raise ``ValueError``."""
    if policy not in FRAME_RANGE_POLICIES:
        raise ValueError(f"frame_range must be one of {', '.join(FRAME_RANGE_POLICIES)}, got {policy!r}")
    return policy


def apply_frame_range(dataset: Dataset, policy: str = "strict") -> Dataset:
    """Reconcile each sample's onset..offset with the frames of its clip folder (see the module docstring).

    Parameters
    ----------
    dataset : Dataset
        A corpus read by :func:`mefast.datasets.load` (or a composite).
    policy : {"strict", "clip"}
        ``strict`` returns ``dataset`` unchanged; ``clip`` clips uncovered ranges to the folder's frames
        when the apex lies inside the overlap.

    Returns
    -------
    Dataset
        A new dataset (``clip``) whose samples, corrections and issues record every change; the same
        dataset (``strict``).

    Raises
    ------
    ValueError
        Unknown policy.
    """
    if check_frame_range(policy) == "strict":
        return dataset
    samples = dataset.samples.copy()
    fixes: list[dict] = []
    issues: list[dict] = []
    for i, s in enumerate(dataset.samples.itertuples(index=False)):
        onset, apex, offset = int(s.onset), int(s.apex), int(s.offset)
        nums = dataset.frame_numbers[i] if i < len(dataset.frame_numbers) else []
        if min(onset, apex, offset) < 0 or onset > offset or not nums:
            continue  # no range to reconcile: validate() names the problem
        first, last = nums[0], nums[-1]
        if first <= onset and offset <= last:
            continue  # covered (frames missing inside the range are another problem, reported by validate)
        lo, hi = max(onset, first), min(offset, last)
        where = (
            f"the clip folder holds frames {first}..{last} ({len(nums)} images), the annotation spans "
            f"{onset}..{offset} with apex {apex}"
        )
        if lo > hi:
            issues.append(
                _issue(
                    s.sample_id,
                    "frame_range",
                    f"{where}: they do not overlap (frames numbered another way?); frame_range='clip' changes "
                    "nothing and never renumbers frames",
                    "error",
                )
            )
            continue
        if not lo <= apex <= hi:
            issues.append(
                _issue(
                    s.sample_id,
                    "frame_range",
                    f"{where}: the apex is outside their overlap {lo}..{hi}, so frame_range='clip' cannot use it",
                    "error",
                )
            )
            continue
        reason = f"frame_range='clip': {where}; onset..offset clipped to the overlap {lo}..{hi}"
        for name, old, new in (("onset", onset, lo), ("offset", offset, hi)):
            if old != new:
                samples.at[samples.index[i], name] = new
                fixes.append(
                    {
                        "sample_id": s.sample_id,
                        "row": -1,
                        "field": name,
                        "old": str(old),
                        "new": str(new),
                        "reason": reason,
                        "status": "applied",
                    }
                )
        issues.append(_issue(s.sample_id, "frame_range_clipped", f"{where}; clipped to {lo}..{hi}", "warning"))
    if not fixes and not issues:
        return dataset
    corrections = pd.concat(
        [dataset.corrections, pd.DataFrame(fixes, columns=list(CORRECTION_COLUMNS))], ignore_index=True
    )
    new_issues = pd.concat([dataset.issues, pd.DataFrame(issues, columns=list(ISSUE_COLUMNS))], ignore_index=True)
    return dataclasses.replace(dataset, samples=samples, corrections=corrections, issues=new_issues.astype(object))


def _issue(sid: str, problem: str, detail: str, severity: str) -> dict:
    return {"sample_id": sid, "problem": problem, "detail": detail, "severity": severity}
