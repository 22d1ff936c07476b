"""The reading pipeline shared by every corpus: sheet -> corrections -> frames -> sample table.

A corpus module describes itself with a :class:`CorpusSpec` (its columns, folder layout, known corrections
and vocabulary) and :func:`build` does the rest the same way for all of them. Each change to an annotation
is recorded in :attr:`Dataset.corrections`, each problem in :attr:`Dataset.issues`; no row disappears
without a record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from ...errors import AnnotationError
from ...labels import format_aus, megc2019_class, normalise_emotion, objective_class, parse_aus_lenient
from .base import CORRECTION_COLUMNS, ISSUE_COLUMNS, SAMPLE_COLUMNS, Dataset, au_names_of
from .corrections import Correction, CorrectionLog, apply_corrections, show
from .frames import FrameListing, folders_without_sample, list_frames
from .table import frame_cell, is_blank, read_sheet, text_cell

__all__ = [
    "STANDARD_FIELDS",
    "Correction",
    "CorpusSpec",
    "build",
    "find_annotation_file",
    "in_subject_folder",
    "objective_cell",
    "spec_reader",
]

#: Fields a corpus table may carry. ``folder`` (optional) is the clip's folder name when it differs from
#: the clip name (CAS(ME)^3 part A numbers duplicate names, but the ME clips share one recording folder).
FIELDS = ("subject", "clip", "onset", "apex", "offset", "aus", "emotion", "objective")

#: The fields of most corpora's sheets (one row per clip), in their usual order; what a spec requires by default.
STANDARD_FIELDS = FIELDS[:-1]


def _default_text(value: object) -> str:
    return text_cell(value)


@dataclass(frozen=True)
class CorpusSpec:
    """Everything mefast knows about one corpus's distribution.

    Attributes
    ----------
    name, title : str
        Dataset key (``"casme2"``) and display name (``"CASME II"``).
    annotation_files : tuple of str
        File names of the annotation sheet as distributed (searched for when none is given).
    columns : mapping of str to tuple of str
        mefast field -> accepted column names.
    required : tuple of str
        Fields the sheet must have (default :data:`STANDARD_FIELDS`).
    clip_dirs : callable
        ``(root, record) -> list[Path]``: candidate folders of a clip, most likely first; ``record`` holds
        the row's ``subject``, ``clip``, ``folder`` and raw ``emotion_raw``.
    clip_per_folder : bool
        True (default) when a clip folder holds exactly the frames onset..offset (CASME II), False when it
        holds a longer recording (CAS(ME)^3).
    emotions : frozenset of str
        The corpus's emotion labels in mefast's spelling; others are reported by ``validate``.
    release_rows : int or None
        Data rows of the sheet release the corrections address; corrections known only by their release row
        are looked for at that row only on a sheet of that length (identity-keyed ones work on any sheet).
    corrections : tuple of Correction
    subject, clip : callable
        Cell -> normalised subject / clip text.
    read : callable or None
        ``(annotations, root) -> (table, header_row)`` replacing the spreadsheet reader (SMIC, which ships
        no sheet).
    transform : callable or None
        ``table -> (table, [(row, field, old, new, reason)])``: corpus rules applied to every row after the
        corrections (CAS(ME)^3's duplicate names).
    drop_au_flags : tuple of str
        AU codes carrying these marks are left out (4DME ``"(k)"``), each recorded as a correction.
    apex_fill_reason : str
        Why a missing apex becomes the middle frame.
    multi_label : bool
        Emotion cells may combine labels with ``"+"`` (4DME).
    objective_files : tuple of str
        File names of a per-sample objective-class sheet the corpus ships beside its annotation sheet (CASME
        II's ``CASME2-ObjectiveClasses.xlsx``: ``Subject, Filename, Objective Class``, the class 1-7). Read
        when found there (or passed), joined to the samples on subject and clip; where it gives no class, and
        when it is absent, the class is derived from the AUs and an issue says so (see :func:`build`).
    """

    name: str
    title: str
    annotation_files: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]]
    clip_dirs: Callable[[Path, Mapping[str, str]], list[Path]]
    emotions: frozenset[str]
    required: tuple[str, ...] = STANDARD_FIELDS
    clip_per_folder: bool = True
    release_rows: int | None = None
    corrections: tuple[Correction, ...] = ()
    subject: Callable[[object], str] = _default_text
    clip: Callable[[object], str] = _default_text
    read: Callable[[Path | None, Path], tuple[pd.DataFrame, int]] | None = None
    transform: Callable[[pd.DataFrame], tuple[pd.DataFrame, list[tuple]]] | None = None
    drop_au_flags: tuple[str, ...] = ()
    apex_fill_reason: str = "apex missing in the annotation; the middle frame of onset..offset is used"
    multi_label: bool = False
    grey: bool = field(default=False)
    objective_files: tuple[str, ...] = ()


def in_subject_folder(root: Path, rec: Mapping[str, str]) -> list[Path]:
    """Clip folders ``<subject>/<clip>/`` (SAMM, 4DME), or ``<clip>/`` straight under the root."""
    return [root / rec["subject"] / rec["folder"], root / rec["folder"]]


def find_annotation_file(spec: CorpusSpec, root: Path) -> Path:
    """Find the corpus's annotation sheet in ``root`` or up to two folders above it (or their ``annotation/``)."""
    for folder in (root, root.parent, root.parent.parent):
        for where in (folder, folder / "annotation"):
            for name in spec.annotation_files:
                if (where / name).is_file():
                    return where / name
    raise AnnotationError(
        f"{spec.title}: no annotation file given and none of {list(spec.annotation_files)} is in {root} "
        "or the two folders above it (or their annotation/ folders); pass annotations=<path to the sheet>"
    )


_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}

#: How a class that no annotation gives is found, for the messages.
_DERIVED = "derived from its AUs by the MEGC2018 rule"


def objective_cell(value: object) -> int | None:
    """A MEGC2018 objective class 1-7 from a sheet cell (``4``, ``4.0``, ``"4"``, ``"IV"``), else ``None``.

    >>> objective_cell(4.0), objective_cell(" iv "), objective_cell("VII"), objective_cell(9), objective_cell("")
    (4, 4, 7, None, None)
    """
    n = frame_cell(value)
    if n is None and isinstance(value, str):
        n = _ROMAN.get(value.strip().upper())
    return n if n is not None and 1 <= n <= 7 else None


@dataclass
class _ObjectiveFile:
    """A per-sample objective-class sheet: (subject, clip) -> its rows' (class cell, sheet row)."""

    path: Path
    rows: dict[tuple[str, str], list[tuple[object, int]]]
    used: set[tuple[str, str]] = field(default_factory=set)


def _objective_file(
    spec: CorpusSpec, ann: Path | None, given: str | Path | Literal[False] | None
) -> _ObjectiveFile | None:
    """The objective-class sheet to read (``given``, or the first of ``spec.objective_files`` beside ``ann``)."""
    if given is False:
        return None
    if given is not None:
        path = Path(given).expanduser()
        if not path.is_file():
            raise AnnotationError(f"{spec.title}: objective-class file {path} does not exist")
    else:
        beside = [ann.parent / n for n in spec.objective_files] if ann is not None else []
        found = next((p for p in beside if p.is_file()), None)
        if found is None:
            return None
        path = found
    columns = {
        "subject": spec.columns["subject"],
        "clip": spec.columns["clip"],
        "objective": spec.columns.get("objective", ("Objective Class", "Objective Classes")),
    }
    table, header = read_sheet(path, columns, tuple(columns))
    rows: dict[tuple[str, str], list[tuple[object, int]]] = {}
    for r, (subject, clip, cell) in enumerate(zip(table["subject"], table["clip"], table["objective"], strict=True)):
        if is_blank(subject) and is_blank(clip) and is_blank(cell):
            continue
        key = (spec.subject(subject) if not is_blank(subject) else "", spec.clip(clip) if not is_blank(clip) else "")
        rows.setdefault(key, []).append((cell, header + 2 + r))
    return _ObjectiveFile(path, rows)


def _objective_class(
    spec: CorpusSpec, rec: Mapping, aus: Sequence[int], source: _ObjectiveFile | None, log: CorrectionLog, sid: str
) -> tuple[int, bool]:
    """A sample's objective class and whether it was derived from its AUs (each problem recorded)."""
    in_sheet = objective_cell(rec["objective"])
    if source is None:
        return (in_sheet, False) if in_sheet is not None else (objective_class(aus), True)
    derived = objective_class(aus)
    key = (str(rec["subject"]), str(rec["clip"]))
    entries = source.rows.get(key)
    name = source.path.name
    if entries is None:
        why = f"{sid} is not in {name} ({source.path})"
        if in_sheet is not None:
            log.issue(
                sid, "objective_class_missing", f"{why}; the annotation sheet's class {in_sheet} is used", "warning"
            )
            return in_sheet, False
        log.issue(sid, "objective_class_missing", f"{why}; its class {derived} is {_DERIVED}", "warning")
        return derived, True
    source.used.add(key)
    cells = [(objective_cell(c), c, row) for c, row in entries]
    classes = {c for c, _, _ in cells}
    if len(classes) > 1:
        listed = ", ".join(f"{show(c)!r} (sheet row {row})" for _, c, row in cells)
        detail = f"{name} gives {sid} the objective classes {listed}; its class {derived} is {_DERIVED}"
        log.issue(sid, "objective_class_conflict", detail, "warning")
        return derived, True
    given = cells[0][0]
    if given is None:
        _, cell, row = cells[0]
        detail = (
            f"{name} sheet row {row} gives {sid} the objective class {show(cell)!r}, not a class 1-7 (I-VII); "
            f"its class {derived} is {_DERIVED}"
        )
        log.issue(sid, "objective_class_invalid", detail, "warning")
        return derived, True
    if in_sheet is not None and in_sheet != given:
        detail = f"the annotation sheet gives {sid} the objective class {in_sheet}, {name} {given}; {name}'s is used"
        log.issue(sid, "objective_class_conflict", detail, "warning")
    return given, False


def _frame_numbers(
    spec: CorpusSpec, rec: dict, listing: FrameListing, log: CorrectionLog, sid: str, where: str
) -> dict[str, int | None]:
    """Onset, apex and offset of a row; missing ones derived where the corpus allows it (each recorded).

    A cell that holds something other than a frame number (text, a fraction, a negative number) is an
    ``invalid_annotation`` error; it is derived like a missing one, the correction saying what the cell held.
    """
    r = int(rec["row"])
    frames: dict[str, int | None] = {}
    invalid: dict[str, str] = {}  # field -> why its cell is no frame number, for the reason of a derived value
    for f in ("onset", "apex", "offset"):
        frames[f] = frame_cell(rec[f])
        if frames[f] is None and not is_blank(rec[f]) and str(rec[f]).strip() not in ("/", "-"):
            invalid[f] = f"{f} {rec[f]!r} is not a frame number"
            log.issue(sid, "invalid_annotation", f"{f} {rec[f]!r} ({where}) is not a frame number")
    if spec.clip_per_folder and listing.numbers:
        for f, value, end in (("onset", listing.numbers[0], "first"), ("offset", listing.numbers[-1], "last")):
            if frames[f] is None:
                frames[f] = value
                why = invalid.get(f, f"{f} missing in the annotation")
                log.fix(r, f, rec[f], value, f"{why}; the {end} frame of the clip folder", sid)
    onset, offset = frames["onset"], frames["offset"]
    if frames["apex"] is None and onset is not None and offset is not None:
        frames["apex"] = onset + (offset - onset) // 2
        why = spec.apex_fill_reason
        if "apex" in invalid:
            why = f"{invalid['apex']}; the middle frame of onset..offset is used"
        log.fix(r, "apex", rec["apex"], frames["apex"], why, sid)
    for f in ("onset", "apex", "offset"):
        if frames[f] is None and f not in invalid:  # an invalid cell is reported once, above
            log.issue(sid, "invalid_annotation", f"{f} is missing ({where}) and cannot be derived")
    return frames


def build(
    spec: CorpusSpec,
    root: str | Path,
    annotations: str | Path | None = None,
    *,
    corrections: bool | Sequence[Correction] = True,
    objective_classes: str | Path | Literal[False] | None = None,
) -> Dataset:
    """Read a corpus into a :class:`Dataset` (the body of every reader).

    ``corrections``: True applies the corpus's known corrections, False none, a sequence of
    :class:`Correction` those instead (e.g. identity-keyed ones from :func:`mefast.datasets.bind_corrections`).

    ``objective_classes``: a per-sample objective-class sheet (``Subject, Filename, Objective Class``) whose
    classes replace the ones derived from the AUs, joined on subject and clip; by default the first of
    ``spec.objective_files`` beside the annotation sheet, False for none. A sample it leaves out, gives no
    class 1-7 (or I-VII) or two classes keeps the derived class, with an ``objective_class_missing``,
    ``_invalid`` or ``_conflict`` warning; its rows naming no sample are one ``objective_class_unmatched``
    warning. A corpus that ships such a sheet (``spec.objective_files``) read without it gets one
    ``objective_class_derived`` issue (``"info"``) saying its classes are derived, not annotated.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{spec.title}: dataset root {root} is not a folder")
    if spec.read is not None:
        ann = Path(annotations).expanduser() if annotations is not None else None
        table, header = spec.read(ann, root)
    else:
        ann = Path(annotations).expanduser() if annotations is not None else find_annotation_file(spec, root)
        table, header = read_sheet(ann, spec.columns, spec.required)
    table = table.copy()
    for f in FIELDS:
        if f not in table.columns:
            table[f] = None
    log = CorrectionLog()

    def sheet_row(r: int) -> int:
        return header + 2 + r  # 1-based, as a spreadsheet program numbers rows

    objective_source = _objective_file(spec, ann, objective_classes)
    known = spec.corrections if corrections is True else () if corrections is False else tuple(corrections)
    apply_corrections(spec, known, table, log, sheet_row)

    # Rows that cannot be samples: blank, or without subject/clip. Reported, then left out.
    keep_rows = []
    for r in range(len(table)):
        row = table.iloc[r]
        if all(is_blank(row[f]) for f in FIELDS):
            log.issue("", "empty_row", f"data row {r} (sheet row {sheet_row(r)}) of {ann} is empty")
            continue
        if is_blank(row["subject"]) or is_blank(row["clip"]):
            what = "subject" if is_blank(row["subject"]) else "clip"
            log.issue("", "invalid_annotation", f"data row {r} (sheet row {sheet_row(r)}) has no {what}")
            continue
        keep_rows.append(r)
    table = table.iloc[keep_rows].copy()
    table["row"] = keep_rows
    table["emotion_raw"] = [text_cell(v) for v in table["emotion"]]
    table["subject"] = [spec.subject(v) for v in table["subject"]]
    table["clip"] = [spec.clip(v) for v in table["clip"]]
    if "folder" not in table.columns or table["folder"].isna().all():
        table["folder"] = table["clip"]
    table = table.reset_index(drop=True)
    if spec.transform is not None:
        table, changes = spec.transform(table)
        for r, fld, old, new, reason in changes:
            log.fix(r, fld, old, new, reason)

    cache: dict[Path, FrameListing] = {}
    rows, numbers, paths, dirs = [], [], [], []
    seen: dict[str, int] = {}
    n_derived = 0
    for rec in table.to_dict("records"):
        r = int(rec["row"])
        sid = f"{spec.name}/{rec['subject']}/{rec['clip']}"
        if sid in seen:
            seen[sid] += 1
            new_sid = f"{sid}~{seen[sid]}"
            log.issue(new_sid, "duplicate_sample", f"sheet row {sheet_row(r)} repeats sample {sid}")
            sid = new_sid
        else:
            seen[sid] = 1
        candidates = spec.clip_dirs(root, {k: str(rec[k]) for k in ("subject", "clip", "folder", "emotion_raw")})
        folder = next((c for c in candidates if c.is_dir()), candidates[0])
        listing = list_frames(folder, cache)

        frames = _frame_numbers(spec, rec, listing, log, sid, f"sheet row {sheet_row(r)}")

        aus, dropped, problems = parse_aus_lenient(rec["aus"], drop_flags=spec.drop_au_flags)
        for p in problems:
            log.issue(sid, "invalid_aus", f"{p} (sheet row {sheet_row(r)}); the other AUs are kept")
        if dropped:
            log.fix(
                r,
                "aus",
                rec["aus"],
                format_aus(aus),
                f"AUs marked {'/'.join(f'({m})' for m in spec.drop_au_flags)} are left out: {format_aus(dropped)}",
                sid,
            )
        emotion = normalise_emotion(rec["emotion"])
        obj, derived = _objective_class(spec, rec, aus, objective_source, log, sid)
        n_derived += derived
        rows.append(
            {
                "sample_id": sid,
                "dataset": spec.name,
                "subject": rec["subject"],
                "clip": rec["clip"],
                "onset": -1 if frames["onset"] is None else frames["onset"],
                "apex": -1 if frames["apex"] is None else frames["apex"],
                "offset": -1 if frames["offset"] is None else frames["offset"],
                "n_frames": len(listing.numbers),
                "emotion": emotion,
                "megc2019": megc2019_class(spec.name, emotion, rec["subject"], rec["clip"]),
                "objective_class": obj,
                "aus": format_aus(aus),
                "_row": r,
            }
        )
        numbers.append(list(listing.numbers))
        paths.append(list(listing.paths))
        dirs.append(folder)

    if objective_source is not None:
        _report_unmatched(spec, objective_source, log)
    elif spec.objective_files and n_derived:
        looked = " or ".join(spec.objective_files)
        where = "was not read (objective_classes=False)" if objective_classes is False else f"is beside {ann}"
        log.issue(
            "",
            "objective_class_derived",
            f"{spec.title}: the objective_class of {n_derived} samples is derived from their AUs by the MEGC2018 "
            f"rule, not annotated: no {looked} {where}; pass objective_classes=<path> to read the corpus's classes",
            "info",
        )

    if spec.clip_per_folder:  # a clip folder no row reads: a clip left out of the sheet, or named otherwise there
        for folder, why in folders_without_sample(root, dirs):
            log.issue("", "folder_without_sample", f"folder {folder} {why}", "warning")

    samples = pd.DataFrame(rows, columns=[*SAMPLE_COLUMNS, "_row"])
    row_to_sid = dict(zip(samples["_row"], samples["sample_id"], strict=True))
    samples = samples.drop(columns="_row")
    for col in ("onset", "apex", "offset", "n_frames", "objective_class"):
        samples[col] = samples[col].astype("int64")
    for c in [*log.corrections, *log.issues]:
        row = c.pop("_row", c.get("row"))
        if not c["sample_id"] and row is not None:
            c["sample_id"] = row_to_sid.get(row, "")
    issues = pd.DataFrame(log.issues, columns=list(ISSUE_COLUMNS))
    return Dataset(
        name=spec.name,
        root=root,
        samples=samples,
        frame_numbers=numbers,
        frame_paths=paths,
        au_names=au_names_of(samples["aus"]),
        annotations=ann,
        clip_dirs=dirs,
        corrections=pd.DataFrame(log.corrections, columns=list(CORRECTION_COLUMNS)),
        issues=issues.astype(object),
    )


def _report_unmatched(spec: CorpusSpec, source: _ObjectiveFile, log: CorrectionLog) -> None:
    """One warning for the objective-class rows that name no sample of the annotation sheet."""
    left = [(key, rows[0][1]) for key, rows in source.rows.items() if key not in source.used]
    if not left:
        return
    named = ", ".join(f"{s}/{c} (sheet row {row})" for (s, c), row in left[:6]) + ("..." if len(left) > 6 else "")
    log.issue(
        "",
        "objective_class_unmatched",
        f"{spec.title}: {len(left)} rows of {source.path} name no sample of the annotation sheet: {named}",
        "warning",
    )


_SEARCHED = "searched for in ``root`` and the two folders above when omitted"


def spec_reader(
    spec: CorpusSpec,
    *,
    root: str,
    annotations: str | None = None,
    corrections: str = "Apply the known corrections (on by default).",
) -> Callable[..., Dataset]:
    """The ``read(root, annotations=None, *, corrections=True)`` function of a corpus that needs nothing but its spec.

    ``root``, ``annotations`` and ``corrections`` describe the reader's parameters in its docstring; by default
    ``annotations`` names the spec's first sheet file and says it is searched for. A corpus that ships an
    objective-class sheet (``spec.objective_files``) also gets ``objective_classes=None`` (see :func:`build`).
    """
    if annotations is None:
        annotations = f"``{spec.annotation_files[0]}``; {_SEARCHED}."
    objective_doc = ""
    if spec.objective_files:

        def read(
            root: str | Path,
            annotations: str | Path | None = None,
            *,
            corrections: bool | Sequence[Correction] = True,
            objective_classes: str | Path | Literal[False] | None = None,
        ) -> Dataset:
            return build(spec, root, annotations, corrections=corrections, objective_classes=objective_classes)

        objective_doc = f"""
    objective_classes : path-like or False, optional
        The corpus's per-sample objective-class sheet (``{spec.objective_files[0]}``: Subject, Filename,
        Objective Class), read from beside the annotation sheet when omitted; its classes replace the ones
        derived from the AUs, joined on subject and clip. False reads none. Without it the classes are
        derived, and an ``objective_class_derived`` issue says so; a sample it leaves out or gives no class
        1-7 keeps the derived class, with a warning."""
    else:

        def read(  # type: ignore[misc]  # one of two definitions of the same name, without objective_classes
            root: str | Path, annotations: str | Path | None = None, *, corrections: bool | Sequence[Correction] = True
        ) -> Dataset:
            return build(spec, root, annotations, corrections=corrections)

    read.__doc__ = f"""Read {spec.title}.

    Parameters
    ----------
    root : path-like
        {root}
    annotations : path-like, optional
        {annotations}
    corrections : bool or sequence of Correction
        {corrections} A sequence of :class:`Correction` applies those instead.{objective_doc}

    Returns
    -------
    Dataset
    """
    return read
