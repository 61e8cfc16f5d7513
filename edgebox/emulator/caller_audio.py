"""A caller who speaks: keys typed after the box answers, and a voice carried out of the modem
by the family's own path, so the live loudspeaker is tested end to end.

What a test sets (``plan_caller``): the caller's keys (a PIN and "#"), the voice (a known test
signal or synthesised speech, as a ``Clip``), when they hang up. What the box must do to hear
the voice is what the real module wants (edgebox.adapters.audio.call_audio cites each):

- SIM7600/A7670: ``AT+CPCMREG=1`` once the call is connected (refused before, as on the
  module); the voice comes out of the audio serial port, a pty here (``<base>-audio``).
- Huawei: ``AT^DDSETEX=2``; the voice comes out of the stick's one voice serial port, the one
  the box streams its sentences into (``use_voice_port``: the emulator's ``audio_link``).
- EC25: ``AT+QPCMV=1,2``; the voice goes to the module's USB sound card. No ALSA capture card
  can be made here without the kernel's snd-aloop (alsa-lib's file plugin over the null PCM
  captures unpaced, zeros between what it reads), so the log says when and what went out, and
  the box's capture source is tested on its own (tests/test_speaker_call_audio.py).
- SIM800: the voice leaves by the module's loudspeaker pins, at the level set by ``AT+CLVL``;
  nothing reaches the host: the log says when it went out and at which level.

The log gets ``caller_voice`` entries (route, digest and bytes of what went out, its start
and end on the monotonic clock), ``audio_route`` entries (each command that switched it) and
``tone_to_caller`` for the beep the box sends with ``AT+VTS``.
"""
from __future__ import annotations

import os
import threading
import time
import tty
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edgebox.adapters.speech import Clip
from edgebox.emulator.at_parser import READ, SET, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.calls import ACTIVE, canonical_number
from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.replies import Reply

if TYPE_CHECKING:  # the engine imports this module; here it is only a type
    from edgebox.emulator.at_engine import AtEngine

FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit audio: how the modules hand PCM over
FRAME_SECONDS = 0.02
LEVELS = (0, 100)  # AT+CLVL's range on the SIM800 here


@dataclass
class CallerPlan:
    keys: str  # typed one by one after the box answers, e.g. "2468#"
    voice: Clip  # what they say once the box has switched the voice path on
    first_key_after: float = 0.5
    key_gap: float = 0.3
    hangup_after: float | None = None  # seconds after the box answers; None: never


class CallerAudio:
    def __init__(self, engine: AtEngine):
        self.engine = engine
        self.plans: dict[str, CallerPlan] = {}
        self.base: Path | None = None
        self._master: int | None = None
        self._voice_port = None  # a Huawei stick's voice port, shared with call_audio.PcmPort
        self._voice_link = ""
        self._level = 0
        self._routed: str | None = None
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None

    # -- test side ---------------------------------------------------------------------------

    def use_voice_port(self, port, link: str) -> None:
        """The voice goes out on the stick's voice port (``voice_port.VoicePort``, linked at
        ``link``): one port both ways, as on the stick."""
        self._voice_port, self._voice_link = port, link

    def open_ports(self, base: str | os.PathLike) -> None:
        """Make the voice's way out: the audio serial port, a pty whose other end is linked at
        ``<base>-audio``; a stick with a voice port needs none (``use_voice_port``)."""
        if self._voice_port is not None:
            return
        self.base = Path(base)
        master, slave = os.openpty()
        tty.setraw(slave)  # PCM, not text: no echo, no line editing, before the box opens it
        self._master = master
        link = Path(f"{self.base}-audio")
        link.unlink(missing_ok=True)
        link.symlink_to(os.ttyname(slave))

    @property
    def serial_port(self) -> str:
        """Where the box reads the caller's voice ("" before any port is made)."""
        if self._voice_port is not None:
            return self._voice_link
        return f"{self.base}-audio" if self.base is not None else ""

    def plan_caller(self, number: str, plan: CallerPlan) -> None:
        self.plans[canonical_number(number, self.engine.profile.country_code)] = plan

    # -- the call ----------------------------------------------------------------------------

    def _plan(self, call) -> CallerPlan | None:
        return self.plans.get(canonical_number(call.number, self.engine.profile.country_code))

    def answered(self, call) -> None:
        """The box picked up (ATA): the caller starts typing, and hangs up when planned."""
        plan = self._plan(call)
        if plan is None:
            return
        desk = self.engine.services["calls"]
        for index, key in enumerate(plan.keys):
            call.timers.append(self.engine.timers.schedule(
                plan.first_key_after + index * plan.key_gap,
                lambda key=key: desk._callee_presses(call, key)))
        if plan.hangup_after is not None:
            call.timers.append(self.engine.timers.schedule(
                plan.hangup_after, lambda: desk._callee_hangs_up(call)
                if call is desk.current else None))

    def call_ended(self) -> None:
        self._stop.set()
        self._routed = None

    def route(self, kind: str, command: str) -> None:
        """The box switched the voice path on: the caller's voice goes out that way."""
        desk = self.engine.services["calls"]
        call = desk.current
        self.engine.log.record("audio_route", command=command, route=kind)
        if call is None or call.state != ACTIVE or self._routed == kind:
            return
        plan = self._plan(call)
        voice = plan.voice if plan is not None else Clip.silence(1)
        self._routed = kind
        self._stop = threading.Event()
        if kind in ("analogue", "uac"):  # out of the speaker pins, or to the USB sound card
            now = time.monotonic()
            self.engine.log.record("caller_voice", route=kind, digest=voice.digest,
                                   bytes=len(voice.pcm), level=self._level if kind == "analogue"
                                   else None, start=now,
                                   end=now + voice.seconds)
            return
        self._writer = threading.Thread(target=self._write_serial, args=(voice, self._stop),
                                        name=f"caller-voice-{kind}", daemon=True)
        self._writer.start()

    def _paced(self, write, voice: Clip, stop: threading.Event, kind: str) -> None:
        """Frame by frame at the network's pace, scaled like every other emulator time."""
        pause = FRAME_SECONDS * self.engine.latency.scale
        start = time.monotonic()
        for offset in range(0, len(voice.pcm), FRAME_BYTES):
            if stop.is_set():
                return
            write(voice.pcm[offset:offset + FRAME_BYTES])
            time.sleep(pause)
        self.engine.log.record("caller_voice", route=kind, digest=voice.digest,
                               bytes=len(voice.pcm), start=start, end=time.monotonic())

    def _write_serial(self, voice: Clip, stop: threading.Event) -> None:
        if self._voice_port is not None:
            self._paced(self._voice_port.write, voice, stop, "serial")
        elif self._master is not None:
            self._paced(lambda frame: os.write(self._master, frame), voice, stop, "serial")

    def set_level(self, level: int) -> None:
        self._level = level


def _switch(engine: AtEngine, command: AtCommand, allowed: tuple[str, ...]) -> str:
    if command.form != SET:
        raise AtSyntaxError(f"{command.name} needs a value")
    value = ",".join(command.values())
    if value not in allowed:
        raise AtSyntaxError(f"{command.name}={value} is not supported")
    return value


def caller_audio_commands(engine: AtEngine) -> dict:
    service = CallerAudio(engine)
    engine.services["caller_audio"] = service
    name = engine.profile.name

    def cpcmreg(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CPCMREG: (0,1)"])
        if command.form == READ:
            return Reply([f"+CPCMREG: {int(service._routed == 'serial')}"])
        value = _switch(engine, command, ("0", "1"))
        call = engine.services["calls"].current
        if value == "1" and (call is None or call.state != ACTIVE):
            raise CmeError(3)  # only once the call is connected
        if value == "1":
            service.route("serial", "AT+CPCMREG=1")
        else:
            service._stop.set()
            service._routed = None
        return Reply()

    def ddsetex(engine, command: AtCommand) -> Reply:
        _switch(engine, command, ("2",))
        service.route("serial", "AT^DDSETEX=2")
        return Reply()

    def qpcmv(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+QPCMV: (0,1),(0-2)"])
        value = _switch(engine, command, ("0", "1,2"))
        if value == "1,2":
            service.route("uac", "AT+QPCMV=1,2")
        else:
            service._stop.set()
            service._routed = None
        return Reply()

    def clvl(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply([f"+CLVL: ({LEVELS[0]}-{LEVELS[1]})"])
        if command.form == READ:
            return Reply([f"+CLVL: {service._level}"])
        (level, *_) = command.int_values() or [None]
        if level is None or not LEVELS[0] <= level <= LEVELS[1]:
            raise AtSyntaxError("+CLVL level out of range")
        service.set_level(level)
        if level:
            service.route("analogue", f"AT+CLVL={level}")
        return Reply()

    def vts(engine, command: AtCommand) -> Reply:
        """AT+VTS=<tone> (3GPP TS 27.007 C.2.11): a DTMF tone sent to the far end, which the
        caller hears as a beep; only in a call."""
        if command.form == TEST:
            return Reply(["+VTS: (0-9,#,*,A-D)"])
        call = engine.services["calls"].current
        tone = command.args.strip().strip('"')
        if not tone or tone[0] not in "0123456789#*ABCD":
            raise AtSyntaxError("+VTS needs a DTMF tone")
        if call is None or call.state != ACTIVE:
            raise CmeError(3)
        engine.log.record("tone_to_caller", number=call.number, tone=tone[0])
        return Reply()

    handlers = {"+CLVL": clvl, "+VTS": vts}
    if name in ("sim7600", "a7670"):
        handlers["+CPCMREG"] = cpcmreg
    elif name == "huawei":
        handlers["^DDSETEX"] = ddsetex
    elif name == "ec25":
        handlers["+QPCMV"] = qpcmv
    return handlers
