"""Brute-force NumPy references of LBP-SIP, LBP-MOP, HOOF, Bi-WOOF's ablations, 3DHOG and HIGO.

Written from the papers' definitions (and the layouts mefast documents), independently of the Numba kernels:
whole-array NumPy, one block at a time, ``np.bincount`` for the histograms. Also used by the benchmarks as the
NumPy peers.
"""

from __future__ import annotations

import numpy as np

import mefast


def parts(n: int, k: int) -> list[tuple[int, int]]:
    """``k`` parts of ``n`` positions: ``n // k`` each, the last one taking the remainder."""
    s = n // k
    return [(b * s, (b + 1) * s if b < k - 1 else n) for b in range(k)]


def _norm_each(h: np.ndarray) -> np.ndarray:
    tot = h.sum(-1, keepdims=True)
    return np.divide(h, tot, out=np.zeros_like(h), where=tot > 0)


def lbp_sip(v, r=(1, 1, 1), blocks=(5, 5), time_blocks=1, normalize=True):
    v = np.asarray(v, np.float64)
    rx, ry, rt = r
    t, h, w = v.shape
    c = v[rt : t - rt, ry : h - ry, rx : w - rx]

    def nb(dt, dy, dx):
        return v[rt + dt : t - rt + dt, ry + dy : h - ry + dy, rx + dx : w - rx + dx] >= c

    spatial = nb(0, 0, rx) * 1 + nb(0, -ry, 0) * 2 + nb(0, 0, -rx) * 4 + nb(0, ry, 0) * 8
    temporal = nb(-rt, 0, 0) * 1 + nb(rt, 0, 0) * 2
    out = []
    for t0, t1 in parts(c.shape[0], time_blocks):
        for y0, y1 in parts(c.shape[1], blocks[0]):
            for x0, x1 in parts(c.shape[2], blocks[1]):
                hs = np.bincount(spatial[t0:t1, y0:y1, x0:x1].ravel(), minlength=16).astype(float)
                ht = np.bincount(temporal[t0:t1, y0:y1, x0:x1].ravel(), minlength=4).astype(float)
                if normalize:
                    hs, ht = _norm_each(hs), _norm_each(ht)
                out.append(np.concatenate([hs, ht]))
    return np.concatenate(out)


def lbp2d_hist(img, r_row, r_col, points, table, n_bins):
    """2D LBP histogram: neighbour p at (row - R_row sin, col + R_col cos), rounded floor(v + 0.5); >= is 1."""
    h, w = img.shape
    c = img[r_row : h - r_row, r_col : w - r_col]
    code = np.zeros(c.shape, np.int64)
    for p in range(points):
        phi = 2 * np.pi * p / points
        dr = int(np.floor(-r_row * np.sin(phi) + 0.5))
        dc = int(np.floor(r_col * np.cos(phi) + 0.5))
        code += (img[r_row + dr : h - r_row + dr, r_col + dc : w - r_col + dc] >= c).astype(np.int64) << p
    return np.bincount(table[code].ravel(), minlength=n_bins).astype(float)


def lbp_mop(v, r=(1, 1, 1), points=8, blocks=(5, 5), mapping="u2", normalize=True):
    v = np.asarray(v)
    acc = np.int64 if np.issubdtype(v.dtype, np.integer) else np.float64
    v = v.astype(acc)
    rx, ry, rt = r
    if mapping is None:
        table, n_bins = np.arange(2**points), 2**points
    else:
        table, n_bins = mefast.uniform_mapping(points, mapping)
        table = table.astype(np.int64)
    out = []
    for y0, y1 in parts(v.shape[1], blocks[0]):
        for x0, x1 in parts(v.shape[2], blocks[1]):
            vol = v[:, y0:y1, x0:x1]
            hs = [
                lbp2d_hist(vol.sum(0), ry, rx, points, table, n_bins),  # XY: mean over time
                lbp2d_hist(vol.sum(1), rt, rx, points, table, n_bins),  # XT: mean over the block's rows
                lbp2d_hist(vol.sum(2), rt, ry, points, table, n_bins),  # YT: mean over its columns
            ]
            out += [_norm_each(x) if normalize else x for x in hs]
    return np.concatenate(out)


def angle_bins(a, b, bins):
    """Bin of atan2(a, b) over [-pi, pi) in ``bins`` parts (pi wraps to bin 0).

    The angle as a fraction of a turn: a direction on an edge (multiples of 45 degrees: the only ones integer
    gradients reach exactly) gives an exact fraction, so it lands in the bin above the edge (the analytic tests
    check that with integer arithmetic). In float64, as the kernels: a vector within 1e-16 rad of an edge goes
    where the rounded angle puts it.
    """
    k = np.floor((np.arctan2(a, b) / (2.0 * np.pi) + 0.5) * bins).astype(np.int64)
    k[k >= bins] = 0
    return k


def _moving(m, k, blocks):
    """Each block of the grid, row-major: its (rows, cols) slices, then magnitudes and bins of its moving pixels."""
    for y0, y1 in parts(m.shape[0], blocks[0]):
        for x0, x1 in parts(m.shape[1], blocks[1]):
            mb, kb = m[y0:y1, x0:x1], k[y0:y1, x0:x1]
            sel = mb > 0
            yield (slice(y0, y1), slice(x0, x1)), mb[sel], kb[sel]


def hoof(flow, blocks=(5, 5), bins=8, symmetric=False):
    f = np.asarray(flow, np.float64)
    u, v = f[..., 0], f[..., 1]
    m = np.sqrt(u * u + v * v)
    if symmetric:
        k = np.minimum(np.floor((np.arctan2(v, np.abs(u)) / np.pi + 0.5) * bins).astype(np.int64), bins - 1)
    else:
        k = angle_bins(v, u, bins)
    hists = [_norm_each(np.bincount(kb, weights=mb, minlength=bins)) for _, mb, kb in _moving(m, k, blocks)]
    return np.concatenate(hists)


def biwoof_paper(flow, strain, blocks=(5, 5), bins=8, local_weights=True, global_weights=True):
    """Bi-WOOF paper mode from its definition, with the tutorial's ablations."""
    f = np.asarray(flow, np.float64)
    s = np.asarray(strain, np.float64)
    u, v = f[..., 0], f[..., 1]
    m = np.sqrt(u * u + v * v)
    k = angle_bins(v, u, bins)
    out = []
    for block, mb, kb in _moving(m, k, blocks):
        votes = mb if local_weights else np.ones(mb.size)
        weight = s[block].mean() if global_weights else 1.0
        out.append(_norm_each(np.bincount(kb, weights=votes, minlength=bins)) * weight)
    vec = np.concatenate(out)
    n = np.linalg.norm(vec)
    return vec / n if n > 0 else vec


def gradient_histograms(v, blocks=(5, 5), time_blocks=1, bins=8, weighted=True, normalize=True):
    """3DHOG (``weighted``) / HIGO: central-difference gradient, plane projections binned by angle."""
    v = np.asarray(v, np.float64)
    gx = v[1:-1, 1:-1, 2:] - v[1:-1, 1:-1, :-2]
    gy = v[1:-1, 2:, 1:-1] - v[1:-1, :-2, 1:-1]
    gt = v[2:, 1:-1, 1:-1] - v[:-2, 1:-1, 1:-1]
    planes = [(gy, gx), (gt, gx), (gt, gy)]
    binned = []
    for a, b in planes:
        m2 = a * a + b * b
        binned.append((angle_bins(a, b, bins), np.sqrt(m2) if weighted else np.ones_like(m2), m2 > 0))
    out = []
    for t0, t1 in parts(gx.shape[0], time_blocks):
        for y0, y1 in parts(gx.shape[1], blocks[0]):
            for x0, x1 in parts(gx.shape[2], blocks[1]):
                for k, wgt, sel in binned:
                    kb, wb, sb = (x[t0:t1, y0:y1, x0:x1] for x in (k, wgt, sel))
                    h = np.bincount(kb[sb], weights=wb[sb], minlength=bins)
                    out.append(_norm_each(h) if normalize else h)
    return np.concatenate(out)
