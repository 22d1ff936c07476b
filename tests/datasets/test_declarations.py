"""The helpers corpus modules declare their sheets and layouts with (``sheet_columns``, ``subject_ids``,
``Layout.like``), checked against the headers and folder names the corpora are distributed with."""

from __future__ import annotations

import pytest

from mefast.datasets._engine.layout import subject_ids
from mefast.datasets._engine.table import sheet_columns
from mefast.datasets.corpora import LAYOUTS, SPECS


def test_sheet_columns_spells_frames_from_templates_and_defaults_subject_and_clip():
    got = sheet_columns(frames=("{Field} Frame", "{Field}Frame"), aus=("Action Units",), notes=("Notes",))
    assert got == {
        "subject": ("Subject",),
        "clip": ("Filename",),
        "onset": ("Onset Frame", "OnsetFrame"),
        "apex": ("Apex Frame", "ApexFrame"),
        "offset": ("Offset Frame", "OffsetFrame"),
        "aus": ("Action Units",),
        "notes": ("Notes",),
    }
    assert list(got) == ["subject", "clip", "onset", "apex", "offset", "aus", "notes"]


def test_sheet_columns_own_headers_come_first_and_a_given_frame_field_wins():
    got = sheet_columns(subject="sub", clip="count", frames=("{field}",), apex=("ApexF1",))
    assert got["subject"] == ("sub", "Subject")
    assert got["clip"] == ("count", "Filename")
    assert got["onset"] == ("onset",) and got["offset"] == ("offset",)
    assert got["apex"] == ("ApexF1",)
    assert list(got)[:5] == ["subject", "clip", "onset", "apex", "offset"]


@pytest.mark.parametrize(
    ("corpus", "field", "spellings"),
    [  # the headers of the distributed sheets (see each corpus module's docstring)
        ("casme", "apex", ("ApexF1", "ApexFrame", "Apex Frame")),
        ("casme", "onset", ("OnsetF", "OnsetFrame", "Onset Frame")),
        ("casme2", "offset", ("OffsetFrame", "Offset Frame")),
        ("samm", "onset", ("Onset Frame", "OnsetFrame")),
        ("4dme", "subject", ("sub_ID", "Subject")),
        ("4dme", "apex", ("Apex",)),
        ("casme3c", "clip", ("count", "Filename")),
        ("casme3c", "onset", ("onset",)),
        ("mmew", "subject", ("Subject",)),
    ],
)
def test_corpus_specs_accept_the_distributed_headers(corpus, field, spellings):
    assert SPECS[corpus].columns[field] == spellings


def test_subject_ids():
    assert subject_ids("S{k:02d}")(3) == ("S03", "S03")
    assert subject_ids("{k:02d}", sheet_number=True)(3) == (3, "03")
    assert subject_ids("{k:03d}", start=6)(1) == ("006", "006")


def test_layout_like_keeps_conventions_and_derives_its_own_sheet():
    casme, casme2 = LAYOUTS["casme"], LAYOUTS["casme2"]
    assert casme.sheet == "CASME/casme.xlsx" and casme2.sheet.startswith("CASME2/")
    assert casme.clip_name is casme2.clip_name and casme.subject is casme2.subject
    assert casme.subject(2) == (2, "02")


def test_layout_grey_follows_the_reader_spec():
    assert {n for n, lay in LAYOUTS.items() if lay.grey} == {"samm", "4dme"}
    assert all(lay.grey == SPECS[n].grey for n, lay in LAYOUTS.items())
