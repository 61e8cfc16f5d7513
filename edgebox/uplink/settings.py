"""The uplink's settings, read from the box's config (section ``[uplink]``, plus ``box.id``).

Checks that need more than one key live here: a token is required once a URL is set, the box
id must be fit for an HTTP header, and no link command may name a modem's AT port.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from edgebox.config import Key, between
from edgebox.errors import ConfigError
from edgebox.i18n import Text

BOX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class UplinkSettings:
    url: str
    box_id: str
    token: str = field(repr=False)
    ca_file: str = ""
    interval_minutes: float = 15
    batch_events: int = 500
    timeout_seconds: float = 30
    retry_seconds: float = 30
    max_backoff_minutes: float = 60
    link_check: str = ""
    link_up: str = ""
    link_down: str = ""
    link_up_seconds: float = 60
    prune_kinds: tuple[str, ...] = ()
    prune_after_days: float = 7
    keep_days: float = 365
    disk_warn_percent: float = 85
    summary_after_hours: float = 24
    summary_hour: int = 20


def check_url(value: str) -> str | None:
    if value == "" or re.match(r"^https?://[^/\s]+(/\S*)?$", value):
        return None
    return Text("config.uplink_url", "must be an http:// or https:// URL of the county hub, "
                "or empty for no uplink")


# The uplink to the county hub: an empty url means no uploader.
UPLINK_KEYS: dict[str, Key] = {
    "uplink.url": Key(str, "", check_url),
    "uplink.token": Key(str, ""),
    "uplink.ca_file": Key(str, ""),
    "uplink.interval_minutes": Key((int, float), 15, between(0.01, 24 * 60)),
    "uplink.batch_events": Key(int, 500, between(1, 10000)),
    "uplink.timeout_seconds": Key((int, float), 30, between(1, 600)),
    "uplink.retry_seconds": Key((int, float), 30, between(0.01, 3600)),
    "uplink.max_backoff_minutes": Key((int, float), 60, between(0.01, 24 * 60)),
    "uplink.link_check": Key(str, ""),
    "uplink.link_up": Key(str, ""),
    "uplink.link_down": Key(str, ""),
    "uplink.link_up_seconds": Key((int, float), 60, between(1, 600)),
    "uplink.prune_kinds": Key(list, ["modem_health", "modem_balance", "sms_received",
                                     "delivery_retry", "delivery_report_unmatched"]),
    "uplink.prune_after_days": Key((int, float), 7, between(0, 3650)),
    "uplink.keep_days": Key((int, float), 365, between(1, 36500)),
    "uplink.disk_warn_percent": Key((int, float), 85, between(10, 99)),
    "uplink.summary_after_hours": Key((int, float), 24, between(1, 24 * 30)),
    "uplink.summary_hour": Key(int, 20, between(0, 23)),
    # The hub's modem number: a signed daily summary and each township escalation go there
    # by SMS (uplink/sms_uplink.py), with or without a url.
    "uplink.sms_to": Key(str, "", lambda v: None if v == "" or re.match(
        r"^\+[1-9][0-9]{6,14}$", v) else Text(
            "config.uplink_sms_to", "must be the hub's modem number, e.g. +8613800138000")),
}


def uplink_settings(config) -> UplinkSettings | None:
    """The settings when ``uplink.url`` is set, else None (no uploader)."""
    url = config.get("uplink.url")
    if not url:
        return None
    if not config.get("uplink.token"):
        raise ConfigError("uplink.token", Text("config.token_for_url",
                                               "is required when uplink.url is set"))
    check_box_id(config)
    for key in ("uplink.link_check", "uplink.link_up", "uplink.link_down"):
        command = config.get(key)
        for modem in config.modems:
            if command and modem.port in command.split():
                raise ConfigError(key, Text(
                    "config.link_at_port", "names modem '{modem}''s AT port {port}; a link "
                    "must use the modem's data port", modem=modem.name, port=modem.port))
    kinds = config.get("uplink.prune_kinds")
    if not all(isinstance(k, str) for k in kinds):
        raise ConfigError("uplink.prune_kinds", Text(
            "config.prune_kinds", "must be a list of event kinds in quotes"))
    names = {name: config.get(f"uplink.{name}") for name in (
        "ca_file", "interval_minutes", "batch_events", "timeout_seconds", "retry_seconds",
        "max_backoff_minutes", "link_check", "link_up", "link_down", "link_up_seconds",
        "prune_after_days", "keep_days", "disk_warn_percent", "summary_after_hours",
        "summary_hour")}
    return UplinkSettings(url=url, box_id=config.box_id, token=config.get("uplink.token"),
                          prune_kinds=tuple(kinds), **names)


def sms_uplink_settings(config) -> dict | None:
    """``{"sms_to", "token"}`` when ``uplink.sms_to`` is set, else None (no SMS uplink)."""
    number = config.get("uplink.sms_to")
    if not number:
        return None
    if not config.get("uplink.token"):
        raise ConfigError("uplink.token", Text("config.token_for_sms", "is required when "
                                               "uplink.sms_to is set (it signs the reports)"))
    check_box_id(config)
    return {"sms_to": number, "token": config.get("uplink.token")}


def check_box_id(config) -> None:
    """The box id goes into an HTTP header and the signed SMS reports: ASCII only."""
    if not BOX_ID.match(config.box_id):
        raise ConfigError("box.id", Text("config.box_id_ascii", "must be 1-64 ASCII letters, "
                                         "digits, '.', '_' or '-' to be used with the uplink"))
