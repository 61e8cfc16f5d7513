"""edgebox-status.txt, and the problems it names: Texts (edgebox.i18n) saying where and what.

A technician reads edgebox-status.txt on whatever PC is at hand and may read Chinese or
English, so every line there is written Chinese first, then its English, on one line; the
log says the problems in the box's language, and the tests keep the English (a Text is a str
holding it).
"""
from __future__ import annotations

from datetime import datetime

from edgebox.i18n import Text, say

# What became of each file on the card (an Outcome's status in apply.py).
VERDICTS = {"applied": Text("provision.applied", "applied"),
            "unchanged": Text("provision.unchanged", "unchanged"),
            "missing": Text("provision.not_found", "missing"),
            "rejected": Text("provision.rejected", "NOT applied, previous settings kept")}


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


def unused_note(name: str) -> Text:
    """A key set for a feature this version does not have: applied, and said so."""
    return Text("provision.unused", "{name} is set but this edgebox version has no use for it "
                "yet", name=name)


def bilingual(text: object) -> str:
    """Chinese, then English: ``中文 / English``; once when both are the same (a plain str)."""
    chinese, english = say(text, "zh"), say(text, "en")
    return chinese if chinese == english else f"{chinese} / {english}"


def status_report(outcomes: list[tuple[str, object]], now: datetime) -> str:
    """What edgebox-status.txt says about each file's outcome (apply.Outcome): a technician
    reads it by putting the card in a PC."""
    lines = [bilingual(Text("provision.status_title", "edgebox provisioning, {time}",
                            time=now.isoformat(timespec="seconds"))), ""]
    error = bilingual(Text("provision.error", "ERROR"))
    for name, outcome in outcomes:
        lines.append(f"{name}: {bilingual(VERDICTS[outcome.status])}")
        lines += [f"  {error}: {bilingual(problem)}" for problem in outcome.problems]
        lines += [f"  {bilingual(note)}" for note in outcome.notes]
    return "\r\n".join(lines) + "\r\n"
