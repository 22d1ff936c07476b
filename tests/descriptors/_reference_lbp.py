"""Brute-force references for LBP-TOP and TIM, written from the shared spec (sections 2 and 3), not from the C++.

* ``lbp_top_ref``: voxel by voxel in plain Python. Block membership is evaluated per pixel with the spec's
  formulas (MEB's floating-point arithmetic and numpy's negative-index wrap for ``mode="reference"``), and so is
  the rounding of neighbour coordinates (``mode="reference"``: of the absolute coordinate, spec 2.3); bilinear
  sampling is evaluated exactly with rational arithmetic (integer-valued clips only), so ties are exact.
* ``lbp_top_numpy``: a vectorised NumPy LBP-TOP (paper mode, rounded sampling): shifted-array comparisons and
  ``np.bincount`` per block. The benchmarks' peer.
* ``tim_graph_embedding``: the TIM model itself (centring, thin SVD, path-graph Laplacian eigenvectors,
  embedding map, curve, synthesis), as in Zhou et al.'s TrainPGM.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np

# ---------------------------------------------------------------------------------------------------------
# Mappings


def transitions(code: int, P: int) -> int:
    bits = [(code >> i) & 1 for i in range(P)]
    return sum(bits[i] != bits[(i + 1) % P] for i in range(P))


def mapping_ref(P: int, kind: str | None) -> tuple[np.ndarray, int]:
    if kind is None:
        return np.arange(2**P), 2**P
    if kind == "u2":
        table, nxt = np.empty(2**P, np.int64), 0
        for c in range(2**P):
            if transitions(c, P) <= 2:
                table[c] = nxt
                nxt += 1
            else:
                table[c] = P * (P - 1) + 2
        return table, P * (P - 1) + 3
    if kind == "riu2":
        table = np.array([bin(c).count("1") if transitions(c, P) <= 2 else P + 1 for c in range(2**P)])
        return table, P + 2
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------------------
# Sampling geometry (spec 2.2)


def plane_offsets(radius, points, ordering):
    """Real (dx, dy, dt) of every neighbour of the XY, XT and YT planes."""
    rx, ry, rt = radius
    out = []
    for q, P in enumerate(points):
        offs = []
        for p in range(P):
            a = (2 * np.pi * p) / P
            c, s = float(np.cos(a)), float(np.sin(a))
            if q == 0:
                offs.append((rx * c, -ry * s, 0.0))
            elif ordering == "orig":
                offs.append((rx * c, 0.0, rt * s) if q == 1 else (0.0, -ry * s, rt * c))
            else:
                offs.append((rx * c, 0.0, -rt * s) if q == 1 else (0.0, -rx * c, -rt * s))
        out.append(offs)
    return out


def _bilinear_exact(video, t, y, x, off, q):
    """Exact bilinear value (a Fraction) of an integer-valued clip at centre + off, positions snapped to 5
    decimals; XY interpolates in (y, x), XT in (t, x), YT in (t, y)."""
    d = [Fraction(round(v * 1e5), 10**5) for v in off]  # dx, dy, dt
    pos = {"x": x + d[0], "y": y + d[1], "t": t + d[2]}
    axes = {0: ("y", "x"), 1: ("t", "x"), 2: ("t", "y")}[q]

    def at(**c):
        return int(video[c.get("t", t), c.get("y", y), c.get("x", x)])

    a, b = axes
    a0, b0 = math.floor(pos[a]), math.floor(pos[b])
    fa, fb = pos[a] - a0, pos[b] - b0
    a1, b1 = math.ceil(pos[a]), math.ceil(pos[b])
    v00, v01 = at(**{a: a0, b: b0}), at(**{a: a0, b: b1})
    v10, v11 = at(**{a: a1, b: b0}), at(**{a: a1, b: b1})
    return (1 - fa) * ((1 - fb) * v00 + fb * v01) + fa * ((1 - fb) * v10 + fb * v11)


def rounded_coordinate(c, offset, rounding="offset"):
    """Rounded neighbour coordinate of a centre at c (spec 2.3).

    ``"offset"`` (paper mode): c + floor(offset + 0.5), the same offset at every centre. ``"absolute"`` (reference
    mode): floor(c + offset + 0.5) in double, on MEB's coordinate c. Where the offset is a half-integer up to float
    noise (R cos 60 deg = 1.5000000000000004) the sum rounds either way depending on c.
    """
    if rounding == "offset":
        return c + math.floor(offset + 0.5)
    return math.floor(c + offset + 0.5)


def lbp_codes_ref(video, radius=(3, 3, 3), points=(8, 8, 8), ordering="orig", sampling="rounded", rounding="offset"):
    """Codes of every centre voxel, shape (T - 2 R_T, H - 2B, W - 2B, 3), voxel by voxel. ``rounding``: see
    :func:`rounded_coordinate`; ``"absolute"`` uses MEB's coordinates, 1-based columns and rows, 0-based frames."""
    T, H, W = video.shape
    B, L = max(radius[0], radius[1]), radius[2]
    offs = plane_offsets(radius, points, ordering)
    base = 1 if rounding == "absolute" else 0  # MEB numbers columns and rows from 1
    if sampling == "bilinear" and not np.array_equal(video, np.round(video)):
        raise ValueError("the exact bilinear reference needs an integer-valued clip")
    out = np.zeros((T - 2 * L, H - 2 * B, W - 2 * B, 3), np.int64)
    for t in range(L, T - L):
        for y in range(B, H - B):
            for x in range(B, W - B):
                centre = video[t, y, x]
                for q in range(3):
                    code = 0
                    for p, (dx, dy, dt) in enumerate(offs[q]):
                        if sampling == "rounded":
                            nx = rounded_coordinate(x + base, dx, rounding) - base
                            ny = rounded_coordinate(y + base, dy, rounding) - base
                            nt = rounded_coordinate(t, dt, rounding)
                            v = video[nt, ny, nx]
                        else:
                            v = _bilinear_exact(video, t, y, x, (dx, dy, dt), q)
                            centre = int(video[t, y, x])
                        if v >= centre:
                            code += 2**p
                    out[t - L, y - B, x - B, q] = code
    return out


# ---------------------------------------------------------------------------------------------------------
# Block membership (spec 2.6, 2.7)


def legacy_axis(n, k, overlap, r):
    """(cur, new) block of inner position r: MEB's arithmetic, no clamp of the overlap at 0."""
    noover = math.ceil(n / k) - 1
    over = math.ceil(noover * overlap) - 1
    block = math.floor((n + over * (k - 1)) / k)
    cur = 0 if r - block < 0 else math.floor((r - block) / (block - over) + 1)
    cur = min(cur, k - 1)
    new = math.ceil((r + 1 + (cur + 1) * over) / block) - 1
    return cur, min(new, k - 1)


def legacy_time(T, B, nt, rt):
    """(cur, new) time block of centre frame offset rt: MEB's BlockT uses the whole clip and the spatial border."""
    block_t = math.floor((T - 2 * B + (nt - 1)) / nt)
    cur = 0 if rt - block_t < 0 else math.ceil((rt - block_t) / (block_t - 1) + 1) - 1
    cur = min(cur, nt - 1)
    new = math.ceil((rt + (cur + 1)) / block_t) - 1
    return cur, min(new, nt - 1)


def rect_blocks(n, k, overlap, r):
    """Every block whose rectangle contains inner position r (Zhao's geometry, overlap clamped at 0)."""
    noover = math.ceil(n / k) - 1
    over = max(math.ceil(noover * overlap) - 1, 0)
    block = math.floor((n + over * (k - 1)) / k)
    step = block - over
    return [b for b in range(k) if b * step <= r <= (n - 1 if b == k - 1 else b * step + block - 1)]


# ---------------------------------------------------------------------------------------------------------
# LBP-TOP


class TopGeometry(NamedTuple):
    """The LBP-TOP parameters both references take, with their defaults (mefast's), and what follows from them."""

    radius: tuple[int, int, int] = (3, 3, 3)
    points: tuple[int, int, int] = (8, 8, 8)
    blocks: tuple[int, int] = (8, 8)
    time_blocks: int = 1
    overlap: float = 0.0
    mapping: str | None = "u2"

    @property
    def border(self) -> tuple[int, int]:
        """(B, L): the spatial border max(R_X, R_Y) and the temporal one R_T."""
        return max(self.radius[0], self.radius[1]), self.radius[2]

    def tables(self) -> tuple[list[tuple[np.ndarray, int]], int]:
        """The (table, bins) mapping of each plane (XY, XT, YT) and the histogram width: the largest bins."""
        tables = [mapping_ref(P, self.mapping) for P in self.points]
        return tables, max(nb for _, nb in tables)


def _normalise(hist: np.ndarray, normalize: str) -> np.ndarray:
    """hist: (n_blocks, 3, bins) counts."""
    h = hist.astype(np.float64)
    if normalize == "none":
        return h
    if normalize == "per_block_plane":
        s = h.sum(axis=2, keepdims=True)
    elif normalize == "per_plane":
        s = h.sum(axis=(0, 2), keepdims=True)
    elif normalize == "global_l1":
        s = h.sum()
    else:
        raise ValueError(normalize)
    return np.divide(h, s, out=np.zeros_like(h), where=s > 0)


def lbp_top_ref(video, *, sampling="rounded", normalize=None, mode="paper", ordering=None, **geometry):
    """Voxel-by-voxel LBP-TOP histogram; ``geometry``: the fields of :class:`TopGeometry` (its defaults)."""
    video = np.asarray(video, np.float64)
    g = TopGeometry(**geometry)
    ordering = ordering or ("orig" if mode == "paper" else "block")
    normalize = normalize or ("per_block_plane" if mode == "paper" else "none")
    T, H, W = video.shape
    B, _ = g.border
    rows, cols = g.blocks
    nt, overlap = g.time_blocks, g.overlap
    tables, bins = g.tables()
    if mode == "reference":
        tables[2] = tables[1]  # MEB indexes the YT histogram with code_xt
    rounding = "absolute" if mode == "reference" else "offset"
    codes = lbp_codes_ref(video, g.radius, g.points, ordering, sampling, rounding)
    n_blocks = nt * rows * cols
    hist = np.zeros((n_blocks * 3, bins), np.int64)  # MEB's layout: row = block * 3 + plane
    Tc, Hi, Wi = codes.shape[:3]
    for rt in range(Tc):
        for r in range(Hi):
            for c in range(Wi):
                if mode == "reference":
                    ct, nt_ = legacy_time(T, B, nt, rt)
                    cr, nr = legacy_axis(Hi, rows, overlap, r)
                    cc, nc = legacy_axis(Wi, cols, overlap, c)
                    targets = [(ct, cr, cc)]
                    if (nt_, nr, nc) != (ct, cr, cc):
                        targets.append((nt_, nr, nc))
                else:
                    part = min(rt // (Tc // nt), nt - 1)
                    targets = [
                        (part, rb, cb)
                        for rb in rect_blocks(Hi, rows, overlap, r)
                        for cb in rect_blocks(Wi, cols, overlap, c)
                    ]
                for tb, rb, cb in targets:
                    blk = tb * rows * cols + rb * cols + cb
                    for q in range(3):
                        # a negative row index wraps, as numpy does in MEB
                        hist[blk * 3 + q, tables[q][0][codes[rt, r, c, q]]] += 1
    return _normalise(hist.reshape(n_blocks, 3, bins), normalize).ravel()


def lbp_top_numpy(video, *, normalize="per_block_plane", ordering="orig", **geometry):
    """Vectorised NumPy LBP-TOP, paper mode with rounded sampling; ``geometry``: as :func:`lbp_top_ref`'s."""
    video = np.asarray(video)
    g = TopGeometry(**geometry)
    T, H, W = video.shape
    B, L = g.border
    rows, cols = g.blocks
    time_blocks, overlap = g.time_blocks, g.overlap
    centre = video[L : T - L, B : H - B, B : W - B]
    tables, bins = g.tables()
    binned = []
    for q, offs in enumerate(plane_offsets(g.radius, g.points, ordering)):
        code = np.zeros(centre.shape, np.uint32)
        for p, (dx, dy, dt) in enumerate(offs):
            ix, iy, it = (math.floor(v + 0.5) for v in (dx, dy, dt))
            nb = video[L + it : T - L + it, B + iy : H - B + iy, B + ix : W - B + ix]
            code |= (nb >= centre).astype(np.uint32) << p
        binned.append(tables[q][0][code])
    Tc, Hi, Wi = centre.shape
    t_parts = [slice(k * (Tc // time_blocks), Tc if k == time_blocks - 1 else (k + 1) * (Tc // time_blocks))
               for k in range(time_blocks)]  # fmt: skip

    def spans(n, k):
        members = [rect_blocks(n, k, overlap, r) for r in range(n)]
        return [slice(min(r for r in range(n) if b in members[r]), max(r for r in range(n) if b in members[r]) + 1)
                for b in range(k)]  # fmt: skip

    r_sp, c_sp = spans(Hi, rows), spans(Wi, cols)
    hist = np.zeros((time_blocks * rows * cols, 3, bins), np.int64)
    k = 0
    for ts in t_parts:
        for rs in r_sp:
            for cs in c_sp:
                for q in range(3):
                    hist[k, q] = np.bincount(binned[q][ts, rs, cs].ravel(), minlength=bins)
                k += 1
    return _normalise(hist, normalize).ravel()


# ---------------------------------------------------------------------------------------------------------
# TIM (spec 3.1)


def tim_graph_embedding(frames, n_out):
    """TIM by the graph-embedding model on a full-rank clip: frames (n, ...) -> (n_out, ...) float64."""
    frames = np.asarray(frames, np.float64)
    n = frames.shape[0]
    X = frames.reshape(n, -1).T  # d x n
    mu = X.mean(axis=1, keepdims=True)
    U, S, Vt = np.linalg.svd(X - mu, full_matrices=False)
    U, S, Vt = U[:, : n - 1], S[: n - 1], Vt[: n - 1]  # centring makes the rank n - 1
    Q = S[:, None] * Vt  # (n-1) x n PCA coordinates
    G = np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    Lap = np.diag(G.sum(axis=1)) - G
    _, V = np.linalg.eigh(Lap)  # ascending eigenvalues
    VL = V[:, 1:]  # drop the constant eigenvector
    Wm = np.linalg.solve(Q @ Q.T, Q @ VL)
    k = np.arange(1, n)
    m = (Q[:, 0] @ Wm) / np.sin(np.pi * k / n + np.pi * (n - k) / (2 * n))
    pos = np.linspace(1 / n, 1, n_out) if n_out > 1 else np.array([1 / n])
    out = np.empty((n_out, X.shape[0]))
    for j, p in enumerate(pos):
        F = np.sin(np.pi * k * p + np.pi * (n - k) / (2 * n))
        q = np.linalg.solve(Wm.T, m * F)
        out[j] = U @ q + mu[:, 0]
    return out.reshape((n_out, *frames.shape[1:]))
