"""The corpora mefast reads, one module each: its reader spec, reader and on-disk layout.

This package holds the registry: corpus name -> reader, spec and layout.
"""

from __future__ import annotations

from collections.abc import Callable

from .._engine.base import Dataset
from .._engine.layout import Layout
from .._engine.reader import CorpusSpec
from . import casme, casme2, casme3, fourdme, mmew, samm, smic

__all__ = ["ALIASES", "LAYOUTS", "READERS", "SPECS"]

READERS: dict[str, Callable[..., Dataset]] = {
    "casme": casme.read,
    "casme2": casme2.read,
    "samm": samm.read,
    "smic": smic.read,
    "mmew": mmew.read,
    "4dme": fourdme.read,
    "casme3a": casme3.read_a,
    "casme3c": casme3.read_c,
}

SPECS: dict[str, CorpusSpec] = {
    s.name: s
    for s in (casme.SPEC, casme2.SPEC, samm.SPEC, smic.SPEC, mmew.SPEC, fourdme.SPEC, casme3.SPEC_A, casme3.SPEC_C)
}

#: Other spellings accepted by :func:`mefast.datasets.load`.
ALIASES: dict[str, str] = {
    "casmeii": "casme2",
    "smichs": "smic",
    "fourd": "4dme",
    "cas(me)3a": "casme3a",
    "cas(me)^3a": "casme3a",
    "cas(me)3c": "casme3c",
    "cas(me)^3c": "casme3c",
}

#: On-disk layouts, for the synthetic writer (in the order it writes them).
LAYOUTS: dict[str, Layout] = {
    s.corpus: s
    for s in (
        casme2.LAYOUT,
        samm.LAYOUT,
        casme3.LAYOUT_A,
        casme3.LAYOUT_C,
        casme.LAYOUT,
        mmew.LAYOUT,
        fourdme.LAYOUT,
        smic.LAYOUT,
    )
}
