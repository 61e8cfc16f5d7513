"""FakeModem: a modem in process, behind the same methods the daemon uses on SerialModem.

gpiozero tests its devices against a mock pin factory and keeps a few tests on real pins; this is
that move for the modem. The daemon's workers and event loop cannot tell it from SerialModem: it
puts the same events (``events``) on the same queue, hands received SMS to the same
``keep_incoming`` callback and raises the same errors. Behind it is ``FakeNetwork`` (phones,
faults, virtual time) instead of AT over a pty, so the alarm policy runs in milliseconds; the
wiring itself (pyserial, python-gsmmodem-new, the AT dialects) stays covered by the end-to-end
tests through the emulator.

What takes time on a real network takes it here in virtual time (the network's clock moves on
by the emulator's realistic durations): a submit 2.5-3 s per part (tail to 15 s), call setup
3.5-7 s, unanswered calls dropped by the network after 30 s, reports seconds after the submit.
The work of several fake modems is laid end to end in virtual time (the clock is shared), a
slower village than the field, never a faster one.

Chosen by config: ``port = "fake://<network>"`` in ``[[modems]]``, naming a FakeNetwork a test
registered in the same process (``build_modems`` in the composition root).
"""
from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime

from edgebox.adapters.modem import readings
from edgebox.adapters.modem.call_control import ACK_KEY
from edgebox.adapters.modem.dialect import Dialect
from edgebox.adapters.modem.events import (BootLineSeen, DeliveryReport, IncomingCall,
                                           IncomingSms, ModemLost, RingOutcome, UssdReply)
from edgebox.adapters.modem.fair_lock import FairLock
from edgebox.adapters.modem.fake_network import FakeNetwork, RingRecord
from edgebox.adapters.modem.fake_port import SCHEME
from edgebox.adapters.modem.serial_modem import submit_pdus
from edgebox.adapters.modem.speech_out import Speech
from edgebox.emulator.modem_errors import CMS_TEXT
from edgebox.emulator.profiles import Profile
from edgebox.emulator.sms_codec import DELIVERED, FAILED, decode_submit_pdu
from edgebox.errors import ConfigError, ModemError, ModemRestarted, ModemTimeout
from edgebox.i18n import Text

log = logging.getLogger(__name__)

COMMAND_SECONDS = 0.2  # one short AT exchange (ATH, AT+CHLD=0, a health query) on a real modem
USSD_SECONDS = 4.0  # the balance answer, seconds after the request
RING_INTERVAL = Profile.ring_interval  # between RINGs of one call (DESIGN.md section 5)
RING_SLICE = 1.0  # a ring call's virtual time passes in slices, so a hang-up request is seen
# A restart in place: the SIM800's boot lines (DESIGN.md section 5); what it resets.
BOOT_LINE = "RDY"
SETTINGS_RESET = ["clip", "cnmi"]


def fake_modem_for(settings, config, events: queue.Queue, index: int) -> "FakeModem":
    """The FakeModem a ``[[modems]]`` table with a ``fake://`` port asks for."""
    name = settings.port[len(SCHEME):]
    network = FakeNetwork.named(name)
    if network is None:
        raise ConfigError(f"modems[{index}].port", Text(
            "config.no_fake_network", "fake network '{name}' does not exist: a fake modem works "
            "only inside a process (a test) that made that network", name=name))
    return FakeModem(network, settings.name, events, port=settings.port,
                     delivery_reports=config.modem_delivery_reports,
                     sms_timeout=config.modem_sms_timeout)


class FakeModem:
    def __init__(self, network: FakeNetwork, name: str = "modem",
                 events: queue.Queue | None = None, port: str = "", delivery_reports: bool = True,
                 sms_timeout: float = 60):
        self.network = network
        self.name = name
        self.port = port or f"{SCHEME}{name}"
        self.events: queue.Queue = events if events is not None else queue.Queue()
        self.identity = "edgebox FakeModem"
        # Speaks into calls and hears keys, like the SIMCom modules most boxes carry.
        self.dialect = Dialect("fake", None, "AT+CTTS")
        self.in_outgoing_call = False
        self._delivery_reports = delivery_reports
        self._sms_timeout = sms_timeout
        self._lock = threading.RLock()
        # One AT exchange at a time, as on a serial port, with SerialModem's fair lock: a
        # hang-up goes ahead of the next submit but waits for the one in progress, so a caller
        # meanwhile rings on.
        self._exchange = FairLock()
        self.hang_ups_waiting = 0  # hang-ups waiting for the port now
        self._open = False
        self._present = True  # False: unplugged, the port is gone until plugged in again
        self._keep = None
        self._stored: list[tuple[IncomingSms, datetime]] = []  # on the SIM, not yet kept
        # Calls ringing the box that nobody hung up on: id -> (number, rings left).
        self._ringing: dict[int, tuple[str, int]] = {}
        self._shown: set[str] = set()  # callers shown since the last hang-up (same_call)
        self._reference = 0
        self._restart_line: str | None = None
        self._settings_lost = False
        network.modems[name] = self

    # -- life cycle (as SerialModem) -----------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._open and self._present

    def start(self) -> None:
        with self._lock:
            if not self._present:
                raise ModemError(f"modem {self.name} on {self.port} did not answer: port gone")
            self._open = True
            self._restart_line, self._settings_lost = None, False
            stored, self._stored = self._stored, []
        for sms, sent_at in stored:  # what reached the SIM while the box was not listening
            self._hand_over(sms, sent_at, swept=True)

    def stop(self) -> None:
        self._open = False

    def keep_incoming(self, keep) -> None:
        self._keep = keep

    def restart_seen(self) -> str | None:
        with self._lock:
            line, self._restart_line = self._restart_line, None
            return line

    def restart_suspected(self) -> tuple[str, list[str]] | None:
        return None  # its restarts are seen (restart_seen) or found by the health check

    def reinitialise(self) -> None:
        self._check_open()
        self._pass(COMMAND_SECONDS * 10)  # the library's init and ours: about a dozen commands
        with self._lock:
            self._restart_line, self._settings_lost = None, False

    def read_announced(self, timeout: float = 2.0) -> None:
        """Nothing waits to be read: SMS and calls are handed over as they arrive."""

    # -- actions (as SerialModem) --------------------------------------------------------------

    def reject_call(self) -> None:
        """ATH (or AT+CHLD=0 for a call waiting while we ring a member): every call ringing
        the box now is hung up on, free for the caller."""
        self._check_open()
        how = "AT+CHLD=0" if self.in_outgoing_call else "ATH"
        with self._lock:
            self.hang_ups_waiting += 1
        try:
            self._exchange.acquire(first=True)
        finally:
            with self._lock:
                self.hang_ups_waiting -= 1
        try:
            self._pass(COMMAND_SECONDS)
            with self._lock:
                ended, self._ringing = self._ringing, {}
                self._shown.clear()
        finally:
            self._exchange.release()
        for call_id, (number, _) in ended.items():
            self.network.record("call_received", id=call_id, number=number, outcome="rejected",
                                modem=self.name, by=how)

    def send_sms(self, number: str, text: str) -> list[int]:
        self._check_open()
        references = []
        phone = self.network.phone(number)
        parts = [decode_submit_pdu(str(pdu))  # what the network reads: the emulator's codec
                 for pdu in submit_pdus(number, text, self._next_reference(),
                                        self._delivery_reports)]
        for part in parts:
            with self._exchange:
                references.append(self._submit(number, phone, part))
        # One entry per message, as the emulator logs it: the text as the network decoded it.
        self.network.record("sms_sent", number=number, text="".join(p.text for p in parts),
                            modem=self.name, references=references, parts=len(parts))
        return references

    def _submit(self, number: str, phone, part) -> int:
        """One part through the network: its +CMGS reference, or the error the modem gives."""
        state, cc = self.network.state, self.network.country_code
        if state.take_stuck("AT+CMGS"):
            self._pass(self._sms_timeout)
            raise ModemTimeout(f"modem {self.name} did not answer 'AT+CMGS' in time")
        code = 331 if not state.registered else state.take_sms_error(number, cc)
        self.network.cell_busy()  # a held cell keeps the submit until it lets go
        self._pass(self.network.latency.submit_seconds())
        if not self.alive:  # unplugged during the submit
            raise ModemError(f"modem {self.name} failed on 'AT+CMGS': port gone")
        if self._restart_line:
            raise ModemRestarted(f"modem {self.name} restarted during the submit")
        if code is not None:
            self.network.record("sms_failed", number=number, code=code, modem=self.name)
            raise ModemError(f"modem {self.name} refused the SMS to {number}: "
                             f"+CMS ERROR: {code} ({CMS_TEXT.get(code, 'unknown')})")
        reference = self._next_reference()  # the network's +CMGS reference for this part
        phone.receive(part)
        if part.status_report and phone.delivery != "none":
            self._schedule_report(reference, phone.delivery == "delivered")
        return reference

    @property
    def speech_mechanism(self) -> str:
        return "tts"  # it speaks the text, as SerialModem's TTS fallback does

    def ring(self, number: str, max_seconds: float, speech: Speech | str | None = None,
             stop: threading.Event | None = None,
             ring_for: float | None = None) -> RingOutcome:
        """Ring ``number`` as the network would: set-up, alerting until the member answers or
        the network gives up, their key, our hang-up at ``max_seconds`` or on ``stop`` (or
        ``ring_for`` seconds after the phone starts ringing). ``speech`` as SerialModem takes
        it; the network records its text."""
        speech = Speech.of(speech)
        speech = speech.text if speech is not None else None
        self._check_open()
        callee = self.network.phone(number).callee
        latency = self.network.latency
        setup = latency.setup_seconds()
        if ring_for is not None:
            max_seconds = min(max_seconds, setup + ring_for)
        give_up = setup + latency.ring_timeout
        self.in_outgoing_call = True
        try:
            result, end, answered_at, spoken = self._ring_timeline(callee, setup, give_up,
                                                                   max_seconds, speech)
            elapsed = 0.0
            while elapsed < end:
                if stop is not None and stop.is_set():
                    result, end = "cancelled", elapsed
                    spoken = answered_at is not None and elapsed >= answered_at and bool(speech)
                    break
                step = min(RING_SLICE, end - elapsed)
                self._pass(step)
                elapsed += step
            alerting = max(0.0, min(end, give_up, answered_at or end) - setup)
        finally:
            self.in_outgoing_call = False
        self._pass(COMMAND_SECONDS)  # our ATH
        if spoken:
            self.network.record("tts", number=number, text=speech, modem=self.name)
        phone = self.network.phone(number)
        phone.rings.append(RingRecord(self.network.clock.now(), result,
                                      speech if spoken else None, self.name))
        self.network.record("call_placed", number=number, outcome=result, modem=self.name,
                            alerting_seconds=round(alerting, 2))
        return RingOutcome(result, round(alerting, 2), spoken)

    @staticmethod
    def _ring_timeline(callee, setup: float, give_up: float, max_seconds: float,
                       speech: str | None) -> tuple[str, float, float | None, bool]:
        """(result, when the call ends, when it was answered or None, spoken) for a call
        nobody stops, in seconds from the dial."""
        if callee.busy:
            return "busy", min(setup, max_seconds), None, False
        if setup >= max_seconds:
            return "hung_up", max_seconds, None, False
        answer = None if callee.answer_after is None else setup + callee.answer_after
        if answer is None or answer >= min(give_up, max_seconds):
            if give_up < max_seconds:
                return "no_answer", give_up, None, False
            return "hung_up", max_seconds, None, False
        end, result = max_seconds, "answered"  # we listen for the key until the time is up
        keys = callee.press or ""
        if ACK_KEY in keys and answer + callee.press_after * (keys.index(ACK_KEY) + 1) < end:
            end, result = answer + callee.press_after * (keys.index(ACK_KEY) + 1), "acknowledged"
        if callee.hangup_after is not None and answer + callee.hangup_after < end:
            end, result = answer + callee.hangup_after, "answered"
        return result, end, answer, bool(speech)

    def _next_reference(self) -> int:
        self._reference = (self._reference + 1) % 256
        return self._reference

    def health(self) -> readings.HealthReading:
        self._check_open()
        self._pass(COMMAND_SECONDS * 6)
        state = self.network.state
        reading = readings.HealthReading(
            signal=None if state.rssi == 99 else state.rssi,
            registration=("roaming" if state.roaming else "home") if state.registered
            else "searching",
            technology="2G", sim="READY", operator="CHINA MOBILE",
            network_time=self.network.clock.now())
        if self._settings_lost:
            reading.settings_off = list(SETTINGS_RESET)
        return reading

    def request_balance(self, code: str) -> None:
        self._check_open()
        self._pass(COMMAND_SECONDS)
        text = self.network.state.balance_text
        self.network.clock.schedule(USSD_SECONDS, lambda: self.events.put(
            UssdReply(text, self.name)))

    def reset(self) -> None:
        """AT+CFUN=1,1: the modem restarts; like a USB modem it is gone until reopened."""
        self._check_open()
        self.network.record("modem_reset", modem=self.name)
        self.stop()

    # -- what the network does to the modem ----------------------------------------------------

    def incoming_call(self, number: str, rings: int = 10) -> int:
        call_id = self.network.next_call_id()
        if not self.alive or not self.network.state.registered:
            self.network.record("call_received", id=call_id, number=number,
                                outcome="unreachable", modem=self.name)
            return call_id
        with self._lock:
            self._ringing[call_id] = (number, rings)
        self._announce(call_id)
        return call_id

    def _announce(self, call_id: int) -> None:
        """One RING (+CLIP, or +CCWA while we ring a member), then the next a few virtual
        seconds later while nobody hangs up; the caller gives up after their last ring."""
        with self._lock:
            if call_id not in self._ringing:
                return
            number, left = self._ringing[call_id]
            if left <= 0:
                del self._ringing[call_id]
                self.network.record("call_received", id=call_id, number=number,
                                    outcome="caller_gave_up", modem=self.name)
                return
            self._ringing[call_id] = (number, left - 1)
            if self._settings_lost:  # +CLIP back at its power-up default: RING alone
                event = IncomingCall(None, None, modem=self.name)
            else:
                digits, ton = self._presented(number)
                event = IncomingCall(digits, ton, digits in self._shown, self.name,
                                     waiting=self.in_outgoing_call)
                self._shown.add(digits)
        self.events.put(event)
        interval = self.network.latency.ring_seconds(RING_INTERVAL)
        self.network.clock.schedule(interval, lambda: self._announce(call_id))

    def _presented(self, number: str) -> tuple[str, int]:
        """As +CLIP shows it: international with its '+' (type 145), else national (129)."""
        return number, 145 if number.startswith("+") else 129

    def incoming_sms(self, number: str, text: str) -> None:
        sms, sent_at = IncomingSms(number, text, self.name), self.network.clock.now()
        if not self.alive:
            with self._lock:
                self._stored.append((sms, sent_at))  # on the SIM until the next start's sweep
            return
        self._hand_over(sms, sent_at, swept=False)

    def _hand_over(self, sms: IncomingSms, sent_at: datetime, swept: bool) -> None:
        if self._keep is None:
            self.events.put(sms)
            return
        try:
            self._keep(sms, sent_at, swept)
        except Exception:  # the keeper failed: the copy stays on the SIM for the next start
            log.exception("modem %s: keeping the SMS from %s failed", self.name, sms.number)
            with self._lock:
                self._stored.append((sms, sent_at))

    def unplug(self) -> None:
        """The USB modem drops off the bus: the port fails, the daemon hears ModemLost."""
        self._present = False
        self.events.put(ModemLost("port gone", self.name))

    def plug_in(self) -> None:
        self._present = True

    def restart_in_place(self, seen: bool = True) -> None:
        """A brown-out: the modem reboots on the open port and its settings go back to power-up
        defaults. ``seen``: its boot lines reached us; otherwise only the health check shows it
        (and until then callers ring without their number, +CLIP being off)."""
        with self._lock:
            self._settings_lost = True
            if seen:
                self._restart_line = BOOT_LINE
        if seen:  # as SerialModem's reader does: the idle worker looks at once
            self.events.put(BootLineSeen(BOOT_LINE, self.name))
        self.network.record("modem_restarted", modem=self.name, seen=seen)

    # -- plumbing ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self.alive:
            raise ModemError(f"modem {self.name} on {self.port} is not connected")

    def _pass(self, seconds: float) -> None:
        """The modem is busy for ``seconds`` of virtual time."""
        self.network.clock.advance(seconds)

    def _schedule_report(self, reference: int, delivered: bool) -> None:
        report = DeliveryReport(reference, delivered, True, DELIVERED if delivered else FAILED,
                                self.name)
        self.network.clock.schedule(self.network.latency.report_seconds(),
                                    lambda: self.events.put(report))
