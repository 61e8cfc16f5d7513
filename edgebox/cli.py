"""The ``edgebox`` command line: one entry point for the daemon, the demo, the roster and the
modem emulator. Every command's --help ends with an example."""
from __future__ import annotations

import importlib
import os
import signal
import sys
from pathlib import Path

import click

from edgebox import __version__
from edgebox.cli_support import (EXIT_IN_USE, EXIT_NO_ROSTER, config_option, fail,
                                 load, setup_logging)
from edgebox.cli_words import cli_word, modem_lines
from edgebox.errors import EdgeboxError
from edgebox.i18n import message, said, say


def no_roster_line(why: str) -> str:
    """Chinese first, then the English with what to do: the refusal of a box with no roster."""
    from edgebox.domain.messages import render
    return (f"{render('zh', 'no_roster')}，请先导入花名册。{render('en', 'no_roster')} ({why});"
            " import one with 'edgebox roster import FILE' (or start with --allow-empty for"
            " first setup)")


class Commands(click.Group):
    """The box's own commands, and the tools' sub-commands imported only when one is run or
    listed: ``edgebox run`` loads no emulator, hub or web code (start-up time on a Pi)."""

    TOOLS = {"emulator": "edgebox.emulator.cli", "upload": "edgebox.uplink.cli",
             "hub": "edgebox.hub.cli", "provision": "edgebox.provision.cli",
             "selftest": "edgebox.selftest.cli", "siren": "edgebox.adapters.gpio.cli",
             "panel": "edgebox.adapters.gpio.cli", "speaker": "edgebox.speaker.cli",
             "web": "edgebox.web.cli"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.TOOLS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.TOOLS:
            return getattr(importlib.import_module(self.TOOLS[name]), name)
        return super().get_command(ctx, name)


@click.group(cls=Commands)
@click.version_option(__version__, prog_name="edgebox")
def main() -> None:
    """edgebox: a household calls the box, its whole group is texted and rung.

    \b
    Example:
      edgebox demo
    """


@main.command()
@config_option()
@click.option("--allow-empty", is_flag=True,
              help="run even with no roster (first setup only: an alarm would reach nobody)")
def run(config_path: str, allow_empty: bool) -> None:
    """Run the alarm daemon until SIGTERM or Ctrl-C. It refuses to start beside another
    daemon on the same database or modem port, and with an empty roster.

    \b
    Example:
      edgebox run --config /etc/edgebox/edgebox.toml
    """
    from edgebox.daemon.app import build_daemon
    from edgebox.single_instance import DatabaseLock, InUse, check_ports_free
    config = load(config_path)
    setup_logging(config.log_level)
    if not (allow_empty or config.box_roster_csv or os.path.exists(config.box_database)):
        # a mistyped path, or a card never given its roster: do not create an empty database
        fail(no_roster_line(f"{config.box_database} does not exist"), EXIT_NO_ROSTER)
    # Before anything is opened: a second daemon must leave the first one's database and
    # modems untouched (edgebox/single_instance.py).
    instance = DatabaseLock(config.box_database, "edgebox run")
    try:
        instance.acquire()
        check_ports_free([m.port for m in config.modems])
    except InUse as exc:
        fail(str(exc), EXIT_IN_USE)
    except EdgeboxError as exc:
        fail(said(exc, config.box_language))
    try:
        daemon = build_daemon(config)
        if daemon.roster.is_empty and not allow_empty:
            fail(no_roster_line(f"no households in {config.box_database}"),
                 EXIT_NO_ROSTER)
        daemon.start()
    except EdgeboxError as exc:  # a key only the daemon's parts check (box.roster_csv …)
        fail(said(exc, config.box_language))
    signal.signal(signal.SIGTERM, lambda *_: daemon.request_stop())
    try:
        # No timeout: SIGTERM's handler sets the event, and Ctrl-C interrupts the wait (lock
        # waits are interruptible on POSIX), so the main thread never wakes for nothing.
        daemon.wait()
    except KeyboardInterrupt:
        pass
    daemon.stop()
    daemon.store.close()  # the idle checkpointer stops; what was deferred is written
    instance.release()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="end with the summary as one JSON line")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="language of the messages and the timeline")
def demo(as_json: bool, lang: str) -> None:
    """Play a scripted alarm in a simulated village (no hardware needed).

    The daemon talks AT to an emulated modem on a pseudo-terminal; a household calls, its
    group is texted and rung, two neighbours acknowledge, the siren sounds.

    \b
    Example:
      edgebox demo --json
    """
    from edgebox.demo.scenario import run_demo
    try:
        ok = run_demo(as_json=as_json, lang=lang)
    except EdgeboxError as exc:
        fail(said(exc, lang))
    sys.exit(0 if ok else 1)


@main.group()
def roster() -> None:
    """Import, export and show the households and groups.

    \b
    Example:
      edgebox roster import village.csv --config /etc/edgebox/edgebox.toml
    """


def _store_and_config(config_path: str):
    from edgebox.store import SqliteStore
    config = load(config_path)
    try:
        return SqliteStore(config.box_database), config
    except EdgeboxError as exc:
        fail(said(exc, config.box_language))


store_config_option = config_option("the box's TOML config (names the database)")


@roster.command("import")
# No exists= check: click would refuse a missing file in English; read_sheet_file says it in
# the box's language.
@click.argument("csv_file", type=click.Path())
@store_config_option
def roster_import(csv_file: str, config_path: str) -> None:
    """Replace the roster with a village sheet (CSV or XLSX, Chinese headers). All or nothing;
    what works but deserves a second look (a landline-only household, a group under 5 or over
    15 households, a vulnerable leader) is imported and printed as a note.

    \b
    Example:
      edgebox roster import 石桥村.xlsx --config config/edgebox.example.toml
    """
    from edgebox.domain.roster_advice import roster_warnings
    from edgebox.roster_io.csv_sheet import read_sheet_file
    from edgebox.roster_io.sheet_import import read_sheet
    from edgebox.store.ownership import give_to_directory_owner
    from edgebox.store.times import utc_now
    store, config = _store_and_config(config_path)
    try:
        content = read_sheet_file(csv_file)
        new = read_sheet(content, csv_file, config.box_region)
        generation = store.roster.replace(new, utc_now(), source=Path(csv_file).name)
    except EdgeboxError as exc:
        lang = config.box_language
        problems = getattr(exc, "problems", None) or [message(exc)]
        click.echo(cli_word(lang, "not_imported", file=csv_file), err=True)
        for problem in problems:
            click.echo(f"  {say(problem, lang)}", err=True)
        sys.exit(2)
    # `sudo edgebox roster import` wrote the database as root: the daemon must still write it.
    give_to_directory_owner(Path(config.box_database))
    # The notes first: the last line says whether the box runs with the new roster.
    lang = config.box_language
    for warning in roster_warnings(new):
        click.echo(cli_word(lang, "note", note=warning.text(lang)))
    taken = _roster_taken_up(store, config.box_database, generation, lang)
    click.echo(cli_word(lang, "imported", households=len(new.households),
                        groups=len(new.groups), taken=taken))


ROSTER_PICKUP_SECONDS = 10  # a running daemon takes a new roster on its loop's next turn


def _roster_taken_up(store, database: str, generation: int, lang: str) -> str:
    """Whether the box runs with the roster just saved: a running daemon logs
    ``roster_loaded`` when it has taken it (edgebox/daemon/service.py, follow_roster)."""
    import time
    from edgebox.single_instance import lock_owner
    owner = lock_owner(database)
    if owner is None or owner[1] not in ("edgebox run", ""):  # none, or a tool holds it
        return cli_word(lang, "taken_at_start")
    deadline = time.monotonic() + ROSTER_PICKUP_SECONDS
    while time.monotonic() < deadline:
        if store.roster.generation_loaded() >= generation:
            return cli_word(lang, "taken_now")
        time.sleep(0.1)
    return cli_word(lang, "not_taken", pid=owner[0])


@roster.command("export")
@click.argument("csv_file", type=click.Path(dir_okay=False, writable=True))
@store_config_option
def roster_export(csv_file: str, config_path: str) -> None:
    """Write the roster as a CSV sheet that Excel and WPS open (UTF-8 with BOM).

    \b
    Example:
      edgebox roster export backup.csv --config config/edgebox.example.toml
    """
    from edgebox.roster_io.csv_sheet import write_roster_csv
    store, config = _store_and_config(config_path)
    current = store.roster.load()
    write_roster_csv(current, csv_file)
    click.echo(cli_word(config.box_language, "exported", households=len(current.households),
                        file=csv_file))


@roster.command("show")
@store_config_option
def roster_show(config_path: str) -> None:
    """Print every group with its leader, households, phones and flags.

    \b
    Example:
      edgebox roster show --config config/edgebox.example.toml
    """
    from edgebox.domain.phones import display
    from edgebox.domain.roster import FLAG_LABELS_ZH
    store, config = _store_and_config(config_path)
    lang = config.box_language
    current = store.roster.load()
    if not current.groups:
        click.echo(cli_word(lang, "roster_empty"))
        return
    for group in current.groups:
        click.echo(cli_word(lang, "group", group=group.name, households=len(group.member_ids)))
        for h in current.members(group.id):
            mark = "★" if h.id == group.leader_id else " "
            flags = "、".join(FLAG_LABELS_ZH[f] for f in sorted(h.flags))
            phones = ", ".join(display(p) for p in h.phones)
            click.echo(f"  {mark} {h.id:<6} {h.name:<6} {h.address:<14} {phones}  {flags}".rstrip())
            if h.guardians:  # relatives: texted of this household's alarms only
                click.echo("           " + cli_word(
                    lang, "relatives", phones=", ".join(display(p) for p in h.guardians)))
            if h.check_in:  # rung daily at this time; answering is 平安
                click.echo("           " + cli_word(lang, "check_in", time=h.check_in))
    for label, numbers in (("office", config.numbers_office),
                           ("township", config.numbers_township)):
        if numbers:
            click.echo(cli_word(lang, label, phones=", ".join(display(n) for n in numbers)))


@main.group()
def modem() -> None:
    """What the daemon knows about its modems.

    \b
    Example:
      edgebox modem status --config /etc/edgebox/edgebox.toml
    """


@modem.command("status")
@store_config_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def modem_status(config_path: str, as_json: bool) -> None:
    """Signal, registration, SIM, operator, balance and network time of every modem, as the
    daemon last read them (it checks every modem.health_minutes), and each modem's state.

    \b
    Example:
      edgebox modem status --config /etc/edgebox/edgebox.toml --json
    """
    import json as json_module
    from edgebox.readmodels.modem_status import modem_status as collect
    store, config = _store_and_config(config_path)
    status = collect(store, [m.name for m in config.modems])
    if as_json:
        click.echo(json_module.dumps(status, ensure_ascii=False))
        return
    for name, row in status.items():
        for line in modem_lines(config.box_language, name, row):
            click.echo(line)


@main.group()
def incidents() -> None:
    """The alarms the box has handled, from its durable log.

    \b
    Example:
      edgebox incidents list --config /etc/edgebox/edgebox.toml
      edgebox incidents show 12 --config /etc/edgebox/edgebox.toml
    """


@incidents.command("list")
@store_config_option
@click.option("--limit", default=20, show_default=True, help="how many, newest first")
def incidents_list(config_path: str, limit: int) -> None:
    """One line per alarm: number, time, group, caller, type, state.

    \b
    Example:
      edgebox incidents list --limit 50
    """
    from edgebox.readmodels.incident_report import local
    from edgebox.domain.alarm import alarm_label
    from edgebox.domain.timeline import close_reason
    from edgebox.readmodels.queries import recent_incidents
    store, config = _store_and_config(config_path)
    roster = store.roster.load()
    found = recent_incidents(store, limit)
    if not found:
        click.echo(cli_word(config.box_language, "no_alarms"))
    names = {h.id: h.name for h in roster.households}
    groups = {g.id: g.name for g in roster.groups}
    for row in found:
        reason = row["closed_reason"] or "closed"
        lang = config.box_language
        state = cli_word(lang, "open") if row["state"] == "open" else close_reason(lang, reason)
        click.echo(f"#{row['id']:<5} {local(row['opened_at'])}  "
                   f"{groups.get(row['group_id'], row['group_id'])}  "
                   f"{names.get(row['caller_household_id'], row['caller_household_id'])}  "
                   f"{alarm_label(row['alarm_type'] or 'call', config.box_language)}"
                   f"{'  ' + cli_word(lang, 'drill') if row['drill'] else ''}  {state}")


@incidents.command("show")
@click.argument("incident_id", type=int)
@store_config_option
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="language of the report (default: the box's language)")
@click.option("--json", "as_json", is_flag=True,
              help="the incident with its deliveries, acknowledgements and events as JSON")
def incidents_show(incident_id: int, config_path: str, lang: str | None, as_json: bool) -> None:
    """An alarm as a timeline: who was texted, rung, acknowledged, when, by which channel.

    \b
    Example:
      edgebox incidents show 12 --lang en
    """
    import json as json_module
    from edgebox.domain.timeline import contacts_of
    from edgebox.readmodels.incident_report import report_lines
    from edgebox.readmodels.queries import incident
    store, config = _store_and_config(config_path)
    record = incident(store, incident_id)
    if record is None:
        fail(f"there is no alarm #{incident_id} in {config.box_database}")
    if as_json:
        click.echo(json_module.dumps(record, ensure_ascii=False, indent=1))
        return
    contacts = contacts_of(config.numbers_office, config.numbers_township)
    for line in report_lines(record, store.roster.load(), lang or config.box_language, contacts):
        click.echo(line)


