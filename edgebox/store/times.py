"""Timestamps as the database stores them: ISO 8601 in UTC with milliseconds, so that text
order is time order (the event log and the outbox compare them as strings)."""
from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """The wall clock in UTC: what every stored timestamp is taken from."""
    return datetime.now(timezone.utc)


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text)
