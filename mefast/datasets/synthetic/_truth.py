"""What a synthetic corpus holds: the rendered motion, labels, exact fields and flows, read back from disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ...labels import format_aus
from ..corpora import LAYOUTS
from ._face_motion import Event, Recording, SubjectStyle

__all__ = ["TRUTH_FILE", "SyntheticTruth", "clip_fields", "clip_flow", "truth", "write_truth"]

TRUTH_FILE = "mefast_synthetic.json"


def write_truth(root: Path, corpus: str, size: tuple[int, int], seed: int, cropped: bool, plan: dict) -> None:
    recs = []
    for rec, folder, _names, rows in plan["recordings"]:
        recs.append(
            {
                "folder": folder,
                "subject": rows[0]["subject_id"],
                "first_frame": rec.first_frame,
                "n_frames": rec.n_frames,
                "drift": list(rec.drift),
                "blinks": [list(b) for b in rec.blinks],
                "noise_seed": rec.noise_seed,
                "events": [
                    {
                        "clip": r["sheet_clip"],
                        "onset": e.onset,
                        "apex": e.apex,
                        "offset": e.offset,
                        "aus": list(e.aus),
                        "amplitudes": list(e.amplitudes),
                        "emotion": r["emotion"],
                        "true_emotion": r["true_emotion"],
                        "category": r["category"],
                        "label_noise": r["noisy"],
                    }
                    for e, r in zip(rec.events, rows, strict=True)
                ],
            }
        )
    doc = {
        "format": "mefast-synthetic/1",
        "corpus": corpus,
        "size": list(size),
        "seed": seed,
        "cropped": cropped,
        "grey": LAYOUTS[corpus].grey,
        "styles": plan["styles"],
        "recordings": recs,
    }
    (root / TRUTH_FILE).write_text(json.dumps(doc, indent=1))


class SyntheticTruth:
    """What was rendered into a synthetic corpus: labels, motion, exact fields and flows.

    Parameters
    ----------
    root : path-like
        A frame root written by :func:`write_synthetic` (it holds ``mefast_synthetic.json``).

    Attributes
    ----------
    corpus : str
    size : (int, int)
    samples : DataFrame
        One row per ME in sheet order: ``sample_id`` (as :func:`mefast.datasets.load` names it),
        ``subject``, ``clip`` (as written), ``folder``, ``onset``, ``apex``, ``offset``, ``aus`` (canonical),
        ``amplitudes`` (pixels per AU), ``emotion`` (as written), ``true_emotion``, ``category``,
        ``label_noise``.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        path = self.root / TRUTH_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: {self.root} is not a synthetic corpus root")
        doc = json.loads(path.read_text())
        self.corpus: str = doc["corpus"]
        self.size: tuple[int, int] = tuple(doc["size"])  # type: ignore[assignment]
        styles = {s: _style(v) for s, v in doc["styles"].items()}
        self._recordings: list[Recording] = []
        rows = []
        dup: dict[tuple[str, str], int] = {}
        for ri, r in enumerate(doc["recordings"]):
            events = tuple(
                Event(e["onset"], e["apex"], e["offset"], tuple(e["aus"]), tuple(e["amplitudes"])) for e in r["events"]
            )
            self._recordings.append(
                Recording(
                    self.size,
                    styles[r["subject"]],
                    r["first_frame"],
                    r["n_frames"],
                    events,
                    tuple(r["drift"]),
                    tuple(tuple(b) for b in r["blinks"]),
                    r["noise_seed"],
                    doc["grey"],
                )
            )
            for e in r["events"]:
                key = (r["subject"], e["clip"])
                dup[key] = dup.get(key, 0) + 1
                clip = e["clip"] if dup[key] == 1 else f"{e['clip']}{dup[key]}"
                rows.append(
                    {
                        "sample_id": f"{self.corpus}/{r['subject']}/{clip}",
                        "subject": r["subject"],
                        "clip": clip,
                        "folder": r["folder"],
                        "onset": e["onset"],
                        "apex": e["apex"],
                        "offset": e["offset"],
                        "aus": format_aus(e["aus"]),
                        "amplitudes": tuple(e["amplitudes"]),
                        "emotion": e["emotion"],
                        "true_emotion": e["true_emotion"],
                        "category": e["category"],
                        "label_noise": e["label_noise"],
                        "_recording": ri,
                    }
                )
        self.samples = pd.DataFrame(rows)

    def __len__(self) -> int:
        return len(self.samples)

    def recording(self, sample_id: str) -> Recording:
        """The rendered folder of a sample (shared by the MEs of one CAS(ME)^3 recording)."""
        hit = self.samples.index[self.samples["sample_id"] == sample_id]
        if len(hit) == 0:
            raise KeyError(f"{sample_id!r} is not a sample of the synthetic {self.corpus} at {self.root}")
        return self._recordings[int(self.samples.at[hit[0], "_recording"])]

    def _row(self, sample_id: str) -> pd.Series:
        self.recording(sample_id)
        return self.samples[self.samples["sample_id"] == sample_id].iloc[0]

    def fields(self, sample_id: str, first: int | None = None, last: int | None = None) -> NDArray[np.float32]:
        """Exact displacement from the subject's neutral face of frames ``first..last`` (default onset..offset).

        ``frame_t(x + w_t(x)) = R(x)`` (before noise and lighting).

        Returns
        -------
        fields : ndarray of shape (T, H, W, 2), float32
        """
        row = self._row(sample_id)
        lo = int(row["onset"]) if first is None else int(first)
        hi = int(row["offset"]) if last is None else int(last)
        return self.recording(sample_id).fields(list(range(lo, hi + 1)))

    def flow(self, sample_id: str, first: int | None = None, last: int | None = None) -> NDArray[np.float32]:
        """Exact optical flow from frame ``first`` (default onset) to frame ``last`` (default apex).

        mefast's convention: ``frame_last(y + flow(y)) = frame_first(y)``.

        Returns
        -------
        flow : ndarray of shape (H, W, 2), float32
        """
        row = self._row(sample_id)
        lo = int(row["onset"]) if first is None else int(first)
        hi = int(row["apex"]) if last is None else int(last)
        return self.recording(sample_id).flow(lo, hi)

    def render(self, sample_id: str) -> NDArray[np.uint8]:
        """The frames of the sample's folder as rendered, before JPEG encoding."""
        return self.recording(sample_id).render()


def _style(d: dict[str, Any]) -> SubjectStyle:
    kw: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    return SubjectStyle(**kw)


def truth(root: str | Path) -> SyntheticTruth:
    """The :class:`SyntheticTruth` of a synthetic corpus root written by :func:`write_synthetic`."""
    return SyntheticTruth(root)


def clip_fields(root: str | Path, sample_id: str) -> NDArray[np.float32]:
    """Exact displacement fields of the onset..offset frames of a synthetic sample, ``(T, H, W, 2)``."""
    return SyntheticTruth(root).fields(sample_id)


def clip_flow(
    root: str | Path, sample_id: str, first: int | None = None, last: int | None = None
) -> NDArray[np.float32]:
    """Exact optical flow of a synthetic sample from ``first`` (onset) to ``last`` (apex), ``(H, W, 2)``."""
    return SyntheticTruth(root).flow(sample_id, first, last)
