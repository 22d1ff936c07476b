"""Render the README's table of the issue-19 hand-crafted descriptors from ``benchmarks/results.json``.

The numbers come from ``benchmarks/descriptors/test_handcrafted.py`` run with
``--benchmark-enable --benchmark-only --mefast-results=benchmarks/results.json``; this script writes the table
between the ``<!-- handcrafted-table:start -->`` and ``<!-- handcrafted-table:end -->`` markers of README.md.
Times are the fastest round (``min_s``), as in the Benchmarks section.

Run: python tools/render_handcrafted.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- handcrafted-table:start -->", "<!-- handcrafted-table:end -->"
CLIP = "50x340x280 clip, 5x5 blocks"
REF = "NumPy reference (whole-array, bincount per block)"
FLOW_REF = "NumPy reference (arctan2, bincount per block)"
SIP = "lbp-sip vs lbp-top 50x340x280 R=3 8x8"

ROWS = [
    ("`lbp_sip`", "LBP-SIP: 4-bit spatial + 2-bit temporal codes of the six intersection points", "20 per block",
     f"lbpsip {CLIP}", "mefast.lbpsip (Numba, 1 thread)", REF),
    ("`lbp_mop`", "LBP-MOP: LBP of the block's mean XY, XT and YT planes", "3 x 59 per block (P=8, u2)",
     f"lbpmop {CLIP}", "mefast.lbpmop (Numba, 1 thread)", REF),
    ("`hog3d`", "3DHOG: magnitude-weighted gradient orientations on XY, XT, YT", "3 x bins per block",
     f"hog3d {CLIP}", "mefast.hog3d (Numba, 1 thread)", REF),
    ("`higo`", "HIGO: the same, every voxel with a gradient votes 1", "3 x bins per block",
     f"higo {CLIP}", "mefast.higo (Numba, 1 thread)", REF),
    ("`hoof`", "HOOF: magnitude-weighted flow orientations, each block sums to 1", "bins per block",
     "hoof 256x256 flow, 5x5 blocks", "mefast (Numba, 1 thread)", FLOW_REF),
    ("`biwoof(local_weights=False)`", "Bi-WOOF ablation: moving pixels vote 1 (also `global_weights=False`)",
     "bins per block", "biwoof local_weights=False 256x256 flow, 5x5 blocks", "mefast (Numba, 1 thread)", FLOW_REF),
]  # fmt: skip


def _t(s: float) -> str:
    return f"{s:.3g} s" if s >= 1 else f"{s * 1e3:.3g} ms"


def render(groups: dict) -> str:
    """The table and the LBP-SIP vs LBP-TOP line, from the results file's groups."""
    def s(group: str, name: str) -> float:
        for e in groups[group]["entries"]:
            if e["name"] == name:
                return float(e["min_s"])
        raise KeyError(f"{name!r} is not in group {group!r}: run benchmarks/descriptors/test_handcrafted.py")

    lines = ["| function | what | length | input | mefast, 1 thread | NumPy reference | ratio |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for fn, what, length, group, me, peer in ROWS:
        size = "256x256 flow" if "flow" in group else "50x340x280 clip"
        mine, theirs = s(group, me), s(group, peer)
        lines.append(f"| {fn} | {what} | {length} | {size} | {_t(mine)} | {_t(theirs)} | {theirs / mine:.3g}x |")
    top, sip = s(SIP, "mefast.lbp_top P=8 u2 (C++, 1 thread)"), s(SIP, "mefast.lbp_sip (Numba, 1 thread)")
    top4 = s(SIP, "mefast.lbp_top P=4 raw codes (C++, 1 thread)")
    m = groups[SIP]["measured"]
    lines += [
        "",
        f"LBP-SIP against mefast's LBP-TOP on the same 50x340x280 clip (R=3, 8x8 blocks, 1 thread): {_t(sip)} vs "
        f"{_t(top)} for P=8 u2 ({top / sip:.3g}x) and {_t(top4)} for P=4 raw codes ({top4 / sip:.3g}x). Measured "
        f"{m['date']} at commit {m['commit']} on {m['machine']['cpus']} shared vCPUs (load "
        f"{m['load_average_1min']['start']:.0f}): compare ratios, not absolute times.",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Rewrite the table in README.md (``--check``: exit 1 if it is out of date instead)."""
    groups = json.loads((ROOT / "benchmarks" / "results.json").read_text())["groups"]
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{render(groups)}\n{END}{tail}"
    if "--check" in argv:
        return 0 if new == text else 1
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
