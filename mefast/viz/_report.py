"""A self-contained HTML report: headings, text, tables and figures embedded as base64 PNG (no network)."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ._mpl import figure_png

__all__ = ["Report", "markdown_table_to_html", "store_report"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
.meta { color: #666; font-size: 0.85em; }
"""


def _is_separator(cells: Sequence[str]) -> bool:
    return all(c.strip().strip(":").strip("-") == "" and "-" in c for c in cells)


def markdown_table_to_html(text: str) -> str:
    """Convert a pipe (GitHub) markdown table, as ``DataFrame.to_markdown`` writes it, to an HTML table."""
    rows = [line.strip() for line in text.strip().splitlines() if line.strip().startswith("|")]
    if not rows:
        raise ValueError("no markdown table rows (lines starting with '|')")
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    head, body = cells[0], [c for c in cells[1:] if not _is_separator(c)]
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr></thead>", "<tbody>"]
    out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body]
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


@dataclass
class Report:
    """An HTML page built block by block; :meth:`write` saves it as one file with every image inside.

    Examples
    --------
    >>> r = Report("demo")
    >>> r.heading("Tables"); r.text("metrics over all folds")
    >>> "<h2>Tables</h2>" in r.html()
    True
    """

    title: str
    blocks: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        """A section heading."""
        self.blocks.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str) -> None:
        """A paragraph (plain text, escaped)."""
        self.blocks.append(f"<p>{html.escape(text)}</p>")

    def preformatted(self, text: str) -> None:
        """Text kept as printed (a command's output)."""
        self.blocks.append(f"<pre>{html.escape(text)}</pre>")

    def table(self, table: pd.DataFrame | str, *, floatfmt: str = ".3f") -> None:
        """A table from a DataFrame or a markdown pipe table."""
        if isinstance(table, pd.DataFrame):
            table = table.to_markdown(floatfmt=floatfmt)
        self.blocks.append(markdown_table_to_html(table))

    def figure(self, figure: Any, caption: str = "", *, alt: str | None = None) -> None:
        """A figure (matplotlib Figure, Pillow image, RGB array or PNG bytes) embedded as a base64 PNG."""
        png = figure if isinstance(figure, bytes) else figure_png(figure)
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError("figure bytes are not a PNG image")
        data = base64.b64encode(png).decode("ascii")
        alt_text = html.escape(alt if alt is not None else caption or "figure", quote=True)
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.blocks.append(f'<figure><img alt="{alt_text}" src="data:image/png;base64,{data}">{cap}</figure>')

    def html(self) -> str:
        """The whole page."""
        created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        from .._version import __version__

        head = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(self.title)}</h1>\n"
            f'<p class="meta">mefast {html.escape(__version__)}, {created}; self-contained (images embedded)</p>\n'
        )
        return head + "\n".join(self.blocks) + "\n</body>\n</html>\n"

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (parents created); returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.html(), encoding="utf-8")
        return p


def store_report(
    store: Any,
    *,
    title: str | None = None,
    results: Sequence[str | os.PathLike[str]] = (),
    notes: Sequence[str] = (),
    gallery_n: int = 24,
) -> Report:
    """A report of a store and, optionally, of ``evaluate`` result folders.

    Sections: the printed ``notes`` (e.g. a command's output, markdown tables rendered as tables), a gallery
    of samples, class means by emotion (and by AU when the store has AU labels), then per results folder its
    summary table, confusion matrix or per-AU F1, and the per-corpus scores of all folders together.
    """
    from ._eval_figures import au_f1_figure, confusion_figure, corpus_figure
    from ._means import class_means, open_store
    from ._results import load_results
    from ._store_figures import class_means_figure, gallery

    st = open_store(store)
    name = os.fspath(st.path) if isinstance(st.path, str | os.PathLike) else "store"
    rep = Report(title or f"mefast report: {Path(name).name}")
    if notes:
        rep.heading("Summary")
        for note in notes:
            _add_note(rep, note)
    done = int(st.done.sum())
    rep.heading("Samples")
    rep.text(f"{name}: {done} of {len(st)} samples done; arrays {', '.join(st.features)}.")
    rep.figure(
        gallery(st, n=gallery_n),
        f"The first {min(gallery_n, done)} samples: onset face, onset-to-apex flow (Middlebury colour coding, one "
        "maximum for all; key in the last cell) and optical strain.",
    )
    if "flow" in st.features or "strain" in st.features:
        rep.heading("Class means")
        by_emotion = class_means(st, "emotion")
        if len(by_emotion.labels):
            rep.figure(class_means_figure(by_emotion), "Mean flow and strain per emotion.")
        else:
            rep.text("No class means per emotion: no finished sample has an emotion label.")
        if st.au_names and st.au.any():
            by_au = class_means(st, "au")
            if len(by_au.labels):
                rep.figure(class_means_figure(by_au), "Mean flow and strain per action unit.")
            else:
                rep.text("No class means per action unit: no finished sample has an AU label.")
    loaded = [load_results(Path(r)) for r in results]
    if loaded:
        rep.heading("Evaluation")
        for r in loaded:
            summary = pd.read_csv(r.path / "summary.csv", index_col=0) if (r.path / "summary.csv").exists() else None
            rep.text(f"{r.method} ({r.label} labels, {len(r.seeds)} seed(s)); metrics over all test folds.")
            if summary is not None:
                rep.table(summary)
            if r.label == "au":
                rep.figure(au_f1_figure(r), f"{r.method}: F1 per AU; red: the always-positive baseline.")
            else:
                rep.figure(confusion_figure(r), f"{r.method}: confusion matrix, counts and row-normalised.")
        for kind in dict.fromkeys(r.label for r in loaded):  # one chart per label kind (UF1 or AU F1)
            same = [r for r in loaded if r.label == kind]
            rep.figure(corpus_figure(same), f"{same[0].headline.upper()} per test corpus; error bars and dots: seeds.")
    return rep


def _add_note(rep: Report, note: str) -> None:
    """Text with markdown tables: table lines become HTML tables, the rest preformatted text."""
    chunk: list[str] = []
    table: list[str] = []
    for line in note.splitlines():
        if line.strip().startswith("|"):
            if chunk:
                rep.preformatted("\n".join(chunk))
                chunk = []
            table.append(line)
        else:
            if table:
                rep.table("\n".join(table))
                table = []
            if line.strip():
                chunk.append(line)
    if table:
        rep.table("\n".join(table))
    if chunk:
        rep.preformatted("\n".join(chunk))
