"""The roster sheet as an Excel workbook (.xlsx): the first worksheet, read like the CSV.

The worksheet is turned into the same rows the CSV reader takes, row for row, so every rule,
message and line number is the CSV reader's: "line 7" is row 7 in Excel.
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

from edgebox.domain.roster import Roster
from edgebox.errors import RosterError
from edgebox.roster_io.csv_sheet import read_roster_csv


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
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RosterError([f"this is not an Excel workbook (.xlsx) that can be read: {exc}"]
                          ) from exc
    try:
        sheet = workbook.worksheets[0]
        out = io.StringIO(newline="")
        writer = csv.writer(out, dialect="excel")
        for row in sheet.iter_rows(values_only=True):
            writer.writerow([_cell_text(value) for value in row])
    finally:
        workbook.close()
    return out.getvalue().encode("utf-8")


def read_roster_xlsx(content: bytes, region: str = "CN") -> Roster:
    return read_roster_csv(xlsx_to_csv_bytes(content), region=region)
