"""``edgebox selftest``: the technician's pass/fail report."""
from __future__ import annotations

import json
import sys

import click

from edgebox.cli_support import config_option


@click.command()
@config_option()
@click.option("--sms", "sms_to", metavar="NUMBER", help="also send a test SMS to this phone")
@click.option("--siren-seconds", default=1.0, show_default=True, type=click.FloatRange(0, 10),
              help="how long to pulse the siren relay (0: do not)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def selftest(config_path: str, sms_to: str | None, siren_seconds: float, as_json: bool) -> None:
    """Check the modem, SIM, network, siren, storage, clock and uplink; say what to fix.

    Run it with the daemon stopped (`systemctl stop edgebox`): the daemon holds the modem while
    it runs, and the report says so. Exits 1 if any check failed.

    \b
    Example:
      edgebox selftest --sms 13800138000
    """
    from edgebox.config import config_language
    from edgebox.config_file import load_config
    from edgebox.domain.phones import PhoneNumberError, normalise
    from edgebox.errors import EdgeboxError
    from edgebox.selftest.checks import config_unreadable
    from edgebox.selftest.report import as_json as to_json, as_text, passed, run_checks
    try:
        config = load_config(config_path)
    except EdgeboxError as exc:
        # Said in the language the file asks for, if it can be read that far; Chinese if not.
        failed = [config_unreadable(exc)]
        click.echo(json.dumps(to_json(failed), ensure_ascii=False) if as_json else
                   as_text(failed, config_language(config_path)), err=not as_json)
        sys.exit(1)
    if sms_to:
        try:
            sms_to = normalise(sms_to, config.box_region)
        except PhoneNumberError as exc:
            raise click.BadParameter(str(exc), param_hint="--sms") from exc
    results = run_checks(config, sms_to, siren_seconds)
    click.echo(json.dumps(to_json(results), ensure_ascii=False) if as_json
               else as_text(results, config.box_language))
    sys.exit(0 if passed(results) else 1)
