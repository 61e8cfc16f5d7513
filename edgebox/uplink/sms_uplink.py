"""The SMS uplink: a box with no data link texts the hub's modem (``uplink.sms_to``) a signed
daily summary and each escalation that reached the township (format: edgebox.uplink.sms_format).

It runs whether or not ``uplink.url`` is set: a village may never have a data link, and a
village that has one loses nothing by the texts (the hub counts the full log, not the SMS, once
it arrives). Every report goes through the box's outbox at the lowest priority, so an alarm's
texts always go first, and a report waiting when the box dies is sent after the restart.
Each report takes the next number of the box's SMS counter (kept in the uplink's notes, and
never below the minutes since the epoch), which the hub uses to refuse a replay.
"""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta
from typing import Callable

from edgebox.domain import alarm
from edgebox.store.logged_event import Event
from edgebox.store.times import utc_iso, utc_now
from edgebox.uplink import sms_format
from edgebox.uplink.ledger import UplinkLedger

log = logging.getLogger("edgebox.uplink")
SEQ = "sms_report_seq"
DAY_SENT_ON = "sms_day_sent_on"
ESCALATIONS_SEEN = "sms_escalations_seen"  # the events' seq up to which escalations are read
PURPOSE = "uplink_sms"


def day_figures(store, now: datetime) -> dict:
    """The last 24 hours' counts for the day report (drills counted apart, as "drill")."""
    since = utc_iso(now - timedelta(hours=24))
    with store.transaction() as conn:
        alarms: dict[str, int] = {}
        for alarm_type, drill, count in conn.execute(
                "SELECT alarm_type, drill, count(*) FROM incidents WHERE opened_at >= ?"
                " GROUP BY alarm_type, drill", (since,)):
            key = "drill" if drill else alarm_type
            alarms[key] = alarms.get(key, 0) + count
        acks = conn.execute("SELECT count(*) FROM acks WHERE at >= ?", (since,)).fetchone()[0]
        failures = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'failed' AND"
                                " updated_at >= ?", (since,)).fetchone()[0]
        households = conn.execute("SELECT count(*) FROM households").fetchone()[0]
    return {"alarms": alarms, "acks": acks, "failures": failures, "households": households}


class SmsUplink:
    def __init__(self, store, box_id: str, token: str, hub_number: str, hour: int = 20, period: float = 60,
                 clock: Callable[[], datetime] = utc_now):
        self.store = store
        self.ledger = UplinkLedger(store)
        self.box_id = box_id
        self.token = token
        self.hub_number = hub_number
        self.hour = hour
        self.period = period
        self.clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"SmsUplink(to={self.hub_number!r}, box={self.box_id!r})"

    def start(self) -> None:
        if self.ledger.get(ESCALATIONS_SEEN) is None:  # from now on: old alarms are history
            self.ledger.put(ESCALATIONS_SEEN, str(self.store.last_event_seq()))
        # An escalation is reported at once, not at the next look (the listener runs in the
        # committing thread, so it only sets a flag).
        self.store.subscribe(lambda event: event.kind == "escalated" and self._wake.set())
        self._thread = threading.Thread(target=self._run, name="sms-uplink", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a failed look must not end the uplink; the next one retries
                log.exception("SMS uplink run failed")
            self._wake.wait(self.period)
            self._wake.clear()

    def run_once(self) -> int:
        """Queue the escalations not yet reported and the day report when due; how many."""
        now = self.clock()
        queued = self._escalations(now)
        local = now.astimezone()
        sent_on = self.ledger.get(DAY_SENT_ON)
        if local.hour >= self.hour and (sent_on is None
                                        or date.fromisoformat(sent_on) != local.date()):
            self._queue(now, self._day_text(now, local.date()))
            self.ledger.put(DAY_SENT_ON, local.date().isoformat())
            queued += 1
        return queued

    def _next_seq(self) -> int:
        """One above the last, and never below the minutes since the epoch: a box given a new
        database (its notes gone) still numbers above every report the hub has from it, so
        its reports are not taken for replays. Nine digits last until the year 3870."""
        seq = max(int(self.ledger.get(SEQ) or 0) + 1, int(self.clock().timestamp() // 60))
        self.ledger.put(SEQ, str(seq))  # kept before the text is queued: never reused
        return seq

    def _day_text(self, now: datetime, day: date) -> str:
        figures = day_figures(self.store, now)
        health = self.ledger.health_snapshot()
        # One modem's health fits the line: the first one off the network, else the first.
        first = next((row for row in health if row.get("registration") not in (
            None, "home", "roaming")), health[0] if health else {})
        balance = next((row["balance"] for row in health if row.get("balance") is not None),
                       None)
        return sms_format.encode_day(self.token, self.box_id, self._next_seq(), day,
                                     figures["alarms"], figures["acks"], figures["failures"],
                                     first.get("registration"), first.get("signal"), balance,
                                     figures["households"])

    def _escalations(self, now: datetime) -> int:
        seen = int(self.ledger.get(ESCALATIONS_SEEN) or 0)
        queued = 0
        while True:
            events = self.store.events_after(seen, 500)
            if not events:
                return queued
            for event in events:
                # The step's record says whether it told the township (store.escalate).
                if event.kind == "escalated" and event.data.get("township"):
                    self._queue(now, self._escalation_text(event))
                    queued += 1
                seen = event.seq
                self.ledger.put(ESCALATIONS_SEEN, str(seen))

    def _escalation_text(self, event: Event) -> str:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT alarm_type FROM incidents WHERE id = ?",
                               (event.incident_id,)).fetchone()
        return sms_format.encode_escalation(
            self.token, self.box_id, self._next_seq(), datetime.fromisoformat(event.at),
            event.incident_id, row[0] if row else "other", event.data["escalation_step"])

    def _queue(self, now: datetime, text: str) -> None:
        self.store.outbox.add(now, None, [alarm.PlannedDelivery(
            alarm.SMS, self.hub_number, None, PURPOSE, text, alarm.PRIORITY[PURPOSE])])
        log.info("SMS report queued for the hub: %s", text[:40])


def sms_uplink_service(config, store) -> SmsUplink | None:
    """The SMS uplink when ``uplink.sms_to`` is set (checked by uplink.settings), else None."""
    from edgebox.uplink.settings import sms_uplink_settings
    settings = sms_uplink_settings(config)
    if settings is None:
        return None
    return SmsUplink(store, config.box_id, settings["token"], settings["sms_to"],
                     hour=config.get("uplink.summary_hour"))
