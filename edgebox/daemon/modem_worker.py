"""ModemWorker: one modem's whole life in one thread.

It drains the shared outbox (each worker claims the most urgent delivery it can carry, so SMS
spread over all modems and each modem holds at most one voice call), checks health when idle,
and climbs the recovery ladder when the modem stops answering:

    command timeouts → reset (AT+CFUN=1,1) → reopen the port (by its configured path, so a
    stable symlink is followed to wherever the modem came back) → the power-cycle command →
    a report to the office, then keep trying.

A modem that restarts in place (its boot lines seen, or the health check finding +CLIP, +CNMI
or echo back at their power-up values) is initialised again on the open port.

A modem whose sends keep failing is taken out of service for a while (like smstools3); what it
could not send goes back to the outbox for the others. A delivery that fails because the modem
failed does not use up one of its own attempts: only the member's number failing does that.

With nothing to do the worker sleeps until it is woken or until its next timer: the earliest
pending delivery's back-off ending (one read of the queue, no write lock), the next health
check, the end of an out-of-service spell, and LOOK_SECONDS at most. The daemon wakes it when
it plans work (after the call is rejected, on the alarm path: a worker woken by the alarm's
commit would put its first submit before the ATH), when stopping and when a port is lost, and
so does the modem printing a boot line (it may have restarted in place). A writer that wakes
nobody (the disk-full notice, so that the alarm being committed goes out first; the hub's
summary from the uploader's thread) is found within LOOK_SECONDS.
"""
from __future__ import annotations

import logging
import queue
import shlex
import subprocess
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable

from edgebox import __built__
from edgebox.adapters.modem.events import IncomingSms, RingOutcome
from edgebox.daemon.call_speech import CallSpeech
from edgebox.daemon.send_recorder import SendRecorder
from edgebox.daemon.thread_names import label_threads
from edgebox.daemon.worker_events import KeyAcknowledged, ModemOutage
from edgebox.domain import alarm
from edgebox.domain.acks import alarm_needs_line, ring_still_wanted
from edgebox.domain.clock import clock_decision
from edgebox.domain.ring_plan import flash_limit
from edgebox.errors import ModemError, ModemRestarted, ModemTimeout

log = logging.getLogger(__name__)

REOPEN_BACKOFF = (1, 2, 5, 10, 30)
REOPENS_BEFORE_POWER_CYCLE = 3
TIMEOUTS_BEFORE_RESET = 2
LOOK_SECONDS = 30.0  # the longest an idle worker sleeps (see the module's docstring)
CLAIM_AGAIN_SECONDS = 0.05  # after a claim another modem won, the shortest wait: never a spin


class ModemWorker:
    def __init__(self, settings, config, store, modem, clock: Callable[[], datetime],
                 stop: threading.Event, events: queue.Queue,
                 speech: CallSpeech | None = None):
        self.name = settings.name
        self.settings = settings
        self.config = config
        self.store = store
        self.modem = modem
        self.clock = clock
        self.kinds = ("sms", "call") if settings.voice else ("sms",)
        self.speech = speech if speech is not None else CallSpeech.from_config(config)
        self.wake = threading.Event()
        self.state = "starting"
        self._stop = stop
        # What this worker tells the event loop (an SMS kept, a key pressed, an outage) goes
        # on its queue as an event: the worker never calls into the alarm core.
        self._events = events
        # The ring call in progress and how to end it early: an acknowledgement or a cancel
        # arriving while a member's phone rings (or while they listen) makes the rest of that
        # call pointless. Whether it still is, is read from what the event loop committed
        # (``_ring_wanted``) just before dialling and again on every ``recheck_ring``, both
        # under ``_ring_lock``, so a decision committed at any moment is seen by one of the two.
        self._ring_lock = threading.Lock()
        self._ringing: dict | None = None
        self._hang_up = threading.Event()
        # Numbers whose sends failed since this modem's last success (see _failed).
        self._failing_numbers: set[str] = set()
        self._timeouts_in_a_row = 0
        # The next delivery, claimed right after the SMS before it went out (see _send);
        # sent on the next step, or handed back if this modem cannot.
        self._claimed: dict | None = None
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
        self.wake.clear()
        if self.state == "out_of_service":
            if time.monotonic() >= self._back_at:
                self.state = "recovering"
                self.store.append_event(self.clock(), "modem_back_in_service", modem=self.name)
            else:
                self._sleep(self._back_at - time.monotonic())
            return
        if not self.modem.alive:
            self._hand_back_claimed("modem lost")
            self._reopen()
            return
        restart = self.modem.restart_seen()
        if restart is not None:
            self._reinitialise(detected=restart)
            return
        suspected = self.modem.restart_suspected()
        if suspected is not None:
            self._reinitialise(detected=suspected[0], settings_off=suspected[1])
            return
        delivery, self._claimed = self._claimed, None
        due_in = None  # seconds until the earliest pending delivery may be claimed
        if delivery is None:
            due_in = self._due_in()
            if due_in is not None and due_in <= 0:
                delivery = self.store.claim_next_delivery(self.clock(), self.kinds, self.name)
                if delivery is None:  # another modem took it: when is the next one due?
                    due_in = self._due_in()
                    due_in = None if due_in is None else max(CLAIM_AGAIN_SECONDS, due_in)
        if delivery is not None and delivery["kind"] == alarm.SMS:
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

    def _due_in(self) -> float | None:
        """Seconds until the earliest pending delivery this modem can carry may be claimed
        (negative: it may now), None when none is pending."""
        due = self.store.next_delivery_due(self.kinds)
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
        inbox_id = self.store.keep_sms(self.clock(), self.name, sms.number, sms.text, sent_at,
                                       read_again=swept)
        if inbox_id is None:  # read again from the modem after a crash: kept (and acted on) before
            log.info("SMS from %s on modem %s was kept before", sms.number, self.name)
            return
        self._events.put(replace(sms, inbox_id=inbox_id))

    # -- delivering --------------------------------------------------------------------------

    def _send(self, d: dict) -> None:
        try:
            refs = self.modem.send_sms(d["phone"], d["text"])
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
            self._claimed = self.store.claim_next_delivery(self.clock(), self.kinds, self.name)
        finally:
            self.recorder.record(lambda: self.store.finish_delivery(
                sent_at, d["id"], "sent", "sms_sent", modem_ref=",".join(map(str, refs)),
                parts=len(refs)))
        self._succeeded()

    def _call(self, d: dict) -> None:
        try:
            self._ring(d)
        except ModemError as exc:
            self._failed(d, exc)
            return
        self._succeeded()

    def _succeeded(self) -> None:
        self._failing_numbers.clear()
        self._timeouts_in_a_row = 0

    def _ring(self, d: dict) -> None:
        with self._ring_lock:
            wanted = self._ring_wanted(d)
            self._ringing = d if wanted else None
            self._hang_up.clear()
        if not wanted:  # acknowledged or cancelled since it was queued: never dial
            self.store.finish_delivery(self.clock(), d["id"], "cancelled", "call_cancelled")
            return
        seconds, ring_for = self.config.alarm_ring_seconds, None
        if d["purpose"] == "check_in":  # a check-in rings briefly, no words
            seconds = self.config.get("check_in.ring_seconds")
        elif d["purpose"] == "flash":  # 响一声: the member's phone rings a few seconds, no words
            ring_for = self.config.alarm_flash_seconds
            seconds = flash_limit(seconds, ring_for)
        speaking = self.modem.speech_mechanism
        try:
            outcome: RingOutcome = self.modem.ring(d["phone"], seconds,
                                                   speech=self.speech.for_delivery(d),
                                                   stop=self._hang_up, ring_for=ring_for)
        finally:
            with self._ring_lock:
                self._ringing = None
        if self.modem.speech_mechanism != speaking:  # the modem refused a way of speaking
            self.store.append_event(self.clock(), "modem_speech", modem=self.name,
                                    speech=self.modem.speech_mechanism, was=speaking)
        self.store.finish_delivery(self.clock(), d["id"], "sent", "call_placed",
                                   result=outcome.result, spoken=outcome.spoken,
                                   alerting_seconds=outcome.alerting_seconds)
        if outcome.result == "acknowledged":
            self._events.put(KeyAcknowledged(d["id"]))

    def _ring_wanted(self, d: dict) -> bool:
        """The alarm's state as the event loop committed it, read under the domain's rule."""
        if d["purpose"] == "check_in":  # a daily check-in: not while an alarm needs the line
            return not alarm_needs_line(self.store.incidents("open"))
        incident = self.store.incident(d["incident_id"]) if d["incident_id"] else None
        acked = ({a.household_id for a in self.store.acks(incident.id)}
                 if incident is not None else set())
        return ring_still_wanted(d["incident_id"], d["purpose"], d["household_id"], incident,
                                 acked)

    def recheck_ring(self) -> bool:
        """Hang up the ring call in progress if what the event loop committed (an
        acknowledgement, a cancel, a caller joining) makes it pointless now; the event loop
        asks after each such commit. True when a call is being ended."""
        with self._ring_lock:
            if self._ringing is None or self._ring_wanted(self._ringing):
                return False
            self._hang_up.set()
            return True

    def _hand_back_claimed(self, why: str) -> None:
        """A delivery claimed for this modem that it will not carry now goes back to the
        outbox for any modem; the try does not count against it."""
        self.recorder.flush()
        delivery, self._claimed = self._claimed, None
        if delivery is not None:
            now = self.clock()
            self.store.retry_delivery(now, delivery["id"], why, now, count_attempt=False)
            self.wake.set()

    def _failed(self, d: dict, exc: ModemError) -> None:
        now = self.clock()
        modem_fault = isinstance(exc, (ModemTimeout, ModemRestarted)) or not self.modem.alive
        if modem_fault:
            # Not the member's fault: back to the queue at once, for this modem or another.
            self.store.retry_delivery(now, d["id"], str(exc), now, count_attempt=False)
        elif d["attempts"] >= self.config.modem_max_attempts:
            self.store.finish_delivery(now, d["id"], "failed", "delivery_failed", error=str(exc))
        else:
            wait = self.config.modem_retry_seconds * 2 ** (d["attempts"] - 1)
            self.store.retry_delivery(now, d["id"], str(exc), now + timedelta(seconds=wait))
        if isinstance(exc, ModemTimeout):
            self._timeouts_in_a_row += 1
            if self._timeouts_in_a_row >= TIMEOUTS_BEFORE_RESET:
                self._reset(str(exc))
        elif isinstance(exc, ModemRestarted):
            pass  # the modem's fault, not the number's: it is initialised again next step
        elif self.modem.alive:
            # Only sends to that many different numbers failing in a row blame the modem (its
            # SIM, credit, network): a phone that takes no SMS fails each of its retries, and a
            # few such phones in one group must not silence the box for everyone else.
            self._failing_numbers.add(d["phone"])
            if len(self._failing_numbers) >= self.config.modem_out_of_service_after:
                self._take_out_of_service(str(exc))

    def _take_out_of_service(self, why: str) -> None:
        minutes = self.config.modem_out_of_service_minutes
        self.state = "out_of_service"
        self._back_at = time.monotonic() + minutes * 60
        self._failing_numbers.clear()
        self.store.append_event(self.clock(), "modem_out_of_service", modem=self.name,
                                minutes=minutes, error=why)

    # -- the recovery ladder -----------------------------------------------------------------

    def _reset(self, why: str) -> None:
        self._timeouts_in_a_row = 0
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
        self._next_health = time.monotonic() + self.config.modem_health_minutes * 60
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
            if self._reopens == REOPENS_BEFORE_POWER_CYCLE and self.settings.power_cycle:
                self._power_cycle()
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

    def _power_cycle(self) -> None:
        command = self.settings.power_cycle
        try:
            result = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                    timeout=120)
            outcome = f"exit {result.returncode}"
        except (OSError, subprocess.SubprocessError) as exc:
            outcome = str(exc)
        self.store.append_event(self.clock(), "modem_power_cycled", modem=self.name,
                                command=command, outcome=outcome)

    # -- health ------------------------------------------------------------------------------

    def _check_health(self) -> None:
        self._next_health = time.monotonic() + self.config.modem_health_minutes * 60
        reading = self.modem.health()
        now = self.clock()
        self.store.record_health(
            now, self.name, signal=reading.signal, registration=reading.registration,
            technology=reading.technology, sim=reading.sim, operator=reading.operator,
            network_time=reading.network_time.isoformat() if reading.network_time else None,
            error="; ".join(reading.errors) or None)
        self._offer_time(reading.network_time)
        if reading.settings_off:  # restarted with its boot lines lost, or reset by someone
            self._reinitialise(detected=self.modem.restart_seen() or "settings",
                               settings_off=reading.settings_off)
        if self.config.modem_balance_ussd:
            try:
                self.modem.request_balance(self.config.modem_balance_ussd)
            except ModemError as exc:
                log.info("balance request on %s failed: %s", self.name, exc)

    def _offer_time(self, network_time: datetime | None) -> None:
        if not self.config.clock_set_system:
            return
        system_now = datetime.now(timezone.utc)
        action, why = clock_decision(system_now, network_time, __built__,
                                     self.config.clock_max_adjust_hours)
        if action != "set":
            return
        command = self.config.clock_set_command.format(epoch=int(network_time.timestamp()))
        try:
            result = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                    timeout=30)
            outcome = f"exit {result.returncode}"
        except (OSError, subprocess.SubprocessError) as exc:
            outcome = str(exc)
        self.store.append_event(self.clock(), "clock_set", modem=self.name, reason=why,
                                network_time=network_time.isoformat(), outcome=outcome)
