"""ModemWorker: one modem's whole life in one thread.

It drains the shared outbox (each worker claims the most urgent delivery it can carry, so SMS
spread over all modems and each modem holds at most one voice call), checks health when idle,
and climbs the recovery ladder when the modem stops answering:

    command timeouts → reset (AT+CFUN=1,1) → reopen the port (by its configured path, so a
    stable symlink is followed to wherever the modem came back) → the power-cycle command →
    a report to the office, then keep trying.

A modem that restarts in place (its boot lines seen, or the health check finding +CLIP, +CNMI
or echo back at their power-up values) is initialised again on the open port.

A modem whose sends keep failing is taken out of service for a while; what it could not send
goes back to the outbox for the others (``send_failures`` says whose fault a failure is).

With nothing to do the worker sleeps until it is woken or until its next timer: the earliest
pending delivery's back-off ending (one read of the queue, no write lock), the next health
check, the end of an out-of-service spell, and LOOK_SECONDS at most. The daemon wakes it when
it plans work (after the call is rejected, on the alarm path: a worker woken by the alarm's
commit would put its first submit before the ATH), when stopping and when a port is lost, and
so does the modem printing a boot line (it may have restarted in place). A writer that wakes
nobody (the disk-full notice, so that the alarm being committed goes out first; the hub's
summary from the uploader's thread) is found within LOOK_SECONDS.

The ring call and how it is ended early are ``ring_call``'s; the commands run on the box
(power cycle, clock) are ``system_commands``'s. What the worker reads of the config is its
``WorkerSettings`` (worker_settings), built in the composition root (edgebox.daemon.app).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import replace
from datetime import datetime
from typing import Callable

from edgebox.adapters.modem.events import IncomingSms
from edgebox.daemon.call_speech import CallSpeech
from edgebox.daemon.ports import WorkerStore
from edgebox.daemon.ring_call import RingCall
from edgebox.daemon.send_failures import OUT_OF_SERVICE, RESET, SendFailures
from edgebox.daemon.send_recorder import SendRecorder
from edgebox.daemon.system_commands import offer_network_time, power_cycle
from edgebox.daemon.thread_names import label_threads
from edgebox.daemon.worker_events import ModemOutage
from edgebox.daemon.worker_settings import WorkerSettings
from edgebox.domain import alarm
from edgebox.errors import ModemError
from edgebox.store.outbox_rows import DeliveryRow

log = logging.getLogger(__name__)

REOPEN_BACKOFF = (1, 2, 5, 10, 30)
REOPENS_BEFORE_POWER_CYCLE = 3
LOOK_SECONDS = 30.0  # the longest an idle worker sleeps (see the module's docstring)
CLAIM_AGAIN_SECONDS = 0.05  # after a claim another modem won, the shortest wait: never a spin


class ModemWorker:
    def __init__(self, modem_settings, settings: WorkerSettings, store: WorkerStore, modem,
                 clock: Callable[[], datetime], stop: threading.Event, events: queue.Queue,
                 speech: CallSpeech):
        """``modem_settings``: the modem's [[modems]] table (config.ModemSettings)."""
        self.name = modem_settings.name
        self.modem_settings = modem_settings
        self.settings = settings
        self.store = store
        self.modem = modem
        self.clock = clock
        self.kinds = ("sms", "call") if modem_settings.voice else ("sms",)
        self.wake = threading.Event()
        self.state = "starting"
        self._stop = stop
        # What this worker tells the event loop (an SMS kept, a key pressed, an outage) goes
        # on its queue as an event: the worker never calls into the alarm core.
        self._events = events
        self.calls = RingCall(self.name, store, modem, clock, events, speech, settings.ring)
        # Whose fault each failed delivery is: the modem's or the member's number's.
        self.failures = SendFailures(settings.max_attempts, settings.retry_seconds,
                                     settings.out_of_service_after)
        # The next delivery, claimed right after the SMS before it went out (see _send);
        # sent on the next step, or handed back if this modem cannot.
        self._claimed: DeliveryRow | None = None
        # Records each sent SMS while the modem submits the next (see send_recorder).
        self.recorder = SendRecorder(self.name)
        self._reopens = 0
        self._outage_reported = False
        self._next_health = 0.0
        self._back_at = 0.0
        self._thread: threading.Thread | None = None
        # Monotonic time of the loop's latest turn: the systemd watchdog pings only while fresh
        # or while the worker sleeps for want of work (``asleep``: a wait is not a stuck step).
        self.heartbeat = time.monotonic()
        self.asleep = False
        # Seconds the last idle wait was for, for tests and the curious.
        self.idle_wait: float | None = None
        self.turns = 0  # steps taken: a test waits for the next one instead of for time
        # What the modem receives is in the store before the modem deletes its copy.
        modem.keep_incoming(self._keep_sms)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"worker-{self.name}",
                                        daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread:
            self._thread.join(timeout)

    @property
    def up(self) -> bool:
        """Open and in service: it takes its share of an alarm's fan-out now."""
        return self.state != "out_of_service" and self.modem.alive

    def stalled(self, limit: float) -> bool:
        """The thread died, or one step has taken longer than ``limit`` seconds."""
        dead = self._thread is not None and not self._thread.is_alive()
        return dead or (not self.asleep and time.monotonic() - self.heartbeat > limit)

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self.heartbeat = time.monotonic()
            self.turns += 1
            try:
                self._step()
            except Exception:  # the worker must outlive any one bad step
                log.exception("modem %s worker step failed", self.name)
                self._stop.wait(1)
        self._hand_back_claimed("the box is stopping")
        self.recorder.close()

    def _sleep(self, seconds: float | None) -> None:
        """Wait until woken, or ``seconds`` (None: no limit). The wake flag was cleared at the
        start of the step, before it looked for work: a wake-up since then ends this at once."""
        self.idle_wait = seconds
        self.asleep = True
        try:
            self.wake.wait(None if seconds is None else max(0.0, seconds))
        finally:
            self.asleep = False

    def _step(self) -> None:
        """One turn: the modem looked after if it needs it; else the next delivery claimed and
        sent (an alarm's path: ``_claim``, ``_send``); else a health check when one is due;
        else a sleep until there is work."""
        self.wake.clear()
        if self._look_after_modem():
            return
        delivery, due_in = self._claim()
        if delivery is not None and delivery.kind == alarm.SMS:
            self._send(delivery)
            return
        # Everything but the next SMS waits for the SMS before it to be recorded: the log keeps
        # the order things happened in, and what reads the store sees it as sent.
        self.recorder.flush()
        if delivery is not None:
            self._call(delivery)
        elif time.monotonic() >= self._next_health:
            self._check_health()
        else:
            self._sleep(self.next_wake(due_in))

    # -- delivering: claim, send, record -------------------------------------------------------

    def _claim(self) -> tuple[DeliveryRow | None, float | None]:
        """The next delivery this modem can carry: the one claimed with the SMS before (see
        ``_send``), or the most urgent pending one whose back-off has passed, in the order
        the alarm's plan gave (the outbox hands them out by priority, then as planned). With
        nothing to claim now, also the seconds until the earliest pending one may be."""
        delivery, self._claimed = self._claimed, None
        if delivery is not None:
            return delivery, None
        due_in = self._due_in()
        if due_in is not None and due_in <= 0:
            delivery = self.store.outbox.claim_next(self.clock(), self.kinds, self.name)
            if delivery is None:  # another modem took it: when is the next one due?
                due_in = self._due_in()
                due_in = None if due_in is None else max(CLAIM_AGAIN_SECONDS, due_in)
        return delivery, due_in

    def _send(self, d: DeliveryRow) -> None:
        """The SMS submitted (AT+CMGS, by the modem adapter), the next delivery claimed, and
        this one recorded as sent on the recorder's thread while the modem goes on."""
        try:
            refs = self.modem.send_sms(d.phone, d.text)
        except ModemError as exc:
            self.recorder.flush()
            self._failed(d, exc)
            return
        sent_at = self.clock()
        # An SMS that reached the box during this submit (an acknowledgement, a cancel, what
        # the caller is texting about) is read before the next claim, not after the next
        # submit: it may change what the fan-out still has to send.
        self.modem.read_announced()
        # The next delivery is claimed first (a commit that need not wait for the disk: a crash
        # sends a claimed SMS again either way), then this one is recorded on the recorder's
        # thread while the modem already submits the next: the disk's wait is off the gap
        # between two submits, where the modem would stand idle for it.
        try:
            self._claimed = self.store.outbox.claim_next(self.clock(), self.kinds, self.name)
        finally:
            self.recorder.record(lambda: self.store.outbox.finish(
                sent_at, d.id, "sent", "sms_sent", modem_ref=",".join(map(str, refs)),
                parts=len(refs)))
        self.failures.succeeded()

    def _call(self, d: DeliveryRow) -> None:
        try:
            self.calls.ring(d)
        except ModemError as exc:
            self._failed(d, exc)
            return
        self.failures.succeeded()

    def _due_in(self) -> float | None:
        """Seconds until the earliest pending delivery this modem can carry may be claimed
        (negative: it may now), None when none is pending."""
        due = self.store.outbox.next_due(self.kinds)
        return None if due is None else (due - self.clock()).total_seconds()

    def next_wake(self, due_in: float | None) -> float:
        """Seconds an idle worker may sleep: until the next health check, or the earliest
        pending delivery's back-off ending (``due_in``) if that is sooner, LOOK_SECONDS at
        most. Monotonic: a wall clock stepped meanwhile moves the back-offs with it
        (ClockWatch), not this wait."""
        due = [self._next_health - time.monotonic(), LOOK_SECONDS]
        if due_in is not None:
            due.append(max(0.0, due_in))
        return min(due)

    # -- receiving ---------------------------------------------------------------------------

    def _keep_sms(self, sms: IncomingSms, sent_at: datetime | None, swept: bool) -> None:
        """A whole SMS the modem received (on its notification thread): kept in the store's
        inbox, then handed to the event loop. Returning is what lets the modem delete its
        copy; a store failure raises, and the copy stays for the next start."""
        inbox_id = self.store.inbox.keep_sms(self.clock(), self.name, sms.number, sms.text,
                                             sent_at, read_again=swept)
        if inbox_id is None:  # read again from the modem after a crash: kept (and acted on) before
            log.info("SMS from %s on modem %s was kept before", sms.number, self.name)
            return
        self._events.put(replace(sms, inbox_id=inbox_id))

    # -- the ring call, failures ---------------------------------------------------------------

    def recheck_ring(self) -> bool:
        """Hang up the ring call in progress if it became pointless (see RingCall.recheck)."""
        return self.calls.recheck()

    def _hand_back_claimed(self, why: str) -> None:
        """A delivery claimed for this modem that it will not carry now goes back to the
        outbox for any modem; the try does not count against it."""
        self.recorder.flush()
        delivery, self._claimed = self._claimed, None
        if delivery is not None:
            now = self.clock()
            self.store.outbox.retry(now, delivery.id, why, now, count_attempt=False)
            self.wake.set()

    def _failed(self, d: DeliveryRow, exc: ModemError) -> None:
        """The delivery back in the outbox (see send_failures); the modem reset or taken out
        of service when that is what the failures say."""
        action = self.failures.failed(self.store.outbox, self.clock(), d, exc, self.modem.alive)
        if action == RESET:
            self._reset(str(exc))
        elif action == OUT_OF_SERVICE:
            self._take_out_of_service(str(exc))

    def _take_out_of_service(self, why: str) -> None:
        minutes = self.settings.out_of_service_minutes
        self.state = "out_of_service"
        self._back_at = time.monotonic() + minutes * 60
        self.store.append_event(self.clock(), "modem_out_of_service", modem=self.name,
                                minutes=minutes, error=why)

    # -- the recovery ladder -----------------------------------------------------------------

    def _look_after_modem(self) -> bool:
        """The modem out of service, lost or restarted in place: this turn is its care (True),
        not a delivery."""
        if self.state == "out_of_service":
            if time.monotonic() >= self._back_at:
                self.state = "recovering"
                self.store.append_event(self.clock(), "modem_back_in_service", modem=self.name)
            else:
                self._sleep(self._back_at - time.monotonic())
            return True
        if not self.modem.alive:
            self._hand_back_claimed("modem lost")
            self._reopen()
            return True
        restart = self.modem.restart_seen()
        if restart is not None:
            self._reinitialise(detected=restart)
            return True
        suspected = self.modem.restart_suspected()
        if suspected is not None:
            self._reinitialise(detected=suspected[0], settings_off=suspected[1])
            return True
        return False

    def _reset(self, why: str) -> None:
        self.store.append_event(self.clock(), "modem_reset", modem=self.name, error=why)
        try:
            self.modem.reset()
        except ModemError as exc:
            log.info("modem %s did not take the reset command: %s", self.name, exc)
        self.modem.stop()

    def _reinitialise(self, detected: str, settings_off: list[str] | None = None) -> None:
        """The modem restarted in place (a brown-out on a weak supply: the port stays, the
        settings go back to power-up defaults), seen by its boot lines or by the health check
        finding settings off. Initialise it again on the open port; what was claimed stays
        claimed and goes out next. A modem that will not take it climbs the usual ladder."""
        try:
            self.modem.reinitialise()
        except ModemError as exc:
            log.warning("modem %s restarted and could not be initialised again: %s",
                        self.name, exc)
            self._hand_back_claimed("modem restarted")
            self.modem.stop()  # the next step reopens it, with the ladder's back-off
            return
        self._next_health = time.monotonic() + self.settings.health_minutes * 60
        self.store.append_event(self.clock(), "modem_restarted", modem=self.name,
                                detected=detected, settings_off=settings_off or [])

    def _reopen(self) -> None:
        self.state = "recovering"
        try:
            self.modem.stop()
            self.modem.start()
        except ModemError as exc:
            self._reopens += 1
            self.store.append_event(self.clock(), "modem_unavailable", modem=self.name,
                                    error=str(exc), attempt=self._reopens)
            if self._reopens == REOPENS_BEFORE_POWER_CYCLE and self.modem_settings.power_cycle:
                power_cycle(self.store, self.clock(), self.name, self.modem_settings.power_cycle)
            if self._reopens == REOPENS_BEFORE_POWER_CYCLE + 1 and not self._outage_reported:
                self._outage_reported = True
                self._events.put(ModemOutage(self.name))
            delay = REOPEN_BACKOFF[min(self._reopens - 1, len(REOPEN_BACKOFF) - 1)]
            self._stop.wait(delay)
            return
        self.state = "ready"
        label_threads()  # the port's reader threads are new
        self._reopens = 0
        self._outage_reported = False
        self._next_health = 0.0
        self.store.append_event(self.clock(), "modem_ready", modem=self.name,
                                port=self.modem.port, identity=self.modem.identity,
                                family=self.modem.dialect.family,
                                speech=self.modem.speech_mechanism)

    # -- health ------------------------------------------------------------------------------

    def _check_health(self) -> None:
        self._next_health = time.monotonic() + self.settings.health_minutes * 60
        reading = self.modem.health()
        now = self.clock()
        self.store.health.record(
            now, self.name, signal=reading.signal, registration=reading.registration,
            technology=reading.technology, sim=reading.sim, operator=reading.operator,
            network_time=reading.network_time.isoformat() if reading.network_time else None,
            error="; ".join(reading.errors) or None)
        offer_network_time(self.store, now, self.name, reading.network_time,
                           self.settings.clock)
        if reading.settings_off:  # restarted with its boot lines lost, or reset by someone
            self._reinitialise(detected=self.modem.restart_seen() or "settings",
                               settings_off=reading.settings_off)
        if self.settings.balance_ussd:
            try:
                self.modem.request_balance(self.settings.balance_ussd)
            except ModemError as exc:
                log.info("balance request on %s failed: %s", self.name, exc)
