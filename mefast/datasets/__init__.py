"""Readers for the micro-expression corpora, label tables, composites and the synthetic dataset.

>>> from mefast import datasets
>>> casme2 = datasets.load("casme2", "CASME2/Cropped", "CASME2/CASME2-coding-20140508.xlsx")  # doctest: +SKIP
>>> report = datasets.validate(casme2)                                                         # doctest: +SKIP

Every reader returns a :class:`Dataset` with the same sample table, applies the known annotation
corrections (listed in :attr:`Dataset.corrections`) and records what it could not fix in
:attr:`Dataset.issues`. Nothing here knows about Zarr.
"""

from __future__ import annotations

from pathlib import Path

from .. import labels
from ._engine.base import CORRECTION_COLUMNS, ISSUE_COLUMNS, SAMPLE_COLUMNS, Dataset
from ._engine.reader import CorpusSpec, Correction
from .composite import COMPOSITES, composite
from .corpora import ALIASES, READERS, SPECS
from .validate import validate

__all__ = [
    "COMPOSITES",
    "CORPORA",
    "CORRECTION_COLUMNS",
    "ISSUE_COLUMNS",
    "SAMPLE_COLUMNS",
    "SPECS",
    "CorpusSpec",
    "Correction",
    "Dataset",
    "composite",
    "labels",
    "load",
    "validate",
]

#: The corpora :func:`load` reads.
CORPORA: tuple[str, ...] = tuple(READERS)


def load(corpus: str, root: str | Path, annotations: str | Path | None = None, **kw: object) -> Dataset:
    """Read a corpus from its folders and annotation sheet as distributed.

    Parameters
    ----------
    corpus : str
        One of :data:`CORPORA`: ``"casme"``, ``"casme2"``, ``"samm"``, ``"smic"``, ``"mmew"``, ``"4dme"``,
        ``"casme3a"``, ``"casme3c"`` (case and a few spellings such as ``"CASME II"`` are accepted).
    root : path-like
        The folder of clip folders (raw or cropped), as listed in the README.
    annotations : path-like, optional
        The annotation sheet; when omitted it is searched for in ``root`` and the two folders above it
        under the corpus's distributed file names (SMIC needs none).
    **kw
        Reader options: ``corrections=False`` skips the known corrections; 4DME takes ``keep_k=True``.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        Unknown corpus name or option.
    AnnotationError
        The sheet is missing, unreadable or lacks required columns.
    FileNotFoundError
        ``root`` is not a folder.
    """
    key = str(corpus).lower().replace(" ", "").replace("-", "")
    key = ALIASES.get(key, key)
    reader = READERS.get(key)
    if reader is None:
        raise ValueError(f"unknown corpus {corpus!r}; expected one of {list(READERS)}")
    try:
        return reader(root, annotations, **kw)
    except TypeError as e:
        if "unexpected keyword argument" in str(e):
            raise ValueError(f"load({corpus!r}): {e}") from e
        raise
