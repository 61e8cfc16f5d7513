"""The CLI's words (``edgebox roster …``, ``edgebox incidents list``), in the box's language
(``box.language``): the keys "cli.<name>" of the catalogue (edgebox.i18n)."""
from __future__ import annotations

from edgebox.domain.timeline import MODEM_STATE, coded
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
# `edgebox modem status`: what the daemon last read of each modem.
MODEM_FIELDS = table(
    "cli.modem_",
    N_("cli.modem_signal", "signal"),
    N_("cli.modem_registration", "registration"),
    N_("cli.modem_technology", "technology"),
    N_("cli.modem_sim", "SIM"),
    N_("cli.modem_operator", "operator"),
    N_("cli.modem_balance", "balance"),
    N_("cli.modem_network_time", "network time"),
    N_("cli.modem_checked_at", "checked at"),
    N_("cli.modem_error", "error"),
)


def cli_word(lang: str, name: str, **fields: object) -> str:
    text = word(lang, f"cli.{name}", WORDS[name])
    return text.format(**fields) if fields else text


def modem_lines(lang: str, name: str, row: dict) -> list[str]:
    """One modem's state and readings, a line each, its states in words."""
    lines = [f"{name}: {coded(lang, 'modem_state.', MODEM_STATE, row['state'])}"]
    for key, english in MODEM_FIELDS.items():
        value = row.get(key)
        if value is None:
            continue
        if key in ("registration", "sim"):
            value = coded(lang, "modem_state.", MODEM_STATE, value)
        lines.append(f"  {word(lang, f'cli.modem_{key}', english)}: {value}")
    return lines
