"""Readers for the micro-expression corpora, label tables, composites and the synthetic dataset.

>>> from mefast import datasets
>>> casme2 = datasets.load("casme2", "CASME2/Cropped", "CASME2/CASME2-coding-20140508.xlsx")  # doctest: +SKIP
>>> report = datasets.validate(casme2)                                                         # doctest: +SKIP

Every reader returns a :class:`Dataset` with the same sample table, applies the known annotation
corrections (listed in :attr:`Dataset.corrections`) and records what it could not fix in
:attr:`Dataset.issues`. Nothing here knows about Zarr.

Parts: :mod:`~mefast.datasets.corpora` (one module per corpus: its reader spec, reader and on-disk layout),
the private reading engine ``_engine`` (sheets, frame folders, the spec-driven reader, :class:`Dataset`),
:mod:`~mefast.datasets.synthetic` (the synthetic writer), ``composite`` and ``validate``. The label
vocabularies are :mod:`mefast.labels` (``mefast.datasets.labels`` is its deprecated alias).
"""

from __future__ import annotations

from pathlib import Path

from .. import labels
from ._engine.base import CORRECTION_COLUMNS, ISSUE_COLUMNS, SAMPLE_COLUMNS, Dataset
from ._engine.corrections import bind_identities
from ._engine.frame_range import FRAME_RANGE_POLICIES, apply_frame_range, check_frame_range
from ._engine.reader import CorpusSpec, Correction
from ._engine.table import read_sheet
from .composite import COMPOSITES, composite
from .corpora import ALIASES, READERS, SPECS
from .long_videos import LONG_CORPORA, Recordings, load_long
from .validate import validate

__all__ = [
    "COMPOSITES",
    "CORPORA",
    "CORRECTION_COLUMNS",
    "FRAME_RANGE_POLICIES",
    "LONG_CORPORA",
    "ISSUE_COLUMNS",
    "SAMPLE_COLUMNS",
    "SPECS",
    "CorpusSpec",
    "Correction",
    "Dataset",
    "Recordings",
    "apply_frame_range",
    "bind_corrections",
    "composite",
    "labels",
    "load",
    "load_long",
    "validate",
]

#: The corpora :func:`load` reads.
CORPORA: tuple[str, ...] = tuple(READERS)


def _reader_key(corpus: str) -> str:
    key = str(corpus).lower().replace(" ", "").replace("-", "")
    key = ALIASES.get(key, key)
    if key not in READERS:
        raise ValueError(f"unknown corpus {corpus!r}; expected one of {list(READERS)}")
    return key


def load(
    corpus: str,
    root: str | Path,
    annotations: str | Path | None = None,
    *,
    frame_range: str = "strict",
    **kw: object,
) -> Dataset:
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
    frame_range : {"strict", "clip"}
        What to do with a clip whose folder frames do not cover its annotated onset..offset (see
        :func:`apply_frame_range`): ``strict`` keeps the annotation (an error in :func:`validate`),
        ``clip`` uses the overlap when the apex lies inside it and records the change.
    **kw
        Reader options: ``corrections=False`` skips the known corrections (a list of :class:`Correction`,
        e.g. from :func:`bind_corrections`, replaces them); 4DME takes ``keep_k=True``; CASME II takes
        ``objective_classes=`` (the per-sample objective-class file, by default ``CASME2-ObjectiveClasses.xlsx``
        beside the sheet when present; a path; False: derive every class from the AUs).

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
    check_frame_range(frame_range)
    reader = READERS[_reader_key(corpus)]
    try:
        dataset = reader(root, annotations, **kw)
    except TypeError as e:
        if "unexpected keyword argument" in str(e):
            raise ValueError(f"load({corpus!r}): {e}") from e
        raise
    return apply_frame_range(dataset, frame_range)


def bind_corrections(corpus: str, annotations: str | Path) -> list[Correction]:
    """The corpus's known corrections keyed by identity, read once from a sheet of the release.

    The built-in correction tables locate each sample by its row in the released sheet (as the MEB library
    does). Bound to ``(subject, clip)`` from that sheet, they work on any later copy: re-sorted, with rows
    added or removed, re-saved: ``load(corpus, root, copy, corrections=bind_corrections(corpus, release))``.

    Parameters
    ----------
    corpus : str
        One of :data:`CORPORA`.
    annotations : path-like
        The annotation sheet as the corpus distributes it (the release's number of data rows).

    Returns
    -------
    list of Correction

    Raises
    ------
    ValueError
        Unknown corpus, or a sheet that is not the release's length.
    AnnotationError
        The sheet cannot be read.
    """
    spec = SPECS[_reader_key(corpus)]
    if spec.read is not None or not spec.corrections:
        return list(spec.corrections)
    table, _ = read_sheet(Path(annotations).expanduser(), spec.columns, spec.required)
    return bind_identities(spec, table, spec.corrections)
