"""Flow presets on the battery: mean and worst-case endpoint error, and time per pair, next to the peers.

What is held out: held-out seeds (the tuning images warped by other random fields), plus Motorcycle, an image the
tuning never saw. The battery (:mod:`mefast._battery`, exported as ``mefast.testing.flow_battery``): 4 images (the
astronaut face, scikit-image's cameraman head and Chelsea the cat's face, scikit-learn's china.jpg scene) x 4
amplitudes (0.5, 1, 2, 4 px maximum displacement) x 4 random smooth fields, 340x280, sensor noise of 1 grey level,
drawn from the *report* seeds (1_000_000 + k), which no parameter was chosen on: the same 4 images as the tuning
seeds, only the fields and the noise differ. Plus the Middlebury 2014 "Motorcycle" stereo pair with its measured
disparity (shipped by scikit-image), at a quarter of its size, the one image the tuning never saw. (The group name
in the results file, "... 64 held-out pairs ...", means these report-seed pairs.)

Every method runs the 64 synthetic pairs one after the other on one thread with its engine reused: mefast's
four battery presets (``mefast.TVL1``: ``opencv``, ``accurate``, ``fast``, ``robust``), OpenCV's DualTVL1 with
its defaults (the baseline) and OpenCV's DIS ``PRESET_MEDIUM``. Before timing, every pair's EPE is computed and
the mean, the worst case and the Motorcycle pair's EPE are asserted below each method's bound (about 2x what it
measured when the bound was set), so a change that loses accuracy fails here. The per-pair EPEs are recorded
with the times.

Besides pytest-benchmark's wall time, each pair's CPU time (``time.process_time``, the least over the passes) is
recorded: every method runs on one thread, so that is its time on one core, and on the shared development
machine it is what stays put while other jobs come and go (wall time does not). The figures issue 17's goal 3
asks for are recorded with each mefast preset, every one measured on the same pairs in the same session:

* ``epe_mean_vs_dualtvl1``: its mean EPE over DualTVL1's (``accurate``: at most 0.75);
* ``cpu_ms_per_pair`` (``accurate``: at most 15 ms) and ``cpu_speedup_vs_dualtvl1`` (``opencv``: at least 20);
* ``pairs_below_dis_medium_epe`` (of ``n_pairs``; ``fast``: all of them), ``pairs_not_below_dis_medium`` (which,
  with both EPEs), ``middlebury_motorcycle_below_dis_medium``, ``cpu_time_vs_dis_medium`` (the battery's CPU
  time over DIS medium's; ``fast``: at most 1) and ``pairs_faster_than_dis_medium``. ``robust`` has the same
  figures: it is the cheapest setting the tuning found below DIS medium on every tuning pair (synthetic and
  layered stereo), so they say what that costs in time and whether it holds on the report pairs.

The presets were chosen on the battery's tuning seeds by ``benchmarks/flow/tune_presets.py``; the cases here
are asserted to come from the report seeds.

Run: ``python -m pytest benchmarks/flow/test_battery.py --benchmark-enable --benchmark-only -q``. Disabled
benchmarks (CI's smoke run) check the same bounds on one pair and the Motorcycle pair, untimed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import pytest

import mefast
from mefast._battery import AMPLITUDES, BATTERY_IMAGES, REPORT_SEED_BASE, flow_battery, stereo_ground_truth

N_SEEDS = 4
GROUP = f"flow battery 340x280, {len(BATTERY_IMAGES) * len(AMPLITUDES) * N_SEEDS} held-out pairs, 1 thread"

# (mean EPE, worst pair's EPE, Motorcycle EPE) bounds: about 2x the values measured on the report split when
# these were set (DualTVL1 0.123/0.444/3.22, DIS medium 0.155/0.340/0.96, opencv 0.119/0.446/3.09,
# accurate 0.084/0.254/1.15, fast 0.105/0.284/1.31; the presets as tuned for issue 17.3).
DUAL, DIS = "opencv DualTVL1 (defaults)", "opencv DIS medium"
BOUNDS = {
    DUAL: (0.24, 0.9, 6.0),
    DIS: (0.31, 0.7, 2.0),
    "mefast.TVL1 preset=opencv": (0.24, 0.9, 6.0),
    "mefast.TVL1 preset=accurate": (0.17, 0.51, 2.3),
    "mefast.TVL1 preset=fast": (0.21, 0.57, 2.6),
    # set from its tuning figures before its first report run (mean 0.095, worst 0.27; stereo stand-in 0.73)
    "mefast.TVL1 preset=robust": (0.2, 0.55, 2.0),
}


@dataclass
class Measured:
    """One method's figures on the battery: per-pair EPE and CPU time, and the Motorcycle pair's EPE."""

    epe: np.ndarray
    cpu_ms: np.ndarray
    stereo_epe: float


#: Each method's figures, kept for the methods measured after it in the same session (the peers run first).
_MEASURED: dict[str, Measured] = {}


@pytest.fixture(scope="module")
def battery(smoke):
    if smoke:
        cases = flow_battery(images=("cameraman",), amplitudes=(2.0,), n_seeds=1)
    else:
        cases = flow_battery(n_seeds=N_SEEDS)
    assert all(c.seed >= REPORT_SEED_BASE for c in cases)  # the report split only: no tuning seed is reported
    return cases, stereo_ground_truth()


def _engine(method: str):
    if method == DUAL:
        of = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda a, b: of.calc(a, b, None)
    if method == DIS:
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda a, b: dis.calc(a, b, None)
    return mefast.TVL1(method.rsplit("=", 1)[1])


def _run(engine, cases, flows: list, cpu_ms: np.ndarray) -> None:
    """Every pair in a row; ``cpu_ms`` keeps each pair's least CPU time over the passes so far."""
    flows.clear()
    for i, c in enumerate(cases):
        t0 = time.process_time()
        flows.append(engine(c.frame0, c.frame1))
        cpu_ms[i] = min(cpu_ms[i], 1e3 * (time.process_time() - t0))


def _measure(method: str, cases, stereo) -> tuple[Measured, list, Callable[[], None]]:
    engine = _engine(method)
    flows: list[np.ndarray] = []
    cpu_ms = np.full(len(cases), np.inf)
    _run(engine, cases, flows, cpu_ms)
    epe = np.array([c.endpoint_error(f) for c, f in zip(cases, flows, strict=True)])
    stereo_epe = stereo.endpoint_error(_engine(method)(stereo.frame0, stereo.frame1))
    return Measured(epe, cpu_ms, stereo_epe), flows, lambda: _run(engine, cases, flows, cpu_ms)


def _peer(method: str, cases, stereo) -> Measured:
    """A peer's figures: from its own test when that ran in this session, else measured now (one pass)."""
    if method not in _MEASURED or len(_MEASURED[method].epe) != len(cases):
        _MEASURED[method] = _measure(method, cases, stereo)[0]
    return _MEASURED[method]


def _versus(me: Measured, method: str, cases, stereo) -> dict:
    """The goal's comparisons (issue 17.3) of a mefast preset with OpenCV's DualTVL1 and DIS medium."""
    dual, dis = _peer(DUAL, cases, stereo), _peer(DIS, cases, stereo)
    out = {
        "epe_mean_vs_dualtvl1": float(me.epe.mean() / dual.epe.mean()),
        "cpu_speedup_vs_dualtvl1": float(dual.cpu_ms.sum() / me.cpu_ms.sum()),
        "pairs_below_dis_medium_epe": int((me.epe < dis.epe).sum()),
        "cpu_time_vs_dis_medium": float(me.cpu_ms.sum() / dis.cpu_ms.sum()),
        "pairs_faster_than_dis_medium": int((me.cpu_ms <= dis.cpu_ms).sum()),
        "middlebury_motorcycle_below_dis_medium": bool(me.stereo_epe < dis.stereo_epe),
    }
    losing = [(c.name, round(float(e), 4), round(float(d), 4)) for c, e, d in zip(cases, me.epe, dis.epe, strict=True)]
    out["pairs_not_below_dis_medium"] = [x for x in losing if x[1] >= x[2]]
    return out


@pytest.mark.parametrize("method", list(BOUNDS))
def test_battery(benchmark, report, battery, method):
    cases, stereo = battery
    cv2.setNumThreads(1)
    t0 = time.perf_counter()
    me, flows, run_all = _measure(method, cases, stereo)
    first_pass = time.perf_counter() - t0
    epe = me.epe
    mean_bound, worst_bound, stereo_bound = BOUNDS[method]
    assert np.isfinite(epe).all()
    assert epe.mean() < mean_bound, (method, epe.mean())
    assert epe.max() < worst_bound, (method, epe.max(), cases[int(epe.argmax())].name)
    assert me.stereo_epe < stereo_bound, (method, me.stereo_epe)
    if benchmark.disabled:  # smoke run: the accuracy checks above are the point
        return

    # DualTVL1 takes about a second per pair on one thread: one round of the battery is enough for it
    rounds = 1 if method in (DUAL, "mefast.TVL1 preset=opencv") else 3
    if first_pass > 30:  # the first pass was one round already (the warm-up of the engines is in it)
        rounds = 1
    benchmark.pedantic(run_all, rounds=rounds, iterations=1)
    again = np.array([c.endpoint_error(f) for c, f in zip(cases, flows, strict=True)])
    np.testing.assert_allclose(again, epe, rtol=0, atol=1e-6)  # deterministic: the timed runs computed the same
    _MEASURED[method] = me

    amps = np.array([c.amplitude for c in cases])
    stats = getattr(benchmark, "stats", None)
    report(
        GROUP,
        method,
        benchmark,
        baseline=method == DUAL,
        n_pairs=len(cases),
        ms_per_pair=1e3 * float(stats.stats.median) / len(cases) if stats is not None else float("nan"),
        cpu_ms_per_pair=float(me.cpu_ms.mean()),
        epe_mean=float(epe.mean()),
        epe_worst=float(epe.max()),
        worst_case=cases[int(epe.argmax())].name,
        epe_mean_by_amplitude={f"{a:g}": float(epe[amps == a].mean()) for a in sorted(set(amps))},
        epe_worst_by_amplitude={f"{a:g}": float(epe[amps == a].max()) for a in sorted(set(amps))},
        epe_middlebury_motorcycle=float(me.stereo_epe),
        **(_versus(me, method, cases, stereo) if method.startswith("mefast") else {}),
        # the preset's values as measured: the README's preset table describes it from them, and tests/docs
        # checks that they are still the preset's (a changed preset needs a new measurement)
        **({"params": asdict(mefast.TVL1_PRESETS[method.rsplit("=", 1)[1]])} if method.startswith("mefast") else {}),
        cases=[c.name for c in cases],
        epe_per_case=[round(float(e), 5) for e in epe],
        cpu_ms_per_case=[round(float(t), 3) for t in me.cpu_ms],
    )
