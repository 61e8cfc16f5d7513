"""What is wrong with the card's files, as Texts (edgebox.i18n): where, what, in both languages.

A technician reads edgebox-status.txt on whatever PC is at hand and may read Chinese or
English, so a problem there is written Chinese first, then its English, on one line; the log
and the tests keep the English (a Text is a str holding it).
"""
from __future__ import annotations

from edgebox.i18n import Text, say


def at_line(line: int, name: str | None = None) -> Text:
    """Where a problem is: a line of edgebox.txt, with its key when the line has one."""
    if name is None:
        return Text("provision.at_line", "line {line}", line=line)
    return Text("provision.at_line_key", "line {line} ({name})", line=line, name=name)


def problem(where: object, what: object) -> Text:
    """``where`` (a line, a key, a file's name) and what is wrong there."""
    return Text("provision.problem", "{where}: {what}", where=where, what=what)


def got(what: object, value: str) -> Text:
    """A problem with the value that was typed, so the technician sees the typo."""
    return Text("provision.got", "{what} (got '{value}')", what=what, value=value)


def bilingual(text: object) -> str:
    """Chinese, then English: ``中文 / English``; once when both are the same (a plain str)."""
    chinese, english = say(text, "zh"), say(text, "en")
    return chinese if chinese == english else f"{chinese} / {english}"
