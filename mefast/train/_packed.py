"""Reads of a store's pack (``packed/<name>``, many samples per chunk) into the training row cache.

:meth:`mefast.store.MEStore.pack` copies per-sample arrays into chunks of ``G`` samples, so a whole epoch reads
a few files per array instead of one per sample. :class:`PackedReader` decodes whole packed chunks straight into
the rows of a decoded-row cache (``values[a : a + G]`` is contiguous in a C-ordered ``(N, *shape)`` array): on a
local store it reads each chunk file and decompresses it with Blosc itself (the bytes Zarr would return, without
its per-call codec pipeline), elsewhere it reads the chunk-aligned slice through Zarr. It fills only the rows the
pack holds (``packed/done``); a chunk file that is missing although the pack holds rows of it (a pack deleted
under the reader) leaves those rows to the per-sample reads.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numcodecs.blosc
import numpy as np
from numpy.typing import NDArray

from .._chunk_files import local_chunk_files
from .._chunk_reader import READ_FLAGS, WILLNEED, blosc_holds, reader_threads
from ..errors import StoreError

__all__ = ["PackedReader"]


class PackedReader:
    """Decodes whole packed chunks of one array into a decoded-row cache.

    Parameters
    ----------
    array : zarr.Array
        ``packed/<name>`` of the store, shape ``(N, *shape)``, chunks ``(G, *shape)``.
    held : ndarray of bool, shape (N,)
        The samples the pack holds (``packed/done``).
    direct : bool
        Read chunk files directly on a local store of the expected codecs (else always through Zarr).
    n_threads : int, optional
        Threads decoding chunks (all cores, at most 4, if None).
    """

    def __init__(self, array: Any, held: NDArray[np.bool_], *, direct: bool = True, n_threads: int | None = None):
        self.array = array
        self.held = np.asarray(held, dtype=bool)
        self.n = int(array.shape[0])
        self.shape = tuple(int(s) for s in array.shape[1:])
        self.dtype = np.dtype(array.dtype)
        self.g = int(array.metadata.chunk_grid.chunk_shape[0])
        if len(self.held) != self.n or tuple(array.metadata.chunk_grid.chunk_shape[1:]) != self.shape:
            raise ValueError(f"packed array {array.shape} chunks {array.chunks} does not fit held {self.held.shape}")
        self._row_bytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self._folder, self._raw = _direct_folder(array) if direct else (None, False)
        self.n_threads = reader_threads(n_threads)
        self._pool: ThreadPoolExecutor | None = None
        self._buffers = threading.local()  # one read buffer per thread, reused: no page faults per chunk

    @property
    def direct(self) -> bool:
        """Whether chunk files are read and decoded directly (a local store with the expected codecs)."""
        return self._folder is not None

    def fill(self, rows: NDArray[np.int64], values: np.ndarray, have: NDArray[np.bool_]) -> None:
        """Decode every packed chunk holding one of ``rows`` into ``values`` and mark its held rows in ``have``.

        ``values`` is the C-contiguous ``(N, *shape)`` cache and ``have`` its filled-rows mask. Rows already in
        the cache are never overwritten with other values: a chunk is decoded in place only when every row of it
        that is filled is held by the pack (the decoded values of those rows are the ones already there).
        """
        if not values.flags.c_contiguous or values.shape != (self.n, *self.shape) or values.dtype != self.dtype:
            raise ValueError(f"values must be C-contiguous ({self.n}, {self.shape}) {self.dtype}, got {values.shape}")
        touched = np.unique(np.asarray(rows, dtype=np.int64) // self.g)
        chunks = [int(k) for k in touched if self.held[k * self.g : (k + 1) * self.g].any()]
        if not chunks:
            return
        self._announce(chunks)
        if self.n_threads < 2 or len(chunks) < 2:
            for k in chunks:
                self._chunk(k, values, have)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.n_threads, thread_name_prefix="mefast-packed")
        for job in [self._pool.submit(self._chunk, k, values, have) for k in chunks]:
            job.result()

    def _announce(self, chunks: list[int]) -> None:
        """Let the OS start reading every chunk file at once (many requests in flight, not one file at a time)."""
        if self._folder is None or WILLNEED is None or len(chunks) < 2:
            return
        for k in chunks:
            try:
                fd = os.open(os.path.join(self._folder, self._key(k)), READ_FLAGS)
            except FileNotFoundError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, WILLNEED)
            finally:
                os.close(fd)

    def _chunk(self, k: int, values: np.ndarray, have: NDArray[np.bool_]) -> None:
        a = k * self.g
        b = min(a + self.g, self.n)
        held = self.held[a:b]
        in_place = b - a == self.g and not (have[a:b] & ~held).any()
        out = values[a:b] if in_place else np.empty((self.g, *self.shape), self.dtype)
        if not self._decode(k, out):
            return  # the chunk is gone (a pack dropped under us): the per-sample reads serve these rows
        if not in_place:
            take = held & ~have[a:b]
            values[a:b][take] = out[: b - a][take]
        have[a:b] |= held

    def _decode(self, k: int, out: np.ndarray) -> bool:
        """Decode chunk ``k`` (all ``G`` rows) into ``out``; False when its file does not exist."""
        if self._folder is None:
            a = k * self.g
            b = min(a + self.g, self.n)
            out[: b - a] = np.asarray(self.array[a:b])
            return True
        path = os.path.join(self._folder, self._key(k))
        try:
            fd = os.open(path, READ_FLAGS)
        except FileNotFoundError:
            return False
        nbytes = self.g * self._row_bytes
        try:
            size = os.fstat(fd).st_size
            if self._raw:  # the chunk is the rows' bytes: read them straight into place
                view = out.reshape(-1).view(np.uint8).data
                got = _read_all(fd, view[: min(size, nbytes)]) if size == nbytes else -1
            else:
                buf = getattr(self._buffers, "buf", None)
                if buf is None or len(buf) < size:
                    buf = self._buffers.buf = bytearray(size)
                view = memoryview(buf)
                got = _read_all(fd, view[:size])
        finally:
            os.close(fd)
        if self._raw:
            if got != nbytes:
                raise StoreError(f"the packed chunk {path} has {size} bytes, not the {nbytes} of {self.g} samples")
            return True
        if not blosc_holds(view, nbytes, got):
            raise StoreError(f"the packed chunk {path} does not hold {self.g} samples of {self.shape} {self.dtype}")
        numcodecs.blosc.decompress(view[:got], out)
        return True

    def _key(self, k: int) -> str:
        key: str = self.array.metadata.encode_chunk_key((k, *(0,) * len(self.shape)))
        return key


def _read_all(fd: int, view: memoryview) -> int:
    """Read from ``fd`` until ``view`` is full or the file ends; the bytes read."""
    readv = getattr(os, "readv", None)  # Unix only: elsewhere (Windows) read and copy
    got = 0
    while got < len(view):
        if readv is not None:
            n = readv(fd, [view[got:]])
        else:
            data = os.read(fd, len(view) - got)
            n = len(data)
            view[got : got + n] = data
        if n == 0:
            break
        got += n
    return got


def _direct_folder(array: Any) -> tuple[str | None, bool]:
    """``(folder, raw)``: local chunk files of ``bytes`` (little-endian), then ``blosc`` or nothing (raw); else None."""
    files = local_chunk_files(array)
    return (None, False) if files is None else (str(files[0]), files[1] is None)
