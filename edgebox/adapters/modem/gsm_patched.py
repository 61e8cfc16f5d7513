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
- Stored messages are listed with their indices whatever their type, deleting nothing
  (``list_stored``): the caller deletes each once it is kept.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Callable

import serial
from gsmmodem.modem import GsmModem
from gsmmodem.serial_comms import SerialComms

from edgebox.errors import ModemError
from edgebox.single_instance import flock_holder

log = logging.getLogger(__name__)

# Lines a modem sends on its own; they are never part of a command's response.
UNSOLICITED = re.compile(
    r"^(RING|\+CRING:|\+CLIP:|\+COLP:|\+CMTI:|\+CMT:|\+CDSI:|\+CDS:|\+CUSD:|\+DTMF:|"
    r"\+QTONEDET:|\+CTTS:|\+QTTS:|NO CARRIER|BUSY|NO ANSWER|RDY|\^)"
)
# +CMT and +CDS announce a PDU on the next line: that line is part of the notification too.
ANNOUNCES_PDU = re.compile(r"^\+(CMT|CDS):")
MAX_BUSY_RETRIES = 4
CMGL = re.compile(r"^\+CMGL:\s*(\d+)\s*,")
# Sent first at every start-up: leave an SMS prompt a crash may have left open (see connect).
ESC_PROMPT = b"\x1b\r"
ESC_SETTLE_SECONDS = 0.2
FLOW_CONTROL = {"none": {}, "rtscts": {"rtscts": True}, "dsrdtr": {"dsrdtr": True}}


class _OpensPortOurWay(SerialComms):
    """Placed between GsmModem and SerialComms in the MRO, so the ``super().connect()`` inside
    GsmModem.connect opens the port here (our URL handling and flow control) before the
    library's AT initialisation runs."""

    def connect(self) -> None:
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

    # -- port ------------------------------------------------------------------------------

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
        self.alive = True
        self.rxThread = threading.Thread(target=self._readLoop, name="modem-reader", daemon=True)
        self.rxThread.start()

    def close(self) -> None:
        self.alive = False
        if getattr(self, "rxThread", None) and self.rxThread is not threading.current_thread():
            self.rxThread.join(timeout=3)
        port = getattr(self, "serial", None)  # absent when opening the port failed
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
        elif checkForResponseTerm and UNSOLICITED.match(line):
            self._next_line_is_pdu = bool(ANNOUNCES_PDU.match(line))
            self._on_line(line)
        elif waiting:
            self._response.append(line)
            if not checkForResponseTerm or self.RESPONSE_TERM.match(line):
                self._responseEvent.set()
        else:
            self._on_line(line)

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
        try:
            lines = super().write(data, waitForResponse, timeout, parseError, writeTerm,
                                  expectedResponseTermSeq)
        except IndexError as exc:  # the library reading an empty answer of a dead port
            raise ModemError("the modem's port was lost during a command") from exc
        finally:
            self._busy_depth.n = depth
        if not self.alive:
            raise ModemError("the modem's port was lost during a command")
        return lines

