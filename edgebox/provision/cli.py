"""``edgebox provision``: apply, check and print the card's edgebox.txt."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

ASSUMED_SECRETS = {"SIM_PIN": "0000", "UPLOAD_TOKEN": "x" * 16, "PANEL_PASSWORD": "x" * 8}


@click.group()
def provision() -> None:
    """The box's settings from edgebox.txt on the SD card's boot partition.

    \b
    Example:
      edgebox provision check /media/sdcard/edgebox.txt
    """


@provision.command("apply")
@click.option("--boot", default="/boot/firmware", show_default=True,
              type=click.Path(file_okay=False), help="the FAT partition holding edgebox.txt")
@click.option("--etc", default="/etc/edgebox", show_default=True,
              type=click.Path(file_okay=False), help="where the generated config goes")
def apply_command(boot: str, etc: str) -> None:
    """Apply edgebox.txt (and import roster.csv) if every line is good; run at every boot.

    A bad file keeps the previous settings; the lines at fault are logged and written to
    edgebox-status.txt on the boot partition. Exits 1 when something was not applied.

    \b
    Example:
      edgebox provision apply --boot /boot/firmware --etc /etc/edgebox
    """
    from edgebox.config import config_language
    from edgebox.i18n import Text, say
    from edgebox.provision.apply import (CONFIG_FILE, PROVISION_FILE, ROSTER_FILE, Paths,
                                         apply, import_roster, show_on_led, write_status)
    paths = Paths(Path(boot), Path(etc))
    now = datetime.now(timezone.utc)
    outcomes = [(PROVISION_FILE, apply(paths))]
    roster = import_roster(paths, now) if (paths.etc / CONFIG_FILE).exists() else None
    if roster is not None:
        outcomes.append((ROSTER_FILE, roster))
    write_status(paths, outcomes, now)
    # The boot screen and the log speak the box's language: the config it runs with now.
    lang = config_language(paths.etc / CONFIG_FILE)
    led = show_on_led(paths.leds, outcomes)
    if led:
        click.echo(say(Text("provision.led", "the {led} LED blinks fast until a good {file} "
                            "is applied", led=led, file=PROVISION_FILE), lang))
    for name, outcome in outcomes:
        kept = ", previous settings kept" if outcome.status == "rejected" else ""
        click.echo(f"{name}: {outcome.status}{kept}")
        for note in outcome.notes:
            click.echo(f"  {say(note, lang)}")
        for problem in outcome.problems:
            click.echo(f"edgebox: {name}: {say(problem, lang)}", err=True)
    sys.exit(0 if all(outcome.ok for _, outcome in outcomes) else 1)


@provision.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def check_command(file: str) -> None:
    """Check an edgebox.txt on a PC before the card goes into the box; changes nothing.

    \b
    Example:
      edgebox provision check /media/sdcard/edgebox.txt
    """
    from edgebox.errors import ConfigError
    from edgebox.i18n import Text
    from edgebox.provision import ProvisionError, textfile
    from edgebox.provision.apply import check_values, config_problem, panel_password_hash
    from edgebox.provision.fields import Context
    from edgebox.provision.generate import generate, unused_fields
    from edgebox.provision.status import bilingual, unused_note
    decoded = textfile.decode(Path(file).read_bytes())
    # Said as edgebox-status.txt says it, Chinese then English: the same technician reads it.
    try:
        # A masked secret was checked when the box applied it; here any valid one stands in.
        values = check_values(decoded.text, ASSUMED_SECRETS, Context())
        values["PANEL_PASSWORD"] = panel_password_hash(values["PANEL_PASSWORD"])
        generate(values, True, Path(file).name)
    except (ProvisionError, ConfigError) as exc:
        problems = exc.problems if isinstance(exc, ProvisionError) else [config_problem(exc)]
        click.echo("edgebox: " + bilingual(Text("provision.would_not_apply",
                                                "{file} would not be applied:", file=file)),
                   err=True)
        for problem in problems:
            click.echo(f"  {bilingual(problem)}", err=True)
        sys.exit(2)
    for name in unused_fields(values):
        click.echo(bilingual(Text("provision.note", "note: {note}", note=unused_note(name))))
    click.echo(bilingual(Text("provision.good", "{file} is good", file=file)))


@provision.command("template")
@click.argument("file", type=click.Path(dir_okay=False, writable=True), required=False)
@click.option("--config-txt", type=click.Path(exists=True, dir_okay=False),
              help="also hold the default siren pin off from power-on in this config.txt")
def template_command(file: str | None, config_txt: str | None) -> None:
    """Write the blank, self-documenting edgebox.txt (to FILE, or print it).

    \b
    Example:
      edgebox provision template /media/sdcard/edgebox.txt --config-txt /media/sdcard/config.txt
    """
    from edgebox.provision.template import template_bytes, template_text
    if file:
        Path(file).write_bytes(template_bytes())
    else:
        click.echo(template_text().replace("\r\n", "\n"), nl=False)
    if config_txt:
        from edgebox.provision.apply import set_siren_boot_state
        from edgebox.provision.fields import BY_NAME, Context
        pin = BY_NAME["SIREN_PIN"].check(BY_NAME["SIREN_PIN"].default, Context())
        active_high = BY_NAME["SIREN_ACTIVE"].check(BY_NAME["SIREN_ACTIVE"].default, Context())
        set_siren_boot_state(Path(config_txt), pin, active_high)
