"""The one consumer of a modem's unsolicited lines, in the order they came.

python-gsmmodem-new starts a thread per notification, so RING, +CLIP and +CMTI can overtake each
other; here one thread turns lines into events on the daemon's queue (calls, SMS reassembled
from their parts, delivery reports, USSD answers) and into signals for the ring call in progress
(answered, ended, key pressed).
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time

from gsmmodem.exceptions import GsmModemException
from gsmmodem.modem import Sms
from gsmmodem.pdu import Concatenation, decodeSmsPdu

from edgebox.adapters.modem import readings
from edgebox.adapters.modem.dialect import TTS_DONE, dtmf_digit
from edgebox.adapters.modem.events import (DeliveryReport, IncomingCall, IncomingSms,
                                           ModemLost, UssdReply)
from edgebox.adapters.modem.multipart import Reassembler
from edgebox.errors import ModemError

log = logging.getLogger(__name__)

CLIP = re.compile(r'^\+CLIP:\s*"([^"]*)"\s*,\s*(\d+)')
CDSI = re.compile(r'^\+CDSI:\s*"([^"]+)",\s*(\d+)')
CALL_ENDED = {"NO CARRIER": "no_answer", "BUSY": "busy", "NO ANSWER": "no_answer"}
# A ring without caller id is only reported once the next RING shows +CLIP did not come with it.
BARE_RINGS_BEFORE_WITHHELD = 2
# The network repeats RING/+CLIP every few seconds until we hang up; the same caller within this
# many seconds is most likely the same call ringing on (it must still be hung up).
SAME_CALL_SECONDS = 3.0
STORAGES = ("SM", "ME")  # SIM card, modem memory
# TP-Status of a status report: 0x00-0x1F done (delivered), 0x20-0x3F still trying, else failed.
TP_ST_TEMPORARY = range(0x20, 0x40)
POLL = 0.3
# What python-gsmmodem-new's PDU decoder raises on a damaged or cut PDU (found by fuzzing):
# its own EncodingError, and plain StopIteration, ValueError, IndexError from deep inside.
PDU_DECODE_ERRORS = (GsmModemException, StopIteration, ValueError, IndexError, KeyError)


class Notifications:
    def __init__(self, modem):
        self._modem = modem
        self._lines: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._reassembler = Reassembler()
        self._pdu_follows: str | None = None  # "+CDS" or "+CMT": the next line is its PDU
        self._bare_rings = 0
        self._last_caller: tuple[str | None, float] = (None, float("-inf"))
        self.answered = threading.Event()
        self._ended = threading.Event()
        self._end_reason = ""
        self._keys: queue.Queue = queue.Queue()
        self._tts_done = threading.Event()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._lines = queue.Queue()  # a fresh queue: the last stop() left its end marker
        self._thread = threading.Thread(target=self._run, name=f"{self._modem.name}-events",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._lines.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def put(self, line: str) -> None:
        self._lines.put(line)

    def lost(self, reason: str) -> None:
        self._end_call("NO CARRIER")
        self._emit(ModemLost(reason, self._modem.name))

    def _emit(self, event) -> None:
        self._modem.events.put(event)

    # -- the ring call in progress -----------------------------------------------------------

    def begin_call(self) -> None:
        self.answered.clear()
        self._ended.clear()
        self._tts_done.clear()
        self._keys = queue.Queue()

    def call_end(self, timeout: float) -> str | None:
        """How the call ended if it did within ``timeout`` ("busy", "no_answer"), else None."""
        if self._ended.wait(timeout):
            return CALL_ENDED.get(self._end_reason, "no_answer")
        return None

    def wait_for_key(self, deadline: float, repeat, stop=None) -> str | None:
        """The first key the member presses before ``deadline``, hang-up or ``stop`` (an
        Event: the call is no longer needed); ``repeat`` is called whenever the spoken message
        has finished, so it plays again."""
        while (time.monotonic() < deadline and not self._ended.is_set()
               and not (stop is not None and stop.is_set())):
            try:
                return self._keys.get(timeout=min(POLL, max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                if self._tts_done.is_set():
                    self._tts_done.clear()
                    repeat()
        return None

    def _end_call(self, reason: str) -> None:
        self._end_reason = reason
        self._ended.set()

    # -- dispatching -----------------------------------------------------------------------

    def _run(self) -> None:
        while (line := self._lines.get()) is not None:
            try:
                self._handle(line)
            except Exception:  # one odd notification must not end the only dispatcher
                log.exception("could not handle modem notification %r", line)

    def _handle(self, line: str) -> None:
        if self._pdu_follows:
            kind, self._pdu_follows = self._pdu_follows, None
            self._pdu(kind, line)
        elif line.startswith(("+CDS:", "+CMT:")):
            self._pdu_follows = line[:4]
        elif line in CALL_ENDED:
            if self._modem.in_outgoing_call:
                self._end_call(line)
            self._bare_rings = 0
        elif line.startswith("+COLP:"):
            self.answered.set()
        elif (digit := dtmf_digit(line)) is not None:
            self._keys.put(digit)
        elif TTS_DONE.match(line):
            self._tts_done.set()
        elif line == "RING" or line.startswith("+CRING"):
            self._bare_rings += 1
            if self._bare_rings >= BARE_RINGS_BEFORE_WITHHELD:
                self._bare_rings = 0
                self._emit(IncomingCall(None, None, modem=self._modem.name))
        elif match := CLIP.match(line):
            self._clip(match.group(1) or None, int(match.group(2)))
        elif line.startswith("+CMTI"):
            self._stored_sms(line)
        elif match := CDSI.match(line):
            self._stored_report(match.group(1), int(match.group(2)))
        elif line.startswith("+CUSD"):
            text = readings.decode_ussd(line)
            if text is not None:
                self._emit(UssdReply(text, self._modem.name))
        else:
            log.debug("modem %s notification not used: %r", self._modem.name, line)

    def _clip(self, digits: str | None, ton: int) -> None:
        self._bare_rings = 0
        now = time.monotonic()
        last_digits, last_at = self._last_caller
        same_call = digits == last_digits and now - last_at < SAME_CALL_SECONDS
        self._last_caller = (digits, now)
        self._emit(IncomingCall(digits, ton, same_call, self._modem.name))

    def _pdu(self, kind: str, pdu: str) -> None:
        try:
            decoded = decodeSmsPdu(pdu)
        except PDU_DECODE_ERRORS as exc:
            raise ModemError(f"modem {self._modem.name} sent a {kind} PDU that cannot be decoded"
                             f" ({type(exc).__name__}: {exc}): {pdu[:40]!r}") from exc
        if kind == "+CDS" and decoded["type"] == "SMS-STATUS-REPORT":
            self._report(decoded["reference"], decoded["status"])
        elif kind == "+CMT" and decoded["type"] == "SMS-DELIVER":
            concat = next((ie for ie in decoded.get("udh", []) if isinstance(ie, Concatenation)),
                          None)
            self._received(decoded["number"], decoded["text"], concat)

    def _report(self, reference: int, status: int) -> None:
        self._emit(DeliveryReport(reference, status < 0x20, status not in TP_ST_TEMPORARY, status,
                                  self._modem.name))

    def library_sms(self, sms) -> None:
        """The library read one stored SMS for us (a part, perhaps)."""
        concat = next((ie for ie in getattr(sms, "udh", None) or []
                       if isinstance(ie, Concatenation)), None)
        self._received(sms.number or "", sms.text or "", concat)

    def _received(self, number: str, text: str, concat) -> None:
        for whole_number, whole_text in self._reassembler.add(number, text, concat,
                                                              time.monotonic()):
            self._emit(IncomingSms(whole_number, whole_text, self._modem.name))

    def _stored_sms(self, line: str) -> None:
        try:
            with self._modem.exchange():
                self._modem.library._handleSmsReceived(line)  # reads, hands on, deletes
        except (GsmModemException, ModemError, AttributeError) as exc:
            # The SMS is still in storage: sweep it instead of losing an acknowledgement.
            log.warning("reading the SMS announced by %r failed (%s); sweeping storage",
                        line, exc)
            self.collect_stored_sms()

    def _stored_report(self, memory: str, index: int) -> None:
        try:
            with self._modem.exchange():
                report = self._modem.library.readStoredSms(index, memory)
                self._modem.library.deleteStoredSms(index, memory)
        except (GsmModemException, ModemError, *PDU_DECODE_ERRORS) as exc:
            raise ModemError(f"modem {self._modem.name} could not read the delivery report in "
                             f"{memory} {index}: {type(exc).__name__}: {exc}") from exc
        self._report(report.reference, int(report.deliveryStatus))

    def collect_stored_sms(self) -> None:
        """SMS that arrived while we were not listening (an alarm by SMS during a restart).
        They may sit on the SIM or in the modem: the library only reads the storage it chose
        (modem memory first), so read both, deleting what was handed on."""
        for memory in STORAGES:
            try:
                with self._modem.exchange():
                    stored = self._modem.library.listStoredSms(Sms.STATUS_ALL, memory=memory,
                                                               delete=True)
            except (GsmModemException, ModemError, ValueError, AttributeError) as exc:
                log.debug("no stored SMS read from %s: %s", memory, exc)
                continue
            for sms in stored:
                if hasattr(sms, "text"):  # status reports stored in the same memory are skipped
                    self.library_sms(sms)

