"""The HTML report: well-formed, every image embedded as a PNG, nothing fetched; opened by headless Chromium
when it is installed."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from mefast.viz import Report, store_report
from mefast.viz._report import markdown_table_to_html

_VOID = {"meta", "img", "br", "hr", "link", "input"}


class _Checker(HTMLParser):
    """Collects tags, checks nesting, gathers <img> sources and every URL-like attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
            if not a.get("alt"):
                self.errors.append("img without alt")
        if tag == "table":
            self.tables += 1
        for k in ("href", "src", "action", "srcset"):
            if k in a and not str(a[k]).startswith("data:"):
                self.urls.append(a[k])
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def _check(html: str) -> _Checker:
    c = _Checker()
    c.feed(html)
    c.close()
    assert not c.errors, c.errors[:5]
    assert not c.stack, c.stack
    assert not c.urls, c.urls  # nothing loaded from elsewhere
    assert "script" not in c.tags and not re.search(r"url\(|@import|https?://", html)
    assert html.startswith("<!DOCTYPE html>")
    return c


def _decode(src: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    img = Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :], validate=True)))
    img.load()
    assert img.format == "PNG" and img.size[0] > 50 and img.size[1] > 50
    return img


def test_report_blocks_and_escaping():
    r = Report("a <b> & c")
    r.heading("Tables")
    r.text("x < y")
    r.table("| Method | UF1 |\n|:--|--:|\n| SVM <rbf> | 0.5 |")
    r.figure(np.zeros((60, 70, 3), np.uint8), "black")
    html = r.html()
    c = _check(html)
    assert "<title>a &lt;b&gt; &amp; c</title>" in html and "SVM &lt;rbf&gt;" in html and c.tables == 1
    assert _decode(c.images[0]).size == (70, 60)
    with pytest.raises(ValueError):
        r.figure(b"not a png")
    assert "<td>0.5</td>" in markdown_table_to_html("| a | b |\n|--|--|\n| x | 0.5 |")
    with pytest.raises(ValueError):
        markdown_table_to_html("no table")


@pytest.fixture
def report_path(tmp_path, store, write_results):
    write_results(tmp_path / "res" / "random", seeds=(0, 1))
    write_results(tmp_path / "res" / "au", label="au", seeds=(0,))
    notes = ["demo summary\n| Method | UF1 |\n|:--|--:|\n| Constant | 0.05 |\nlast line"]
    rep = store_report(store, title="test report", results=sorted((tmp_path / "res").iterdir()), notes=notes)
    return rep.write(tmp_path / "out" / "report.html")


def test_store_report_parses_with_every_image_embedded(report_path):
    html = report_path.read_text(encoding="utf-8")
    c = _check(html)
    # gallery, class means by emotion and by AU, per-AU F1, confusion, two per-corpus charts
    assert len(c.images) == 7
    for src in c.images:
        _decode(src)
    assert c.tables >= 2  # the notes' markdown table and a summary table
    assert "Constant" in html and "demo summary" in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_opens_in_headless_chromium(report_path, tmp_path):
    # a copy with a probe script that records whether every image decoded (the report itself has no scripts)
    probe = tmp_path / "probe.html"
    js = (
        "<script>window.addEventListener('load', () => { const i = [...document.images];"
        "document.body.setAttribute('data-ok', i.every(x => x.complete && x.naturalWidth > 0) + '/' + i.length);"
        "});</script></body>"
    )
    probe.write_text(report_path.read_text(encoding="utf-8").replace("</body>", js), encoding="utf-8")
    cmd = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--virtual-time-budget=5000", "--dump-dom", probe.as_uri(),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'data-ok="true/7"' in out.stdout, out.stdout[:500]


def test_store_report_skips_class_means_without_labels(tmp_path, make_store):
    from mefast.store import MEStore

    make_store(tmp_path / "s.zarr", n=6)
    st = MEStore.open(tmp_path / "s.zarr", mode="r+")
    meta = st.meta
    meta["emotion"] = ""
    st.rewrite_meta(meta, np.zeros_like(st.au))
    html = store_report(st).html()
    assert "No class means per emotion" in html
    assert len(_check(html).images) == 1  # the gallery only
