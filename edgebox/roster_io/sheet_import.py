"""Import a roster sheet kept on the box (box.roster_csv, roster.csv on the boot partition) at
start or boot — but only when the sheet is new or has changed since it was last imported.

The sheet on the card is where a village's roster starts, not a reset button: phones a leader
changed by SMS or the office changed on the web page since the last import are kept until
someone puts a different sheet there. The sheet's digest is kept in the roster_replaced event.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from edgebox.domain.roster import Roster
from edgebox.roster_io.csv_sheet import read_roster_csv
from edgebox.roster_io.xlsx_sheet import read_roster_xlsx


def is_xlsx(filename: str, content: bytes) -> bool:
    """An Excel workbook by its name or by its bytes (a .xlsx is a zip file): an office's
    sheet saved as "名册" without an extension is still read."""
    return filename.lower().endswith((".xlsx", ".xlsm")) or content[:4] == b"PK\x03\x04"


def read_sheet(content: bytes, filename: str, region: str) -> Roster:
    """A roster sheet as the office keeps it, CSV or XLSX (with the workbook's bounds); raises
    RosterError naming every problem."""
    if is_xlsx(filename, content):
        return read_roster_xlsx(content, region)
    return read_roster_csv(content, region)


def import_sheet_if_changed(store, sheet: str | Path, region: str, now: datetime,
                            source: str) -> Roster | None:
    """The imported roster, or None when this sheet was the last one imported from ``source``.
    A bad sheet raises like `edgebox roster import` does (naming the line) and changes nothing;
    a missing one raises FileNotFoundError."""
    content = Path(sheet).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    imported = [e.data.get("sheet_sha256") for e in store.events_of_kinds(["roster_replaced"])
                if e.data.get("source") == source]
    if imported and imported[-1] == digest:
        return None
    roster = read_sheet(content, str(sheet), region)
    store.roster.replace(roster, now, source=source, sheet_sha256=digest)
    return roster
