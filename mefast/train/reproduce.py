"""Published tables as data: experiment files and the runner behind ``mefast reproduce``.

An experiment is a TOML file in ``mefast/train/experiments/`` (or anywhere, given by path). It names the
corpora, protocol, models, seeds and epochs of one published table and holds the published figures; running
it writes the table with mefast's numbers beside the published ones and their differences. The format::

    [experiment]
    name = "leakage-table5"            # what `mefast reproduce NAME` takes (defaults to the file name)
    title = "..."                       # one line
    source = "Varanka et al., data leakage ..., Table 5"
    notes = ["...", ...]               # shown under the table (what differs from the paper, and why)

    [data]
    store = "cd6me.zarr"                # store under --root holding the corpora (or --store PATH)
    corpora = ["casme", "casme2", ...]  # corpora the store must hold
    protocol = "lodo"                   # any of mefast.protocols.PROTOCOLS
    label = "au"                        # optional: emotion | au | objective
    metric = "f1"                       # metric of the published figures: uf1, uar, f1, accuracy
    scale = 100                         # published figures in percent (100) or as fractions (1)
    # optional defaults of every run: classes, train_datasets, test_datasets, class_filters, feature

    [training]                          # mefast.train.TrainConfig fields, plus seeds
    epochs = 200
    seeds = [0, 1, 2, 3, 4]

    [quick]                             # overrides for --quick (synthetic corpora, seconds)
    epochs = 1
    seeds = [0]
    rows = ["SSSNet", "ResNet10"]       # optional: the rows --quick runs (default: all)

    [[columns]]                         # the table's columns, in order
    key = "C1"                          # key of the published figures
    read = "overall"                    # what to read: overall | datasets-mean | <dataset> | <AU>
    run = { train_datasets = ["casme"], test_datasets = ["casme2"] }   # optional per-column run settings
    # or average_of = ["C1", "+SA"]: the mean of other columns' measured figures

    [[rows]]
    name = "SSSNet"                     # the paper's row label
    model = "sssnet"                    # registered network, svm or constant
    feature = "lbptop"                  # (svm) input feature
    noisy = "ltm"                       # optional noisy-label method (mefast.train.NOISY_METHODS)
    strategy = "fixed"                  # fixed | esv | leaky  (the data-leakage experiment only)
    run = { ... }                       # optional per-row run settings
    published = { C1 = 34.3, "+SA" = 43.0 }
    published_notes = { "+SA" = "..." } # optional: a remark on a published figure (marked with a dagger)

    [[rows]]
    name = "GA-ME"
    missing = "why mefast cannot run it"  # listed with its published figures, not run
    published = { ... }

Each cell's run is the ``[data]`` defaults, updated by the row's ``run`` and then the column's ``run``;
cells sharing the same run settings share one evaluation. The run setting ``add_train_datasets`` (a list of
corpora) joins the cell's ``train_datasets``, which the cell must then set: a row can add corpora to every
column's training set, for a table whose rows and columns each name part of it. A cell whose training set is
empty is not run (the paper's N/A). Rows with ``strategy = "leaky"`` run the leaky protocol of
:mod:`mefast.train.leakage` and are labelled ``LEAKY`` in every output.

Each published figure is printed with as many decimals as the file writes it with (``0.8996``: four,
``0.6100``: four, ``0.61``: two; write a figure as the paper prints it), mefast's figure and the difference
with the same number; a cell without a published figure takes its column's most precise one (else 3 decimals
for ``scale = 1``, 1 for ``scale = 100``). A float given in Python rather than read from a file counts the
decimals of its shortest repr.

New tables (for example a new method's paper) are added by dropping a file of this format into
``mefast/train/experiments/``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MefastError
from ..protocols import PROTOCOLS, Evaluation
from ..store import MEStore
from .noisy import IDC, NOISY_METHODS, NoisyMethod

__all__ = [
    "EXPERIMENT_DIR",
    "Experiment",
    "ExperimentError",
    "Reproduction",
    "experiment_files",
    "load_experiment",
    "quick_store",
    "run_experiment",
]

#: Folder of the shipped experiment files.
EXPERIMENT_DIR = Path(__file__).parent / "experiments"

_RUN_KEYS = frozenset(
    {
        "protocol",
        "label",
        "classes",
        "train_datasets",
        "add_train_datasets",
        "test_datasets",
        "class_filters",
        "feature",
        "clean_ids",
    }
)
_TRAINING_KEYS = frozenset(
    {
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "augment",
        "patience",
        "val_fraction",
        "threads",
        "device",
        "input_size",
    }
)
_STRATEGIES = ("fixed", "esv", "leaky")
_QUICK_CORPORA = ("casme2", "samm", "smic", "casme", "mmew", "4dme", "casme3a")


class ExperimentError(MefastError, ValueError):
    """An experiment file that cannot be read or run as written."""


class _Figure(float):
    """A float of an experiment file that keeps how many decimals it was written with (``0.6100``: 4).

    ``tomllib``'s ``parse_float`` makes one of every float of the file; the published figures keep them (for
    printing as published), every other value is turned back into a plain float on loading.
    """

    decimals: int | None

    def __new__(cls, text: str) -> _Figure:
        self = super().__new__(cls, text)
        self.decimals = _written_decimals(text)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (float, (float(self),))


def _written_decimals(text: str) -> int | None:
    """Decimals of a TOML float as written: ``"0.8996"`` 4, ``"34.0"`` 1, ``"2.5e-1"`` 2; None for inf/nan."""
    t = text.strip().lstrip("+-").replace("_", "").lower()
    if not t[:1].isdigit():
        return None  # inf, nan
    mantissa, _, exponent = t.partition("e")
    digits = len(mantissa.partition(".")[2])
    return max(0, digits - int(exponent)) if exponent else digits


def _published_decimals(value: Any) -> int | None:
    """Decimals a published figure was written with; None when unknown (inf, nan, not a number).

    An integer has 0; a float not read from a file (an experiment built in Python) those of its shortest repr.
    """
    if isinstance(value, _Figure):
        return value.decimals
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return _written_decimals(repr(value))
    return None


def _plain(value: Any) -> Any:
    """``value`` with every :class:`_Figure` in it a plain float."""
    if isinstance(value, _Figure):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    """The document, its floats plain but for the rows' published figures (which keep their decimals)."""
    with path.open("rb") as fh:
        doc = tomllib.load(fh, parse_float=_Figure)
    rows = doc.get("rows")
    plain = _plain(doc)
    if isinstance(rows, list):
        for raw, row in zip(rows, plain["rows"], strict=True):
            if isinstance(raw, dict) and isinstance(raw.get("published"), dict):
                row["published"] = dict(raw["published"])
    return plain


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A parsed experiment file (see the module docstring for the format)."""

    name: str
    title: str
    source: str
    path: Path
    data: Mapping[str, Any]
    training: Mapping[str, Any]
    quick: Mapping[str, Any]
    columns: tuple[Mapping[str, Any], ...]
    rows: tuple[Mapping[str, Any], ...]
    notes: tuple[str, ...] = ()

    @property
    def runnable_rows(self) -> tuple[Mapping[str, Any], ...]:
        """Rows mefast can run (those without ``missing``)."""
        return tuple(r for r in self.rows if "missing" not in r)

    @property
    def missing_rows(self) -> tuple[Mapping[str, Any], ...]:
        """Rows listed with their published figures but not run, with the reason."""
        return tuple(r for r in self.rows if "missing" in r)


def experiment_files() -> dict[str, Path]:
    """Shipped experiments: name -> file."""
    out = {}
    for path in sorted(EXPERIMENT_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            name = tomllib.load(fh).get("experiment", {}).get("name", path.stem)
        out[str(name)] = path
    return out


def _fail(path: Path, msg: str) -> ExperimentError:
    return ExperimentError(f"{path.name}: {msg}")


def _column_table(
    path: Path, where: str, row: Mapping[str, Any], key: str, what: str, column_keys: set[str]
) -> Mapping[str, Any]:
    """A row's table by column key (``published``, ``published_notes``), checked to name known columns only."""
    table = row.get(key, {})
    if not isinstance(table, Mapping):
        raise _fail(path, f"{where}: {key} must be a table of column key -> {what}")
    unknown = set(table) - column_keys
    if unknown:
        raise _fail(path, f"{where}: {key} for unknown columns {sorted(unknown)}")
    return table


def _check_row(path: Path, i: int, row: Mapping[str, Any], column_keys: set[str]) -> None:
    from .registry import MODELS

    where = f"row {i + 1} ({row.get('name', '?')!r})"
    if "name" not in row:
        raise _fail(path, f"row {i + 1} has no name")
    published = _column_table(path, where, row, "published", "number", column_keys)
    for k, v in published.items():
        if not isinstance(v, int | float) or isinstance(v, bool):
            raise _fail(path, f"{where}: published[{k!r}] = {v!r} is not a number")
    for k, v in _column_table(path, where, row, "published_notes", "text", column_keys).items():
        if not isinstance(v, str) or not v.strip():
            raise _fail(path, f"{where}: published_notes[{k!r}] must be a non-empty text")
    if "missing" in row:
        return
    model = row.get("model")
    if model is None:
        raise _fail(path, f"{where} needs model = ... (or missing = 'reason')")
    if model not in ("svm", "constant") and model not in MODELS:
        raise _fail(path, f"{where}: model {model!r} is not registered ({', '.join(MODELS)})")
    noisy = row.get("noisy")
    if noisy is not None and noisy not in NOISY_METHODS:
        raise _fail(path, f"{where}: noisy {noisy!r} is not one of {', '.join(NOISY_METHODS)}")
    if row.get("strategy", "fixed") not in _STRATEGIES:
        raise _fail(path, f"{where}: strategy must be one of {_STRATEGIES}")
    bad = set(row.get("run", {})) - _RUN_KEYS
    if bad:
        raise _fail(path, f"{where}: unknown run settings {sorted(bad)}; known: {sorted(_RUN_KEYS)}")


def load_experiment(name: str | Path) -> Experiment:
    """Parse and check an experiment by name (a shipped one) or path."""
    files = experiment_files()
    path = files.get(str(name)) or Path(name)
    if not path.is_file():
        raise ExperimentError(f"no experiment {str(name)!r}; shipped: {', '.join(files)} (or give a .toml path)")
    try:
        doc = _read_toml(path)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from None
    head = doc.get("experiment", {})
    data = dict(doc.get("data", {}))
    if data.get("protocol") not in PROTOCOLS:
        raise _fail(path, f"[data] protocol must be one of {PROTOCOLS}, got {data.get('protocol')!r}")
    if float(data.get("scale", 100)) not in (1.0, 100.0):
        raise _fail(path, "[data] scale must be 1 (fractions) or 100 (percent)")
    training = dict(doc.get("training", {}))
    quick = dict(doc.get("quick", {}))
    for section, values in (("training", training), ("quick", quick)):
        bad = set(values) - _TRAINING_KEYS - {"seeds"} - ({"rows"} if section == "quick" else set())
        if bad:
            raise _fail(path, f"[{section}] unknown settings {sorted(bad)}")
    columns = _columns(path, doc)
    rows = _rows(path, doc, columns, quick)
    _check_added_training(path, data, columns, rows)
    notes = head.get("notes", [])
    return Experiment(
        name=str(head.get("name", path.stem)),
        title=str(head.get("title", path.stem)),
        source=str(head.get("source", "")),
        path=path,
        data=data,
        training=training,
        quick=quick,
        columns=columns,
        rows=rows,
        notes=tuple(notes if isinstance(notes, list) else [notes]),
    )


def _columns(path: Path, doc: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """The checked ``[[columns]]``: unique keys, known run settings, averages of existing columns."""
    columns = tuple(doc.get("columns", []))
    if not columns:
        raise _fail(path, "no [[columns]]")
    keys = [c.get("key") for c in columns]
    if None in keys or len(set(keys)) != len(keys):
        raise _fail(path, "every column needs a unique key")
    for c in columns:
        bad = set(c.get("run", {})) - _RUN_KEYS
        if bad:
            raise _fail(path, f"column {c['key']!r}: unknown run settings {sorted(bad)}")
        unknown = set(c.get("average_of", [])) - set(keys)
        if unknown:
            raise _fail(path, f"column {c['key']!r}: average_of names unknown columns {sorted(unknown)}")
    return columns


def _rows(
    path: Path, doc: Mapping[str, Any], columns: Sequence[Mapping[str, Any]], quick: Mapping[str, Any]
) -> tuple[Mapping[str, Any], ...]:
    """The checked ``[[rows]]`` (each by :func:`_check_row`), the ``[quick]`` rows and every train_datasets token."""
    rows = tuple(doc.get("rows", []))
    if not rows:
        raise _fail(path, "no [[rows]]")
    keys = {c["key"] for c in columns}
    for i, row in enumerate(rows):
        _check_row(path, i, row, keys)
    unknown_quick = set(quick.get("rows", [])) - {str(r["name"]) for r in rows}
    if unknown_quick:
        raise _fail(path, f"[quick] rows names unknown rows {sorted(unknown_quick)}")
    for row in rows:
        for c in columns:  # a column's run settings win the merge: one that contradicts the row's would void it
            clash = sorted(k for k, v in row.get("run", {}).items() if k in c.get("run", {}) and c["run"][k] != v)
            if clash:
                raise _fail(
                    path,
                    f"row {row.get('name')!r} and column {c['key']!r} set {clash} differently; the column's would "
                    "win and the row's be ignored (give the setting in one of them only)",
                )
        tokens = [row.get("run", {}).get("train_datasets")] + [c.get("run", {}).get("train_datasets") for c in columns]
        for t in tokens:
            if isinstance(t, str) and t not in ("same", "all", "all-but-test"):
                raise _fail(path, f"train_datasets {t!r}: give a list of corpora or 'same', 'all', 'all-but-test'")
    return rows


def _check_added_training(
    path: Path, data: Mapping[str, Any], columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Every cell given ``add_train_datasets`` (a list of corpora) also sets the ``train_datasets`` it joins."""
    for row in rows:
        if "missing" in row:
            continue
        for c in columns:
            if "average_of" in c:
                continue
            params = {**{k: v for k, v in data.items() if k in _RUN_KEYS}, **row.get("run", {}), **c.get("run", {})}
            added = params.get("add_train_datasets")
            if added is None:
                continue
            where = f"row {row.get('name')!r}, column {c['key']!r}"
            if not isinstance(added, list) or not all(isinstance(d, str) for d in added):
                raise _fail(path, f"{where}: add_train_datasets must be a list of corpora, got {added!r}")
            if params.get("train_datasets") is None:
                raise _fail(path, f"{where}: add_train_datasets joins train_datasets, which the cell does not set")


def quick_store(path: str | Path, *, n_subjects: int = 3, clips_per_subject: int = 2, seed: int = 0) -> Path:
    """A small store of every synthetic corpus (:mod:`mefast.datasets.synthetic`), made with the real pipeline.

    48 x 48 face crops (already aligned), TV-L1 ``fast``, stored at 32 x 32 with ``flow``, ``strain``,
    ``lbptop``, ``biwoof``, ``frames`` and the descriptors baseline rows read (``hoof``, ``hog3d``, ``lbpsip``;
    no ``mdmo``: its per-frame flows take most of the time). Seconds.
    Reused when it already exists. The synthetic corpora are written under ``path / "raw"``, replacing those an
    earlier quick run wrote there.

    Raises
    ------
    FileExistsError
        A corpus folder (or annotation sheet) under ``path / "raw"`` holds files the synthetic writer did not
        write (no :data:`~mefast.datasets.synthetic.TRUTH_FILE`): someone's data, never replaced.
    """
    from ..datasets import composite, load, synthetic
    from ..datasets.synthetic import foreign_files
    from ..pipeline import PreprocessOptions, preprocess

    path = Path(path)
    store = path / "quick.zarr"
    if (store / "zarr.json").is_file():
        return store
    theirs = foreign_files(path / "raw", _QUICK_CORPORA, cropped=True)  # write_synthetic(overwrite=True) below
    if theirs is not None:  # replaces only what it wrote itself
        raise FileExistsError(f"{theirs} holds files the quick run did not write; choose another --root")
    raw = synthetic.write_synthetic(
        path / "raw",
        corpora=_QUICK_CORPORA,
        n_subjects=n_subjects,
        clips_per_subject=clips_per_subject,
        size=(48, 48),
        n_frames=(8, 10),
        seed=seed,
        cropped=True,
        overwrite=True,
    )
    dataset = composite([load(c, *raw[c]) for c in _QUICK_CORPORA], "quick")
    preprocess(
        dataset,
        store,
        size=(32, 32),
        n_jobs=1,
        features=("flow", "strain", "lbptop", "biwoof", "frames", "hoof", "hog3d", "lbpsip"),
        options=PreprocessOptions(crop_size=(48, 48), align="none", flow="fast"),
    )
    return store


@dataclasses.dataclass(frozen=True)
class Reproduction:
    """Published against measured, one line per cell.

    Attributes
    ----------
    experiment : Experiment
    cells : pandas.DataFrame
        ``row``, ``column``, ``published``, ``measured`` (mean over seeds, on the published scale), ``std``,
        ``difference`` (measured - published), ``leaky``, ``note`` (why a cell was not run or measured
        nothing), ``decimals`` (those the published figure was written with, or its column's),
        ``published_note`` (the file's remark on the published figure, ``published_notes``).
    quick : bool
        Whether it ran on the synthetic corpora (its numbers say nothing about the paper's).
    """

    experiment: Experiment
    cells: pd.DataFrame
    quick: bool = False

    def wide(self) -> pd.DataFrame:
        """Rows x columns, each cell ``published / measured (difference)``, with the published figure's decimals.

        A published figure the file remarks on (``published_notes``) is marked with a dagger; the remark is
        among the notes of :meth:`to_markdown`.
        """
        exp = self.experiment
        default = _default_decimals(exp)

        def fmt(v: float, decimals: int) -> str:
            return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{decimals}f}"

        table: dict[str, dict[str, str]] = {}
        for _, c in self.cells.iterrows():
            d = c.get("decimals", default)
            d = default if d is None or pd.isna(d) else int(d)
            published = fmt(c["published"], d) + ("†" if c.get("published_note") else "")
            if c["note"] and math.isnan(c["measured"]):
                cell = f"{published} / n/a"
            else:
                diff = "" if math.isnan(c["difference"]) else f" ({c['difference']:+.{d}f})"
                cell = f"{published} / {fmt(c['measured'], d)}{diff}"
            table.setdefault(c["row"], {})[c["column"]] = cell
        titles = [c.get("title", c["key"]) for c in exp.columns]
        out = pd.DataFrame.from_dict(table, orient="index").reindex(columns=[c["key"] for c in exp.columns])
        out.columns = titles
        out.index.name = "published / mefast (difference)"
        return out.fillna("")

    def to_markdown(self) -> str:
        """The table with a heading, the run's settings and notes."""
        exp = self.experiment
        lines = [f"## {exp.title}", "", f"Source: {exp.source}", ""]
        if self.quick:
            lines += ["**Quick run on synthetic corpora: the measured numbers say nothing about the paper's.**", ""]
        if self.cells["leaky"].any():
            lines += ["Rows marked LEAKY stop early on the test fold: optimistic by construction.", ""]
        lines += [self.wide().to_markdown(), ""]
        notes = [f"- {n}" for n in exp.notes]
        if "published_note" in self.cells:
            for _, c in self.cells[self.cells["published_note"] != ""].iterrows():
                notes.append(f"- {c['row']}, {c['column']} (†): {c['published_note']}")
        for _, c in self.cells[self.cells["note"] != ""].drop_duplicates(["row", "note"]).iterrows():
            notes.append(f"- {c['row']}: {c['note']}")
        if notes:
            lines += ["Notes:", "", *notes, ""]
        return "\n".join(lines)

    def write(self, out: str | Path) -> list[Path]:
        """Write ``<name>.md`` and ``<name>.csv`` into ``out``."""
        d = Path(out)
        d.mkdir(parents=True, exist_ok=True)
        md = d / f"{self.experiment.name}.md"
        csv = d / f"{self.experiment.name}.csv"
        md.write_text(self.to_markdown())
        self.cells.to_csv(csv, index=False)
        return [md, csv]


def _default_decimals(exp: Experiment) -> int:
    """Decimals of a figure whose column has no published one written: 1 in percent, 3 for fractions."""
    return 1 if float(exp.data.get("scale", 100)) == 100 else 3


def _cell_decimals(exp: Experiment) -> list[dict[str, int]]:
    """Per row, per column: the decimals to print the cell with (see the module docstring)."""
    written = [{k: _published_decimals(v) for k, v in r.get("published", {}).items()} for r in exp.rows]
    column_most: dict[str, int] = {}
    for by_key in written:
        for k, d in by_key.items():
            if d is not None:
                column_most[k] = max(d, column_most.get(k, d))
    default = _default_decimals(exp)
    out = []
    for by_key in written:
        cells = {}
        for c in exp.columns:
            d = by_key.get(c["key"])
            cells[c["key"]] = d if d is not None else column_most.get(c["key"], default)
        out.append(cells)
    return out


def _row_title(row: Mapping[str, Any]) -> str:
    from .leakage import LEAKY_LABEL

    name = str(row["name"])
    if row.get("strategy") == "leaky" and "LEAKY" not in name:
        name = f"{name} [{LEAKY_LABEL}]"
    return name


def _read(ev: Evaluation, read: str, metric: str) -> tuple[float, float]:
    """Mean and std over seeds of one figure of an evaluation."""
    r = ev.runs
    if read == "overall":
        sel = r[(r["scope"] == "overall") & (r["metric"] == metric)]
    elif read == "datasets-mean":
        d = r[(r["scope"] == "dataset") & (r["metric"] == metric)]
        per_seed = d.groupby("seed")["value"].mean()
        return float(per_seed.mean()), float(per_seed.std(ddof=0))
    elif read in ev.classes and ev.label == "au":
        sel = r[(r["scope"] == "overall") & (r["metric"] == f"f1_{read}")]
    else:
        sel = r[(r["scope"] == "dataset") & (r["key"] == read) & (r["metric"] == metric)]
    if sel.empty:
        return float("nan"), float("nan")
    return float(sel["value"].mean()), float(sel["value"].std(ddof=0))


def _config(exp: Experiment, quick: bool, overrides: Mapping[str, Any]) -> tuple[dict[str, Any], list[int]]:
    quick_settings = {k: v for k, v in exp.quick.items() if k != "rows"} if quick else {}
    settings = {**exp.training, **quick_settings, **{k: v for k, v in overrides.items() if v is not None}}
    seeds = [int(s) for s in settings.pop("seeds", [0])]
    return settings, seeds


def _selected_rows(exp: Experiment, rows: Sequence[str]) -> list[str]:
    """The experiment's names of the rows ``rows`` asks for, matched exactly or else case-insensitively.

    Raises
    ------
    ExperimentError
        For a name that is no row of ``exp`` (or matches several case-insensitively), listing the row names and
        the closest one: a typo would otherwise run no row and report the table as done.
    """
    names = [str(r["name"]) for r in exp.rows]
    picked = []
    for want in map(str, rows):
        folded = [n for n in names if n.casefold() == want.casefold()]
        if want in names:
            picked.append(want)
        elif len(folded) == 1:
            picked.append(folded[0])
        elif folded:
            raise ExperimentError(f"{exp.name}: --rows {want!r} matches the rows {folded} but for case: give one")
        else:
            by_folded = {n.casefold(): n for n in names}
            close = difflib.get_close_matches(want.casefold(), list(by_folded), n=1, cutoff=0.5)
            hint = f"; closest: {by_folded[close[0]]!r}" if close else ""
            raise ExperimentError(
                f"{exp.name}: --rows {want!r} is no row of the experiment, whose rows are "
                f"{', '.join(repr(n) for n in names)}{hint}"
            )
    return picked


def run_experiment(
    experiment: str | Path | Experiment,
    *,
    root: str | Path | None = None,
    store: str | Path | MEStore | None = None,
    quick: bool = False,
    epochs: int | None = None,
    seeds: Sequence[int] | None = None,
    threads: int | None = None,
    device: str | None = None,
    rows: Sequence[str] | None = None,
) -> Reproduction:
    """Run an experiment and return published against measured figures.

    Parameters
    ----------
    experiment : str, Path or Experiment
        A shipped experiment's name, a TOML path, or a parsed experiment.
    root : str or Path, optional
        Folder holding the store the experiment names (``[data] store``) and any files it refers to (IDC's
        clean-id lists). With ``quick``: where the synthetic store is built (a temporary folder if None).
    store : str, Path or MEStore, optional
        The store to use instead of ``root / [data] store``.
    quick : bool
        Run on the synthetic corpora with the ``[quick]`` settings (for tests and trying the pipeline).
    epochs, seeds, threads, device : optional
        Override the file's training settings.
    rows : sequence of str, optional
        Run only these rows (by name); the others are listed with their published figures.

    Returns
    -------
    Reproduction
    """
    import tempfile

    from . import TrainConfig, evaluate
    from .leakage import _leaky_evaluation

    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    if rows is not None:
        rows = _selected_rows(exp, rows)  # before any store is built or opened
    if store is None and quick:
        if root is None:
            # The synthetic store in a temporary folder, removed on return: the Reproduction holds tables only.
            with tempfile.TemporaryDirectory(prefix="mefast-quick-") as tmp:
                return run_experiment(
                    exp,
                    store=quick_store(tmp),
                    quick=True,
                    epochs=epochs,
                    seeds=seeds,
                    threads=threads,
                    device=device,
                    rows=rows,
                )
        store = quick_store(root)
    elif store is None:
        if root is None:
            raise ExperimentError(
                f"{exp.name}: give --root (folder holding {exp.data.get('store', 'the store')}) or --store"
            )
        store = Path(root) / str(exp.data.get("store", ""))
    st = store if isinstance(store, MEStore) else MEStore.open(store, mode="r")
    have = set(st.meta["dataset"].astype(str))
    if not quick:
        lacking = [c for c in exp.data.get("corpora", []) if c not in have]
        if lacking:
            raise ExperimentError(f"{exp.name}: the store {st.path} lacks the corpora {lacking}")
    settings, run_seeds = _config(exp, quick, {"epochs": epochs, "threads": threads, "device": device})
    if seeds is not None:
        run_seeds = [int(s) for s in seeds]
    if quick and rows is None and "rows" in exp.quick:
        rows = list(exp.quick["rows"])  # the file's quick subset: one of each kind of method, seconds
    settings.setdefault("device", "cpu" if quick else "auto")
    scale = float(exp.data.get("scale", 100))
    defaults = {k: v for k, v in exp.data.items() if k in _RUN_KEYS}
    cache: dict[str, Evaluation | str] = {}
    records = []
    decimals = _cell_decimals(exp)
    for row, row_decimals in zip(exp.rows, decimals, strict=True):
        title = _row_title(row)
        published = row.get("published", {})
        remarks = row.get("published_notes", {})
        skip = row.get("missing") or (
            "not selected (--rows / [quick] rows)" if rows is not None and row["name"] not in rows else None
        )
        row_measured: dict[str, float] = {}
        for col in exp.columns:
            pub = float(published.get(col["key"], float("nan")))
            rec = {
                "row": title,
                "column": col["key"],
                "published": pub,
                "measured": float("nan"),
                "std": float("nan"),
                "difference": float("nan"),
                "leaky": row.get("strategy") == "leaky",
                "note": "",
                "decimals": row_decimals[col["key"]],
                "published_note": str(remarks.get(col["key"], "")),
            }
            if skip:
                rec["note"] = f"not run: {skip}"
                records.append(rec)
                continue
            if "average_of" in col:
                parts = [row_measured.get(k, float("nan")) for k in col["average_of"]]
                mean = float(np.mean(parts))
                rec.update(measured=mean, difference=mean - pub)
                records.append(rec)
                continue
            params = {**defaults, **row.get("run", {}), **col.get("run", {})}
            params.update({k: row[k] for k in ("model", "feature", "noisy", "strategy") if k in row})
            key = json.dumps(params, sort_keys=True, default=str)
            if key not in cache:
                cache[key] = _run_cell(
                    st, params, settings, run_seeds, root, quick, evaluate, TrainConfig, _leaky_evaluation
                )
            ev = cache[key]
            if isinstance(ev, str):
                rec["note"] = ev
            else:
                metric = str(col.get("metric", exp.data.get("metric", ev.headline)))
                mean, std = _read(ev, str(col.get("read", col["key"])), metric)
                rec.update(measured=scale * mean, std=scale * std, difference=scale * mean - pub)
                row_measured[col["key"]] = scale * mean
                if math.isnan(mean):
                    rec["note"] = f"the run has no {col.get('read', col['key'])!r} result"
            records.append(rec)
    return Reproduction(exp, pd.DataFrame.from_records(records), quick=quick)


def _run_cell(
    st: MEStore,
    params: dict[str, Any],
    settings: dict[str, Any],
    seeds: list[int],
    root: str | Path | None,
    quick: bool,
    evaluate: Any,
    config_type: Any,
    leaky: Any,
) -> Evaluation | str:
    """One evaluation, or the reason it could not run (a string)."""
    from ..protocols import make_protocol
    from .data import StoreSource

    params = dict(params)
    have = list(pd.unique(st.meta["dataset"].astype(str)))
    test = params.get("test_datasets")
    if params.get("train_datasets") == "same":  # train on the test corpora only
        params["train_datasets"] = test
    elif params.get("train_datasets") == "all-but-test":  # every other corpus of the store ("extra data")
        params["train_datasets"] = [d for d in have if d not in (test or [])]
    elif params.get("train_datasets") == "all":  # every corpus of the store
        params["train_datasets"] = have
    added = params.pop("add_train_datasets", None)
    if added is not None:  # the row's corpora joining the column's (checked on loading: train_datasets is set)
        params["train_datasets"] = list(dict.fromkeys([*(params.get("train_datasets") or []), *added]))
    if params.get("train_datasets") is not None and not len(params["train_datasets"]):
        return "not run: no training corpora (the paper's N/A)"
    model = params.pop("model")
    strategy = params.pop("strategy", "fixed")
    noisy_name = params.pop("noisy", None)
    clean_ids = params.pop("clean_ids", None)
    feature = params.pop("feature", "flow")
    protocol = params.pop("protocol")
    noisy: NoisyMethod | None = None
    if noisy_name == "idc":
        path = Path(root or ".") / str(clean_ids or "")
        if not clean_ids or not path.is_file():
            return f"not run: IDC needs the clean sample ids file {clean_ids!r} under --root"
        noisy = IDC.from_file(str(path))
    elif noisy_name is not None:
        noisy = NOISY_METHODS[noisy_name]()
    if model == "svm" and feature not in st.features:
        return f"not run: the store has no {feature!r} array"
    config = config_type(**settings, noisy=noisy, early_stopping=strategy == "esv")
    try:
        if strategy == "leaky":
            done = st.done
            proto = make_protocol(protocol, st.meta[done], au=st.au[done], au_names=st.au_names, **params)
            groups = proto.meta["dataset"].astype(str) + "/" + proto.meta["subject"].astype(str)
            return leaky(proto, model, StoreSource(st), config, seeds, groups)
        return evaluate(st, protocol, model, seeds=seeds, config=config, feature=feature, **params)
    except (MefastError, ValueError) as exc:
        if not quick:
            raise
        return f"not run on the synthetic corpora: {exc}"
