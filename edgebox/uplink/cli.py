"""``edgebox upload …``: send the log to the county hub now, or say where the uplink stands."""
from __future__ import annotations

import json
import sys

import click

from edgebox.cli_support import config_option, fail, load
from edgebox.errors import ConfigError, EdgeboxError
from edgebox.i18n import Text, said


def _uploader(config_path: str):
    from edgebox.store import SqliteStore
    from edgebox.uplink.settings import uplink_settings
    from edgebox.uplink.uploader import Uploader
    config = load(config_path)
    try:
        settings = uplink_settings(config)
        if settings is None:
            raise ConfigError("uplink.url", Text("config.no_uplink",
                                                 "is empty: this box has no uplink"))
        store = SqliteStore(config.box_database)
    except EdgeboxError as exc:
        fail(said(exc, config.box_language))
    return Uploader(settings, store, language=config.box_language,
                    office=config.numbers_office, township=config.numbers_township)


@click.group()
def upload() -> None:
    """Ship the event log to the county hub (the daemon also does it on a schedule).

    \b
    Example:
      edgebox upload now --config /etc/edgebox/edgebox.toml
    """


@upload.command("now")
@config_option()
@click.option("--json", "as_json", is_flag=True, help="print the outcome as one JSON object")
def upload_now(config_path: str, as_json: bool) -> None:
    """Bring the link up if needed, send everything the hub has not acknowledged, and prune.

    Safe while the daemon runs: the hub drops anything it already has, and the cursor only
    moves on the hub's acknowledgement. Exits 1 when the upload did not go through.

    \b
    Example:
      edgebox upload now --config /etc/edgebox/edgebox.toml
    """
    uploader = _uploader(config_path)
    try:
        report = uploader.run_once()
    finally:
        uploader.client.close()
    if as_json:
        click.echo(json.dumps(report.__dict__, ensure_ascii=False))
    elif report.ok:
        click.echo(f"uploaded {report.events} events in {report.batches} batches"
                   f" ({report.duplicates} already at the hub); hub has up to"
                   f" #{report.acked_seq}, {report.backlog} waiting")
    else:
        click.echo(f"edgebox: upload failed: {report.error}", err=True)
    sys.exit(0 if report.ok else 1)


@upload.command("status")
@config_option()
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def upload_status(config_path: str, as_json: bool) -> None:
    """Where the uplink stands: the hub's last acknowledgement, the backlog, the last error.

    \b
    Example:
      edgebox upload status --config /etc/edgebox/edgebox.toml
    """
    uploader = _uploader(config_path)
    status = uploader.ledger.status()
    uploader.client.close()
    if as_json:
        click.echo(json.dumps(status, ensure_ascii=False))
        return
    for key, value in status.items():
        click.echo(f"{key:<16} {'' if value is None else value}")
