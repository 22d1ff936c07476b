"""Cold first epoch of a store-backed DataLoader against in-memory arrays (issue 17, goal 5).

``train-dataloader-cold``: one shuffled epoch of training batches (flip, resize to 64, min-max; batch 64) over a
2040-clip synthetic CD6ME-sized store (flow + strain 64 x 64). Every side runs the same code on the same rows:
:class:`FlowDataset` fed whole index batches by :func:`make_loader` (one ``source.read`` per array per batch, a
NumPy gather, one transform call per batch), ``num_workers=0``, no pin_memory, the same sampler seed and the same
flips (the global torch seed is reset before each epoch), ``torch.set_num_threads(1)``. Only the source differs:

* ``in-memory arrays`` (the baseline): :class:`ArraySource`, C-contiguous float32 arrays gathered by the batch's
  indices (``arrays[name][rows]``), the fastest in-memory path there is for this dataset;
* ``cold, packed chunks``: a fresh :class:`StoreSource` (empty row cache) over a copy of the store packed for
  reading (:meth:`MEStore.pack`, what ``preprocess`` writes at the end of a run: chunks of 128 flows / 256 strain
  maps, stored raw), with the store's files evicted from the OS page cache right before the epoch
  (``posix_fadvise(DONTNEED)`` on every file; the fraction left resident is measured with ``mincore`` and
  reported): each packed chunk is read from disk once and Blosc-decoded whole into the row cache by
  :class:`mefast.train._packed.PackedReader` (mefast's default on a packed local store). Its ``pack_s`` metric is
  the time :meth:`MEStore.pack` took to write the pack;
* ``cold, packed chunks (LZ4)``: as the packed row, over a pack written with ``compress=True`` (Blosc LZ4 with
  byte shuffle: 1.3x fewer bytes to read, each chunk decoded);
* ``cold, per-sample chunks``: the same without a pack (the store as the preprocess workers wrote it, one chunk
  per sample, the read path before the pack): every chunk read from disk and decoded by
  :class:`mefast._chunk_reader.ChunkReader`;
* ``page-cached, packed chunks``: a fresh source over the packed copy whose files are in the page cache (a
  process that reads a store it just wrote, or a second run): every packed chunk decoded, no disk reads;
* ``warm epochs``: a later epoch of one source, rows served from its decoded-row cache;
* ``cold, Zarr reads (before)``: as the cold row, each chunk through ``MEStore.read`` (Zarr's codec pipeline), the
  read path before the direct chunk reads.

Before any timing, every store side's batches of a whole epoch are checked equal to the in-memory ones, raw and
transformed. The sides are timed in interleaved rounds (the order rotated every round) after one warm-up round, so
load from other jobs on a shared machine falls on all of them alike. The goal is a cold epoch within 2x of
in-memory; each row's ``ratio_to_memory`` metric is its median over the in-memory median of the same run, and
``cpu_ratio_to_memory`` the same for the process's CPU time per epoch (all threads; waiting for the disk is not in
it), which a loaded machine disturbs less than wall time.

Run: ``python -m pytest benchmarks/train/test_cold_epoch.py --benchmark-enable --benchmark-only -q``.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from mefast.store import MEStore
from mefast.train import FlowDataset, StoreSource, make_loader
from mefast.train.transforms import input_transforms

ROUNDS = 9
GROUP = "train-dataloader-cold"
NAMES = {
    "memory": "FlowDataset, in-memory arrays",
    "packed": "FlowDataset, store, cold, packed chunks",
    "lz4": "FlowDataset, store, cold, packed chunks (LZ4)",
    "cold": "FlowDataset, store, cold, per-sample chunks",
    "page-cached": "FlowDataset, store, page-cached, packed chunks",
    "warm": "FlowDataset, store, warm epochs",
    "zarr": "FlowDataset, store, cold, Zarr reads (before)",
}


def _files(root: Path) -> list[str]:
    return [str(p) for p in sorted(Path(root).rglob("*")) if p.is_file()]


def _evict(files: list[str]) -> bool:
    """Drop the files' pages from the OS page cache (flushed first); False where the OS cannot."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def _touch(files: list[str]) -> None:
    """Read every file once, so that its pages are in the page cache."""
    for f in files:
        with open(f, "rb") as fh:
            fh.read()


def _resident(files: list[str]) -> float:
    """Fraction of the files' pages in the page cache (``mincore``; NaN where unavailable)."""
    if not sys.platform.startswith("linux"):
        return float("nan")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    page, have, total = mmap.PAGESIZE, 0, 0
    for f in files:
        size = os.path.getsize(f)
        if size == 0:
            continue
        pages = (size + page - 1) // page
        fd = os.open(f, os.O_RDONLY)
        try:
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr in (None, ctypes.c_void_p(-1).value):
                return float("nan")
            vec = ctypes.create_string_buffer(pages)
            ok = libc.mincore(addr, size, vec) == 0
            libc.munmap(addr, size)
        finally:
            os.close(fd)
        if not ok:
            return float("nan")
        have += sum(b & 1 for b in vec.raw)
        total += pages
    return have / max(total, 1)


def _source(path: Path, zarr: bool = False) -> StoreSource:
    src = StoreSource(path, packed=not zarr)
    if zarr:
        src._reader = lambda name: None  # every chunk through MEStore.read (Zarr)
    return src


def _loader(source, rows: np.ndarray, transform: bool):
    tf = input_transforms(64, train=True) if transform else None
    ds = FlowDataset(source, rows, inputs=("flow", "strain"), transform=tf)
    return make_loader(ds, batch_size=64, shuffle=True, seed=0)


def _epoch(source, rows: np.ndarray) -> int:
    """One training epoch (same sampler order and flips on every side); the number of clips."""
    torch.manual_seed(0)
    n = 0
    for x in _loader(source, rows, transform=True):
        n += len(x)
    return n


def _same_epoch(source, reference, rows: np.ndarray) -> None:
    """Every batch of a whole epoch equal to the reference source's: raw inputs, then transformed."""
    for a, b in zip(_loader(source, rows, False), _loader(reference, rows, False), strict=True):
        assert a.dtype == b.dtype == torch.float32 and torch.equal(a, b)
    batches = []
    for src in (source, reference):
        torch.manual_seed(0)
        batches.append(list(_loader(src, rows, True)))
    assert all(torch.equal(a, b) for a, b in zip(*batches, strict=True))


class _Rounds:
    """The part of pytest-benchmark's fixture that ``report`` reads, for rounds timed by this module."""

    def __init__(self, seconds: list[float], disabled: bool) -> None:
        s = np.asarray(seconds, dtype=float)
        stats = SimpleNamespace(
            median=float(np.median(s)),
            mean=float(s.mean()),
            min=float(s.min()),
            max=float(s.max()),
            stddev=float(s.std(ddof=1)) if len(s) > 1 else 0.0,
            rounds=len(s),
        )
        self.stats = SimpleNamespace(stats=stats)
        self.extra_info: dict[str, object] = {}
        self.disabled = disabled


def test_cold_epoch(benchmark, report, store, in_memory):
    torch.set_num_threads(1)
    rows = np.arange(len(store))
    # The packed copy sits next to the store (same disk); the store itself stays unpacked for the other benchmarks.
    packed, lz4 = (Path(store.path).parent / f"cd6me-synthetic-{k}.zarr" for k in ("packed", "lz4"))
    pack_s = {}
    for path, compress in ((packed, False), (lz4, True)):
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(store.path, path)
        t0 = time.perf_counter()
        MEStore.open(path, "r+").pack(compress=compress)
        pack_s[path] = time.perf_counter() - t0
    files = _files(store.path) + _files(packed) + _files(lz4)
    evicts = _evict(files)
    warm = _source(packed)
    first = [warm, _source(packed), _source(store.path), _source(store.path, zarr=True), _source(lz4)]
    for src in first:  # doubles as the warm-up epochs
        _same_epoch(src, in_memory, rows)
    assert set(first[1]._packs or {}) == {"flow", "strain"} and not first[2]._packs  # each side reads what it says
    resident: list[float] = []

    def cold(path: Path, zarr: bool = False) -> Callable[[], StoreSource]:
        def prepare() -> StoreSource:
            _evict(files)
            resident.append(_resident(files))
            return _source(path, zarr=zarr)

        return prepare

    def cached() -> StoreSource:
        _touch(_files(packed))
        return _source(packed)

    prepare: dict[str, Callable[[], object]] = {
        "memory": lambda: in_memory,
        "packed": cold(packed),
        "lz4": cold(lz4),
        "cold": cold(store.path),
        "page-cached": cached,
        "warm": lambda: warm,
        "zarr": cold(store.path, zarr=True),
    }
    order = list(NAMES)
    times: dict[str, list[float]] = {k: [] for k in order}
    cpu: dict[str, list[float]] = {k: [] for k in order}
    rounds = 1 if benchmark.disabled else ROUNDS
    for r in range(rounds + (0 if benchmark.disabled else 1)):  # round 0: warm-up, not recorded
        for side in order[r % len(order) :] + order[: r % len(order)]:
            source = prepare[side]()
            t0, c0 = time.perf_counter(), time.process_time()
            n = _epoch(source, rows)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            assert n == len(store)
            if r > 0 or benchmark.disabled:
                times[side].append(dt)
                cpu[side].append(dc)
    left = max(resident) if resident else float("nan")
    if evicts and not benchmark.disabled:
        # a file system whose pages cannot be evicted (tmpfs) would make the cold rows page-cached ones
        assert not left > 0.05, f"{left:.0%} of the store stayed in the page cache: put it on a disk"
    base, base_cpu = float(np.median(times["memory"])), float(np.median(cpu["memory"]))
    print(f"\nMEStore.pack of {len(store)} clips (flow + strain): {pack_s[packed]:.2f} s, LZ4 {pack_s[lz4]:.2f} s")
    for side in order:
        med, med_cpu = float(np.median(times[side])), float(np.median(cpu[side]))
        print(
            f"{NAMES[side]}: median {med * 1e3:.0f} ms ({med / base:.2f}x in-memory), min {min(times[side]) * 1e3:.0f}"
            f" ms, CPU {med_cpu * 1e3:.0f} ms ({med_cpu / base_cpu:.2f}x in-memory's)"
        )
        metrics = {
            "samples_per_s": len(store) / med,
            "ratio_to_memory": med / base,  # medians of the same interleaved rounds
            "cpu_s": med_cpu,  # the process's CPU time per epoch (all threads): the work, whatever the load
            "cpu_ratio_to_memory": med_cpu / base_cpu,
        }
        if side in ("packed", "cold", "zarr"):
            metrics["page_cache_resident"] = left  # the largest fraction left before a cold round
        if side in ("packed", "lz4"):
            metrics["pack_s"] = pack_s[packed if side == "packed" else lz4]  # MEStore.pack of the whole store
        report(GROUP, NAMES[side], _Rounds(times[side], benchmark.disabled), baseline=side == "memory", **metrics)
