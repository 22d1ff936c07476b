"""Apex spotting in the frequency domain (Li, Huang & Zhao, ICIP 2018; their MATLAB code [F]; spec 5a).

The LBP code images of a clip (the codes themselves as grey levels, not histograms) are padded at both ends with
``(w - 1) / 2`` copies of the first and last frame, and a window of ``w`` frames is centred on every frame. In each
of a grid of blocks the window's 3-D DFT is shifted to put the zero frequency in the middle and passed through an
ideal high-pass filter (kept where the index distance from the centre is at least ``(w + 1) / 2``); the window's
score sums the magnitudes that pass, over the blocks. The apex is the frame whose window scores highest.

``compat="paper"`` (default) sums all blocks, centres a window on every frame and the filter on the zero
frequency; blocks are ``(H' // rows) x (W' // cols)`` from the top left of the ``H' x W'`` code image.
``compat="reference"`` is [F]'s ``Spot_Apexframe_in_frequency.m``: blocks of ``fix((H' - 1) / rows)`` rows
starting at ``1 : b : H' - b`` (so 7 rows of blocks where that range holds 7 starts), windows centred on frames
1..T-1 only (the last frame scores ``-inf``), the filter's spatial centre at ``fix(b / 2)`` (1-based: one index
before the zero frequency), and its sort quirk: of the blocks' sums ``s`` (column-major), with ``I`` the indices
that sort ``s`` in descending order, it adds ``s(find(I <= 9))`` -- the sums at the ranks of blocks 1..9, not the
9 largest sums (the code's comment: "choose max 9 boxes ... In the paper, we just use all 36 blocks").

Both use lbp.m's bit order for the codes (neighbours ``(-1,-1), (-1,0), (-1,1), (0,-1), (0,1), (1,-1), (1,0),
(1,1)`` weighted 1..128, a bit set where the neighbour is >= the centre): the code values are the grey levels the
FFT sees, so the order changes the result.

Cost: the spatial 2-D FFT of every block of every frame once; each window's temporal DFT at the frequencies the
filter keeps is a difference of two prefix sums over the padded frames (a sliding DFT), so a window costs the
filter's pass band, not a 3-D FFT; the codes being real, half the pass band (its mirror has the same
magnitudes). A Numba kernel runs the sums (compiled once, cached on disk): 67 frames take about 0.1 s at the
128x128 working size and 0.8 s at 340x280 (w=61, one core).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from ..errors import ShapeError
from ._features import _OFFSETS, lbp_codes

__all__ = ["FREQUENCY_COMPAT", "check_window", "frequency_scores", "reference_lbp_codes"]

FREQUENCY_COMPAT = ("paper", "reference")

#: lbp.m's sampling points (dy, dx), bit i for point i.
_LBP_M_POINTS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _lbp_m_table() -> NDArray[np.uint8]:
    """256-entry map from :func:`lbp_codes`' codes (bit p: neighbour ``_OFFSETS[p]``) to lbp.m's codes."""
    v = np.arange(256)
    out = np.zeros(256, np.int64)
    for p, offset in enumerate(_OFFSETS):
        out |= ((v >> p) & 1) << _LBP_M_POINTS.index(offset)
    return out.astype(np.uint8)


_TO_LBP_M = _lbp_m_table()


def reference_lbp_codes(frames: ArrayLike) -> NDArray[np.uint8]:
    """``(n, H - 2, W - 2)`` LBP(8, 1) code images of ``(n, H, W)`` frames in lbp.m's bit order (see module)."""
    f = np.asarray(frames, np.float32)
    if f.ndim != 3 or f.shape[1] < 3 or f.shape[2] < 3:
        raise ShapeError(f"frames must be (n, H, W) with H, W >= 3, got shape {f.shape}")
    return _TO_LBP_M[lbp_codes(f)]


def check_window(w: Any) -> int:
    """``w`` as an int, or ValueError: an odd integer >= 3 (a window centred on a frame)."""
    if isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 3 or w % 2 == 0:
        raise ValueError(f"w must be an odd integer >= 3 (the window length in frames), got {w!r}")
    return int(w)


def _tiling(size: int, n: int, compat: str) -> tuple[int, int]:
    """(block length, number of blocks) along one axis of length ``size`` split into ``n`` blocks."""
    if compat == "paper":
        return size // n, n
    b = (size - 1) // n  # fix((NR - 1) / block_num)
    return b, len(range(0, size - b, b)) if b > 0 else 0  # MATLAB's 1 : b : (NR - b)


def _high_pass(bh: int, bw: int, w: int, compat: str) -> NDArray[np.bool_]:
    """``(bh * bw, w)`` pass band of the ideal high-pass in unshifted FFT order (see module)."""
    if compat == "paper":
        centre = (bh // 2, bw // 2, w // 2)  # fftshift's zero frequency
    else:
        centre = (bh // 2 - 1, bw // 2 - 1, (w + 1) // 2 - 1)  # fix(b_w/2), fix(b_h/2), fix((q+1)/2), 1-based
    i, j, k = np.ogrid[:bh, :bw, :w]
    d2 = (i - centre[0]) ** 2 + (j - centre[1]) ** 2 + (k - centre[2]) ** 2
    shifted = 4 * d2 >= (w + 1) ** 2  # d >= (w + 1) / 2, in integers
    return np.fft.ifftshift(shifted).reshape(bh * bw, w)


@njit(cache=True, nogil=True)
def _window_l1(spec, frame_of, ptr, spatial, weight, w, n_win):  # pragma: no cover - compiled
    """``(n_win, nb)`` weighted sum of ``|F_n(s, k)|`` over the folded pass band, per window ``n`` and block.

    ``spec`` is ``(nb, S, T)``: the spatial DFT of each block of each clip frame; ``frame_of`` maps the padded
    frames to clip frames; the pass band at temporal frequency ``k`` is ``spatial[ptr[k]:ptr[k + 1]]`` with
    ``weight``. Window ``n`` holds padded frames ``n .. n + w - 1``, so its temporal DFT at ``k`` is, up to a
    phase, ``P[n + w] - P[n]`` with ``P`` the prefix sums of ``spec * exp(-2 pi i k m / w)`` over the padded frames.
    """
    nb = spec.shape[0]
    n_len = frame_of.shape[0]
    out = np.zeros((n_win, nb))
    prefix = np.empty(n_len + 1, np.complex128)
    prefix[0] = 0.0
    phase = np.empty(n_len, np.complex128)
    for k in range(ptr.shape[0] - 1):
        if ptr[k] == ptr[k + 1]:
            continue
        for m in range(n_len):
            phase[m] = np.exp(-2j * np.pi * ((k * m) % w) / w)
        for b in range(nb):
            for q in range(ptr[k], ptr[k + 1]):
                row = spec[b, spatial[q]]
                acc = 0j
                for m in range(n_len):
                    acc += row[frame_of[m]] * phase[m]
                    prefix[m + 1] = acc
                wt = weight[q]
                for n in range(n_win):
                    d = prefix[n + w] - prefix[n]
                    out[n, b] += wt * np.sqrt(d.real * d.real + d.imag * d.imag)
    return out


def _folded(band: NDArray[np.bool_], bh: int, bw: int, w: int) -> NDArray[np.float64]:
    """``(bh * bw, (w + 1) // 2)`` count of pass-band frequencies with each magnitude ``|F(s, k)|``, ``k <= w // 2``.

    The codes are real, so ``|F(-s, -k)| = |F(s, k)|`` (indices modulo the sizes): a frequency ``(s, k)`` with
    ``k > w // 2`` is counted at its mirror ``(-s, w - k)``, and only ``k <= w // 2`` need computing.
    """
    half = (w - 1) // 2
    a, b = np.meshgrid(np.arange(bh), np.arange(bw), indexing="ij")
    mirror = ((-a % bh) * bw + (-b % bw)).ravel()
    out = band[:, : half + 1].astype(np.float64)
    out[:, 1:] += band[mirror][:, w - np.arange(1, half + 1)]
    return out


def frequency_scores(
    codes: ArrayLike, w: int = 61, *, blocks: tuple[int, int] = (6, 6), compat: str = "paper"
) -> NDArray[np.float64]:
    """Per-frame score of the frequency method: the high-passed spectrum of the window centred on each frame.

    Parameters
    ----------
    codes : array_like of shape (T, H', W')
        LBP code images (:func:`reference_lbp_codes`), T >= 2.
    w : int
        Window length, odd, >= 3; 61 is the paper's for CASME II (200 fps). Windows are padded with copies of
        the first and last frame, so a clip may be shorter than ``w``.
    blocks : (int, int)
        Block grid (rows, cols); 6 x 6 in the paper.
    compat : {"paper", "reference"}
        See the module.

    Returns
    -------
    ndarray of shape (T,), float64
        Its argmax is the apex. ``compat="reference"`` leaves the last frame out (``-inf``).
    """
    c = np.asarray(codes)
    if c.ndim != 3:
        raise ShapeError(f"codes must be (T, H, W) code images, got shape {c.shape}")
    if len(c) < 2:
        raise ShapeError(f"the clip needs at least 2 frames, got {len(c)}")
    w = check_window(w)
    if compat not in FREQUENCY_COMPAT:
        raise ValueError(f"compat must be one of {FREQUENCY_COMPAT}, got {compat!r}")
    rows, cols = (int(v) for v in blocks)
    if rows < 1 or cols < 1:
        raise ValueError(f"blocks must be a positive grid, got {blocks}")
    t, height, width = c.shape
    bh, ny = _tiling(height, rows, compat)
    bw, nx = _tiling(width, cols, compat)
    if bh < 1 or bw < 1:
        raise ShapeError(f"code images of {height}x{width} are too small for {rows}x{cols} blocks")
    x = c[:, : ny * bh, : nx * bw].astype(np.float64).reshape(t, ny, bh, nx, bw).transpose(0, 1, 3, 2, 4)
    spec = np.fft.fft2(x).reshape(t, ny * nx, bh * bw)  # spatial DFT of every block of every frame
    half = (w - 1) // 2
    weight = _folded(_high_pass(bh, bw, w, compat), bh, bw, w)
    ks, spatial = np.nonzero(weight[:, : half + 1].T)  # pass band, grouped by temporal frequency
    ptr = np.searchsorted(ks, np.arange(half + 2)).astype(np.int64)
    frame_of = np.clip(np.arange(t + w - 1) - half, 0, t - 1).astype(np.int64)  # padded frame -> clip frame
    n_win = t if compat == "paper" else t - 1
    fsum = _window_l1(
        np.ascontiguousarray(spec.transpose(1, 2, 0)),
        frame_of,
        ptr,
        spatial.astype(np.int64),
        weight[spatial, ks],
        w,
        n_win,
    )
    out = np.full(t, -np.inf)
    if compat == "paper":
        out[:] = fsum.sum(1)
    else:
        flat = fsum.reshape(n_win, ny, nx).transpose(0, 2, 1).reshape(n_win, -1)  # MATLAB's column-major reshape
        order = np.argsort(-flat, axis=1, kind="stable")  # [B, I] = sort(fsum_1d, 'descend')
        out[:n_win] = np.where(order < 9, flat, 0.0).sum(1)  # sum(fsum_1d(find(I <= 9)))
    return out
