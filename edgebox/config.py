"""The daemon's configuration: one TOML file, every key checked before anything starts.

A wrong config stops the daemon with one message naming the key and the problem (a ConfigError),
never a traceback. Each key is declared once (type, default, check): the box's own sections in
``CORE_KEYS`` here, the office panel's, the web panel's and the uplink's beside the code that
reads them (their owners know what a pin, a listen address or a hub URL must look like).
edgebox.config_file joins them into the whole file's ``KEYS``, ``parse_config`` and
``load_config``; this module imports none of the owners. The example config in
``config/edgebox.example.toml`` documents every key, and a test keeps the two in step.
"""
from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from edgebox.domain.messages import LANGUAGES
from edgebox.domain.phones import PhoneNumberError, normalise
from edgebox.errors import FILE, ConfigError
from edgebox.i18n import Either, Text, Typed, language, message

REQUIRED = object()
SECRET_KEYS = {"pin", "token", "leader_pin", "live_pin", "password_hash"}  # the last part of a key: modems[1].pin, uplink.token


def _secret(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in SECRET_KEYS


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    default: Any
    # Returns the problem, or None. A problem is a Text (edgebox.i18n): the technician reads
    # it in the box's language.
    check: Callable[[Any], Text | None] = lambda value: None


def one_of(*choices: object) -> Callable[[Any], Text | None]:
    return lambda v: None if v in choices else Text(
        "config.one_of", "must be one of {choices}", choices=Typed(map(str, choices)))


def between(low: float, high: float) -> Callable[[Any], Text | None]:
    return lambda v: None if low <= v <= high else Text(
        "config.between", "must be between {low} and {high}", low=low, high=high)


def not_empty(value: str) -> Text | None:
    return None if value.strip() else Text("config.not_empty", "must not be empty")


def _pin(value: str) -> Text | None:
    return None if value == "" or (value.isdigit() and 4 <= len(value) <= 8) else \
        Text("config.sim_pin", "must be 4-8 digits, or empty when the SIM has no PIN")


def _region(value: str) -> Text | None:
    return None if len(value) == 2 and value.isalpha() and value.isupper() else \
        Text("config.region", "must be a two-letter country code such as CN")


def _leader_pin(value: str) -> Text | None:
    return None if value == "" or (value.isdigit() and 4 <= len(value) <= 8) else \
        Text("config.leader_pin", "must be 4-8 digits, or empty to turn SMS administration off")


CORE_KEYS: dict[str, Key] = {
    "box.id": Key(str, "edgebox", not_empty),
    "box.language": Key(str, "zh", one_of(*LANGUAGES)),
    "box.region": Key(str, "CN", _region),
    # The village's name, for the township's escalation SMS and the printed group sheet.
    "box.village": Key(str, ""),
    "box.database": Key(str, "/var/lib/edgebox/edgebox.db"),
    "box.roster_csv": Key(str, ""),
    "modem.command_timeout": Key((int, float), 10, between(1, 120)),
    "modem.sms_timeout": Key((int, float), 60, between(5, 180)),
    "modem.max_attempts": Key(int, 3, between(1, 20)),
    "modem.retry_seconds": Key((int, float), 5, between(0, 600)),
    "modem.delivery_reports": Key(bool, True),
    "modem.health_minutes": Key((int, float), 15, between(0.01, 24 * 60)),
    "modem.balance_ussd": Key(str, ""),
    "modem.low_balance": Key((int, float), 5, between(0, 10000)),
    "modem.out_of_service_after": Key(int, 5, between(1, 100)),
    "modem.out_of_service_minutes": Key((int, float), 10, between(0.01, 24 * 60)),
    "clock.set_system": Key(bool, False),
    "clock.set_command": Key(str, "date -u -s @{epoch}"),
    "clock.max_adjust_hours": Key((int, float), 0, between(0, 24 * 365 * 30)),
    "alarm.ring_members": Key(bool, True),
    "alarm.ring_seconds": Key((int, float), 25, between(5, 120)),
    # A full ring call (the alarm spoken when answered) or a flash (响一声: a short ring, no
    # words, for villages where a missed call from the box means "read your SMS").
    "alarm.ring_style": Key(str, "call", one_of("call", "flash")),
    "alarm.flash_seconds": Key((int, float), 8, between(3, 30)),
    "alarm.open_minutes": Key((int, float), 30, between(1, 24 * 60)),
    "alarm.forward_unknown_callers": Key(bool, True),
    "alarm.unknown_notices_per_hour": Key(int, 6, between(1, 100)),
    "alarm.ring_order": Key(str, "leader_first", one_of("leader_first", "helpers_first",
                                                          "sheet")),
    "alarm.merge_seconds": Key((int, float), 120, between(0, 3600)),
    "alarm.enrich_seconds": Key((int, float), 60, between(0, 3600)),
    "alarm.own_call_seconds": Key((int, float), 60, between(0, 3600)),
    "alarm.vulnerable_factor": Key((int, float), 0.5, between(0.05, 1)),
    "alarm.failure_summary": Key(bool, True),
    "broadcast.allowed": Key(list, []),
    "broadcast.max_per_hour": Key(int, 3, between(1, 100)),
    "admin.leader_pin": Key(str, "", _leader_pin),
    "admin.max_wrong": Key(int, 3, between(1, 20)),
    "admin.lockout_minutes": Key((int, float), 60, between(0.1, 24 * 60)),
    "admin.max_per_hour": Key(int, 10, between(1, 100)),
    "drill.report_minutes": Key((int, float), 10, between(0.01, 24 * 60)),
    "drill.schedule": Key(list, [], lambda v: _drill_schedule(v)),
    # Daily check-ins (domain/check_ins.py): households opt in by their 报平安时间.
    "check_in.ring_seconds": Key((int, float), 20, between(5, 60)),
    "check_in.retry_minutes": Key((int, float), 10, between(0.01, 240)),
    "check_in.retries": Key(int, 2, between(0, 5)),
    "check_in.window_minutes": Key((int, float), 120, between(1, 12 * 60)),
    "check_in.neighbours": Key(int, 2, between(0, 10)),
    "numbers.office": Key(list, []),
    "numbers.township": Key(list, []),
    "siren.backend": Key(str, "simulated", one_of("simulated", "rpi")),
    "siren.pin": Key(int, 17, between(2, 27)),
    "siren.active_high": Key(bool, True),
    "siren.on_seconds": Key((int, float), 60, between(0, 600)),
    "log.level": Key(str, "info", one_of("debug", "info", "warning", "error")),
}


def _drill_schedule(entries: list) -> Text | None:
    from edgebox.domain.drills import parse_slot  # the drills own their schedule's form
    for entry in entries:
        if not isinstance(entry, str):
            return Text("config.drill_not_text",
                        "{entry} must be text in quotes, like \"monthly 1 10:00\"",
                        entry=repr(entry))
        try:
            parse_slot(entry)
        except ValueError as exc:
            return message(exc)  # a Text: domain/drills.py says what is wrong
    return None


def _modem_port(value: str) -> Text | None:
    """A device path, or ``fake://<network>``: the in-process FakeModem of the tests."""
    if not value.strip():
        return Text("config.no_device", "must name a device")
    if value.startswith("fake:") and not re.fullmatch(r"fake://[A-Za-z0-9_.-]+", value):
        return Text("config.fake_port",
                    "a fake modem's port is fake://<network name> (letters, digits, . _ -)")
    return None


# One [[modems]] table per modem; the box needs at least one.
MODEM_KEYS: dict[str, Key] = {
    "name": Key(str, "", not_empty),
    "port": Key(str, REQUIRED, _modem_port),
    "baudrate": Key(int, 115200, one_of(9600, 19200, 38400, 57600, 115200, 230400, 460800,
                                         921600)),
    "flow_control": Key(str, "none", one_of("none", "rtscts", "dsrdtr")),
    "pin": Key(str, "", _pin),
    "voice": Key(bool, True),
    # The modem's voice serial port, 8 kHz 16-bit PCM during a call: a Huawei stick's second
    # interface (after AT^DDSETEX=2 the alarm sentence is streamed there and the caller's voice
    # comes back), a SIM7600's "Audio" interface (after AT+CPCMREG=1 the live loudspeaker reads
    # the caller there). "" for none.
    "audio_port": Key(str, ""),
    "power_cycle": Key(str, ""),
    # The SIM's own number (optional): a leader cannot add it to the roster as a household.
    "number": Key(str, ""),
}


@dataclass(frozen=True)
class ModemSettings:
    name: str
    port: str
    baudrate: int
    flow_control: str
    pin: str
    voice: bool
    power_cycle: str
    number: str = ""  # E.164, or "" when not configured
    audio_port: str = ""  # the modem's voice (PCM) serial port, or ""

    def __repr__(self) -> str:  # the PIN stays out of logs and tracebacks
        return f"ModemSettings(name={self.name!r}, port={self.port!r})"


class Config:
    """Validated settings, read as ``config.get('modem.port')`` or ``config.modem_port``."""

    def __init__(self, values: dict[str, Any], source: str,
                 modems: tuple[ModemSettings, ...] = (), escalation: tuple = (),
                 notices: tuple[str, ...] = ()):
        self._values = values
        self.source = source
        self.modems = modems
        self.escalation = escalation  # the ladder: edgebox.domain.escalation.Step, in order
        # What the file should change although the box runs with it (a key that moved): the
        # daemon logs each at start, the selftest shows them.
        self.notices = notices

    def get(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, name: str) -> Any:
        section, _, rest = name.partition("_")
        try:
            return self._values[f"{section}.{rest}"]
        except KeyError:
            raise AttributeError(name) from None

    def redacted(self) -> dict[str, Any]:
        """The settings as they may be printed or logged: secrets masked."""
        shown = {k: ("***" if _secret(k) and v else v) for k, v in self._values.items()}
        shown["modems"] = [{"name": m.name, "port": m.port, "pin": "***" if m.pin else ""}
                           for m in self.modems]
        return shown

    def with_overrides(self, **overrides: Any) -> "Config":
        values = dict(self._values)
        for name, value in overrides.items():
            values[name.replace("__", ".")] = value
        return Config(values, self.source, self.modems, self.escalation, self.notices)


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


TYPE_NAMES = {int: Text("config.type_int", "a whole number"),
              float: Text("config.type_float", "a number"),
              str: Text("config.type_str", "text in quotes"),
              bool: Text("config.type_bool", "true or false"),
              list: Text("config.type_list", "a list like [\"...\"]")}


def _type_name(expected: type | tuple[type, ...]) -> Either:
    types = expected if isinstance(expected, tuple) else (expected,)
    return Either(TYPE_NAMES.get(t, t.__name__) for t in types)


def unknown_key(key: str, name: str, known) -> ConfigError:
    """The key ``name`` (shown as ``key``) nobody declared, with the nearest declared one as a
    hint (a typo, most often)."""
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return ConfigError(key, Text("config.unknown_key_hint",
                                     "unknown key (did you mean '{hint}'?)", hint=close[0]))
    return ConfigError(key, Text("config.unknown_key", "unknown key"))


def check_numbers(key: str, values: list, region: str, allow: tuple[str, ...] = ()) -> list[str]:
    """Phone numbers of a config list in E.164, or a ConfigError naming the key; the words in
    ``allow`` (such as "office") stand as they are."""
    out = []
    for value in values:
        if value in allow:
            out.append(value)
            continue
        if not isinstance(value, str):
            raise ConfigError(key, Text("config.phone_not_text",
                                        "{value} must be a phone number in quotes",
                                        value=repr(value)))
        try:
            out.append(normalise(value, region))
        except PhoneNumberError as exc:
            raise ConfigError(key, message(exc)) from exc  # a Text (edgebox.domain.phones)
    return out


def _checked(key: str, spec: Key, table: dict, name: str) -> Any:
    """The value of ``name`` in ``table`` (or its default), checked against ``spec``."""
    if name not in table:
        if spec.default is REQUIRED:
            raise ConfigError(key, Text("config.required", "is required"))
        return spec.default
    value = table[name]
    # bool is an int in Python; a 'true' where a number belongs is still a mistake.
    if not isinstance(value, spec.type) or (isinstance(value, bool) and spec.type is not bool):
        if _secret(key):
            raise ConfigError(key, Text("config.must_be", "must be {type}",
                                        type=_type_name(spec.type)))
        raise ConfigError(key, Text("config.must_be_not", "must be {type}, not {value}",
                                    type=_type_name(spec.type), value=repr(value)))
    problem = spec.check(value)
    if problem:
        raise ConfigError(key, problem if _secret(key) else Text(
            "config.got", "{problem} (got {value})", problem=problem, value=repr(value)))
    return value


def _parse_modems(raw: object, region: str) -> tuple[ModemSettings, ...]:
    if raw is None:
        raise ConfigError("modems", Text("config.no_modems", "is required: add a [[modems]] "
                                         "table with the modem's port"))
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        raise ConfigError("modems", Text("config.modems_tables",
                                         "must be one or more [[modems]] tables"))
    modems = []
    for number, table in enumerate(raw, start=1):
        prefix = f"modems[{number}]"
        for name in table:
            if name not in MODEM_KEYS:
                raise unknown_key(f"{prefix}.{name}", name, MODEM_KEYS)
        values = {name: _checked(f"{prefix}.{name}", spec, table, name)
                  for name, spec in MODEM_KEYS.items()}
        values["name"] = values["name"] or f"modem{number}"
        if values["number"]:
            values["number"] = check_numbers(f"{prefix}.number", [values["number"]], region)[0]
        modems.append(ModemSettings(**values))
    names = [m.name for m in modems]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("modems", Text("config.modem_twice",
                                             "two modems are called '{name}'", name=name))
    return tuple(modems)


def _parse_ladder(raw: object) -> tuple:
    """[[escalation]] tables (after_minutes, actions), in rising order; the default ladder
    when there are none."""
    from edgebox.domain.escalation import ACTIONS, DEFAULT_LADDER, Step
    if raw is None:
        return DEFAULT_LADDER
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ConfigError("escalation", Text("config.escalation_tables",
                                             "must be [[escalation]] tables"))
    steps = []
    for number, table in enumerate(raw, start=1):
        key = f"escalation[{number}]"
        unknown = set(table) - {"after_minutes", "actions"}
        if unknown:
            raise ConfigError(f"{key}.{sorted(unknown)[0]}",
                              Text("config.unknown_key", "unknown key"))
        after = _checked(f"{key}.after_minutes", Key((int, float), REQUIRED,
                                                     between(0, 24 * 60)), table,
                         "after_minutes")
        actions = _checked(f"{key}.actions", Key(list, REQUIRED), table, "actions")
        bad = [a for a in actions if a not in ACTIONS]
        if bad:
            raise ConfigError(f"{key}.actions", Text(
                "config.actions_not", "must name some of {actions} (not {value})",
                actions=Typed(ACTIONS), value=repr(bad[0])))
        if not actions:
            raise ConfigError(f"{key}.actions", Text(
                "config.actions", "must name some of {actions}", actions=Typed(ACTIONS)))
        steps.append(Step(after, tuple(actions)))
    if [s.after_minutes for s in steps] != sorted(s.after_minutes for s in steps):
        raise ConfigError("escalation", Text("config.escalation_order",
                                             "steps must come in rising after_minutes"))
    return tuple(steps)


# Keys that moved into the [[modems]] tables, read for one more release. The box keeps
# working with the old key (a box on a wall that stopped after an upgrade would lose alarms
# until someone climbed up to it); the log and the selftest say what to change.
MOVED_TO_MODEMS = {"speaker.call_audio_port": "audio_port"}


def _moved_keys(flat: dict[str, Any], modems: tuple[ModemSettings, ...]
                ) -> tuple[tuple[ModemSettings, ...], list[str]]:
    """The modems with the old keys' values moved in (to the first voice modem, the one the
    old key served), and a notice for each."""
    notices = []
    for old, new in MOVED_TO_MODEMS.items():
        if old not in flat:
            continue
        value = flat.pop(old)
        if not isinstance(value, str):
            raise ConfigError(old, Text("config.moved_not_text", "must be text in quotes, not "
                                        "{value} (better: move it to {new} in the [[modems]] "
                                        "table)", value=repr(value), new=new))
        index = next((i for i, m in enumerate(modems) if m.voice), 0)
        modem = modems[index]
        have = getattr(modem, new)
        if have and have != value:
            raise ConfigError(old, Text("config.moved_twice", "moved to {new} in the "
                                        "[[modems]] table, where modem '{modem}' already says "
                                        "{have}: delete {old}", new=new, modem=modem.name,
                                        have=repr(have), old=old))
        modems = modems[:index] + (replace(modem, **{new: value}),) + modems[index + 1:]
        notices.append(Text("config.moved_to_modems", "`{old}` is read as `{new}` = \"{value}\""
                            " of modem {modem} for this release only: move it into that"
                            " `[[modems]]` table", old=old, new=new, value=value,
                            modem=modem.name))
    return modems, notices


def join_sections(*tables: dict[str, Key]) -> dict[str, Key]:
    """The keys of several sections as one table, in the order given; a key declared twice is
    a mistake in the code, not in the config."""
    joined: dict[str, Key] = {}
    for table in tables:
        twice = joined.keys() & table.keys()
        if twice:
            raise ValueError(f"config keys declared twice: {', '.join(sorted(twice))}")
        joined.update(table)
    return joined


def parse_sections(text: str, source: str, keys: dict[str, Key]) -> Config:
    """The config in ``text`` checked against ``keys`` (every section but [[modems]] and
    [[escalation]], which are this module's own)."""
    try:
        raw = tomllib.loads(text.lstrip("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(FILE, Text("config.not_toml", "{source} is not valid TOML: "
                                         "{error}", source=source, error=str(exc))) from exc
    modems_raw = raw.pop("modems", None)
    raw_ladder = raw.pop("escalation", None)
    flat = _flatten(raw)
    moved = {key: flat.pop(key) for key in MOVED_TO_MODEMS if key in flat}
    for key in flat:
        if key not in keys:
            raise unknown_key(key, key, list(keys) + ["modems"])
    values = {key: _checked(key, spec, flat, key) for key, spec in keys.items()}
    for key in ("numbers.office", "numbers.township", "broadcast.allowed"):
        values[key] = check_numbers(key, values[key], values["box.region"])

    modems, notices = _moved_keys(moved, _parse_modems(modems_raw, values["box.region"]))
    return Config(values, source, modems, _parse_ladder(raw_ladder), tuple(notices))


def read_config_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(FILE, Text("config.no_file", "{path} does not exist",
                                         path=str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(FILE, Text("config.unreadable", "cannot read {path}: {error}",
                                         path=str(path), error=str(exc))) from exc


def config_language(path: str | Path) -> str:
    """The language the box speaks by the config at ``path`` (``box.language``), for saying
    what is wrong with it: Chinese, the first, when the file cannot be read or does not say."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8").lstrip("\ufeff"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "zh"
    box = raw.get("box")
    return language(box.get("language") if isinstance(box, dict) else None)
