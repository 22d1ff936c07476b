"""MDMO, Main Directional Mean Optical-flow (Liu et al., IEEE Trans. Affective Computing 7(4), 2016).

For every frame i of a clip, the flow from the first frame to frame i is optionally aligned (the head motion
fitted on rigid landmarks is removed), and each of the 36 regions of :mod:`mefast.descriptors.roi` is summarised
by the mean flow vector of its main direction: the 45-degree bin, centred on a multiple of 45 degrees, that
holds the most vectors. The clip feature is the mean of those vectors over the frames, in polar form, with the
magnitudes divided by their maximum. Spec: ``descriptors.md`` §5.

Two modes:

``"paper"``
    The definition with its edge cases made well defined: eight bins with bin 0 wrapping around 0 degrees,
    Cartesian means (so directions near 0/360 degrees average correctly), a plain mean over frames, vectors
    shorter than 1e-6 px (no motion) cast no direction vote, and a still face gives zeros. Layout
    ``(rho_1, theta_1, ..., rho_36, theta_36)``, ``rho`` in [0, 1], ``theta`` in [0, 2 pi).
``"reference"`` (``"meb"``, its old name, still works with a DeprecationWarning)
    Reproduces the MEB library's ``MDMO_video`` on the same flow: its seven-direction binning (the 315-degree
    bin merged into bin 0), separate means of magnitudes and angles, frame weights proportional to the sum of
    the angles, OpenCV's single-precision angles, the ``-pi`` shift and the layout ``(rho_1..rho_36,
    theta_1..theta_36)``. Where MEB divides zero by zero (a still face, an empty region) mefast gives
    magnitude 0 and angle ``-pi`` (MEB's value for a zero vector) instead of NaN. MEB computes its flow with
    :func:`meb_farneback_flows` and does no alignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .._backend import require_cpu
from .._twins import options_of
from .._validation import check_mode, core_threads
from ..errors import ShapeError
from ._numba import EDGE_MARGIN, as_finite_float32, atan2_approx, n_threads_for
from .roi import N_ROIS, RIGID_LANDMARKS, check_delta, check_landmarks, roi_pixel_lists

__all__ = ["mdmo", "mdmo_batch", "meb_farneback_flows"]

#: Paper mode: flow vectors shorter than this (pixels) are no motion and cast no direction vote, so the
#: rounding residue of removing a pure head motion gives zeros, not noise normalised to 1.
_MIN_MOTION = 1e-6
#: Length of the MDMO feature: (magnitude, angle) for each of the 36 regions.
MDMO_DIM = 2 * N_ROIS


# ---------------------------------------------------------------------------------------------------------
# Numba kernels: validated C-contiguous arrays in, arrays out.


@njit(cache=True, nogil=True)
def _exact_bin(u, v):  # pragma: no cover - compiled
    """MDMO bin of (u, v) from ``arctan2``: bin j is centred on j * 45 degrees, bin 0 wraps around 0."""
    theta = np.arctan2(v, u)
    if theta < 0.0:
        theta += 2.0 * np.pi
    b = int(np.floor(theta / (np.pi / 4.0) + 0.5))
    return b - 8 if b >= 8 else b


@njit(cache=True, nogil=True)
def _paper_frame_vectors(flows, affine, box, ptr, idx):  # pragma: no cover - compiled
    """Main-direction mean vector of every region in every frame, after the per-frame affine alignment.

    flows (F, H, W, 2) float32; affine (F, 2, 3) float64 mapping ``p + flow(p)`` back to the first frame;
    box (4,) int64 ``y0, y1, x0, x1``, the bounding box of the regions; ptr (37,) int64 / idx (n,) uintp
    region pixel lists as flat indices into the box. Returns (F, 36, 2) float64 mean vectors (u, v).

    Per frame, a vectorised pass over the box aligns every vector and gives it a bin code (8: no motion, 9:
    too close to a bin edge for the fast angle, resolved with ``arctan2``); then each region counts and sums
    its pixels per code.
    """
    n_frames = flows.shape[0]
    y0, y1, x0, x1 = box[0], box[1], box[2], box[3]
    bw = x1 - x0
    npx = (y1 - y0) * bw
    n_rois = ptr.shape[0] - 1
    out = np.zeros((n_frames, n_rois, 2))
    ua = np.empty(npx)
    va = np.empty(npx)
    code = np.empty(npx, np.uint8)
    scale = 4.0 / np.pi
    margin = EDGE_MARGIN * scale
    min_motion2 = _MIN_MOTION * _MIN_MOTION
    counts = np.zeros((4, 10), np.int64)  # four interleaved lanes: short dependency chains
    sums = np.zeros((4, 10, 2))
    for f in range(n_frames):
        a00, a01, a02 = affine[f, 0, 0], affine[f, 0, 1], affine[f, 0, 2]
        a10, a11, a12 = affine[f, 1, 0], affine[f, 1, 1], affine[f, 1, 2]
        near = 0
        for y in range(y0, y1):
            # Row views indexed from 0 let LLVM prove the indices non-negative and vectorise the loop.
            src = flows[f, y, x0:x1].reshape(-1)
            lo = (y - y0) * bw
            u_row, v_row, c_row = ua[lo : lo + bw], va[lo : lo + bw], code[lo : lo + bw]
            yf = np.float64(y)
            for c in range(bw):
                x = np.float64(x0 + c)
                xs = x + src[2 * c]
                ys = yf + src[2 * c + 1]
                u = a00 * xs + a01 * ys + a02 - x
                v = a10 * xs + a11 * ys + a12 - yf
                theta = atan2_approx(v, u)
                theta = theta + 2.0 * np.pi if theta < 0.0 else theta
                t = theta * scale + 0.5  # bin j is centred on j * 45 degrees
                b = int(t)
                fr = t - b
                b = b - 8 if b >= 8 else b
                still = u * u + v * v < min_motion2  # no motion, no direction: no vote
                is_near = (fr < margin) | (fr > 1.0 - margin)
                c_row[c] = 8 if still else (9 if is_near else b)
                near += is_near
                u_row[c] = u
                v_row[c] = v
        if near > 0:
            for q in range(npx):
                if code[q] == 9:
                    code[q] = _exact_bin(ua[q], va[q])
        for k in range(n_rois):
            counts[:] = 0
            sums[:] = 0.0
            seg = idx[ptr[k] : ptr[k + 1]]
            for q in range(seg.shape[0]):
                i = seg[q]  # unsigned: no negative-index wraparound checks
                cq = code[i]
                lane = q & 3
                counts[lane, cq] += 1
                sums[lane, cq, 0] += ua[i]
                sums[lane, cq, 1] += va[i]
            best = 0
            n_best = counts[0, 0] + counts[1, 0] + counts[2, 0] + counts[3, 0]
            for b in range(1, 8):
                n_b = counts[0, b] + counts[1, b] + counts[2, b] + counts[3, b]
                if n_b > n_best:
                    best = b  # ties go to the lowest bin
                    n_best = n_b
            if n_best > 0:
                out[f, k, 0] = (sums[0, best, 0] + sums[1, best, 0] + sums[2, best, 0] + sums[3, best, 0]) / n_best
                out[f, k, 1] = (sums[0, best, 1] + sums[1, best, 1] + sums[2, best, 1] + sums[3, best, 1]) / n_best
    return out


@njit(cache=True, nogil=True)
def _meb_frame_polar(mag, ang, ptr, pix):  # pragma: no cover - compiled
    """MEB's per-frame region features: mean magnitude and mean angle of its main (merged) bin.

    mag, ang (F, H*W) float32 from ``cv2.cartToPolar``. Returns (F, 36, 2) float64 (rho mean, theta mean),
    0 for an empty region (MEB: NaN).
    """
    n_frames = mag.shape[0]
    n_rois = ptr.shape[0] - 1
    out = np.zeros((n_frames, n_rois, 2))
    # Edges 0, pi/8, 3pi/8, ..., 15pi/8, 2pi: nine histogram bins, the last closed.
    edges = np.empty(10)
    edges[0] = 0.0
    for j in range(1, 9):
        edges[j] = np.pi / 8 * (2 * j - 1)
    edges[9] = np.pi * 2
    hist = np.zeros(9, np.int64)
    for f in range(n_frames):
        for k in range(n_rois):
            lo, hi = ptr[k], ptr[k + 1]
            if hi == lo:
                continue
            hist[:] = 0
            for q in range(lo, hi):
                t = np.float64(ang[f, pix[q]])
                j = 8
                while j > 0 and t < edges[j]:
                    j -= 1
                hist[j] += 1  # t == 2 pi lands in the closed last bin
            # Bins 7 (the 315-degree bin) and 8 are added to bin 0 but keep their own counts.
            merged0 = hist[0] + hist[7] + hist[8]
            best = 0
            best_count = merged0
            for j in range(1, 9):
                if hist[j] > best_count:
                    best = j
                    best_count = hist[j]
            n = 0
            s_rho = 0.0
            s_theta = 0.0
            for q in range(lo, hi):
                t = np.float64(ang[f, pix[q]])
                if t >= edges[9]:
                    continue  # np.digitize gives 10 for 2 pi, which no main bin selects
                j = 8
                while j > 0 and t < edges[j]:
                    j -= 1
                if j == 7 or j == 8:
                    j = 0
                if j == best:
                    n += 1
                    s_rho += np.float64(mag[f, pix[q]])
                    s_theta += t
            if n > 0:
                out[f, k, 0] = s_rho / n
                out[f, k, 1] = s_theta / n
    return out


# ---------------------------------------------------------------------------------------------------------
# Python side: validation, alignment fit, the clip-level averaging.


def _bilinear(flows: NDArray[np.float32], pts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Flow of every frame at sub-pixel points: (F, H, W, 2) x (P, 2) -> (F, P, 2)."""
    h, w = flows.shape[1:3]
    x = np.clip(pts[:, 0], 0, w - 1)
    y = np.clip(pts[:, 1], 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.intp), max(w - 2, 0))
    y0 = np.minimum(np.floor(y).astype(np.intp), max(h - 2, 0))
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0)[None, :, None]
    fy = (y - y0)[None, :, None]

    def at(yy: NDArray[np.intp], xx: NDArray[np.intp]) -> NDArray[np.float64]:
        return flows[:, yy, xx].astype(np.float64)

    top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx
    bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx
    return top * (1 - fy) + bottom * fy


def _alignment(flows: NDArray[np.float32], landmarks: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-frame affine maps (F, 2, 3) from the flow-displaced rigid landmarks back to the first frame.

    Least squares over :data:`~mefast.descriptors.roi.RIGID_LANDMARKS`, solved on centred coordinates.
    """
    pts = landmarks[list(RIGID_LANDMARKS)]
    moved = pts[None] + _bilinear(flows, pts)  # (F, P, 2)
    mc = moved.mean(axis=1, keepdims=True)
    tc = pts.mean(axis=0)
    s = moved - mc
    t = pts[None] - tc
    sts = np.einsum("fpi,fpj->fij", s, s)
    stt = np.einsum("fpi,fpj->fij", s, t)
    det = sts[:, 0, 0] * sts[:, 1, 1] - sts[:, 0, 1] ** 2
    scale = np.einsum("fii->f", sts)
    if np.any(det <= 1e-9 * scale**2):
        f = int(np.flatnonzero(det <= 1e-9 * scale**2)[0])
        raise ShapeError(
            f"cannot fit the alignment of frame {f}: the flow-displaced rigid landmarks "
            f"{list(RIGID_LANDMARKS)} are (nearly) collinear"
        )
    lin = np.linalg.solve(sts, stt).transpose(0, 2, 1)  # (F, 2, 2): t ~ lin @ s
    shift = tc[None] - np.einsum("fij,fj->fi", lin, mc[:, 0])
    return np.concatenate([lin, shift[:, :, None]], axis=2)


def _identity(n: int) -> NDArray[np.float64]:
    a = np.zeros((n, 2, 3))
    a[:, 0, 0] = a[:, 1, 1] = 1.0
    return a


def _apply_affine(flows: NDArray[np.float32], affine: NDArray[np.float64]) -> NDArray[np.float32]:
    """Aligned flow ``A [p + flow(p); 1] - p`` for every frame."""
    h, w = flows.shape[1:3]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    xs = gx + flows[..., 0]
    ys = gy + flows[..., 1]
    a = affine[:, :, :, None, None]
    u = a[:, 0, 0] * xs + a[:, 0, 1] * ys + a[:, 0, 2] - gx
    v = a[:, 1, 0] * xs + a[:, 1, 1] * ys + a[:, 1, 2] - gy
    return np.stack([u, v], axis=-1).astype(np.float32)


def _paper_feature(vectors: NDArray[np.float64]) -> NDArray[np.float32]:
    mean = vectors.mean(axis=0)  # (36, 2): Cartesian mean over frames
    rho = np.hypot(mean[:, 0], mean[:, 1])
    theta = np.mod(np.arctan2(mean[:, 1], mean[:, 0]), 2 * np.pi)
    theta[rho == 0] = 0.0
    theta[theta >= 2 * np.pi] = 0.0  # mod can round a tiny negative angle up to 2 pi
    top = rho.max()
    rho = rho / top if top > 0 else np.zeros_like(rho)
    return np.stack([rho, theta], axis=1).reshape(-1).astype(np.float32)


def _meb_feature(polar: NDArray[np.float64]) -> NDArray[np.float32]:
    import cv2

    rho, theta = polar[..., 0], polar[..., 1]  # (F, 36)
    rho_sum = rho.sum()
    out = np.zeros(MDMO_DIM, np.float32)
    out[N_ROIS:] = -np.pi
    if rho_sum == 0:
        return out  # MEB: NaN
    uf, vf = cv2.polarToCart(np.ascontiguousarray(rho), np.ascontiguousarray(theta))
    wu = np.zeros(N_ROIS)
    wv = np.zeros(N_ROIS)
    for f in range(rho.shape[0]):
        alpha = theta[f].sum() / rho_sum  # MEB weights frames by their summed angles
        wu += alpha * uf[f]
        wv += alpha * vf[f]
    frho, ftheta = cv2.cartToPolar(wu[None], wv[None])
    frho, ftheta = frho[0], ftheta[0]
    top = frho.max()
    if top > 0:
        out[:N_ROIS] = frho / top
        out[N_ROIS:] = ftheta - np.pi
    return out


def _prepare(flows: ArrayLike, landmarks: ArrayLike, name: str) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    shape = np.shape(flows)
    if len(shape) != 4 or shape[-1] != 2:
        raise ShapeError(f"{name} must have shape (T-1, H, W, 2) (flow from the first frame), got shape {shape}")
    f = as_finite_float32(flows, name)
    if f.shape[0] < 1 or f.shape[1] < 2 or f.shape[2] < 2:
        raise ShapeError(f"{name} needs at least one frame of at least 2x2 pixels, got shape {f.shape}")
    lm_name = "landmarks" if name == "flows" else name.replace("flows", "landmarks")
    pts = check_landmarks(landmarks, lm_name, image_shape=f.shape[1:3])
    return f, pts


def _mdmo_one(
    f: NDArray[np.float32], pts: NDArray[np.float64], align: bool, mode: str, delta: float | None
) -> NDArray[np.float32]:
    h, w = f.shape[1:3]
    rounding: Literal["round", "truncate"] = "round" if mode == "paper" else "truncate"
    ptr, pix = roi_pixel_lists(pts, (h, w), delta if delta is not None or mode == "paper" else 20.0, rounding)
    affine = _alignment(f, pts) if align else _identity(f.shape[0])
    if mode == "paper":
        ys, xs = np.divmod(pix, w)
        if pix.size:
            box = np.array([ys.min(), ys.max() + 1, xs.min(), xs.max() + 1], np.int64)
        else:
            box = np.zeros(4, np.int64)
        local = (ys - box[0]) * (box[3] - box[2]) + (xs - box[2])
        return _paper_feature(_paper_frame_vectors(f, affine, box, ptr, local.astype(np.uintp)))
    import cv2

    if align:
        f = _apply_affine(f, affine)
    flat = f.reshape(f.shape[0], h * w, 2)
    mag, ang = cv2.cartToPolar(np.ascontiguousarray(flat[..., 0]), np.ascontiguousarray(flat[..., 1]))
    return _meb_feature(_meb_frame_polar(mag, ang, ptr, pix))


def mdmo(
    flows: ArrayLike,
    landmarks: ArrayLike,
    *,
    align: bool | None = None,
    mode: Literal["paper", "reference"] = "paper",
    delta: float | None = None,
    n_threads: int | None = None,
    device: str = "cpu",
) -> NDArray[np.float32]:
    """MDMO feature of one clip (its batch twin: :func:`mdmo_batch`).

    Parameters
    ----------
    flows : array_like of shape (T-1, H, W, 2)
        Optical flow from the first frame to each later frame (``compute_flow(video, reference="first")``).
    landmarks : array_like of shape (68, 2)
        iBUG 68-point landmarks of the first frame, ``(x, y)`` in pixels, inside the image. A
        :class:`mefast.face.Landmarks` works too.
    align : bool, optional
        Remove head motion first (optical-flow-driven alignment): for each frame, fit the affine map that
        takes the flow-displaced rigid landmarks (upper jaw contour, nose bridge) back to their first-frame
        positions and replace the flow by ``A [p + flow(p); 1] - p``. Default: True in ``"paper"`` mode,
        False in ``"reference"`` mode (MEB does not align). A pure translation of the whole face is removed
        completely, so the flow then carries only the facial motion.
    mode : {"paper", "reference"}
        The paper's definition, or a reproduction of MEB's numbers (see the module docstring).
    delta : float, optional
        Height in pixels of the forehead regions (see :func:`mefast.mdmo_rois`); default 0.45 times the
        inter-ocular distance in ``"paper"`` mode and MEB's 20 px in ``"reference"`` mode.
    n_threads : int, optional
        Accepted for the common kernel signature; one clip runs on one thread.
    device : {"cpu", "auto"}
        Where to compute: the Numba kernels run on the CPU (``"cuda"`` raises ``CudaUnavailableError``).

    Returns
    -------
    feature : ndarray of shape (72,), float32
        ``"paper"``: ``(rho_1, theta_1, ..., rho_36, theta_36)``, ``rho`` normalised by its maximum
        (in [0, 1]) and ``theta`` in [0, 2 pi) in image coordinates (v down, so upward motion is near
        3 pi / 2). A still face gives zeros. ``"reference"``: ``(rho_1..rho_36, theta_1 - pi..theta_36 - pi)``.

    Raises
    ------
    ShapeError
        Flows not of shape (T-1, H, W, 2) or holding NaN/infinity; landmarks not (68, 2), non-finite or
        outside the image.

    Examples
    --------
    >>> import numpy as np, mefast
    >>> from mefast.data import face_landmarks
    >>> flows = np.zeros((3, 280, 230, 2), np.float32)
    >>> flows[..., 1] = -1.0                      # everything moves up by one pixel
    >>> feat = mefast.mdmo(flows, face_landmarks(), align=False)
    >>> feat[0::2].min(), round(float(feat[1]), 4)   # every region: rho 1, theta 3 pi / 2
    (np.float32(1.0), 4.7124)
    """
    require_cpu(device, "mdmo")
    core_threads(n_threads)  # validated only: one flow stack runs on one thread
    mode = check_mode(mode)
    do_align = _resolve_align(align, mode)
    delta = check_delta(delta)
    f, pts = _prepare(flows, landmarks, "flows")
    return _mdmo_one(f, pts, do_align, mode, delta)


def _resolve_align(align: bool | None, mode: str) -> bool:
    if align is None:
        return mode == "paper"
    if not isinstance(align, bool | np.bool_):  # the flag check of biwoof and hoof: 'yes' and 0 are not flags
        raise ValueError(f"align must be True, False or None (the mode's default), got {align!r}")
    return bool(align)


@options_of(mdmo)
def mdmo_batch(
    flows: Sequence[ArrayLike] | ArrayLike,
    landmarks: Sequence[ArrayLike] | ArrayLike,
    *,
    align: bool | None,
    mode: str,
    delta: float | None,
    n_threads: int | None,
    device: str,
) -> NDArray[np.float32]:
    """MDMO features of many clips, computed in parallel threads (the kernels release the GIL).

    Parameters
    ----------
    flows : sequence of array_like of shape (T_i-1, H_i, W_i, 2), or array of shape (N, T-1, H, W, 2)
        Each clip's flows from its first frame; clips may differ in length and size.
    landmarks : sequence of array_like of shape (68, 2), or array of shape (N, 68, 2)
        Each clip's first-frame landmarks.
    align, mode, delta
        As in :func:`mdmo`.
    n_threads : int, optional
        Threads, all cores if None.
    device : {"cpu", "auto"}
        As in :func:`mdmo`.

    Returns
    -------
    features : ndarray of shape (N, 72), float32
    """
    require_cpu(device, "mdmo_batch")
    mode = check_mode(mode, stacklevel=4)  # frames: check_mode, here, options_of's wrapper, the caller
    do_align = _resolve_align(align, mode)
    delta = check_delta(delta)
    clips = _as_list(flows)
    marks = _as_list(landmarks)
    if len(clips) != len(marks):
        raise ShapeError(f"got {len(clips)} clips of flows but {len(marks)} landmark arrays")
    prepared = [_prepare(c, m, f"flows[{i}]") for i, (c, m) in enumerate(zip(clips, marks, strict=True))]
    out = np.zeros((len(prepared), MDMO_DIM), np.float32)
    if not prepared:
        return out
    threads = n_threads_for(n_threads, len(prepared))
    if threads == 1:
        for i, (f, pts) in enumerate(prepared):
            out[i] = _mdmo_one(f, pts, do_align, mode, delta)
        return out
    with ThreadPoolExecutor(threads) as pool:
        for i, feat in enumerate(pool.map(lambda fp: _mdmo_one(fp[0], fp[1], do_align, mode, delta), prepared)):
            out[i] = feat
    return out


def _as_list(items: Sequence[ArrayLike] | ArrayLike) -> list[ArrayLike]:
    if isinstance(items, np.ndarray):
        return [items[i] for i in range(items.shape[0])]
    return list(items)  # type: ignore[arg-type]


def meb_farneback_flows(video: ArrayLike) -> NDArray[np.float32]:
    """Flow from the first frame to each later frame with MEB's Farneback settings, for ``mode="reference"``.

    OpenCV ``calcOpticalFlowFarneback`` with pyr_scale 0.5, 3 levels, window 15, 3 iterations, poly_n 5,
    poly_sigma 1.2, flags 0, on uint8 grey frames, as MEB's ``MDMO_video`` computes it.

    Parameters
    ----------
    video : array_like of shape (T, H, W), uint8
        Grey clip, T >= 2.

    Returns
    -------
    flows : ndarray of shape (T-1, H, W, 2), float32
    """
    import cv2

    v = np.asarray(video)
    if v.ndim != 3 or v.shape[0] < 2 or v.dtype != np.uint8:
        raise ShapeError(f"video must be a uint8 array of shape (T >= 2, H, W), got {v.dtype} {v.shape}")
    first = np.ascontiguousarray(v[0])
    flows = [
        cv2.calcOpticalFlowFarneback(first, np.ascontiguousarray(fr), None, 0.5, 3, 15, 3, 5, 1.2, 0)  # type: ignore[call-overload]
        for fr in v[1:]
    ]
    return np.stack(flows).astype(np.float32, copy=False)
