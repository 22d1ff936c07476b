"""Apex and interval spotting on synthetic recordings with planted expressions (known apexes and intervals)."""

from __future__ import annotations

import numpy as np
import pytest

import mefast
from mefast.spotting import apex_frame, match_intervals
from mefast.spotting._synthetic import iter_frames, make_long_recording


@pytest.fixture(scope="module")
def clips() -> list[tuple[np.ndarray, int, np.ndarray]]:
    """Four clips around a planted expression, cut off-centre, with the apex (within the clip) and the landmarks."""
    out = []
    for seed, (before, after) in enumerate([(0, 8), (7, 0), (1, 10), (9, 2)]):
        rec = make_long_recording(seed, n_frames=60, n_micro=1, n_macro=0, n_blinks=0)
        e = rec.expressions[0]
        first, last = e.onset - before, e.offset + after
        out.append((np.stack(list(iter_frames(rec, first, last + 1))), e.apex - first, rec.landmarks))
    return out


def test_the_clips_apex_is_not_the_middle_frame(clips) -> None:
    assert min(abs(len(clip) // 2 - apex) for clip, apex, _ in clips) > 2  # guessing the middle would fail


@pytest.mark.parametrize("method", ["flow", "strain", "fd"])
def test_apex_within_two_frames(clips, method: str) -> None:
    errors = [apex_frame(clip, method, landmarks=lm) - apex for clip, apex, lm in clips]
    assert max(abs(e) for e in errors) <= 2, errors


def test_apex_of_a_still_clip_is_not_an_error() -> None:
    still = np.full((8, 64, 64), 120, np.uint8)
    assert 0 <= apex_frame(still, "flow", landmarks=None) < 8


@pytest.fixture(scope="module")
def long_videos() -> list:
    return [make_long_recording(seed, n_frames=330, n_micro=3, n_macro=0, n_blinks=3) for seed in (7, 8)]


def test_interval_spotting_finds_micro_expressions_and_ignores_blinks(long_videos) -> None:
    tp = fp = fn = 0
    for rec in long_videos:
        rows = mefast.spot(iter_frames(rec), method="mdmd", fps=rec.fps, landmarks=rec.landmarks)
        r = match_intervals(rows, rec.intervals("micro"))
        tp, fp, fn = tp + r.tp, fp + r.fp, fn + r.fn
        for onset, offset, _ in rows:
            centre = (onset + offset) / 2
            for b0, b1 in rec.blinks:
                assert not b0 - 1 <= centre <= b1 + 1, f"interval {onset:.0f}-{offset:.0f} spots blink {b0}-{b1}"
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.6, (tp, fp, fn)


def test_spot_refuses_bad_arguments() -> None:
    video = np.zeros((20, 64, 64), np.uint8)
    with pytest.raises(ValueError, match="method"):
        mefast.spot(video, method="nope")
    with pytest.raises(ValueError, match="kind"):
        mefast.spot(video, kind="mega")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="softnet"):
        mefast.spot(video, method="softnet", k=2, landmarks=None)
    with pytest.raises(mefast.ShapeError, match="needs at least"):
        mefast.spot(video[:5], k=4, landmarks=None)
