"""python-gsmmodem-new's GsmModem with its known traps fixed at the seams it offers.

What changes and why (the library is unmaintained since 2021, so we patch by subclassing):
- The port is opened with ``serial.serial_for_url``, exclusively (one daemon per port), and flow
  control is ours to choose: the library forces RTS/CTS and DSR/DTR on, the classic "timeout on
  first command" on SIM800/SIM7600.
- The reader reads what is waiting instead of one byte per call, decodes with replacement so a
  non-UTF-8 byte no longer kills the reader thread, survives an exception while handling a line,
  and reports a dead port instead of ending silently.
- Unsolicited lines (RING, +CLIP, +CMTI …) that arrive while a command waits for its response
  are routed to the notification path instead of being swallowed into that response.
- Notifications go, line by line and in order, to one callback (the adapter's single queue)
  instead of a new thread per notification.
- The library's "device busy" (CME 515 / 14) self-retry is bounded.
- Errors in words (``AT+CMEE=2``: ``+CMS ERROR: Network timeout``) end a command at once: the
  library only knows numeric codes as a final result, so it waited them out as timeouts.
- Boot lines (``RDY``, ``SMS Ready``, ``+QIND: SMS DONE`` …, see ``boot_lines``) are
  notifications, never part of an answer; once ``watch_restarts`` is on, one arriving while a
  command waits ends that command with ``ModemRestarted`` (the modem restarted in place and
  lost it), but only a line that proves a restart (``RDY``, a power-down line) does. A setting
  read back (``+CLIP: 1,1`` to ``AT+CLIP?``) is an answer, not a caller.
- ``AT+CPIN?`` ends at its ``+CPIN:`` line once a short grace for the ``OK`` has passed: a
  Wavecom answers ``+CPIN: READY`` with no ``OK`` (python-gsmmodem issue #19; its own connect
  waits 15 s for it), and every health check held the port for the whole command timeout,
  with an alarm call's hang-up waiting behind it.
- After a restart in place the SIM may come up seconds after the module answers AT (a SIM800
  prints ``+CPIN: READY`` after ``RDY`` and ``+CFUN: 1``): the set-up waits for it, bounded,
  where the library would raise ``PinRequiredError`` on ``+CPIN: NOT READY`` and send the box
  into the reopen ladder.
- Stored messages are listed with their indices whatever their type, deleting nothing
  (``list_stored``): the caller deletes each once it is kept.
- A file goes to the modem's flash as bytes (``send_file``): the library writes only text,
  encoded as UTF-8, which would turn every byte above 127 of a sound file into two.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Callable

import serial
from gsmmodem.exceptions import CommandError, TimeoutException
from gsmmodem.modem import GsmModem
from gsmmodem.serial_comms import SerialComms

from edgebox.adapters.modem.boot_lines import is_boot_line, is_restart_line
from edgebox.errors import ModemError, ModemRestarted
from edgebox.single_instance import flock_holder

log = logging.getLogger(__name__)

# Lines a modem sends on its own; they are never part of a command's response.
UNSOLICITED = re.compile(
    r"^(RING|\+CRING:|\+CLIP:|\+COLP:|\+CMTI:|\+CMT:|\+CDSI:|\+CDS:|\+CUSD:|\+DTMF:|"
    r"\+QTONEDET:|\+CTTS:|\+QTTS:|\+AUDIOSTATE:|\+QPSND:|\+CREC:|NO CARRIER|BUSY|NO ANSWER|"
    r"RDY|\^)"
)
# +CMT and +CDS announce a PDU on the next line: that line is part of the notification too.
ANNOUNCES_PDU = re.compile(r"^\+(CMT|CDS):")
MAX_BUSY_RETRIES = 4
CMGL = re.compile(r"^\+CMGL:\s*(\d+)\s*,")
# Sent first at every start-up: leave an SMS prompt a crash may have left open (see connect).
ESC_PROMPT = b"\x1b\r"
ESC_SETTLE_SECONDS = 0.2
FLOW_CONTROL = {"none": {}, "rtscts": {"rtscts": True}, "dsrdtr": {"dsrdtr": True}}
# A final result code: the library's own pattern knows only numeric +CME/+CMS errors.
RESPONSE_TERM = re.compile(r"^(OK|ERROR|\+CM[ES] ERROR: .+|COMMAND NOT SUPPORT)$")
TEXT_ERROR = re.compile(r"^\+(CM[ES]) ERROR: (.*\D.*)$")
# Errors in words that mean "try again in a moment" (3GPP TS 27.007 §9.2: CME 14 "SIM busy"):
# as numbers they take the library's bounded busy retry, so they do in words too.
BUSY_TEXTS = {("CME", "sim busy"): 14}
# A modem sends a final OK in the same burst as the line before it; one that has not come this
# long after "+CPIN: …" is not coming (Wavecom).
CPIN_OK_GRACE_SECONDS = 1.0
# How long a set-up after a restart in place waits for the SIM (SIM800: a few seconds after RDY;
# EC25: +CPIN: READY comes some 10 s after power-up), asking every half second.
SIM_READY_WAIT_SECONDS = 20.0
SIM_POLL_SECONDS = 0.5
# Waiting for a booting modem: each "AT" is given this long before the next is written (the
# library's own figure), and the answers owed to those given up on this long to come.
AT_ATTEMPT_SECONDS = 0.5
LATE_ANSWER_SECONDS = 2.0
# "+CLIP: 1,1" answers "AT+CLIP?" (a setting, digits only); "+CLIP: "138…",129" is a caller.
SETTING_ANSWER = re.compile(r"^\+([A-Z]+):\s*[\d,\s]+$")


class _OpensPortOurWay(SerialComms):
    """Placed between GsmModem and SerialComms in the MRO: the port is opened here (our URL
    handling and flow control), by PatchedGsmModem.connect before its wait for the modem, so
    the ``super().connect()`` inside GsmModem.connect finds it open and goes on to the
    library's AT initialisation."""

    def connect(self) -> None:
        if self.alive:
            return  # the port is open and its reader running: only the AT init is wanted
        self.connect_port()
        # A box that died between AT+CMGS and the message's Ctrl-Z (a crash, a power cut) left
        # the modem at its "> " prompt, where every command of this start-up would be taken as
        # message text, and calls and SMS would not even be announced: ESC leaves the prompt
        # without sending anything. In command mode it is an empty line, ignored. Its "OK"
        # comes back before the first command is written, so no answer is taken for another's.
        try:
            self.serial.write(ESC_PROMPT)
        except (serial.SerialException, OSError) as exc:
            raise ModemError(f"cannot write to modem port {self.port}: {exc}") from exc
        time.sleep(ESC_SETTLE_SECONDS)


class PatchedGsmModem(GsmModem, _OpensPortOurWay):
    RESPONSE_TERM = RESPONSE_TERM

    def __init__(self, port: str, baudrate: int, flow_control: str,
                 on_line: Callable[[str], None], on_lost: Callable[[str], None],
                 on_sms: Callable[[object], None]):
        # CNMI: new SMS announced as +CMTI (stored, so nothing is lost if we are slow), status
        # reports routed straight to us as +CDS.
        super().__init__(port, baudrate, smsReceivedCallbackFunc=on_sms, requestDelivery=False,
                         AT_CNMI="2,1,0,1,0")
        self._flow = FLOW_CONTROL[flow_control]
        self._on_line = on_line
        self._on_lost = on_lost
        self._next_line_is_pdu = False
        self._busy_depth = threading.local()
        # Off while the modem is being initialised (its boot lines are expected then).
        self.watch_restarts = False
        self._pending_command: str | None = None
        self._restarted_in_command = False
        self.last_error = ""  # the last error result code, as the modem worded it
        self._banner: str | None = None  # a line that ends the waiting command ("CONNECT")
        self._late_results = 0  # final results that came with no command waiting

    # -- port ------------------------------------------------------------------------------

    def connect(self, pin=None, waitingForModemToStartInSeconds=0):
        """The library's connect, its wait for a booting modem made here instead (see
        ``wait_until_answering``): the port opened (unless it is open), the wait, then the
        library's AT init, which finds the port open."""
        _OpensPortOurWay.connect(self)
        self.wait_until_answering(waitingForModemToStartInSeconds)
        try:
            super().connect(pin=pin, waitingForModemToStartInSeconds=0)
        except (TypeError, IndexError) as exc:
            # The library indexed an answer that was not its command's: the modem's answers
            # are out of step, a modem fault (the worker's ladder), not a traceback.
            raise ModemError(f"the modem's answers were out of step during its "
                             f"initialisation ({type(exc).__name__}: {exc})") from exc

    def wait_until_answering(self, wait: float) -> None:
        """"AT" every half second until the modem answers, for at most the wait asked for;
        then the answers still owed taken off the line. The library's own loop gave up on each
        "AT" after half a second and wrote the next: a modem that answered one of them late (a
        SIM800 just after its RDY, or a loaded box) put its OK where the next command's answer
        belonged, and from then on every command read the answer of the one before; at its
        "AT+CFUN?" the library found no +CFUN line and its init died with a TypeError. Here
        each unanswered "AT" is counted, and the init starts once as many late final results
        have come (or LATE_ANSWER_SECONDS passed: a modem powered down never got them)."""
        if wait <= 0:
            return
        deadline = time.monotonic() + wait
        self._late_results = 0
        unanswered = 0
        while True:
            try:
                self.write("AT", timeout=AT_ATTEMPT_SECONDS)
                break
            except TimeoutException:
                unanswered += 1
                if time.monotonic() >= deadline:
                    return  # not answering: the library's init says so, with its own error
        owed_until = time.monotonic() + LATE_ANSWER_SECONDS
        # the answer taken was perhaps an earlier "AT"'s: this one's is then still to come
        while self._late_results < unanswered and time.monotonic() < owed_until:
            time.sleep(0.02)

    def initialise(self, pin: str | None, wait_seconds: float) -> None:
        """The library's AT initialisation again, on the port that is already open: after a
        restart in place the modem is back at its power-up settings. It may still be powered
        down or booting: "AT" is tried every half second for ``wait_seconds`` first."""
        self._reinitialising = True
        # The library writes the SMSC it cached back with AT+CSCA="…" when it has one, and a
        # refusal ends its init. The SMSC lives on the SIM and survives the module's restart:
        # read it again (AT+CSCA?), as at the first start, rather than write it to a modem that
        # has just booted (a replayed SIM800 brown-out refused it and the box fell into the
        # reopen ladder).
        self._smscNumber = None
        try:
            self.connect(pin=pin, waitingForModemToStartInSeconds=wait_seconds)
        finally:
            self._reinitialising = False

    def _unlockSim(self, pin):  # noqa: N802 - the library's name, overridden
        if getattr(self, "_reinitialising", False):
            self._wait_for_sim()
        super()._unlockSim(pin)

    def _wait_for_sim(self) -> None:
        """Until AT+CPIN? says something other than "not ready" (READY, or the PIN it wants),
        for at most SIM_READY_WAIT_SECONDS; past that the library's own check says what is
        wrong. "Not ready" is ``+CPIN: NOT READY`` or an error (SIM not inserted, busy, failure:
        what modems answer while the SIM starts)."""
        deadline = time.monotonic() + SIM_READY_WAIT_SECONDS
        told = False
        while True:
            try:
                state = next((ln.split(":", 1)[1].strip() for ln in self.write("AT+CPIN?")
                              if ln.startswith("+CPIN:")), None)
            except (CommandError, TimeoutException):
                state = None
            if state not in (None, "NOT READY") or time.monotonic() >= deadline:
                return
            if not told:
                log.info("the SIM is not ready yet after the restart; waiting for it")
                told = True
            time.sleep(SIM_POLL_SECONDS)

    def connect_port(self) -> None:
        """Open the port and start the reader; ``connect()`` does this, then the AT init."""
        try:
            # exclusive: an flock on the device, so a second daemon (or anything else that
            # honours it) cannot open the port under us (edgebox/single_instance.py).
            self.serial = serial.serial_for_url(self.port, baudrate=self.baudrate,
                                                timeout=self.timeout, exclusive=True,
                                                **self._flow)
        except (serial.SerialException, OSError, ValueError) as exc:
            holder = flock_holder(self.port)
            if holder is not None and holder != os.getpid():
                raise ModemError(f"modem port {self.port} is in use by process {holder}") \
                    from exc
            raise ModemError(f"cannot open modem port {self.port}: {exc}") from exc
        if hasattr(self.serial, "cancel_read"):
            # The reader then sleeps in select() until the modem sends something, and close()
            # ends the wait with cancel_read (pyserial's abort pipe), instead of the reader
            # waking every read timeout to look whether it should stop.
            self.serial.timeout = None
        self.alive = True
        self.rxThread = threading.Thread(target=self._readLoop, name="modem-reader", daemon=True)
        self.rxThread.start()

    def close(self) -> None:
        self.alive = False
        port = getattr(self, "serial", None)  # absent when opening the port failed
        cancel = getattr(port, "cancel_read", None)
        if cancel is not None and port.is_open:
            cancel()  # the reader's read returns at once (see connect_port)
        if getattr(self, "rxThread", None) and self.rxThread is not threading.current_thread():
            self.rxThread.join(timeout=3)
        try:
            if port is not None:
                port.close()
        except (serial.SerialException, OSError):
            pass  # closing a port that vanished: nothing left to release

    # -- reading ---------------------------------------------------------------------------

    def _readLoop(self) -> None:
        buffer = bytearray()
        try:
            while self.alive:
                data = self.serial.read(self.serial.in_waiting or 1)
                if not data:
                    continue
                buffer += data
                while (end := buffer.find(b"\r\n")) >= 0:
                    raw, buffer = bytes(buffer[:end]), buffer[end + 2:]
                    line = raw.replace(b"\x00", b"").decode("utf-8", errors="replace")
                    if line:
                        self._safe_handle(line, True)
                term = self._expectResponseTermSeq
                if term and buffer.endswith(term):
                    line = buffer.decode("utf-8", errors="replace")
                    buffer = bytearray()
                    self._safe_handle(line, False)
                if len(buffer) > 65536:
                    log.warning("modem sent 64 KiB without a line end; discarding it")
                    buffer = bytearray()
        except (serial.SerialException, OSError, TypeError) as exc:
            # pyserial raises TypeError when the fd vanishes under a read on some versions.
            if self.alive:
                self.alive = False
                self._on_lost(f"{type(exc).__name__}: {exc}")
                waiting = self._responseEvent
                if waiting is not None:
                    waiting.set()  # a command waiting for its answer learns now, not at timeout

    def _safe_handle(self, line: str, check_term: bool) -> None:
        try:
            self._handleLineRead(line, check_term)
        except Exception:  # a bad line must never end the reader: log it and keep reading
            log.exception("could not handle modem line %r", line)

    def _handleLineRead(self, line: str, checkForResponseTerm: bool = True) -> None:
        waiting = self._responseEvent is not None and not self._responseEvent.is_set()
        if self._next_line_is_pdu:
            self._next_line_is_pdu = False
            self._on_line(line)
        elif waiting and self._answers_setting_query(line):
            self._response.append(line)
        elif checkForResponseTerm and is_boot_line(line, self._pending_command):
            self._on_line(line)
            # Only a line that proves a restart ends the command: a late "Call Ready" inside
            # an SMS submit's answer must not send that SMS again (see boot_lines).
            if waiting and self.watch_restarts and is_restart_line(line):
                self._restarted_in_command = True  # the command died with the modem's restart
                self._responseEvent.set()
        elif checkForResponseTerm and UNSOLICITED.match(line):
            self._next_line_is_pdu = bool(ANNOUNCES_PDU.match(line))
            self._on_line(line)
        elif waiting:
            if checkForResponseTerm and (error := TEXT_ERROR.match(line)):
                code = BUSY_TEXTS.get((error.group(1), error.group(2).strip().lower()))
                line = f"+{error.group(1)} ERROR: {code}" if code is not None else line
            if checkForResponseTerm and "ERROR" in line:
                self.last_error = line
            self._response.append(line)
            if (not checkForResponseTerm or self.RESPONSE_TERM.match(line)
                    or (self._banner is not None and line == self._banner)):
                self._responseEvent.set()
            elif line.startswith("+CPIN:") and self._pending_command == "AT+CPIN?":
                self._end_after_grace(self._responseEvent)
        else:
            if checkForResponseTerm and self.RESPONSE_TERM.match(line):
                self._late_results += 1  # an answer to a command given up on (see above)
            self._on_line(line)

    @staticmethod
    def _end_after_grace(answered: threading.Event) -> None:
        """End the waiting command with what it has, unless its OK ends it first. The event
        is this command's own: a timer outliving it sets an event nobody waits on."""
        timer = threading.Timer(CPIN_OK_GRACE_SECONDS, answered.set)
        timer.daemon = True
        timer.start()

    def _answers_setting_query(self, line: str) -> bool:
        """``line`` is the answer to the read command waiting (``AT+CLIP?`` → ``+CLIP: 1,1``),
        though a line of that name is otherwise a notification."""
        match = SETTING_ANSWER.match(line)
        return bool(match and self._pending_command
                    and self._pending_command.upper() == f"AT+{match.group(1)}?")

    # -- stored messages -------------------------------------------------------------------

    def list_stored(self, memory: str) -> list[tuple[int, str]]:
        """Every message stored in ``memory`` as (index, PDU), whatever its type, deleting
        nothing. The library's own listing drops status reports' indices and PDUs it cannot
        decode, and deletes all by flag, which would take an SMS arriving meanwhile unread."""
        self._setSmsMemory(readDelete=memory)
        stored, index = [], None
        for line in self.write("AT+CMGL=4"):  # PDU mode: 4 is every status
            if index is not None:
                stored.append((index, line.strip()))
                index = None
            elif match := CMGL.match(line):
                index = int(match.group(1))
        return stored

    # -- writing ---------------------------------------------------------------------------

    def write(self, data, waitForResponse=True, timeout=10, parseError=True, writeTerm="\r",
              expectedResponseTermSeq=None):
        if not self.alive:
            raise ModemError("the modem's port is closed")
        depth = getattr(self._busy_depth, "n", 0)
        if depth > MAX_BUSY_RETRIES:
            raise ModemError(f"modem stayed busy for {data!r} after {MAX_BUSY_RETRIES} retries")
        self._busy_depth.n = depth + 1
        self._pending_command, self._restarted_in_command = str(data), False
        self.last_error = ""
        try:
            lines = super().write(data, waitForResponse, timeout, parseError, writeTerm,
                                  expectedResponseTermSeq)
        except Exception as exc:
            if self._restarted_in_command:
                raise ModemRestarted(f"the modem restarted during {str(data)[:20]!r}") from exc
            if isinstance(exc, IndexError):  # the library reading an empty answer of a dead port
                raise ModemError("the modem's port was lost during a command") from exc
            raise
        finally:
            self._busy_depth.n = depth
            self._pending_command = None
        if self._restarted_in_command:
            raise ModemRestarted(f"the modem restarted during {str(data)[:20]!r}")
        if not self.alive:
            raise ModemError("the modem's port was lost during a command")
        return lines


    # -- files -----------------------------------------------------------------------------

    def send_file(self, command: str, banner: str, payload: bytes, timeout: float) -> list[str]:
        """``command`` (AT+CFTRANRX=…, AT+FSWRITE=…, AT+QFUPL=…), then, once the modem shows
        ``banner`` ("> " or "CONNECT"), ``payload`` as raw bytes; the answer's lines after it.
        A refusal instead of the banner raises CommandError, as any command's does."""
        if banner == "> ":
            self.write(command, timeout=timeout, expectedResponseTermSeq="> ")
        else:
            self._banner = banner
            try:
                lines = self.write(command, timeout=timeout)
            finally:
                self._banner = None
            if banner not in lines:
                raise CommandError(command)
        with self._txLock:
            self._response = []
            self._responseEvent = threading.Event()
            self._pending_command = command
            try:
                self.serial.write(payload)
                if not self._responseEvent.wait(timeout):
                    raise TimeoutException(self._response)
                lines = list(self._response)
            except (serial.SerialException, OSError) as exc:
                raise ModemError(f"the modem's port failed during a file upload: {exc}") from exc
            finally:
                self._responseEvent = None
                self._pending_command = None
        if not self.alive:
            raise ModemError("the modem's port was lost during a file upload")
        if not lines or lines[-1] != "OK":
            raise CommandError(f"{command}: {lines[-1] if lines else 'no answer'}")
        return lines
