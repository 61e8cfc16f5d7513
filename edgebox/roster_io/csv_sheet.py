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
import re
from collections import defaultdict
from dataclasses import dataclass

import phonenumbers

from edgebox.domain import phones
from edgebox.domain.check_ins import format_time, parse_time
from edgebox.domain.roster import (
    FLAG_LABELS_ZH,
    FLAG_WORDS,
    GROUP_MAX_HOUSEHOLDS,
    GROUP_MIN_HOUSEHOLDS,
    Group,
    Household,
    Roster,
    parse_flag,
)
from edgebox.errors import RosterError
from edgebox.i18n import Text


@dataclass(frozen=True)
class Column:
    key: str
    header_zh: str
    required: bool


COLUMNS = (
    Column("id", "户号", required=False),
    Column("name", "户主姓名", required=True),
    Column("address", "地址", required=True),
    Column("phones", "电话", required=True),
    Column("group", "组别", required=True),
    Column("leader", "中心户长", required=True),
    Column("flags", "标记", required=False),
    Column("guardians", "亲属电话", required=False),
    # The daily check-in's time (domain/check_ins.py), "08:30"; empty for none. Exported only
    # when some household has one, so a village that does not use it gets its sheet back as is.
    Column("check_in", "报平安时间", required=False),
    Column("note", "备注", required=False),
)
# Other headers offices give the same column.
_HEADER_ALIASES = {"监护人电话": "guardians", "亲属手机": "guardians", "说明": "note",
                   "报平安": "check_in", "每日报平安": "check_in"}
_COLUMN_BY_HEADER = {
    header: column for column in COLUMNS for header in (column.header_zh, column.key)
} | {alias: column for alias, key in _HEADER_ALIASES.items()
     for column in COLUMNS if column.key == key}

LEADER_YES = frozenset({"是", "y", "yes", "1", "√", "✓"})
LEADER_NO = frozenset({"", "否", "n", "no", "0"})

# Limits far above any real household, so that a shifted column or an unclosed quote that swallowed
# half the sheet is reported as such instead of being sent out in every alarm message.
MAX_LENGTH = {"id": 16, "name": 20, "address": 40, "group": 20, "note": 100}
MAX_PHONES_PER_HOUSEHOLD = 5
MAX_PHONE_LENGTH = 30
# An official fixes a sheet from the top; hundreds of messages about one mistake repeated down a
# column help nobody and make the first ones scroll away.
MAX_REPORTED_PROBLEMS = 50
# Rows above the header that a sheet may carry, such as a merged title row "石桥村十户联防名册".
MAX_TITLE_ROWS = 10

# Phones and flags in one cell: punctuation in either width, or two or more spaces. A single space
# stays inside a phone, as in "138 0013 8000". A line break (Alt+Enter in Excel) also separates.
_LIST_SEPARATORS = re.compile(r"[;；,，、/\r\n]|\s{2,}")
_FLAG_SEPARATORS = re.compile(r"[;；,，、/\s]+")
# Several groups in one 组别 cell. Not "," (the sheet's own delimiter, found inside group names
# typed into quoted cells) and not "/" (as in "一组/东片").
_GROUP_SEPARATORS = re.compile(r"[、，;；]")
# How Excel shows (and saves) a long number in a cell formatted as a number: 1.38001E+10.
_SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE]\+?\d+")
# The Chinese words an official may use, for the message about a word that is none of them.
_KNOWN_FLAGS = "、".join(w for words in FLAG_WORDS.values() for w in words if not w.isascii())
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")

# A cell left empty that must not be.
EMPTY = Text("roster.empty", "empty")
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


@dataclass(frozen=True)
class _Problem:
    line: int
    text: str


@dataclass
class _Row:
    line: int
    id: str
    name: str
    address: str
    phones: tuple[str, ...]
    groups: tuple[str, ...]
    leads: tuple[str, ...]  # the groups this household leads
    flags: frozenset[str]
    guardians: tuple[str, ...] = ()
    note: str = ""
    check_in: str = ""


def read_roster_csv(source: str | os.PathLike | bytes, region: str = "CN") -> Roster:
    """Read a roster sheet from a file path or the file's bytes; raise RosterError on any problem.

    Phones without a country code are read as numbers of ``region``.
    """
    if isinstance(source, (bytes, bytearray)):
        content = bytes(source)
    else:
        try:
            with open(source, "rb") as sheet_file:
                content = sheet_file.read()
        except OSError as exc:
            raise RosterError([f"cannot read {os.fspath(source)}: {exc.strerror}"]) from exc
    return _SheetReader(_decode(content), region).roster()


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
    problems = [f"household {h.id} is in no group; a sheet row needs one"
                for h in roster.households if h.id not in grouped]
    if problems:
        raise RosterError(problems)


def _clean_text(cell: str) -> str:
    """Trim a cell and undo the spacing people type for alignment ("张  三", line breaks)."""
    text = " ".join(cell.split())
    return _SPACE_BETWEEN_CJK.sub("", text)


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _line_list(lines: list[int]) -> Text:
    """'lines 3 and 9', 'lines 3, 5 and 9' for two or more lines."""
    return Text("roster.lines", "lines {first} and {last}",
                first=", ".join(str(n) for n in lines[:-1]), last=lines[-1])


class _SheetReader:
    """One pass over a decoded sheet, collecting every problem with its line and column."""

    def __init__(self, text: str, region: str):
        self.text = text
        self.region = region
        self.problems: list[_Problem] = []
        self.labels: dict[str, str] = {}  # column key -> header as the sheet spells it
        self.positions: dict[str, int] = {}  # column key -> index of the cell in a row

    def roster(self) -> Roster:
        records = self._records()
        header_index = self._find_header(records)
        rows = []
        for index in range(header_index + 1, len(records)):
            row = self._parse_row(index + 1, records[index])
            if row is not None:
                rows.append(row)
        if not rows:
            self._add(header_index + 1, None, Text(
                "roster.no_rows", "the sheet has no households below the header"))
        self._assign_ids(rows)
        self._check_phones_unique(rows)
        groups = self._group(rows)
        self._raise()
        roster = Roster(
            households=tuple(
                Household(row.id, row.name, row.address, row.phones, row.flags, row.guardians,
                          row.note, row.check_in) for row in rows
            ),
            groups=groups,
        )
        # The checks above cover the model's rules with line numbers; validated() stays as the
        # final word in case the model gains a rule the sheet does not yet check.
        return roster.validated()

    def _records(self) -> list[list[str]]:
        reader = csv.reader(io.StringIO(self.text, newline=""), dialect="excel")
        records: list[list[str]] = []
        try:
            for record in reader:
                records.append(record)
        except csv.Error as exc:
            # The record that failed is the one after the last complete one.
            self._add(len(records) + 1, None, f"not readable as CSV ({exc})")
            self._raise()
        return records

    # -- header ---------------------------------------------------------------------------------

    def _find_header(self, records: list[list[str]]) -> int:
        """Index of the header record: the first that names two known columns, else the first
        non-blank one. Raises RosterError when columns are missing: rows cannot be read without."""
        non_blank = [i for i, record in enumerate(records) if any(c.strip() for c in record)]
        if not non_blank:
            self._add(1, None, Text(
                "roster.sheet_empty", "the sheet is empty; it needs a header row with {columns}",
                columns=", ".join(c.header_zh for c in COLUMNS if c.required)))
            self._raise()
        header_index = non_blank[0]
        for index in non_blank[:MAX_TITLE_ROWS]:
            known = {_COLUMN_BY_HEADER.get(cell.strip().lower()) for cell in records[index]}
            if len(known - {None}) >= 2:
                header_index = index
                break
        line = header_index + 1
        for position, cell in enumerate(records[header_index]):
            label = cell.strip()
            column = _COLUMN_BY_HEADER.get(label.lower())
            if column is None:
                continue  # 序号 and other columns of the office's own are left alone
            if column.key in self.positions:
                self._add(line, None, Text(
                    "roster.column_twice", "column {label} appears twice (columns {first} and "
                    "{second})", label=self.labels[column.key],
                    first=_column_letter(self.positions[column.key]),
                    second=_column_letter(position)))
                continue
            self.labels[column.key] = label
            self.positions[column.key] = position
        for column in COLUMNS:
            if column.required and column.key not in self.positions:
                self._add(line, None, Text("roster.missing_column", "missing column {column}",
                                           column=column.header_zh))
        self._raise()
        return header_index

    # -- one household row ----------------------------------------------------------------------

    def _parse_row(self, line: int, record: list[str]) -> _Row | None:
        """The row's household as far as its cells make sense, problems noted; None when blank.

        A row with problems is still returned so that its group is counted right and the official
        is not also told that the group is too small or has no leader.
        """
        cells = {
            key: record[position] if position < len(record) else ""
            for key, position in self.positions.items()
        }
        household_keys = ("name", "address", "phones", "group", "leader", "flags")
        if not any(cells.get(key, "").strip() for key in household_keys):
            # Blank, or only the pre-filled 序号/户号/备注 of a template's unused rows.
            return None
        return _Row(
            line=line,
            id=self._text_cell(line, "id", cells.get("id", ""), required=False),
            name=self._text_cell(line, "name", cells["name"], required=True),
            address=self._text_cell(line, "address", cells["address"], required=True),
            phones=self._phones_cell(line, cells["phones"]),
            groups=(groups := self._groups_cell(line, cells["group"])),
            leads=self._leader_cell(line, cells["leader"], groups),
            flags=self._flags_cell(line, cells.get("flags", "")),
            guardians=self._phones_cell(line, cells.get("guardians", ""), "guardians"),
            note=self._text_cell(line, "note", cells.get("note", ""), required=False),
            check_in=self._check_in_cell(line, cells.get("check_in", "")),
        )

    def _check_in_cell(self, line: int, cell: str) -> str:
        """The daily check-in's time, kept as "HH:MM" ("" for none)."""
        try:
            return format_time(parse_time(_clean_text(cell)))
        except ValueError as exc:
            self._add(line, "check_in", str(exc))
            return ""

    def _text_cell(self, line: int, key: str, cell: str, required: bool) -> str:
        text = _clean_text(cell)
        limit = MAX_LENGTH[key]
        if len(text) > limit:
            hint = (
                "; an unclosed quote (\") may have swallowed the rows after it"
                if "\n" in cell else ""
            )
            self._add(line, key, f"'{_shorten(text)}' is {len(text)} characters long "
                      f"(at most {limit}){hint}")
            return ""
        if required and not text:
            self._add(line, key, EMPTY)
        return text

    def _phones_cell(self, line: int, cell: str, key: str = "phones") -> tuple[str, ...]:
        """The household's own phones (``key`` "phones", at least one) or its relatives'
        ("guardians", may be empty), read by the same rules."""
        found: list[str] = []
        tokens = [t.strip() for t in _LIST_SEPARATORS.split(cell) if t.strip()]
        if not tokens:
            if key == "phones":
                self._add(line, key, Text("roster.no_phone", "no phone number"))
            return ()
        if len(tokens) > MAX_PHONES_PER_HOUSEHOLD:
            self._add(line, key, f"{len(tokens)} phones; a household may list at most "
                      f"{MAX_PHONES_PER_HOUSEHOLD}")
            return ()
        for token in tokens:
            if len(token) > MAX_PHONE_LENGTH:
                self._add(line, key, Text("roster.phone_too_long",
                                          "'{token}' is too long to be a phone number",
                                          token=_shorten(token)))
            elif _SCIENTIFIC.fullmatch(token):
                self._add(line, key, Text(
                    "roster.excel_rounded", "'{token}' is how Excel shows a long number it has "
                    "rounded; format the column as text and type the number again", token=token))
            else:
                try:
                    phone = phones.normalise(token, self.region)
                except phones.PhoneNumberError as exc:
                    self._add(line, key, exc.args[0])
                    continue
                if phone not in found:  # the same number typed twice in one cell is harmless
                    found.append(phone)
        return tuple(found)

    def _groups_cell(self, line: int, cell: str) -> tuple[str, ...]:
        """One group, or several for a household on a boundary: "第一组、第二组"."""
        if not _GROUP_SEPARATORS.search(cell):
            name = self._text_cell(line, "group", cell, required=True)
            return (name,) if name else ()
        names = [_clean_text(part) for part in _GROUP_SEPARATORS.split(cell)]
        names = list(dict.fromkeys(name for name in names if name))
        if not names:
            self._add(line, "group", EMPTY)
        for name in names:
            if len(name) > MAX_LENGTH["group"]:
                self._add(line, "group", f"'{_shorten(name)}' is {len(name)} characters long "
                          f"(at most {MAX_LENGTH['group']})")
                return ()
        return tuple(names)

    def _leader_cell(self, line: int, cell: str, groups: tuple[str, ...]) -> tuple[str, ...]:
        """The groups the row leads: 是 (all of its groups), empty, or the name of one of them
        (a household in two groups leading only one)."""
        word = cell.strip().lower()
        if word in LEADER_YES:
            return groups
        if word in LEADER_NO:
            return ()
        named = [_clean_text(part) for part in _GROUP_SEPARATORS.split(cell) if part.strip()]
        if len(groups) > 1 and named and set(named) <= set(groups):
            return tuple(g for g in groups if g in named)
        cell = _shorten(cell.strip())
        self._add(line, "leader", Text(
            "roster.leader_cell_groups", "'{cell}' should be 是 or one of {groups} or empty",
            cell=cell, groups="、".join(groups)) if len(groups) > 1 else Text(
            "roster.leader_cell", "'{cell}' should be 是 or empty", cell=cell))
        return ()

    def _flags_cell(self, line: int, cell: str) -> frozenset[str]:
        flags = set()
        for word in _FLAG_SEPARATORS.split(cell):
            if not word:
                continue
            flag = parse_flag(word)
            if flag is None:
                self._add(line, "flags", f"unknown flag '{_shorten(word)}' (known: {_KNOWN_FLAGS})")
            else:
                flags.add(flag)
        return frozenset(flags)

    # -- rules across rows ----------------------------------------------------------------------

    def _assign_ids(self, rows: list[_Row]) -> None:
        first_line_of: dict[str, int] = {}
        for row in rows:
            if not row.id:
                continue
            if row.id in first_line_of:
                self._add(row.line, "id", Text(
                    "roster.id_twice", "household id {id} is already used on line {line}",
                    id=row.id, line=first_line_of[row.id]))
            else:
                first_line_of[row.id] = row.line
        number = 0
        for row in rows:
            if row.id:
                continue
            number += 1
            while f"H{number:03d}" in first_line_of:
                number += 1
            row.id = f"H{number:03d}"

    def _check_phones_unique(self, rows: list[_Row]) -> None:
        first_row_of: dict[str, _Row] = {}
        for row in rows:
            for phone in row.phones:
                owner = first_row_of.setdefault(phone, row)
                if owner is not row:
                    self._add(row.line, "phones", Text(
                        "roster.phone_twice", "{phone} is also the phone of line {line} ({name})",
                        phone=phones.display(phone), line=owner.line, name=owner.name))

    def _group(self, rows: list[_Row]) -> tuple[Group, ...]:
        members: dict[str, list[_Row]] = defaultdict(list)  # insertion order = first appearance
        for row in rows:
            for group in row.groups:  # an empty 组别 is already reported on its row
                members[group].append(row)
        groups = []
        for name, group_rows in members.items():
            first_line = group_rows[0].line
            size = len(group_rows)
            if not GROUP_MIN_HOUSEHOLDS <= size <= GROUP_MAX_HOUSEHOLDS:
                needs = dict(name=name, size=size, low=GROUP_MIN_HOUSEHOLDS,
                             high=GROUP_MAX_HOUSEHOLDS)
                self._add(first_line, "group", Text(
                    "roster.group_size_one", "group {name} has {size} household (a group needs "
                    "{low}-{high})", **needs) if size == 1 else Text(
                    "roster.group_size", "group {name} has {size} households (a group needs "
                    "{low}-{high})", **needs))
            leaders = [row for row in group_rows if name in row.leads]
            if not leaders:
                self._add(first_line, "leader", Text(
                    "roster.no_leader", "group {name} has no leader; mark one of its "
                    "households 是", name=name))
            elif len(leaders) > 1:
                self._add(leaders[0].line, "leader", Text(
                    "roster.leaders", "group {name} has {count} leaders ({lines})", name=name,
                    count=len(leaders), lines=_line_list([row.line for row in leaders])))
            else:
                groups.append(Group(
                    id=name, name=name, leader_id=leaders[0].id,
                    member_ids=tuple(row.id for row in group_rows),
                ))
        return tuple(groups)

    # -- problems -------------------------------------------------------------------------------

    def _add(self, line: int, key: str | None, text: str) -> None:
        """A problem on ``line`` (in column ``key``): a ``Text`` says itself in the reader's
        language (edgebox.i18n.say); the rest are English only so far."""
        if key is None:
            self.problems.append(_Problem(line, Text("roster.problem", "line {line}: {text}",
                                                     line=line, text=text)))
        else:
            label = self.labels.get(key, key)
            self.problems.append(_Problem(line, Text(
                "roster.problem_in", "line {line} ({column}): {text}", line=line,
                column=label, text=text)))

    def _raise(self) -> None:
        if not self.problems:
            return
        ordered = [p.text for p in sorted(self.problems, key=lambda p: p.line)]
        if len(ordered) > MAX_REPORTED_PROBLEMS:
            hidden = len(ordered) - MAX_REPORTED_PROBLEMS
            ordered = ordered[:MAX_REPORTED_PROBLEMS] + [Text(
                "roster.more_problems",
                "… and {hidden} more problems; fix the ones above and import again",
                hidden=hidden)]
        raise RosterError(ordered)


def _column_letter(position: int) -> str:
    """Excel's name for a column: A, B, … Z, AA, AB …"""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters
