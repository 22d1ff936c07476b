"""4DME (Li et al. 2022, IEEE TAFFC): 267 micro-expressions of 41 subjects, grey 2D frames at 60 fps.

Layout as distributed::

    4DME/
      4DME_Labelling_Micro_release v1.xlsx     sub_ID, fold_name, Onset, Apex, Offset, AUs, Emotion, ...
      gray_micro_crop/S01/S01_..._01/<frames>      (or gray_micro/ for uncropped frames)

AU cells mark some AUs with ``"(k)"`` (``"AU1+AU2+AU4(k)"``); like the MEB library, mefast leaves them out
unless ``keep_k=True``, and lists each one left out in :attr:`Dataset.corrections`. Emotions may combine
labels (``"Negative+Surprise"``). A clip folder holds exactly onset..offset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._engine.layout import Layout, emotion_words, plain_aus, subject_ids
from .._engine.reader import CorpusSpec, Correction, build, in_subject_folder
from .._engine.table import sheet_columns

__all__ = ["LAYOUT", "SPEC", "read"]

CORRECTIONS: tuple[Correction, ...] = (
    Correction(
        144,
        "labels",
        145,
        "the AU and emotion labels of these two rows are swapped in the sheet; fix from the MEB library",
    ),
)


SPEC = CorpusSpec(
    name="4dme",
    title="4DME",
    annotation_files=("4DME_Labelling_Micro_release v1.xlsx", "4DME_Labelling_Micro_release_v1.xlsx"),
    columns=sheet_columns(
        subject="sub_ID",
        clip="fold_name",
        frames=("{Field}",),
        aus=("AUs", "AU", "Action Units"),
        emotion=("Emotion", "Estimated Emotion"),
    ),
    clip_dirs=in_subject_folder,
    emotions=frozenset({"positive", "negative", "surprise", "repression", "others"}),
    release_rows=267,
    corrections=CORRECTIONS,
    drop_au_flags=("k",),
    multi_label=True,
    grey=True,
)


def read(root: str | Path, annotations: str | Path | None = None, *, corrections: bool = True, keep_k: bool = False):
    """Read 4DME.

    Parameters
    ----------
    root : path-like
        ``gray_micro_crop`` or ``gray_micro`` (folders ``<sub_ID>/<fold_name>/``).
    annotations : path-like, optional
        The labelling sheet; searched for when omitted.
    corrections : bool
        Apply the known corrections.
    keep_k : bool
        Keep the AUs marked ``"(k)"``.
    """
    spec = dataclasses.replace(SPEC, drop_au_flags=()) if keep_k else SPEC
    return build(spec, root, annotations, corrections=corrections)


def _layout_aus(aus: Sequence[int], rng: np.random.Generator) -> str:
    """``AU1+AU2``, sometimes with a ``(k)`` AU the reader leaves out."""
    k = [f"{int(rng.choice([a for a in (25, 26, 43, 45) if a not in aus]))}(k)"] if rng.random() < 0.4 else []
    return plain_aus([*aus, *k], rng, prefix="AU")


#: The on-disk layout, for the synthetic writer.
LAYOUT = Layout(
    spec=SPEC,
    path="4DME/gray_micro/{subject}/{clip}/img{n:04d}.jpg",
    cropped_path="4DME/gray_micro_crop/{subject}/{clip}/img{n:04d}.jpg",
    labels=emotion_words("Positive", "Surprise", "Negative", "Negative", "Negative", "Negative", "Repression"),
    subject=subject_ids("S{k:02d}"),
    aus=_layout_aus,
)
