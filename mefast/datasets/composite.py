"""Composite datasets: MEGC2019 (3 classes), MEGC2018 (objective classes I-V), CD6ME (12 AUs), or any union.

Definitions:

* ``"megc2019"``: SMIC-HS, CASME II and SAMM; the samples whose emotion maps to negative, positive or
  surprise (:data:`mefast.labels.MEGC2019_MAPS`); the official set has 442 samples
  (SMIC 164, CASME II 145, SAMM 133).
* ``"megc2018"``: CASME II and SAMM; the samples of objective classes I-V.
* ``"cd6me"``: CASME, CASME II, SAMM, 4DME, MMEW and CAS(ME)^3 part A; every sample, evaluated on the AUs
  :data:`mefast.labels.CD6ME_AUS` (2031 samples with the full corpora).
* any other name: the concatenation of the given datasets, AUs as found.

Members are the datasets passed (a composite of fewer corpora is allowed: the synthetic data covers three);
a dataset outside a definition is an error. They are taken in a canonical order (by name), so a composite's
samples are in the same order however its members were given, and a store made from it resumes either way.
The composite keeps its members' annotation files (:attr:`CompositeDataset.member_annotations`), which
``preprocess`` hashes into a store's provenance.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..labels import CD6ME_AUS, au_name
from ._engine.base import Dataset, au_names_of

__all__ = ["COMPOSITES", "CompositeDataset", "CompositeDefinition", "composite"]


@dataclass(repr=False)
class CompositeDataset(Dataset):
    """A :class:`~mefast.datasets.Dataset` made of several corpora (see :func:`composite`).

    Attributes
    ----------
    member_annotations : tuple of Path
        The members' annotation files, in member order (``annotations`` is None: there is no one file).
    """

    member_annotations: tuple[Path, ...] = ()

    def subset(self, index: Any, name: str | None = None) -> CompositeDataset:
        """A composite of the samples at ``index`` (in that order); see :meth:`Dataset.subset`."""
        part = super().subset(index, name)
        values = {f.name: getattr(part, f.name) for f in fields(Dataset)}
        return CompositeDataset(**values, member_annotations=self.member_annotations)


def _member_annotations(d: Dataset) -> tuple[Path, ...]:
    if isinstance(d, CompositeDataset):
        return d.member_annotations
    return () if d.annotations is None else (Path(d.annotations),)


def _canonical(d: Dataset) -> tuple[str, str]:
    """Sort key of a member: its name, then its first sample (members of one name hold disjoint samples)."""
    return str(d.name), str(d.samples["sample_id"].iloc[0]) if len(d.samples) else ""


@dataclass(frozen=True)
class CompositeDefinition:
    """A named composite: which corpora may take part, which samples stay, which AUs it is scored on."""

    members: frozenset[str]
    description: str
    aus: tuple[int, ...] | None = None  # None: the union of the members' AUs

    def keep(self, samples: pd.DataFrame, name: str) -> np.ndarray:
        """Boolean mask of the samples of the concatenated members that belong to the composite."""
        if name == "megc2019":
            return (samples["megc2019"] != "").to_numpy()
        if name == "megc2018":
            return samples["objective_class"].between(1, 5).to_numpy()
        return np.ones(len(samples), bool)


COMPOSITES: dict[str, CompositeDefinition] = {
    "megc2019": CompositeDefinition(
        frozenset({"smic", "casme2", "samm"}), "MEGC2019: negative / positive / surprise from SMIC, CASME II, SAMM"
    ),
    "megc2018": CompositeDefinition(
        frozenset({"casme2", "samm"}), "MEGC2018: objective classes I-V from CASME II and SAMM"
    ),
    "cd6me": CompositeDefinition(
        frozenset({"casme", "casme2", "samm", "4dme", "mmew", "casme3a"}),
        "CD6ME: six corpora, 12 AUs, leave-one-dataset-out",
        aus=CD6ME_AUS,
    ),
}


def composite(datasets: Sequence[Dataset], name: str) -> Dataset:
    """Combine datasets into one, following the definition of ``name`` when it is a known composite.

    Parameters
    ----------
    datasets : sequence of Dataset
        Single corpora (or composites) read by :func:`mefast.datasets.load`.
    name : str
        ``"megc2019"``, ``"megc2018"``, ``"cd6me"`` or any other name (plain concatenation).

    Returns
    -------
    CompositeDataset
        Samples of the members ordered by name (whatever the order of ``datasets``), each member's in its
        order; RangeIndex; ``au_names`` is the composite's AU set; ``member_annotations`` the members'
        annotation files.

    Raises
    ------
    ValueError
        No datasets, a dataset outside the composite's definition, or a sample id present twice.
    """
    if not datasets:
        raise ValueError(f"composite {name!r}: no datasets given")
    datasets = sorted(datasets, key=_canonical)  # stable: the same samples in the same rows, however given
    definition = COMPOSITES.get(name)
    if definition is not None:
        for d in datasets:
            outside = set(d.samples["dataset"]) - definition.members
            if outside:
                raise ValueError(
                    f"composite {name!r} takes {sorted(definition.members)}; dataset {d.name!r} holds "
                    f"samples of {sorted(outside)}"
                )
    samples = pd.concat([d.samples for d in datasets], ignore_index=True)
    dup = samples["sample_id"][samples["sample_id"].duplicated()]
    if len(dup):
        raise ValueError(f"composite {name!r}: sample ids present twice, e.g. {dup.iloc[0]!r}")
    mask = definition.keep(samples, name) if definition is not None else np.ones(len(samples), bool)
    idx = np.flatnonzero(mask)

    numbers = [n for d in datasets for n in d.frame_numbers]
    paths = [p for d in datasets for p in d.frame_paths]
    dirs = [p for d in datasets for p in (d.clip_dirs or [d.root] * len(d))]
    kept = samples.iloc[idx].reset_index(drop=True)
    ids = set(kept["sample_id"])
    corrections = pd.concat([d.corrections for d in datasets], ignore_index=True)
    issues = pd.concat([d.issues for d in datasets], ignore_index=True)
    if definition is not None and definition.aus is not None:
        au_names = tuple(au_name(a) for a in definition.aus)
    else:
        au_names = au_names_of(kept["aus"])
    try:
        root = Path(os.path.commonpath([str(d.root) for d in datasets]))
    except ValueError:  # different drives
        root = datasets[0].root
    files = tuple(dict.fromkeys(p for d in datasets for p in _member_annotations(d)))
    return CompositeDataset(
        name=name,
        root=root,
        samples=kept,
        frame_numbers=[numbers[i] for i in idx],
        frame_paths=[paths[i] for i in idx],
        au_names=au_names,
        annotations=None,
        clip_dirs=[dirs[i] for i in idx],
        corrections=corrections[corrections["sample_id"].isin(ids)].reset_index(drop=True),
        issues=issues[issues["sample_id"].isin(ids | {""})].reset_index(drop=True),
        member_annotations=files,
    )
