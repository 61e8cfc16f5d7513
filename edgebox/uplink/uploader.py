"""The uploader: a service thread that ships the event log to the hub, and looks after the disk.

Each run (every ``uplink.interval_minutes``, at once on ``trigger()``, or from
``edgebox upload now``): watch the disk; bring the link up if needed; send batches from the
cursor until the hub has everything (at least one request, so the hub sees the box's health even
when nothing is new); take the link down if this run brought it up; prune what policy allows;
send the township summary if uploads have failed too long. A failed run is retried with
exponential back-off. The thread is the uploader's own and every store access is one short
transaction, so the alarm path never waits for the network.
"""
from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from edgebox import __version__
from edgebox.store.times import utc_iso, utc_now
from edgebox.uplink import ledger as notes
from edgebox.uplink import protocol, retention, summary
from edgebox.uplink.client import Ahead, HubClient
from edgebox.uplink.diskwatch import DiskWatch
from edgebox.uplink.errors import ClockSkew, UplinkError
from edgebox.uplink.ledger import UplinkLedger
from edgebox.uplink.link import LinkManager
from edgebox.uplink.settings import UplinkSettings

log = logging.getLogger("edgebox.uplink")


@dataclass
class RunReport:
    ok: bool = False
    batches: int = 0
    events: int = 0
    duplicates: int = 0
    wire_bytes: int = 0
    acked_seq: int = 0
    backlog: int = 0
    error: str = ""
    pruned: dict = field(default_factory=dict)


def backoff_seconds(failures: int, first: float, ceiling: float,
                    hub_asked: float | None = None) -> float:
    """Exponential back-off with jitter (so a county's boxes do not retry in step); when a busy
    hub said how long to wait (Retry-After), at least that, spread over half as long again so
    that a thousand boxes told "5 s" at once do not all come back at the same instant."""
    wait = min(ceiling, first * 2 ** max(0, failures - 1)) * random.uniform(0.75, 1.0)
    if hub_asked:
        wait = max(wait, hub_asked * random.uniform(1.0, 1.5))
    return wait


class Uploader:
    def __init__(self, settings: UplinkSettings, store, *, language: str = "zh",
                 office: list[str] = (), township: list[str] = (),
                 clock: Callable[[], datetime] = utc_now, client: HubClient | None = None,
                 link: LinkManager | None = None,
                 disk_usage: Callable[[str], retention.DiskUsage] = retention.disk_usage_of):
        self.settings = settings
        self.store = store
        self.ledger = UplinkLedger(store)
        self.language = language
        self.office = list(office)
        self.township = list(township)
        self.clock = clock
        self.client = client or HubClient(settings.url, settings.box_id, settings.token,
                                          settings.timeout_seconds, settings.ca_file,
                                          clock=lambda: self.clock().timestamp())
        self.link = link or LinkManager(settings.url, settings.link_check, settings.link_up,
                                        settings.link_down, settings.link_up_seconds)
        self.disk_usage = disk_usage
        self.disk = DiskWatch(store, settings.box_id, settings.disk_warn_percent,
                              language=language, office=office, disk_usage=disk_usage)
        self.failures = 0
        self.hub_asked: float | None = None  # the last failure's Retry-After, if the hub gave one
        self._failing = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._run_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Uploader(url={self.settings.url!r}, box={self.settings.box_id!r})"

    # ---- the service ---------------------------------------------------------------------------

    def start(self) -> None:
        self.ledger.start_watching(self.clock())
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=self.settings.timeout_seconds + 10)
        self.client.close()

    def trigger(self) -> None:
        """Upload now rather than at the next scheduled time."""
        self._wake.set()

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                ok = self.run_once().ok
            except Exception:  # the uploader must outlive any surprise; the next run retries
                log.exception("upload run failed")
                ok = False
            if ok:
                wait = self.settings.interval_minutes * 60
            else:
                wait = backoff_seconds(self.failures, self.settings.retry_seconds,
                                       self.settings.max_backoff_minutes * 60, self.hub_asked)

    # ---- one run -------------------------------------------------------------------------------

    def run_once(self) -> RunReport:
        with self._run_lock:
            now = self.clock()
            disk_low = self.disk.check(now)
            report = RunReport()
            try:
                brought_up = self.link.ensure_up(self._stop.is_set)
                try:
                    self._upload(report)
                finally:
                    if brought_up:
                        self.link.take_down()
                report.ok = True
            except UplinkError as exc:
                report.error = str(exc)
                self.hub_asked = getattr(exc, "retry_after", None)
            self._record_outcome(report)
            if report.ok or disk_low:
                report.pruned = retention.prune(
                    self.store, self.ledger.acked_seq(), self.clock(),
                    list(self.settings.prune_kinds), self.settings.prune_after_days,
                    self.settings.keep_days, disk_low)
            self._maybe_send_summary(self.clock())
            return report

    def _status(self, through: int) -> dict:
        usage = self.disk_usage(self.store.path)
        return {"backlog": self.ledger.backlog(through), "health": self.ledger.health_snapshot(),
                "pending_deliveries": self.store.outbox.pending_count(),
                "disk_used_percent": round(usage.used_percent, 1),
                "box_time": utc_iso(self.clock()), "version": __version__}

    def _upload(self, report: RunReport) -> None:
        log_id = self.ledger.log_id()
        acked = self.ledger.acked_seq()
        rewound = clock_fixed = False
        while not self._stop.is_set():
            events = self.ledger.batch_after(acked, self.settings.batch_events)
            through = events[-1]["seq"] if events else acked
            body = protocol.encode_batch(self.settings.box_id, acked, events,
                                         self._status(through), log=log_id)
            try:
                ack = self.client.post_batch(body)
            except ClockSkew as exc:
                if clock_fixed or exc.hub_time is None:
                    raise
                # Sign with the hub's time from now on; the box's own clock is left alone
                # (the clock policy decides that), but the upload can go ahead.
                self.client.learn_clock(exc.hub_time)
                clock_fixed = True
                self.store.append_event(self.clock(), "uplink_clock_offset",
                                        seconds=round(self.client.clock_offset))
                continue
            except Ahead as exc:
                if rewound:
                    raise
                rewound = True
                self.ledger.set_acked(exc.acked_seq)
                self.store.append_event(self.clock(), "uplink_rewound", was=acked,
                                        to=exc.acked_seq)
                acked = exc.acked_seq
                continue
            acked = self._advance(ack.acked_seq, through)
            report.batches += 1
            report.events += ack.stored
            report.duplicates += ack.duplicates
            report.wire_bytes += ack.wire_bytes
            if len(events) < self.settings.batch_events:
                break
        report.acked_seq = acked
        report.backlog = self.ledger.backlog(acked)

    def _advance(self, hub_acked: int, through: int) -> int:
        """Move the cursor to what the hub acknowledged (never past the box's own log)."""
        last = self.ledger.last_seq()
        if hub_acked > last:
            # The hub has sequence numbers this log never had under this log's id: the database
            # was restored from an older copy of itself (a new database has a new id).
            self.store.append_event(self.clock(), "uplink_conflict", hub_acked=hub_acked,
                                    box_last=last)
            hub_acked = max(through, min(hub_acked, last))
        if hub_acked > self.ledger.acked_seq():
            self.ledger.set_acked(hub_acked)
        return hub_acked

    def _record_outcome(self, report: RunReport) -> None:
        now = self.clock()
        self.ledger.put_time(notes.LAST_ATTEMPT, now)
        if report.ok:
            self.ledger.put_time(notes.LAST_SUCCESS, now)
            self.ledger.put(notes.LAST_ERROR, "")
            if self._failing:
                self.store.append_event(now, "uplink_restored", failures=self.failures,
                                        acked_seq=report.acked_seq)
            self.failures, self._failing = 0, False
            return
        self.failures += 1
        self.ledger.put(notes.LAST_ERROR, report.error)
        log.warning("upload failed (%d in a row): %s", self.failures, report.error)
        if not self._failing:  # one event when uploads start failing, not one per retry
            self._failing = True
            self.store.append_event(now, "uplink_failed", error=report.error[:300])

    # ---- the township ----------------------------------------------------------------------------

    def _maybe_send_summary(self, now: datetime) -> None:
        if not self.township:
            return
        quiet_since = (self.ledger.get_time(notes.LAST_SUCCESS)
                       or self.ledger.start_watching(now))
        sent = self.ledger.get(notes.SUMMARY_SENT_ON)
        if not summary.summary_due(now, quiet_since, self.settings.summary_after_hours,
                                   self.settings.summary_hour,
                                   date.fromisoformat(sent) if sent else None):
            return
        self.ledger.put(notes.SUMMARY_SENT_ON, now.astimezone().date().isoformat())
        text = summary.compose_summary(
            self.language, self.settings.box_id, summary.daily_counts(self.store, now),
            self.ledger.health_snapshot(), quiet_since, now,
            self.ledger.backlog(self.ledger.acked_seq()))
        summary.queue_notice(self.store, now, self.township, "township_summary", text)
