"""The files of a local store's one-sample chunks: their layout, and a writer that skips Zarr's per-call overhead.

A store keeps one chunk per sample (see :mod:`mefast.store`). On a local file system with the layout mefast writes
(Zarr v3, chunks ``(1, *shape)``, codecs ``bytes`` little-endian optionally followed by ``blosc``), each chunk is a
file whose name is a fixed template of the sample's index and whose bytes are the sample's array, Blosc-compressed
or raw. :func:`chunk_layout` recognises that layout from an opened Zarr array (None for anything else: a remote or
in-memory store, other codecs or chunks, a big-endian machine), and both the training reader
(:class:`mefast._chunk_reader.ChunkReader`) and :class:`ChunkWriter` work from it.

Writing a small sample through ``zarr.Array.__setitem__`` costs about 0.9 ms of indexing, event-loop round trips
and codec-pipeline set-up on top of the compression and the file write (measured on a 72-float MDMO vector); a
preprocessed clip writes seven arrays. :class:`ChunkWriter` writes the same bytes Zarr would (same numcodecs Blosc
configuration, same key, the same temporary-file-and-rename, a chunk equal to the fill value deleted rather than
written, as Zarr does without ``write_empty_chunks``), so a store written either way is the same store, file for
file; the tests compare them byte by byte.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np

__all__ = ["ChunkLayout", "ChunkWriter", "chunk_layout"]


@dataclass(frozen=True)
class ChunkLayout:
    """Where and how the one-sample chunks of one local Zarr v3 array are stored.

    Attributes
    ----------
    folder : Path
        The array's folder (holding its ``zarr.json``).
    shape : tuple of int
        Per-sample shape.
    dtype : numpy.dtype
        Element type (native byte order).
    fill_value : Any
        Value of a sample whose chunk was never written.
    blosc : dict or None
        The Blosc codec's configuration (``cname``, ``clevel``, ``shuffle``, ``typesize``, ``blocksize``), or
        None for raw chunks.
    write_empty_chunks : bool
        Whether Zarr writes a chunk equal to the fill value (else it deletes it).
    """

    folder: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    fill_value: Any
    blosc: dict[str, Any] | None
    write_empty_chunks: bool
    keys: Any = field(repr=False)  # ``keys((i, 0, ...))`` -> chunk key of sample i (the array's key encoding)
    template: str | None = field(repr=False)  # ``template.format(i)`` == that key, when it is one

    @property
    def nbytes(self) -> int:
        """Bytes of one decoded sample."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def path(self, row: int) -> str:
        """The chunk file of sample ``row``."""
        key = self.template.format(row) if self.template is not None else self.keys((row, *(0,) * len(self.shape)))
        return str(self.folder) + os.sep + key  # chunk keys use "/", which every supported OS accepts


def local_chunk_files(array: Any) -> tuple[Path, dict[str, Any] | None] | None:
    """Where a local Zarr v3 ``array``'s chunk files are and how they are encoded, else None.

    ``(folder, blosc)`` when each chunk is a file of the array's little-endian bytes, raw (``blosc`` None) or
    Blosc-compressed (``blosc``: the codec's configuration); None for anything else (another store, Zarr
    format or codec, a big-endian machine). The chunks' shape is the caller's to check.
    """
    try:
        meta = array.metadata
        root = array.store_path.store.root
        codecs = [c.to_dict() for c in meta.codecs]
    except AttributeError:  # another Zarr format or store
        return None
    if not isinstance(root, Path) or getattr(meta, "zarr_format", None) != 3:
        return None
    folder = root / array.store_path.path
    dtype = np.dtype(array.dtype)
    names = [c.get("name") for c in codecs]
    endian = (codecs[0].get("configuration") or {}).get("endian") if codecs else None
    if (
        names not in (["bytes"], ["bytes", "blosc"])
        or not (folder / "zarr.json").is_file()
        or dtype.hasobject
        or (dtype.itemsize > 1 and (endian != "little" or sys.byteorder != "little"))
    ):
        return None
    return folder, (dict(codecs[1].get("configuration") or {}) if len(names) == 2 else None)


def chunk_layout(array: Any) -> ChunkLayout | None:
    """The layout of a Zarr v3 ``array`` of mefast's per-sample layout on local disk, else None."""
    files = local_chunk_files(array)
    if files is None:
        return None
    try:
        meta = array.metadata
        chunks = tuple(meta.chunk_grid.chunk_shape)
        write_empty = bool(array.config.write_empty_chunks)
    except AttributeError:  # another chunk grid
        return None
    shape = tuple(array.shape[1:])
    if chunks != (1, *shape):
        return None
    folder, blosc = files
    template = key_template(meta.encode_chunk_key, len(shape))
    dtype = np.dtype(array.dtype)
    return ChunkLayout(folder, shape, dtype, meta.fill_value, blosc, write_empty, meta.encode_chunk_key, template)


_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
_W_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


class ChunkWriter:
    """Writes whole one-sample chunks of one array as Zarr would, without Zarr's per-call overhead.

    Parameters
    ----------
    layout : ChunkLayout
        From :func:`chunk_layout`.
    """

    def __init__(self, layout: ChunkLayout) -> None:
        self.layout = layout
        b = layout.blosc
        self._codec = (
            None
            if b is None
            else numcodecs.Blosc(
                cname=b["cname"],
                clevel=int(b["clevel"]),
                shuffle=_SHUFFLE[b["shuffle"]] if isinstance(b["shuffle"], str) else int(b["shuffle"]),
                blocksize=int(b.get("blocksize", 0)),
                typesize=int(b.get("typesize", layout.dtype.itemsize)),
            )
        )
        fill = layout.fill_value
        self._fill_is_nan = layout.dtype.kind in "fc" and bool(np.isnan(fill))
        self._dirs: set[str] = set()

    @classmethod
    def for_array(cls, array: Any) -> ChunkWriter | None:
        """A writer for ``array`` when it has mefast's local per-sample layout, else None."""
        layout = chunk_layout(array)
        return None if layout is None else cls(layout)

    def write(self, row: int, x: np.ndarray) -> None:
        """Write sample ``row`` (C-contiguous, the layout's shape and dtype): atomically, or delete it if empty.

        As Zarr's local store: the bytes go to ``<chunk>.<uuid>.partial`` and are renamed over the chunk, so a
        reader or a crash never sees half a chunk; a sample equal to the fill value everywhere is deleted
        instead (unless the array writes empty chunks), which reads back as the same fill value.
        """
        lay = self.layout
        if x.shape != lay.shape or x.dtype != lay.dtype or not x.flags.c_contiguous:
            raise ValueError(f"a chunk must be C-contiguous {lay.shape} {lay.dtype}, got {x.shape} {x.dtype}")
        path = lay.path(row)
        if not lay.write_empty_chunks and self._is_fill(x):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            return
        data: bytes = x.tobytes() if self._codec is None else self._codec.encode(x)  # raw chunks: a flag
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        tmp = f"{path}.{uuid.uuid4().hex}.partial"  # what MEStore.remove_partial_writes cleans up after a crash
        try:
            fd = os.open(tmp, _W_FLAGS, 0o666)  # the umask applies, as to Zarr's files
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def _is_fill(self, x: np.ndarray) -> bool:
        if self._fill_is_nan:
            return bool(np.isnan(x).all())
        return bool((x == self.layout.fill_value).all())


def key_template(keys: Any, ndim: int) -> str | None:
    """``str.format`` template of ``keys((i, 0, ...))`` in ``i`` when it is one, checked on a few rows; else None."""
    zeros = (0,) * ndim
    sample = keys((0, *zeros))
    cand = None if "{" in sample or "}" in sample else _first_index(sample)
    if cand is not None and all(cand.format(i) == keys((i, *zeros)) for i in (0, 1, 7, 10, 123, 98765)):
        return cand
    return None


def _first_index(sample: str) -> str | None:
    """Replace the first coordinate (a lone "0" between separators after an optional "c" prefix) by ``{0}``."""
    for prefix in ("c/", "c.", ""):
        if sample.startswith(prefix + "0"):
            return prefix + "{0}" + sample[len(prefix) + 1 :]
    return None
