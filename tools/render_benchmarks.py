#!/usr/bin/env python3
"""Render the README's benchmark tables from the committed results file, the one source of its numbers.

The benchmarks write ``benchmarks/results.json`` (``pytest benchmarks/<area> --benchmark-enable
--benchmark-only --mefast-results=benchmarks/results.json``); this script turns it into the Markdown between
the README's ``<!-- BEGIN name -->`` / ``<!-- END name -->`` markers:

* ``benchmarks``: the table of the "Benchmarks" section (mefast next to its peer, ratio = peer / mefast) and
  the notes under it;
* ``presets``: the TV-L1 preset table, each preset with its figures on the flow battery's held-out seeds (the
  tuning images warped by other random fields), plus Motorcycle, an image the tuning never saw;
* ``handcrafted``: the table of the hand-crafted descriptors (LBP-SIP, LBP-MOP, 3DHOG, HIGO, HOOF, Bi-WOOF
  ablation) next to their NumPy references, and LBP-SIP against LBP-TOP;
* ``magnify``: the Eulerian video magnification of a clip and the two-frame methods, next to the peers;
* ``epochs``: the time of one training epoch per built-in network;
* ``spotting``: frames/s of the long-video spotting feature pass next to an OpenCV loop, and its memory;
* ``viz``: the flow colour coding and a store gallery next to flow_vis and a matplotlib grid;

and of ``docs/scale.md``'s ``scale`` block (``DOC_BLOCKS``): the Dask LocalCluster runs of 1 and 2 bounded workers,
the check of the scaling model against them and what it projects.

Every measured figure of the README and of docs/scale.md lives in one of these blocks; a test (``tests/docs``) fails
on a time, speed-up, rate or memory figure typed anywhere else.

Usage::

    python tools/render_benchmarks.py            # rewrite the README's rendered blocks
    python tools/render_benchmarks.py --check    # exit 1 if the README or docs/scale.md differ from the render

A group or entry missing from the results file is an error naming it (run that benchmark), except for the rows
whose runs take many minutes of OpenCV DualTVL1 or a whole corpus (TV-L1 16 pairs in a row, the 64-pair batch,
the whole-corpus preprocessing, the CAS(ME)^3-sized large-frame and cluster-scale runs, the 10 000-frame spotting
memory run) or that were added later (MDMO's warm-started flows): those are rendered when the results file holds
them. Times are the fastest round of each entry (``min_s``), the least disturbed by other jobs on a shared
machine.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.json"
README = ROOT / "README.md"

# The battery group as the benchmark names it in the results file (its key, not README text): its 64 pairs are the
# held-out seeds, the tuning images warped by other random fields.
BATTERY = "flow battery 340x280, 64 held-out pairs, 1 thread"
HELD_OUT = (
    "held-out seeds (the tuning images warped by other random fields), plus Motorcycle, an image the tuning never saw"
)
# What each battery preset is for; its values are written from the ones the battery recorded (describe_params).
PRESET_PURPOSE = {
    "opencv": "OpenCV's defaults, for published settings",
    "accurate": "the lowest error within 15 ms per pair on the battery's tuning seeds",
    "fast": "below DIS medium's error on the tuning seeds' smooth warps, at no more than its time",
    "robust": "large motion and brightness changes: below DIS medium's error on every tuning pair, synthetic and "
    "layered stereo",
}


def describe_params(p: dict[str, Any]) -> str:
    """TV-L1 parameters as recorded by the battery benchmark (``TVL1Params`` fields), in a few words.

    Fields added to ``TVL1Params`` later may be absent from an older record: absent means their neutral value.
    """
    warps = f"{p['warps']} warps per level" + (f" ({p['finest_warps']} at full size)" if p.get("finest_warps") else "")
    passes = f"{p['outer_iterations']} passes of " if p["outer_iterations"] > 1 else ""
    iters = f"{passes}{p['inner_iterations']} iterations per warp"
    if p.get("finest_inner_iterations"):
        iters += f" ({p['finest_inner_iterations']} at full size)"
    parts = [
        f"lambda {p['lambda_']:g}, theta {p['theta']:g}" + (f", tau {p['tau']:g}" if p["tau"] != 0.25 else ""),
        f"{p['nscales']} scales x {p['scale_step']:g}" + (" anti-aliased" if p["pyramid_smoothing"] else ""),
        f"{warps}, {iters}, epsilon {p['epsilon']:g}",
        f"median {p['median_filtering']}" if p["median_filtering"] > 1 else "no median filter",
    ]
    if p["presmooth_sigma"]:
        parts.insert(1, f"pre-smoothing sigma {p['presmooth_sigma']:g}")
    if p["gamma"]:
        held = p.get("gamma_finest_level", 0)
        parts.append(f"illumination term gamma {p['gamma']:g}" + (f", held below level {held}" if held else ""))
    return ", ".join(parts)


class Results:
    """Lookup of median times and metrics in the results file, with errors that name what is missing."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("schema") != "mefast-benchmarks/1":
            raise ValueError(f"unknown results schema {data.get('schema')!r}")
        self.groups: dict[str, Any] = data["groups"]
        self.used: set[str] = set()

    def entry(self, group: str, name: str) -> dict[str, Any]:
        """The entry ``name`` of ``group``."""
        if group not in self.groups:
            raise KeyError(f"benchmark group {group!r} is not in the results file: run its benchmark")
        self.used.add(group)
        for e in self.groups[group]["entries"]:
            if e["name"] == name:
                return e
        known = [e["name"] for e in self.groups[group]["entries"]]
        raise KeyError(f"entry {name!r} is not in group {group!r} of the results file (it has {known})")

    def has(self, group: str, *names: str) -> bool:
        """Whether ``group`` holds every entry in ``names`` (for the rows that are rendered only when measured)."""
        have = {e["name"] for e in self.groups.get(group, {}).get("entries", [])}
        return group in self.groups and set(names) <= have

    def s(self, group: str, name: str) -> float:
        """Time of an entry in seconds: the fastest of its rounds, the one least slowed by other jobs."""
        return float(self.entry(group, name)["min_s"])

    def per_pair(self, group: str, name: str) -> float:
        """Time per pair in seconds of a battery entry (its rounds time the whole battery)."""
        return self.s(group, name) / int(self.m(group, name, "n_pairs"))

    def m(self, group: str, name: str, metric: str) -> Any:
        """A metric of an entry."""
        metrics = self.entry(group, name)["metrics"]
        if metric not in metrics:
            raise KeyError(f"metric {metric!r} of {name!r} in {group!r} is not in the results file")
        return metrics[metric]


def sig(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits, no exponent."""
    if x == 0:
        return "0"
    from math import floor, log10

    decimals = max(digits - 1 - floor(log10(abs(x))), 0)
    return f"{x:.{decimals}f}"


def t(seconds: float) -> str:
    """A time in ms below one second, else in s, 3 significant digits."""
    return f"{sig(seconds)} s" if seconds >= 1 else f"{sig(seconds * 1e3)} ms"


def duration(seconds: float) -> str:
    """A long duration: ``t`` below a minute, else minutes below an hour, else hours, 3 significant digits."""
    if seconds < 60:
        return t(seconds)
    return f"{sig(seconds / 60)} min" if seconds < 3600 else f"{sig(seconds / 3600)} h"


def ratio(peer: float, mine: float) -> str:
    """Peer time over mefast time, ``"12.3x"``."""
    return f"{sig(peer / mine)}x"


def epe(x: float) -> str:
    """An endpoint error in px, 3 decimals."""
    return f"{x:.3f}"


# ---------------------------------------------------------------------------------------------------------
# The Benchmarks table


def _versus(
    r: Results,
    g: str,
    label: str,
    me: str,
    peer: str,
    peer_label: str,
    *,
    epe_of: tuple[str, ...] = (),
    me_note: str = "",
    per_pair: bool = False,
) -> list[str]:
    """The row of mefast's entry ``me`` next to the peer's entry ``peer`` of group ``g``.

    Each side's time (per pair of a battery with ``per_pair``) is followed by its EPE metrics ``epe_of`` (joined
    by " / "), mefast's also by ``me_note``; the ratio is the peer's time over mefast's.
    """
    time = r.per_pair if per_pair else r.s

    def side(name: str) -> str:
        epes = " / ".join(epe(r.m(g, name, k)) for k in epe_of)
        return t(time(g, name)) + (f", EPE {epes}" if epe_of else "")

    return [label, side(me) + me_note, f"{peer_label} {side(peer)}", ratio(r.s(g, peer), r.s(g, me))]


def _flow_rows(r: Results) -> list[list[str]]:
    rows = []
    g = "tvl1 340x280, 1 thread"
    dual, dis = "opencv DualTVL1 (defaults)", "opencv DIS medium"
    for preset, peer, label in (
        ("opencv", dual, "TV-L1 340x280 face pair, 1 thread, OpenCV's parameters"),
        ("accurate", dual, "same pair, preset `accurate`"),
        ("fast", dis, "same pair, preset `fast`"),
    ):
        me = f"mefast.TVL1 preset={preset}"
        peer_label = "OpenCV DualTVL1" if peer == dual else "OpenCV DIS medium"
        rows.append(_versus(r, g, label, me, peer, peer_label, epe_of=("epe",)))
    g = "tvl1 128x128, 1 thread"
    o, f = "mefast.TVL1 preset=opencv", "mefast.TVL1 preset=fast"
    rows.append(
        [
            "TV-L1 128x128 face pair, 1 thread, OpenCV's parameters / `fast`",
            f"{t(r.s(g, o))} / {t(r.s(g, f))}",
            f"OpenCV DualTVL1 {t(r.s(g, dual))} / DIS medium {t(r.s(g, dis))}",
            f"{ratio(r.s(g, dual), r.s(g, o))} / {ratio(r.s(g, dis), r.s(g, f))}",
        ]
    )
    g = "tvl1 1280x720 frame, 1 thread"
    o, a, f = (f"mefast.TVL1 preset={k}" for k in ("opencv", "accurate", "fast"))
    if r.has(g, o, a, f, dual, dis):
        ratios = (ratio(r.s(g, dual), r.s(g, o)), ratio(r.s(g, dual), r.s(g, a)), ratio(r.s(g, dis), r.s(g, f)))
        rows.append(
            [
                "TV-L1 1280x720 frame pair, 1 thread, OpenCV's parameters / `accurate` / `fast`",
                f"{t(r.s(g, o))} / {t(r.s(g, a))} / {t(r.s(g, f))}, EPE "
                + " / ".join(epe(r.m(g, k, "epe")) for k in (o, a, f)),
                f"OpenCV DualTVL1 {t(r.s(g, dual))}, EPE {epe(r.m(g, dual, 'epe'))} / DIS medium {t(r.s(g, dis))}, "
                f"EPE {epe(r.m(g, dis, 'epe'))}",
                " / ".join(ratios),
            ]
        )
    # The many-pair rows take DualTVL1 minutes per run: rendered when the results file has both sides.
    for g, me, peer, label, peer_label in (
        ("tvl1 340x280, 16 pairs in a row, 1 thread", "mefast preset=opencv", "opencv DualTVL1",
         "TV-L1 16 pairs 340x280 in a row, 1 thread, OpenCV's parameters", "OpenCV DualTVL1"),
        ("tvl1 batch of 64 pairs 340x280, all cores", "mefast preset=opencv", "opencv DualTVL1, cv2 threads",
         "TV-L1 batch of 64 pairs 340x280, 2 cores, OpenCV's parameters", "OpenCV DualTVL1 with its threads"),
    ):  # fmt: skip
        if r.has(g, me, peer):
            rows.append(_versus(r, g, label, me, peer, peer_label, epe_of=("epe",)))
    g = BATTERY
    for preset, peer in (("opencv", dual), ("accurate", dual), ("fast", dis), ("robust", dis)):
        me = f"mefast.TVL1 preset={preset}"
        peer_label = "OpenCV DualTVL1" if peer == dual else "OpenCV DIS medium"
        label = (
            "flow battery, held-out seeds (the tuning images warped by other random fields), 64 pairs 340x280, "
            f"1 thread, preset `{preset}`: per pair, mean / worst EPE"
        )
        rows.append(_versus(r, g, label, me, peer, peer_label, epe_of=("epe_mean", "epe_worst"), per_pair=True))
    return rows


def _descriptor_rows(r: Results) -> list[list[str]]:
    rows = []
    g = "lbptop 50x340x280 P=8 R=3 u2 8x8"
    me, peer = "mefast paper, 1 thread", "numpy vectorised (paper, 1 thread)"
    label = "LBP-TOP 50x340x280 clip, 8x8 blocks, P=8, R=3, 1 thread"
    # ns per voxel of the time shown (the fastest round), not the recorded ns_per_voxel metric (the median round's)
    voxels = math.prod(int(k) for k in re.search(r"(\d+)x(\d+)x(\d+)", g).groups())
    per_voxel = f" ({sig(r.s(g, me) / voxels * 1e9, 2)} ns/voxel)"
    rows.append(_versus(r, g, label, me, peer, "vectorised NumPy", me_note=per_voxel))
    g = "tim 60->10 340x280"
    me, peer = "mefast closed form, 1 thread", "SVD graph-embedding model (numpy, 1 thread)"
    rows.append(_versus(r, g, "TIM 60 -> 10 frames, 340x280, 1 thread", me, peer, "SVD/graph-embedding model"))
    for what, unit, me, peer, label, peer_label in (
        ("biwoof", "flow, one clip", "mefast.biwoof (Numba, 1 thread)", "NumPy (arctan2 + np.histogram per block)",
         "Bi-WOOF, 128x128 / 256x256 flow", "NumPy of the same definition"),
        ("mdmo 30 flows", "one clip", "mefast.mdmo (Numba, 1 thread)", "NumPy (masks, lstsq, bincount)",
         "MDMO, 30 flows 128x128 / 256x256", "NumPy of the same definition"),
    ):  # fmt: skip
        g1, g2 = (f"{what} {s} {unit}" if what == "biwoof" else f"{what} {s}, {unit}" for s in ("128x128", "256x256"))
        rows.append(
            [
                label,
                f"{t(r.s(g1, me))} / {t(r.s(g2, me))}",
                f"{peer_label} {t(r.s(g1, peer))} / {t(r.s(g2, peer))}",
                f"{ratio(r.s(g1, peer), r.s(g1, me))} / {ratio(r.s(g2, peer), r.s(g2, me))}",
            ]
        )
    g = "face per 512x512 frame"
    det, lm = "mefast.detect_face detector='dlib', upsample 0", "mefast.landmarks68 method='dlib' (given box)"
    peer0, peer2 = "dlib HOG called directly, upsample 0", "dlib HOG called directly, upsample 2 (MEB's setting)"
    label = "face detection, 512x512 grey frame, dlib HOG with the same upsampling (0)"
    rows.append(_versus(r, g, label, det, peer0, "dlib's detector called directly"))
    rows.append(
        [
            "MEB's setting: dlib HOG with upsampling 2 (4x the pixels: other work, no ratio)",
            "",
            t(r.s(g, peer2)),
            "",
        ]
    )
    rows.append(["68 landmarks given the box (dlib's shape predictor)", t(r.s(g, lm)), "", ""])
    return rows


def _all_features_row(r: Results, g: str, joblib: str, dask: str) -> list[str]:
    n_clips = g.split(",")[1].split()[0]

    def cell(name: str) -> str:
        # clips/s of the round whose time is shown (the fastest), over the whole run as timed; the recorded
        # clips_per_s metric is the last round's, over its jobs only. Peak memory is recorded for the last round.
        clips, mem = int(n_clips) / r.s(g, name), r.m(g, name, "peak_mem_mb") / 1024
        last = " in its last round" if r.entry(g, name)["rounds"] > 1 else ""
        shown = f"{t(r.s(g, name))} ({sig(clips, 2)} clips/s, {sig(mem, 2)} GiB peak{last})"
        metrics = r.entry(g, name)["metrics"]
        if "cold_s" in metrics:  # the first run, its worker processes started for it; the time shown is warm
            shown = f"{shown} on running workers, {t(metrics['cold_s'])} as a first run (workers started for it)"
        return shown

    steps = {k[:-3]: v for k, v in r.entry(g, joblib)["metrics"].items() if k.endswith("_ms")}
    mdmo_share = 100 * steps.get("mdmo", 0.0) / sum(steps.values())
    decode = "decode only (every frame, as preprocess reads it: grey, 2 threads)"
    colour = "decode only (every frame in colour, 2 threads)"
    floor, ratio = "", ""
    if r.has(g, decode):  # the floor: decoding the frames the pipeline reads
        floor = f"decoding every frame only (grey, as preprocess reads it) {t(r.s(g, decode))}"
        ratio = f"{sig(r.s(g, joblib) / r.s(g, decode), 3)}x the decoding time"
    if r.has(g, decode, colour):  # the floor as issue 17 measured it (cv2.imread in colour)
        floor += f"; in colour {t(r.s(g, colour))}"
        ratio += f"; {sig(r.s(g, joblib) / r.s(g, colour), 3)}x the colour decoding"
    return [
        f"preprocess {n_clips} synthetic CASME II-sized clips (340x280, 30-80 frames), all features, 2 workers",
        f"joblib {cell(joblib)}; Dask LocalCluster {cell(dask)}; MDMO {mdmo_share:.0f} % of the compute",
        floor,
        ratio,
    ]


def _pipeline_rows(r: Results) -> list[list[str]]:
    rows = []
    g = next((k for k in r.groups if k.startswith("pipeline all features")), None)
    joblib, dask = "mefast preprocess (joblib)", "mefast preprocess (dask)"
    if g is not None and r.has(g, joblib, dask):  # minutes per run: rendered when measured
        rows.append(_all_features_row(r, g, joblib, dask))

    g = next((k for k in r.groups if k.startswith("pipeline flow+strain")), None)
    if g is None:
        raise KeyError("no 'pipeline flow+strain' group in the results file: run benchmarks/pipeline")
    n = g.split(",")[1].split()[0]
    peer = "OpenCV DualTVL1 loop (defaults)"
    for preset, tail in (("opencv", "the peer's TV-L1 parameters"), ("accurate", "mefast's default")):
        me = f"mefast preprocess, preset {preset} ({tail})"
        label = (
            f"flow + strain of {n} clips, 2 cores, same TV-L1 parameters (OpenCV's)"
            if preset == "opencv"
            else "same clips, mefast's default preset `accurate`"
        )
        within = f" (flow within {sig(r.m(g, me, 'max_flow_diff_to_peer_px'), 2)} px of the peer's)"
        rows.append(_versus(r, g, label, me, peer, "OpenCV DualTVL1 loop", me_note=within))
    g = "train-dataloader"
    mem = "FlowDataset, in-memory"
    n_samples = round(r.m(g, mem, "samples_per_s") * float(r.entry(g, mem)["median_s"]))
    cold = "train-dataloader-cold"
    cold_rows = {
        "FlowDataset, store, cold, direct chunk reads": "cold first epoch, direct chunk reads (the default)",
        "FlowDataset, store, cold, Zarr reads (before)": "cold first epoch, read through Zarr (before)",
    }
    packed_rows = {  # since the store's pack (MEStore.pack): the per-sample direct reads are the "before"
        "FlowDataset, store, cold, packed chunks": "cold first epoch, packed chunks (the default after preprocess)",
        "FlowDataset, store, cold, packed chunks (LZ4)": "cold first epoch, packed chunks compressed with LZ4",
        "FlowDataset, store, cold, per-sample chunks": "cold first epoch, one chunk per sample (before the pack)",
        "FlowDataset, store, cold, Zarr reads (before)": "cold first epoch, read through Zarr (before)",
    }
    if r.has(cold, *packed_rows):
        cold_rows = packed_rows
    # The cold-epoch group times the chunk reader that replaced Zarr reads: it supersedes the older cold row.
    superseded = r.has(cold, "FlowDataset, in-memory arrays", *cold_rows)
    # Since the interleaved cold-epoch benchmark, its group also times the page-cached first epoch and warm epochs.
    later = {
        "FlowDataset, store, page-cached, direct chunk reads": "first epoch from the page cache, direct chunk reads",
        "FlowDataset, store, page-cached, packed chunks": "first epoch from the page cache, packed chunks",
        "FlowDataset, store, warm epochs": "warm epochs",
    }
    later = {name: what for name, what in later.items() if superseded and r.has(cold, name)}
    if superseded:
        base = "FlowDataset, in-memory arrays"
        n_cold = round(r.m(cold, base, "samples_per_s") * float(r.entry(cold, base)["median_s"]))
        for name, what in {**cold_rows, **later}.items():
            label = f"torch DataLoader epoch from the store ({n_cold} clips), {what}"
            row = _versus(r, cold, label, name, base, "in-memory arrays")
            m = r.entry(cold, name)["metrics"]
            if "ratio_to_memory" in m:  # interleaved rounds: the ratio of their medians, not of two minima
                rounds = r.entry(cold, name)["rounds"]
                row[1] += (
                    f" ({sig(m['ratio_to_memory'], 3)}x the in-memory epoch, CPU time "
                    f"{sig(m['cpu_ratio_to_memory'], 3)}x: medians of {rounds} interleaved rounds)"
                )
                row[3] = f"{sig(1 / m['ratio_to_memory'])}x"
            rows.append(row)
    warm_here = "FlowDataset, store, warm epochs" in later
    for where in () if warm_here else ("warm epochs",) if superseded else ("cold first epoch", "warm epochs"):
        label = f"torch DataLoader epoch from the store ({n_samples} clips), {where}"
        rows.append(_versus(r, g, label, f"FlowDataset, store, {where}", mem, "in-memory arrays"))
    rows += _large_frames_rows(r) + _scale_rows(r)
    g = "mdmo step per clip, 67 frames 256x256 crop"
    me, base = "flows + MDMO at 128x128 (default)", "flows + MDMO at 256x256 (before: crop resolution)"
    if r.has(g, me, base):
        label = "MDMO step of one 67-frame 256x256 clip (flows + MDMO, 1 thread) at `mdmo_size` 128x128 (default)"
        cosine = f" (cosine {sig(r.m(g, me, 'cosine'), 3)} to the crop-resolution MDMO)"
        rows.append(_versus(r, g, label, me, base, "same step at the crop's 256x256", me_note=cosine))
    g = next((k for k in r.groups if k.startswith(_WARM)), None)
    me, base = "warm-started (warm_start=True, the preprocess default)", "every flow from scratch (before)"
    if g is not None and r.has(g, me, base):  # rendered when measured
        n_frames = g.split(",")[1].split()[0]
        label = (
            f"MDMO's onset -> every-frame flows of a {n_frames}-frame clip, 128x128, preset `per-frame`, 1 thread, "
            "warm-started (the default)"
        )
        diff = f" ({epe(r.m(g, me, 'diff_from_cold_px'))} px from the cold flows)"
        rows.append(_versus(r, g, label, me, base, "every flow from scratch", epe_of=("epe_px",), me_note=diff))
    return rows


_WARM = "mdmo flows per clip,"
_LARGE = "pipeline large frames,"
_SCALE = "pipeline scale,"
_LARGE_BEFORE = "before: whole colour decode, face searched on the whole frame"
_LARGE_AFTER = "after: coarse face search, grey decode at 1/r straight into the crop"


def _steps(r: Results, g: str, name: str) -> str:
    """The ms per clip of every step of a preprocess entry (its ``<step>_ms`` metrics), largest first."""
    steps = {k[:-3]: v for k, v in r.entry(g, name)["metrics"].items() if k.endswith("_ms")}
    return ", ".join(f"{k} {sig(v, 2)}" for k, v in sorted(steps.items(), key=lambda kv: -kv[1]))


def _large_frames_rows(r: Results) -> list[list[str]]:
    """Issue 17.2: the default preprocessing of CAS(ME)^3-sized clips, before (whole colour decode) and after."""
    g = next((k for k in r.groups if k.startswith(_LARGE)), None)
    if g is None or not r.has(g, _LARGE_BEFORE, _LARGE_AFTER):  # minutes per run: rendered when measured
        return []

    def cell(name: str) -> str:
        m = r.entry(g, name)["metrics"]
        return (
            f"{sig(m['clips_per_s'], 3)} clips/s ({sig(m['cpu_ms_per_clip'], 3)} ms CPU per clip: "
            f"{sig(m['clips_per_s_on_2_free_cores'], 3)} clips/s on 2 free cores; {sig(m['peak_mem_mb'] / 1024, 2)} "
            "GiB peak)"
        )

    size = g.split(",", 1)[1].rsplit(",", 1)[0].strip()  # "CAS(ME)^3-sized clips (1280x720, 10-30 frames)"
    after = r.entry(g, _LARGE_AFTER)["metrics"]
    red = f", decoded at 1/{after['reduction']}" if "reduction" in after else ""
    agree = (
        f"; flows within {sig(after['flow_diff_px'], 2)} px of the whole decode's" if "flow_diff_px" in after else ""
    )
    return [
        [
            f"preprocess {size}, every default feature, 2 workers: default reading (coarse face search, grey "
            f"decode into the crop{red})",
            cell(_LARGE_AFTER) + agree,
            f"before (whole colour decode) {cell(_LARGE_BEFORE)}",
            ratio(r.s(g, _LARGE_BEFORE), r.s(g, _LARGE_AFTER)),
        ],
        [
            "same clips, ms per clip of each step (summed over both workers)",
            _steps(r, g, _LARGE_AFTER),
            f"before: {_steps(r, g, _LARGE_BEFORE)}",
            "",
        ],
    ]


def _scale_rows(r: Results) -> list[list[str]]:
    """Issue 17.6: the CAS(ME)^3-sized corpus on a Dask LocalCluster of 1 and 2 bounded workers (docs/scale.md)."""
    g = next((k for k in r.groups if k.startswith(_SCALE)), None)
    if g is None or not r.has(g, "1 worker", "2 workers"):  # many minutes per run: rendered when measured
        return []
    one, two = r.entry(g, "1 worker")["metrics"], r.entry(g, "2 workers")["metrics"]
    n_clips = g.split(",")[1].split()[0]

    def cell(m: dict[str, Any]) -> str:
        return (
            f"{duration(m['total_s'])} ({sig(m['clips_per_s'], 3)} clips/s, peak {sig(m['worker_peak_mb_max'], 3)} "
            f"MiB per worker of its {sig(m['memory_limit_mb'], 4)} MiB limit)"
        )

    peer = ""
    if "predicted_total_at_measured_share_s" in two:
        peer = (
            "2 workers projected from the 1-worker run (at the core share they got): "
            f"{duration(two['predicted_total_at_measured_share_s'])}, error "
            f"{two['projection_error_at_measured_share_pct']:+.1f} %"
        )
    return [
        [
            f"preprocess {n_clips} CAS(ME)^3-sized clips on a Dask LocalCluster, bounded memory per worker: 1 worker "
            "/ 2 workers ([docs/scale.md](docs/scale.md))",
            f"1 worker {cell(one)}; 2 workers {cell(two)}",
            peer,
            f"{sig(one['total_s'] / two['total_s'], 3)}x from the second worker",
        ]
    ]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _machine_line(r: Results) -> str:
    measured = [r.groups[g]["measured"] for g in sorted(r.used)]
    dates = sorted({m["date"] for m in measured})
    cpus = sorted({f"{m['machine']['cpus']} vCPU {m['machine']['cpu']}" for m in measured})
    loads = [v for m in measured for v in m["load_average_1min"].values() if v is not None]
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    load = f", 1-minute load average {min(loads):.1f}-{max(loads):.1f} during the runs" if loads else ""
    return (
        f"Measured {when} on {' and '.join(cpus)}, a development machine shared with other jobs{load}: absolute "
        "times are noisy, compare the ratios (each group is measured side by side in one run). Each time is the "
        "fastest of its rounds, the one least slowed down by the other jobs."
    )


def render_benchmarks(r: Results) -> str:
    """The Benchmarks section's table and notes."""
    rows = _flow_rows(r) + _descriptor_rows(r) + _pipeline_rows(r)
    g = "tvl1 340x280, 1 thread"
    fresh, reused = r.s(g, "mefast.tvl1() preset=fast (fresh buffers)"), r.s(g, "mefast.TVL1 preset=fast")
    notes = [
        _machine_line(r),
        "",
        _table(["what", "mefast", "peer", "ratio"], rows),
        "",
        "Single pairs are timed with every engine created once and reused (`mefast.TVL1(preset)`, OpenCV's "
        "objects); the one-shot `mefast.tvl1()` allocates its buffers per call, on fresh pages as in a loop that calls "
        f"it (preset `fast` at 340x280: {t(fresh)} against {t(reused)} reused, in this run). EPE = mean endpoint "
        "error to the known flow of the pair "
        "(`mefast.testing.face_flow_pair`: the astronaut face warped by a smooth field of at most 2.1 px); the "
        "flow battery (held-out seeds: the tuning images warped by other random fields) is described under "
        "[TV-L1 optical flow](#tv-l1-optical-flow). The numbers come from "
        "`benchmarks/results.json` (each group with its date, commit, command, machine and load), rendered "
        "into this README by `python tools/render_benchmarks.py`.",
    ]
    return "\n".join(notes)


# ---------------------------------------------------------------------------------------------------------
# The presets table


def render_presets(r: Results) -> str:
    """The TV-L1 preset table with each preset's figures on the flow battery: its held-out seeds, and Motorcycle."""
    g = BATTERY
    methods = [
        (f"`{p}`", f"{purpose} ({describe_params(r.m(g, name, 'params'))})", name)
        for p, purpose in PRESET_PURPOSE.items()
        for name in [f"mefast.TVL1 preset={p}"]
    ] + [
        ("peer", "OpenCV DualTVL1, defaults", "opencv DualTVL1 (defaults)"),
        ("peer", "OpenCV DIS, `PRESET_MEDIUM`", "opencv DIS medium"),
    ]
    amps = list(r.m(g, methods[0][2], "epe_mean_by_amplitude"))
    header = ["preset", "what it is", "mean / worst EPE", *[f"mean EPE, {a} px" for a in amps], "Motorcycle EPE",
              "ms per pair"]  # fmt: skip
    rows = []
    for label, text, name in methods:
        by_amp = r.m(g, name, "epe_mean_by_amplitude")
        rows.append(
            [
                label,
                text,
                f"{epe(r.m(g, name, 'epe_mean'))} / {epe(r.m(g, name, 'epe_worst'))}",
                *[epe(by_amp[a]) for a in amps],
                sig(r.m(g, name, "epe_middlebury_motorcycle"), 3),
                sig(1e3 * r.per_pair(g, name), 3),
            ]
        )
    n = r.m(g, methods[0][2], "n_pairs")
    measured = r.groups[g]["measured"]
    lead = (
        f"Figures on the flow battery (`mefast.testing.flow_battery`): {HELD_OUT}. The {n} synthetic pairs, 340x280: "
        "the astronaut face, scikit-image's cameraman and Chelsea the cat, scikit-learn's china.jpg, each warped by 4 "
        f"random smooth fields at each maximum displacement of {', '.join(amps)} px, with sensor noise, drawn from "
        "the report seeds, never used to choose parameters; Motorcycle: the Middlebury 2014 stereo pair with its "
        "measured disparity (shipped by scikit-image; 125x185, 1.9-15 px). One thread, measured "
        f"{measured['date']} (`benchmarks/flow/test_battery.py`):"
    )
    versus = []
    for p in ("fast", "robust"):
        name = f"mefast.TVL1 preset={p}"
        if not r.has(g, name):
            continue
        motorcycle = "and on" if r.m(g, name, "middlebury_motorcycle_below_dis_medium") else "but not on"
        versus.append(
            f"`{p}` is below its EPE on {r.m(g, name, 'pairs_below_dis_medium_epe')} of {n} pairs {motorcycle} "
            f"Motorcycle, in {sig(r.m(g, name, 'cpu_time_vs_dis_medium'), 2)}x its CPU time"
        )
    tail = f"\n\nAgainst DIS medium on the same pairs: {'; '.join(versus)}." if versus else ""
    return lead + "\n\n" + _table(header, rows) + tail


# ---------------------------------------------------------------------------------------------------------
# The hand-crafted descriptors table

_CLIP = "50x340x280 clip, 5x5 blocks"
_REF = "NumPy reference (whole-array, bincount per block)"
_FLOW_REF = "NumPy reference (arctan2, bincount per block)"
_SIP = "lbp-sip vs lbp-top 50x340x280 R=3 8x8"
_HANDCRAFTED = [
    ("`lbp_sip`", "LBP-SIP: 4-bit spatial + 2-bit temporal codes of the six intersection points", "20 per block",
     f"lbpsip {_CLIP}", "mefast.lbpsip (Numba, 1 thread)", _REF),
    ("`lbp_mop`", "LBP-MOP: LBP of the block's mean XY, XT and YT planes", "3 x 59 per block (P=8, u2)",
     f"lbpmop {_CLIP}", "mefast.lbpmop (Numba, 1 thread)", _REF),
    ("`hog3d`", "3DHOG: magnitude-weighted gradient orientations on XY, XT, YT", "3 x bins per block",
     f"hog3d {_CLIP}", "mefast.hog3d (Numba, 1 thread)", _REF),
    ("`higo`", "HIGO: the same, every voxel with a gradient votes 1", "3 x bins per block",
     f"higo {_CLIP}", "mefast.higo (Numba, 1 thread)", _REF),
    ("`hoof`", "HOOF: magnitude-weighted flow orientations, each block sums to 1", "bins per block",
     "hoof 256x256 flow, 5x5 blocks", "mefast (Numba, 1 thread)", _FLOW_REF),
    ("`biwoof(local_weights=False)`", "Bi-WOOF ablation: moving pixels vote 1 (also `global_weights=False`)",
     "bins per block", "biwoof local_weights=False 256x256 flow, 5x5 blocks", "mefast (Numba, 1 thread)", _FLOW_REF),
]  # fmt: skip


def _measured_line(r: Results, group: str) -> str:
    """When, at which commit and on what a group was measured (its load average too)."""
    m = r.groups[group]["measured"]
    loads = [v for v in m.get("load_average_1min", {}).values() if v is not None]
    span = f"{min(loads):.0f}-{max(loads):.0f}" if loads and round(min(loads)) != round(max(loads)) else ""
    load = f", 1-minute load average {span or f'{loads[0]:.0f}'}" if loads else ""
    return (
        f"Measured {m['date']} at commit {m['commit']} on {m['machine']['cpus']} shared vCPUs{load} "
        f"(`{m['command'].split(' --benchmark-enable')[0].replace('python -m ', '')}`): compare ratios, not "
        "absolute times."
    )


def render_handcrafted(r: Results) -> str:
    """The hand-crafted descriptors against their NumPy references, and LBP-SIP against LBP-TOP."""
    rows = []
    for fn, what, length, group, me, peer in _HANDCRAFTED:
        size = "256x256 flow" if "flow" in group else "50x340x280 clip"
        rows.append([fn, what, length, size, t(r.s(group, me)), t(r.s(group, peer)), ratio(r.s(group, peer),
                     r.s(group, me))])  # fmt: skip
    top, sip = r.s(_SIP, "mefast.lbp_top P=8 u2 (C++, 1 thread)"), r.s(_SIP, "mefast.lbp_sip (Numba, 1 thread)")
    top4 = r.s(_SIP, "mefast.lbp_top P=4 raw codes (C++, 1 thread)")
    header = ["function", "what", "length", "input", "mefast, 1 thread", "NumPy reference", "ratio"]
    return "\n".join(
        [
            _table(header, rows),
            "",
            f"LBP-SIP against mefast's LBP-TOP on the same 50x340x280 clip (R=3, 8x8 blocks, 1 thread): {t(sip)} vs "
            f"{t(top)} for P=8 u2 ({ratio(top, sip)}) and {t(top4)} for P=4 raw codes ({ratio(top4, sip)}). "
            + _measured_line(r, _SIP),
        ]
    )


# ---------------------------------------------------------------------------------------------------------
# Magnification

_EVM = "EVM 200 x 320 x 256 colour, 1 thread"
_PAIR = "two-frame magnification 256 x 256 grey, 1 thread"


_PACKAGE_IDEAL = "eulerian-magnification 0.22, its pyramid code with an ideal FFT band-pass (float64)"
_PACKAGE_SHIPPED = "eulerian-magnification 0.22 as shipped (its own FFT filter, float64)"
_MEFAST_PACKAGE = "mefast.magnification.evm temporal=ideal, the package's pyramid, band and gain (float64)"


def render_magnify(r: Results) -> str:
    """The EVM of a colour clip next to the peers doing the same work, and the two-frame methods."""
    iir, ideal = "mefast.magnification.evm temporal=iir", "mefast.magnification.evm temporal=ideal"
    defaults = "mefast's defaults: 7-level Laplacian pyramid, reference alpha schedule, YIQ with chroma 0.1"
    package_work = (
        "the package's work: 4-level pyramid, alpha on level 2 only, one gain on R, G and B, no clipping; the same "
        "float64 frames"
    )
    rows = [
        ["`magnification.evm temporal=iir`", t(r.s(_EVM, iir)), defaults, ""],
        ["`magnification.evm temporal=ideal`", t(r.s(_EVM, ideal)), defaults, ""],
        ["`magnification.evm temporal=ideal`", t(r.s(_EVM, _MEFAST_PACKAGE)), package_work, ""],
    ]
    for peer in ("vectorised NumPy EVM (IIR, Laplacian)", "NumPy + cv2.pyrDown/pyrUp per frame (IIR)"):
        m = r.entry(_EVM, peer)["metrics"]
        note = (
            f"`temporal=iir` with mefast's defaults, alpha-0 levels skipped as mefast does; output within "
            f"{m['max_diff_to_mefast']} grey level of mefast's ({sig(100 * m['share_differing_from_mefast'], 2)} % "
            "of the samples differ)"
        )
        rows.append([peer, t(r.s(_EVM, peer)), note, ratio(r.s(_EVM, peer), r.s(_EVM, iir))])
    diff = r.m(_EVM, _PACKAGE_IDEAL, "max_diff_to_mefast") * 255
    rows.append(
        [
            "eulerian-magnification 0.22: its own pyramid, filtering and collapse code (float64), its temporal "
            "filter replaced by an ideal FFT band-pass",
            t(r.s(_EVM, _PACKAGE_IDEAL)),
            f"`temporal=ideal` doing {package_work.split(': ', 1)[0]}; output within {sig(diff, 2)} grey levels of "
            "mefast's",
            ratio(r.s(_EVM, _PACKAGE_IDEAL), r.s(_EVM, _MEFAST_PACKAGE)),
        ]
    )
    shipped_diff = r.m(_EVM, _PACKAGE_SHIPPED, "mean_diff_to_ideal_filter")
    rows.append(
        [
            "eulerian-magnification 0.22 as shipped (float64)",
            t(r.s(_EVM, _PACKAGE_SHIPPED)),
            "no ratio, other output: its temporal filter is not an ideal band-pass (it zeroes entries of "
            "`scipy.fftpack.rfft`'s packed real/imaginary layout by a complex FFT's bin indexes, then inverts with "
            f"a complex `ifft`), {sig(shipped_diff, 2)} grey levels from the ideal filter's output on average",
            "",
        ]
    )
    for name in ("mefast evm_pair (alpha 5)", "mefast lagrangian, flow given", "mefast lagrangian + TV-L1 accurate"):
        rows.append([f"{name[len('mefast ') :]}, one 256x256 grey pair", t(r.s(_PAIR, name)), "", ""])
    return "\n".join(
        [
            _table(["method", "time", "work", "ratio"], rows),
            "",
            "EVM of a 200-frame 320x256 colour clip, 1 thread; the ratio is the peer's time over mefast's doing the "
            "same work on the same frames, their outputs checked to agree before timing "
            "(`benchmarks/magnify/test_magnify.py`). " + _measured_line(r, _EVM),
        ]
    )


# ---------------------------------------------------------------------------------------------------------
# Epoch time per network

_EPOCH = "train-epoch-time"


def render_epochs(r: Results) -> str:
    """Forward + backward time per sample of each built-in network, and what a CD6ME epoch then takes."""
    rows = []
    entries = sorted(e["name"] for e in r.groups.get(_EPOCH, {"entries": []})["entries"])
    if not entries:
        raise KeyError(f"benchmark group {_EPOCH!r} is not in the results file: run its benchmark")
    n_clips = set()
    for name in entries:
        label, _, shape = name.partition(", input ")
        per_sample = r.m(_EPOCH, name, "ms_per_sample") / 1e3
        epoch = r.m(_EPOCH, name, "cd6me_epoch_s")
        n_clips.add(round(epoch / per_sample))
        rows.append([label, shape, t(per_sample), duration(epoch)])
    threads = {r.m(_EPOCH, name, "threads") for name in entries}
    return "\n".join(
        [
            _table(["network", "input", "per sample (train step)", "one CD6ME epoch, estimated"], rows),
            "",
            f"Training steps on {', '.join(map(str, sorted(threads)))} CPU threads; the epoch is the time per sample "
            f"times the {', '.join(map(str, sorted(n_clips)))} clips of CD6ME. " + _measured_line(r, _EPOCH),
        ]
    )


# ---------------------------------------------------------------------------------------------------------
# Spotting: the long-video feature pass and its memory

_SPOT_PASS = "spotting feature pass"
_SPOT_MEM = "spotting memory"


def _group_starting(r: Results, prefix: str, bench: str) -> str:
    """The one group whose name starts with ``prefix`` (its name holds the run's size), or a KeyError naming it."""
    g = next((k for k in r.groups if k.startswith(prefix)), None)
    if g is None:
        raise KeyError(f"no {prefix!r} group in the results file: run {bench}")
    return g


def render_spotting(r: Results) -> str:
    """Frames/s of the spotting feature pass at 640x480 next to the OpenCV loop, and its memory on a long video."""
    g = _group_starting(r, _SPOT_PASS, "benchmarks/spotting")
    me, peer = "mefast long_video_features", "OpenCV DualTVL1 + NumPy loop"
    n_frames = g.split(",")[1].split()[0]
    cores = g.rsplit(",", 1)[1].split()[0]
    rows = [
        [
            f"feature pass, {n_frames} frames 640x480 (both windows, LBP, strain, MDMD), {cores} cores",
            f"{sig(r.m(g, me, 'frames_per_s'))} frames/s ({t(r.s(g, me))})",
            f"OpenCV DualTVL1 + NumPy loop {sig(r.m(g, peer, 'frames_per_s'))} frames/s ({t(r.s(g, peer))})",
            ratio(r.s(g, peer), r.s(g, me)),
        ]
    ]
    mem = next((k for k in r.groups if k.startswith(_SPOT_MEM) and "10000 frames" in k), None)
    name = "mefast iter_features (lags 4, default features)"
    if mem is not None and r.has(mem, name):  # the 10 000-frame run takes minutes: rendered when measured
        rows.append(
            [
                "memory of the pass over a 10 000-frame 640x480 video (lag 4, default features)",
                f"{sig(r.m(mem, name, 'peak_traced_mib'))} MiB peak traced, resident memory grew "
                f"{sig(r.m(mem, name, 'rss_growth_mib'))} MiB ({duration(r.s(mem, name))})",
                f"the video as uint8: {sig(r.m(mem, name, 'video_as_uint8_mib') / 1024)} GiB",
                "",
            ]
        )
    return "\n".join(
        [
            _table(["what", "mefast", "peer", "ratio"], rows),
            "",
            "Ratio = the peer's time over mefast's. " + _measured_line(r, g),
        ]
    )


# ---------------------------------------------------------------------------------------------------------
# Pictures

_VIZ_FLOW = "flow colour coding 256x256 (Middlebury wheel)"
_VIZ_GALLERY = "gallery of 64 samples from a store (face, flow, strain; 128x128), to PNG bytes"


def render_viz(r: Results) -> str:
    """The Middlebury colour coding of a flow next to flow_vis, and a store gallery next to a matplotlib grid."""
    rows = []
    for label, g, me, peer, peer_label in (
        ("Middlebury colour coding of a 256x256 flow", _VIZ_FLOW, "mefast.viz.flow_to_rgb",
         "flow_vis.flow_to_color (NumPy)", "flow_vis.flow_to_color"),
        ("gallery of 64 store samples (face, flow, strain; 128x128) to PNG bytes", _VIZ_GALLERY,
         "mefast.viz.gallery (mosaic + Pillow) + PNG", "matplotlib subplot grid (192 axes) + savefig",
         "matplotlib subplot grid (192 axes)"),
    ):  # fmt: skip
        rows.append(_versus(r, g, label, me, peer, peer_label))
    return "\n".join(
        [
            _table(["what", "mefast", "peer", "ratio"], rows),
            "",
            "Ratio = the peer's time over mefast's. " + _measured_line(r, _VIZ_FLOW),
        ]
    )


# ---------------------------------------------------------------------------------------------------------
# docs/scale.md: the cluster runs, the model's check and what it predicts

_SCALE_CMD = "python -m pytest benchmarks/pipeline/test_scale.py --benchmark-enable --benchmark-only -q -s"
_STEP_TEXT = {"read": "decode", "align": "detection and crop", "flow": "onset -> apex flow", "mdmo": "MDMO",
              "frames": "TIM frames", "lbptop": "LBP-TOP", "biwoof": "Bi-WOOF"}  # fmt: skip


def render_scale(r: Results) -> str:
    """docs/scale.md's measured section: 1 and 2 bounded Dask workers, the model's check, and its projections."""
    g = next((k for k in r.groups if k.startswith(_SCALE)), None)
    if g is None or not r.has(g, "1 worker", "2 workers"):  # many minutes per run: rendered when measured
        return f"Not in the committed results file yet: `{_SCALE_CMD} --mefast-results=benchmarks/results.json`."
    one, two = r.entry(g, "1 worker")["metrics"], r.entry(g, "2 workers")["metrics"]
    n_clips = g.split(",")[1].split()[0]

    def total(m: dict[str, Any]) -> str:
        parts = " + ".join(sig(m[k], 2) for k in ("cluster_start_s", "setup_s"))
        return f"{sig(m['total_s'], 4)} s ({parts} + {sig(m['jobs_s'], 4)})"

    grew = f" ({two['cpu_per_clip_vs_1_worker_pct']:+.1f} %)" if "cpu_per_clip_vs_1_worker_pct" in two else ""
    limit = sig(one["memory_limit_mb"], 4)
    rows = [
        ["total (cluster start + store setup + jobs)", total(one), total(two)],
        ["clips/s", sig(one["clips_per_s"], 3), sig(two["clips_per_s"], 3)],
        ["worker CPU time per clip", f"{sig(one['worker_cpu_ms_per_clip'], 3)} ms",
         f"{sig(two['worker_cpu_ms_per_clip'], 3)} ms{grew}"],
        ["core share each worker got (CPU time / wall time)", sig(one["worker_core_share"], 2),
         sig(two["worker_core_share"], 2)],
        [f"peak resident memory per worker (limit {limit} MiB)", " / ".join(f"{sig(v, 3)} MiB" for v in
         one["worker_peak_mb"]), " / ".join(f"{sig(v, 3)} MiB" for v in two["worker_peak_mb"])],
    ]  # fmt: skip
    steps = {k[:-3]: v for k, v in one.items() if k.endswith("_ms")}
    per_step = ", ".join(f"{_STEP_TEXT.get(k, k)} {sig(v, 2)} ms" for k, v in steps.items())
    fixed = one["cluster_start_s"] + one["setup_s"]
    cpu = one["worker_cpu_ms_per_clip"] / 1e3
    wait = max(0.0, one["jobs_s"] / one["clips"] - cpu / one["worker_core_share"])
    m = r.groups[g]["measured"]
    out = [
        f"`{m['command'].split(' --mefast-results')[0]}` ({m['date']}, commit `{m['commit']}`, "
        f"{m['machine']['cpus']} vCPU {m['machine']['cpu']} shared with other jobs, 1-minute load average "
        f"{sig(one['load_1min'][0], 2)} at the start, {sig(two['load_1min'][1], 2)} at the end): {n_clips} clips "
        "of 1280x720 JPEG frames (the rendered clips of `benchmarks/pipeline/_casme3.py`, replicated as separate "
        "samples), every default feature, a `LocalCluster` with a bounded `memory_limit` per worker.",
        "",
        _table(["", "1 worker", "2 workers"], rows),
        "",
        f"Per clip on one worker (wall time at a {sig(one['worker_core_share'], 2)} core share): {per_step}.",
    ]
    if "predicted_total_at_measured_share_s" in two:
        # The model's c_cpu is the 1-worker run's: say which way the 2-worker run's CPU time per clip moved, and
        # what the model predicts with that one instead (the part of the error the CPU time per clip explains).
        cpu2 = two["worker_cpu_ms_per_clip"] / 1e3
        moved = two.get("cpu_per_clip_vs_1_worker_pct", 100 * (cpu2 / cpu - 1))
        change = f"{abs(moved):.1f} % {'higher' if moved > 0 else 'lower'} than" if round(moved, 1) else "the same as"
        own = fixed + math.ceil(int(n_clips) / 2) * (cpu2 / two["worker_core_share"] + wait)
        out += [
            "",
            f"The check of the model against the 2-worker run, with `S` = {sig(fixed, 2)} s, `c_cpu` = "
            f"{sig(cpu * 1e3, 3)} ms and `c_wait` = {sig(wait * 1e3, 2)} ms from the 1-worker run:",
            "",
            f"- at the core share the two workers measurably got on this shared machine "
            f"({sig(two['worker_core_share'], 2)} each), the model predicts "
            f"{sig(two['predicted_total_at_measured_share_s'], 4)} s for the 2-worker run, measured "
            f"{sig(two['total_s'], 4)} s: **{two['projection_error_at_measured_share_pct']:+.1f} %**. The 2-worker "
            f"run's CPU time per clip was {change} the 1-worker run's ({sig(cpu2 * 1e3, 3)} "
            f"vs {sig(cpu * 1e3, 3)} ms, see the table); with it as `c_cpu` the model predicts {sig(own, 4)} s "
            f"({100 * (own - two['total_s']) / two['total_s']:+.1f} %);",
            f"- with a free core per worker it predicts {sig(two['predicted_total_s'], 3)} s "
            f"({sig(int(n_clips) / two['predicted_total_s'], 2)} clips/s; error against this machine's run "
            f"{two['projection_error_pct']:+.1f} %, which could not give each worker a whole core).",
        ]
    c = max(one["worker_cpu_ms_per_clip"], two["worker_cpu_ms_per_clip"]) / 1e3
    proj = [
        [corpus, *(f"S + {duration(math.ceil(n / p) * c)}" for p in (16, 64, 256))]
        for corpus, n in (("CAS(ME)^3 part A (860 clips)", 860), ("10 000 clips", 10_000))
    ]
    out += [
        "",
        f"What this predicts with a free core per worker (`ceil(C / P) * {sig(c * 1e3, 3)} ms`, the larger of the two "
        "runs' CPU time per clip) and frames on storage that keeps up:",
        "",
        _table(["corpus", "1 machine, 16 workers", "4 machines x 16 workers", "16 machines x 16 workers"], proj),
        "",
        f"Peak resident memory per worker: {sig(max(one['worker_peak_mb_max'], two['worker_peak_mb_max']), 3)} MiB "
        "here, whatever the corpus size.",
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------

BLOCKS: dict[str, Callable[[Results], str]] = {
    "benchmarks": render_benchmarks,
    "presets": render_presets,
    "handcrafted": render_handcrafted,
    "magnify": render_magnify,
    "epochs": render_epochs,
    "spotting": render_spotting,
    "viz": render_viz,
}


# Rendered blocks in other documents than the README: block name -> (path under the root, renderer).
DOC_BLOCKS: dict[str, tuple[str, Callable[[Results], str]]] = {
    "scale": ("docs/scale.md", render_scale),
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- BEGIN {name}[^>]*-->\n)(.*?)(<!-- END {name} -->)", re.S)


def _render_blocks(text: str, results: dict[str, Any], blocks: dict[str, Callable[[Results], str]], where: str) -> str:
    for name, fn in blocks.items():
        pat = _pattern(name)
        if not pat.search(text):
            raise ValueError(f"{where} has no '<!-- BEGIN {name} -->' ... '<!-- END {name} -->' block")
        body = fn(Results(results))
        text = pat.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(3), text)
    return text


def render_readme(readme: str, results: dict[str, Any]) -> str:
    """``readme`` with every rendered block replaced by what ``results`` gives."""
    return _render_blocks(readme, results, BLOCKS, "the README")


def render_doc(name: str, text: str, results: dict[str, Any]) -> str:
    """``text`` of the document holding block ``name`` of ``DOC_BLOCKS``, that block rendered from ``results``."""
    path, fn = DOC_BLOCKS[name]
    return _render_blocks(text, results, {name: fn}, path)


def main(argv: list[str] | None = None) -> int:
    """Command line: render the README's blocks, or check them with ``--check``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the README is not what would be rendered")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--readme", type=Path, default=README)
    for name, (path, _) in DOC_BLOCKS.items():
        ap.add_argument(f"--{name}-doc", type=Path, default=ROOT / path, help=f"the document of block {name!r}")
    args = ap.parse_args(argv)
    results = json.loads(args.results.read_text())
    docs = [(args.readme, lambda text: render_readme(text, results))]
    for name in DOC_BLOCKS:
        docs.append((getattr(args, f"{name}_doc"), lambda text, name=name: render_doc(name, text, results)))
    stale = 0
    for path, render in docs:
        text = path.read_text()
        new = render(text)
        if new == text:
            continue
        if args.check:
            print(f"{path} is out of date: run python tools/render_benchmarks.py", file=sys.stderr)
            stale = 1
        else:
            path.write_text(new)
            print(f"rewrote the rendered blocks of {path}")
    return stale


if __name__ == "__main__":
    sys.exit(main())
