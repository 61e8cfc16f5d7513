"""The daemon's configuration: one TOML file, every key checked before anything starts.

A wrong config stops the daemon with one message naming the key and the problem (a ConfigError),
never a traceback. Keys are declared once in ``KEYS`` (type, default, check); the example config
in ``config/edgebox.example.toml`` documents each of them, and a test keeps the two in step.
"""
from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from edgebox.domain.messages import LANGUAGES
from edgebox.domain.phones import PhoneNumberError, normalise
from edgebox.errors import ConfigError

REQUIRED = object()
SECRET_KEYS = {"pin"}  # the last part of a key: modems[1].pin


def _secret(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in SECRET_KEYS


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    default: Any
    check: Callable[[Any], str | None] = lambda value: None  # returns the problem, or None


def _one_of(*choices: object) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(map(str, choices))}"


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def _pin(value: str) -> str | None:
    return None if value == "" or (value.isdigit() and 4 <= len(value) <= 8) else \
        "must be 4-8 digits, or empty when the SIM has no PIN"


def _region(value: str) -> str | None:
    return None if len(value) == 2 and value.isalpha() and value.isupper() else \
        "must be a two-letter country code such as CN"


KEYS: dict[str, Key] = {
    "box.id": Key(str, "edgebox", lambda v: None if v.strip() else "must not be empty"),
    "box.language": Key(str, "zh", _one_of(*LANGUAGES)),
    "box.region": Key(str, "CN", _region),
    "box.database": Key(str, "/var/lib/edgebox/edgebox.db"),
    "box.roster_csv": Key(str, ""),
    "modem.command_timeout": Key((int, float), 10, _between(1, 120)),
    "modem.sms_timeout": Key((int, float), 60, _between(5, 180)),
    "modem.max_attempts": Key(int, 3, _between(1, 20)),
    "modem.retry_seconds": Key((int, float), 5, _between(0, 600)),
    "modem.delivery_reports": Key(bool, True),
    "modem.health_minutes": Key((int, float), 15, _between(0.01, 24 * 60)),
    "modem.balance_ussd": Key(str, ""),
    "modem.low_balance": Key((int, float), 5, _between(0, 10000)),
    "modem.out_of_service_after": Key(int, 5, _between(1, 100)),
    "modem.out_of_service_minutes": Key((int, float), 10, _between(0.01, 24 * 60)),
    "clock.set_system": Key(bool, False),
    "clock.set_command": Key(str, "date -u -s @{epoch}"),
    "clock.max_adjust_hours": Key((int, float), 0, _between(0, 24 * 365 * 30)),
    "alarm.ring_members": Key(bool, True),
    "alarm.ring_seconds": Key((int, float), 25, _between(5, 120)),
    "alarm.open_minutes": Key((int, float), 30, _between(1, 24 * 60)),
    "alarm.forward_unknown_callers": Key(bool, True),
    "numbers.office": Key(list, []),
    "numbers.township": Key(list, []),
    "siren.backend": Key(str, "simulated", _one_of("simulated", "rpi")),
    "siren.pin": Key(int, 17, _between(2, 27)),
    "siren.active_high": Key(bool, True),
    "siren.on_seconds": Key((int, float), 60, _between(0, 600)),
    "log.level": Key(str, "info", _one_of("debug", "info", "warning", "error")),
}


# One [[modems]] table per modem; the box needs at least one.
MODEM_KEYS: dict[str, Key] = {
    "name": Key(str, "", lambda v: None if v.strip() else "must not be empty"),
    "port": Key(str, REQUIRED, lambda v: None if v.strip() else "must name a device"),
    "baudrate": Key(int, 115200, _one_of(9600, 19200, 38400, 57600, 115200, 230400, 460800,
                                         921600)),
    "flow_control": Key(str, "none", _one_of("none", "rtscts", "dsrdtr")),
    "pin": Key(str, "", _pin),
    "voice": Key(bool, True),
    "power_cycle": Key(str, ""),
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

    def __repr__(self) -> str:  # the PIN stays out of logs and tracebacks
        return f"ModemSettings(name={self.name!r}, port={self.port!r})"


class Config:
    """Validated settings, read as ``config.get('modem.port')`` or ``config.modem_port``."""

    def __init__(self, values: dict[str, Any], source: str,
                 modems: tuple[ModemSettings, ...] = ()):
        self._values = values
        self.source = source
        self.modems = modems

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
        return Config(values, self.source, self.modems)


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _type_name(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    names = {int: "a whole number", float: "a number", str: "text in quotes", bool: "true or false",
             list: "a list like [\"...\"]"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check_numbers(key: str, values: list, region: str) -> list[str]:
    out = []
    for value in values:
        if not isinstance(value, str):
            raise ConfigError(key, f"{value!r} must be a phone number in quotes")
        try:
            out.append(normalise(value, region))
        except PhoneNumberError as exc:
            raise ConfigError(key, str(exc)) from exc
    return out


def _checked(key: str, spec: Key, table: dict, name: str) -> Any:
    """The value of ``name`` in ``table`` (or its default), checked against ``spec``."""
    if name not in table:
        if spec.default is REQUIRED:
            raise ConfigError(key, "is required")
        return spec.default
    value = table[name]
    # bool is an int in Python; a 'true' where a number belongs is still a mistake.
    if not isinstance(value, spec.type) or (isinstance(value, bool) and spec.type is not bool):
        shown = "" if _secret(key) else f", not {value!r}"
        raise ConfigError(key, f"must be {_type_name(spec.type)}{shown}")
    problem = spec.check(value)
    if problem:
        raise ConfigError(key, problem + ("" if _secret(key) else f" (got {value!r})"))
    return value


def _parse_modems(raw: object) -> tuple[ModemSettings, ...]:
    if raw is None:
        raise ConfigError("modems", "is required: add a [[modems]] table with the modem's port")
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        raise ConfigError("modems", "must be one or more [[modems]] tables")
    modems = []
    for number, table in enumerate(raw, start=1):
        prefix = f"modems[{number}]"
        for name in table:
            if name not in MODEM_KEYS:
                close = difflib.get_close_matches(name, MODEM_KEYS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(f"{prefix}.{name}", f"unknown key{hint}")
        values = {name: _checked(f"{prefix}.{name}", spec, table, name)
                  for name, spec in MODEM_KEYS.items()}
        values["name"] = values["name"] or f"modem{number}"
        modems.append(ModemSettings(**values))
    names = [m.name for m in modems]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("modems", f"two modems are called '{name}'")
    return tuple(modems)


def parse_config(text: str, source: str = "<config>") -> Config:
    try:
        raw = tomllib.loads(text.lstrip("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"{source} is not valid TOML: {exc}") from exc
    modems_raw = raw.pop("modems", None)
    flat = _flatten(raw)
    for key in flat:
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS) + ["modems"], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(key, f"unknown key{hint}")
    values = {key: _checked(key, spec, flat, key) for key, spec in KEYS.items()}
    for key in ("numbers.office", "numbers.township"):
        values[key] = _check_numbers(key, values[key], values["box.region"])
    return Config(values, source, _parse_modems(modems_raw))


def load_config(path: str | Path) -> Config:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("(file)", f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("(file)", f"cannot read {path}: {exc}") from exc
    return parse_config(text, str(path))
