"""A synthetic micro-expression dataset in the on-disk layouts of the real corpora.

:func:`write_synthetic` renders clips of a real photograph (the public-domain astronaut face of
:func:`mefast.data.face_image`, with its 68 landmarks) moved by the displacement fields of individual AUs at
micro-expression amplitudes, and writes them as each corpus distributes its data: frame folders named and
numbered like the corpus's, and an .xlsx sheet with the corpus's own columns, subject ids, AU notation and
emotion words. :func:`mefast.datasets.load` reads them like the real thing.

What varies:

* per subject: face scale, aspect, rotation, position, face shape, lighting (gain, bias, gradient, tint)
  and sensor noise;
* per clip: 1-3 AUs of AU1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17 (the CD6ME set) forming one expression,
  amplitudes in pixels, onset -> apex -> offset with raised-cosine profiles, head drift, blinks;
* labels: the emotion follows from the AUs through a fixed table per corpus (so it can be learned), and
  ``label_noise`` flips a fraction of the written emotions (the truth keeps the real one).

Everything is a function of ``seed``. The exact displacement field of every frame and the exact flow
between any two frames are available from :func:`truth` (:meth:`SyntheticTruth.fields`,
:meth:`SyntheticTruth.flow`), so flow and descriptor code can be tested against known motion.

>>> from mefast.datasets import synthetic, load
>>> paths = synthetic.write_synthetic("/tmp/me", n_subjects=2, clips_per_subject=2)  # doctest: +SKIP
>>> root, sheet = paths["casme2"]                                                   # doctest: +SKIP
>>> casme2 = load("casme2", root, sheet)                                             # doctest: +SKIP
"""

from __future__ import annotations

from .._engine.layout import Layout
from ..corpora import LAYOUTS
from ._long import LONG_TRUTH_FILE, LongRecording, PlantedExpression, make_long_recording, write_long_synthetic
from ._sheets import sheet_table, write_sheet
from ._truth import TRUTH_FILE, SyntheticTruth, clip_fields, clip_flow, truth
from ._writer import EXPRESSIONS, foreign_files, write_synthetic

__all__ = [
    "EXPRESSIONS",
    "LONG_TRUTH_FILE",
    "LongRecording",
    "PlantedExpression",
    "make_long_recording",
    "write_long_synthetic",
    "LAYOUTS",
    "TRUTH_FILE",
    "Layout",
    "SyntheticTruth",
    "clip_fields",
    "clip_flow",
    "foreign_files",
    "sheet_table",
    "truth",
    "write_sheet",
    "write_synthetic",
]
