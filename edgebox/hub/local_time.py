"""The county's clock: the hub stores UTC and shows every time in the county's time zone
(``edgebox hub serve --time-zone``, Asia/Shanghai unless told), as a village officer reads it."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edgebox.hub.errors import RegistryError
from edgebox.i18n import N_, table, word

DEFAULT_TIME_ZONE = "Asia/Shanghai"
# What a page calls the county's zone: in English its IANA name, in Chinese the clock's name
# (China keeps one clock, 北京时间, in every province), from the catalogue ("zone.<IANA name>").
ZONE_WORDS = table(
    "zone.",
    N_("zone.Asia/Shanghai", "Asia/Shanghai"),
    N_("zone.Asia/Chongqing", "Asia/Chongqing"),
    N_("zone.Asia/Urumqi", "Asia/Urumqi"),
)


def zone_words(name: str, lang: str = "zh") -> str:
    """'Asia/Shanghai' → '北京' for the Chinese page's '时间为北京时间'; other zones, and every
    zone in English, by their name."""
    return word(lang, f"zone.{name}", name) if name in ZONE_WORDS else name


def county_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RegistryError(f"unknown time zone {name!r} (an IANA name such as"
                            f" {DEFAULT_TIME_ZONE})") from exc


def local_time(text: str | None, zone: ZoneInfo) -> str:
    """'2026-05-01T02:03:04.000+00:00' → '2026-05-01 10:03:04' in ``zone``; '' for none."""
    if not text:
        return ""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # every stored time is UTC; an old naive one is too
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
