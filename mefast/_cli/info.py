"""``mefast info``: what a store holds, how it was made, how complete it is, and what failed."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the subcommand's arguments."""
    p.add_argument("store", help="the store: a directory or an fsspec URL")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--all-failures", action="store_true", help="list every failure (default: the first 20)")


def store_info(path: str) -> dict[str, Any]:
    """Everything ``mefast info`` reports, as a JSON-ready dict."""
    from ..store import MEStore

    st = MEStore.open(path)
    attrs = st.attrs
    done = st.done
    meta = st.meta
    per_dataset = {}
    if "dataset" in meta:
        for name, rows in meta.groupby("dataset").groups.items():
            idx = list(rows)
            per_dataset[str(name)] = {"samples": len(idx), "done": int(done[idx].sum())}
    return {
        "store": path,
        "schema": attrs.get("schema"),
        "mefast_version": attrs.get("mefast_version"),
        "created": attrs.get("created"),
        "corpus": attrs.get("corpus"),
        "datasets": per_dataset,
        "samples": len(st),
        "done": int(done.sum()),
        "complete": bool(done.all()),
        "arrays": {
            name: {"shape": [len(st), *shape], "dtype": str(dtype)} for name, (shape, dtype) in st.shapes.items()
        },
        "au_names": st.au_names,
        "parameters": attrs.get("parameters", {}),
        "annotation_sha256": attrs.get("annotation_sha256", {}),
        "failures": attrs.get("failures", []),
        "runs": attrs.get("runs", []),
        "not_done": [str(s) for s in meta["sample_id"][~done]],
        "pack": _pack(st, attrs),
    }


def _pack(st: Any, attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The store's pack for reading (MEStore.pack): its samples per chunk and whether it is current; None if none."""
    record = attrs.get("packed")
    if not isinstance(record, dict):
        return None
    per = {name: a.get("samples_per_chunk") for name, a in record.get("arrays", {}).items()}
    return {"current": st.pack_record() is not None, "samples_per_chunk": per, "n_done": record.get("n_done")}


def _flat(d: Any, prefix: str = "") -> list[str]:
    if isinstance(d, dict):
        return [line for k, v in d.items() for line in _flat(v, f"{prefix}{k}.")]
    return [f"{prefix[:-1]} = {json.dumps(d)}"]


def run(args: argparse.Namespace) -> int:
    """Print the report; 0 when the store is complete, 1 when samples are missing, 2 when unreadable."""
    from ..errors import StoreError

    try:
        info = store_info(args.store)
    except StoreError as exc:
        print(f"mefast info: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(info, indent=1))
        return 0 if info["complete"] else 1
    pct = 100.0 * info["done"] / max(info["samples"], 1)
    lines = [
        f"store      {info['store']}  ({info['schema']}, mefast {info['mefast_version']}, created {info['created']})",
        f"samples    {info['done']}/{info['samples']} done ({pct:.1f} %)" + ("  complete" if info["complete"] else ""),
    ]
    for name, c in info["datasets"].items():
        lines.append(f"  {name:<10} {c['done']}/{c['samples']}")
    lines.append("arrays")
    for name, a in info["arrays"].items():
        lines.append(f"  {name:<10} {tuple(a['shape'])} {a['dtype']}")
    if info["pack"] is not None:
        pack = info["pack"]
        per = ", ".join(f"{name} {g}" for name, g in pack["samples_per_chunk"].items())
        state = "current" if pack["current"] else "stale, not used (re-run mefast preprocess to pack again)"
        lines.append(f"pack       {pack['n_done']} samples, {per} per chunk: {state}")
    lines.append(f"AUs        {', '.join(info['au_names']) or '(none)'}")
    lines.append("parameters")
    lines += [f"  {line}" for line in _flat(info["parameters"])]
    for path, digest in info["annotation_sha256"].items():
        lines.append(f"annotation {path}  sha256 {digest[:16]}...")
    for r in info["runs"]:
        lines.append(
            f"run        {r.get('started')}: {r.get('computed')} computed, {r.get('skipped')} skipped, "
            f"{r.get('failed')} failed, {r.get('seconds')} s, {r.get('backend')} x{r.get('n_jobs')}"
            + ("  (interrupted)" if r.get("interrupted") else "")
        )
    failures = info["failures"]
    if failures:
        lines.append(f"failures of the last run ({len(failures)})")
        shown = failures if args.all_failures else failures[:20]
        lines += [f"  {f['sample_id']}: {f['reason']}" for f in shown]
        if len(shown) < len(failures):
            lines.append(f"  ... {len(failures) - len(shown)} more (--all-failures)")
    missing = len(info["not_done"]) - len(failures)
    if missing > 0:
        lines.append(f"{missing} samples not yet attempted or interrupted: re-run mefast preprocess to complete")
    print("\n".join(lines))
    return 0 if info["complete"] else 1
