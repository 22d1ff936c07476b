"""Release-sized annotation sheets in each corpus's own format, for the correction tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mefast.datasets import synthetic

from ._known_corrections import KNOWN

_AU_TEXT = {"samm": "R12 + R15", "4dme": "AU4+AU7", "casme3c": "4,7"}


class ReleaseSheets:
    """Rows of plausible annotations, the known mistakes planted in them, and sheets written to ``tmp_path``."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    @staticmethod
    def rows(corpus: str, n: int, start: int = 0) -> list[dict]:
        """n plausible rows: onset 10*i+1, apex +4, offset +9; AUs 4+7; a subject per 20 rows."""
        layout = synthetic.LAYOUTS[corpus]
        rows = []
        for i in range(start, start + n):
            sheet_subject, _ = layout.subject(i // 20 + 1)
            clip = "abcdefghijklm"[i % 13] + str(i // 13) if corpus == "casme3a" else f"clip{i:03d}"
            rows.append(
                {
                    "subject": sheet_subject,
                    "clip": clip,
                    "onset": 10 * i + 1,
                    "apex": 10 * i + 5,
                    "offset": 10 * i + 10,
                    "aus": _AU_TEXT.get(corpus, "4+7"),
                    "emotion": layout.labels["disgust"],
                    "objective": 4,
                }
            )
        return rows

    @staticmethod
    def consistent(corpus: str, rows: list[dict]) -> list[dict]:
        """Copies of ``rows`` whose frame numbers agree with the corrected values: only planted cells are wrong.

        The corrected values come from the hand-written oracle (``_known_corrections.KNOWN``), not from the
        corpus tables under test.
        """
        rows = [dict(r) for r in rows]
        fixes: dict[int, dict[str, int]] = {}
        for c in KNOWN.get(corpus, ()):
            if c.field in ("onset", "apex", "offset"):
                fixes.setdefault(c.row, {})[c.field] = int(c.value)
        for i, f in fixes.items():
            r = rows[i]
            r.update(f)
            if "onset" not in f:
                r["onset"] = min(r["apex"], r["offset"]) - 4
            if "apex" not in f:
                r["apex"] = max(r["onset"], min(r["onset"] + 4, r["offset"]))
            if "offset" not in f:
                r["offset"] = max(r["apex"], r["onset"]) + 5
        return rows

    @staticmethod
    def plant(corpus: str, rows: list[dict]) -> None:
        """Put in each row the mistake the oracle (``_known_corrections.KNOWN``) says the release holds there."""
        for c in KNOWN.get(corpus, ()):
            row = rows[c.row]
            if c.mistake == "swapped":
                rows[int(c.value)]["aus"], rows[int(c.value)]["emotion"] = "AU12", "Positive"
            elif c.mistake == "or":
                row[c.field] = "12 or 14"
            elif c.mistake == "missing":
                row[c.field] = "/"
            elif c.mistake == "wrong":
                row[c.field] = int(c.value) + 7  # a wrong number
            else:
                raise AssertionError(f"unknown mistake kind in the oracle: {c}")

    def write(self, corpus: str, rows: list[dict], name: str = "sheet.xlsx") -> tuple[Path, Path]:
        """(frame root, sheet): the rows as the corpus's sheet; an empty frame root (corrections need no frames)."""
        root = self.tmp_path / "frames"
        root.mkdir(exist_ok=True)
        return root, synthetic.write_sheet(corpus, synthetic.sheet_table(corpus, rows), self.tmp_path / name)


@pytest.fixture
def sheets(tmp_path: Path) -> ReleaseSheets:
    """Release-sized sheets with the known mistakes planted, written under ``tmp_path``."""
    return ReleaseSheets(tmp_path)
