"""The one consumer of a modem's unsolicited lines, in the order they came.

python-gsmmodem-new starts a thread per notification, so RING, +CLIP and +CMTI can overtake each
other; here one thread turns lines into events on the daemon's queue (calls, SMS reassembled
from their parts, delivery reports, USSD answers) and into signals for the ring call in progress
(answered, ended, key pressed).

A received SMS stays in the modem's storage until it is kept: each whole message goes to
``keep_sms`` (the daemon makes that the store's inbox), and only once that returned are its
parts deleted. A crash in between leaves it on the modem, read again at the next start; found
by that sweep, it is marked as one that may have been kept before.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time

from gsmmodem.exceptions import GsmModemException
from gsmmodem.modem import ReceivedSms, StatusReport
from gsmmodem.pdu import Concatenation, decodeSmsPdu

from edgebox.adapters.modem import ussd
from edgebox.adapters.modem.boot_lines import is_boot_line, is_restart_line
from edgebox.adapters.modem.dialect import dtmf_digit
from edgebox.adapters.modem.events import (BootLineSeen, DeliveryReport, IncomingCall,
                                           IncomingSms, ModemLost, UssdReply)
from edgebox.adapters.modem.multipart import Reassembler, Whole
from edgebox.errors import ModemError

log = logging.getLogger(__name__)

CLIP = re.compile(r'^\+CLIP:\s*"([^"]*)"\s*,\s*(\d+)')
# A call arriving while the box is in a call of its own (ringing a member) shows only as
# "+CCWA: <number>,<type>,<class>[,...]" (3GPP TS 27.007 7.12, once AT+CCWA=1 enabled it);
# class 1 is voice, the only class that can be an alarm.
CCWA = re.compile(r'^\+CCWA:\s*"([^"]*)"\s*,\s*(\d+)\s*,\s*(\d+)')
CCWA_VOICE = 1
CDSI = re.compile(r'^\+CDSI:\s*"([^"]+)",\s*(\d+)')
CMTI = re.compile(r'^\+CMTI:\s*"([^"]*)"\s*,\s*(\d+)')
CALL_ENDED = {"NO CARRIER": "no_answer", "BUSY": "busy", "NO ANSWER": "no_answer"}
# A ring without caller id is only reported once the next RING shows +CLIP did not come with it.
BARE_RINGS_BEFORE_WITHHELD = 2
# Marks, in the order of the lines, that the box hung up (ATH, AT+CHUP or AT+CHLD=0 answered OK):
# every +CLIP read before it belongs to a call that has now ended.
HUNG_UP = object()
STORAGES = ("SM", "ME")  # SIM card, modem memory
REPORT_STORAGES = ("SR", "SM", "ME")  # where a modem may keep a status report
# TP-Status of a status report: 0x00-0x1F done (delivered), 0x20-0x3F still trying, else failed.
TP_ST_TEMPORARY = range(0x20, 0x40)
POLL = 0.3
# What python-gsmmodem-new's PDU decoder raises on a damaged or cut PDU (found by fuzzing):
# its own EncodingError, and plain StopIteration, ValueError, IndexError from deep inside.
PDU_DECODE_ERRORS = (GsmModemException, StopIteration, ValueError, IndexError, KeyError)


def announces_call(line: str) -> bool:
    """A caller id the dispatcher turns into an IncomingCall, which the daemon hangs up on."""
    if CLIP.match(line):
        return True
    match = CCWA.match(line)
    return match is not None and bool(int(match.group(3)) & CCWA_VOICE)


def needs_port(line: str) -> bool:
    """An announcement the dispatcher answers by reading through the port."""
    return line.startswith("+CMTI") or CDSI.match(line) is not None


class Notifications:
    def __init__(self, modem):
        self._modem = modem
        self._lines: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._reassembler = Reassembler()
        self._pdu_follows: str | None = None  # "+CDS" or "+CMT": the next line is its PDU
        self._bare_rings = 0
        # Callers whose call is still ringing: shown by +CLIP/+CCWA with no hang-up since. The
        # network repeats RING/+CLIP every 5-6 s until the call ends (Quectel's default
        # AT+QCFG="urc/ri/ring", u-blox 5 s), and a submit can hold the port 14 s before our
        # hang-up goes out: however long that takes, it is the same call, not a new alarm.
        self._ringing: set[str | None] = set()
        # +COLP or "VOICE CALL: BEGIN" during our ring call: the line says it is connected,
        # which is an answer on most modems and only the ring-back on some (see ring_back.py).
        self.connected = threading.Event()
        self._ended = threading.Event()
        self._end_reason = ""
        self._keys: queue.Queue = queue.Queue()
        # Where each whole received SMS goes before the modem's copy is deleted: the event
        # queue, unless the daemon keeps it first (SerialModem.keep_incoming).
        self.keep_sms = lambda sms, sent_at, swept: self._emit(sms)
        # One message at a time is read, kept and deleted: a sweep and an announcement must
        # not delete by index what the other has not kept yet (the modem reuses indices).
        self._inbox = threading.RLock()
        # Announcements waiting to read a stored SMS or report through the port (see
        # port_work_done): a fan-out lets them in between two submits.
        self._port_work = 0
        # Calls announced to the daemon and not yet hung up on (see call_rejected): the worker
        # lets their hang-up in between two submits too, before the network diverts them.
        self._calls_pending = 0
        self._port_work_changed = threading.Condition()
        # A boot line seen outside an initialisation: a restart line (RDY, a power-down line)
        # says the modem restarted in place, back at its power-up settings (no +CLIP, so every
        # alarm would arrive as a bare RING), and the worker initialises it again; another
        # boot line ("Call Ready" late after a normal start) only says it may have, and the
        # worker reads the settings first (see boot_lines). While ``starting``, boot lines are
        # expected.
        self.starting = False
        self._restart_line: str | None = None
        self._maybe_restart_line: str | None = None
        # From a boot line until the settings are known again (initialised, or read and found
        # kept), +CLIP may be off: a RING without caller id then says nothing about the caller,
        # and rejecting it as withheld would turn a member's alarm into a busy tone. The call
        # keeps ringing; once +CLIP is on again its next RING names the caller.
        self.caller_id_unsure = False

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._lines = queue.Queue()  # a fresh queue: the last stop() left its end marker
        self._port_work = 0  # what the old queue still held will be announced again, or swept
        self._ringing = set()  # a modem (re)started has no call from before
        self.caller_id_unsure = False  # just initialised: its settings are ours
        self._calls_pending = 0
        self._thread = threading.Thread(target=self._run, name=f"{self._modem.name}-events",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._lines.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def put(self, line) -> None:
        if line is not HUNG_UP and not self.starting and is_boot_line(line):
            # Decided as it arrives: the reader knows what it was.
            self.caller_id_unsure = True
            if is_restart_line(line):
                self._restart_line = line
            else:
                self._maybe_restart_line = line
            self._emit(BootLineSeen(line, self._modem.name))  # wakes the idle worker
        # Counted here, on the reader's thread, before the answer that follows the line is
        # read: a worker done with its submit then sees the work is waiting.
        if line is not HUNG_UP and needs_port(line):
            with self._port_work_changed:
                self._port_work += 1
        elif line is not HUNG_UP and announces_call(line):
            with self._port_work_changed:
                self._calls_pending += 1
        self._lines.put(line)

    def take_restart(self) -> str | None:
        """The restart line seen since the last call, or None."""
        line, self._restart_line = self._restart_line, None
        return line

    def forget_restart(self) -> None:
        """Every boot line seen so far is answered (by an initialisation)."""
        self._restart_line = self._maybe_restart_line = None
        self.caller_id_unsure = False

    def settings_kept(self) -> None:
        """The settings a restart resets were read and found on: caller ids are shown."""
        if self._restart_line is None and self._maybe_restart_line is None:
            self.caller_id_unsure = False

    def take_maybe_restart(self) -> str | None:
        """The last boot line that does not prove a restart seen since the last call, or None."""
        line, self._maybe_restart_line = self._maybe_restart_line, None
        return line

    def port_work_done(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until every SMS or report the modem has announced
        so far has been read through the port, and every call it announced has been hung up
        on. A worker calls this between two submits: an announcement that came with a
        submit's answer would otherwise wait for the next submit (seconds, 14 on a busy cell),
        as the worker takes the port again first. An acknowledgement or a cancel is read, and
        acted on, and a caller rejected, before the fan-out goes on."""
        with self._port_work_changed:
            return self._port_work_changed.wait_for(
                lambda: self._port_work == 0 and self._calls_pending == 0, timeout)

    def call_rejected(self) -> None:
        """The daemon's hang-up for one announced call has been tried (each IncomingCall gets
        one, whatever it means)."""
        with self._port_work_changed:
            self._calls_pending = max(0, self._calls_pending - 1)
            self._port_work_changed.notify_all()

    def hung_up(self) -> None:
        """The box's hang-up was answered OK: calls that rang until now have ended, so the next
        +CLIP of the same number is a new call. Queued behind the lines already read, so a
        +CLIP that came before the OK still counts as the call that was hung up."""
        self._lines.put(HUNG_UP)

    def lost(self, reason: str) -> None:
        self._end_call("NO CARRIER")
        self._emit(ModemLost(reason, self._modem.name))

    def _emit(self, event) -> None:
        self._modem.events.put(event)

    # -- the ring call in progress -----------------------------------------------------------

    def begin_call(self) -> None:
        self.connected.clear()
        self._ended.clear()
        self._keys = queue.Queue()

    def call_end(self, timeout: float) -> str | None:
        """How the call ended if it did within ``timeout`` ("busy", "no_answer"), else None."""
        if self._ended.wait(timeout):
            return CALL_ENDED.get(self._end_reason, "no_answer")
        return None

    def wait_for_key(self, until, replay_key: str | None = None, replay=None,
                     stop=None) -> str | None:
        """The first key pressed before ``until`` (monotonic seconds, or a function giving
        them: a replay may move the end on), hang-up or ``stop`` (an Event: the call is no
        longer needed), other than ``replay_key``: that one calls ``replay`` (the speech
        again, "按2再听一遍") and the wait goes on."""
        if not callable(until):
            until = (lambda end: lambda: end)(until)
        while (time.monotonic() < until() and not self._ended.is_set()
               and not (stop is not None and stop.is_set())):
            try:
                key = self._keys.get(timeout=min(POLL, max(0.0, until() - time.monotonic())))
            except queue.Empty:
                continue
            if key != replay_key:
                return key
            replay()
        return None

    def take_key(self) -> str | None:
        """A key pressed in the ring call so far, if any (without waiting)."""
        try:
            return self._keys.get_nowait()
        except queue.Empty:
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
                if line is not HUNG_UP and announces_call(line):
                    self.call_rejected()  # no call reached the daemon: nothing to wait for
            finally:
                if line is not HUNG_UP and needs_port(line):
                    with self._port_work_changed:
                        self._port_work -= 1
                        self._port_work_changed.notify_all()

    def _handle(self, line) -> None:
        if line is HUNG_UP:
            self._ringing.clear()
            self._bare_rings = 0
        elif self._pdu_follows:
            kind, self._pdu_follows = self._pdu_follows, None
            self._pdu(kind, line)
        elif line.startswith(("+CDS:", "+CMT:")):
            self._pdu_follows = line[:4]
        elif line in CALL_ENDED:
            if self._modem.in_outgoing_call:
                self._end_call(line)
            else:  # the caller gave up (or the network ended the call) before our hang-up
                self._ringing.clear()
            self._bare_rings = 0
        elif line.startswith("+COLP:") or line.startswith("VOICE CALL: BEGIN"):
            if self._modem.in_outgoing_call:
                self.connected.set()
        elif (digit := dtmf_digit(line)) is not None:
            self._keys.put(digit)
        elif (line == "RING" or line.startswith("+CRING")) and self.caller_id_unsure:
            log.info("modem %s: a call rings while its caller id may be off (settings being "
                     "restored); waiting for a ring that names the caller", self._modem.name)
        elif line == "RING" or line.startswith("+CRING"):
            self._bare_rings += 1
            if self._bare_rings >= BARE_RINGS_BEFORE_WITHHELD:
                self._bare_rings = 0
                with self._port_work_changed:  # not counted as it was read (see put)
                    self._calls_pending += 1
                self._emit(IncomingCall(None, None, modem=self._modem.name))
        elif match := CLIP.match(line):
            self._clip(match.group(1) or None, int(match.group(2)))
        elif (match := CCWA.match(line)) and announces_call(line):
            self._clip(match.group(1) or None, int(match.group(2)), waiting=True)
        elif line.startswith("+CMTI"):
            self._stored_sms(line)
        elif match := CDSI.match(line):
            self._stored_report(match.group(1), int(match.group(2)))
        elif line.startswith("+CUSD"):
            text = ussd.decode(line, self._modem.dialect.ussd_packed)
            if text is not None:
                self._emit(UssdReply(text, self._modem.name))
        else:
            log.debug("modem %s notification not used: %r", self._modem.name, line)

    def _clip(self, digits: str | None, ton: int, waiting: bool = False) -> None:
        self._bare_rings = 0
        same_call = digits in self._ringing
        self._ringing.add(digits)
        self._emit(IncomingCall(digits, ton, same_call, self._modem.name, waiting))

    def _pdu(self, kind: str, pdu: str) -> None:
        try:
            decoded = decodeSmsPdu(pdu)
        except PDU_DECODE_ERRORS as exc:
            raise ModemError(f"modem {self._modem.name} sent a {kind} PDU that cannot be decoded"
                             f" ({type(exc).__name__}: {exc}): {pdu[:40]!r}") from exc
        if kind == "+CDS" and decoded["type"] == "SMS-STATUS-REPORT":
            self._report(decoded["reference"], decoded["status"])
        elif kind == "+CMT" and decoded["type"] == "SMS-DELIVER":
            # Routed straight to us, not stored: nothing to delete once it is kept.
            self._part(decoded["number"], decoded["text"], decoded.get("udh"), None,
                       decoded.get("time"))

    def _report(self, reference: int, status: int) -> None:
        self._emit(DeliveryReport(reference, status < 0x20, status not in TP_ST_TEMPORARY, status,
                                  self._modem.name))

    def library_sms(self, sms) -> None:
        """The library read one SMS for us (a part, perhaps)."""
        self._part(sms.number or "", sms.text or "", getattr(sms, "udh", None), None,
                   getattr(sms, "time", None))

    def _part(self, number: str, text: str, udh, place, sent_at, swept: bool = False) -> None:
        """One received part; ``place`` is (memory, index) where the modem stores it, None
        when it is not stored (+CMT); ``swept``: found by a sweep of the storage."""
        concat = next((ie for ie in udh or [] if isinstance(ie, Concatenation)), None)
        for whole in self._reassembler.add(number, text, concat, time.monotonic(), place,
                                           sent_at, swept):
            self._keep(whole)

    def _keep(self, whole: Whole) -> None:
        number, text = whole
        try:
            self.keep_sms(IncomingSms(number, text, self._modem.name), whole.sent_at,
                          whole.swept)
        except Exception:  # not kept: its parts stay on the modem, read again at the next start
            log.exception("could not keep the SMS from %s received by modem %s", number,
                          self._modem.name)
            return
        for memory, index in whole.places:
            self._delete(memory, index)

    def _delete(self, memory: str, index: int) -> None:
        try:
            with self._modem.exchange():
                self._modem.library.deleteStoredSms(index, memory)
        except (GsmModemException, ModemError, AttributeError) as exc:
            # Kept already, so reading it again at the next start changes nothing.
            log.warning("could not delete SMS %s %s from modem %s: %s", memory, index,
                        self._modem.name, exc)

    def _stored_sms(self, line: str) -> None:
        match = CMTI.match(line)
        if match is None:
            log.debug("modem %s announced an SMS we cannot place: %r", self._modem.name, line)
            return
        memory, index = match.group(1), int(match.group(2))
        with self._inbox:
            try:
                with self._modem.exchange():
                    sms = self._modem.library.readStoredSms(index, memory)
            except (GsmModemException, ModemError, AttributeError, *PDU_DECODE_ERRORS) as exc:
                # The SMS may still be in storage: sweep it instead of losing an acknowledgement.
                log.warning("reading the SMS announced by %r failed (%s: %s); sweeping storage",
                            line, type(exc).__name__, exc)
                self.collect_stored_sms()
                return
            if isinstance(sms, ReceivedSms):
                self._part(sms.number or "", sms.text or "", sms.udh, (memory, index), sms.time)
            else:  # a status report stored where messages go: nothing to hand on
                self._delete(memory, index)

    def _stored_report(self, memory: str, index: int) -> None:
        """A delivery report announced as stored (+CDSI). Some firmwares name a slot that is
        empty by the time we read it, or the wrong memory ("SM" for a report kept in "SR"):
        the answer is then an empty +CMGR (just OK) or another message. Only a status report
        is handed on and deleted; otherwise the report is looked for by a sweep of the
        memories reports are kept in, and if it is nowhere that is said plainly."""
        try:
            with self._modem.exchange():
                report = self._modem.library.readStoredSms(index, memory)
        except (GsmModemException, ModemError, *PDU_DECODE_ERRORS) as exc:
            log.info("modem %s: nothing readable in %s %s (%s)", self._modem.name, memory,
                     index, exc)
            report = None
        if isinstance(report, StatusReport):
            self._delete(memory, index)
            self._report(report.reference, int(report.deliveryStatus))
            return
        found = self._sweep_reports(dict.fromkeys((memory, *REPORT_STORAGES)))
        if not found:
            log.warning("modem %s announced a delivery report in %s %s that is not there, "
                        "nor anywhere else; dropped (the delivery stays as sent, unconfirmed)",
                        self._modem.name, memory, index)

    def _sweep_reports(self, memories) -> int:
        """Hand on and delete every status report kept in ``memories``; how many there were.
        Received SMS met on the way are left for their own announcement or the next sweep."""
        found = 0
        with self._inbox:
            for memory in memories:
                for index, pdu in self._stored(memory):
                    try:
                        decoded = decodeSmsPdu(pdu)
                    except PDU_DECODE_ERRORS:
                        continue
                    if decoded.get("type") == "SMS-STATUS-REPORT":
                        found += 1
                        self._delete(memory, index)
                        self._report(decoded["reference"], decoded["status"])
        return found

    def _stored(self, memory: str) -> list:
        """(index, PDU) of everything kept in ``memory``; none when it cannot be listed (a
        modem without that storage, or one busy restarting)."""
        try:
            with self._modem.exchange():
                return self._modem.library.list_stored(memory)
        except (GsmModemException, ModemError, ValueError, AttributeError) as exc:
            log.debug("nothing read from %s: %s", memory, exc)
            return []

    def collect_stored_sms(self) -> None:
        """SMS that arrived while we were not listening (an alarm by SMS during a restart), or
        that the box died before keeping. They may sit on the SIM or in the modem: the library
        only reads the storage it chose (modem memory first), so read both. Each is deleted
        once kept; status reports stored there and messages no decoder can read at once."""
        with self._inbox:
            for memory in STORAGES:
                for index, pdu in self._stored(memory):
                    try:
                        decoded = decodeSmsPdu(pdu)
                    except PDU_DECODE_ERRORS as exc:
                        log.warning("modem %s keeps an SMS in %s %s that cannot be decoded"
                                    " (%s); deleting it", self._modem.name, memory, index, exc)
                        decoded = None
                    if decoded is not None and decoded.get("type") == "SMS-DELIVER":
                        self._part(decoded.get("number") or "", decoded.get("text") or "",
                                   decoded.get("udh"), (memory, index), decoded.get("time"),
                                   swept=True)
                    else:
                        self._delete(memory, index)

