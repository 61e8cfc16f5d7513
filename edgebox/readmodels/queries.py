"""What the web pages and ``edgebox incidents`` read from the store, each in one short read.

Reads go through ``store.transaction()`` (the store's one connection and lock), like every
other reader in the daemon process, so a page never sees half of an alarm.
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta, timezone

from edgebox.store.times import parse_utc, utc_iso


def _rows(store, sql: str, args: tuple = ()) -> list[dict]:
    with store.transaction() as conn:
        cursor = conn.execute(sql, args)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _events(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["data"] = json.loads(row["data"])
    return rows


def local_day_start(now: datetime) -> datetime:
    """Midnight of today in the box's own time zone, as UTC."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def events_since(store, since: datetime, limit: int = 200) -> list[dict]:
    """Newest first."""
    return _events(_rows(store, "SELECT * FROM events WHERE at >= ? ORDER BY seq DESC LIMIT ?",
                         (utc_iso(since), limit)))


def last_seq(store) -> int:
    return _rows(store, "SELECT coalesce(max(seq), 0) AS seq FROM events")[0]["seq"]


def open_incidents(store) -> list[dict]:
    rows = _rows(store, "SELECT * FROM incidents WHERE state = 'open' ORDER BY id DESC")
    for row in rows:
        counts = _rows(store, "SELECT kind, state, count(*) AS n FROM deliveries WHERE"
                              " incident_id = ? GROUP BY kind, state", (row["id"],))
        row["sms_sent"] = sum(c["n"] for c in counts if c["kind"] == "sms" and c["state"] == "sent")
        row["calls"] = sum(c["n"] for c in counts if c["kind"] == "call" and c["state"] == "sent")
        row["pending"] = sum(c["n"] for c in counts if c["state"] in ("pending", "sending"))
        row["acks"] = _rows(store, "SELECT count(*) AS n FROM acks WHERE incident_id = ?",
                            (row["id"],))[0]["n"]
    return rows


def recent_incidents(store, limit: int = 20) -> list[dict]:
    return _rows(store, "SELECT * FROM incidents ORDER BY id DESC LIMIT ?", (limit,))


def incident(store, incident_id: int) -> dict | None:
    rows = _rows(store, "SELECT * FROM incidents WHERE id = ?", (incident_id,))
    if not rows:
        return None
    found = rows[0]
    found["deliveries"] = _rows(store, "SELECT * FROM deliveries WHERE incident_id = ?"
                                       " ORDER BY id", (incident_id,))
    found["acks"] = _rows(store, "SELECT * FROM acks WHERE incident_id = ? ORDER BY id",
                          (incident_id,))
    found["events"] = _events(_rows(store, "SELECT * FROM events WHERE incident_id = ?"
                                           " ORDER BY seq", (incident_id,)))
    return found


def health_since(store, since: datetime) -> list[dict]:
    return _rows(store, "SELECT * FROM modem_health WHERE at >= ? ORDER BY id",
                 (utc_iso(since),))


def broadcasts(store, limit: int = 10) -> list[dict]:
    """The newest broadcasts with how many of their messages are sent, failed, waiting."""
    rows = _rows(store, "SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,))
    for row in rows:
        states = {r["state"]: r["n"] for r in _rows(
            store, "SELECT state, count(*) AS n FROM deliveries WHERE broadcast_id = ?"
                   " GROUP BY state", (row["id"],))}
        row["sent"] = states.get("sent", 0)
        row["failed"] = states.get("failed", 0) + states.get("cancelled", 0)
        row["waiting"] = states.get("pending", 0) + states.get("sending", 0)
    return rows


def disk(path: str) -> dict | None:
    """Space on the file system holding the database (None for an in-memory one)."""
    if path == ":memory:":
        return None
    usage = shutil.disk_usage(os.path.dirname(os.path.abspath(path)))
    return {"total": usage.total, "used": usage.used, "free": usage.free,
            "percent": round(100 * usage.used / usage.total) if usage.total else 0}


def days_ago(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


def when(text: str | None) -> str:
    """A stored UTC time as the box's local HH:MM:SS (today) or MM-DD HH:MM."""
    if not text:
        return ""
    moment = parse_utc(text).astimezone()
    today = datetime.now().astimezone().date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%m-%d %H:%M")
