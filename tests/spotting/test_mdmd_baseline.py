"""The MEGC2020 MDMD baseline's settings and interval rule (spec 5b), offered next to mefast's defaults.

Spec 5b: k = 12/39 frames at 30 fps and 80/260 at 200 fps (0.4 s and 1.3 s), p = 0.01; "frames over T form
intervals, kept if ME 7-16 / MaE >= 17 frames (CAS(ME)^2), 47-105 / >= 106 (SAMM-LV)". Review finding
(mdmd_defaults.py): mefast had none of it (k 4/14 at 30 fps, p 0.35, always [peak - k, peak + k]).
"""

from __future__ import annotations

import numpy as np
import pytest

import mefast
from mefast.spotting import FeatureOptions, long_video_features, spot_features
from mefast.spotting._intervals import megc2020_mdmd, runs_to_intervals
from mefast.spotting._synthetic import iter_frames, make_long_recording


def _spec_runs(c: np.ndarray, p: float, lo: int, hi: int | None) -> list[list[int]]:
    """Spec 5b from its text, as [B] writes it: T = mean + p (max - mean) of the frames that have a score;
    predict = C > T; a run of predicted frames is an interval (onset, offset inclusive), kept if
    lo <= offset - onset + 1 (and <= hi)."""
    ok = ~np.isnan(c)
    t = c[ok].mean() + p * (c[ok].max() - c[ok].mean())
    out, onset = [], None
    for i, v in enumerate([*c.tolist(), np.nan]):  # a frame past the end closes a last run
        over = not np.isnan(v) and v > t
        if over and onset is None:
            onset = i
        elif not over and onset is not None:
            n = i - onset
            if n >= lo and (hi is None or n <= hi):
                out.append([onset, i - 1])
            onset = None
    return out


@pytest.mark.parametrize(
    ("fps", "kind", "k", "lengths"),
    [
        (30, "micro", 12, (7, 16)),
        (30, "macro", 39, (17, None)),
        (200, "micro", 80, (47, 105)),
        (200, "macro", 260, (106, None)),
    ],
)
def test_settings_are_the_spec_s(fps, kind, k, lengths) -> None:
    s = megc2020_mdmd(fps, kind)
    assert (s.k, s.p, s.lengths) == (k, 0.01, lengths)


def test_other_frame_rates_need_their_lengths() -> None:
    with pytest.raises(
        ValueError, match=r"length filters .* 30 fps \(CAS\(ME\)\^2\) and 200 fps \(SAMM-LV\).*lengths="
    ):
        megc2020_mdmd(25, "micro")
    s = megc2020_mdmd(25, "micro", lengths=(6, 13))
    assert (s.k, s.lengths) == (10, (6, 13))  # 0.4 s
    assert megc2020_mdmd(25, "macro", lengths=(14, None)).k == 32  # 1.3 s = 32.5, rounded to even
    with pytest.raises(ValueError, match=r"^kind must be 'micro' or 'macro', got 'mega'$"):
        megc2020_mdmd(30, "mega")


def test_runs_over_the_threshold_with_the_length_filters() -> None:
    """Plateaus of 1 on 0: T = mean + 0.01 (1 - mean) < 1, so each plateau is one run over T."""
    c = np.zeros(500)
    for start, n in [(10, 3), (30, 7), (60, 16), (100, 17), (150, 30), (200, 6), (250, 106), (490, 10)]:
        c[start : start + n] = 1.0
    c[:5] = np.nan  # no score
    micro = runs_to_intervals(c, p=0.01, lengths=(7, 16))
    assert micro[:, :2].astype(int).tolist() == [[30, 36], [60, 75], [490, 499]] == _spec_runs(c, 0.01, 7, 16)
    macro = runs_to_intervals(c, p=0.01, lengths=(17, None))
    assert macro[:, :2].astype(int).tolist() == [[100, 116], [150, 179], [250, 355]] == _spec_runs(c, 0.01, 17, None)
    np.testing.assert_array_equal(micro[:, 2], 1.0)  # the run's highest score
    assert len(runs_to_intervals(c, p=0.01)) == 8  # no filter: every run


def test_frames_without_a_score_stay_out_of_the_threshold() -> None:
    """Counted as 0, the 100 frames without a score would pull T below the baseline level 1 and make one run
    of everything."""
    c = np.full(300, 1.0)
    c[50:58] = 2.0
    c[120:128] = 1.02  # under T = 1.08 + 0.01 (2 - 1.08)
    c[200:] = np.nan
    got = runs_to_intervals(c, p=0.01, lengths=(7, 16))
    assert got[:, :2].astype(int).tolist() == [[50, 57]] == _spec_runs(c, 0.01, 7, 16)


def test_random_scores_equal_the_spec_s_rule() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = np.convolve(rng.standard_normal(300), np.ones(9) / 9, "same")
        c[: rng.integers(0, 20)] = np.nan
        c[300 - rng.integers(1, 20) :] = np.nan
        p = float(rng.choice([0.0, 0.01, 0.2]))
        lo, hi = int(rng.integers(1, 8)), rng.choice([None, 16])
        got = runs_to_intervals(c, p=p, lengths=(lo, hi))
        assert got[:, :2].astype(int).tolist() == _spec_runs(c, p, lo, hi)


def _baseline_cmd_m(f_values: np.ndarray, n: int, k: int, p: float, lo: int, hi: int | None) -> list[list[int]]:
    """[B]'s cmd.m, MDMDmat_to_txt.m and the length filter written out with its 1-based loops (review finding:
    the baseline thresholds the contrast C, not the MDMD value F). f_values[j - 1] is F(j), j = 1..n - 2k, the
    MDMD value of frame j + k; returns 0-based inclusive [onset, offset] rows."""
    F = {j: float(f_values[j - 1]) for j in range(1, n - 2 * k + 1)}  # noqa: N806 (the script's names)
    l_, m = n - 2 * k, k - 1
    C = [F[zz - k] - (F[zz - k - m] + F[zz - k + m]) / 2 for zz in range(1 + k + m, l_ - k - m + 1)]  # noqa: N806
    t = np.mean(C) + p * (np.max(C) - np.mean(C))
    predict = [0] * (n + 1)  # predict[1..n]
    for idx, c in enumerate(C, start=1):
        if c > t:
            predict[idx + k + m] = 1
    out, onset = [], None
    for fr in range(1, n + 1):  # a run is written when a 0 closes it
        if predict[fr] == 1 and onset is None:
            onset = fr
        if predict[fr] == 0 and onset is not None:
            length = fr - onset
            if length >= lo and (hi is None or length <= hi):
                out.append([onset - 1, fr - 2])
            onset = None
    return out


def _blocks(f_of_frame: np.ndarray, k: int) -> np.ndarray:
    """MDMD block values whose mean of the 12 largest is f_of_frame[i] at frame i (row i - k: flows i-k -> i)."""
    n = len(f_of_frame)
    md = np.full((n, 36), np.nan, np.float32)
    md[: n - 2 * k] = f_of_frame[k : n - k, None]
    return md


def test_spot_features_runs_rule_is_the_baseline_s_script() -> None:
    """A plateau on a slow drift (reviewer's mdmd_baseline.py): the raw MDMD value's threshold follows the drift
    and missed the expression; the baseline's contrast finds it. Then random MDMD values against cmd.m."""
    k, n = 12, 200
    t = np.arange(n)
    f = 0.5 + 0.4 * np.sin(2 * np.pi * t / 200.0)
    f[120:130] += 0.3  # 10 frames: a micro-expression at 30 fps
    got = spot_features({f"mdmd{k}": _blocks(f, k)}, method="mdmd", k=k, p=0.01, intervals="runs", lengths=(7, 16))
    want = _baseline_cmd_m(f[k : n - k], n, k, 0.01, 7, 16)
    assert got[:, :2].astype(int).tolist() == want
    assert any(a <= 121 and b >= 128 for a, b in want)  # the planted expression is found
    rng = np.random.default_rng(5)
    for trial in range(100):
        n = int(rng.integers(80, 260))
        k = int(rng.integers(2, 13))
        if n - 4 * k - 2 * (k - 1) < 2:
            continue
        f = np.convolve(rng.random(n), np.ones(5) / 5, mode="same").astype(np.float32)
        p, lo, hi = float(rng.choice([0.01, 0.2, 0.5])), int(rng.integers(1, 6)), [None, 12][trial % 2]
        got = spot_features({f"mdmd{k}": _blocks(f, k)}, method="mdmd", k=k, p=p, intervals="runs", lengths=(lo, hi))
        assert got[:, :2].astype(int).tolist() == _baseline_cmd_m(f[k : n - k], n, k, p, lo, hi), (trial, n, k)


def test_spot_preset_megc2020_is_the_baseline_s_settings() -> None:
    rec = make_long_recording(3, n_frames=150, n_micro=2, n_macro=0, n_blinks=1)
    got = mefast.spot(iter_frames(rec), fps=30, kind="micro", preset="megc2020", landmarks=rec.landmarks)
    feats = long_video_features(
        iter_frames(rec), FeatureOptions(lags=(12,), features=("mdmd",)), landmarks=rec.landmarks
    )
    want = spot_features(feats, method="mdmd", k=12, p=0.01, intervals="runs", lengths=(7, 16))
    np.testing.assert_array_equal(got, want)
    assert len(want) and ((want[:, 1] - want[:, 0] + 1 >= 7) & (want[:, 1] - want[:, 0] + 1 <= 16)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"method": "fd", "preset": "megc2020"},
            r"^preset='megc2020' is the MEGC2020 MDMD baseline: use it with method='mdmd', got 'fd'$",
        ),
        ({"preset": "nope"}, r"^preset must be 'mefast' or 'megc2020', got 'nope'$"),
        ({"lengths": (7, 16)}, r"^lengths= applies to preset='megc2020' \(runs over T\), not to preset='mefast'$"),
        ({"preset": "megc2020", "fps": 25.0}, r"length filters"),
    ],
)
def test_spot_refuses_inconsistent_presets(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        mefast.spot(np.zeros((100, 32, 32), np.uint8), landmarks=None, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"method": "fd", "intervals": "runs"},
            r"^intervals='runs' is the MEGC2020 MDMD baseline's rule: use it with method='mdmd', got 'fd'$",
        ),
        ({"intervals": "blocks"}, r"^intervals must be 'peaks' or 'runs', got 'blocks'$"),
        ({"lengths": (7, 16)}, r"^lengths= applies to intervals='runs', not to intervals='peaks'$"),
        (
            {"intervals": "runs", "lengths": (0, 16)},
            r"^lengths must be \(shortest, longest or None\) with 1 <= shortest <= longest, got \(0, 16\)$",
        ),
        ({"intervals": "runs", "lengths": (17, 16)}, r"^lengths must be .* got \(17, 16\)$"),
        ({"intervals": "runs", "lengths": (7.5, 16)}, r"^lengths must be .* got \(7\.5, 16\)$"),
        ({"intervals": "runs", "lengths": 7}, r"^lengths must be .* got 7$"),
    ],
)
def test_spot_features_refuses_inconsistent_rules(kwargs, match) -> None:
    feats = {"mdmd4": np.zeros((50, 36), np.float32), "lbp": np.full((50, 36, 59), 1 / 59, np.float32)}
    kwargs.setdefault("method", "mdmd")
    with pytest.raises(ValueError, match=match):
        spot_features(feats, k=4, **kwargs)
