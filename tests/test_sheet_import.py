"""The roster sheet kept on the box is imported when it is new or changed, never again when it is
the same sheet: edits made since (a leader's SMS, the office's web page) survive restarts."""
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from edgebox.domain.roster import Roster
from edgebox.errors import RosterError
from edgebox.roster_io.sheet_import import import_sheet_if_changed
from edgebox.store import SqliteStore
from tests.support import SHEET

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def add_phone(store, household_id, phone):
    roster = store.roster.load()
    changed = tuple(replace(h, phones=(*h.phones, phone)) if h.id == household_id else h
                    for h in roster.households)
    store.roster.replace(Roster(changed, roster.groups), NOW, source="SMS from +8613800138001")


def test_the_same_sheet_is_not_imported_twice_and_edits_survive(tmp_path):
    sheet = tmp_path / "village.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    store = SqliteStore(tmp_path / "box.db")
    first = import_sheet_if_changed(store, sheet, "CN", NOW, source="card")
    assert first is not None and len(first.households) == 6
    add_phone(store, "H03", "+8613811112222")
    assert import_sheet_if_changed(store, sheet, "CN", NOW, source="card") is None
    assert "+8613811112222" in store.roster.load().household("H03").phones

    # A different sheet on the card is the office's new roster: it is imported.
    sheet.write_text(SHEET.replace("13700138004", "13700138444"), encoding="utf-8")
    second = import_sheet_if_changed(store, sheet, "CN", NOW, source="card")
    assert second is not None
    assert store.roster.load().household("H04").phones == ("+8613700138444",)
    assert "+8613811112222" not in store.roster.load().household("H03").phones


def test_a_bad_sheet_changes_nothing_and_a_missing_one_says_so(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    sheet = tmp_path / "village.csv"
    sheet.write_text(SHEET.replace("13700138004", "137001"), encoding="utf-8")
    with pytest.raises(RosterError):
        import_sheet_if_changed(store, sheet, "CN", NOW, source="card")
    assert store.roster.load().households == ()
    with pytest.raises(FileNotFoundError):
        import_sheet_if_changed(store, tmp_path / "gone.csv", "CN", NOW, source="card")
