"""SerialModem: one GSM modem on a serial port, as the daemon sees it.

The daemon gets events on one ordered queue (calls, SMS, delivery reports, USSD answers, port
lost) and a few actions: reject the ringing call, send an SMS, ring a number for a bounded time
(speaking the alarm and listening for the acknowledgement key when answered), read health,
ask the balance, reset. Everything is AT over a real serial device through python-gsmmodem-new
(see ``gsm_patched`` for the library's traps we fix); its PDU codec encodes our SMS.
"""
from __future__ import annotations

import logging
import queue
import threading

from gsmmodem.exceptions import CommandError, GsmModemException, TimeoutException
from gsmmodem.pdu import encodeSmsSubmitPdu

from edgebox.adapters.modem import call_control, readings, ussd
from edgebox.adapters.modem.boot_lines import is_boot_line
from edgebox.adapters.modem.dialect import Dialect, detect
from edgebox.adapters.modem.events import RingOutcome
from edgebox.adapters.modem.fair_lock import FairLock
from edgebox.adapters.modem.gsm_patched import UNSOLICITED, PatchedGsmModem
from edgebox.adapters.modem.notifications import Notifications
from edgebox.adapters.modem.speech_out import Speech, SpeechPort
from edgebox.errors import ModemError, ModemRestarted, ModemTimeout

log = logging.getLogger(__name__)

CTRL_Z, ESC = "\x1a", "\x1b"
# A SIM800 answers again ~3 s after a brown-out (RDY), an EC25 in ~10 s.
RESTART_WAIT_SECONDS = 30


def looks_unsolicited(line: str) -> bool:
    """A line a modem sends on its own, not an identification answer."""
    return bool(UNSOLICITED.match(line)) or is_boot_line(line) or line.startswith(("+", "^"))


def submit_pdus(number: str, text: str, reference: int, status_report: bool) -> list:
    """The SMS-SUBMIT PDUs (one per part) that carry ``text`` to ``number``."""
    # The library's UCS-2 encoder fails on characters beyond the BMP (emoji); an alarm must
    # still go out, so they become '?' rather than stopping the message.
    text = "".join(ch if ord(ch) <= 0xFFFF else "?" for ch in text)
    return encodeSmsSubmitPdu(number, text, reference=reference,
                              requestStatusReport=status_report)


class SerialModem:
    def __init__(self, port: str, baudrate: int = 115200, flow_control: str = "none",
                 pin: str = "", command_timeout: float = 10, sms_timeout: float = 60,
                 name: str = "modem", events: queue.Queue | None = None,
                 delivery_reports: bool = False, audio_port: str = ""):
        self.port = port
        self.name = name
        self.audio_port = audio_port  # its voice (PCM) serial port, or "" (config's audio_port)
        self._baudrate = baudrate
        self._flow_control = flow_control
        self._pin = pin or None
        self._command_timeout = command_timeout
        self._sms_timeout = sms_timeout
        self._delivery_reports = delivery_reports
        self.events: queue.Queue = events if events is not None else queue.Queue()
        self._gsm: PatchedGsmModem | None = None
        self.dialect = Dialect("generic", None, None)
        self.identity = ""
        self.in_outgoing_call = False
        self._sms_reference = 0
        # One AT exchange at a time, where an exchange may be several writes: the library locks
        # each write alone, so between "AT+CMGS=n" and its PDU another thread's AT+CMGR would
        # land inside the '>' prompt and be sent as message text. Fair, so a fan-out's next
        # submit queues behind a waiting ATH or SMS read (see fair_lock).
        self._exchange = FairLock()
        self.notes = Notifications(self)
        self.speech = SpeechPort(self, audio_port)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Open the port, initialise the modem, learn its dialect, collect stored SMS."""
        self._gsm = PatchedGsmModem(self.port, self._baudrate, self._flow_control,
                                    on_line=self.notes.put, on_lost=self.notes.lost,
                                    on_sms=self.notes.library_sms)
        self.notes.starting = True  # boot lines now belong to this start, not to a restart
        self.speech.forget()  # a modem changed under the box: its sound file is not known
        self.notes.forget_restart()  # one seen before the port was reopened is answered by this
        try:
            self._gsm.connect(pin=self._pin, waitingForModemToStartInSeconds=5)
            self._learn_dialect()
            self._apply_settings(learning=True)
            self.speech.probe()
        except TimeoutException as exc:
            self._close_port()
            raise ModemTimeout(f"modem {self.name} on {self.port} did not answer during "
                               "start-up") from exc
        except (GsmModemException, ModemError) as exc:
            self._close_port()
            raise ModemError(f"modem {self.name} on {self.port} refused start-up: {exc}") from exc
        finally:
            self.notes.starting = False
        self._gsm.watch_restarts = True
        self.notes.start()
        self.notes.collect_stored_sms()

    def restart_seen(self) -> str | None:
        """The boot line that says the modem restarted in place since the last initialisation
        (taken: asked again, it is None until the next one), or None."""
        return self.notes.take_restart()

    def restart_suspected(self) -> tuple[str, list[str]] | None:
        """A boot line that does not prove a restart ("Call Ready" late after a normal start,
        or the rest of a restart whose RDY we missed) seen since the last call: the settings a
        restart resets are read, and (the line, the settings off) returned only if any was
        reset; None when nothing was seen or the modem kept its settings."""
        line = self.notes.take_maybe_restart()
        if line is None:
            return None
        off = self._settings_off()
        if not off:
            log.info("modem %s printed %r and kept its settings: not a restart", self.name, line)
            self.notes.settings_kept()
            return None
        return line, off

    def reinitialise(self) -> None:
        """Initialise again on the open port, after the modem restarted in place (or lost its
        settings some other way): the library's AT init, then ours. The dialect is known."""
        gsm = self._gsm
        if gsm is None or not gsm.alive:
            raise ModemError(f"modem {self.name} on {self.port} is not connected")
        self.notes.starting, gsm.watch_restarts = True, False
        try:
            with self._exchange:
                gsm.initialise(self._pin, wait_seconds=RESTART_WAIT_SECONDS)
            self._apply_settings(learning=False)
        except TimeoutException as exc:
            raise ModemTimeout(f"modem {self.name} did not answer while initialising") from exc
        except GsmModemException as exc:
            raise ModemError(f"modem {self.name} refused initialisation: {exc}") from exc
        finally:
            self.notes.starting, gsm.watch_restarts = False, True
        self.notes.forget_restart()  # what it printed while we initialised is answered by this

    def stop(self) -> None:
        self.notes.stop()  # first: it may still be reading an SMS through the port
        self._close_port()

    def keep_incoming(self, keep) -> None:
        """Hand each received SMS to ``keep(sms, sent_at, swept)`` instead of putting it on the
        event queue: ``sent_at`` is the service centre's time stamp (None when unknown),
        ``swept`` says a sweep of the modem's storage found it (at start, say), so it may have
        been kept before the box last died. ``keep`` returns once the message is kept for good;
        only then is the modem's copy deleted. If it raises, the copy stays and is read again
        at the next start."""
        self.notes.keep_sms = keep

    def _close_port(self) -> None:
        if self._gsm is not None:
            self._gsm.close()
            self._gsm = None

    @property
    def alive(self) -> bool:
        return self._gsm is not None and self._gsm.alive

    def _learn_dialect(self) -> None:
        maker = self._identity_line(("AT+CGMI", "AT+GMI"), position=0)
        model = self._identity_line(("AT+CGMM", "AT+GMM"), position=1)
        self.identity = f"{maker} {model}".strip()
        self.dialect = detect(maker, model)

    def _apply_settings(self, learning: bool) -> None:
        """What the library's init does not set: words in errors, DTMF detection, +COLP,
        network time. Each is optional; what the modem refuses is logged and left off. Only
        while ``learning`` (at start-up) does a refused DTMF command switch DTMF off for good:
        right after a restart in place a modem may refuse it for a moment."""
        # CMEE=2: errors in words ("+CMS ERROR: Network timeout"), which the patched reader
        # ends a command on as it does on numbers; a modem without it keeps numbers.
        # AT+CCWA=1,1: a caller while we ring a member is announced (+CCWA) instead of hearing
        # busy unseen; a network or modem without call waiting answers ERROR and stays as is.
        for command in ("AT+CMEE=2", self.dialect.dtmf_enable, "AT+COLP=1", "AT+CCWA=1,1",
                        *self.dialect.nitz_commands):
            if command:
                try:
                    self.command(command)
                except ModemError as exc:
                    if isinstance(exc, (ModemTimeout, ModemRestarted)):
                        raise
                    log.info("modem %s does not take %s (%s)", self.name, command, exc)
                    if learning and command == self.dialect.dtmf_enable:
                        self.dialect = self.dialect.without(dtmf_enable=None)

    def _identity_line(self, commands: tuple[str, ...], position: int) -> str:
        """The manufacturer or model: the first answer to ``commands`` that is not a URC (boot
        lines such as "+QIND: SMS DONE" or "Call Ready" arrive inside these answers right after
        power-up), else that line of ATI's answer (maker, model, revision)."""
        for command in commands:
            lines = self._plain_lines(command)
            if lines:
                return lines[0]
        ati = self._plain_lines("ATI")
        return ati[position] if len(ati) > position else ""

    def _plain_lines(self, command: str) -> list[str]:
        try:
            answer = self.command(command)
        except ModemError:
            return []
        own = command[2:].upper() + ":"  # "+CGMI:" some firmwares put before the answer
        lines = []
        for line in (ln.strip() for ln in answer):
            if line.upper().startswith(own):
                line = line[len(own):].strip()
            if line and line not in ("OK", command) and not looks_unsolicited(line):
                lines.append(line)
        return lines

    # -- actions ---------------------------------------------------------------------------

    def reject_call(self) -> None:
        """Hang up the ringing call at once: free for the caller, and before the network can
        divert it to voicemail. It goes ahead of the SMS queued for the port, after the one
        being submitted. While we are ringing a member the alarm arrives as a waiting call:
        release only that one (AT+CHLD=0 sets "user determined user busy" for a waiting call,
        3GPP TS 27.007 7.13) and keep ringing the member."""
        try:
            with self._exchange.first():
                self.command("AT+CHLD=0" if self.in_outgoing_call else "ATH")
                # Answered OK: whoever rang until now has been hung up on; marked while the
                # port is still ours, so no next command's lines come before the mark. (The
                # ATH that ends our own ring call is not such a mark: a call waiting then is
                # not released by it.)
                self.notes.hung_up()
        finally:
            self.notes.call_rejected()

    def send_sms(self, number: str, text: str) -> list[int]:
        """Submit ``text`` to ``number`` (as many parts as it needs); return the message
        references the network gave each part, in order."""
        self._sms_reference = (self._sms_reference + 1) % 256
        pdus = submit_pdus(number, text, self._sms_reference, self._delivery_reports)
        references = []
        for pdu in pdus:
            with self._exchange:
                self.command(f"AT+CMGS={pdu.tpduLength}", expect="> ")
                try:
                    lines = self.command(str(pdu), timeout=self._sms_timeout, term=CTRL_Z)
                except (ModemTimeout, ModemRestarted):
                    self._raw_write(ESC)  # leave the '>' prompt so the next command is understood
                    raise
            ref = next((ln for ln in lines if ln.startswith("+CMGS:")), None)
            if ref is None:
                raise ModemError(f"modem gave no +CMGS reference for SMS to {number}: {lines}")
            references.append(int(ref.split(":", 1)[1].strip().split(",")[0]))
        return references

    def read_announced(self, timeout: float = 2.0) -> None:
        """Let SMS and reports the modem announced (perhaps with the answer to the last
        command) be read, and announced calls hung up on, before this thread's next command:
        see Notifications.port_work_done."""
        if not self.notes.port_work_done(timeout):
            log.info("modem %s: announced SMS or calls still waiting after %.1f s", self.name,
                     timeout)

    def ring(self, number: str, max_seconds: float, speech: Speech | str | None = None,
             stop: threading.Event | None = None,
             ring_for: float | None = None) -> RingOutcome:
        """Ring ``number`` for at most ``max_seconds``, speak ``speech`` if the member answers
        and wait for their key; ``stop`` hangs up early, ``ring_for`` makes it a flash (see
        call_control.ring, which does it)."""
        return call_control.ring(self, number, max_seconds, speech, stop, ring_for)

    @property
    def speech_mechanism(self) -> str:
        """How this modem speaks into a call now (see speech_out.SpeechPort)."""
        return self.speech.mechanism

    def health(self) -> readings.HealthReading:
        """Signal, registration (2G and 4G), SIM, operator and network time. Each answer that
        fails is noted, the rest still read."""
        reading = readings.health_reading(self.command)
        reading.settings_off = self._settings_off()
        if not reading.settings_off:
            self.notes.settings_kept()
        return reading

    def _settings_off(self) -> list[str]:
        """Which of the settings that matter the modem no longer has: a restart in place
        whose boot lines we never saw (lost in the middle of a command) leaves no other trace.
        Echo shows as our own command coming back in its answer."""
        try:
            clip = self.command("AT+CLIP?")
            cnmi = self.command("AT+CNMI?")
        except ModemError as exc:
            log.info("modem %s: settings not read (%s)", self.name, exc)
            return []
        return readings.settings_off(clip, cnmi, self._gsm.AT_CNMI if self._gsm else "")

    def request_balance(self, code: str) -> None:
        """Send the balance USSD; the answer comes later as a UssdReply event, so a slow
        network never holds the modem."""
        self.command(f'AT+CUSD=1,"{ussd.request(code, self.dialect.ussd_packed)}",15')

    def reset(self) -> None:
        """AT+CFUN=1,1: a full modem restart. USB modems drop off the bus and come back."""
        try:
            self.command("AT+CFUN=1,1", timeout=5)
        finally:
            self.stop()

    # -- AT plumbing -----------------------------------------------------------------------

    def command(self, text: str, timeout: float | None = None, expect: str | None = None,
                term: str = "\r") -> list[str]:
        return self._exchange_of(text, lambda gsm: gsm.write(
            text, timeout=timeout or self._command_timeout, writeTerm=term,
            expectedResponseTermSeq=expect))

    def send_file(self, command: str, banner: str, payload: bytes) -> list[str]:
        """``command`` that writes a file, its ``payload`` as raw bytes once the modem shows
        ``banner``; the answer. The bytes take their time on a UART (10 bits a byte): the
        timeout allows twice that."""
        timeout = self._command_timeout + 2 * len(payload) * 10 / self._baudrate
        return self._exchange_of(command, lambda gsm: gsm.send_file(command, banner, payload,
                                                                    timeout))

    def _exchange_of(self, text: str, exchange) -> list[str]:
        """Run ``exchange(gsm)`` holding the port, the library's errors made ours."""
        gsm = self._gsm
        if gsm is None or not gsm.alive:
            raise ModemError(f"modem {self.name} on {self.port} is not connected")
        try:
            with self._exchange:
                return exchange(gsm)
        except TimeoutException as exc:
            raise ModemTimeout(f"modem {self.name} did not answer {text[:20]!r} in time") from exc
        except CommandError as exc:
            worded = f" ({gsm.last_error})" if gsm.last_error else ""
            raise ModemError(f"modem {self.name} refused {text[:20]!r}: {exc}{worded}") from exc
        except (OSError, GsmModemException) as exc:
            raise ModemError(f"modem {self.name} failed on {text[:20]!r}: {exc}") from exc

    @property
    def library(self) -> PatchedGsmModem | None:
        return self._gsm

    def exchange(self):
        return self._exchange

    def _raw_write(self, text: str) -> None:
        try:
            self._gsm.write(text, waitForResponse=False, writeTerm="")
        except (OSError, GsmModemException, AttributeError) as exc:
            log.warning("could not write to modem %s: %s", self.name, exc)
