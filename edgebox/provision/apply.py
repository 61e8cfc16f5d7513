"""The boot-time provisioning step (``edgebox provision apply``, run by edgebox-provision.service).

Every boot: read edgebox.txt from the FAT partition, check every line, and only if all are good
replace the config, the SSH key and the time zone, each with an atomic rename. Then mask the
secrets in the card's copy and import a roster sheet left beside it. A bad file changes nothing
and says which line is wrong: in the log, and in edgebox-status.txt on the card, which a
technician can read on any computer.
"""
from __future__ import annotations

import codecs
import grp
import json
import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgebox.errors import ConfigError, EdgeboxError
from edgebox.i18n import Text, message
from edgebox.provision import ProvisionError
from edgebox.provision import textfile
from edgebox.provision.fields import FIELDS, MASK, Context
from edgebox.provision.generate import field_of_config_key, generate, unused_fields
from edgebox.provision.status import at_line, got, problem, status_report, unused_note

log = logging.getLogger("edgebox.provision")

PROVISION_FILE = "edgebox.txt"
ROSTER_FILE = "roster.csv"
STATUS_FILE = "edgebox-status.txt"
STATE_FILE = "provisioned.json"   # the applied values, secrets included (0600): masks resolve here
CONFIG_FILE = "edgebox.toml"
AUTHORIZED_KEYS = "ssh/authorized_keys"
LOCALTIME = "localtime"           # /etc/localtime in the image is a link to this one
UPLOAD_FLAG = "upload-enabled"
DAEMON_GROUP = "edgebox"
CONFIG_TXT = "config.txt"         # the Pi firmware's settings, beside edgebox.txt
PPP_PEER = "ppp/edgebox"          # pppd's options for mobile data (edgebox-ppp.service)
PPP_CHAT = "ppp/edgebox.chat"     # the dial script with the APN
DATA_PORT = "/dev/edgebox-modem-data"  # the modem's PPP port (70-edgebox-modems.rules)
PPP_UP = "/usr/lib/edgebox/ppp-up"     # hands the operator's DNS servers to systemd-resolved
# The LED that shows a rejected card: the green activity LED (its name in newer and older device
# trees), or on a Pi 400, which has none, the power LED.
STATUS_LEDS = ("ACT", "led0", "PWR")
SIREN_BOOT_COMMENT = ("# edgebox: the siren relay's pin, held off from power-on "
                      "(SIREN_PIN and SIREN_ACTIVE in edgebox.txt)")
_SIREN_BOOT_LINE = re.compile(r"gpio=\d+=op,d[lh]")


@dataclass(frozen=True)
class Paths:
    boot: Path                                  # the FAT partition (/boot/firmware)
    etc: Path                                   # /etc/edgebox, on the writable data partition
    zoneinfo: Path = Path("/usr/share/zoneinfo")
    board_model: Path = Path("/proc/device-tree/model")
    leds: Path = Path("/sys/class/leds")


@dataclass
class Outcome:
    status: str                  # "applied", "unchanged", "rejected" or "missing"
    problems: list[Text] = field(default_factory=list)   # said Chinese first in the status
    notes: list[Text] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "unchanged", "missing") and not self.problems


def check_values(text: str, previous: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Every field's checked value (defaults for absent ones); ProvisionError naming the lines."""
    entries, problems = textfile.parse(text)
    given = {entry.key: entry for entry in entries}
    values: dict[str, Any] = {}
    raw: dict[str, str] = {}
    for spec in FIELDS:
        entry = given.get(spec.name)
        where = at_line(entry.line, spec.name) if entry else spec.name
        text_value = entry.value if entry else spec.default
        if spec.secret and text_value == MASK:
            if spec.name not in previous:
                problems.append(problem(where, Text(
                    "provision.masked", "is masked but no earlier value is known; type the "
                    "value again")))
                continue
            text_value = previous[spec.name]
        if spec.required and not text_value:
            problems.append(problem(where, Text("provision.required", "is required") if entry
                                    else Text("provision.required_add", "is required; add the "
                                              "line {name}=...", name=spec.name)))
            continue
        try:
            values[spec.name] = spec.check(text_value, ctx)
        except ValueError as exc:
            what = message(exc)  # a Text: the field's check says what is wrong
            problems.append(problem(where, what if spec.secret else got(what, text_value)))
            continue
        raw[spec.name] = text_value
    if values.get("UPLOAD_URL") and not values.get("UPLOAD_TOKEN"):
        entry = given.get("UPLOAD_TOKEN")
        where = at_line(entry.line, "UPLOAD_TOKEN") if entry else "UPLOAD_TOKEN"
        problems.append(problem(where, Text("provision.token_for_url",
                                            "is required when UPLOAD_URL is set")))
    if problems:
        raise ProvisionError(sorted(problems, key=_line_order))
    values["_raw"] = raw
    return values


def _line_order(problem: str) -> tuple[int, str]:
    parts = problem.split()
    return (int(parts[1].rstrip(":")) if parts[0] == "line" else 10 ** 6, problem)


def on_raspberry_pi(paths: Paths) -> bool:
    try:
        return paths.board_model.read_bytes().startswith(b"Raspberry Pi")
    except OSError:
        return False


def write_atomically(path: Path, content: bytes, mode: int = 0o644, group: str | None = None) -> bool:
    """Replace ``path`` by rename (a power cut leaves the old or the new file, never half).

    Returns False, writing nothing, when the file already holds exactly ``content``.
    """
    try:
        if path.read_bytes() == content and (path.stat().st_mode & 0o777) == mode:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, mode)
    if group:
        try:
            os.chown(temporary, -1, grp.getgrnam(group).gr_gid)
        except KeyError:
            pass  # not on the image (no such group): the file stays the caller's own
    os.replace(temporary, path)
    _fsync_dir(path.parent)
    return True


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # FAT directories cannot be fsynced on every kernel; the rename is done anyway
    finally:
        os.close(descriptor)


def _link_atomically(link: Path, target: str) -> bool:
    if link.is_symlink() and os.readlink(link) == target:
        return False
    temporary = link.with_name(f".{link.name}.new")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, link)
    return True


def load_previous(paths: Paths) -> dict[str, Any]:
    try:
        return json.loads((paths.etc / STATE_FILE).read_text(encoding="utf-8"))["values"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def apply(paths: Paths) -> Outcome:
    """Apply edgebox.txt if every line is good; otherwise keep everything as it was."""
    source = paths.boot / PROVISION_FILE
    try:
        content = source.read_bytes()
    except FileNotFoundError:
        return Outcome("missing", notes=[Text(
            "provision.missing", "no {file} on the boot partition: the previous settings stay",
            file=PROVISION_FILE)])
    except OSError as exc:
        return Outcome("rejected", [Text("provision.unreadable", "cannot read {file}: {error}",
                                         file=PROVISION_FILE, error=exc.strerror)])
    decoded = textfile.decode(content)
    previous = load_previous(paths)
    try:
        values = check_values(decoded.text, previous, Context(paths.zoneinfo))
        values["PANEL_PASSWORD"] = panel_password_hash(values["PANEL_PASSWORD"],
                                                       paths.etc / CONFIG_FILE)
        config_text, _config = generate(values, on_raspberry_pi(paths), PROVISION_FILE)
    except ProvisionError as exc:
        return Outcome("rejected", exc.problems)
    except ConfigError as exc:
        return Outcome("rejected", [config_problem(exc)])
    raw = values.pop("_raw")
    changed = _install(paths, values, raw, config_text)
    outcome = Outcome("applied" if changed else "unchanged")
    outcome.notes += [unused_note(name) for name in unused_fields(values)]
    masked = textfile.mask_secrets(decoded.text)
    if masked != decoded.text:
        write_atomically(source, textfile.encode(decoded, masked))
        outcome.notes.append(Text("provision.masked_now", "secrets in {file} were replaced by "
                                  "{mask}", file=PROVISION_FILE, mask=MASK))
    return outcome


def config_problem(exc: ConfigError) -> Text:
    """A config the daemon would refuse, named by the edgebox.txt key behind it."""
    return problem(field_of_config_key(exc.key) or exc.key, exc.problem)


def panel_password_hash(password: str, current_config: Path | None = None) -> str:
    """The config holds the web panel password's scrypt hash, never the password. The hash has a
    random salt, so the one already in the config is kept while it still matches: an unchanged
    edgebox.txt leaves the config unchanged."""
    from edgebox.config_file import KEYS
    if not password or "web.password_hash" not in KEYS:
        return password
    from edgebox.web.passwords import hash_password, password_matches
    stored = ""
    if current_config is not None:
        try:
            current = tomllib.loads(current_config.read_text(encoding="utf-8"))
            stored = current.get("web", {}).get("password_hash", "")
        except (OSError, tomllib.TOMLDecodeError):
            stored = ""
    return stored if stored and password_matches(password, stored) else hash_password(password)


def _install(paths: Paths, values: dict[str, Any], raw: dict[str, str], config_text: str) -> bool:
    """Write the config, SSH key, time zone and the state; True if anything changed."""
    changed = write_atomically(paths.etc / CONFIG_FILE, config_text.encode("utf-8"), 0o640,
                               DAEMON_GROUP)
    keys = paths.etc / AUTHORIZED_KEYS
    if values["SSH_KEY"]:
        changed |= write_atomically(keys, (values["SSH_KEY"] + "\n").encode("ascii"), 0o600)
    elif keys.exists():
        keys.unlink()
        changed = True
    changed |= _link_atomically(paths.etc / LOCALTIME, str(paths.zoneinfo / values["TIMEZONE"]))
    flag = paths.etc / UPLOAD_FLAG  # the upload timer's condition: a platform is configured
    if values.get("UPLOAD_URL") and not unused_fields({"UPLOAD_URL": values["UPLOAD_URL"]}):
        changed |= write_atomically(flag, b"")
    elif flag.exists():
        flag.unlink()
        changed = True
    changed |= _install_ppp(paths, values["APN"])
    changed |= set_siren_boot_state(paths.boot / CONFIG_TXT, values["SIREN_PIN"],
                                    values["SIREN_ACTIVE"])
    state = {"values": raw}
    write_atomically(paths.etc / STATE_FILE, json.dumps(state, ensure_ascii=False,
                                                        sort_keys=True).encode("utf-8"), 0o600)
    return changed


def siren_boot_lines(pin: int, active_high: bool) -> list[str]:
    """config.txt lines that make the Pi's firmware drive the siren pin to "off" at power-on.

    Linux sets the pin only when the daemon starts; until then (firmware, kernel, a minute of
    boot) a floating input can let a relay board click or even sound the siren. ``[all]`` first,
    so the line holds for every board whatever section the file ends in.
    """
    return ["[all]", SIREN_BOOT_COMMENT, f"gpio={pin}=op,{'dl' if active_high else 'dh'}"]


def with_siren_boot_lines(text: str, pin: int, active_high: bool) -> str:
    """``text`` (a config.txt) with edgebox's siren lines replaced, or added at the end."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    kept: list[str] = []
    skip_gpio = False
    for line in lines:
        if line.strip() == SIREN_BOOT_COMMENT:
            if kept and kept[-1].strip() == "[all]":
                kept.pop()
            skip_gpio = True
            continue
        if skip_gpio and _SIREN_BOOT_LINE.fullmatch(line.strip()):
            skip_gpio = False
            continue
        skip_gpio = False
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return newline.join(kept + [""] + siren_boot_lines(pin, active_high)) + newline


def set_siren_boot_state(config_txt: Path, pin: int, active_high: bool) -> bool:
    """Keep config.txt's siren line in step with edgebox.txt; True if the file changed. A boot
    partition without config.txt (not a Raspberry Pi's) is left alone."""
    try:
        raw = config_txt.read_bytes()
    except FileNotFoundError:
        return False
    text = raw.decode("utf-8", errors="surrogateescape")
    updated = with_siren_boot_lines(text, pin, active_high)
    return write_atomically(config_txt, updated.encode("utf-8", errors="surrogateescape"))


def ppp_files(apn: str, etc: Path) -> dict[str, str]:
    """pppd's options and dial script for mobile data on the modem's data port.

    The data port is a second interface of USB modems (SIM7600, EC25): PPP there leaves the AT
    port, and so calls and SMS, to the daemon. pppd keeps the link up (``persist``); its default
    route has a higher metric than the LAN's DHCP one (1024), so a LAN cable, when connected, is
    used first.
    """
    chat = etc / PPP_CHAT
    peer = "\n".join([
        "# Generated from edgebox.txt (APN) at every boot; edgebox-ppp.service runs",
        "# `pppd file` on it when the modem has a data port.",
        DATA_PORT,
        "115200",
        f'connect "/usr/sbin/chat -v -f {chat}"',
        "noauth",
        "noipdefault",
        "defaultroute",
        "defaultroute-metric 2048",
        "usepeerdns",
        f"ip-up-script {PPP_UP}",
        "persist",
        "maxfail 0",
        "holdoff 30",
        "lcp-echo-interval 30",
        "lcp-echo-failure 4",
        "",
    ])
    script = "\n".join([
        "# Generated from edgebox.txt (APN): the modem's data call.",
        "ABORT BUSY",
        "ABORT 'NO CARRIER'",
        "ABORT ERROR",
        "TIMEOUT 30",
        "'' AT",
        f"OK 'AT+CGDCONT=1,\"IP\",\"{apn}\"'",
        "OK ATD*99#",
        "CONNECT ''",
        "",
    ])
    return {PPP_PEER: peer, PPP_CHAT: script}


def _install_ppp(paths: Paths, apn: str) -> bool:
    """Write the PPP peer for ``apn``, or remove it when there is none (no mobile data)."""
    if apn:
        changed = False
        for name, content in ppp_files(apn, paths.etc).items():
            changed |= write_atomically(paths.etc / name, content.encode("ascii"), 0o644)
        return changed
    changed = False
    for name in (PPP_PEER, PPP_CHAT):
        if (paths.etc / name).exists():
            (paths.etc / name).unlink()
            changed = True
    return changed


def show_on_led(leds: Path, outcomes: list[tuple[str, "Outcome"]]) -> str | None:
    """A rejected edgebox.txt or roster.csv makes the green activity LED (a Pi 400's power LED)
    blink fast, 5 times a second, until a good file is applied at a later boot: a technician
    sees it without a screen.
    Returns the LED used, or None (none found, or nothing rejected: the LED keeps its usual
    heartbeat, which the next boot restores anyway)."""
    if all(outcome.ok for _, outcome in outcomes):
        return None
    for name in STATUS_LEDS:
        led = leds / name
        try:
            (led / "trigger").write_text("timer")
            (led / "delay_on").write_text("100")
            (led / "delay_off").write_text("100")
        except OSError:
            continue
        return name
    log.warning("no activity LED under %s to show the rejected settings on", leds)
    return None


def import_roster(paths: Paths, now: datetime | None = None) -> Outcome | None:
    """Import roster.csv from the card with `edgebox roster import`'s checks; None if absent."""
    sheet = paths.boot / ROSTER_FILE
    if not sheet.exists():
        return None
    from edgebox.config_file import load_config
    from edgebox.roster_io.sheet_import import import_sheet_if_changed
    from edgebox.store import SqliteStore
    from edgebox.store.ownership import give_to_directory_owner
    try:
        config = load_config(paths.etc / CONFIG_FILE)
        store = SqliteStore(config.box_database)
        # Only a new or changed sheet: leaders' and the office's edits since survive reboots.
        roster = import_sheet_if_changed(store, sheet, config.box_region,
                                         now or datetime.now(timezone.utc), source=ROSTER_FILE)
        if roster is None:
            return Outcome("unchanged")
        give_to_directory_owner(Path(config.box_database))
    except EdgeboxError as exc:
        problems = getattr(exc, "problems", None) or [message(exc)]
        return Outcome("rejected", [problem(ROSTER_FILE, p) for p in problems])
    return Outcome("applied", notes=[Text(
        "provision.roster_imported", "{file}: {households} households in {groups} groups "
        "imported", file=ROSTER_FILE, households=len(roster.households),
        groups=len(roster.groups))])


def write_status(paths: Paths, outcomes: list[tuple[str, Outcome]], now: datetime) -> None:
    # With a BOM, Notepad on older Windows shows the Chinese words instead of mojibake.
    content = codecs.BOM_UTF8 + status_report(outcomes, now).encode("utf-8")
    try:
        write_atomically(paths.boot / STATUS_FILE, content)
    except OSError as exc:
        log.warning("cannot write %s on the boot partition: %s", STATUS_FILE, exc)

