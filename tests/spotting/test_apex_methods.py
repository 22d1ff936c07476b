"""Apex spotting by divide and conquer ("dnc", Liong et al.) and in the frequency domain ("frequency", Li et al.).

The frequency method is checked against a brute-force reference written from the paper's description and [F]'s
MATLAB code (a 3-D FFT per block and window, loops, an LBP written pixel by pixel), the divide-and-conquer rule
on hand-built score sequences, and both methods on synthetic clips with a planted expression of known apex.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mefast.datasets.synthetic._face_motion import _profile
from mefast.errors import ShapeError
from mefast.spotting import APEX_METHODS, apex_curve, apex_frame
from mefast.spotting._apex_dnc import dnc_index, lbp_dissimilarity
from mefast.spotting._apex_frequency import frequency_scores, reference_lbp_codes
from mefast.spotting._synthetic import iter_frames, make_long_recording

# ------------------------------------------------------------------------------------------- brute force


def _lbp_matlab(img: np.ndarray) -> np.ndarray:
    """[F]'s lbp.m with one argument: the code image, neighbours in its spoints order, weight 2^(i-1)."""
    spoints = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    h, w = img.shape
    out = np.zeros((h - 2, w - 2), np.int64)
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            code = 0
            for i, (dy, dx) in enumerate(spoints):
                if img[y + dy, x + dx] >= img[y, x]:
                    code += 2**i
            out[y - 1, x - 1] = code
    return out


def _frequency_brute(codes: np.ndarray, w: int, blocks: tuple[int, int], compat: str) -> np.ndarray:
    """Window by window, block by block: pad, fftn, fftshift, ideal high-pass by distance, sum of magnitudes."""
    t, nr, nc = codes.shape
    half = (w - 1) // 2
    padded = np.concatenate([np.repeat(codes[:1], half, 0), codes, np.repeat(codes[-1:], half, 0)])
    rows, cols = blocks
    if compat == "paper":
        bh, bw = nr // rows, nc // cols
        ys, xs = [i * bh for i in range(rows)], [j * bw for j in range(cols)]
        centre = (bh // 2, bw // 2, w // 2)  # where fftshift puts the zero frequency
        n_windows = t
    else:  # the MATLAB loops, turned 0-based
        bh, bw = (nr - 1) // rows, (nc - 1) // cols
        ys, xs = list(range(0, nr - bh, bh)), list(range(0, nc - bw, bw))
        centre = (bh // 2 - 1, bw // 2 - 1, (w + 1) // 2 - 1)  # fix(b/2), fix((q+1)/2), 1-based
        n_windows = t - 1
    hpf = np.zeros((bh, bw, w))
    for i in range(bh):
        for j in range(bw):
            for k in range(w):
                d = np.sqrt((i - centre[0]) ** 2 + (j - centre[1]) ** 2 + (k - centre[2]) ** 2)
                hpf[i, j, k] = 1.0 if d >= (w + 1) / 2 else 0.0
    out = np.full(t, -np.inf)
    for n in range(n_windows):
        window = padded[n : n + w].transpose(1, 2, 0)  # (rows, cols, time) as MATLAB holds it
        fsum = np.zeros((len(ys), len(xs)))
        for a, y in enumerate(ys):
            for b, x in enumerate(xs):
                f = np.fft.fftshift(np.fft.fftn(window[y : y + bh, x : x + bw, :]))
                fsum[a, b] = np.abs(hpf * f).sum()
        if compat == "paper":
            out[n] = fsum.sum()
        else:  # fsum_1d = reshape(fsum, 1, []); [B, I] = sort(fsum_1d, 'descend'); c = find(I <= 9); sum(fsum_1d(c))
            flat = [fsum[r, c] for c in range(len(xs)) for r in range(len(ys))]  # column-major
            order = sorted(range(len(flat)), key=lambda i: -flat[i])  # stable, as MATLAB's sort
            out[n] = sum(flat[pos] for pos in range(len(flat)) if order[pos] + 1 <= 9)
    return out


@pytest.mark.parametrize("compat", ["paper", "reference"])
@pytest.mark.parametrize(("shape", "w", "blocks"), [((6, 30, 37), 5, (6, 6)), ((9, 26, 20), 7, (3, 2))])
def test_frequency_scores_equal_brute_force(shape, w, blocks, compat) -> None:
    rng = np.random.default_rng(sum(shape) + w)
    codes = rng.integers(0, 256, shape).astype(np.uint8)
    got = frequency_scores(codes, w, blocks=blocks, compat=compat)
    want = _frequency_brute(codes.astype(np.float64), w, blocks, compat)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)
    if compat == "reference":
        assert got[-1] == -np.inf  # [F]'s loop n = 1:NZ-1 never centres a window on the last frame


def test_reference_lbp_codes_are_lbp_m() -> None:
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 4, (2, 9, 11)).astype(np.float32)  # few grey levels: many ties (>= sets the bit)
    got = reference_lbp_codes(frames)
    for f, g in zip(frames, got, strict=True):
        np.testing.assert_array_equal(g, _lbp_matlab(f))


@pytest.mark.parametrize("compat", ["paper", "reference"])
def test_frequency_curve_end_to_end_equals_brute_force(compat) -> None:
    """apex_curve at the clip's own size: LBP of the grey frames, then the brute force above."""
    rng = np.random.default_rng(11)
    clip = rng.integers(0, 256, (7, 34, 40)).astype(np.uint8)
    got = apex_curve(clip, "frequency", landmarks=None, size=(34, 40), w=5, compat=compat)
    codes = np.stack([_lbp_matlab(f.astype(np.float64)) for f in clip]).astype(np.float64)
    np.testing.assert_allclose(got, _frequency_brute(codes, 5, (6, 6), compat), rtol=1e-9, atol=1e-6)
    assert apex_frame(clip, "frequency", landmarks=None, size=(34, 40), w=5, compat=compat) == int(np.argmax(got))


# ------------------------------------------------------------------------------------------ divide and conquer


@pytest.mark.parametrize(
    ("scores", "want"),
    [
        # [0..3] sum 12 beats [4..7] sum 9; [2, 3] beats [0, 1]; 2 ties 3, the earlier frame is kept (argmax: 5)
        ([0, 4, 4, 4, 0, 9, 0, 0], 2),
        # odd length: the left half [lo, mid] takes the middle frame; [0, 1, 2] ties [3, 4] and is kept
        ([0, 0, 5, 5, 0], 2),
        ([1, 1, 1, 1, 1], 0),  # all ties: always the earlier half
        ([0, 1, 5, 2, 0, 0, 9], 6),
        ([0.0, 0.1, 0.3, 0.2], 2),
        ([7.0], 0),
    ],
)
def test_dnc_split_rule(scores, want) -> None:
    assert dnc_index(np.asarray(scores, np.float64)) == want


def test_dnc_index_matches_a_recursive_reading_of_the_rule() -> None:
    def ref(s: list[float], lo: int, hi: int) -> int:
        if lo == hi:
            return lo
        mid = (lo + hi) // 2
        left, right = sum(s[lo : mid + 1]), sum(s[mid + 1 : hi + 1])
        return ref(s, lo, mid) if left >= right else ref(s, mid + 1, hi)

    rng = np.random.default_rng(5)
    for n in range(1, 40):
        s = rng.integers(0, 4, n).astype(np.float64)  # small integers: exact sums, many ties
        assert dnc_index(s) == ref(list(s), 0, n - 1), s


def test_lbp_dissimilarity_is_one_minus_correlation_to_the_first_frame() -> None:
    rng = np.random.default_rng(2)
    h = rng.random((5, 4, 59))
    h[:, 3] = 0.0  # an empty block (all eye pixels): no change
    d = lbp_dissimilarity(h)
    assert d.shape == (5, 4)
    for t in range(5):
        for b in range(3):
            assert d[t, b] == pytest.approx(1 - np.corrcoef(h[t, b], h[0, b])[0, 1], abs=1e-12)
    np.testing.assert_allclose(d[0], 0.0, atol=1e-12)
    np.testing.assert_array_equal(d[:, 3], 0.0)


def test_dnc_frame_is_the_rule_applied_to_the_curve() -> None:
    rec = make_long_recording(4, n_frames=60, n_micro=1, n_macro=0, n_blinks=0)
    e = rec.expressions[0]
    clip = np.stack(list(iter_frames(rec, e.onset, e.offset + 4)))
    curve = apex_curve(clip, "dnc", landmarks=rec.landmarks)
    assert curve.shape == (len(clip),) and curve[0] == pytest.approx(0.0, abs=1e-9)
    assert apex_frame(clip, "dnc", landmarks=rec.landmarks) == dnc_index(curve)


# ------------------------------------------------------------------------------------ synthetic planted apexes


@pytest.fixture(scope="module")
def clips() -> list[tuple[np.ndarray, int, np.ndarray, np.ndarray, int]]:
    """Eight clips around a planted micro-expression (30 fps), cut off-centre (0-2 and 7-10 frames beyond it).

    Returns (frames, apex within the clip, the apex plateau, landmarks, expression length). The plateau is the
    frames where the expression is at least half its apex intensity (its raised-cosine profile >= 0.5): about a
    quarter of the expression's length either side of the apex, 3-6 frames here. An apex spotter cannot be asked
    for more: the profile there is within a few percent of its peak while the clip's frames vary.

    The faces are rendered without head motion and sensor noise: neither method compensates head motion (both
    see it as facial change: "dnc" against the onset, "frequency" in every window), and "frequency" reads raw
    LBP codes, whose flat-skin bits sensor noise flips from frame to frame (at noise sd 1 it misses the plateau
    in most clips).
    """
    out = []
    for seed, (before, after) in enumerate([(0, 8), (7, 0), (1, 10), (9, 2), (0, 9), (8, 1), (2, 10), (10, 0)]):
        rec = make_long_recording(seed, n_frames=60, n_micro=1, n_macro=0, n_blinks=0, noise=(0.0, 0.0), drift=0.0)
        still = dataclasses.replace(rec.recording, drift=(0.0, 0.0, 0.0, 0.0, 1.0, 0.0))  # no sway either
        e = rec.expressions[0]
        first, last = e.onset - before, e.offset + after
        frames = np.stack(list(iter_frames(still, first, last + 1)))
        plateau = np.flatnonzero(_profile(np.arange(first, last + 1), e.onset, e.apex, e.offset) >= 0.5)
        out.append((frames, e.apex - first, plateau, rec.landmarks, e.offset - e.onset + 1))
    return out


def test_new_methods_are_listed() -> None:
    assert {"dnc", "frequency"} <= set(APEX_METHODS)


def test_the_clips_apex_is_not_the_middle_frame(clips) -> None:
    assert sum(len(f) // 2 not in plateau for f, _, plateau, _, _ in clips) >= 5  # guessing the middle fails


def test_dnc_finds_the_planted_apex(clips) -> None:
    found = [(apex_frame(clip, "dnc", landmarks=lm), apex, plateau) for clip, apex, plateau, lm, _ in clips]
    assert all(got in plateau for got, _, plateau in found), found


def test_frequency_finds_the_planted_apex(clips) -> None:
    """In the plateau in 7 of 8 clips, and never more than 2 frames out of it.

    The window (w = the expression's length, odd, as w = 61 is CASME II's at 200 fps) scores the expression's
    high-frequency change, which is spread over onset..offset, so the method spots the middle of the motion
    rather than the peak: the apex is drawn at 40-60 % of the expression, so 1-2 frames may lie between them.
    """
    misses = []
    for clip, apex, plateau, lm, length in clips:
        got = apex_frame(clip, "frequency", landmarks=lm, w=length | 1)
        if got not in plateau:
            misses.append((got, apex, plateau))
            assert plateau.min() - 2 <= got <= plateau.max() + 2, misses
    assert len(misses) <= 1, misses


# ----------------------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("w", [60, 1, -3, 0, 2.5, "61", True, None])
def test_frequency_refuses_a_bad_window(w) -> None:
    clip = np.zeros((5, 40, 40), np.uint8)
    with pytest.raises(ValueError, match="w must be an odd integer"):
        apex_curve(clip, "frequency", landmarks=None, w=w)


@pytest.mark.parametrize("method", ["dnc", "frequency"])
def test_new_methods_refuse_a_one_frame_clip(method) -> None:
    with pytest.raises(ShapeError, match="at least 2 frames"):
        apex_frame(np.zeros((1, 40, 40), np.uint8), method, landmarks=None)


def test_compat_is_checked() -> None:
    clip = np.zeros((5, 40, 40), np.uint8)
    with pytest.raises(ValueError, match="compat must be one of"):
        apex_curve(clip, "frequency", landmarks=None, compat="matlab")
    with pytest.raises(ValueError, match="compat='reference' .*frequency"):
        apex_curve(clip, "dnc", landmarks=None, compat="reference")


def test_helpers_refuse_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least one"):
        dnc_index(np.zeros(0))
    with pytest.raises(ValueError, match="finite"):
        dnc_index(np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ShapeError, match="1-D"):
        dnc_index(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"\(T, H, W\)"):
        frequency_scores(np.zeros((4, 30)), 5)
    with pytest.raises(ShapeError, match="too small"):
        frequency_scores(np.zeros((4, 5, 30)), 5)  # 5 rows cannot hold 6 blocks
    with pytest.raises(ShapeError, match="at least 2 frames"):
        frequency_scores(np.zeros((1, 30, 30)), 5)
    with pytest.raises(ValueError, match="blocks"):
        frequency_scores(np.zeros((4, 30, 30)), 5, blocks=(0, 6))
    with pytest.raises(ShapeError, match=r"\(T, blocks, bins\)"):
        lbp_dissimilarity(np.zeros((4, 59)))


def test_still_clip_is_not_an_error() -> None:
    still = np.full((8, 64, 64), 120, np.uint8)
    for method in ("dnc", "frequency"):
        assert 0 <= apex_frame(still, method, landmarks=None, w=5) < 8
