"""The roster sheet as an Excel workbook (.xlsx): the first worksheet, read like the CSV.

The worksheet is turned into the same rows the CSV reader takes, row for row, so every rule,
message and line number is the CSV reader's: "line 7" is row 7 in Excel.

An .xlsx is a zip, and a zip can be a bomb: 1.8 MB that inflates to gigabytes, or a worksheet
of a million rows. Nothing is handed to openpyxl before the archive has been checked member
by member: the sizes its directory declares, then the bytes each member really inflates to,
counted while they are read (a directory may lie), every one within a village sheet's bounds.
openpyxl then reads the checked copy, and the rows and cells it yields are counted too.
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

from edgebox.domain.roster import Roster
from edgebox.errors import RosterError
from edgebox.i18n import Text
from edgebox.roster_io.csv_sheet import read_roster_csv

# A 500-household workbook is ~100 KB unzipped; these leave room for styles and a few sheets.
MAX_MEMBERS = 200
MAX_UNZIPPED_BYTES = 8 * 1024 * 1024
MAX_ROWS = 5000      # rows with anything in them
MAX_COLUMNS = 40     # the sheet has 8; columns past this are not read at all
MAX_CELLS = 200_000  # cells read, empty ones included
_CHUNK = 64 * 1024
# zipfile's and openpyxl's own reasons are English and name the archive's insides: they go to
# the log with the chained exception; the office reads what it can act on.
NOT_READABLE = Text("roster.xlsx_unreadable",
                    "this is not an Excel workbook (.xlsx) that can be read")


def _checked_copy(content: bytes) -> bytes:
    """The archive rebuilt from members read under the bounds (RosterError past them)."""
    try:
        source = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RosterError([NOT_READABLE]) from exc
    too_big = RosterError([Text(
        "roster.xlsx_too_big", "this workbook unpacks to more than {mb} MB, far more than a "
        "village sheet; save the sheet alone as .xlsx or CSV",
        mb=MAX_UNZIPPED_BYTES // (1024 * 1024))])
    members = source.infolist()
    if len(members) > MAX_MEMBERS:
        raise RosterError([Text("roster.xlsx_members", "this is not an Excel workbook (.xlsx) "
                                "that can be read: it holds {count} files",
                                count=len(members))])
    if sum(info.file_size for info in members) > MAX_UNZIPPED_BYTES:
        raise too_big  # declared sizes: refused before inflating anything
    out = io.BytesIO()
    total = 0
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
        for info in members:
            parts = []
            try:
                with source.open(info) as member:
                    # The bytes counted here as they inflate decide, not the directory:
                    # a member that inflates to more or less than declared fails its CRC
                    # (BadZipFile) or the size check below.
                    while chunk := member.read(_CHUNK):
                        total += len(chunk)
                        if total > MAX_UNZIPPED_BYTES:
                            raise too_big
                        parts.append(chunk)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
                raise RosterError([Text(
                    "roster.xlsx_member_broken", "this is not an Excel workbook (.xlsx) that "
                    "can be read: its part {member} is damaged", member=info.filename)]) from exc
            data = b"".join(parts)
            if len(data) != info.file_size:
                raise RosterError([Text(
                    "roster.xlsx_member_size", "this is not an Excel workbook (.xlsx) that can "
                    "be read: its part {member} is not the size its archive declares",
                    member=info.filename)])
            copy.writestr(info.filename, data)
    return out.getvalue()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    if isinstance(value, float) and value.is_integer():
        # A phone typed into a number cell comes back as 13800138000.0.
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def xlsx_to_csv_bytes(content: bytes) -> bytes:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    checked = _checked_copy(content)
    try:
        workbook = load_workbook(io.BytesIO(checked), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RosterError([NOT_READABLE]) from exc
    try:
        sheet = workbook.worksheets[0]
        out = io.StringIO(newline="")
        writer = csv.writer(out, dialect="excel")
        rows = cells = 0
        for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            cells += len(row)
            texts = [_cell_text(value) for value in row]
            rows += any(texts)
            if rows > MAX_ROWS or cells > MAX_CELLS:
                raise RosterError([Text(
                    "roster.xlsx_too_many_rows", "this sheet has more than {rows} rows or "
                    "{cells} cells, far more than a village sheet", rows=MAX_ROWS,
                    cells=MAX_CELLS)])
            writer.writerow(texts)
    finally:
        workbook.close()
    return out.getvalue().encode("utf-8")


def read_roster_xlsx(content: bytes, region: str = "CN") -> Roster:
    return read_roster_csv(xlsx_to_csv_bytes(content), region=region)
