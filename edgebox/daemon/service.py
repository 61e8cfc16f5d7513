"""The alarm core's event loop: turns modem events into decisions; modem workers carry them out.

- The event loop (thread "events") takes every modem's events from one ordered queue (calls,
  SMS, delivery reports, USSD answers, acknowledgement keys, outages, ports lost) plus timers
  (siren off, the ladder, incidents expiring) and hands each to the class that decides it.
  Every decision is committed to the store before it acts.
- One ModemWorker per modem (thread "worker-<name>") sends what the store says is pending,
  most urgent first, and looks after its modem (health, recovery). It is handed work as data
  (outbox rows, a wake-up, "re-read your ring call") and reports back as events on the queue.

Follow a ``+CLIP`` to the last SMS of its fan-out (six files; thread hand-offs marked):

1. edgebox/adapters/modem/notifications.py: the modem's line (read on the library's reader
   thread, handed to this adapter's "<modem>-events" thread inside the adapter) becomes an
   IncomingCall on the event queue. Hand-off 1: modem adapter -> event loop.
2. edgebox/daemon/service.py (here): ``Daemon.handlers``, the table of events, sends it to
   ``AlarmPolicy.on_call``.
3. edgebox/daemon/policy.py: caller id -> E.164 -> household; ``raise_alarm`` plans the
   fan-out over the modems up now, commits the incident with its plan in one transaction
   (``store.incidents.open``), asks for the ring calls' sentence, rejects the call and wakes
   the workers. Hand-off 2: event loop -> modem workers, as rows in the store's outbox and a
   wake-up.
4. edgebox/domain/alarm.py: ``plan_alarm``, the fan-out as data (pure, no I/O): who, which
   words, and ``order_fan_out``, the order of texts and rings over the modems.
5. edgebox/daemon/modem_worker.py: ``_step`` then ``_claim`` (the most urgent pending
   delivery: the outbox hands them out by the plan's priority, then in its order) and
   ``_send`` (submits, claims the next, has this one recorded), until the outbox is empty.
6. edgebox/adapters/modem/serial_modem.py: ``send_sms``, the AT+CMGS.

The store's two calls on the way do what their names and docstrings say and decide nothing:
``store.incidents.open`` (store/incident_rows.py) writes the incident and the plan's rows, and
``store.outbox.claim_next`` (store/outbox.py) takes the first pending row by (priority, id);
open them to see the SQL, not to follow the decision. Off the path, on threads of their own:
the worker's SendRecorder records a sent SMS while the next is submitted, and the speech
thread (call_speech.py) renders the ring calls' sentence while the first SMS goes out. What
comes back (a key pressed in a ring call, a modem given up on) returns to the event loop as
an event on the same queue.
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
from edgebox.daemon.clock_watch import ClockWatch
from edgebox.daemon.inbox_policy import InboxPolicy
from edgebox.daemon.office import OfficeDesk
from edgebox.daemon.policy import AlarmPolicy
from edgebox.daemon.roster_view import RosterView
from edgebox.daemon.siren_control import SirenControl
from edgebox.daemon.thread_names import label_threads
from edgebox.daemon.timers import AlarmTimers
from edgebox.daemon.worker_events import KeyAcknowledged, ModemOutage
from edgebox.daemon.workers import ModemWorkers
from edgebox.domain import alarm
from edgebox.domain.messages import render
from edgebox.domain.office_actions import OfficeAction
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
class DiskFull:
    """The store gave up its space reserve to go on (its ``disk_full`` event)."""


@dataclass(frozen=True)
class LoopSettings:
    """What the event loop itself needs of the config."""
    box_id: str
    language: str
    office: tuple[str, ...]
    low_balance: float
    command_timeout: float
    sms_timeout: float
    ring_seconds: float
    drill_schedule: tuple  # the clock starts drills by itself: the loop looks now and then


def loop_settings(config) -> LoopSettings:
    return LoopSettings(config.box_id, config.box_language, tuple(config.numbers_office),
                        config.modem_low_balance, config.modem_command_timeout,
                        config.modem_sms_timeout, config.alarm_ring_seconds,
                        tuple(config.drill_schedule))


@dataclass
class AlarmCore:
    """The deciding classes, wired by the composition root (edgebox.daemon.app)."""
    rosters: RosterView
    siren: SirenControl
    alarms: AlarmPolicy
    inbox: InboxPolicy
    timers: AlarmTimers


class Daemon:
    def __init__(self, settings: LoopSettings, store, workers: ModemWorkers, core: AlarmCore,
                 siren, events: queue.Queue, stop: threading.Event,
                 clock: Callable[[], datetime] = utc_now, services: tuple = ()):
        self.settings = settings
        self.store = store
        self.siren = siren  # the GPIO siren itself (the panel and tests look at it)
        self.clock = clock
        self.events = events
        self.core = core
        self.modem_workers = workers
        self.workers = workers.workers
        self.office = OfficeDesk(store, events, clock)  # the panels' way in (kept, then queued)
        self._stop = stop
        self._low_balance_warned: dict[str, date] = {}
        self._next_policy_tick = 0.0
        self._next_held_reports = 0.0
        self._loop: threading.Thread | None = None
        self._loop_heartbeat = time.monotonic()  # the event loop's latest turn (watchdog)
        self._clock_watch = ClockWatch(store, clock)  # a stepped wall clock moves the timers
        # Companions with their own threads (uploader, web panel …): start() and stop() each,
        # started after the alarm loops and stopped before them.
        self.services = list(services)
        # Every event on the queue, and the one that decides it: an adapter's event leads
        # straight to its handler (the +CLIP's IncomingCall to AlarmPolicy.on_call).
        self.handlers: dict[type, Callable] = {
            IncomingCall: core.alarms.on_call,  # a caller: policy.py
            IncomingSms: core.inbox.on_sms,  # an SMS kept in the inbox: inbox_policy.py
            OfficeAction: core.inbox.on_office,  # the panel, the web page, the ladder's timers
            KeyAcknowledged: core.inbox.on_key_ack,  # the key 1 in a ring call
            DeliveryReport: self.on_report,
            UssdReply: self.on_ussd,  # the SIM's balance
            ModemOutage: self.on_modem_outage,  # a worker gave up reopening its modem
            ModemLost: self.on_modem_lost,
            DiskFull: self.on_disk_full,
            BootLineSeen: self.on_boot_line,  # a modem may have restarted in place
        }

    @property
    def roster(self):
        return self.core.rosters.roster

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Recover what a crash left, then start the event loop and every modem's worker."""
        now = self.clock()
        roster = self.roster
        self.store.append_event(now, "daemon_started", box=self.settings.box_id,
                                households=len(roster.households),
                                groups=len(roster.groups), modems=len(self.workers))
        self.store.outbox.requeue_interrupted(now)
        self.core.timers.resume()
        for incident in self.store.incidents.unplanned():
            # Committed but never planned: the box died between the two. Plan it now.
            self.core.alarms.plan_incident(incident)
        # SMS kept but not acted on, office actions kept, keys pressed but not recorded.
        for event in self.core.inbox.kept_events():
            self.events.put(event)
        self._loop = threading.Thread(target=self._event_loop, name="events", daemon=True)
        self._loop.start()
        self.modem_workers.start()
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
        self.modem_workers.wake()
        self.events.put(None)
        if self._loop:
            self._loop.join(timeout=5)
        self.modem_workers.stop(timeout=self.settings.ring_seconds + 5)
        self.siren.off()
        self.store.append_event(self.clock(), "daemon_stopped")

    def request_stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._stop.wait(timeout)

    def stale_loops(self) -> list[str]:
        """Loops that stopped turning: the event loop, or a worker stuck beyond its longest
        legitimate step (a multi-part SMS, a ring call, a power cycle)."""
        s = self.settings
        loop_limit = 2 * s.command_timeout + 30
        worker_limit = max(3 * s.sms_timeout, s.ring_seconds + 4 * s.command_timeout, 120) + 60
        stale = []
        if self._loop is not None and (not self._loop.is_alive()
                                       or time.monotonic() - self._loop_heartbeat > loop_limit):
            stale.append("event loop")
        stale += [f"modem worker {name}" for name in self.modem_workers.stalled(worker_limit)]
        return stale

    def modems_ready(self) -> int:
        return self.modem_workers.ready()

    def _wake_workers(self) -> None:
        self.modem_workers.wake()

    # -- event loop ------------------------------------------------------------------------

    def _event_loop(self) -> None:
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
                self.modem_workers.flush_recorders()
                self.follow_roster()  # a call is looked up in the roster in force now
                if self._clock_watch.check() is not None:  # before anything measures time
                    self._wake_workers()  # their back-offs moved: sleeping ones look again
                handler = self.handlers.get(type(event))
                if handler:
                    handler(event)
                self._tick()
            except Exception:  # one bad event must not stop the alarm service
                log.exception("failed to handle %r", event)

    def follow_roster(self) -> None:
        """Take the roster another writer saved since the last turn (RosterView says why by
        its generation); an empty one is told to the office at once."""
        was_empty = self.roster.is_empty
        if not self.core.rosters.follow():
            return
        roster = self.roster
        self.store.append_event(self.clock(), "roster_loaded",
                                generation=self.core.rosters.generation,
                                households=len(roster.households), groups=len(roster.groups))
        if roster.is_empty and not was_empty:
            # Nobody would be alerted from now on: the office must hear of it at once.
            self._tell_office(render(self.settings.language, "roster_empty"))

    def on_report(self, report: DeliveryReport) -> None:
        # A report that beats the record of its SMS is held by the store and matched when
        # the record lands (store/delivery_reports.py).
        if report.final:
            self.store.reports.record(self.clock(), report.modem, report.reference,
                                      report.delivered)

    def on_ussd(self, reply: UssdReply) -> None:
        now = self.clock()
        amount = readings.balance(reply.text)
        self.store.append_event(now, "modem_balance", modem=reply.modem, balance=amount,
                                text=reply.text[:160])
        if amount is None or amount >= self.settings.low_balance:
            return
        if self._low_balance_warned.get(reply.modem) == now.date():
            return  # once a day is enough
        self._low_balance_warned[reply.modem] = now.date()
        self._tell_office(render(self.settings.language, "low_balance", modem=reply.modem,
                                 balance=f"{amount:.2f}"))

    def on_modem_outage(self, event: ModemOutage) -> None:
        self._tell_office(render(self.settings.language, "modem_down", modem=event.modem,
                                 time=self.clock().astimezone().strftime("%H:%M")))

    def on_disk_full(self, event: DiskFull) -> None:
        """Text the office at once, while the reserve still has room for the notice itself.
        The workers are not woken for it, so an alarm being sent goes out first."""
        if self.settings.office:
            self.store.outbox.add(self.clock(), None, alarm.to_offices(
                list(self.settings.office), render(self.settings.language, "disk_full")))

    def on_modem_lost(self, event: ModemLost) -> None:
        self.store.append_event(self.clock(), "modem_lost", modem=event.modem,
                                reason=event.reason)
        self.modem_workers.wake()

    def on_boot_line(self, event: BootLineSeen) -> None:
        """The modem may have restarted in place: its worker, asleep while idle, looks now."""
        worker = self.workers.get(event.modem)
        if worker is not None:
            worker.wake.set()

    # -- helpers -----------------------------------------------------------------------------

    def _tell_office(self, text: str) -> None:
        self.modem_workers.add(None, alarm.to_offices(list(self.settings.office), text))

    def _tick(self) -> None:
        self.store.flush_deferred(older_than=DEFERRED_EVENTS_SECONDS)
        self.core.siren.tick()
        if time.monotonic() >= self._next_policy_tick:  # the ladder's grain is a second
            self._next_policy_tick = time.monotonic() + POLICY_TICK_SECONDS
            if self._clock_watch.check() is not None:  # the tick measures with this look's time
                self._wake_workers()
            for action in self.core.timers.tick(self._clock_watch.now):
                self.core.inbox.on_office(action)
            if not self._clock_rules_running():
                # Nothing for the ladder, a broadcast's progress or a check-in: the next event
                # starts the ticking again; a drill schedule or a household's daily check-in
                # window needs a look now and then.
                self._next_policy_tick = time.monotonic() + CLOCK_LOOK_SECONDS \
                    if self._clock_rules_scheduled() else float("inf")
        if time.monotonic() >= self._next_held_reports:
            self._next_held_reports = time.monotonic() + HELD_REPORTS_EVERY
            self.store.reports.expire_held(self.clock())

    def _clock_rules_running(self) -> bool:
        """Something the clock moves on each second: an open incident (its ladder, expiry,
        drill report), a broadcast still to report progress, a check-in waiting for 平安."""
        return bool(self.store.incidents.all("open") or self.store.outbox.broadcasts_running()
                    or self.store.check_ins.in_progress())

    def _clock_rules_scheduled(self) -> bool:
        """Something the clock starts by itself: a drill slot, a household's check-in window."""
        return bool(self.settings.drill_schedule) or any(
            h.check_in for h in self.roster.households)

    def _seconds_to_next_timer(self) -> float:
        """How long the event loop may wait for an event: until the siren is due off, a
        deferred event is due for its own commit, the ladder's next second (only while an
        incident is open or a broadcast runs), the held reports' next look; IDLE_LOOK_SECONDS
        at most (the roster's generation and the clock, see there)."""
        now = time.monotonic()
        due = [now + IDLE_LOOK_SECONDS, self._next_policy_tick, self._next_held_reports]
        if self.core.siren.off_at is not None:
            due.append(self.core.siren.off_at)
        deferred = self.store.deferred_since()
        if deferred is not None:
            due.append(deferred + DEFERRED_EVENTS_SECONDS)
        return max(0.0, min(due) - now)
