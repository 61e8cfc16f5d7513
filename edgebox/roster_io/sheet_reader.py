"""One pass over a decoded roster sheet: every row checked, every problem collected with its
line and column (the row number Excel or WPS shows, line 1 the header), and a Roster only when
the whole sheet is valid. The columns and limits it checks against are in sheet_columns.py."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass

from edgebox.domain import phones
from edgebox.domain.check_ins import format_time, parse_time
from edgebox.domain.roster import (
    GROUP_MAX_HOUSEHOLDS,
    GROUP_MIN_HOUSEHOLDS,
    Group,
    Household,
    Roster,
    parse_flag,
)
from edgebox.errors import RosterError
from edgebox.i18n import Text
from edgebox.roster_io.sheet_columns import (
    COLUMN_BY_HEADER,
    COLUMNS,
    EMPTY,
    FLAG_SEPARATORS,
    GROUP_SEPARATORS,
    KNOWN_FLAGS,
    LEADER_NO,
    LEADER_YES,
    LIST_SEPARATORS,
    MAX_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_PHONES_PER_HOUSEHOLD,
    MAX_REPORTED_PROBLEMS,
    MAX_TITLE_ROWS,
    SCIENTIFIC,
    SPACE_BETWEEN_CJK,
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


def _too_long(text: str, limit: int, unclosed_quote: bool = False) -> Text:
    if unclosed_quote:  # the cell ran over lines: most likely a quote nobody closed
        return Text("roster.too_long_quote", "'{text}' is {length} characters long (at most "
                    "{limit}); an unclosed quote (\") may have swallowed the rows after it",
                    text=_shorten(text), length=len(text), limit=limit)
    return Text("roster.too_long", "'{text}' is {length} characters long (at most {limit})",
                text=_shorten(text), length=len(text), limit=limit)


def _clean_text(cell: str) -> str:
    """Trim a cell and undo the spacing people type for alignment ("张  三", line breaks)."""
    text = " ".join(cell.split())
    return SPACE_BETWEEN_CJK.sub("", text)


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _line_list(lines: list[int]) -> Text:
    """'lines 3 and 9', 'lines 3, 5 and 9' for two or more lines."""
    return Text("roster.lines", "lines {first} and {last}",
                first=", ".join(str(n) for n in lines[:-1]), last=lines[-1])


class SheetReader:
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
        except csv.Error:
            # The record that failed is the one after the last complete one.
            # With the excel dialect and NULs refused before, csv.Error is a cell over the
            # module's field limit: a quote left open swallows the rows after it.
            self._add(len(records) + 1, None, Text(
                "roster.not_csv", "not readable as CSV: a cell longer than {limit} characters "
                "(an unclosed quote (\") may have swallowed the rows after it)",
                limit=csv.field_size_limit()))
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
            known = {COLUMN_BY_HEADER.get(cell.strip().lower()) for cell in records[index]}
            if len(known - {None}) >= 2:
                header_index = index
                break
        line = header_index + 1
        for position, cell in enumerate(records[header_index]):
            label = cell.strip()
            column = COLUMN_BY_HEADER.get(label.lower())
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
            self._add(line, "check_in", exc.args[0])  # a Text: said in the reader's words
            return ""

    def _text_cell(self, line: int, key: str, cell: str, required: bool) -> str:
        text = _clean_text(cell)
        limit = MAX_LENGTH[key]
        if len(text) > limit:
            self._add(line, key, _too_long(text, limit, unclosed_quote="\n" in cell))
            return ""
        if required and not text:
            self._add(line, key, EMPTY)
        return text

    def _phones_cell(self, line: int, cell: str, key: str = "phones") -> tuple[str, ...]:
        """The household's own phones (``key`` "phones", at least one) or its relatives'
        ("guardians", may be empty), read by the same rules."""
        found: list[str] = []
        tokens = [t.strip() for t in LIST_SEPARATORS.split(cell) if t.strip()]
        if not tokens:
            if key == "phones":
                self._add(line, key, Text("roster.no_phone", "no phone number"))
            return ()
        if len(tokens) > MAX_PHONES_PER_HOUSEHOLD:
            self._add(line, key, Text("roster.too_many_phones", "{count} phones; a household "
                                      "may list at most {most}", count=len(tokens),
                                      most=MAX_PHONES_PER_HOUSEHOLD))
            return ()
        for token in tokens:
            if len(token) > MAX_PHONE_LENGTH:
                self._add(line, key, Text("roster.phone_too_long",
                                          "'{token}' is too long to be a phone number",
                                          token=_shorten(token)))
            elif SCIENTIFIC.fullmatch(token):
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
        if not GROUP_SEPARATORS.search(cell):
            name = self._text_cell(line, "group", cell, required=True)
            return (name,) if name else ()
        names = [_clean_text(part) for part in GROUP_SEPARATORS.split(cell)]
        names = list(dict.fromkeys(name for name in names if name))
        if not names:
            self._add(line, "group", EMPTY)
        for name in names:
            if len(name) > MAX_LENGTH["group"]:
                self._add(line, "group", _too_long(name, MAX_LENGTH["group"]))
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
        named = [_clean_text(part) for part in GROUP_SEPARATORS.split(cell) if part.strip()]
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
        for word in FLAG_SEPARATORS.split(cell):
            if not word:
                continue
            flag = parse_flag(word)
            if flag is None:
                self._add(line, "flags", Text("roster.unknown_flag", "unknown flag '{flag}' "
                                              "(known: {known})", flag=_shorten(word),
                                              known=KNOWN_FLAGS))
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
        """A problem on ``line`` (in column ``key``): a ``Text``, said in the reader's language
        (edgebox.i18n.say)."""
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
