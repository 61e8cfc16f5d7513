"""The AT command engine: bytes from the host in, a modem's bytes out.

It keeps the modem's state, frames every answer like a real module (``\\r\\nOK\\r\\n``), echoes
when echo is on, runs the ``> `` prompt of AT+CMGS, and holds unsolicited result codes back while
a command is in progress. It does no I/O and never sleeps: the owner feeds it input, collects
``take_output()`` and calls ``run_due_timers()`` when ``next_deadline()`` comes.

Command handlers live in the ``commands_*`` modules (and ``voice``), listed in ``COMMAND_SETS``;
they answer with a ``Reply`` (``replies``) and import this module only to name its type.

Power and SIM state (reboot, boot lines, SIM not ready) are in ``modem_power``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from edgebox.emulator.at_parser import AtCommand, AtSyntaxError, split_command_line
from edgebox.emulator.call_audio import call_audio_commands
from edgebox.emulator.caller_audio import caller_audio_commands
from edgebox.emulator.commands_calls import call_commands
from edgebox.emulator.commands_general import general_commands
from edgebox.emulator.commands_health import health_commands
from edgebox.emulator.commands_sms import sms_commands
from edgebox.emulator.event_log import EventLog
from edgebox.emulator.modem_errors import CME_TEXT, CMS_TEXT, CmeError, CmsError
from edgebox.emulator.modem_power import ModemPower
from edgebox.emulator.network_state import NetworkState
from edgebox.emulator.profiles import Profile, get_profile
from edgebox.emulator.replies import Reply
from edgebox.emulator.sms_codec import from_ucs2_hex, looks_like_ucs2_hex, ucs2_hex
from edgebox.emulator.timing import Latency, Timers
from edgebox.emulator.voice import voice_commands

CR, LF, CTRL_Z, ESC, BACKSPACE = 0x0D, 0x0A, 0x1A, 0x1B, 0x08
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))

COMMAND, PROMPT, BUSY, DATA = "command", "prompt", "busy", "data"


@dataclass
class ModemSettings:
    """Everything ATZ resets."""

    echo: bool = True
    cmee: int = 0
    cmgf: int = 0  # 0 PDU, 1 text
    cscs: str = "IRA"
    cnmi: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    csdh: int = 0
    csmp: tuple[int, int, int, int] = (17, 167, 0, 0)
    clip: int = 0
    crc: int = 0
    cvhu: int = 0
    creg: int = 0
    cgreg: int = 0
    cereg: int = 0
    cops_format: int = 0
    cfun: int = 1
    colp: int = 0
    ccwa: int = 0  # AT+CCWA=1: a call arriving during a call of ours is shown as +CCWA
    dtmf_detect: int = 0  # AT+DDET / AT+QTONEDET
    clts: int = 0
    ctzu: int = 0
    cmms: int = 0  # AT+CMMS: keep the SMS relay link open between submits (not modelled in time)
    cgatt: int = 1  # packet service wanted; a module attaches by itself at power-up


Handler = Callable[["AtEngine", AtCommand], Reply]
# Each makes its handlers for one engine; a later set's handler wins for the same command.
COMMAND_SETS: tuple[Callable[["AtEngine"], dict[str, Handler]], ...] = (
    call_commands, general_commands, health_commands, sms_commands, voice_commands,
    caller_audio_commands,
    call_audio_commands)  # after caller_audio: its ^DDSETEX also routes the caller's voice

# Commands that need the SIM: while it is not ready they answer +CME ERROR: 10.
SIM_COMMANDS = frozenset({"D", "+CMGS", "+CMGR", "+CMGL", "+CMGD", "+CMGW", "+CMSS", "+CPMS", "+CIMI",
                          "+CNUM", "+CUSD", "+CSCA"})


class AtEngine(ModemPower):
    def __init__(self, profile: Profile | str = "generic", clock: Callable[[], float] = time.monotonic,
                 wallclock: Callable[[], datetime] | None = None, latency: Latency | None = None,
                 trace: bool = False):
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.clock = clock
        self.wallclock = wallclock or (lambda: datetime.now(CHINA_STANDARD_TIME))
        self.latency = latency or Latency()
        self.timers = Timers(clock)
        self.log = EventLog(clock)
        # Also log the timing points of the AT exchange (caller id shown to the host, AT+CMGS
        # typed by it), for benchmarks; off by default so the log stays what the network saw.
        self.trace = trace
        self.settings = ModemSettings(echo=self.profile.echo)
        self.network = NetworkState()
        self.powered = True
        self.late_boot_lines: list[str] = []  # boot lines still to land inside answers
        self.sim_waiters: list[Callable[[], object]] = []  # for a SIM held until released
        # (engine clock at power-up, RTC value set by AT+CCLK= then or None): see rtc_now()
        self.rtc_started: tuple[float, object] = (clock(), None)
        # Set by the pty server so AT+CFUN=1,1 can take the port away on USB profiles;
        # without it the engine reboots itself in place.
        self.reboot_handler: Callable[[], None] | None = None
        self.services: dict[str, object] = {}  # per-area state objects (sms, calls), by name
        self.handlers: dict[str, Handler] = {}
        for command_set in COMMAND_SETS:
            self.handlers.update(command_set(self))
        self._input = bytearray()
        self._output = bytearray()
        self._mode = COMMAND
        self._prompt: Callable[[str], Reply] | None = None
        self._upload = None  # the DataUpload being received in DATA mode
        self._received = bytearray()
        self._upload_timer = None
        self._executing = False
        self._held_urcs: list[tuple[bytes, Callable[[], None] | None]] = []
        self._swallow_answer = False  # a stuck command: its answer never comes

    # -- the owner's side -------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if not self.powered:
            return  # nobody is listening on the line while the modem is off
        self._input.extend(data)
        self._process_input()

    def take_output(self) -> bytes:
        data, self._output = bytes(self._output), bytearray()
        return data

    def next_deadline(self) -> float | None:
        return self.timers.next_due()

    def run_due_timers(self) -> None:
        self.timers.run_due()

    def reset(self) -> None:
        """ATZ / AT&F: settings back to power-up values (stored messages and calls survive)."""
        self.settings = ModemSettings(echo=self.profile.echo)

    def forget_pending_io(self) -> None:
        """Power loss: typed input, held URCs and the command in progress are gone; what the
        modem already wrote stays written (it is on the wire)."""
        self._input.clear()
        self._held_urcs.clear()
        self._mode, self._prompt, self._executing, self._swallow_answer = COMMAND, None, False, False
        self._upload, self._received = None, bytearray()

    def supported_commands(self) -> list[str]:
        return sorted(name for name in self.handlers if name not in self.profile.unsupported)

    def is_busy(self) -> bool:
        """True while a command is being typed, run, answered or waits at the prompt."""
        return self._mode != COMMAND or self._executing or self._typing()

    def _typing(self) -> bool:
        return bool(self._input.lstrip(b"\r\n \x00"))

    # -- unsolicited result codes ------------------------------------------------------------

    def emit_urc(self, *lines: str, on_output: Callable[[], None] | None = None) -> None:
        """Send one unsolicited result code (several lines for +CMT), or hold it while busy.
        ``on_output`` runs when it goes out to the host: now, or when the command ends."""
        if not self.powered:
            return
        urc = (_frame(lines), on_output)
        if self.is_busy():
            self._held_urcs.append(urc)
        else:
            self._put_urc(urc)

    def write_raw(self, data: bytes) -> None:
        """Bytes to the host exactly as given, whatever the modem is doing (line noise)."""
        if self.powered:
            self._output += data

    def _release_urcs(self) -> None:
        while self._held_urcs and not self.is_busy():
            self._put_urc(self._held_urcs.pop(0))

    def _put_urc(self, urc: tuple[bytes, Callable[[], None] | None]) -> None:
        block, on_output = urc
        self._output += block
        if on_output is not None:
            on_output()

    # -- input ------------------------------------------------------------------------------

    def _process_input(self) -> None:
        while self._input and self._mode != BUSY:
            if self._mode == PROMPT:
                if not self._take_prompt_text():
                    return
            elif self._mode == DATA:
                self._take_upload_bytes()
            elif not self._take_command_line():
                return

    def _take_command_line(self) -> bool:
        while self._input[:1] in (b"\n", b" ", b"\x00"):
            del self._input[:1]
        end = self._input.find(CR)
        if end < 0:
            return False
        raw = bytes(self._input[:end])
        del self._input[:end + 1]
        line = _apply_backspaces(raw).decode("latin-1")
        if self.settings.echo:
            self._output += raw + b"\r"
        # V.250 5.2.1: what comes before the "AT" prefix is ignored (a stray ESC, line noise),
        # not the command after it.
        start = line.upper().find("AT")
        if start >= 0:
            line = line[start:]
            if self.network.take_stuck(line):
                self._swallow_answer = True
                self.log.record("stuck_command", command=line)
            self._run_line(line[2:])
        self._release_urcs()
        return True

    def _take_prompt_text(self) -> bool:
        for index, byte in enumerate(self._input):
            if byte in (CTRL_Z, ESC):
                typed = bytes(self._input[:index])
                del self._input[:index + 1]
                if self.settings.echo:
                    self._output += typed
                prompt, self._prompt = self._prompt, None
                self._mode = COMMAND
                if byte == ESC:
                    self._answer(Reply())  # cancelled: nothing is sent, the modem says OK
                else:
                    self._execute(lambda: prompt(_apply_backspaces(typed).decode("latin-1")))
                return True
        return False

    def _take_upload_bytes(self) -> None:
        """A file's bytes after "> " or CONNECT: exactly the announced count, taken as they
        are (binary: no echo, no line ends, no Ctrl-Z)."""
        upload = self._upload
        wanted = upload.count - len(self._received)
        self._received += self._input[:wanted]
        del self._input[:wanted]
        if len(self._received) < upload.count:
            self._restart_upload_timer()
            return
        self._end_upload(lambda data: upload.take(data))

    def _restart_upload_timer(self) -> None:
        if self._upload_timer is not None:
            self._upload_timer.cancel()
        self._upload_timer = self.timers.schedule(self._upload.timeout, self._upload_timed_out)

    def _upload_timed_out(self) -> None:
        if self._mode != DATA:
            return
        upload = self._upload
        self._end_upload(upload.on_timeout or (lambda data: Reply(final="ERROR")))
        self._process_input()

    def _end_upload(self, answer: Callable[[bytes], Reply]) -> None:
        if self._upload_timer is not None:
            self._upload_timer.cancel()
            self._upload_timer = None
        data, self._received, self._upload = bytes(self._received), bytearray(), None
        self._mode = COMMAND
        self._execute(lambda: answer(data))

    # -- running commands --------------------------------------------------------------------

    def _run_line(self, body: str) -> None:
        try:
            commands = split_command_line(body)
        except AtSyntaxError:
            self._answer(Reply(final="ERROR"))
            return
        if not commands:
            self._answer(Reply())
            return
        self._executing = True
        for position, command in enumerate(commands):
            last = position == len(commands) - 1
            reply = self._dispatch(command)
            if reply is None:  # an error answer has been written
                break
            if not last and (reply.prompt or reply.delay or reply.data):
                # Only the last command of a line may wait for the network or for text.
                self._answer(Reply(final=self.error_text(CmeError(3))))
                break
            if last:
                self._executing = False
                self._answer(reply)
            else:
                self._output += _frame(reply.lines) if reply.lines else b""
                if reply.on_answer:
                    reply.on_answer()
        self._executing = False
        self._release_urcs()

    def _execute(self, produce: Callable[[], Reply]) -> None:
        self._executing = True
        try:
            reply = produce()
        except ValueError:
            reply = Reply(final="ERROR")
        except (CmeError, CmsError) as error:
            reply = Reply(final=self.error_text(error))
        self._executing = False
        self._answer(reply)

    def _dispatch(self, command: AtCommand) -> Reply | None:
        handler = self.handlers.get(command.name)
        try:
            if handler is None or command.name in self.profile.unsupported:
                raise CmeError(100)
            if command.name in SIM_COMMANDS and not self.sim_ready():
                raise CmeError(10)
            reply = handler(self, command)
            late = self.take_late_boot_line(command.name)
            if late is not None:  # a boot line still due lands inside this answer
                reply.lines = [late, *reply.lines]
            return reply
        except ValueError:  # AtSyntaxError and any malformed parameter: a real modem says ERROR
            self._executing = False
            self._answer(Reply(final="ERROR"))
        except (CmeError, CmsError) as error:
            self._executing = False
            self._answer(Reply(final=self.error_text(error)))
        return None

    def _answer(self, reply: Reply) -> None:
        if reply.delay > 0:
            self._mode = BUSY
            self.timers.schedule(reply.delay, lambda: self._answer_after_delay(reply))
            return
        if self._swallow_answer and not reply.prompt and reply.data is None:
            self._swallow_answer = False  # the command hangs: no result, and no effect either
            self._release_urcs()
            return
        if reply.lines:
            self._output += _frame(reply.lines)
        if self.profile.interleave_urcs and reply.final and not (reply.prompt or reply.data):
            # This firmware lets waiting URCs out before the result code, inside the answer.
            while self._held_urcs:
                self._put_urc(self._held_urcs.pop(0))
        if reply.data is not None:
            banner = reply.data.banner
            self._output += b"\r\n> " if banner == "> " else _frame([banner])
            self._upload, self._received = reply.data, bytearray()
            self._mode = DATA
            self._restart_upload_timer()
        elif reply.prompt:
            self._output += b"\r\n> "
            self._prompt = reply.prompt
            self._mode = PROMPT
        elif reply.final:
            self._output += _frame([reply.final])
        if reply.on_answer:
            reply.on_answer()
        self._release_urcs()

    def _answer_after_delay(self, reply: Reply) -> None:
        self._mode = COMMAND
        reply.delay = 0.0
        self._answer(reply)
        self._process_input()  # what the host typed meanwhile waited in the buffer

    def error_text(self, error: CmeError | CmsError) -> str:
        """The final result code for ``error`` under the current AT+CMEE level."""
        if self.settings.cmee == 0:
            return "ERROR"
        prefix, table = ("+CMS ERROR", CMS_TEXT) if isinstance(error, CmsError) else ("+CME ERROR", CME_TEXT)
        if self.settings.cmee == 2 and error.code in table:
            return f"{prefix}: {table[error.code]}"
        return f"{prefix}: {error.code}"

    # -- helpers for handlers ----------------------------------------------------------------

    def encode_text(self, text: str) -> str:
        """A string parameter as the host's character set (+CSCS) shows it."""
        if self.settings.cscs == "UCS2":
            return ucs2_hex(text)
        return "".join(char if ord(char) < 128 else "?" for char in text)

    def decode_text(self, value: str) -> str:
        """A string parameter the host sent, decoded from its character set."""
        if self.settings.cscs == "UCS2" and looks_like_ucs2_hex(value):
            return from_ucs2_hex(value)
        return value


def _frame(lines) -> bytes:
    return ("\r\n" + "\r\n".join(lines) + "\r\n").encode("latin-1", "replace")


def _apply_backspaces(raw: bytes) -> bytes:
    if BACKSPACE not in raw:
        return raw
    kept = bytearray()
    for byte in raw:
        if byte == BACKSPACE:
            del kept[-1:]
        else:
            kept.append(byte)
    return bytes(kept)
