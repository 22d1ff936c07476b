"""Small flow stores with a known, learnable label signal, for tests, benchmarks and examples.

Each sample's onset-apex flow is the sum of the motions of its action units (a Gaussian patch of flow at
the AU's face region, in the AU's direction, with a random amplitude) plus a smooth per-sample noise
field. Emotions follow from the AUs (happiness: AU6 + AU12, surprise: AU1 + AU2, disgust: AU4 + AU9,
sadness: AU1 + AU15), so classes and AUs are learnable from the flow; the MEGC2019 class and the
objective class follow from the emotion. Strain is computed from the flow with
:func:`mefast.optical_strain`. Nothing here is a real corpus: it checks that training works, not how
well a method does on faces.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..flow import optical_strain
from ..store import MEStore
from ..testing import smooth_field

__all__ = ["EMOTION_AUS", "synthetic_flow_samples", "write_flow_store"]

#: AUs of each synthetic emotion.
EMOTION_AUS: dict[str, tuple[str, ...]] = {
    "happiness": ("AU6", "AU12"),
    "surprise": ("AU1", "AU2"),
    "disgust": ("AU4", "AU9"),
    "sadness": ("AU1", "AU15"),
}
_MEGC2019 = {"happiness": "positive", "surprise": "surprise", "disgust": "negative", "sadness": "negative"}
_OBJECTIVE = {"happiness": 1, "surprise": 2, "disgust": 3, "sadness": 4}
# AU -> (x, y) centre as a fraction of the face box, (u, v) direction; left-right symmetric pairs.
_AU_MOTION: dict[str, tuple[tuple[tuple[float, float], ...], tuple[float, float]]] = {
    "AU1": (((0.4, 0.25), (0.6, 0.25)), (0.0, -1.0)),
    "AU2": (((0.25, 0.22), (0.75, 0.22)), (0.0, -1.0)),
    "AU4": (((0.42, 0.3), (0.58, 0.3)), (0.0, 1.0)),
    "AU6": (((0.3, 0.5), (0.7, 0.5)), (0.0, -1.0)),
    "AU9": (((0.5, 0.55),), (0.0, -1.0)),
    "AU12": (((0.32, 0.75), (0.68, 0.75)), (1.0, -1.0)),
    "AU15": (((0.35, 0.8), (0.65, 0.8)), (0.0, 1.0)),
}
AU_NAMES: tuple[str, ...] = ("AU1", "AU2", "AU4", "AU6", "AU9", "AU12", "AU15")


def _au_flow(au: str, size: int) -> np.ndarray:
    """Unit-amplitude flow ``(2, S, S)`` of one AU; u mirrored on the left half."""
    centres, (du, dv) = _AU_MOTION[au]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.zeros((2, size, size), np.float32)
    for cx, cy in centres:
        g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 0.07**2))
        out[0] += (du if cx >= 0.5 else -du) * g
        out[1] += dv * g
    return out


def synthetic_flow_samples(
    *,
    datasets: Sequence[str] = ("casme2", "samm", "casme3a"),
    n_subjects: int = 4,
    clips_per_subject: int = 6,
    size: int = 32,
    amplitude: float = 1.5,
    noise: float = 0.3,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Samples table, AU matrix ``(N, 7)`` and flows ``(N, 2, S, S)`` float32 (see the module docstring)."""
    rng = np.random.default_rng(seed)
    emotions = list(EMOTION_AUS)
    basis = {a: _au_flow(a, size) for a in AU_NAMES}
    rows, aus, flows = [], [], []
    for d in datasets:
        for s in range(n_subjects):
            for c in range(clips_per_subject):
                emo = emotions[rng.integers(len(emotions))]
                flow = (
                    amplitude * noise * np.moveaxis(smooth_field(size, size, 1.0, seed=int(rng.integers(2**31))), -1, 0)
                )
                for a in EMOTION_AUS[emo]:
                    flow = flow + amplitude * rng.uniform(0.6, 1.4) * basis[a]
                rows.append(
                    {
                        "sample_id": f"{d}/s{s:02d}/c{c:02d}",
                        "dataset": d,
                        "subject": f"s{s:02d}",
                        "clip": f"c{c:02d}",
                        "onset": 0,
                        "apex": 5,
                        "offset": 10,
                        "n_frames": 11,
                        "emotion": emo,
                        "megc2019": _MEGC2019[emo],
                        "objective_class": _OBJECTIVE[emo],
                        "aus": "+".join(a[2:] for a in EMOTION_AUS[emo]),
                    }
                )
                aus.append([a in EMOTION_AUS[emo] for a in AU_NAMES])
                flows.append(flow.astype(np.float32))
    return pd.DataFrame(rows), np.asarray(aus, dtype=np.uint8), np.stack(flows)


def write_flow_store(path: str | Path, *, overwrite: bool = False, **kw) -> MEStore:
    """Write :func:`synthetic_flow_samples` (``**kw``) into a new store with ``flow`` and ``strain``."""
    meta, au, flows = synthetic_flow_samples(**kw)
    size = flows.shape[-1]
    strain = optical_strain(np.moveaxis(flows, 1, -1))
    store = MEStore.create(
        path,
        meta,
        au=au,
        au_names=AU_NAMES,
        overwrite=overwrite,
        arrays={"flow": ((2, size, size), "float32"), "strain": ((size, size), "float32")},
        attrs={"generator": "mefast.train.synthetic.write_flow_store", **{k: v for k, v in kw.items()}},
    )
    for i in range(len(meta)):
        store.write_sample(i, {"flow": flows[i], "strain": strain[i]})
        store.mark_done(i)
    return store
