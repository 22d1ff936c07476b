"""MDMO's onset -> every-frame flows per clip: each flow from scratch against warm-started flows.

``mdmo flows per clip``: ``mefast.compute_flow`` from the first frame to every frame of one 67-frame clip (CASME
II's mean onset-to-offset length) at 128 x 128 (``PreprocessOptions.mdmo_size``), ``PreprocessOptions().mdmo_flow``
(the ``per-frame`` preset), 1 thread, as
``mefast.preprocess`` computes MDMO's flows: every flow from scratch (``warm_start=False``, the baseline: frame
0's pyramid built once, flows bit-identical to pairwise ``mefast.tvl1``) and warm-started (``warm_start=True``,
the default of ``PreprocessOptions.mdmo_warm_start``: runs of 8 frames, each flow after a run's first started
from the previous one at full resolution). The clip is a synthetic face (``mefast.datasets.synthetic``) with an
AU motion rising and falling over the clip and a head drift, rendered at 256 x 256 with sensor noise and
downscaled (area), so the exact flows are known: each row reports its mean endpoint error against them and
(warm row) its mean endpoint difference from the cold flows (tests/flow/test_warm_start.py asserts <= 1.05x the
cold error and < 0.04 px).

Run: ``python -m pytest benchmarks/perf/test_mdmo_warm_start.py --benchmark-enable --benchmark-only -q`` (on a
loaded machine add ``--benchmark-timer=time.process_time``: the flows run on the calling thread).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import mefast
from mefast.datasets.synthetic._face_motion import Event, Recording, SubjectStyle
from mefast.pipeline import PreprocessOptions
from mefast.testing import endpoint_error

MDMO_FLOW = PreprocessOptions().mdmo_flow  # the settings preprocess uses for these flows


@pytest.fixture(scope="module")
def clip(smoke):
    n = 12 if smoke else 67
    event = Event(2, n // 2, n - 3, (1, 2), (3.0, 3.0))  # brows up 3 px at the apex (256x256)
    rec = Recording((256, 256), SubjectStyle(noise=1.0), 0, n, (event,), (0.8, -0.6, 0.2, 0.2, 1.0, 0.0), (), 7, True)
    frames = np.stack([cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in rec.render()])
    truth = mefast.resize_flow(np.stack([rec.flow(0, t) for t in range(1, n)]), (128, 128))
    cold = mefast.compute_flow(frames, params=MDMO_FLOW, n_threads=1)
    return frames, truth, cold


@pytest.mark.parametrize("warm", [False, True], ids=["from scratch", "warm-started"])
def test_mdmo_flows(benchmark, report, clip, warm):
    frames, truth, cold = clip
    flows = mefast.compute_flow(frames, params=MDMO_FLOW, n_threads=1, warm_start=warm)
    epe = endpoint_error(flows, truth)
    diff = endpoint_error(flows, cold, border=8)
    assert epe <= 1.05 * endpoint_error(cold, truth) and diff < 0.04
    benchmark.pedantic(
        mefast.compute_flow, args=(frames,), kwargs={"params": MDMO_FLOW, "n_threads": 1, "warm_start": warm},
        rounds=5, iterations=1,
    )  # fmt: skip
    name = "warm-started (warm_start=True, the preprocess default)" if warm else "every flow from scratch (before)"
    report(f"mdmo flows per clip, {len(frames)} frames 128x128, per-frame preset, 1 thread", name, benchmark,
           baseline=not warm, epe_px=epe, diff_from_cold_px=diff)  # fmt: skip
