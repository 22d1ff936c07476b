"""The CAS(ME)^3-sized synthetic corpus shared by the large-frame and scale benchmarks.

CAS(ME)^3 part A ships 1280x720 colour JPEG frames and 860 micro-expressions of 100 subjects, 10-30 frames
from onset to offset at 30 fps. :func:`casme3_corpus` writes a synthetic corpus of that frame size and clip
length with ``_shared.synthetic_corpus`` (``casme3a`` layout: recording folders shared by
some clips, as in the real release) once to ``$MEFAST_BENCH_DIR`` (default: the temp dir) and reuses it; a
``paths.json`` written last marks it complete. ``python benchmarks/pipeline/_casme3.py`` writes it ahead of a
benchmark run.

Rendering a 1280x720 frame costs about 30 ms of a core, so the 1000-clip corpus of the scale benchmark is the 200
rendered clips (8 subjects x 25) five times over (:func:`replicate`): five subjects per rendered one, each a
separate sample and store row whose frames are the same files. Every step of preprocessing (decode, detection,
flows, descriptors, write) is done for every row; only the page cache is shared, and the whole corpus (4 GB of
JPEGs for 1000 distinct clips) would fit in it as well.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

# The corpus writer shared with test_pipeline.py (benchmark modules are not importable by name under importlib mode).
_spec = importlib.util.spec_from_file_location("_mefast_bench_shared", Path(__file__).with_name("_shared.py"))
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)

#: 8 subjects x 25 clips = 200 clips of 1280x720 frames, 10-30 frames from onset to offset.
CASME3_FULL = {"n_subjects": 8, "clips_per_subject": 25, "size": (720, 1280), "n_frames": (10, 30)}
#: CI's smoke runs: 2 clips of the same frame size, written to pytest's temp dir.
CASME3_SMALL = {"n_subjects": 1, "clips_per_subject": 2, "size": (720, 1280), "n_frames": (8, 10)}


def casme3_corpus(spec: dict, cache: Path | None = None, *, n_jobs: int = 2):
    """The ``casme3a`` Dataset of a synthetic corpus of ``spec``, written to ``cache`` unless already there."""
    return _shared.synthetic_corpus("casme3a", spec, cache, n_jobs=n_jobs)


def replicate(ds, times: int):
    """``ds`` ``times`` over, subjects renamed ``<subject>~k`` (k >= 2): separate samples reading the same frames."""
    import pandas as pd

    from mefast.datasets import Dataset

    parts = []
    for k in range(1, times + 1):
        s = ds.samples.copy()
        if k > 1:
            s["subject"] = [f"{v}~{k}" for v in s["subject"]]
            s["sample_id"] = [f"{ds.name}/{sub}/{clip}" for sub, clip in zip(s["subject"], s["clip"], strict=True)]
        parts.append(s)
    return Dataset(
        name=ds.name, root=ds.root, samples=pd.concat(parts, ignore_index=True),
        frame_numbers=ds.frame_numbers * times, frame_paths=ds.frame_paths * times, au_names=ds.au_names,
        annotations=ds.annotations, clip_dirs=list(ds.clip_dirs) * times,
    )  # fmt: skip


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    ds = casme3_corpus(CASME3_FULL)
    print(f"{ds}: {sum(len(p) for p in ds.frame_paths)} frames listed, {time.perf_counter() - t0:.0f} s")
