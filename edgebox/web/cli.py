"""``edgebox web password``: set the office's web panel password (its scrypt hash)."""
from __future__ import annotations

import sys

import click

from edgebox.cli_support import config_option, fail, load, setup_logging
from edgebox.errors import ConfigError
from edgebox.i18n import said, say


@click.group()
def web() -> None:
    """The office's web panel.

    \b
    Example:
      edgebox web password --config /etc/edgebox/edgebox.toml
    """


@web.command("serve")
@config_option("the box's config file", must_exist=True)
def web_serve(config_path: str) -> None:
    """Serve the web panel (web.listen) as a process of its own, until SIGTERM. `edgebox run`
    starts it, and starts it again if it dies; run it by hand only to try the panel.

    \b
    Example:
      edgebox web serve --config /etc/edgebox/edgebox.toml
    """
    from edgebox.web.process import serve
    config = load(config_path)
    setup_logging(config.log_level)
    try:
        status = serve(config)
    except ConfigError as exc:  # a check of keys read together: uplink.url without its token
        fail(said(exc, config.box_language))
    sys.exit(status)


@web.command("password")
@config_option("the config file to update", must_exist=True)
@click.option("--stdin", "from_stdin", is_flag=True,
              help="read the password from the first line of standard input (provisioning)")
def web_password(config_path: str, from_stdin: bool) -> None:
    """Set the web panel's password: its scrypt hash goes into [web] password_hash in the
    config; the password itself is stored nowhere. Restart the daemon to use it.

    \b
    Example:
      edgebox web password --config /etc/edgebox/edgebox.toml
    """
    from edgebox.web.passwords import hash_password, set_password_hash
    # a broken config is reported before anything is written
    lang = load(config_path).box_language
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("new web panel password", hide_input=True,
                                confirmation_prompt=True)
    try:
        hashed = hash_password(password)
        set_password_hash(config_path, hashed)
    except ConfigError as exc:
        fail(say(exc.problem, lang))
    except OSError as exc:
        fail(f"cannot write {config_path}: {exc}")
    load(config_path)
    click.echo(f"web panel password set in {config_path}; restart edgebox to use it")
