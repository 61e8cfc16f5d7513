"""SerialModem: one GSM modem on a serial port, as the daemon sees it.

The daemon gets one ordered queue of events (IncomingCall, IncomingSms, ModemLost) and three
actions: reject the ringing call, send an SMS, ring a number for a bounded time. Everything is
AT over a real serial device through python-gsmmodem-new (see ``gsm_patched`` for the library's
traps we fix); its PDU codec encodes our SMS, including UCS-2 and concatenated parts.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time

from gsmmodem.exceptions import CommandError, GsmModemException, TimeoutException
from gsmmodem.modem import Sms
from gsmmodem.pdu import encodeSmsSubmitPdu

from edgebox.adapters.modem.events import IncomingCall, IncomingSms, ModemLost, RingOutcome
from edgebox.adapters.modem.gsm_patched import PatchedGsmModem
from edgebox.errors import ModemError, ModemTimeout

log = logging.getLogger(__name__)

CTRL_Z, ESC = "\x1a", "\x1b"
CLIP = re.compile(r'^\+CLIP:\s*"([^"]*)"\s*,\s*(\d+)')
CLCC = re.compile(r'^\+CLCC:\s*(\d+),(\d),(\d),(\d),(\d)(?:,"([^"]*)",(\d+))?')
CALL_ENDED = {"NO CARRIER": "no_answer", "BUSY": "busy", "NO ANSWER": "no_answer"}
CLCC_ACTIVE, CLCC_DIALING, CLCC_ALERTING = 0, 2, 3
POLL_SECONDS = 0.3
STORAGES = ("SM", "ME")  # SIM card, modem memory
# A ring without caller id is only reported once the next RING shows +CLIP did not come with it.
BARE_RINGS_BEFORE_WITHHELD = 2
# The network repeats RING/+CLIP every few seconds until we hang up; the same caller within this
# many seconds is most likely the same call ringing on (it must still be hung up).
SAME_CALL_SECONDS = 3.0


class SerialModem:
    def __init__(self, port: str, baudrate: int = 115200, flow_control: str = "none",
                 pin: str = "", command_timeout: float = 10, sms_timeout: float = 60):
        self.port = port
        self._baudrate = baudrate
        self._flow_control = flow_control
        self._pin = pin or None
        self._command_timeout = command_timeout
        self._sms_timeout = sms_timeout
        self.events: queue.Queue = queue.Queue()
        self._lines: queue.Queue = queue.Queue()
        self._gsm: PatchedGsmModem | None = None
        self._dispatcher: threading.Thread | None = None
        self._call_ended = threading.Event()
        self._call_end_reason = ""
        self._in_outgoing_call = False
        self._bare_rings = 0
        self._last_caller: tuple[str | None, float] = (None, float("-inf"))
        self._sms_reference = 0
        # One AT exchange at a time, where an exchange may be several writes: the library locks
        # each write alone, so between "AT+CMGS=n" and its PDU another thread's AT+CMGR would
        # land inside the '>' prompt and be sent as message text.
        self._exchange = threading.RLock()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Open the port, initialise the modem and pick up SMS that arrived while we were away."""
        self._lines = queue.Queue()  # a fresh queue: the last stop() left its end marker behind
        self._gsm = PatchedGsmModem(self.port, self._baudrate, self._flow_control,
                                    on_line=self._lines.put, on_lost=self._lost,
                                    on_sms=self._library_sms)
        try:
            self._gsm.connect(pin=self._pin, waitingForModemToStartInSeconds=5)
        except TimeoutException as exc:
            self._gsm.close()
            raise ModemTimeout(f"modem on {self.port} did not answer during start-up") from exc
        except (GsmModemException, ModemError) as exc:
            self._gsm.close()
            raise ModemError(f"modem on {self.port} refused start-up: {exc}") from exc
        self._dispatcher = threading.Thread(target=self._dispatch, name="modem-events",
                                            daemon=True)
        self._dispatcher.start()
        self._collect_stored_sms()

    def stop(self) -> None:
        # The dispatcher first: it may still be reading an SMS through the port.
        if self._dispatcher is not None:
            self._lines.put(None)
            self._dispatcher.join(timeout=5)
            self._dispatcher = None
        if self._gsm is not None:
            self._gsm.close()
            self._gsm = None

    @property
    def alive(self) -> bool:
        return self._gsm is not None and self._gsm.alive

    # -- actions ---------------------------------------------------------------------------

    def reject_call(self) -> None:
        """Hang up the ringing call at once: free for the caller, and before the network can
        divert it to voicemail. While we are ringing a member the alarm arrives as a waiting
        call: release only that one (AT+CHLD=0) and keep ringing the member."""
        self._command("AT+CHLD=0" if self._in_outgoing_call else "ATH")

    def send_sms(self, number: str, text: str) -> list[int]:
        """Submit ``text`` to ``number`` (as many parts as it needs); return the message
        references the network gave each part."""
        self._sms_reference = (self._sms_reference + 1) % 256
        # The library's UCS-2 encoder fails on characters beyond the BMP (emoji); an alarm must
        # still go out, so they become '?' rather than stopping the message.
        text = "".join(ch if ord(ch) <= 0xFFFF else "?" for ch in text)
        pdus = encodeSmsSubmitPdu(number, text, reference=self._sms_reference,
                                  requestStatusReport=False)
        references = []
        for pdu in pdus:
            with self._exchange:
                self._command(f"AT+CMGS={pdu.tpduLength}", timeout=self._command_timeout,
                              expect="> ")
                try:
                    lines = self._command(str(pdu), timeout=self._sms_timeout, term=CTRL_Z)
                except ModemTimeout:
                    self._raw_write(ESC)  # leave the '>' prompt so the next command is understood
                    raise
            ref = next((ln for ln in lines if ln.startswith("+CMGS:")), None)
            if ref is None:
                raise ModemError(f"modem gave no +CMGS reference for SMS to {number}: {lines}")
            references.append(int(ref.split(":", 1)[1].strip()))
        return references

    def ring(self, number: str, max_seconds: float) -> RingOutcome:
        """Ring ``number`` so the phone sounds; hang up after ``max_seconds`` at most."""
        self._call_ended.clear()
        self._in_outgoing_call = True
        alerting_since = None
        try:
            self._command(f"ATD{number};")
            deadline = time.monotonic() + max_seconds
            result = "hung_up"
            while time.monotonic() < deadline:
                if self._call_ended.wait(POLL_SECONDS):
                    result = CALL_ENDED.get(self._call_end_reason, "no_answer")
                    break
                state = self._outgoing_call_state()
                if state is None:
                    result = "no_answer" if alerting_since else "rejected"
                    break
                if state == CLCC_ALERTING and alerting_since is None:
                    alerting_since = time.monotonic()
                if state == CLCC_ACTIVE:
                    result = "answered"
                    break
        finally:
            self._in_outgoing_call = False
            try:
                self._command("ATH")
            except ModemError as exc:
                log.warning("hanging up the ring call to %s failed: %s", number, exc)
        alerting = time.monotonic() - alerting_since if alerting_since else 0.0
        return RingOutcome(result, round(alerting, 2))

    # -- internals -------------------------------------------------------------------------

    def _command(self, text: str, timeout: float | None = None, expect: str | None = None,
                 term: str = "\r") -> list[str]:
        if self._gsm is None or not self._gsm.alive:
            raise ModemError(f"modem on {self.port} is not connected")
        try:
            with self._exchange:
                return self._gsm.write(text, timeout=timeout or self._command_timeout,
                                       writeTerm=term, expectedResponseTermSeq=expect)
        except TimeoutException as exc:
            raise ModemTimeout(f"modem did not answer {text[:20]!r} in time") from exc
        except CommandError as exc:
            raise ModemError(f"modem refused {text[:20]!r}: {exc}") from exc
        except (OSError, GsmModemException) as exc:
            raise ModemError(f"modem failed on {text[:20]!r}: {exc}") from exc

    def _raw_write(self, text: str) -> None:
        try:
            self._gsm.write(text, waitForResponse=False, writeTerm="")
        except (OSError, GsmModemException) as exc:
            log.warning("could not write to modem: %s", exc)

    def _outgoing_call_state(self) -> int | None:
        for line in self._command("AT+CLCC"):
            match = CLCC.match(line)
            if match and match.group(2) == "0":  # direction 0: a call we placed
                return int(match.group(3))
        return None

    def _lost(self, reason: str) -> None:
        self._call_end_reason = "NO CARRIER"
        self._call_ended.set()
        self.events.put(ModemLost(reason))

    def _library_sms(self, sms) -> None:
        self.events.put(IncomingSms(sms.number or "", sms.text or ""))

    def _collect_stored_sms(self) -> None:
        """SMS that arrived while we were not listening (an alarm by SMS during a restart).
        They may sit on the SIM or in the modem: the library only reads the storage it chose
        (modem memory first), so read both, deleting what was handed on."""
        for memory in STORAGES:
            try:
                with self._exchange:
                    stored = self._gsm.listStoredSms(Sms.STATUS_ALL, memory=memory, delete=True)
            except (GsmModemException, ModemError, ValueError) as exc:
                log.debug("no stored SMS read from %s: %s", memory, exc)
                continue
            for sms in stored:
                self._library_sms(sms)

    def _dispatch(self) -> None:
        """The one consumer of the modem's unsolicited lines, in the order they came."""
        while (line := self._lines.get()) is not None:
            try:
                self._handle_line(line)
            except Exception:  # one odd notification must not end the only dispatcher
                log.exception("could not handle modem notification %r", line)

    def _handle_line(self, line: str) -> None:
        if line in CALL_ENDED:
            if self._in_outgoing_call:
                self._call_end_reason = line
                self._call_ended.set()
            self._bare_rings = 0
        elif line == "RING" or line.startswith("+CRING"):
            self._bare_rings += 1
            if self._bare_rings >= BARE_RINGS_BEFORE_WITHHELD:
                self._bare_rings = 0
                self.events.put(IncomingCall(None, None))
        elif match := CLIP.match(line):
            self._bare_rings = 0
            digits, now = match.group(1) or None, time.monotonic()
            last_digits, last_at = self._last_caller
            same_call = digits == last_digits and now - last_at < SAME_CALL_SECONDS
            self._last_caller = (digits, now)
            self.events.put(IncomingCall(digits, int(match.group(2)), same_call))
        elif line.startswith("+CMTI"):
            try:
                with self._exchange:
                    self._gsm._handleSmsReceived(line)  # reads, hands to _library_sms, deletes
            except (GsmModemException, ModemError) as exc:
                # The SMS is still in storage: sweep it instead of losing an acknowledgement.
                log.warning("reading the SMS announced by %r failed (%s); sweeping storage",
                            line, exc)
                self._collect_stored_sms()
        else:
            log.debug("modem notification not used: %r", line)
