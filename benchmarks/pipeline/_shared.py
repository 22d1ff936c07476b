"""What the pipeline benchmarks share: a synthetic corpus written once and reused, and the memory and CPU of a run.

:func:`synthetic_corpus` writes a corpus with :func:`mefast.datasets.synthetic.write_synthetic` once to a cache
folder (default ``$MEFAST_BENCH_DIR``, else the temp dir) and reuses it; a ``paths.json`` written last marks it
complete. :class:`PeakMemory` samples the resident memory of this process and its descendants while a run goes on.
Loaded by file path (benchmark modules are not importable by name under pytest's importlib mode).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

import psutil


def synthetic_corpus(corpus: str, spec: dict, cache: Path | None = None, *, n_jobs: int = 2):
    """The Dataset of a synthetic ``corpus`` (layout name) of ``spec``, written to ``cache`` unless already there.

    ``spec`` holds ``write_synthetic``'s ``n_subjects``, ``clips_per_subject``, ``size`` and ``n_frames``; the
    corpus lives in ``cache/mefast-bench-<corpus>-<spec values>``. Checks that it holds every clip of ``spec``.
    """
    from mefast import datasets
    from mefast.datasets.synthetic import write_synthetic

    cache = Path(os.environ.get("MEFAST_BENCH_DIR", tempfile.gettempdir())) if cache is None else cache
    tag = "x".join(str(v) for v in (spec["n_subjects"], spec["clips_per_subject"], *spec["size"], *spec["n_frames"]))
    out = cache / f"mefast-bench-{corpus}-{tag}"
    paths = out / "paths.json"  # written last: the corpus is complete
    if not paths.exists():
        root, ann = write_synthetic(out, corpora=(corpus,), seed=0, n_jobs=n_jobs, overwrite=True, **spec)[corpus]
        paths.write_text(json.dumps([str(root), str(ann)]))
    root, ann = json.loads(paths.read_text())
    ds = datasets.load(corpus, root, ann)
    expected = spec["n_subjects"] * spec["clips_per_subject"]
    assert len(ds) == expected, (len(ds), expected)
    return ds


class PeakMemory:
    """Peak resident memory of this process and all its descendants, sampled every 50 ms, and their CPU time.

    Use as a context manager around a run: ``peak`` (bytes) and ``cpu_s`` (user + system seconds of every
    process alive at some sample, those started during the run counted from 0) are set on exit.
    """

    def __init__(self) -> None:
        self.peak = 0
        self.cpu_s = 0.0
        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self, first: bool = False) -> int:
        """The resident memory (bytes) of this process and its descendants now; records their CPU times."""
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
                t = proc.cpu_times()
            except psutil.Error:
                continue
            self._last[proc.pid] = t.user + t.system
            self._base.setdefault(proc.pid, self._last[proc.pid] if first else 0.0)  # started during the run: 0
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self.sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        self.cpu_s = sum(self._last[pid] - self._base[pid] for pid in self._last)
