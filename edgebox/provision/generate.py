"""Checked edgebox.txt values -> the TOML config the daemon reads (/etc/edgebox/edgebox.toml).

The image's fixed choices (database on the data partition, clock from the modem, the siren's
GPIO backend on a real Pi) are added here; everything else is the config's own default. The
result is parsed back with the daemon's own parser, so a file that applies is a config that
starts.
"""
from __future__ import annotations

import json
from typing import Any

from edgebox.config import MODEM_KEYS, Config
from edgebox.config_file import KEYS, parse_config
from edgebox.provision.fields import FIELDS

DATABASE = "/var/lib/edgebox/edgebox.db"
MODEM_NAME = "main"
WEB_LISTEN = "0.0.0.0:80"


def unused_fields(values: dict[str, Any]) -> list[str]:
    """Names of fields that were set but whose feature this edgebox version does not have."""
    return [f.name for f in FIELDS
            if f.target and values.get(f.name) not in (None, "", [])
            and not _known(f.target)]


def _known(target: str) -> bool:
    if target.startswith("modems."):
        return target.split(".", 1)[1] in MODEM_KEYS
    return target in KEYS


def config_tables(values: dict[str, Any], on_raspberry_pi: bool) -> dict[str, Any]:
    """The config as nested tables: sections of scalars, and ``modems`` as a list of tables."""
    tables: dict[str, Any] = {
        "box": {"database": DATABASE},
        # No RTC on a Pi: the network time from the modem sets the clock when it is sane.
        "clock": {"set_system": True},
        "siren": {"backend": "rpi" if on_raspberry_pi else "simulated"},
    }
    modem: dict[str, Any] = {"name": MODEM_NAME}
    for field in FIELDS:
        if not field.target or not _known(field.target) or field.name not in values:
            continue
        value = values[field.name]
        section, name = field.target.split(".", 1)
        if section == "modems":
            modem[name] = value
        else:
            tables.setdefault(section, {})[name] = value
    if "uplink" in tables and not tables["uplink"].get("url"):
        del tables["uplink"]  # no platform: the uplink's other keys keep their defaults
    if tables.get("web", {}).get("password_hash"):
        # A password turns the office's web page on, on the LAN's usual port.
        tables["web"]["listen"] = WEB_LISTEN
    else:
        tables.pop("web", None)
    tables["modems"] = [modem]
    return tables


def render_toml(tables: dict[str, Any], source: str) -> str:
    # No time stamp: the same edgebox.txt gives the same bytes, so an ordinary boot rewrites
    # nothing (when it was applied is in the status file beside edgebox.txt).
    lines = [f"# Generated from {source}.",
             "# Edit edgebox.txt on the SD card's boot partition, not this file: it is rewritten",
             "# at every boot.", ""]
    for section, table in tables.items():
        if section == "modems":
            continue
        lines.append(f"[{section}]")
        lines.extend(f"{name} = {_toml_value(value)}" for name, value in table.items())
        lines.append("")
    for modem in tables["modems"]:
        lines.append("[[modems]]")
        lines.extend(f"{name} = {_toml_value(value)}" for name, value in modem.items())
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string is a valid TOML basic string (same escapes); Chinese stays readable.
    return json.dumps(str(value), ensure_ascii=False)


def field_of_config_key(key: str) -> str | None:
    """The edgebox.txt key behind a config key named in a ConfigError (for its line number)."""
    plain = key.replace("modems[1].", "modems.")
    return next((f.name for f in FIELDS if f.target == plain), None)


def generate(values: dict[str, Any], on_raspberry_pi: bool, source: str
             ) -> tuple[str, Config]:
    """The TOML text and the Config it parses to; ConfigError if the daemon would refuse it."""
    text = render_toml(config_tables(values, on_raspberry_pi), source)
    return text, parse_config(text, source)

