"""Daemon: turns modem events into incidents and drains the outbox through the modem.

Two threads:
- the event loop takes the modem's ordered events (calls, SMS, port lost) and timers (siren off,
  incidents expiring) and decides; every decision is committed to the store before it acts;
- the outbox worker sends what the store says is pending, most urgent first, one delivery at a
  time (a modem does one thing at a time), and reopens the modem when its port dies.

Alarm path for a call: caller id → E.164 → household → incident committed → call rejected →
deliveries planned and committed → worker texts, confirms, relays, rings.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

from edgebox.adapters.modem.events import IncomingCall, IncomingSms, ModemLost
from edgebox.domain import alarm
from edgebox.domain.acks import is_acknowledgement
from edgebox.domain.phones import normalise_caller
from edgebox.errors import ModemError

log = logging.getLogger("edgebox")

RECONNECT_BACKOFF = (1, 2, 5, 10, 30)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Daemon:
    def __init__(self, config, store, modem, siren, clock: Callable[[], datetime] = utc_now):
        self.config = config
        self.store = store
        self.modem = modem
        self.siren = siren
        self.clock = clock
        self.roster = store.load_roster()
        self._stop = threading.Event()
        self._work = threading.Event()
        self._siren_off_at: float | None = None
        self._threads: list[threading.Thread] = []
        self.ready = threading.Event()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Recover what a crash left, open the modem, start both loops."""
        now = self.clock()
        self.store.append_event(now, "daemon_started", box=self.config.box_id,
                                households=len(self.roster.households),
                                groups=len(self.roster.groups))
        self.store.requeue_interrupted(now)
        for incident in self.store.unplanned_incidents():
            # Committed but never planned: the box died between the two. Plan it now.
            self._plan_incident(incident)
        self._connect_modem(once=True)
        for target, name in ((self._event_loop, "events"), (self._outbox_loop, "outbox")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.ready.set()

    def stop(self) -> None:
        self._stop.set()
        self._work.set()
        self.modem.events.put(None)
        for thread in self._threads:
            thread.join(timeout=self.config.alarm_ring_seconds + 5)
        self.siren.off()
        self.modem.stop()
        self.store.append_event(self.clock(), "daemon_stopped")

    def wait(self, timeout: float | None = None) -> bool:
        return self._stop.wait(timeout)

    # -- event loop ------------------------------------------------------------------------

    def _event_loop(self) -> None:
        while not self._stop.is_set():
            try:
                event = self.modem.events.get(timeout=0.2)
            except queue.Empty:
                event = None
            try:
                if isinstance(event, IncomingCall):
                    self.on_call(event)
                elif isinstance(event, IncomingSms):
                    self.on_sms(event)
                elif isinstance(event, ModemLost):
                    self.store.append_event(self.clock(), "modem_lost", reason=event.reason)
                    self._work.set()
                self._tick()
            except Exception:  # one bad event must not stop the alarm service
                log.exception("failed to handle %r", event)

    def on_call(self, call: IncomingCall) -> None:
        if call.same_call:
            self._reject()
            return
        now = self.clock()
        phone = normalise_caller(call.digits, call.ton, self.config.box_region)
        household = self.roster.household_by_phone(phone)
        if household is None:
            self._reject()
            self.store.append_event(now, "unknown_caller", number=phone or call.digits or "",
                                    withheld=call.digits is None)
            if phone and self.config.alarm_forward_unknown_callers and self.config.numbers_office:
                local = now.astimezone().strftime("%H:%M")  # the box's own time zone
                self.store.add_deliveries(now, None, alarm.plan_unknown_caller(
                    phone, self.config.numbers_office, local, self.config.box_language))
                self._work.set()
            return
        repeat = alarm.open_incident_of_caller(self.store.incidents("open"), household.id, now,
                                               self.config.alarm_open_minutes)
        if repeat is not None:
            self._reject()
            self.store.append_event(now, "repeat_call", repeat.id, household=household.id,
                                    phone=phone)
            return
        group = self.roster.groups_of(household.id)[0]
        incident = self.store.open_incident(now, group.id, household.id, phone)
        self._reject(incident.id)
        self._plan_incident(incident)
        self._siren_on(incident.id)

    def on_sms(self, sms: IncomingSms) -> None:
        now = self.clock()
        phone = normalise_caller(sms.number.lstrip("+"), 145 if sms.number.startswith("+")
                                 else 129, self.config.box_region)
        household = self.roster.household_by_phone(phone)
        self.store.append_event(now, "sms_received", number=phone or sms.number,
                                household=household.id if household else None,
                                text=sms.text[:500], length=len(sms.text))
        if household is None or not is_acknowledgement(sms.text):
            return
        incident = alarm.incident_to_acknowledge(self.store.incidents("open"), self.roster,
                                                 household, now, self.config.alarm_open_minutes)
        if incident is None:
            self.store.append_event(now, "ack_without_incident", household=household.id)
            return
        if self.store.record_ack(now, incident.id, household.id, phone, "sms"):
            self.store.add_deliveries(now, incident.id, [
                alarm.plan_ack_relay(incident, household, self.config.box_language)])
            self._work.set()

    def _reject(self, incident_id: int | None = None) -> None:
        try:
            self.modem.reject_call()
            self.store.append_event(self.clock(), "call_rejected", incident_id)
        except ModemError as exc:
            self.store.append_event(self.clock(), "call_reject_failed", incident_id,
                                    error=str(exc))

    def _plan_incident(self, incident: alarm.Incident) -> None:
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        plan = alarm.plan_alarm(self.roster, group, caller, incident.caller_phone,
                                self.config.box_language, self.config.alarm_ring_members)
        self.store.add_deliveries(self.clock(), incident.id, plan)
        self._work.set()

    def _siren_on(self, incident_id: int) -> None:
        seconds = self.config.siren_on_seconds
        if seconds <= 0:
            return
        self.siren.on()
        self._siren_off_at = time.monotonic() + seconds
        self.store.append_event(self.clock(), "siren_on", incident_id, seconds=seconds)

    def _tick(self) -> None:
        if self._siren_off_at is not None and time.monotonic() >= self._siren_off_at:
            self._siren_off_at = None
            self.siren.off()
            self.store.append_event(self.clock(), "siren_off")
        now = self.clock()
        for incident in self.store.incidents("open"):
            if not incident.is_open(now, self.config.alarm_open_minutes):
                self.store.close_incident(now, incident.id, "expired")

    # -- outbox worker ---------------------------------------------------------------------

    def _outbox_loop(self) -> None:
        while not self._stop.is_set():
            if not self.modem.alive:
                self._connect_modem()
                continue
            delivery = self.store.claim_next_delivery(self.clock())
            if delivery is None:
                self._work.wait(0.5)
                self._work.clear()
                continue
            self._deliver(delivery)

    def _deliver(self, d: dict) -> None:
        try:
            if d["kind"] == alarm.SMS:
                refs = self.modem.send_sms(d["phone"], d["text"])
                self.store.finish_delivery(self.clock(), d["id"], "sent", "sms_sent",
                                           modem_ref=",".join(map(str, refs)), parts=len(refs))
            else:
                outcome = self.modem.ring(d["phone"], self.config.alarm_ring_seconds)
                self.store.finish_delivery(self.clock(), d["id"], "sent", "call_placed",
                                           result=outcome.result,
                                           alerting_seconds=outcome.alerting_seconds)
        except ModemError as exc:
            now = self.clock()
            if d["attempts"] >= self.config.modem_max_attempts:
                self.store.finish_delivery(now, d["id"], "failed", "delivery_failed",
                                           error=str(exc))
            else:
                wait = self.config.modem_retry_seconds * 2 ** (d["attempts"] - 1)
                self.store.retry_delivery(now, d["id"], str(exc), now + timedelta(seconds=wait))

    def _connect_modem(self, once: bool = False) -> None:
        """Open the modem; on failure wait with growing back-off and try again (the outbox keeps
        every pending delivery meanwhile). ``once``: a single try, as at start-up, where the
        worker's loop takes over the retrying so start() never blocks on a missing modem."""
        for attempt in itertools.count():
            if self._stop.is_set():
                return
            try:
                self.modem.stop()
                self.modem.start()
            except ModemError as exc:
                self.store.append_event(self.clock(), "modem_unavailable", error=str(exc),
                                        attempt=attempt + 1)
                if once:
                    return
                self._stop.wait(RECONNECT_BACKOFF[min(attempt, len(RECONNECT_BACKOFF) - 1)])
                continue
            self.store.append_event(self.clock(), "modem_ready", port=self.modem.port)
            return
