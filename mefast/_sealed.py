"""What a training method may see: sample tables and store views built without the labels.

mefast's evaluation is leak-free by construction: the objects a method receives for a fold carry features
and non-label metadata only, and the evaluator keeps the labels.

- :func:`strip_labels` copies a sample table with every label column (any column that is not one of
  :data:`LABEL_FREE_COLUMNS`: emotion, megc2019, objective_class, aus and whatever else a store holds)
  replaced by :class:`Withheld` stand-ins. The values are not there: the stand-ins remember only the column
  name, print as ``<withheld>`` and raise :class:`~mefast.errors.LabelLeakError` when compared, hashed or
  converted (``==``, ``.map``, ``.unique``, ``float()``...), so a method that tries to use them fails loudly
  instead of reading a label.
- :class:`LabelFreeStore` is a read-only view of a :class:`~mefast.store.MEStore` that reads the per-sample
  arrays and the non-label metadata; its ``au`` and any label read raise ``LabelLeakError``. It never loads
  the store's label arrays, and it does not hold the store: only the readers of the arrays it may read.

Columns are sealed by default: a column is readable only when it is listed in :data:`LABEL_FREE_COLUMNS`,
so a label column added later is sealed without anyone remembering to list it.

What a method's view exposes: the corpus (``dataset``), the ``subject``, the annotated frames (``onset``,
``apex``, ``offset``, ``n_frames``), a protocol's ``group`` and the per-sample arrays, all by store row. The names
the corpora give their samples (``sample_id``, ``clip``, :data:`NAME_COLUMNS`) are sealed like labels: they can
give the label away (SMIC names a clip by its class, ``s1_ne_01``, ``s1_po_01``, ``s1_sur_01``; CASME's and
SAMM's name the eliciting stimulus). A method identifies a sample by its store row: the index of these tables,
``Fold.train`` / ``Fold.test``, and what the per-sample arrays are read by. The ids of a fold's training samples
are readable while the fold runs (:attr:`mefast.protocols.Protocol.sample_ids`), those of its test samples are
not.

What the guard is, precisely: it keeps the labels out of everything a method is handed, so that no method uses
a label by accident (a column read by mistake, a table passed whole to a library, a store attribute that
happened to hold the labels). It is not a sandbox against a method written to cheat: a method runs in the
evaluator's process, the store's path is public (:attr:`mefast.train.data.StoreSource.path`, which DataLoader
workers need to open the store again) and Python lets code follow any object's references (a zarr array
handle's ``store``, a bound method's ``__self__``) to the files that hold the labels. Reading a method's code
remains the check against deliberate cheating.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .errors import LabelLeakError

if TYPE_CHECKING:
    from .store import MEStore

__all__ = ["LABEL_FREE_COLUMNS", "NAME_COLUMNS", "LabelFreeStore", "Withheld", "holds_withheld", "strip_labels"]

#: Sample-table columns a method may read: corpus, subject, grouping and the annotated frame range. Every other
#: column (emotion, megc2019, objective_class, aus, the sample names of :data:`NAME_COLUMNS`, anything else) is
#: treated as a label.
LABEL_FREE_COLUMNS: frozenset[str] = frozenset({"dataset", "subject", "onset", "apex", "offset", "n_frames", "group"})
#: The columns that name a sample as its corpus does; sealed because a name can hold the label (SMIC's
#: ``s1_ne_01`` is a negative clip). A method identifies a sample by its store row instead.
NAME_COLUMNS: frozenset[str] = frozenset({"sample_id", "clip"})


class Withheld:
    """Stand-in for a label value that a method may not see (it holds no value, only the column name).

    Printing shows ``<withheld>``; comparing, hashing, truth-testing or converting it to a number raises
    :class:`~mefast.errors.LabelLeakError`.
    """

    __slots__ = ("column",)

    def __init__(self, column: str) -> None:
        self.column = column

    def _leak(self, *args: Any, **kwargs: Any) -> NoReturn:
        if self.column in NAME_COLUMNS:
            raise LabelLeakError(
                f"the {self.column!r} column names samples as their corpus does, and such a name can give the label "
                "away (SMIC's s1_ne_01 is a negative clip), so it is withheld from what a method receives; a method "
                "identifies a sample by its store row (the table's index, fold.train and fold.test)"
            )
        raise LabelLeakError(
            f"the {self.column!r} column is a label and is withheld from what a method receives (tables and "
            "stores handed to a method hold features and non-label columns only); a fold's training labels "
            "are the y_train argument of fit_predict"
        )

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _leak  # type: ignore[assignment]
    __hash__ = __bool__ = __int__ = __float__ = __index__ = __complex__ = _leak  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<withheld>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __reduce__(self) -> tuple[type[Withheld], tuple[str]]:
        return (Withheld, (self.column,))


def strip_labels(meta: pd.DataFrame, keep: Sequence[str] = ()) -> pd.DataFrame:
    """A copy of a sample table whose label columns hold :class:`Withheld` stand-ins instead of values.

    Parameters
    ----------
    meta : pandas.DataFrame
        A sample table (``Dataset.samples``, ``MEStore.meta`` or rows of it).
    keep : sequence of str
        Further columns to leave readable (they must not hold labels).

    Returns
    -------
    pandas.DataFrame
        Same index and columns; the columns outside :data:`LABEL_FREE_COLUMNS` and ``keep`` are object
        columns of stand-ins.
    """
    readable = LABEL_FREE_COLUMNS | set(keep)
    out = pd.DataFrame(index=meta.index)
    for c in meta.columns:
        if c in readable:
            out[c] = meta[c].to_numpy(copy=True)
        else:
            stand_in = np.empty(len(meta), dtype=object)
            stand_in[:] = [Withheld(str(c))] * len(meta)
            out[c] = pd.Series(stand_in, index=meta.index, dtype=object)
    return out


def holds_withheld(values: Any) -> bool:
    """True when ``values`` (an array, Series or scalar) contains a :class:`Withheld` stand-in."""
    a = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if a.dtype != object:
        return False
    return any(isinstance(v, Withheld) for v in a.ravel())


class _StoreReaders:
    """The part of a store that a :class:`LabelFreeStore` reads through, without the store itself.

    It holds the store's reading functions (bound methods) and the names it may open; no attribute of it is the
    store, its metadata table or its AU matrix. :class:`~mefast.train.data.StoreSource` reads chunks through it
    (``_array``, ``pack_record``, ``packed_done``), so it keeps those names.

    Parameters
    ----------
    store : MEStore
        The store to read from.
    readable : frozenset of str
        The arrays :meth:`_array` opens: the per-sample arrays, their packs, the done flags and the
        label-free metadata columns (``meta/<column>``).
    """

    __slots__ = ("_open", "_readable", "_version", "au_names", "done", "pack_record", "packed_done", "read")

    def __init__(self, store: MEStore, readable: frozenset[str]) -> None:
        self._open = store._array
        self._readable = readable
        self.read = store.read
        self.done = store._read_done
        self.pack_record = store.pack_record
        self.packed_done = store.packed_done
        self.au_names = _attribute_reader(store, "au_names")
        self._version = _attribute_reader(store, "_meta_version", 0)

    def _array(self, name: str) -> Any:
        """The zarr array ``name`` when it is one of the readable arrays; a label array raises."""
        if name not in self._readable:
            raise LabelLeakError(
                f"{name!r} is not an array a method may open (a label, or no array of the store); it may open "
                f"{sorted(self._readable)}"
            )
        return self._open(name)

    def meta_version(self) -> int:
        """The store's metadata version (:meth:`~mefast.store.MEStore.rewrite_meta` counts it up)."""
        return int(self._version())


def _attribute_reader(obj: Any, name: str, *default: Any) -> Callable[[], Any]:
    """A function that reads ``obj.<name>`` when called (the current value, not a copy taken now)."""

    def read() -> Any:
        return getattr(obj, name, *default)

    return read


class LabelFreeStore:
    """A read-only view of a store that exposes its per-sample arrays and non-label metadata only.

    What :class:`~mefast.train.data.StoreSource` hands to training code, so a method reading inputs from the
    store cannot read a label through it. The view never loads the store's label arrays and does not keep the
    store: it holds the store's shape (length, arrays, metadata columns) and the functions that read the arrays
    it may read (see :class:`_StoreReaders`). It is a guard against reading a label by accident, not against a
    method written to cheat (see :mod:`mefast._sealed`).

    Parameters
    ----------
    store : MEStore
        The store to read from.
    """

    def __init__(self, store: MEStore) -> None:
        self._meta_columns: tuple[str, ...] = tuple(store.attrs["meta_columns"])
        self._n = len(store)
        self._shapes = store.shapes
        self._where = store._describe()
        features = tuple(store.features)
        readable = {*features, *(f"packed/{f}" for f in features), "done", "packed/done"}
        readable |= {f"meta/{c}" for c in self._meta_columns if c in LABEL_FREE_COLUMNS}
        self._reader = _StoreReaders(store, frozenset(readable))
        self._meta: pd.DataFrame | None = None
        self._meta_of = -1  # the store's metadata version self._meta was read at (MEStore._meta_version)

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"<LabelFreeStore of the {self._where}: {self._n} samples, features {self.features}>"

    @property
    def features(self) -> tuple[str, ...]:
        """Names of the per-sample arrays."""
        return tuple(self._shapes)

    @property
    def shapes(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """``name -> (per-sample shape, dtype)`` of the per-sample arrays."""
        return dict(self._shapes)

    @property
    def done(self) -> NDArray[np.bool_]:
        """Which samples are complete (read from the store on every access)."""
        return self._reader.done()

    @property
    def au_names(self) -> list[str]:
        """The store's AU vocabulary (names only, no labels)."""
        return list(self._reader.au_names())

    @property
    def meta(self) -> pd.DataFrame:
        """The samples' non-label metadata; label columns hold :class:`Withheld` stand-ins (a copy).

        Read from the label-free arrays only (the label arrays are never loaded), and read again after the
        store's metadata changed (:meth:`~mefast.store.MEStore.rewrite_meta`), not on every access.
        """
        version = self._reader.meta_version()
        if self._meta is None or version != self._meta_of:
            columns = list(self._meta_columns)
            cols: dict[str, Any] = {}
            for c in columns:
                if c in LABEL_FREE_COLUMNS:  # only these arrays are read; label arrays are never loaded
                    values = np.asarray(self._reader._array(f"meta/{c}")[:])
                    cols[c] = values.astype(object) if values.dtype.kind in "UOT" else values
                else:
                    cols[c] = np.zeros(len(self), dtype=np.uint8)  # placeholder, replaced below
            self._meta = strip_labels(pd.DataFrame(cols, columns=columns))
            self._meta_of = version
        return self._meta.copy()

    @property
    def au(self) -> NoReturn:
        """Always raises :class:`~mefast.errors.LabelLeakError`: AU labels are not part of a method's view."""
        raise LabelLeakError(
            "the store's AU matrix holds labels and is withheld from what a method receives; "
            "a fold's training labels are the y_train argument of fit_predict"
        )

    def _is_label(self, name: str) -> bool:
        base = name.removeprefix("meta/")
        return base == "au" or (base in self._meta_columns and base not in LABEL_FREE_COLUMNS)

    def read(self, name: str, index: Any) -> np.ndarray:
        """Read a per-sample array (see :meth:`mefast.store.MEStore.read`); label names raise."""
        if name not in self._shapes and self._is_label(name):
            raise LabelLeakError(
                f"{name!r} is a label, withheld from the store view a method receives; its per-sample arrays "
                f"are {list(self.features)}"
            )
        return self._reader.read(name, index)
