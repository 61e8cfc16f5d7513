"""The fallback when no upload gets through: a short daily SMS to the township.

When no upload has succeeded for ``uplink.summary_after_hours``, once a day from
``uplink.summary_hour`` (the box's local time) each township number gets one text: alarms and
failed sends in the last 24 hours, each modem's health, and how long the log has waited.
Pure functions of their arguments, plus one read of the store and ``queue_notice``, which puts
the uplink's texts (this summary, the disk warning) in the outbox.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from edgebox.domain import alarm
from edgebox.i18n import N_, table, word
from edgebox.store.times import utc_iso

TEMPLATES = table(
    "box_report.",
    N_("box_report.summary",
       "[Watch] {box} daily: {alarms} alarms, {failures} failed sends in 24 h;"
       " {health}; no upload for {days} d, {backlog} events waiting"),
    N_("box_report.modem_ok", "{modem} signal {signal}"),
    N_("box_report.modem_unregistered", "{modem} not registered"),
    N_("box_report.modem_unknown", "{modem} unknown"),
    N_("box_report.disk_low",
       "[Watch] Alarm box {box} storage at {percent}%, {free} MB left. Please check"),
)


def text(language: str, name: str, **values: object) -> str:
    return word(language, f"box_report.{name}", TEMPLATES[name]).format(**values)


def queue_notice(store, now: datetime, numbers: list[str], purpose: str, text: str) -> None:
    """One SMS of ``text`` to each of ``numbers``, at the priority of office notices."""
    if numbers:
        store.outbox.add(now, None, [
            alarm.PlannedDelivery(alarm.SMS, number, None, purpose, text,
                                  alarm.PRIORITY["office_notice"]) for number in numbers])


def summary_due(now: datetime, quiet_since: datetime, after_hours: float, hour: int,
                sent_on: date | None) -> bool:
    """``quiet_since``: the last successful upload, or when the uploader started watching."""
    local = now.astimezone()
    return (now - quiet_since >= timedelta(hours=after_hours) and local.hour >= hour
            and sent_on != local.date())


def modem_health_text(language: str, health: list[dict]) -> str:
    parts = []
    for row in health:
        if row.get("registration") in ("home", "roaming") and row.get("signal") is not None:
            parts.append(text(language, "modem_ok", modem=row["modem"], signal=row["signal"]))
        elif row.get("registration") is not None:
            parts.append(text(language, "modem_unregistered", modem=row["modem"]))
        else:
            parts.append(text(language, "modem_unknown", modem=row["modem"]))
    return ("，" if language == "zh" else ", ").join(parts) or text(language, "modem_unknown",
                                                                     modem="-")


def daily_counts(store, now: datetime) -> dict[str, int]:
    since = utc_iso(now - timedelta(hours=24))
    with store.transaction() as conn:
        alarms = conn.execute("SELECT count(*) FROM incidents WHERE opened_at >= ?",
                              (since,)).fetchone()[0]
        failures = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'failed' AND"
                                " updated_at >= ?", (since,)).fetchone()[0]
    return {"alarms": alarms, "failures": failures}


def compose_summary(language: str, box: str, counts: dict[str, int], health: list[dict],
                    quiet_since: datetime, now: datetime, backlog: int) -> str:
    days = max(1, int((now - quiet_since).total_seconds() // 86400))
    return text(language, "summary", box=box, alarms=counts["alarms"],
                failures=counts["failures"], health=modem_health_text(language, health),
                days=days, backlog=backlog)
