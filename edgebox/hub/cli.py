"""``edgebox hub …``: run the county hub, register boxes, manage dashboard users."""
from __future__ import annotations

import json
import os
import sys

import click

from edgebox.cli_support import fail
from edgebox.errors import EdgeboxError

DEFAULT_DB = os.environ.get("EDGEBOX_HUB_DB", "/var/lib/edgebox/hub.db")

db_option = click.option(
    "--db", "db_url", default=DEFAULT_DB, show_default=True,
    help="the hub's database: a SQLite file, or a postgresql:// URL (env EDGEBOX_HUB_DB)")


def _open(db_url: str):
    from edgebox.hub.database import open_database
    try:
        return open_database(db_url)
    except EdgeboxError as exc:
        fail(str(exc))


@click.group()
def hub() -> None:
    """The county platform: receives the boxes' logs and shows every village on one page.

    \b
    Example:
      edgebox hub serve --db postgresql://hub@localhost/edgebox --port 8080
    """


@hub.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (0.0.0.0 for every interface)")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--max-skew", default=300, show_default=True, type=float,
              help="seconds a box's clock may differ from the hub's")
@click.option("--stale-hours", default=24, show_default=True, type=float,
              help="a box not heard from for this long is shown in red")
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False),
              help="serve HTTPS with this certificate (PEM)")
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False),
              help="… and this private key")
@click.option("--login-attempts", default=5, show_default=True,
              type=click.IntRange(1, 100),
              help="failed dashboard logins allowed from one address (ten times this from"
                   " all addresses together) …")
@click.option("--login-window-minutes", default=15, show_default=True,
              type=click.FloatRange(0.01, 24 * 60),
              help="… in this many minutes; then that address must wait")
@click.option("--time-zone", default="Asia/Shanghai", show_default=True,
              help="the county's time zone: every time on the dashboard is shown in it")
@click.option("--modem", default="",
              help="the hub's own GSM modem (e.g. /dev/ttyUSB2): receives boxes' SMS reports,"
                   " texts alerts to the duty officers")
@click.option("--silent-hours", default=26, show_default=True, type=click.FloatRange(1, 24 * 30),
              help="alert when a box has sent nothing (upload or SMS) for this long")
@click.option("--low-balance", default=10, show_default=True, type=float,
              help="alert when a box's SIM balance is under this (yuan)")
@click.option("--drill-days", default=100, show_default=True, type=click.FloatRange(1, 3650),
              help="alert when a box has had no drill for this many days")
@click.option("--alert-repeat-hours", default=12, show_default=True,
              type=click.FloatRange(0.1, 24 * 30),
              help="text one alert (box and kind) again at most this often")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="server processes (PostgreSQL only; one per CPU core is a good start)")
def serve(db_url: str, host: str, port: int, max_skew: float, stale_hours: float,
          ssl_certfile: str | None, ssl_keyfile: str | None, login_attempts: int,
          login_window_minutes: float, time_zone: str, modem: str, silent_hours: float,
          low_balance: float, drill_days: float, alert_repeat_hours: float,
          workers: int) -> None:
    """Serve the boxes' upload endpoint and the dashboard until SIGTERM or Ctrl-C.

    \b
    Example:
      edgebox hub serve --db /var/lib/edgebox/hub.db --host 0.0.0.0 --port 8443 \\
        --ssl-certfile hub.pem --ssl-keyfile hub.key
      edgebox hub serve --db postgresql://hub@localhost/edgebox --workers 2
    """
    try:
        import uvicorn
        from edgebox.hub.web import create_app
    except ImportError as exc:
        fail(f"the hub needs its extra packages ({exc.name}): pip install 'edgebox[hub]'")
    server = dict(host=host, port=port, log_level="info", ssl_certfile=ssl_certfile,
                  ssl_keyfile=ssl_keyfile, access_log=False, timeout_graceful_shutdown=5)
    if workers > 1:
        _serve_workers(workers, server, db_url=db_url, max_skew=max_skew,
                       stale_hours=stale_hours, login_attempts=login_attempts,
                       login_window_minutes=login_window_minutes, time_zone=time_zone,
                       modem=modem)
        return
    try:
        link = None
        if modem:
            from edgebox.hub.alerts import AlertRules
            from edgebox.hub.modem_link import modem_link_factory
            link = modem_link_factory(modem, AlertRules(silent_hours, low_balance, drill_days,
                                                        alert_repeat_hours))
        app = create_app(db_url, max_skew=max_skew, stale_hours=stale_hours,
                         login_attempts=login_attempts,
                         login_window_minutes=login_window_minutes, time_zone=time_zone,
                         modem_link=link)
    except EdgeboxError as exc:
        fail(str(exc))
    uvicorn.run(app, **server)


def _serve_workers(workers: int, server: dict, modem: str, **settings) -> None:
    """uvicorn with several worker processes, each building the app from SETTINGS_VARIABLE."""
    import uvicorn
    from edgebox.hub.database import Database
    from edgebox.hub.web import SETTINGS_VARIABLE
    if Database(settings["db_url"]).dialect != "postgresql":
        fail("--workers needs a postgresql:// database: SQLite has one writer at a time, so"
             " several processes would only wait for each other (run one process on SQLite)")
    if modem:
        fail("--modem cannot be combined with --workers: one process must own the serial"
             " device (run the modem hub as its own one-process `edgebox hub serve`)")
    _open(settings["db_url"]).close()  # migrate once, before the workers race to do it
    os.environ[SETTINGS_VARIABLE] = json.dumps(settings)
    uvicorn.run("edgebox.hub.web:app_from_environment", factory=True, workers=workers,
                **server)


@hub.group("box")
def box() -> None:
    """Register boxes and list them.

    \b
    Example:
      edgebox hub box add shiqiao-village --county 临安区 --township 太湖源镇 --village 石桥村
    """


@box.command("add")
@click.argument("box_id")
@click.option("--county", required=True)
@click.option("--township", required=True)
@click.option("--village", required=True)
@click.option("--token", help="use this token (at least 16 characters) instead of a new one")
@click.option("--replace", is_flag=True, help="re-register an existing box (new token/place)")
@db_option
def box_add(box_id: str, county: str, township: str, village: str, token: str | None,
            replace: bool, db_url: str) -> None:
    """Register a box and print its token once: put it in the box's uplink.token.

    \b
    Example:
      edgebox hub box add shiqiao-village --county 临安区 --township 太湖源镇 --village 石桥村
    """
    from edgebox.hub.registry import add_box
    db = _open(db_url)
    try:
        token = add_box(db, box_id, county, township, village, token, replace)
    except EdgeboxError as exc:
        fail(str(exc))
    finally:
        db.close()
    click.echo(f"registered {box_id} ({county} / {township} / {village})")
    click.echo(f"token: {token}")


@box.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def box_list(db_url: str, as_json: bool) -> None:
    """Every box with its place, when it was last heard from and how far its log is in.

    \b
    Example:
      edgebox hub box list --db /var/lib/edgebox/hub.db
    """
    from edgebox.hub.registry import list_boxes
    db = _open(db_url)
    try:
        rows = list_boxes(db)
    except EdgeboxError as exc:
        fail(str(exc))
    finally:
        db.close()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['box_id']:<20} {row['county']} / {row['township']} /"
                       f" {row['village']}  last seen {row['last_seen'] or 'never'},"
                       f" log at #{row['acked_seq']}, backlog {row['backlog'] or 0}"
                       + (f" (log {row['log_no']}: a new database)" if row["log_no"] > 1
                          else ""))


@hub.group("user")
def user() -> None:
    """People who may log in to the dashboard (separate from boxes).

    \b
    Example:
      edgebox hub user add zhao                                # county: every box
      edgebox hub user add wang --role township --township 太湖源镇
      edgebox hub user add li --role village --box shiqiao-village
      edgebox hub user password wang
      edgebox hub user remove wang
      edgebox hub user list
    """


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def _on_database(db_url: str, change) -> None:
    db = _open(db_url)
    try:
        change(db)
    except EdgeboxError as exc:
        fail(str(exc))
    finally:
        db.close()


password_stdin_option = click.option("--password-stdin", is_flag=True,
                                     help="read the password from standard input")


@user.command("add")
@click.argument("name")
@password_stdin_option
@click.option("--replace", is_flag=True,
              help="set a new password (and role) for an existing user")
@click.option("--role", type=click.Choice(["county", "township", "village"]), default="county",
              show_default=True, help="county: every box; township: its boxes; village: one box")
@click.option("--township", default="", help="the township a township officer sees")
@click.option("--box", "box_id", default="", help="the box a village account sees")
@db_option
def user_add(name: str, password_stdin: bool, replace: bool, role: str, township: str,
             box_id: str, db_url: str) -> None:
    """Add a dashboard user; the password (10+ characters) is asked twice, never echoed.

    \b
    Example:
      echo 'long secret words' | edgebox hub user add wang --password-stdin \\
        --role township --township 太湖源镇
    """
    from edgebox.hub.accounts import add_user
    password = _read_password(password_stdin)
    _on_database(db_url, lambda db: add_user(db, name, password, replace, role, township,
                                             box_id))
    where = township or box_id
    click.echo(f"user {name} ({role}{' ' + where if where else ''}) can log in")


@user.command("password")
@click.argument("name")
@password_stdin_option
@db_option
def user_password(name: str, password_stdin: bool, db_url: str) -> None:
    """Give a user a new password (10+ characters); their open sessions end.

    \b
    Example:
      edgebox hub user password wang
    """
    from edgebox.hub.accounts import set_password
    password = _read_password(password_stdin)
    _on_database(db_url, lambda db: set_password(db, name, password))
    click.echo(f"user {name} has a new password; their sessions were ended")


@user.command("remove")
@click.argument("name")
@db_option
def user_remove(name: str, db_url: str) -> None:
    """Remove a user; they are logged out at once.

    \b
    Example:
      edgebox hub user remove wang
    """
    from edgebox.hub.accounts import remove_user
    _on_database(db_url, lambda db: remove_user(db, name))
    click.echo(f"user {name} removed")


@user.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def user_list(db_url: str, as_json: bool) -> None:
    """Every user, when they were added and last logged in (never a password).

    \b
    Example:
      edgebox hub user list --db /var/lib/edgebox/hub.db
    """
    from edgebox.hub.accounts import list_users
    rows: list[dict] = []
    _on_database(db_url, lambda db: rows.extend(list_users(db)))
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            where = row["township"] or row["box_id"] or ""
            click.echo(f"{row['name']:<20} {row['role']} {where}".rstrip()
                       + f", added {row['created_at'][:19]}, last login"
                       f" {(row['last_login_at'] or 'never')[:19]}, {row['sessions']} open"
                       " sessions")


@hub.group("duty")
def duty_group() -> None:
    """Duty officers per township: the hub's modem texts them its alerts; they reply '1'.

    \b
    Example:
      edgebox hub duty add 太湖源镇 +8613700000001 --name 王干事
    """


@duty_group.command("add")
@click.argument("township")
@click.argument("phone")
@click.option("--name", default="", help="the officer's name, for the alerts page")
@db_option
def duty_add(township: str, phone: str, name: str, db_url: str) -> None:
    """Put a number on duty for a township (international form, +86…).

    \b
    Example:
      edgebox hub duty add 太湖源镇 +8613700000001 --name 王干事
    """
    from edgebox.hub.duty import add_officer
    _on_database(db_url, lambda db: add_officer(db, township, phone, name))
    click.echo(f"{phone} is on duty for {township}")


@duty_group.command("remove")
@click.argument("township")
@click.argument("phone")
@db_option
def duty_remove(township: str, phone: str, db_url: str) -> None:
    """Take a number off duty for a township.

    \b
    Example:
      edgebox hub duty remove 太湖源镇 +8613700000001
    """
    from edgebox.hub.duty import remove_officer
    _on_database(db_url, lambda db: remove_officer(db, township, phone))
    click.echo(f"{phone} is no longer on duty for {township}")


@duty_group.command("list")
@db_option
def duty_list(db_url: str) -> None:
    """Every duty officer, by township.

    \b
    Example:
      edgebox hub duty list
    """
    from edgebox.hub.duty import list_officers
    rows: list[dict] = []
    _on_database(db_url, lambda db: rows.extend(list_officers(db)))
    for row in rows:
        click.echo(f"{row['township']}  {row['phone']}  {row['name']}")
