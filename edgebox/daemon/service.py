"""Daemon: turns modem events into incidents; modem workers drain the outbox.

- The event loop takes every modem's events from one ordered queue (calls, SMS, delivery
  reports, USSD answers, acknowledgement keys, ports lost) plus timers (siren off, incidents
  expiring) and decides; every decision is committed to the store before it acts.
- One ModemWorker per modem sends what the store says is pending, most urgent first, and looks
  after its modem (health, recovery).

Alarm path for a call: caller id → E.164 → household → incident committed → call rejected on
the modem that rang → deliveries planned and committed → workers text, confirm, relay, ring.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from edgebox.adapters.modem import readings
from edgebox.adapters.modem.events import (BootLineSeen, DeliveryReport, IncomingCall,
                                           IncomingSms, ModemLost, UssdReply)
from edgebox.daemon.check_ins import CheckIns
from edgebox.daemon.clock_watch import ClockWatch
from edgebox.daemon.modem_worker import ModemWorker
from edgebox.daemon.office import OfficeDesk
from edgebox.daemon.policy import AlarmPolicy
from edgebox.daemon.sms_admin import SmsAdministration
from edgebox.daemon.thread_names import label_threads
from edgebox.daemon.timers import AlarmTimers
from edgebox.domain import alarm
from edgebox.domain.messages import render
from edgebox.domain.office_actions import OfficeAction
from edgebox.errors import ModemError
from edgebox.store.times import utc_now

log = logging.getLogger("edgebox")


POLICY_TICK_SECONDS = 1.0
HELD_REPORTS_EVERY = 10.0  # seconds between looks for reports held past their time
# The longest the event loop sleeps with nothing due. The roster's generation and the wall
# clock are looked at on every turn and no signal reaches this process when they change (the
# roster is written by other processes: the CLI, the web panel), so an idle box still looks
# this often: one primary-key read and a clock reading.
IDLE_LOOK_SECONDS = 2.0
# With a drill schedule or households checked in on daily, how often an idle box looks for a
# slot or a check-in window that has come (both are minutes long).
CLOCK_LOOK_SECONDS = 10.0
# An event deferred off the alarm path (see SqliteStore.defer_event) normally rides on the
# next durable commit; when none comes within this long, it gets a commit of its own.
DEFERRED_EVENTS_SECONDS = 1.0


@dataclass(frozen=True)
class KeyAcknowledged:
    """A member pressed the acknowledgement key in a ring call (posted by a worker)."""
    delivery_id: int


class Daemon(AlarmPolicy, SmsAdministration, AlarmTimers):
    def __init__(self, config, store, modems: dict, siren, events: queue.Queue,
                 clock: Callable[[], datetime] = utc_now, services: tuple = ()):
        self.config = config
        self.store = store
        self.siren = siren
        self.clock = clock
        self.events = events
        self.office = OfficeDesk(store, events, clock)  # the panels' way in (kept, then queued)
        self.roster_generation, self.roster = store.roster_snapshot()
        self._stop = threading.Event()
        self._siren_off_at: float | None = None
        self._low_balance_warned: dict[str, date] = {}
        self._next_policy_tick = 0.0
        self._next_held_reports = 0.0
        self._ringing_on: set[int] = set()  # incidents whose call may ring on across a restart
        self._loop: threading.Thread | None = None
        self._loop_heartbeat = time.monotonic()  # the event loop's latest turn (watchdog)
        self._clock_watch = ClockWatch(store, clock)  # a stepped wall clock moves the timers
        self.check_ins = CheckIns(config, store, lambda: self.roster, clock, self._reject,
                                  self._wake_workers)
        # Companions with their own threads (uploader, web panel …): start() and stop() each,
        # started after the alarm loops and stopped before them.
        self.services = list(services)
        self.workers = {
            settings.name: ModemWorker(settings, config, store, modems[settings.name], clock,
                                       self._stop, self._post_key_ack, self._report_modem_down,
                                       self._ring_still_wanted)
            for settings in config.modems
        }

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Recover what a crash left, then start the event loop and every modem's worker."""
        now = self.clock()
        self.store.append_event(now, "daemon_started", box=self.config.box_id,
                                households=len(self.roster.households),
                                groups=len(self.roster.groups), modems=len(self.workers))
        self.store.requeue_interrupted(now)
        # The call that raised one of these may still be ringing: when it shows up again it is
        # that same call, not a repeat call that hastens the ladder.
        self._ringing_on = set(self.store.unrejected_calls())
        for incident in self.store.unplanned_incidents():
            # Committed but never planned: the box died between the two. Plan it now.
            self._plan_incident(incident)
        self._resume_unhandled()  # SMS kept but not acted on, keys pressed but not recorded
        self._loop = threading.Thread(target=self._event_loop, name="events", daemon=True)
        self._loop.start()
        for worker in self.workers.values():
            worker.start()
        for service in self.services:
            service.start()
        label_threads()  # the kernel's thread names, for top -H and the idle benchmark

    def stop(self) -> None:
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:  # a companion failing to stop must not keep the alarm loops up
                log.exception("stopping %r failed", service)
        self._stop.set()
        self._wake_workers()
        self.events.put(None)
        if self._loop:
            self._loop.join(timeout=5)
        for worker in self.workers.values():
            worker.join(timeout=self.config.alarm_ring_seconds + 5)
            worker.modem.stop()
        self.siren.off()
        self.store.append_event(self.clock(), "daemon_stopped")

    def request_stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._stop.wait(timeout)

    def stale_loops(self) -> list[str]:
        """Loops that stopped turning: the event loop, or a worker stuck beyond its longest
        legitimate step (a multi-part SMS, a ring call, a power cycle)."""
        c = self.config
        loop_limit = 2 * c.modem_command_timeout + 30
        worker_limit = max(3 * c.modem_sms_timeout, c.alarm_ring_seconds
                           + 4 * c.modem_command_timeout, 120) + 60
        stale = []
        if self._loop is not None and (not self._loop.is_alive()
                                       or time.monotonic() - self._loop_heartbeat > loop_limit):
            stale.append("event loop")
        stale += [f"modem worker {name}" for name, worker in self.workers.items()
                  if worker.stalled(worker_limit)]
        return stale

    def modems_ready(self) -> int:
        return sum(w.modem.alive for w in self.workers.values())

    def _wake_workers(self) -> None:
        for worker in self.workers.values():
            worker.wake.set()

    # -- event loop ------------------------------------------------------------------------

    def _event_loop(self) -> None:
        handlers = {IncomingCall: self._on_incoming_call, IncomingSms: self.on_sms,
                    OfficeAction: self.on_office,
                    DeliveryReport: self.on_report, UssdReply: self.on_ussd,
                    KeyAcknowledged: self.on_key_ack, ModemLost: self.on_modem_lost,
                    BootLineSeen: self.on_boot_line}
        while not self._stop.is_set():
            self._loop_heartbeat = time.monotonic()
            try:
                event = self.events.get(timeout=self._seconds_to_next_timer())
            except queue.Empty:
                event = None
            if event is not None:  # it may start timers (an alarm, a broadcast): look now
                self._next_policy_tick = 0.0
            try:
                # SMS a worker has sent are recorded on its recorder's thread, moments later:
                # settled before anything here reads the store (who was told, which report
                # belongs to which SMS).
                for worker in self.workers.values():
                    worker.recorder.flush()
                self.follow_roster()  # a call is looked up in the roster in force now
                if self._clock_watch.check() is not None:  # before anything measures time
                    self._wake_workers()  # their back-offs moved: sleeping ones look again
                handler = handlers.get(type(event))
                if handler:
                    handler(event)
                self._tick()
            except Exception:  # one bad event must not stop the alarm service
                log.exception("failed to handle %r", event)

    def _on_incoming_call(self, call: IncomingCall) -> None:
        """A call that came while the box was in a call of its own (ringing a member) is seen
        only as a waiting call: it is logged with its number first, so a call that found the
        line busy is never invisible, then handled (and rejected) like any other."""
        if call.waiting and not call.same_call:
            self.store.append_event(self.clock(), "call_waiting", modem=call.modem,
                                    number=call.digits or "", withheld=call.digits is None)
        self.on_call(call)

    def follow_roster(self) -> None:
        """Take the roster another writer (``edgebox roster import``, the web page, a
        leader's SMS) saved since the last turn. Why a generation number in the database and
        not SIGHUP: every writer already commits to the store, whichever process or user it
        runs as, so none needs to find, or be allowed to signal, the daemon; a signal sent
        while the daemon starts would be lost, a generation is not; and the test is one
        primary-key read per turn. The roster is immutable, so swapping the reference is safe
        for the threads that read it."""
        if self.store.roster_generation() == self.roster_generation:
            return
        was_empty = self.roster.is_empty
        self.roster_generation, self.roster = self.store.roster_snapshot()
        now = self.clock()
        self.store.append_event(now, "roster_loaded", generation=self.roster_generation,
                                households=len(self.roster.households),
                                groups=len(self.roster.groups))
        if self.roster.is_empty and not was_empty:
            # Nobody would be alerted from now on: the office must hear of it at once.
            self._enqueue(None, alarm.to_offices(
                self.config.numbers_office, render(self.config.box_language, "roster_empty")))

    def on_key_ack(self, event: KeyAcknowledged) -> None:
        delivery = self.store.delivery(event.delivery_id)
        incident = next((i for i in self.store.incidents() if i.id == delivery["incident_id"]),
                        None)
        if incident is None or delivery["household_id"] is None:
            return
        self._acknowledge(incident, self.roster.household(delivery["household_id"]),
                          delivery["phone"], "dtmf")

    def on_report(self, report: DeliveryReport) -> None:
        # A report that beats the record of its SMS is held by the store and matched when
        # the record lands (store/delivery_reports.py).
        if report.final:
            self.store.record_delivery_report(self.clock(), report.modem, report.reference,
                                              report.delivered)

    def on_ussd(self, reply: UssdReply) -> None:
        now = self.clock()
        amount = readings.balance(reply.text)
        self.store.append_event(now, "modem_balance", modem=reply.modem, balance=amount,
                                text=reply.text[:160])
        if amount is None or amount >= self.config.modem_low_balance:
            return
        if self._low_balance_warned.get(reply.modem) == now.date():
            return  # once a day is enough
        self._low_balance_warned[reply.modem] = now.date()
        text = render(self.config.box_language, "low_balance", modem=reply.modem,
                      balance=f"{amount:.2f}")
        self._enqueue(None, alarm.to_offices(self.config.numbers_office, text))

    def on_modem_lost(self, event: ModemLost) -> None:
        self.store.append_event(self.clock(), "modem_lost", modem=event.modem,
                                reason=event.reason)
        self._wake_workers()

    def on_boot_line(self, event: BootLineSeen) -> None:
        """The modem may have restarted in place: its worker, asleep while idle, looks now."""
        worker = self.workers.get(event.modem)
        if worker is not None:
            worker.wake.set()

    # -- helpers -----------------------------------------------------------------------------

    def _post_key_ack(self, delivery_id: int) -> None:
        self.events.put(KeyAcknowledged(delivery_id))

    def _report_modem_down(self, modem: str) -> None:
        text = render(self.config.box_language, "modem_down", modem=modem,
                      time=self.clock().astimezone().strftime("%H:%M"))
        self._enqueue(None, alarm.to_offices(self.config.numbers_office, text))

    def _enqueue(self, incident_id: int | None, plan: list) -> None:
        if plan:
            self.store.add_deliveries(self.clock(), incident_id, plan)
            self._wake_workers()

    def _reject(self, modem: str, incident_id: int | None = None, wake: bool = False) -> None:
        """Reject the ringing call and log the outcome. ``wake``: a fan-out is planned, so the
        workers are woken as soon as the port is free of the ATH, and claim their first SMS
        while this logs (both wait for the store)."""
        worker = self.workers.get(modem) or next(iter(self.workers.values()))
        try:
            worker.modem.reject_call()
            event, data = "call_rejected", {"modem": modem}
        except ModemError as exc:
            event, data = "call_reject_failed", {"modem": modem, "error": str(exc)}
        if wake:
            self._wake_workers()
        # Logged with the next durable commit (the first SMS's record, as a rule): the alarm
        # was committed before the call was touched, and a second wait for the disk here would
        # hold up the worker's claim of the first SMS.
        self.store.defer_event(self.clock(), event, incident_id, **data)

    def _siren_on(self, incident_id: int | None, pattern: str = "continuous") -> None:
        seconds = self.config.siren_on_seconds
        if seconds <= 0:
            return
        self.siren.on(pattern)  # the relay follows the pattern's rhythm (adapters/gpio/patterns)
        self._siren_off_at = time.monotonic() + seconds
        self.store.defer_event(self.clock(), "siren_on", incident_id, seconds=seconds,
                               pattern=pattern)  # like call_rejected: off the alarm path

    def _siren_off(self) -> None:
        if self.siren.is_on:
            self._siren_off_at = None
            self.siren.off()
            self.store.append_event(self.clock(), "siren_off")

    def _tick(self) -> None:
        self.store.flush_deferred(older_than=DEFERRED_EVENTS_SECONDS)
        if self._siren_off_at is not None and time.monotonic() >= self._siren_off_at:
            self._siren_off()
        if time.monotonic() >= self._next_policy_tick:  # the ladder's grain is a second
            self._next_policy_tick = time.monotonic() + POLICY_TICK_SECONDS
            self._policy_tick(self.clock())
            if not self._clock_rules_running():
                # Nothing for the ladder, a broadcast's progress or a check-in: the next event
                # starts the ticking again; a drill schedule or a household's daily check-in
                # window needs a look now and then.
                self._next_policy_tick = time.monotonic() + CLOCK_LOOK_SECONDS \
                    if self._clock_rules_scheduled() else float("inf")
        if time.monotonic() >= self._next_held_reports:
            self._next_held_reports = time.monotonic() + HELD_REPORTS_EVERY
            self.store.expire_held_reports(self.clock())

    def _clock_rules_running(self) -> bool:
        """Something the clock moves on each second: an open incident (its ladder, expiry,
        drill report), a broadcast still to report progress, a check-in waiting for 平安."""
        return bool(self.store.incidents("open") or self.store.broadcasts_running()
                    or self.store.check_ins_in_progress())

    def _clock_rules_scheduled(self) -> bool:
        """Something the clock starts by itself: a drill slot, a household's check-in window."""
        return bool(self.config.drill_schedule) or any(
            h.check_in for h in self.roster.households)

    def _seconds_to_next_timer(self) -> float:
        """How long the event loop may wait for an event: until the siren is due off, a
        deferred event is due for its own commit, the ladder's next second (only while an
        incident is open or a broadcast runs), the held reports' next look; IDLE_LOOK_SECONDS
        at most (the roster's generation and the clock, see there)."""
        now = time.monotonic()
        due = [now + IDLE_LOOK_SECONDS, self._next_policy_tick, self._next_held_reports]
        if self._siren_off_at is not None:
            due.append(self._siren_off_at)
        deferred = self.store.deferred_since()
        if deferred is not None:
            due.append(deferred + DEFERRED_EVENTS_SECONDS)
        return max(0.0, min(due) - now)
