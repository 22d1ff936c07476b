"""Direct reads of a local store's one-sample chunks: the training read path's and the store pack's.

A store keeps one chunk per sample (see :mod:`mefast.store`), and Zarr's generic read path spends about as much
time per chunk on its asynchronous codec pipeline as on decompressing it. When an array lies on the local file
system with the layout mefast writes (chunks ``(1, *shape)``, codecs ``bytes`` little-endian then ``blosc``),
:class:`ChunkReader` reads each chunk file and decompresses it with Blosc straight into the caller's buffer: the
same bytes Zarr would return (a chunk never written reads as the array's fill value), at a fraction of the
overhead. Any other array (remote store, other codecs or chunks, big-endian machine) gets no reader
(:meth:`ChunkReader.for_array` returns None) and the caller reads through Zarr.

Per chunk the reader spends one ``open``/``read``/``close`` (raw file descriptors, no buffered file object) and
one Blosc call; the chunk's path is formatted from a template checked against Zarr's key encoding. The files of a
group of rows are opened first and announced to the OS (``posix_fadvise(WILLNEED)``), so a store that is not in
the page cache is read from disk with many requests in flight instead of one file at a time.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numcodecs.blosc
import numpy as np
from numpy.typing import NDArray

from ._chunk_files import ChunkLayout, chunk_layout
from ._validation import core_threads
from .errors import StoreError

__all__ = ["ChunkReader"]

_MAX_THREADS = 4  # file reads and small decodes: more threads only contend
_MIN_PER_THREAD = 8  # fewer rows than this per thread: decode on the calling thread
_GROUP = 64  # files opened (and their reads announced) at a time per thread
_SLACK = 64  # bytes a compressed chunk may exceed its decoded size by (Blosc's header: 16)
#: Flags of a chunk file opened for reading, and the hint that announces a read (None where unsupported).
READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", None) if hasattr(os, "posix_fadvise") else None


def reader_threads(n_threads: int | None) -> int:
    """Threads a chunk reader uses: ``n_threads`` (all cores if None), at most 4, at least 1."""
    return max(1, min(_MAX_THREADS, core_threads(n_threads) or os.cpu_count() or 1))


def blosc_holds(buf: bytes | memoryview, nbytes: int, size: int) -> bool:
    """Whether the Blosc chunk ``buf`` of ``size`` bytes (as read) decodes to ``nbytes`` bytes.

    Blosc's 16-byte header: version, versionlz, flags, typesize, then the decoded and the compressed size
    (uint32 LE each); a file longer than its compressed size, or of another decoded size, is not the chunk.
    """
    head = bytes(buf[:16])
    return (
        size >= 16 and int.from_bytes(head[4:8], "little") == nbytes and int.from_bytes(head[12:16], "little") == size
    )


class ChunkReader:
    """Reads whole one-sample chunks of one Zarr v3 array from local files into NumPy buffers.

    Parameters
    ----------
    layout : ChunkLayout
        Where the chunks are and what they hold (:func:`mefast._chunk_files.chunk_layout`; Blosc chunks).
    n_threads : int, optional
        Threads reading and decoding the chunks of one call (all cores, at most 4, if None); calls with few
        rows stay on the calling thread.
    """

    def __init__(self, layout: ChunkLayout, *, n_threads: int | None = None) -> None:
        self.layout = layout
        self.shape = layout.shape
        self.dtype = layout.dtype
        self.fill_value = layout.fill_value
        self._nbytes = layout.nbytes
        self.n_threads = reader_threads(n_threads)
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def for_array(cls, array: Any, *, n_threads: int | None = None) -> ChunkReader | None:
        """A reader for a Zarr v3 ``array`` of mefast's per-sample layout on local disk (Blosc chunks), else None."""
        layout = chunk_layout(array)
        if layout is None or layout.blosc is None:
            return None
        return cls(layout, n_threads=n_threads)

    def read_into(self, rows: NDArray[np.int64], dest: np.ndarray, at: NDArray[np.int64] | None = None) -> None:
        """Decode the chunk of sample ``rows[k]`` into ``dest[at[k]]`` (``at`` defaults to ``rows``).

        ``dest`` must be a C-contiguous ``(M, *shape)`` array of the reader's dtype.

        Raises
        ------
        StoreError
            A chunk whose decoded size is not one sample's (a corrupt or foreign file).
        """
        if dest.dtype != self.dtype or dest.shape[1:] != self.shape or not dest.flags.c_contiguous:
            raise ValueError(f"dest must be C-contiguous (M, {self.shape}) {self.dtype}, got {dest.shape} {dest.dtype}")
        at = rows if at is None else at
        pairs = list(zip(rows.tolist(), at.tolist(), strict=True))
        if self.n_threads < 2 or len(pairs) < 2 * _MIN_PER_THREAD:
            self._decode(pairs, dest)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.n_threads, thread_name_prefix="mefast-chunks")
        parts = [pairs[k :: self.n_threads] for k in range(self.n_threads)]
        for job in [self._pool.submit(self._decode, part, dest) for part in parts]:
            job.result()

    def _decode(self, pairs: list[tuple[int, int]], dest: np.ndarray) -> None:
        """Read and decompress ``(row, at)`` pairs (file reads and Blosc release the GIL)."""
        for start in range(0, len(pairs), _GROUP):
            group = pairs[start : start + _GROUP]
            fds: list[int | None] = []
            try:
                for r, _ in group:  # open the group's files and let the OS start reading them all
                    try:
                        fd = os.open(self.layout.path(r), READ_FLAGS)
                    except FileNotFoundError:
                        fds.append(None)
                        continue
                    fds.append(fd)
                    if WILLNEED is not None:
                        os.posix_fadvise(fd, 0, 0, WILLNEED)
                for k, (r, a) in enumerate(group):
                    open_fd = fds[k]
                    if open_fd is None:
                        dest[a] = self.fill_value
                        continue
                    buf = os.read(open_fd, self._nbytes + _SLACK + 1)
                    os.close(open_fd)
                    fds[k] = None
                    self._decompress(r, buf, dest[a])
            finally:
                for left in fds:
                    if left is not None:
                        os.close(left)

    def _decompress(self, row: int, buf: bytes, out: np.ndarray) -> None:
        # a file longer than its compressed size (or than any one-sample chunk) is foreign
        if not blosc_holds(buf, self._nbytes, len(buf)):
            path = self.layout.path(row)
            raise StoreError(f"the chunk {path} does not hold one sample of shape {self.shape} {self.dtype}")
        numcodecs.blosc.decompress(buf, out)
