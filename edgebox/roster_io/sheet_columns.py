"""The roster sheet's columns, the words its cells may hold and the limits on them: what the
reader (sheet_reader.py) checks a sheet against and the writer (csv_sheet.py) writes."""
from __future__ import annotations

import re
from dataclasses import dataclass

from edgebox.domain.roster import FLAG_WORDS
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
HEADER_ALIASES = {"监护人电话": "guardians", "亲属手机": "guardians", "说明": "note",
                   "报平安": "check_in", "每日报平安": "check_in"}
COLUMN_BY_HEADER = {
    header: column for column in COLUMNS for header in (column.header_zh, column.key)
} | {alias: column for alias, key in HEADER_ALIASES.items()
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
LIST_SEPARATORS = re.compile(r"[;；,，、/\r\n]|\s{2,}")
FLAG_SEPARATORS = re.compile(r"[;；,，、/\s]+")
# Several groups in one 组别 cell. Not "," (the sheet's own delimiter, found inside group names
# typed into quoted cells) and not "/" (as in "一组/东片").
GROUP_SEPARATORS = re.compile(r"[、，;；]")
# How Excel shows (and saves) a long number in a cell formatted as a number: 1.38001E+10.
SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE]\+?\d+")
# The Chinese words an official may use, for the message about a word that is none of them.
KNOWN_FLAGS = "、".join(w for words in FLAG_WORDS.values() for w in words if not w.isascii())
CJK = r"\u3400-\u9fff\uf900-\ufaff"
SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{CJK}]) (?=[{CJK}])")

# A cell left empty that must not be.
EMPTY = Text("roster.empty", "empty")
