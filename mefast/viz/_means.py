"""Class-mean flow and strain over a store (the noisy-label paper's Figure 1): numpy only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["ClassMeans", "class_means", "face_frames", "magnified_feature", "open_store"]

#: Store features a magnification step may add (first match wins).
MAGNIFIED_FEATURES = ("magnified", "amplified")


def open_store(store: Any) -> Any:
    """An :class:`mefast.MEStore` from a path, URL or an open store."""
    from ..store import MEStore

    return store if isinstance(store, MEStore) else MEStore.open(store, mode="r")


def magnified_feature(store: Any) -> str | None:
    """Name of the store's magnified-frames array (``magnified`` or ``amplified``), or None."""
    return next((f for f in MAGNIFIED_FEATURES if f in store.features), None)


def face_frames(store: Any, rows: NDArray[np.int64], feature: str = "frames") -> NDArray[np.uint8] | None:
    """One grey face image per row: frame 0 (onset) of a ``(T, H, W)`` clip feature, or the image itself.

    For the magnified feature (``(T, H, W)``), the frame that moved most from frame 0 (mean absolute
    difference) is returned instead: the magnified apex. ``(H, W, 3)`` RGB images are converted to grey
    (BT.601). Returns None when the store lacks the feature.
    """
    if feature not in store.features:
        return None
    a = np.asarray(store.read(feature, rows))
    if a.ndim == 4 and a.shape[-1] == 3:  # (n, H, W, 3) RGB
        a = a.astype(np.float32) @ np.asarray([0.299, 0.587, 0.114], np.float32)
    elif a.ndim == 4:  # (n, T, H, W) clips
        if feature in MAGNIFIED_FEATURES and a.shape[1] > 1:
            moved = np.abs(a.astype(np.float32) - a[:, :1].astype(np.float32)).mean(axis=(2, 3))
            a = a[np.arange(len(a)), moved.argmax(axis=1)]
        else:
            a = a[:, 0]
    elif a.ndim != 3:
        raise ValueError(f"store feature {feature!r} has per-sample shape {a.shape[1:]}; expected an image or clip")
    if a.dtype != np.uint8:
        a = a.astype(np.float32)
        hi = float(np.nanmax(a)) if a.size else 1.0
        a = np.clip(np.nan_to_num(a / (hi if hi > 1.0 else 1.0)), 0, 1) * 255
        a = np.rint(a).astype(np.uint8)
    return np.ascontiguousarray(a)


@dataclass(frozen=True)
class ClassMeans:
    """Per-class means of store arrays.

    Attributes
    ----------
    by : str
        What defined the classes: ``emotion``, ``au`` or another metadata column.
    labels : tuple of str
        Class names (AU names for ``by="au"``), in display order.
    counts : ndarray of shape (K,), int64
        Samples that went into each mean.
    means : dict of str to ndarray
        ``name -> (K, *shape)`` float32 mean of each array (``flow`` as stored, channels first), and ``face``
        (the mean onset frame) when the store has frames.
    """

    by: str
    labels: tuple[str, ...]
    counts: NDArray[np.int64]
    means: dict[str, NDArray[np.float32]] = field(default_factory=dict)


def _membership(store: Any, rows: NDArray[np.int64], by: str) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    """Class names and the ``(n, K)`` 0/1 membership matrix of ``rows``."""
    if by == "au":
        names = tuple(store.au_names)
        return names, store.au[rows].astype(np.float64)
    meta = store.meta
    if by not in meta.columns:
        raise ValueError(f"cannot group by {by!r}: it is neither 'au' nor a metadata column {list(meta.columns)}")
    values = meta[by].to_numpy()[rows]
    keep = np.array([v is not None and str(v) not in ("", "nan", "None") for v in values], dtype=bool)
    names = tuple(sorted({str(v) for v in values[keep]}))
    member = np.zeros((len(rows), len(names)), np.float64)
    pos = {n: k for k, n in enumerate(names)}
    for i in np.flatnonzero(keep):
        member[i, pos[str(values[i])]] = 1.0
    return names, member


def class_means(
    store: Any,
    by: str = "emotion",
    *,
    features: Sequence[str] | None = None,
    rows: Sequence[int] | NDArray[np.integer] | None = None,
    batch: int = 256,
) -> ClassMeans:
    """Mean flow and strain (and onset face) of each emotion, AU or other label over a store.

    What :func:`~mefast.viz.class_means_figure` draws (the noisy-label paper's Figure 1). The sums are
    accumulated ``batch`` samples at a time, one class-membership matrix product per array, so a large store is
    averaged in bounded memory.

    Parameters
    ----------
    store : str, path or MEStore
        A preprocessed store; only samples marked done are used.
    by : str
        ``emotion`` (default), ``au`` (a sample counts for every AU it has) or any metadata column
        (``megc2019``, ``objective_class``, ``dataset``...). Samples without a label are left out.
    features : sequence of str, optional
        Arrays to average (default: ``flow`` and ``strain`` when present).
    rows : sequence of int or boolean mask, optional
        Restrict to these store rows (still only done ones); a boolean mask has one entry per store row.
    batch : int
        Samples read at a time (bounds memory on large stores).

    Returns
    -------
    ClassMeans
        Classes without samples are dropped.
    """
    st = open_store(store)
    done = st.done
    sel = np.flatnonzero(done) if rows is None else store_rows(rows, len(st))
    if rows is not None:
        sel = sel[done[sel]]
    if features is None:
        features = [f for f in ("flow", "strain") if f in st.features]
    missing = [f for f in features if f not in st.features]
    if missing:
        raise ValueError(f"the store has no {missing} array; it has {list(st.features)}")
    if not len(sel):
        raise ValueError(f"no finished samples to average in {st!r}")
    labels, member = _membership(st, sel, by)
    counts = member.sum(axis=0).astype(np.int64)
    names: list[str] = list(features) + (["face"] if "frames" in st.features else [])
    sums: dict[str, NDArray[np.float64]] = {}
    for start in range(0, len(sel), max(int(batch), 1)):
        chunk = sel[start : start + batch]
        m = member[start : start + len(chunk)]
        for name in names:
            x = face_frames(st, chunk) if name == "face" else st.read(name, chunk)
            assert x is not None
            flat = np.asarray(x, dtype=np.float64).reshape(len(chunk), -1)
            part = m.T @ flat
            sums[name] = part if name not in sums else sums[name] + part
    keep = counts > 0
    shapes = {n: (st.shapes[n][0] if n != "face" else st.shapes["frames"][0][-2:]) for n in names}
    means = {
        n: (sums[n][keep] / counts[keep, None]).reshape(int(keep.sum()), *shapes[n]).astype(np.float32) for n in names
    }
    return ClassMeans(by, tuple(np.asarray(labels, dtype=object)[keep].tolist()), counts[keep], means)


def store_rows(rows: Any, n: int) -> NDArray[np.int64]:
    """``rows`` as store row numbers: integers in ``[0, n)`` or a boolean mask of length ``n``.

    A mask is taken as :meth:`mefast.store.MEStore.read` takes it (its true rows).

    Raises
    ------
    ValueError
        For rows that are not 1-D, not integers or booleans, out of range, or a mask of another length.
    """
    arr = np.asarray(rows)
    if arr.ndim != 1:
        raise ValueError(f"rows must be 1-D store rows in [0, {n}) or a boolean mask, got {rows!r}")
    if arr.dtype == np.bool_:
        if len(arr) != n:
            raise ValueError(f"a boolean rows mask must have one entry per store row ({n}), got {len(arr)}")
        return np.flatnonzero(arr).astype(np.int64)
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"rows must be integer store rows or a boolean mask, got dtype {arr.dtype}")
    sel = arr.astype(np.int64)
    if sel.size and (sel.min() < 0 or sel.max() >= n):
        raise ValueError(f"rows must be 1-D store rows in [0, {n}), got {rows!r}")
    return sel


def is_store(path: str | Path) -> bool:
    """Whether ``path`` looks like a mefast store (a zarr group) rather than an ``evaluate`` results folder."""
    p = Path(path)
    if p.is_dir():
        return (p / "zarr.json").exists()
    return "://" in str(path)
