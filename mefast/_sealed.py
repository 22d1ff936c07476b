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
  the store's label arrays.

Columns are sealed by default: a column is readable only when it is listed in :data:`LABEL_FREE_COLUMNS`,
so a label column added later is sealed without anyone remembering to list it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._read_through import ReadThrough
from .errors import LabelLeakError

if TYPE_CHECKING:
    from .store import MEStore

__all__ = ["LABEL_FREE_COLUMNS", "LabelFreeStore", "Withheld", "holds_withheld", "strip_labels"]

#: Sample-table columns a method may read: identity, grouping and the annotated frame range. Every other
#: column (emotion, megc2019, objective_class, aus, anything else) is treated as a label.
LABEL_FREE_COLUMNS: frozenset[str] = frozenset(
    {"sample_id", "dataset", "subject", "clip", "onset", "apex", "offset", "n_frames", "group"}
)


class Withheld:
    """Stand-in for a label value that a method may not see (it holds no value, only the column name).

    Printing shows ``<withheld>``; comparing, hashing, truth-testing or converting it to a number raises
    :class:`~mefast.errors.LabelLeakError`.
    """

    __slots__ = ("column",)

    def __init__(self, column: str) -> None:
        self.column = column

    def _leak(self, *args: Any, **kwargs: Any) -> NoReturn:
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


class LabelFreeStore:
    """A read-only view of a store that exposes its per-sample arrays and non-label metadata only.

    What :class:`~mefast.train.data.StoreSource` hands to training code, so a method reading inputs from the
    store cannot read a label through it. The view never loads the store's label arrays.

    Parameters
    ----------
    store : MEStore
        The store to read from.
    """

    def __init__(self, store: MEStore) -> None:
        self._reader = store
        self._meta_columns: tuple[str, ...] = tuple(store.attrs["meta_columns"])
        self._meta: pd.DataFrame | None = None
        self._meta_of = -1  # the store's metadata version self._meta was read at (MEStore._meta_version)

    def __len__(self) -> int:
        return len(self._reader)

    def __repr__(self) -> str:
        return f"<LabelFreeStore of {self._reader!r}>"

    # What holds no label is read from the store as it is.
    path = ReadThrough[Any]("_reader", "path", "What the store was opened from.")
    features = ReadThrough[tuple[str, ...]]("_reader", "features", "Names of the per-sample arrays.")
    shapes = ReadThrough[dict[str, tuple[tuple[int, ...], np.dtype]]](
        "_reader", "shapes", "``name -> (per-sample shape, dtype)`` of the per-sample arrays."
    )
    done = ReadThrough[NDArray[np.bool_]]("_reader", "done", "Which samples are complete.")
    au_names = ReadThrough[list[str]]("_reader", "au_names", "The store's AU vocabulary (names only, no labels).")

    @property
    def meta(self) -> pd.DataFrame:
        """The samples' non-label metadata; label columns hold :class:`Withheld` stand-ins (a copy).

        Read from the label-free arrays only (the label arrays are never loaded), and read again after the
        store's metadata changed (:meth:`~mefast.store.MEStore.rewrite_meta`), not on every access.
        """
        version = getattr(self._reader, "_meta_version", 0)
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
        if name not in self._reader.features and self._is_label(name):
            raise LabelLeakError(
                f"{name!r} is a label, withheld from the store view a method receives; its per-sample arrays "
                f"are {list(self._reader.features)}"
            )
        return self._reader.read(name, index)
