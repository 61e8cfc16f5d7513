"""The CLI's words (``edgebox roster …``, ``edgebox incidents list``), in the box's language
(``box.language``): the keys "cli.<name>" of the catalogue (edgebox.i18n)."""
from __future__ import annotations

from edgebox.i18n import N_, table, word

WORDS = table(
    "cli.",
    N_("cli.not_imported", "edgebox: {file} was not imported; nothing changed:"),
    N_("cli.note", "note: {note}"),
    N_("cli.imported", "imported {households} households in {groups} groups; {taken}"),
    N_("cli.taken_at_start", "the box uses it when it starts"),
    N_("cli.taken_now", "the running box uses it now"),
    N_("cli.not_taken", "the running box (process {pid}) has not taken it yet: check its log "
       "for roster_loaded"),
    N_("cli.exported", "exported {households} households to {file}"),
    N_("cli.roster_empty", "the roster is empty: import one with 'edgebox roster import FILE'"),
    N_("cli.group", "{group}  ({households} households)"),
    N_("cli.relatives", "relatives: {phones}"),
    N_("cli.check_in", "daily check-in: {time}"),
    N_("cli.office", "office: {phones}"),
    N_("cli.township", "township: {phones}"),
    N_("cli.no_alarms", "no alarms yet"),
    N_("cli.open", "open"),
    N_("cli.drill", "drill"),
)


def cli_word(lang: str, name: str, **fields: object) -> str:
    text = word(lang, f"cli.{name}", WORDS[name])
    return text.format(**fields) if fields else text
