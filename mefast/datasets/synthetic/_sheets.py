"""Annotation sheets and clip names in each corpus's own format, from the layouts in :mod:`..corpora`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..corpora import LAYOUTS

__all__ = ["clip_name", "sheet_table", "write_sheet"]


def clip_name(corpus: str, subject_id: str, j: int, rng: np.random.Generator, emotion: str) -> str:
    """The folder name of clip ``j`` of a subject, as ``corpus`` names its clips."""
    return LAYOUTS[corpus].clip_name(subject_id, j, rng, emotion)


def sheet_table(corpus: str, rows: Sequence[dict]) -> pd.DataFrame:
    """An annotation table with the corpus's own column names, from records with mefast's keys.

    Keys: ``subject`` (as the sheet writes it), ``clip``, ``onset``, ``apex``, ``offset``, ``aus`` (the
    corpus's notation), ``emotion`` (the corpus's word), and for some corpora ``objective``,
    ``inducement``, ``duration``, ``micro``, ``notes``, ``apex2``; missing keys give empty cells.
    """
    cols = LAYOUTS[corpus].columns
    return pd.DataFrame({name: [r.get(key, "") for r in rows] for name, key in cols.items()})


def write_sheet(corpus: str, table: pd.DataFrame, path: str | Path) -> Path:
    """Write an annotation table as the corpus's sheet (SAMM: below its block of notes, as distributed).

    ``table`` has the corpus's own column names (what :func:`write_synthetic` writes); tests use this to
    write damaged or release-sized sheets.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = LAYOUTS[corpus].sheet_notes
    if notes:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            pd.DataFrame([[n] for n in notes]).to_excel(writer, index=False, header=False, startrow=0)
            table.to_excel(writer, index=False, startrow=len(notes))
    else:
        table.to_excel(path, index=False, engine="openpyxl")
    return path
