"""What a run records in its store (parameters, versions, input hashes) and how a resume checks it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from ..flow import TVL1_ADDED_FIELDS
from ..store import MEStore, _foreign, _jsonable, creation_lock, creator_alive

log = logging.getLogger(__package__)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a weights file, or of a checkpoint folder's files (relative names and contents, sorted)."""
    p = Path(path)
    if not p.is_dir():
        return _sha256(p)
    h = hashlib.sha256()
    for f in sorted(q for q in p.rglob("*") if q.is_file()):
        h.update(f.relative_to(p).as_posix().encode() + b"\0" + _sha256(f).encode())
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import cv2
    import numba
    import zarr

    from .._version import __version__

    return {
        "mefast": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "numba": numba.__version__,
        "zarr": zarr.__version__,
    }


def _annotation_files(dataset: Any, annotations: Any) -> list[Path]:
    """The annotation files a run records: those given, else the dataset's (a composite's: every member's).

    Raises
    ------
    FileNotFoundError
        A file given in ``annotations`` does not exist (a mistyped path would otherwise go unrecorded).
    IsADirectoryError
        A path given in ``annotations`` is a folder.
    """
    given = annotations is not None
    if given:
        files = annotations
    else:  # a composite lists its members' files; a corpus has one
        files = getattr(dataset, "member_annotations", None) or getattr(dataset, "annotations", None)
    if isinstance(files, str | os.PathLike):
        files = [files]
    out = []
    for f in files or []:
        p = Path(f)
        if p.is_file():
            out.append(p)
        elif not given:
            log.warning("the annotation file %s of dataset %s is not there; its hash is not recorded", p,
                        getattr(dataset, "name", "?"))  # fmt: skip
        elif p.is_dir():
            raise IsADirectoryError(f"annotations: {os.fspath(p)} is a folder; name the annotation file(s) in it")
        else:
            raise FileNotFoundError(f"annotations: {os.fspath(p)} does not exist; nothing was written")
    return out


def _provenance(dataset: Any, annotations: Any) -> dict[str, Any]:
    samples = dataset.samples
    hashes = {os.fspath(p): _sha256(p) for p in _annotation_files(dataset, annotations)}
    table = samples.to_csv(index=False).encode()
    datasets = sorted(set(map(str, samples["dataset"]))) if "dataset" in samples else [str(dataset.name)]
    return {
        "corpus": str(getattr(dataset, "name", "")),
        "datasets": datasets,
        "dataset_root": os.fspath(getattr(dataset, "root", "")),
        "annotation_sha256": hashes,
        "samples_sha256": hashlib.sha256(table).hexdigest(),
        "versions": _versions(),
    }


def _location(store: Any) -> Any:
    if isinstance(store, MEStore):
        store = store.path  # a path-like when the store was opened from one: workers can open it too
    if isinstance(store, os.PathLike):
        store = os.fspath(store)
    if isinstance(store, str) and "://" not in store:
        # Absolute, so workers started elsewhere (a Dask cluster's nodes) resolve it to the same folder.
        store = os.path.abspath(store)
    return store


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        return {k: v for key, val in d.items() for k, v in _flatten(val, f"{prefix}{key}.").items()}
    return {prefix[:-1]: d}


#: Options added to ``PreprocessOptions`` after stores were first written, with the value that gives what
#: ``preprocess`` did before them: a store without the key was made that way.
_ADDED_OPTIONS: dict[str, Any] = {
    "options.decode": "full",
    "options.mdmo_warm_start": False,
    "options.device": "cpu",
}
#: Labels recorded next to the values they name: the TV-L1 preset whose values these are, in the preset table
#: of the version that wrote the store (a preset renamed or retuned since changes the label, not the values).
_LABELS = ("options.flow.preset", "options.mdmo_flow.preset")


def _with_added(stored: dict[str, Any]) -> dict[str, Any]:
    """A store's flattened parameters with the options and TV-L1 fields added since it was written filled in."""
    out = {**_ADDED_OPTIONS, **stored}
    for flow in ("options.flow", "options.mdmo_flow"):
        if f"{flow}.tau" in out:  # TV-L1 values recorded: older ones lack the fields added since
            for name, value in TVL1_ADDED_FIELDS.items():
                out.setdefault(f"{flow}.{name}", value)
    return out


def _in_store_order(st: MEStore, dataset: Any) -> Any:
    """``dataset`` with its samples in the store's row order when both hold the same sample ids in another order.

    A sample is its id: given in another order (a composite's members named in another order, a store of a
    version that ordered them otherwise), the run resumes the store as it is. Anything else is returned as
    given, for :func:`_check_compatible` to judge.
    """
    ids = list(map(str, dataset.samples["sample_id"]))
    have = list(map(str, st.meta["sample_id"]))
    if ids == have or sorted(ids) != sorted(have) or len(set(ids)) != len(ids):
        return dataset
    where = {sid: k for k, sid in enumerate(ids)}
    log.info("the store at %s holds this dataset's samples in another order: its order is kept", st.path)
    return dataset.subset([where[sid] for sid in have])


def _check_compatible(st: MEStore, dataset: Any, params: dict[str, Any]) -> None:
    stored = _with_added(_flatten(st.attrs.get("parameters") or {}))
    wanted = _flatten(json.loads(json.dumps(_jsonable(params))))  # as create stored them: paths, numpy values
    if any(stored.get(k) != wanted.get(k) for k in set(stored) | set(wanted) if k not in _LABELS):
        diffs = [f"{k}: {stored.get(k)!r} -> {wanted.get(k)!r}" for k in sorted(set(stored) | set(wanted))
                 if stored.get(k) != wanted.get(k)]  # fmt: skip
        raise StoreError(
            f"the store at {st.path} was made with other parameters ({'; '.join(diffs)}); "
            f"write to a new store or pass {_OVERWRITE} to recompute everything"
        )
    ids = list(map(str, dataset.samples["sample_id"]))
    have = list(map(str, st.meta["sample_id"]))
    if ids != have:  # (the same samples in another order were put in the store's order: _in_store_order)
        new, gone = sorted(set(ids) - set(have)), sorted(set(have) - set(ids))
        which = (
            f"new in the dataset: {_some(new)}; gone from it: {_some(gone)}"
            if new or gone
            else "the same ids, repeated or in another order"
        )
        raise StoreError(
            f"the store at {st.path} holds other samples than this dataset (the store {len(have)}, the dataset "
            f"{len(ids)}; {which}). A store keeps the samples it was made with: pass {_OVERWRITE} to recompute "
            "every sample into it, or write to a new store"
        )


#: How a refusal tells the user to replace a store, from Python and from the command line.
_OVERWRITE = "overwrite=True (mefast preprocess --overwrite)"


def _some(ids: list[str], shown: int = 5) -> str:
    """``ids`` for a message: how many, and the first ``shown`` of them (``"none"`` when empty)."""
    if not ids:
        return "none"
    more = ", ..." if len(ids) > shown else ""
    return f"{len(ids)} ({', '.join(ids[:shown])}{more})"


def _warn_other_versions(st: MEStore, n_todo: int) -> None:
    """Warn when a resume computes samples with other library versions than the store was made with.

    Not refused (a patch release of a dependency would block every resume), but said: those samples' values may
    differ from the rest's. Each run records its versions in the store's ``runs``, so the mix stays visible.
    """
    made = st.attrs.get("versions") or {}
    now = _versions()
    changed = [f"{k} {made[k]} -> {v}" for k, v in now.items() if k in made and made[k] != v]
    if n_todo and changed:
        log.warning(
            "the store at %s was made with other versions (%s); the %d samples this run computes may differ from "
            "the others (each run's versions are recorded in the store's attrs['runs'])",
            st.path, ", ".join(changed), n_todo,
        )  # fmt: skip


def _au_matrix(dataset: Any) -> np.ndarray:
    au_names = list(getattr(dataset, "au_names", ()))
    return dataset.au_matrix(au_names) if au_names else np.zeros((len(dataset.samples), 0), np.uint8)


def _update_annotations(st: MEStore, dataset: Any, annotations: Any) -> None:
    """Give samples whose annotation changed since the store was made their new metadata, and recompute them.

    A corrected apex or a relabelled emotion with the same sample ids: done data computed from the old
    annotation, or old labels, would be silently stale. Their chunks are deleted as they are marked undone, so
    the old values are never read again (by mefast or plain zarr), even if the recompute fails. A correction
    that changes the corpus's AU vocabulary (adds an AU, or removes its last occurrence) rewrites the AU labels
    with the new columns; the other samples' features do not depend on it and stay done.
    """
    names = list(map(str, getattr(dataset, "au_names", ())))
    samples = dataset.samples.reset_index(drop=True)
    au = _au_matrix(dataset)
    changed = np.flatnonzero(st.changed_rows(samples, au, names))
    vocabulary = names != st.au_names
    if not len(changed) and not vocabulary:
        return
    if len(changed):
        ids = st.meta["sample_id"]
        shown = ", ".join(map(str, ids[changed[:5]])) + (", ..." if len(changed) > 5 else "")
        log.warning(
            "the annotations of %d samples changed since the store was made (%s); their metadata is updated and "
            "they are recomputed", len(changed), shown,
        )  # fmt: skip
    if vocabulary:
        log.warning("the corpus's AUs changed from %s to %s; the store's AU labels are rewritten", st.au_names, names)
    for i in changed:  # done or not: a sample that failed or was killed midway may hold part of its old values
        st.clear_sample(int(i))
    st.rewrite_meta(samples, au, names)
    prov = _provenance(dataset, annotations)
    st.update_attrs(annotation_sha256=prov["annotation_sha256"], samples_sha256=prov["samples_sha256"])


def _open_or_create(
    location: Any,
    dataset: Any,
    params: dict[str, Any],
    shapes_fn: Any,
    annotations: Any,
    *,
    overwrite: bool,
    force_unlock: bool,
) -> MEStore:
    _annotation_files(dataset, annotations)  # a mistyped path fails before anything is written
    exists = MEStore.exists(location)
    creating = MEStore.creating(location) if exists else None
    if creating is not None:  # a creation that did not finish holds nothing to keep: create the store again
        if creator_alive(creating) and not force_unlock:
            raise StoreError(
                f"{location} is being created by another run (process {creating.get('pid')} on "
                f"{creating.get('host')} since {creating.get('since')}); wait for it, or pass force_unlock=True "
                "(mefast preprocess --force-unlock) if that run is gone"
            )
        log.warning("the creation of the store at %s was interrupted (begun %s); creating it again", location,
                    creating.get("since"))  # fmt: skip
    elif exists and not overwrite:
        return MEStore.open(location, "r+")
    foreign = None if exists else _foreign(location)
    if foreign is not None:
        raise StoreError(f"{location} is {foreign} that is not a zarr store; refusing to write there")
    if exists and creating is None:
        try:
            old = MEStore.open(location, "r+")
        except StoreError as exc:
            raise StoreError(
                f"{location} holds a zarr group that is not a mefast store; refusing to overwrite it"
            ) from exc
        with old.lock(force=force_unlock):  # refuse to overwrite a store another run is writing
            pass
    return MEStore.create(
        location,
        dataset.samples.reset_index(drop=True),
        au=_au_matrix(dataset),
        au_names=list(getattr(dataset, "au_names", ())),
        arrays=shapes_fn(),
        attrs={"parameters": params, **_provenance(dataset, annotations)},
        overwrite=exists,
    )


@contextlib.contextmanager
def _locked(location: Any, open_or_create: Callable[[], MEStore], force_unlock: bool) -> Iterator[MEStore]:
    """The store ``open_or_create()`` opens, creates or replaces, with its run lock held until the run ends.

    Decided under the location's :func:`~mefast.store.creation_lock` until the run lock is held: replacing a
    store deletes its run lock with it, so two overwriting runs each checked the old lock, replaced the store and
    locked a new file of their own (the store was left without metadata, or missing a sample both reported
    done). Now the second waits for the first's creation, then finds its run lock held.
    """
    with contextlib.ExitStack() as held:
        with creation_lock(location):
            st = open_or_create()
            held.enter_context(st.lock(force=force_unlock))
        yield st
