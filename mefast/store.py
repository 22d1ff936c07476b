"""The mefast Zarr v3 store: one store per corpus holding flow, strain, frames and descriptors per sample.

Layout (readable with plain ``zarr``, ``xarray`` or ``dask``; see the README)::

    <name>.zarr/
      zarr.json       attrs: schema, mefast version, creation time, parameters, datasets, annotation
                      hashes, au_names, per-array layout, failures and runs of preprocess
      meta/<column>   (N,) one 1-D array per column of ``Dataset.samples`` (strings, int64, ...)
      meta/au         (N, n_au) uint8, columns named by ``attrs["au_names"]``
      flow            (N, 2, H, W) float32    onset->apex flow, channels (u, v)
      strain          (N, H, W) float32
      frames          (N, T, H, W) uint8
      lbptop, biwoof, mdmo   (N, D) float32
      done            (N,) bool               written last for each sample

Every per-sample array is chunked ``(1, ...)`` along N and compressed with Blosc (LZ4 for float maps of 2+
dimensions per sample: flow, strain, magnification flows; zstd for the rest), so processes on one machine or many
write disjoint chunks without coordination. Zarr writes each chunk whole (local stores rename a temporary file
into place, object stores put whole objects), and ``done`` is written after all of a sample's chunks, so a crash
can leave a sample half-written but never marked done. Floating arrays are filled with NaN where nothing was written.

A store may also hold a *pack* for reading (:meth:`MEStore.pack`; ``preprocess`` writes it at the end of
a run)::

      packed/<name>   (N, ...) the per-sample array's copy, chunked (G, ...) with G samples (~4 MB) per chunk
      packed/done     (N,) bool               the samples the pack holds (done when it was made)

recorded last in ``attrs["packed"]`` with a digest of ``done``. A training epoch then opens a few files per
array instead of one per sample. Writers drop it before writing (``write_sample``, ``mark_undone``), and
:meth:`MEStore.pack_record` says whether ``done`` is still the one it was made from, so a reader never gets
values that differ from the per-sample arrays. Plain ``zarr``, ``xarray`` (``group="packed"``) and ``dask``
users can read ``packed/flow`` like any array (rows where ``packed/done`` is False hold the fill value).

This is the only module of mefast that imports zarr.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import re
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import zarr
from numpy.typing import NDArray
from zarr.abc.store import Store
from zarr.codecs import BloscCodec
from zarr.storage import LocalStore

from ._chunk_files import ChunkLayout, ChunkWriter, chunk_layout
from ._chunk_reader import READ_FLAGS, ChunkReader
from ._validation import check_int
from .errors import ShapeError, StoreError

__all__ = ["SCHEMA", "MEStore"]

#: Identifier of the layout written in ``attrs["schema"]``; bumped on incompatible changes.
SCHEMA = "mefast-store/1"

_RESERVED = frozenset({"meta", "done", "packed"})
#: Attribute a store being created carries from its first metadata write until its last (which replaces every
#: attribute): who is creating it. A group with it and without ``schema`` is a creation that was interrupted.
_CREATING = "mefast_creating"
#: Attributes :meth:`MEStore.create` writes that describe the layout (``attrs=`` may not set them).
_LAYOUT_KEYS = frozenset(
    {"schema", "mefast_version", "zarr_version", "created", "n_samples", "meta_columns", "au_names", "arrays"}
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The run lock lives in the ``done`` array's folder: zarr lists a group's members by their folder names and an
# array's chunks under ``done/c/``, so it never sees (nor warns about) this key.
_LOCK_KEY = "done/.mefast-run.lock"

# meta/au's dimensions: not ("sample", "au"), which made xarray take the array named "au" for a 2-D coordinate of
# its own dimension ("Could not automatically create PandasIndex"); its column names are attrs["au_names"].
_AU_DIMS = ("sample", "au_name")
# Conventional dimension names (after "sample") of the arrays mefast writes, for xarray.
_DIMS: dict[str, tuple[str, ...]] = {
    "flow": ("component", "y", "x"),
    "strain": ("y", "x"),
    "frames": ("time", "y", "x"),
}

StoreLike = str | os.PathLike[str] | Store


def _zarr_location(path: StoreLike) -> StoreLike:
    """``file://`` URLs become plain paths: zarr's LocalStore writes atomically and creates folders."""
    if isinstance(path, str) and path.startswith("file://"):
        return path[len("file://") :]
    return path


def _utcnow() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _owner() -> dict[str, Any]:
    """Describe this process, as recorded by the run lock and a store being created."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": _utcnow()}


def creator_alive(owner: Mapping[str, Any]) -> bool:
    """Whether the process that began creating a store may still be at it.

    On this machine its process id tells (this process's own id: an earlier call of this process, which gave up);
    on another one it cannot be told, and the creation counts as running.
    """
    if owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextlib.contextmanager
def run_lock(group: zarr.Group, what: str, *, force: bool = False) -> Iterator[None]:
    """Hold the run lock of the store ``group``: one run at a time writes a store (``what`` names it in errors).

    Local stores use an advisory ``flock`` on the file ``<store>/done/.mefast-run.lock`` (zarr never lists it):
    the operating system drops the lock when its holder dies, even by SIGKILL, so a crashed run never blocks the
    next one. Other stores (fsspec URLs, in-memory) use an object at the same key, created with put-if-absent
    semantics where the store supports it; a run killed before it could delete the object leaves it behind, and
    ``force=True`` (``mefast preprocess --force-unlock``) takes it over. Replacing a store deletes this lock with
    it: runs that may create or replace a store decide so under :func:`creation_lock`.

    Raises
    ------
    StoreError
        If another run holds the lock.
    """
    owner = _owner()
    store = group.store
    if isinstance(store, LocalStore):
        path = Path(store.root) / _LOCK_KEY
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
                raise StoreError(
                    f"the {what} is being written by another preprocess run ({held}); "
                    "wait for it to finish or write to another store"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(owner).encode(), 0)
            yield
        finally:
            os.close(fd)
        return
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    proto = default_buffer_prototype()
    payload = proto.buffer.from_bytes(json.dumps(owner).encode())
    existing = sync(store.get(_LOCK_KEY, prototype=proto))
    if existing is not None and not force:
        raise StoreError(
            f"the {what} is locked by another preprocess run ({existing.to_bytes().decode()}); "
            "if that run crashed, pass force=True (mefast preprocess --force-unlock)"
        )
    if force:
        sync(store.set(_LOCK_KEY, payload))
    else:
        sync(store.set_if_not_exists(_LOCK_KEY, payload))
        got = sync(store.get(_LOCK_KEY, prototype=proto))
        if got is None or got.to_bytes() != payload.to_bytes():
            raise StoreError(f"the {what} was locked by another preprocess run just now")
    try:
        yield
    finally:
        sync(store.delete(_LOCK_KEY))


@contextlib.contextmanager
def creation_lock(location: StoreLike) -> Iterator[None]:
    """Order the runs that may create, resume or replace the store at a local path: an ``flock`` beside it.

    A store's run lock (:func:`run_lock`) lives in the store, so replacing the store deletes it with the folder:
    two runs overwriting one store each locked a new file of their own and wrote at once. A run holds this lock,
    on ``<parent>/.<name>.lock`` (left in place: an unlocked file is harmless), from deciding whether to create,
    resume or replace the store until it holds that store's run lock; it waits for another run's creation
    (seconds). URLs and store objects have no such file, nor does a folder the user cannot write to (a run there
    cannot replace the store either): there, the store's run lock alone orders the runs.
    """
    loc = _zarr_location(location)
    if not isinstance(loc, str | os.PathLike) or "://" in os.fspath(loc):
        yield
        return
    target = Path(loc).absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target.parent / f".{target.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:  # a store in a folder this user cannot write to (a shared corpus folder): a run there
        yield  # cannot replace the store either, so only its run lock (inside the store) orders the runs
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _foreign(path: StoreLike) -> str | None:
    """What a local ``path`` holds that is not a zarr store, which creating a store there would replace or mix with.

    ``"a file"`` or ``"a non-empty directory"``; None for a URL, a store object, nothing, an empty directory or a
    zarr store.
    """
    if not isinstance(path, str | os.PathLike) or "://" in os.fspath(path):
        return None
    p = Path(path)
    if p.exists() and not p.is_dir():
        return "a file"
    if p.is_dir() and any(p.iterdir()) and not (p / "zarr.json").exists():
        return "a non-empty directory"
    return None


def _describe_owner(owner: Mapping[str, Any]) -> str:
    return f"by process {owner.get('pid')} on {owner.get('host')} since {owner.get('since')}"


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars, tuples and paths so that the value survives a JSON round trip."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _out_of_range(x: np.ndarray, dtype: np.dtype) -> str | None:
    """Why casting ``x`` to ``dtype`` would change its values, or None.

    ``np.asarray(x, dtype)`` wraps integers (300 in uint8 is 44) and turns finite values too large for a
    narrower float into infinity, silently.
    """
    if x.size == 0 or np.can_cast(x.dtype, dtype, casting="safe"):
        return None
    if dtype.kind in "iu" and x.dtype.kind in "iub":
        info = np.iinfo(dtype)
        lo, hi = int(x.min()), int(x.max())
        if lo < info.min or hi > info.max:
            return f"holds {lo if lo < info.min else hi}, outside the range {info.min}..{info.max} of {dtype}"
    elif dtype.kind == "f" and x.dtype.kind in "iuf":
        finite = x[np.isfinite(x)] if x.dtype.kind == "f" else x
        if finite.size:
            limit = float(np.finfo(dtype).max)
            low, high = float(finite.min()), float(finite.max())
            big = low if -low > high else high
            if abs(big) > limit:
                inf = "inf" if big > 0 else "-inf"
                return f"holds {big:g}, beyond the largest {dtype} (±{limit:g}): it would be stored as {inf}"
    return None


def _codec(dtype: np.dtype, shape: tuple[int, ...] = ()) -> BloscCodec:
    # Bit shuffle + zstd suits 8-bit images (frames, kept small); byte shuffle groups the exponent bytes of floats.
    # Float maps of 2+ dimensions per sample (flow, strain: what a training epoch reads) use LZ4: on 64x64 flows it
    # decodes in 12 us per chunk (LZ4HC 25, zstd level 5 31) and encodes in 29 us (LZ4HC 254), for about 5 % more
    # bytes than LZ4HC (these maps compress little either way). Descriptor vectors keep zstd (LZ4 makes LBP-TOP
    # histograms about a third larger). Stores written with another Blosc codec (zstd, then LZ4HC, earlier) read
    # the same: the codec is in each array's metadata, and new chunks of an existing array are written with its codec.
    if np.issubdtype(dtype, np.floating) and len(shape) >= 2:
        return BloscCodec(cname="lz4", clevel=9, shuffle="shuffle")
    return BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle" if dtype.itemsize == 1 else "shuffle")


def _fill(dtype: np.dtype) -> Any:
    if np.issubdtype(dtype, np.floating):
        return np.nan
    if dtype == np.bool_:
        return False
    return 0


def _dimension_names(arrays: Mapping[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, tuple[str, ...]]:
    """Dimension names per array; arrays whose conventional names clash in size get prefixed names."""
    dims: dict[str, tuple[str, ...]] = {}
    for name, (shape, _) in arrays.items():
        conv = _DIMS.get(name)
        if conv is None or len(conv) != len(shape):
            conv = tuple(f"{name}_{k}" if len(shape) > 1 else f"{name}_dim" for k in range(len(shape)))
        dims[name] = conv
    sizes: dict[str, set[int]] = {}
    for name, (shape, _) in arrays.items():
        for d, s in zip(dims[name], shape, strict=True):
            sizes.setdefault(d, set()).add(int(s))
    for name, (shape, _) in arrays.items():
        if any(len(sizes[d]) > 1 for d in dims[name]):
            dims[name] = tuple(f"{name}_{k}" for k in range(len(shape)))
    return {name: ("sample", *d) for name, d in dims.items()}


def _normalise_spec(
    arrays: Mapping[str, tuple[Sequence[int], Any]],
) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    if not isinstance(arrays, Mapping) or not arrays:
        raise ValueError("arrays must be a non-empty dict name -> (per-sample shape, dtype)")
    spec: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED:
            raise ValueError(f"array name {name!r} is invalid: use a Python identifier other than {sorted(_RESERVED)}")
        try:
            shape_in, dtype_in = value
            shape = tuple(int(s) for s in shape_in)
            dtype = np.dtype(dtype_in)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"arrays[{name!r}] must be (per-sample shape, dtype), got {value!r}") from exc
        if any(s < 1 for s in shape):
            raise ValueError(f"arrays[{name!r}] has a non-positive dimension in shape {shape}")
        if dtype.kind not in "biuf":
            raise ValueError(f"arrays[{name!r}] must have a numeric or bool dtype, got {dtype}")
        spec[name] = (shape, dtype)
    return spec


def _meta_column(name: str, col: pd.Series) -> np.ndarray:
    values = col.to_numpy()
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        if col.isna().any():
            raise ValueError(f"samples column {name!r} has missing values (row {int(col.isna().argmax())})")
        return np.asarray([str(v) for v in values], dtype=str)
    if pd.api.types.is_bool_dtype(col.dtype):
        return values.astype(np.bool_)
    if pd.api.types.is_integer_dtype(col.dtype):
        return values.astype(np.int64)
    if pd.api.types.is_float_dtype(col.dtype):
        return values.astype(np.float64)
    raise ValueError(f"samples column {name!r} has unsupported dtype {col.dtype}")


class MEStore:
    """A micro-expression store: per-sample arrays, sample metadata, AU labels and provenance.

    Use :meth:`create` to make a store and :meth:`open` to open one; the constructor is private.

    Attributes
    ----------
    meta : pandas.DataFrame
        One row per sample (RangeIndex), the columns of ``Dataset.samples``.
    au : ndarray of shape (N, n_au), uint8
        Action units present (1) or not (0), columns named by ``au_names``.
    au_names : list of str
    done : ndarray of shape (N,), bool
        Samples whose arrays are complete (read from the store on every access).
    features : tuple of str
        Per-sample arrays of the store, in creation order.
    attrs : dict
        Provenance: schema, mefast version, creation time, parameters, datasets, annotation hashes.

    Examples
    --------
    >>> import numpy as np, pandas as pd, zarr
    >>> from mefast.store import MEStore
    >>> samples = pd.DataFrame({"sample_id": ["d/s1/c1", "d/s1/c2"], "subject": ["s1", "s1"]})
    >>> st = MEStore.create(zarr.storage.MemoryStore(), samples, au=np.zeros((2, 1), np.uint8),
    ...                     au_names=["AU1"], arrays={"mdmo": ((72,), "float32")})
    >>> st.write_sample(1, {"mdmo": np.ones(72)}); st.mark_done(1)
    >>> st.done.tolist(), st.read("mdmo", 1)[:3].tolist()
    ([False, True], [1.0, 1.0, 1.0])
    """

    def __init__(self, group: zarr.Group, source: StoreLike, mode: str) -> None:
        self._group = group
        self._source = source
        self._mode = mode
        attrs: dict[str, Any] = dict(group.attrs)
        if attrs.get("schema") is None and isinstance(attrs.get(_CREATING), dict):
            raise StoreError(
                f"the {self._describe()} is being created, or its creation was interrupted "
                f"({_describe_owner(attrs[_CREATING])}); rerun preprocess to create it again"
            )
        if attrs.get("schema") != SCHEMA:
            raise StoreError(
                f"{self._describe()} is not a mefast store of schema {SCHEMA!r} "
                f"(attrs['schema'] = {attrs.get('schema')!r}; a store being created gets its attributes last)"
            )
        self._attrs_at_open = attrs
        self._arrays: dict[str, tuple[tuple[int, ...], np.dtype]] = {
            name: (tuple(shape), np.dtype(dtype)) for name, (shape, dtype) in attrs["arrays"].items()
        }
        self._n = int(attrs["n_samples"])
        self._meta: pd.DataFrame | None = None
        self._meta_version = 0  # counts this object's rewrite_meta calls: views of the store rebuild on a change
        self._au: np.ndarray | None = None
        self._handles: dict[str, zarr.Array] = {}
        self._writers: dict[str, ChunkWriter | None] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        path: StoreLike,
        samples: pd.DataFrame,
        *,
        au: NDArray[np.integer] | NDArray[np.bool_],
        au_names: Sequence[str],
        arrays: Mapping[str, tuple[Sequence[int], Any]],
        attrs: Mapping[str, Any] | None = None,
        overwrite: bool = False,
    ) -> MEStore:
        """Create a store with empty per-sample arrays and the samples' metadata.

        Parameters
        ----------
        path : str, path-like or zarr Store
            A local directory, any fsspec URL zarr accepts (``s3://...``), or a zarr store object.
        samples : pandas.DataFrame
            One row per sample with a unique ``sample_id`` column (``Dataset.samples``).
        au : array_like of shape (N, n_au)
            0/1 action-unit matrix (``Dataset.au_matrix()``).
        au_names : sequence of str
            Names of the ``au`` columns.
        arrays : dict
            ``name -> (per-sample shape, dtype)``; each becomes an array of shape ``(N, *shape)`` chunked one
            sample per chunk.
        attrs : dict, optional
            Provenance to record (parameters, datasets, annotation hashes...). JSON-serialisable values,
            numpy scalars and tuples are converted.
        overwrite : bool
            Replace an existing store at ``path``; otherwise an existing store raises ``StoreError``.

        Returns
        -------
        MEStore
            The store, open for writing.
        """
        if not isinstance(samples, pd.DataFrame):
            raise TypeError(f"samples must be a pandas DataFrame, got {type(samples).__name__}")
        if "sample_id" not in samples.columns:
            raise ValueError(f"samples needs a 'sample_id' column; it has {list(samples.columns)}")
        n = len(samples)
        if n < 1:
            raise ValueError("samples is empty: a store needs at least one sample")
        dup = samples["sample_id"][samples["sample_id"].duplicated()]
        if len(dup):
            raise ValueError(f"sample_id values must be unique; repeated: {sorted(set(map(str, dup)))[:5]}")
        au_arr = np.asarray(au)
        names = [str(a) for a in au_names]
        if au_arr.ndim != 2 or au_arr.shape != (n, len(names)):
            raise ShapeError(f"au must have shape (n_samples, len(au_names)) = ({n}, {len(names)}), got {au_arr.shape}")
        if au_arr.size and not np.isin(au_arr, (0, 1)).all():
            raise ValueError("au must hold only 0 and 1")
        spec = _normalise_spec(arrays)
        columns = [str(c) for c in samples.columns]
        if "au" in columns:
            raise ValueError("samples may not have a column named 'au' (reserved for the AU matrix)")
        meta = {c: _meta_column(c, samples[c]) for c in columns}
        user = _jsonable(dict(attrs or {}))
        clash = sorted(set(user) & {*_LAYOUT_KEYS, "packed", _CREATING})  # "packed": written only by pack()
        if clash:
            raise ValueError(f"attrs may not set the reserved keys {clash}")
        for key, value in user.items():  # before anything is written: a value zarr cannot store fails here
            try:
                json.dumps(value, allow_nan=True)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"attrs[{key!r}] cannot be stored as JSON: {exc}") from None

        try:
            # The first metadata write names the store as being created (see :meth:`creating`); the last one
            # replaces it with the layout, so a killed creation is recognisable and never mistaken for a store.
            group = zarr.open_group(
                store=_zarr_location(path), mode="w" if overwrite else "w-", attributes={_CREATING: _owner()}
            )
        except (FileExistsError, zarr.errors.ContainsGroupError, zarr.errors.ContainsArrayError) as exc:
            raise StoreError(
                f"a store already exists at {path!s}; open it with MEStore.open or pass overwrite=True"
            ) from exc
        mg = group.create_group("meta")
        for c, values in meta.items():
            a = mg.create_array(
                c,
                shape=(n,),
                dtype=values.dtype if values.dtype.kind != "U" else str,
                chunks=(n,),
                dimension_names=("sample",),
            )
            a[:] = values
        a = mg.create_array(
            "au",
            shape=(n, len(names)),
            dtype=np.uint8,
            chunks=(n, max(len(names), 1)),
            dimension_names=_AU_DIMS,
            fill_value=0,
            attributes={"au_names": names},  # the columns, in the same metadata write as the shape
        )
        if names:
            a[:] = au_arr.astype(np.uint8)
        dims = _dimension_names(spec)
        for name, (shape, dtype) in spec.items():
            group.create_array(
                name,
                shape=(n, *shape),
                dtype=dtype,
                chunks=(1, *shape),
                fill_value=_fill(dtype),
                compressors=_codec(np.dtype(dtype), tuple(shape)),
                dimension_names=dims[name],
            )
        # One tiny uncompressed chunk per sample: concurrent writers never share a chunk.
        group.create_array(
            "done",
            shape=(n,),
            dtype=bool,
            chunks=(1,),
            fill_value=False,
            compressors=None,
            dimension_names=("sample",),
        )
        from ._version import __version__

        base: dict[str, Any] = {
            "schema": SCHEMA,
            "mefast_version": __version__,
            "zarr_version": zarr.__version__,
            "created": _utcnow(),
            "n_samples": n,
            "meta_columns": columns,
            "au_names": names,
            "arrays": {name: [list(shape), dtype.str] for name, (shape, dtype) in spec.items()},
        }
        # One metadata write, and the last one: a reader that sees the schema sees a complete layout. It replaces
        # every attribute, the creation marker included. (``group.attrs.update`` would write zarr.json per key.)
        group.attrs.put({**base, **user})
        return cls(group, path, "r+")

    @classmethod
    def open(cls, path: StoreLike, mode: str = "r") -> MEStore:
        """Open an existing store.

        Parameters
        ----------
        path : str, path-like or zarr Store
            A local directory, any fsspec URL zarr accepts, or a zarr store object.
        mode : {"r", "r+"}
            Read only, or read and write.
        """
        if mode not in ("r", "r+"):
            raise ValueError(f"mode must be 'r' or 'r+', got {mode!r}")
        try:
            group = zarr.open_group(store=_zarr_location(path), mode="r" if mode == "r" else "r+")
        except (FileNotFoundError, zarr.errors.BaseZarrError) as exc:
            raise StoreError(f"no mefast store at {path!s} ({exc})") from exc
        return cls(group, path, mode)

    @staticmethod
    def creating(path: StoreLike) -> dict[str, Any] | None:
        """Who began creating the store at ``path`` if its creation has not finished, else None.

        A store whose :meth:`create` was interrupted (a killed process, a full disk) is a zarr group with part of
        the layout and no ``schema``; its attributes name the process that was creating it (``pid``, ``host``,
        ``since``), which this returns. None for a complete store, a foreign zarr group, or nothing at ``path``.
        """
        try:
            group = zarr.open_group(store=_zarr_location(path), mode="r")
        except (FileNotFoundError, zarr.errors.BaseZarrError):
            return None
        attrs = dict(group.attrs)
        marker = attrs.get(_CREATING)
        if "schema" in attrs or not isinstance(marker, dict):
            return None
        return dict(marker)

    @staticmethod
    def exists(path: StoreLike) -> bool:
        """Whether a zarr group exists at ``path``."""
        try:
            zarr.open_group(store=_zarr_location(path), mode="r")
        except (FileNotFoundError, zarr.errors.BaseZarrError):
            return False
        return True

    # ------------------------------------------------------------------ contents
    def _describe(self) -> str:
        src = self._source
        return f"store {os.fspath(src) if isinstance(src, str | os.PathLike) else type(src).__name__}"

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        done = int(self.done.sum())
        return f"<MEStore {self._describe()[6:]}: {self._n} samples, {done} done, features {self.features}>"

    @property
    def path(self) -> StoreLike:
        """What the store was opened from (path, URL or store object)."""
        return self._source

    @property
    def features(self) -> tuple[str, ...]:
        """Names of the per-sample arrays."""
        return tuple(self._arrays)

    @property
    def shapes(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """``name -> (per-sample shape, dtype)`` of the per-sample arrays."""
        return dict(self._arrays)

    @property
    def attrs(self) -> dict[str, Any]:
        """Provenance attributes, read from the store (a copy; change them with :meth:`update_attrs`)."""
        fresh = zarr.open_group(store=self._group.store_path, mode="r")  # another process may have updated them
        return json.loads(json.dumps(dict(fresh.attrs)))

    def update_attrs(self, **values: Any) -> None:
        """Set provenance attributes (JSON-serialisable values; reserved layout keys are refused)."""
        self._writable()
        reserved = {"schema", "n_samples", "meta_columns", "au_names", "arrays", "packed"}  # "packed": by pack() only
        bad = sorted(set(values) & reserved)
        if bad:
            raise ValueError(f"attrs {bad} describe the layout and cannot be changed")
        fresh = zarr.open_group(store=self._group.store_path, mode="r+")
        fresh.update_attributes(_jsonable(values))  # one atomic write of zarr.json, merged with what is there

    @property
    def meta(self) -> pd.DataFrame:
        """The samples' metadata, one row per sample (a copy)."""
        if self._meta is None:
            cols = {}
            for c in self.attrs["meta_columns"]:
                values = np.asarray(self._array(f"meta/{c}")[:])
                cols[c] = values.astype(object) if values.dtype.kind in "UOT" else values
            self._meta = pd.DataFrame(cols)
        return self._meta.copy()

    @property
    def au(self) -> NDArray[np.uint8]:
        """The ``(N, n_au)`` action-unit matrix."""
        if self._au is None:
            self._au = np.asarray(self._array("meta/au")[:], dtype=np.uint8)
        return self._au.copy()

    @property
    def au_names(self) -> list[str]:
        """Names of the columns of :attr:`au`.

        Read from ``meta/au``'s own attributes, written with its shape (a store whose AU vocabulary was rewritten,
        :meth:`rewrite_meta`, keeps them in step even if killed midway), else from the store's ``au_names``.
        """
        try:
            names = self._array("meta/au").attrs.get("au_names")
        except KeyError:  # meta/au being rewritten by a run that was killed: the next run writes it again
            names = None
        if not isinstance(names, list):
            names = self._attrs_at_open["au_names"]
        return [str(a) for a in names]

    @property
    def done(self) -> NDArray[np.bool_]:
        """Which samples are complete, read from the store (file by file on a local store: see :meth:`_read_done`)."""
        return self._read_done()

    def index_of(self, sample_id: str) -> int:
        """Row of a sample id."""
        ids = self.meta["sample_id"]
        hits = np.flatnonzero(ids.to_numpy() == sample_id)
        if not len(hits):
            raise KeyError(f"sample_id {sample_id!r} is not in the {self._describe()}")
        return int(hits[0])

    def row_of(self, sample: int | str) -> int:
        """Row of a sample given by its row number (negative counts from the end) or its sample id.

        Raises
        ------
        ValueError
            An unknown sample id, or a row number outside the store.
        """
        if isinstance(sample, str) and not sample.lstrip("-").isdigit():
            try:
                return self.index_of(sample)
            except KeyError as exc:
                raise ValueError(str(exc.args[0])) from None
        row = int(sample)
        if not -len(self) <= row < len(self):
            raise ValueError(f"sample row {row} is out of range for a store of {len(self)} samples")
        return row % len(self)

    def _array(self, name: str) -> zarr.Array:
        a = self._handles.get(name)
        if a is None:
            node = self._group[name]
            if not isinstance(node, zarr.Array):
                raise StoreError(f"{name!r} in the {self._describe()} is not an array")
            a = node
            self._handles[name] = a
        return a

    def _check_name(self, name: str) -> None:
        if name not in self._arrays:
            raise KeyError(f"the {self._describe()} has no array {name!r}; it has {list(self._arrays)}")

    def _check_index(self, i: Any) -> int:
        msg = f"sample index must be an integer, got {type(i).__name__}"
        i = check_int(i, "sample index", message=msg, error=TypeError)
        if not -self._n <= i < self._n:
            raise IndexError(f"sample index {i} is out of range for {self._n} samples")
        return int(i) % self._n

    def read(
        self, name: str, index: int | slice | Sequence[int] | NDArray[np.integer] | NDArray[np.bool_]
    ) -> np.ndarray:
        """Read a per-sample array for one sample, a slice, or a list / mask of samples.

        Samples not marked :attr:`done` read as NaN (floating arrays) or 0.

        Parameters
        ----------
        name : str
            One of :attr:`features`.
        index : int, slice, sequence of int or ndarray
            Sample rows (negative integers count from the end; a bool array selects rows).

        Returns
        -------
        ndarray
            ``(*shape)`` for an integer index, ``(k, *shape)`` otherwise.
        """
        self._check_name(name)
        arr = self._array(name)
        if isinstance(index, slice):
            return np.asarray(arr[index])
        if isinstance(index, int | np.integer) and not isinstance(index, bool | np.bool_):
            return np.asarray(arr[self._check_index(index)])
        idx = np.asarray(index)
        if idx.dtype == np.bool_:
            if idx.shape != (self._n,):
                raise IndexError(f"a boolean index must have shape ({self._n},), got {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise IndexError(f"index must be an int, slice, 1-D integer sequence or bool mask; got {index!r}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < -self._n or idx.max() >= self._n):
            raise IndexError(f"sample indices {idx.tolist()} out of range for {self._n} samples")
        idx %= max(self._n, 1)
        if idx.size == 0:
            shape, dtype = self._arrays[name]
            return np.empty((0, *shape), dtype=dtype)
        # Zarr's orthogonal selection wants sorted, unique indices for speed; restore the order asked for.
        uniq, inverse = np.unique(idx, return_inverse=True)
        return np.asarray(arr.get_orthogonal_selection((uniq,)))[inverse]

    def _new_meta(
        self,
        samples: pd.DataFrame,
        au: NDArray[np.integer] | NDArray[np.bool_],
        au_names: Sequence[str] | None = None,
    ) -> tuple[dict[str, np.ndarray], NDArray[np.uint8], list[str]]:
        """``samples``, ``au`` and its column names converted as :meth:`create` stores them.

        They must fit the store's layout (sample count and columns); ``au_names`` (default the store's) may differ.
        """
        columns = list(self._attrs_at_open["meta_columns"])
        if sorted(map(str, samples.columns)) != sorted(columns) or len(samples) != self._n:
            raise StoreError(
                f"the {self._describe()} has {self._n} samples with columns {columns}; "
                f"got {len(samples)} with {[str(c) for c in samples.columns]}"
            )
        names = self.au_names if au_names is None else [str(a) for a in au_names]
        if len(set(names)) != len(names):
            raise ValueError(f"au_names must be unique, got {names}")
        au_arr = np.asarray(au)
        if au_arr.shape != (self._n, len(names)) or (au_arr.size and not np.isin(au_arr, (0, 1)).all()):
            raise StoreError(f"au must be a 0/1 matrix of shape {(self._n, len(names))}, got {au_arr.shape}")
        return {c: _meta_column(c, samples[c]) for c in columns}, au_arr.astype(np.uint8), names

    def _au_by_name(self) -> dict[str, NDArray[np.uint8]] | None:
        """The stored AU columns by name; None if ``meta/au`` is missing or does not fit its names."""
        try:
            au, names = self.au, self.au_names
        except KeyError:
            return None
        if au.shape != (self._n, len(names)):
            return None
        return {name: au[:, j] for j, name in enumerate(names)}

    def changed_rows(
        self,
        samples: pd.DataFrame,
        au: NDArray[np.integer] | NDArray[np.bool_],
        au_names: Sequence[str] | None = None,
    ) -> NDArray[np.bool_]:
        """Rows whose metadata or AU labels differ from ``samples`` and ``au`` (say, after an annotation fix).

        ``au_names`` names the columns of ``au`` (default the store's :attr:`au_names`); AU labels are compared
        by name, an AU absent from one side counting as 0 there.

        Raises
        ------
        StoreError
            If ``samples`` has other columns or another length, or ``au`` another shape, than the store.
        """
        new, new_au, names = self._new_meta(samples, au, au_names)
        old = self.meta
        changed = np.zeros(self._n, bool)
        have = self._au_by_name()
        if have is not None:  # else meta/au is being rewritten: the AU strings in the metadata tell the changes
            zero = np.zeros(self._n, np.uint8)
            wanted = {name: new_au[:, j] for j, name in enumerate(names)}
            for name in set(have) | set(wanted):
                changed |= have.get(name, zero) != wanted.get(name, zero)
        for c, values in new.items():
            have = old[c].to_numpy()
            same = np.asarray(have == values, dtype=bool)
            if values.dtype.kind == "f" and have.dtype.kind == "f":
                same |= np.isnan(have) & np.isnan(values)
            changed |= ~same
        return np.asarray(changed, dtype=bool)

    def rewrite_meta(
        self,
        samples: pd.DataFrame,
        au: NDArray[np.integer] | NDArray[np.bool_],
        au_names: Sequence[str] | None = None,
    ) -> None:
        """Replace the samples' metadata and AU labels (same sample ids and columns).

        For corrected annotations; the caller clears the samples whose data depended on them first
        (:meth:`clear_sample`). ``au_names`` names the columns of ``au`` (default the store's): a correction that
        adds an AU to the corpus, or removes its last occurrence, changes them; ``meta/au`` is then written
        again with its new columns, and the store's ``au_names`` last. The per-sample arrays are unchanged.
        """
        self._writable()
        new, new_au, names = self._new_meta(samples, au, au_names)
        if not np.array_equal(new["sample_id"], self.meta["sample_id"].to_numpy().astype(str)):
            raise StoreError(f"rewrite_meta keeps the sample ids of the {self._describe()}; they differ")
        for c, values in new.items():
            self._array(f"meta/{c}")[:] = values
        stored = self._au_by_name()
        if names != self.au_names or stored is None:
            # The array's shape and its column names are one metadata write (see au_names); the data follows, then
            # the store's copy of the names that plain zarr readers use.
            self._handles.pop("meta/au", None)
            a = self._group.create_array(
                "meta/au",
                shape=(self._n, len(names)),
                dtype=np.uint8,
                chunks=(self._n, max(len(names), 1)),
                dimension_names=_AU_DIMS,
                fill_value=0,
                attributes={"au_names": names},
                overwrite=True,
            )
            if names:
                a[:] = new_au
            fresh = zarr.open_group(store=self._group.store_path, mode="r+")
            fresh.update_attributes({"au_names": names})
            self._attrs_at_open = {**self._attrs_at_open, "au_names": names}
        elif new_au.size:
            self._array("meta/au")[:] = new_au
        self._meta, self._au = None, None
        self._meta_version += 1

    # ------------------------------------------------------------------ writing
    def _writable(self) -> None:
        if self._mode == "r":
            raise StoreError(f"the {self._describe()} is open read-only; open it with mode='r+'")

    def write_sample(self, i: int, arrays: Mapping[str, Any]) -> None:
        """Write some or all per-sample arrays of sample ``i`` (one chunk each).

        Writing does not mark the sample done; call :meth:`mark_done` after the last array.

        Raises
        ------
        KeyError
            For an array name the store does not have.
        ShapeError
            For a shape or dtype that does not match the store's layout.
        """
        self._writable()
        self._before_write()
        i = self._check_index(i)
        checked = {}
        for name, value in arrays.items():
            self._check_name(name)
            shape, dtype = self._arrays[name]
            x = np.asarray(value)
            if x.shape != shape:
                raise ShapeError(f"{name} of sample {i} must have shape {shape}, got {x.shape}")
            if not np.can_cast(x.dtype, dtype, casting="same_kind"):
                raise ShapeError(f"{name} of sample {i} must be castable to {dtype}, got dtype {x.dtype}")
            why = _out_of_range(x, dtype)
            if why is not None:
                sid = self.meta["sample_id"].iloc[i]
                raise ValueError(f"{name} of sample {i} ({sid}) {why}; nothing of the sample was written")
            checked[name] = np.ascontiguousarray(x, dtype=dtype)
        for name, x in checked.items():
            self._write_chunk(name, i, x)

    def mark_done(self, i: int) -> None:
        """Mark sample ``i`` complete; call it after every array of the sample is written."""
        self._writable()
        self._write_chunk("done", self._check_index(i), np.ones((), dtype=bool))

    def mark_undone(self, i: int) -> None:
        """Clear the done marker of sample ``i`` (before recomputing it)."""
        self._writable()
        self._before_write()
        self._write_chunk("done", self._check_index(i), np.zeros((), dtype=bool))

    def clear_sample(self, i: int) -> None:
        """Mark sample ``i`` undone and delete its chunks in every per-sample array (before recomputing it).

        Its values then read as the fill value (NaN for floats) through :meth:`read` and through plain ``zarr``
        or ``xarray``, which do not look at ``done``: values computed from a corrected annotation's old version
        are never served, even if the recompute fails. ``done`` is cleared first, so a run killed midway leaves
        the sample undone and its next run clears and computes it again.
        """
        self._writable()
        i = self._check_index(i)
        self.mark_undone(i)
        for name, (shape, dtype) in self._arrays.items():
            # Zarr does not store a chunk of only the fill value: it deletes the chunk's object.
            self._array(name)[i] = np.full(shape, _fill(dtype), dtype=dtype)

    def _write_chunk(self, name: str, i: int, x: NDArray) -> None:
        """Write sample ``i``'s chunk of one array: the file directly on a local store, else through Zarr.

        Both write the same file (see :mod:`mefast._chunk_files`); the direct write skips Zarr's ~1 ms of
        per-call overhead, most of the cost of writing a small descriptor.
        """
        if name not in self._writers:
            self._writers[name] = ChunkWriter.for_array(self._array(name))
        writer = self._writers[name]
        if writer is None:
            self._array(name)[i] = x
        else:
            writer.write(i, x.reshape(writer.layout.shape))

    # ------------------------------------------------------------------ one writer at a time
    def _local_root(self) -> Path | None:
        store = self._group.store
        return Path(store.root) if isinstance(store, LocalStore) else None

    @contextlib.contextmanager
    def lock(self, *, force: bool = False) -> Iterator[None]:
        """Hold the store's run lock: one preprocess run at a time per store (:func:`run_lock`).

        Raises
        ------
        StoreError
            If another run holds the lock, or the store is open read-only.
        """
        self._writable()
        with run_lock(self._group, self._describe(), force=force):
            yield

    def remove_partial_writes(self) -> int:
        """Delete temporary files that a killed writer left in a local store; returns how many.

        Zarr writes a local chunk to ``<chunk>.<uuid>.partial`` and renames it into place; a process killed
        in between leaves the temporary file, which is harmless but takes space. Call it only while holding
        :meth:`lock` (no writer is running then). Other stores write objects whole and have none.
        """
        self._writable()
        root = self._local_root()
        if root is None:
            return 0
        n = 0
        for p in root.rglob("*.partial"):
            p.unlink(missing_ok=True)
            n += 1
        return n

    # ------------------------------------------------------------------ the pack: a copy grouped for reading
    #: Decoded bytes a packed chunk holds by default (a few MB: a few files per array, each decoded in ~1 ms).
    PACK_CHUNK_BYTES = 4 * 2**20

    def pack(
        self, names: Sequence[str] | None = None, *, samples_per_chunk: int | None = None, compress: bool = False
    ) -> dict[str, Any]:
        """Write a read-optimised copy of per-sample arrays, many samples per chunk, under ``packed/``.

        The per-sample arrays stay as they are (one chunk per sample, what writers and resumed runs need); the
        pack adds ``packed/<name>`` with the same shape, dtype, fill value and dimension names, chunked
        ``(G, *shape)`` (``G`` samples per file), so that reading a whole array (a training epoch) opens a few
        files instead of one per sample. Float arrays are stored uncompressed by default (``compress=False``: a
        reader copies each chunk file straight into place), the others with Blosc LZ4 (fast to write and to decode);
        ``packed/done``
        records which samples the pack holds. Plain ``zarr``, ``xarray`` (``group="packed"``) and ``dask`` read
        ``packed/<name>`` like any array.

        Only samples marked :attr:`done` are packed; the others read as the fill value in ``packed/<name>``
        (NaN for floats) and readers take them from the per-sample arrays (:class:`~mefast.train.StoreSource`
        does). A store with no done sample is refused. The pack is recorded in ``attrs["packed"]`` last, with a
        digest of the done array: :meth:`pack_record` returns the record only while the done array is unchanged,
        and every :meth:`write_sample` or :meth:`mark_undone` drops the pack first (:meth:`drop_pack`), so the
        pack never serves values that differ from the per-sample arrays. Call it while no other process
        writes the store (``preprocess`` packs at the end of its run, under its lock); a ``done`` array that
        changes while packing raises.

        Parameters
        ----------
        names : sequence of str, optional
            Per-sample arrays to pack (default: all of :attr:`features`).
        samples_per_chunk : int, optional
            Samples per packed chunk ``G``; by default as many as fit in :attr:`PACK_CHUNK_BYTES` decoded bytes
            (at least one, at most all).
        compress : bool
            Compress float arrays with Blosc LZ4 and byte shuffle (fast to decode: about 6 GB/s on one core) rather
            than storing them raw. On the cold-epoch benchmark's synthetic 64x64 flows (2040 clips) LZ4 made the
            pack 1.3x smaller and the cold epoch ~10 % slower (decoding costs more than the extra bytes on a local
            disk); on a slow disk or a network file system, compression may win.

        Returns
        -------
        dict
            The record written to ``attrs["packed"]``: ``arrays`` (``name -> {"samples_per_chunk": G,
            "compressor": ...}``), ``n_done``, ``done_sha256``, ``created``.

        Raises
        ------
        StoreError
            Read-only store, no done sample, or the done array changed while packing (the pack is dropped).
        KeyError
            An array name the store does not have.
        """
        self._writable()
        if isinstance(names, str):
            raise TypeError(f"names must be a sequence of array names, not the string {names!r}")
        chosen = self.features if names is None else tuple(dict.fromkeys(names))
        for name in chosen:
            self._check_name(name)
        if not chosen:
            raise ValueError("names is empty: nothing to pack")
        if samples_per_chunk is not None:
            samples_per_chunk = check_int(samples_per_chunk, "samples_per_chunk", minimum=1)
        started = _dt.datetime.now(_dt.UTC).timestamp()
        signature = self._done_signature()  # before reading done: a later change shows in it
        done = self._read_done()
        if not done.any():
            raise StoreError(f"no sample of the {self._describe()} is done: there is nothing to pack")
        self.drop_pack()
        import uuid

        token = uuid.uuid4().hex  # a writer that drops the pack meanwhile takes the group and its token with it
        group = self._group.create_group("packed", attributes={"token": token})
        arrays: dict[str, Any] = {}
        n = self._n
        for name in chosen:
            shape, dtype = self._arrays[name]
            src = self._array(name)
            per = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            g = min(n, samples_per_chunk or max(1, self.PACK_CHUNK_BYTES // max(per, 1)))
            floating = np.issubdtype(dtype, np.floating)
            # Non-float arrays (frames, masks) get LZ4 too: the pack is a copy for reading, and on TIM frames LZ4 with
            # bit shuffle encodes ~9x faster than the per-sample zstd level 5 (what packing spent most time on) and
            # decodes ~2x faster, for 1.34x rather than 1.82x compression.
            codec: Any = BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle" if dtype.itemsize == 1 else "shuffle")
            if floating and not compress:
                codec = None
            dst = group.create_array(
                name,
                shape=(n, *shape),
                dtype=dtype,
                chunks=(g, *shape),
                fill_value=_fill(dtype),
                compressors=codec,
                dimension_names=getattr(src.metadata, "dimension_names", None),
            )
            fill = _fill(dtype)
            # The per-sample chunks read directly where the layout allows (Zarr spends ~0.4 ms per chunk on its
            # read pipeline, most of a small chunk's cost), else through Zarr.
            reader = ChunkReader.for_array(src)
            # Several chunks per Zarr call (up to ~64 MB): Zarr encodes and writes a call's chunks concurrently.
            step = g * max(1, 16 * self.PACK_CHUNK_BYTES // max(g * per, 1))
            for a in range(0, n, step):
                keep = done[a : a + step]
                if not keep.any():
                    continue  # never written: reads as the fill value
                if reader is None:
                    block = np.asarray(src[a : a + step])
                else:
                    block = np.empty((len(keep), *shape), dtype)
                    reader.read_into(np.arange(a, a + len(keep), dtype=np.int64), block, np.arange(len(keep)))
                block[~keep] = fill
                dst[a : a + step] = block  # chunks of only fill values are not written (Zarr's default)
            conf = [c.to_dict() if isinstance(c, BloscCodec) else {"codec": repr(c)} for c in dst.compressors]
            arrays[name] = {"samples_per_chunk": g, "compressor": conf}
        marker = group.create_array(
            "done", shape=(n,), dtype=bool, chunks=(n,), fill_value=False, dimension_names=("sample",)
        )
        marker[:] = done
        # Changes of ``done`` in the same clock tick as its last change before the pack could leave the folder's
        # time unchanged: let a tick pass before the final check, so a later change always shows.
        wait = 0.05 - (_dt.datetime.now(_dt.UTC).timestamp() - started)
        if wait > 0:
            import time

            time.sleep(wait)
        changed = self._done_signature() != signature or not np.array_equal(self._read_done(), done)
        kept = zarr.open_group(store=self._group.store_path, mode="r").get("packed")  # checked last
        if changed or not isinstance(kept, zarr.Group) or kept.attrs.get("token") != token:
            self.drop_pack()
            raise StoreError(f"the {self._describe()} was written while it was being packed; pack it again")
        record = {
            "arrays": arrays,
            "n_done": int(done.sum()),
            "done_sha256": self._done_digest(done),
            "done_signature": signature,
            "created": _utcnow(),
        }
        fresh = zarr.open_group(store=self._group.store_path, mode="r+")
        fresh.update_attributes({"packed": _jsonable(record)})  # last: a reader trusts a pack once it is recorded
        return record

    def drop_pack(self) -> bool:
        """Delete the pack (``packed/`` and ``attrs["packed"]``) if there is one; whether there was.

        The record goes first, so a reader never trusts a pack being deleted.
        """
        self._writable()
        fresh = zarr.open_group(store=self._group.store_path, mode="r+")
        had = "packed" in fresh.attrs
        if had:
            del fresh.attrs["packed"]
        if "packed" in fresh:
            del fresh["packed"]
            had = True
        root = self._local_root()
        if root is not None and (root / "packed").exists():  # a folder zarr no longer lists (a killed pack)
            import shutil

            shutil.rmtree(root / "packed", ignore_errors=True)
            had = True
        self._handles = {k: v for k, v in self._handles.items() if not k.startswith("packed/")}
        return had

    def pack_record(self) -> dict[str, Any] | None:
        """The pack's record (``attrs["packed"]``, see :meth:`pack`) while it is current, else None.

        Current means the done array is the one the pack was made from: on a local store, the folder of its
        chunks is unchanged since then (every write of ``done`` renames or deletes a file in it, which changes
        the folder's modification time; one ``stat``), else its SHA-256 digest is the recorded one (the done
        array is read). Writes of the per-sample arrays through :meth:`write_sample` drop the pack.
        """
        record = self.attrs.get("packed")
        if not isinstance(record, dict) or "done_sha256" not in record:
            return None
        signature = record.get("done_signature")
        if signature is not None and signature == self._done_signature():
            return record
        return record if self._done_digest(self._read_done()) == record["done_sha256"] else None

    def packed_done(self) -> NDArray[np.bool_]:
        """Which samples the pack holds (``packed/done``); all False without a pack."""
        try:
            node = self._group["packed/done"]
        except KeyError:
            return np.zeros(self._n, dtype=bool)
        if not isinstance(node, zarr.Array):
            raise StoreError(f"'packed/done' in the {self._describe()} is not an array")
        return np.asarray(node[:], dtype=bool)

    def _before_write(self) -> None:
        """Drop a pack before a write could make it stale.

        Every write looks for a pack first: local stores for the ``packed`` folder (one ``stat``), other stores
        for the pack's record or group (one read of the store's metadata), so a store opened before the pack was
        made never rewrites a sample under it.
        """
        if self._mode == "r":
            return  # the write itself raises
        root = self._local_root()
        if root is not None:
            if os.path.isdir(os.path.join(root, "packed")):
                self.drop_pack()
            return
        fresh = zarr.open_group(store=self._group.store_path, mode="r")
        if "packed" in fresh.attrs or "packed" in fresh:
            self.drop_pack()

    @staticmethod
    def _done_digest(done: NDArray[np.bool_]) -> str:
        import hashlib

        return hashlib.sha256(np.asarray(done, dtype=np.uint8).tobytes()).hexdigest()

    def _done_files(self) -> ChunkLayout | None:
        """The layout of ``done``'s one-byte raw chunk files on a local store, else None."""
        layout = chunk_layout(self._array("done"))
        return layout if layout is not None and layout.blosc is None and layout.shape == () else None

    def _done_signature(self) -> dict[str, int] | None:
        """Identity and times of the folder of ``done``'s chunks (local stores), else None."""
        layout = self._done_files()
        if layout is None:
            return None
        try:
            st = os.stat(os.path.dirname(layout.path(0)))  # the folder every write of done renames into
        except FileNotFoundError:
            return {"ino": -1, "mtime_ns": -1, "ctime_ns": -1}
        return {"ino": st.st_ino, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns}

    def _read_done(self) -> NDArray[np.bool_]:
        """:attr:`done`, read file by file on a local store (40x faster than Zarr's per-chunk pipeline)."""
        layout = self._done_files()

        def through_zarr() -> NDArray[np.bool_]:
            return np.asarray(self._array("done")[:], dtype=bool)

        if layout is None:
            return through_zarr()
        out = np.zeros(self._n, dtype=bool)
        for i in range(self._n):
            try:
                fd = os.open(layout.path(i), READ_FLAGS)
            except FileNotFoundError:
                continue  # never written or deleted as the fill value: False
            try:
                byte = os.read(fd, 2)
            finally:
                os.close(fd)
            if byte not in (b"\x00", b"\x01"):
                return through_zarr()  # not the layout this reader knows
            out[i] = byte == b"\x01"
        return out


# ====================================================================================================== recordings
#: Identifier of the long-recording layout (``attrs["schema"]`` of a :class:`RecordingStore`).
RECORDING_SCHEMA = "mefast-recordings/1"


class RecordingStore:
    """Per-frame features of long recordings (spotting): one array per recording and feature.

    Layout (Zarr v3)::

        <name>.zarr/
          zarr.json              attrs: schema "mefast-recordings/1", mefast version, created, options of the
                                 feature pass, the recordings table and the annotated intervals (JSON records)
          rec/<i>/<feature>      (T_i, *shape) float32, chunks of ``chunk_frames`` frames along T
          done                   (R,) bool, set after all of recording i's arrays are written

    Recording ``i`` is row ``i`` of :attr:`recordings`; its ``T_i`` is the ``n_frames`` column. A run writes a
    recording's chunks as the feature pass produces them (bounded memory) and marks it done last, so a killed run
    loses only the recordings in flight and a rerun computes just those (as :class:`MEStore` does for clips).
    """

    def __init__(self, group: zarr.Group, source: StoreLike, mode: str) -> None:
        attrs: dict[str, Any] = dict(group.attrs)
        if attrs.get("schema") != RECORDING_SCHEMA:
            raise StoreError(f"{source!s} is not a mefast recording store (schema {attrs.get('schema')!r})")
        self._group = group
        self._source = source
        self._mode = mode
        self._attrs = attrs

    @classmethod
    def create(
        cls,
        path: StoreLike,
        recordings: pd.DataFrame,
        intervals: pd.DataFrame,
        *,
        arrays: Mapping[str, Sequence[int]],
        attrs: Mapping[str, Any] | None = None,
        chunk_frames: int = 256,
        overwrite: bool = False,
    ) -> RecordingStore:
        """Create the store: empty per-recording arrays of ``(n_frames, *shape)`` float32.

        Parameters
        ----------
        path : str, path-like or zarr Store
        recordings : DataFrame
            One row per recording with ``recording_id`` (unique) and ``n_frames`` columns.
        intervals : DataFrame
            Annotated intervals (``recording``: row of ``recordings``, ``onset``, ``offset``, ...).
        arrays : dict
            ``feature name -> per-frame shape``.
        attrs : dict, optional
            Provenance (options of the feature pass, corpora, fps...).
        chunk_frames : int
        overwrite : bool
        """
        if "recording_id" not in recordings.columns or "n_frames" not in recordings.columns:
            raise ValueError(f"recordings needs recording_id and n_frames columns; it has {list(recordings.columns)}")
        if recordings["recording_id"].duplicated().any():
            dup = recordings["recording_id"][recordings["recording_id"].duplicated()].iloc[0]
            raise ValueError(f"recording_id {dup!r} appears twice")
        if len(recordings) < 1:
            raise ValueError("recordings is empty: a store needs at least one recording")
        replaceable = cls._replaceable(path)
        if MEStore.exists(path) and not (overwrite and replaceable):
            if replaceable:
                raise StoreError(f"a recording store exists at {path!s}; pass overwrite=True to replace it")
            raise StoreError(f"{path!s} holds a zarr group that is not a recording store; refusing to overwrite it")
        foreign = None if MEStore.exists(path) else _foreign(path)
        if foreign is not None:
            refusing = "refusing to overwrite it" if overwrite else "refusing to write there"
            raise StoreError(f"{path!s} is {foreign} that is not a zarr store; {refusing}")
        # The first metadata write names the store as being created (MEStore.creating); the last one replaces
        # every attribute, so a killed creation is recognisable and never mistaken for a store.
        group = zarr.open_group(
            store=_zarr_location(path), mode="w" if overwrite else "w-", zarr_format=3, attributes={_CREATING: _owner()}
        )
        spec = {name: tuple(int(s) for s in shape) for name, shape in arrays.items()}
        for name in spec:
            if not _NAME.match(name):
                raise ValueError(f"array name {name!r} is invalid: use a Python identifier")
        for i, n in enumerate(recordings["n_frames"].astype(int).tolist()):
            if n < 1:
                raise ValueError(f"recording {recordings['recording_id'].iloc[i]!r} has no frames")
            for name, shape in spec.items():
                group.create_array(
                    f"rec/{i}/{name}",
                    shape=(n, *shape),
                    chunks=(min(int(chunk_frames), n), *shape),
                    dtype="float32",
                    fill_value=np.nan,
                    compressors=_codec(np.dtype("float32")),
                    dimension_names=("frame", *(f"{name}_{d}" for d in range(len(shape)))),
                )
        done = group.create_array(
            "done",
            shape=(len(recordings),),
            chunks=(1,),
            dtype="bool",
            fill_value=False,
            dimension_names=("recording",),
        )
        done[:] = False
        from ._version import __version__

        group.attrs.put(  # replaces the creation marker
            _jsonable(
                {
                    **(dict(attrs) if attrs else {}),
                    "mefast_version": __version__,
                    "created": _utcnow(),
                    "arrays": {k: list(v) for k, v in spec.items()},
                    "recordings": json.loads(recordings.to_json(orient="records")),
                    "intervals": json.loads(intervals.to_json(orient="records")),
                    "schema": RECORDING_SCHEMA,  # written last: a store being created is not yet a store
                }
            )
        )
        return cls(group, path, "r+")

    @classmethod
    def _replaceable(cls, path: StoreLike) -> bool:
        """Whether ``overwrite=True`` may replace the zarr group at ``path``.

        It may replace a recording store, or one whose creation was interrupted: marked as being created, or,
        written before the marker, a group of only ``rec`` and ``done`` without attributes (what an older
        version's killed creation left).
        """
        try:
            cls.open(path)
            return True
        except StoreError:
            pass
        if MEStore.creating(path) is not None:
            return True
        try:
            group = zarr.open_group(store=_zarr_location(path), mode="r")
        except (FileNotFoundError, zarr.errors.BaseZarrError):
            return False
        members = {name for name, _ in group.members()}
        return not dict(group.attrs) and bool(members) and members <= {"rec", "done"}

    @classmethod
    def open(cls, path: StoreLike, mode: str = "r") -> RecordingStore:
        """Open an existing recording store (``mode`` ``"r"`` or ``"r+"``)."""
        if mode not in ("r", "r+"):
            raise ValueError(f"mode must be 'r' or 'r+', got {mode!r}")
        zarr_mode: Literal["r", "r+"] = "r" if mode == "r" else "r+"
        try:
            group = zarr.open_group(store=_zarr_location(path), mode=zarr_mode)
        except (FileNotFoundError, zarr.errors.BaseZarrError) as exc:
            raise StoreError(f"no mefast recording store at {path!s} ({exc})") from exc
        return cls(group, path, mode)

    def __len__(self) -> int:
        return len(self._attrs["recordings"])

    def __repr__(self) -> str:
        return f"<RecordingStore {self._source!s}: {len(self)} recordings, {int(self.done.sum())} done>"

    @contextlib.contextmanager
    def lock(self, *, force: bool = False) -> Iterator[None]:
        """Hold the store's run lock (:func:`run_lock`): one feature pass at a time writes the store.

        Raises
        ------
        StoreError
            If another run holds the lock, or the store is open read-only.
        """
        if self._mode == "r":
            raise StoreError(f"the recording store {self._source!s} is open read-only; open it with mode='r+'")
        src = self._source
        where = os.fspath(src) if isinstance(src, str | os.PathLike) else type(src).__name__
        with run_lock(self._group, f"recording store {where}", force=force):
            yield

    @property
    def attrs(self) -> dict[str, Any]:
        """Provenance attributes (a copy)."""
        return json.loads(json.dumps(self._attrs))

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self._attrs["arrays"])

    @property
    def recordings(self) -> pd.DataFrame:
        """One row per recording (``recording_id``, ``n_frames``, ...)."""
        return pd.DataFrame.from_records(self._attrs["recordings"])

    @property
    def intervals(self) -> pd.DataFrame:
        """The annotated intervals (``recording`` is the row in :attr:`recordings`)."""
        cols = ["recording", "onset", "apex", "offset", "kind"]
        df = pd.DataFrame.from_records(self._attrs["intervals"])
        return df if len(df.columns) else pd.DataFrame({c: [] for c in cols})

    @property
    def done(self) -> NDArray[np.bool_]:
        return np.asarray(self._node("done")[:], dtype=bool)

    def _node(self, key: str) -> zarr.Array:
        """The array at ``key`` in the store (a :class:`StoreError` if that node is a group)."""
        node = self._group[key]
        if not isinstance(node, zarr.Array):
            raise StoreError(f"{key!r} in the recording store {self._source!s} is not an array")
        return node

    def _check(self, i: int, name: str | None = None) -> None:
        if not 0 <= int(i) < len(self):
            raise IndexError(f"recording index {i} is out of range for {len(self)} recordings")
        if name is not None and name not in self._attrs["arrays"]:
            raise KeyError(f"the recording store has no feature {name!r}; it has {list(self._attrs['arrays'])}")

    def write(self, i: int, start: int, arrays: Mapping[str, NDArray]) -> None:
        """Write frames ``start .. start + len - 1`` of recording ``i`` for each feature given."""
        if self._mode == "r":
            raise StoreError("the recording store is open read-only")
        msg = f"recording {i}: start must be a frame index >= 0, got {start!r}"
        start = check_int(start, "start", minimum=0, message=msg)
        for name, a in arrays.items():
            self._check(i, name)
            node = self._node(f"rec/{int(i)}/{name}")
            a = np.asarray(a, np.float32)
            if a.shape[1:] != tuple(node.shape[1:]) or start + len(a) > node.shape[0]:
                raise ShapeError(
                    f"recording {i} feature {name!r}: frames {start}..{start + len(a) - 1} of shape {a.shape[1:]} "
                    f"do not fit its array {node.shape}"
                )
            node[start : start + len(a)] = a

    def mark_done(self, i: int, done: bool = True) -> None:
        """Mark recording ``i`` complete (after all of its frames were written)."""
        self._check(i)
        self._node("done")[int(i)] = bool(done)

    def read(self, i: int, name: str) -> NDArray[np.float32]:
        """The ``(T_i, *shape)`` array of one feature of recording ``i``."""
        self._check(i, name)
        return np.asarray(self._node(f"rec/{int(i)}/{name}")[:], np.float32)

    def read_all(self, i: int) -> dict[str, NDArray[np.float32]]:
        """Every feature of recording ``i``."""
        return {name: self.read(i, name) for name in self.features}
