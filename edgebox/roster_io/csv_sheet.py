"""The roster as the CSV sheet village officials keep in Excel or WPS: one row per household.

Reading is forgiving about how the sheet was typed (Chinese or English headers in any order, GBK or
UTF-8, phones separated by whatever punctuation came to hand) and strict about what it means: every
problem is reported with the sheet's line and column, all at once, and nothing is returned unless
the whole roster is valid. Writing produces a sheet that Excel opens with its Chinese intact and
that reads back to the same roster.

"Line" means the row number Excel or WPS shows (line 1 is the header), not the text line of the
file: a cell with a line break inside it is still one row to the official fixing the sheet.

A household on the boundary of two groups belongs to both: its 组别 cell names them, "第一组、第二组"
(an alarm from it alerts both groups, and both hear of their alarms). Its 中心户长 cell is 是 when it
leads every group it is in, or names the group it leads.
"""
from __future__ import annotations

import csv
import io
import os

import phonenumbers

from edgebox.domain import phones
from edgebox.domain.roster import FLAG_LABELS_ZH, FLAG_WORDS, Roster
from edgebox.errors import RosterError
from edgebox.i18n import Text
from edgebox.roster_io.sheet_columns import COLUMNS, MAX_REPORTED_PROBLEMS
from edgebox.roster_io.sheet_reader import SheetReader

__all__ = ["MAX_REPORTED_PROBLEMS", "read_roster_csv", "read_sheet_file", "roster_to_csv_bytes",
           "write_roster_csv"]

# Files people pick by mistake instead of the CSV, recognised by their first bytes.
_SIGNATURES = (
    (b"PK\x03\x04", Text("roster.is_xlsx", "this is an Excel workbook (.xlsx), not CSV; "
                         "save it as \"CSV UTF-8\" first")),
    (b"\xd0\xcf\x11\xe0", Text("roster.is_xls", "this is an old Excel workbook (.xls), not "
                                "CSV; save it as \"CSV UTF-8\" first")),
    (b"\xff\xfe", Text("roster.is_unicode_text", "this is Excel \"Unicode text\" (UTF-16), not "
                       "CSV; save it as \"CSV UTF-8\" instead")),
    (b"\xfe\xff", Text("roster.is_utf16", "this is UTF-16 text, not CSV; save it as \"CSV UTF-8\" "
                       "instead")),
)


def read_roster_csv(source: str | os.PathLike | bytes, region: str = "CN") -> Roster:
    """Read a roster sheet from a file path or the file's bytes; raise RosterError on any problem.

    Phones without a country code are read as numbers of ``region``.
    """
    if isinstance(source, (bytes, bytearray)):
        content = bytes(source)
    else:
        content = read_sheet_file(source)
    return SheetReader(_decode(content), region).roster()


def read_sheet_file(path: str | os.PathLike) -> bytes:
    """The bytes of the sheet at ``path``; RosterError, in the reader's words, when the file
    is missing, a folder or not readable (the OS's own reason kept for the rest)."""
    try:
        with open(path, "rb") as sheet_file:
            return sheet_file.read()
    except FileNotFoundError as exc:
        problem = Text("roster.no_such_file", "there is no file {path}", path=os.fspath(path))
        raise RosterError([problem]) from exc
    except IsADirectoryError as exc:
        problem = Text("roster.is_folder", "{path} is a folder, not a sheet", path=os.fspath(path))
        raise RosterError([problem]) from exc
    except PermissionError as exc:
        problem = Text("roster.not_permitted", "{path} may not be read by this user (run the "
                       "command with `sudo`)", path=os.fspath(path))
        raise RosterError([problem]) from exc
    except OSError as exc:
        problem = Text("roster.unreadable", "cannot read {path} (error {errno})",
                       path=os.fspath(path), errno=exc.errno)
        raise RosterError([problem]) from exc


def roster_to_csv_bytes(roster: Roster, region: str = "CN") -> bytes:
    """The roster as sheet bytes: Chinese headers, UTF-8 with BOM and CRLF, as Excel expects.

    Rows go group by group, members in group order. Reading the bytes back gives an equal roster
    whenever the roster lists its households group by group, as every roster read from a sheet does.
    """
    roster.validated()
    _check_every_household_in_a_group(roster)
    out = io.StringIO(newline="")
    writer = csv.writer(out, dialect="excel")
    columns = [c for c in COLUMNS
               if c.key != "check_in" or any(h.check_in for h in roster.households)]
    writer.writerow([column.header_zh for column in columns])
    written: set[str] = set()
    for group in roster.groups:
        for household in roster.members(group.id):
            if household.id in written:  # in two groups: one row, in its first group's place
                continue
            written.add(household.id)
            groups = roster.groups_of(household.id)
            leads = [g.name for g in groups if g.leader_id == household.id]
            cells = {
                "id": household.id,
                "name": household.name,
                "address": household.address,
                "phones": ";".join(_sheet_phone(phone, region) for phone in household.phones),
                "group": "、".join(g.name for g in groups),
                "leader": "是" if len(leads) == len(groups) else "、".join(leads),
                "flags": "、".join(FLAG_LABELS_ZH[flag] for flag in FLAG_WORDS
                                  if flag in household.flags),
                "guardians": ";".join(_sheet_phone(phone, region)
                                      for phone in household.guardians),
                "check_in": household.check_in,
                "note": household.note,
            }
            writer.writerow([cells[column.key] for column in columns])
    return out.getvalue().encode("utf-8-sig")


def write_roster_csv(roster: Roster, path: str | os.PathLike, region: str = "CN") -> None:
    """Write the roster as a sheet file (see ``roster_to_csv_bytes``)."""
    content = roster_to_csv_bytes(roster, region)
    with open(path, "wb") as sheet_file:
        sheet_file.write(content)


def _decode(content: bytes) -> str:
    for signature, problem in _SIGNATURES:
        if content.startswith(signature):
            raise RosterError([problem])
    if b"\x00" in content:
        raise RosterError([Text("roster.binary", "this file holds binary data, not a CSV sheet")])
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Excel's plain "CSV" on a Chinese Windows saves in the ANSI code page, GBK; GB18030 reads GBK.
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise RosterError([Text(
            "roster.encoding", "the file is neither UTF-8 nor GBK text (bad byte at position "
            "{position})", position=exc.start)]) from exc


def _sheet_phone(e164: str, region: str) -> str:
    """A phone as the sheet shows it: national form at home, 00-prefixed international abroad.

    Abroad a national form would read back as a home number, and a leading "+" makes Excel take the
    cell for a formula.
    """
    number = phonenumbers.parse(e164, None)
    if phonenumbers.region_code_for_number(number) == region:
        return phones.display(e164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return "00" + international.removeprefix("+")


def _check_every_household_in_a_group(roster: Roster) -> None:
    """A sheet row names the household's groups, so a household in none cannot be written (nor
    would it be read back: a row without a group is a mistake on a sheet)."""
    grouped = {household_id for group in roster.groups for household_id in group.member_ids}
    problems = [Text("roster.in_no_group", "household {id} is in no group; a sheet row needs one",
                     id=h.id) for h in roster.households if h.id not in grouped]
    if problems:
        raise RosterError(problems)
