"""Frame selection before a descriptor: DMDSP sparse sampling and the simple alternatives to TIM.

``dmdsp``
    Sparse sampling with sparsity-promoting dynamic mode decomposition (Jovanovic, Schmid & Nichols, Phys.
    Fluids 2014; used for micro-expressions by Le Ngo, Oh, Phan & See, 2016). The clip's frames are snapshots
    ``x_0 .. x_{T-1}``; exact DMD of ``X0 = [x_0 .. x_{T-2}]``, ``X1 = [x_1 .. x_{T-1}]`` gives modes ``phi_i`` and
    eigenvalues ``lambda_i`` (rank ``r`` of the SVD of ``X0``). The amplitudes minimise
    ``J(a) + gamma * sum |a_i|`` with ``J(a) = ||X0 - Phi diag(a) V_and||_F^2`` (``V_and`` the Vandermonde matrix
    of the eigenvalues), solved by ADMM; the amplitudes of the modes left non-zero are then refitted without the
    penalty ("polishing": the KKT system ``[[P, E], [E^T, 0]]``). The shorter clip is the reconstruction from the
    retained modes only, ``x(tau) = Re sum_i phi_i a_i lambda_i^tau``, at ``n_frames`` times evenly spaced over
    ``[0, T - 1]`` (default: one frame per retained mode, at least 2). The clip is scaled to unit Frobenius norm
    before the fit, so ``gamma`` does not depend on its grey-level range.
``select_frames``
    The frame-selection baselines of the tutorial's comparison: ``"apex"`` (apex only), ``"onset_apex"``
    (onset and apex, the input of the apex-based Bi-WOOF/HOOF/LBP baselines) and ``"uniform"`` (``n_frames``
    frames at rounded evenly spaced indices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._validation import check_int, check_video
from ..errors import ShapeError

__all__ = ["DMDSPResult", "dmdsp", "dmdsp_modes", "select_frames", "FRAME_SELECTIONS"]

#: Frame selections of :func:`select_frames` (and of the ``frames`` feature besides ``"tim"`` and ``"dmdsp"``).
FRAME_SELECTIONS: tuple[str, ...] = ("apex", "onset_apex", "uniform")


def select_frames(
    video: ArrayLike,
    method: Literal["apex", "onset_apex", "uniform"],
    *,
    apex: int | None = None,
    onset: int = 0,
    n_frames: int | None = None,
) -> np.ndarray:
    """Frames of a clip chosen by one of the simple selections (no interpolation: frames are copied).

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
    method : {"apex", "onset_apex", "uniform"}
        ``"apex"``: frame ``apex``; ``"onset_apex"``: frames ``onset`` and ``apex``; ``"uniform"``: frames
        ``round(linspace(0, T - 1, n_frames))`` (half to even).
    apex : int, optional
        Apex index (required by the apex selections), ``0 <= apex < T``.
    onset : int
        Onset index for ``"onset_apex"`` (default the first frame).
    n_frames : int, optional
        Frames of ``"uniform"`` (required there, at most T).

    Returns
    -------
    frames : ndarray of shape (k, H, W[, 3])
        In the clip's dtype; k = 1, 2 or ``n_frames``.

    Raises
    ------
    ShapeError
        A clip that is not a video.
    ValueError
        Unknown method, missing or out-of-range apex/onset/n_frames (named in the message).

    Examples
    --------
    >>> import numpy as np, mefast
    >>> clip = np.arange(10)[:, None, None] * np.ones((1, 4, 4), np.uint8)
    >>> mefast.select_frames(clip, "uniform", n_frames=4)[:, 0, 0].tolist()
    [0, 3, 6, 9]
    """
    v = check_video(video, "video")
    t = v.shape[0]
    if method not in FRAME_SELECTIONS:
        raise ValueError(f"method must be one of {FRAME_SELECTIONS}, got {method!r}")
    if method == "uniform":
        if n_frames is None:
            raise ValueError("method='uniform' needs n_frames")
        n = check_int(n_frames, "n_frames", minimum=1)
        if n > t:
            raise ValueError(f"n_frames={n} is more than the clip's {t} frames")
        return v[np.round(np.linspace(0, t - 1, n)).astype(np.int64)].copy()
    if apex is None:
        raise ValueError(f"method={method!r} needs the apex index")
    a = check_int(apex, "apex", minimum=0)
    if a >= t:
        raise ValueError(f"apex index {a} is outside the clip of {t} frames")
    if method == "apex":
        return v[[a]].copy()
    o = check_int(onset, "onset", minimum=0)
    if o >= t:
        raise ValueError(f"onset index {o} is outside the clip of {t} frames")
    return v[[o, a]].copy()


@dataclass(frozen=True)
class DMDSPResult:
    """Exact DMD of a clip and its sparsity-promoting amplitudes.

    Attributes
    ----------
    eigenvalues : ndarray of shape (r,), complex128
    modes : ndarray of shape (H * W, r), complex128
        DMD modes ``U Y`` (of the unit-norm clip), one per column.
    amplitudes : ndarray of shape (r,), complex128
        Polished sparse amplitudes; zero for dropped modes.
    scale : float
        Frobenius norm of ``X0`` the clip was divided by (1 for an all-zero clip).
    """

    eigenvalues: NDArray[np.complex128]
    modes: NDArray[np.complex128]
    amplitudes: NDArray[np.complex128]
    scale: float

    @property
    def kept(self) -> NDArray[np.bool_]:
        """Which modes have a non-zero amplitude."""
        return self.amplitudes != 0


def _soft(v: NDArray[np.complex128], kappa: float) -> NDArray[np.complex128]:
    mag = np.abs(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(mag > kappa, 1.0 - kappa / np.where(mag > 0, mag, 1.0), 0.0)
    return shrink * v


def dmdsp_modes(
    video: ArrayLike,
    *,
    gamma: float = 1e-3,
    rank: int | None = None,
    rho: float = 1.0,
    max_iter: int = 10000,
    tol: float = 1e-6,
) -> DMDSPResult:
    """DMD of a clip and its sparsity-promoting amplitudes (see the module docstring).

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        At least 3 frames; RGB is converted to grey (mean of the channels is not used: BT.601 luma).
    gamma : float
        Weight of the L1 penalty (>= 0; 0 keeps every mode).
    rank : int, optional
        Modes kept from the SVD of ``X0``; default every singular value above ``1e-10`` of the largest.
    rho : float
        ADMM penalty parameter (> 0).
    max_iter : int
        ADMM iterations at most.
    tol : float
        Absolute tolerance of the ADMM primal and dual residuals.

    Returns
    -------
    DMDSPResult
    """
    from .._validation import to_gray

    v = check_video(video, "video", min_frames=3)
    g = to_gray(v, "video", channel_axis_ndim=3).astype(np.float64)
    if not (np.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")
    if not (np.isfinite(rho) and rho > 0):
        raise ValueError(f"rho must be a finite number > 0, got {rho!r}")
    it = check_int(max_iter, "max_iter", minimum=1)
    t = g.shape[0]
    x = g.reshape(t, -1).T
    x0, x1 = x[:, :-1], x[:, 1:]
    scale = float(np.linalg.norm(x0))
    if scale == 0.0:
        empty = np.zeros(0, np.complex128)
        return DMDSPResult(empty, np.zeros((x.shape[0], 0), np.complex128), empty, 1.0)
    x0, x1 = x0 / scale, x1 / scale
    u, s, vh = np.linalg.svd(x0, full_matrices=False)
    r = int((s > 1e-10 * s[0]).sum()) if rank is None else min(check_int(rank, "rank", minimum=1), s.size)
    u, s, vh = u[:, :r], s[:r], vh[:r]
    f = (u.T @ x1 @ vh.T) / s
    lam, y = np.linalg.eig(f)
    modes = u @ y
    vand = lam[:, None] ** np.arange(t - 1)[None, :]
    p = (y.conj().T @ y) * np.conj(vand @ vand.conj().T)
    q = np.conj(np.diag(vand @ (vh.conj().T * s) @ y))
    # ADMM for min a* P a - q* a - a* q + gamma |a|_1
    prho = p + (rho / 2.0) * np.eye(r)
    chol = np.linalg.cholesky(prho)
    z = np.zeros(r, np.complex128)
    lag = np.zeros(r, np.complex128)
    for _ in range(it):
        rhs = q + (rho / 2.0) * (z - lag / rho)
        a = np.linalg.solve(chol.conj().T, np.linalg.solve(chol, rhs))
        z_new = _soft(a + lag / rho, gamma / rho)
        res_p = np.linalg.norm(a - z_new)
        res_d = rho * np.linalg.norm(z_new - z)
        lag = lag + rho * (a - z_new)
        z = z_new
        if res_p < tol and res_d < tol:
            break
    amplitudes = _polish(p, q, z != 0)
    return DMDSPResult(lam, modes, amplitudes, scale)


def _polish(p: NDArray[np.complex128], q: NDArray[np.complex128], keep: NDArray[np.bool_]) -> NDArray[np.complex128]:
    """Minimiser of ``a* P a - q* a - a* q`` with ``a_i = 0`` where not ``keep``: the KKT system of the paper."""
    r = p.shape[0]
    e = np.eye(r)[:, ~keep]
    m = e.shape[1]
    kkt = np.block([[p, e], [e.T, np.zeros((m, m))]])
    sol = np.linalg.lstsq(kkt, np.concatenate([q, np.zeros(m)]), rcond=None)[0]
    out = sol[:r].copy()
    out[~keep] = 0
    return out


def dmdsp(
    video: ArrayLike,
    *,
    gamma: float = 1e-3,
    n_frames: int | None = None,
    rank: int | None = None,
    rho: float = 1.0,
    max_iter: int = 10000,
) -> np.ndarray:
    """Shorter clip reconstructed from the sparse dynamic modes of a clip (DMDSP sparse sampling).

    Parameters
    ----------
    video : array_like of shape (T, H, W) or (T, H, W, 3)
        At least 3 frames; RGB becomes grey (BT.601 luma).
    gamma : float
        L1 weight (>= 0): larger keeps fewer modes.
    n_frames : int, optional
        Frames of the result, >= 2; default the number of retained modes (at least 2).
    rank, rho, max_iter
        As for :func:`dmdsp_modes`.

    Returns
    -------
    clip : ndarray of shape (n_frames, H, W)
        ``Re sum_i phi_i a_i lambda_i^tau`` at ``tau = linspace(0, T - 1, n_frames)``, in the clip's grey levels:
        uint8 (rounded and clipped) for a uint8 clip, else float32. A still clip gives its frame back; an
        all-zero clip gives zeros.

    Raises
    ------
    ShapeError
        Not a video, or fewer than 3 frames.
    ValueError
        An invalid parameter (named in the message).

    Examples
    --------
    >>> import numpy as np, mefast
    >>> still = np.full((6, 8, 8), 90, np.uint8)
    >>> out = mefast.dmdsp(still)
    >>> out.shape, int(out.min()), int(out.max())
    ((2, 8, 8), 90, 90)
    """
    v = check_video(video, "video", min_frames=3)
    res = dmdsp_modes(v, gamma=gamma, rank=rank, rho=rho, max_iter=max_iter)
    t, h, w = v.shape[:3]
    k = int(res.kept.sum())
    n = max(k, 2) if n_frames is None else check_int(n_frames, "n_frames", minimum=2)
    taus = np.linspace(0.0, t - 1.0, n)
    keep = res.kept
    if k == 0:
        frames = np.zeros((n, h * w))
    else:
        lam, amp, phi = res.eigenvalues[keep], res.amplitudes[keep], res.modes[:, keep]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            powers = np.where(lam[None, :] == 0, (taus[:, None] == 0).astype(float), lam[None, :] ** taus[:, None])
        frames = np.real(powers * amp[None, :] @ phi.T) * res.scale
    if not np.isfinite(frames).all():
        raise ShapeError("dmdsp: the reconstruction overflowed (an unstable mode); lower rank or raise gamma")
    out = frames.reshape(n, h, w)
    if v.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)
