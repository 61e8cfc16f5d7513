"""What every ``edgebox`` command shares: where the config is, how it is loaded, how a command
fails, its exit statuses and its log lines.

The top CLI (edgebox.cli) and the sub-CLIs beside the code they drive (edgebox.adapters.gpio.cli,
edgebox.web.cli, edgebox.uplink.cli, edgebox.hub.cli, edgebox.selftest.cli) import this module;
it imports none of them, so the top CLI can attach them without an import cycle.
"""
from __future__ import annotations

import logging
import os
import sys

import click

from edgebox.errors import EdgeboxError
from edgebox.i18n import said

DEFAULT_CONFIG = os.environ.get("EDGEBOX_CONFIG", "/etc/edgebox/edgebox.toml")

# Exit statuses beside 2 (a usage or config error): another process holds the database or a
# modem port (EX_TEMPFAIL: systemd's restart tries again once it is gone); the box has no
# roster (EX_CONFIG: systemd/edgebox.service does not restart it, a restart cannot help).
EXIT_IN_USE = 75
EXIT_NO_ROSTER = 78


def fail(message: str, status: int = 2) -> None:
    click.echo(f"edgebox: {message}", err=True)
    sys.exit(status)


def load(config_path: str):
    """The box's config, or the command ends with one line naming the key and the problem, in
    the box's language (Chinese unless the file says ``language = "en"``, or cannot be read)."""
    from edgebox.config import config_language
    from edgebox.config_file import load_config
    try:
        return load_config(config_path)
    except EdgeboxError as exc:
        fail(said(exc, config_language(config_path)))


def config_option(help: str = "the box's TOML config", must_exist: bool = False):
    """The ``--config`` option every box command takes (default: $EDGEBOX_CONFIG or
    /etc/edgebox/edgebox.toml)."""
    return click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True,
                        type=click.Path(exists=must_exist, dir_okay=False), help=help)


def setup_logging(level: str = "info", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                           "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The library logs every byte at DEBUG and its own guesses at INFO; ours says what matters.
    logging.getLogger("gsmmodem").setLevel(logging.WARNING)
