"""Sound files played into a call: the module's file system, the upload commands and the play
command of each dialect, and an ear on the far end that keeps what it heard.

Each profile has one mechanism (``Profile.audio``), as the makers' manuals describe it:

``ccmxplay`` SIMCom SIM7600 / A76xx (A76XX Series Audio Application Note 3.2.1-3.2.2, AT
Command Manual "File" and "Audio" chapters)::

    AT+FSDEL="c:/edgebox.wav"             OK, or ERROR when there is no such file
    AT+CFTRANRX="c:/edgebox.wav",<len>    > <len bytes> OK        (a file already there is replaced)
    AT+CCMXPLAY="c:/edgebox.wav",1,0      +CCMXPLAY: / OK, +AUDIOSTATE: audio play,
                                          and after the sound +AUDIOSTATE: audio play stop
    AT+CCMXSTOP                           +CCMXSTOP: / OK, +AUDIOSTATE: audio play stop

``qpsnd`` Quectel EC2x (EC2x FILE AT Commands Manual AT+QFUPL/AT+QFDEL; EC2x AT Commands
Manual 12.18 AT+QPSND)::

    AT+QFDEL="UFS:edgebox.wav"            OK, or +CME ERROR: 405 (file not found)
    AT+QFUPL="UFS:edgebox.wav",<len>,<s>  CONNECT <len bytes> +QFUPL: <len>,<xor checksum> OK;
                                          +CME ERROR: 407 when the file exists
    AT+QPSND=1,"UFS:edgebox.wav",0,1,0    OK, and +QPSND: 0 when it has played; to the far end
                                          (uplink played, downlink not); AT+QPSND=0 stops

``crec`` SIM800 (SIM800 Series AT Command Manual V1.09, "AT+FSCREATE", "AT+FSWRITE" and
"AT+CREC"; AMR files only, ~40 KB of flash)::

    AT+FSDEL=C:\\User\\edgebox.amr        OK, or ERROR
    AT+FSCREATE=C:\\User\\edgebox.amr     OK, or ERROR when it exists
    AT+FSWRITE=C:\\User\\edgebox.amr,<mode>,<size>,<time>   > <size bytes> OK (mode 0: from
                                          the start, 1: appended); at most 10240 bytes a write
    AT+CREC=4,"C:\\User\\edgebox.amr",0,<level>   OK, and +CREC: 0 when it has played;
                                          AT+CREC=5 stops

``pcm_port`` Huawei voice sticks (asterisk-chan-dongle's way): ``AT^CVOICE?`` answers
``^CVOICE: 0,8000,16,20``; during an active call ``AT^DDSETEX=2`` routes the call's audio to
the stick's second serial port (``voice_port``), where the host writes 8 kHz 16-bit PCM; what
arrives there until the call ends is what the far end heard (one ``audio`` entry at the end).

Playing into a call needs an active call (else +CME ERROR: 3). What is played is decoded with
the box's own converter (``convert.decode``) and logged as an ``audio`` entry (call, number,
mechanism, format, seconds, digest of the sound, digest of the file); the sound is kept per
call (``heard``), and written to ``audio_dir`` when one is given. The end report comes after
the sound's duration at the emulator's time scale.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from edgebox.adapters.modem.speech_out import xor_checksum
from edgebox.adapters.speech.clip import Clip, SpeechError
from edgebox.adapters.speech.convert import decode
from edgebox.emulator.at_parser import READ, SET, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.calls import ACTIVE
from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.playback import Playback
from edgebox.emulator.replies import DataUpload, Reply

if TYPE_CHECKING:  # the engine imports this module; here it is only a type
    from edgebox.emulator.at_engine import AtEngine

# Quectel file errors (EC2x FILE AT Commands Manual, summary of error codes).
FILE_DRIVE_FULL, FILE_NOT_FOUND, FILE_ALREADY_EXISTS = 404, 405, 407
SIM800_WRITE_LIMIT = 10240  # bytes one AT+FSWRITE takes
END_REPORT = {"ccmxplay": "+AUDIOSTATE: audio play stop", "qpsnd": "+QPSND: 0",
              "crec": "+CREC: 0"}


def file_format(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower()
    if suffix not in ("wav", "amr", "pcm"):
        raise CmeError(4)  # the player knows WAV, AMR and raw PCM
    return suffix


class CallAudio:
    """The file system and the player of one modem, and what the far end heard."""

    def __init__(self, engine: AtEngine, mechanism: str):
        self.engine = engine
        self.mechanism = mechanism
        self.files: dict[str, bytes] = {}  # by name as the host wrote it, case-folded
        self.heard: dict[int, list[Clip]] = {}  # by call id: each sound played into that call
        self.audio_dir: Path | None = None
        self.playback = Playback(engine, lambda: END_REPORT[self.mechanism])

    # -- the file system ---------------------------------------------------------------------

    def _key(self, name: str) -> str:
        return name.replace("\\", "/").lower()

    def used(self) -> int:
        return sum(len(data) for data in self.files.values())

    def store(self, name: str, data: bytes, append: bool = False) -> None:
        old = self.files.get(self._key(name), b"") if append else b""
        space = self.engine.profile.file_space - self.used() + len(
            self.files.get(self._key(name), b""))
        if len(old) + len(data) > space:
            raise CmeError(FILE_DRIVE_FULL if self.mechanism == "qpsnd" else 4)
        self.files[self._key(name)] = old + data

    def exists(self, name: str) -> bool:
        return self._key(name) in self.files

    def delete(self, name: str) -> bool:
        return self.files.pop(self._key(name), None) is not None

    # -- playing into the call ---------------------------------------------------------------

    def play(self, name: str) -> None:
        call = self.engine.services["calls"].current
        if call is None or call.state != ACTIVE:
            raise CmeError(3)  # to the remote side only during a call
        self.playback.refuse_if_playing()
        data = self.files.get(self._key(name))
        if data is None:
            raise CmeError(FILE_NOT_FOUND if self.mechanism == "qpsnd" else 4)
        fmt = file_format(name)
        try:
            clip = decode(data, fmt)
        except SpeechError:
            raise CmeError(4) from None  # a file the player cannot read
        self._heard(call, clip, fmt, data, name)
        self.playback.start(clip.seconds)

    def _heard(self, call, clip: Clip, fmt: str, data: bytes, name: str) -> None:
        """The far end heard ``clip``: kept, written out if asked, logged."""
        self.heard.setdefault(call.id, []).append(clip)
        if self.audio_dir is not None:
            count = len(self.heard[call.id])
            self.audio_dir.mkdir(parents=True, exist_ok=True)
            (self.audio_dir / f"call-{call.id}-{count}.wav").write_bytes(clip.to_wav())
        self.engine.log.record("audio", call=call.id, number=call.number,
                               mechanism=self.mechanism, file=name, format=fmt,
                               bytes=len(data), seconds=round(clip.seconds, 3),
                               digest=clip.digest, file_digest=hashlib.sha256(data).hexdigest(),
                               silent=clip.is_silent())

    def stop(self) -> None:
        self.playback.stop()

    def call_ended(self) -> None:
        """The far end is gone: playback stops, with the end report a stop gives."""
        self.playback.stop()

    def power_off(self) -> None:
        self.playback.power_off()  # the files stay in flash


class PcmPort(CallAudio):
    """A Huawei stick's voice port: PCM written there during a call routed by AT^DDSETEX=2."""

    def __init__(self, engine: AtEngine):
        super().__init__(engine, "pcm_port")
        self._routed = None  # the call whose audio goes to the voice port
        self._armed = False  # AT^DDSETEX=2 before the call: its audio goes there once up
        self._received = bytearray()

    def route(self) -> None:
        """AT^DDSETEX=2: sticks take it in a call or before dialling (scripts that drive them
        send it first, then ATD)."""
        call = self.engine.services["calls"].current
        if call is None or call.state != ACTIVE:
            self._armed = True
        elif self._routed is not call:
            self._routed, self._received = call, bytearray()

    def receive(self, data: bytes) -> None:
        """Bytes the host wrote to the voice port; heard only while a routed call is up."""
        call = self.engine.services["calls"].current
        if call is None or call.state != ACTIVE:
            return
        if self._armed and self._routed is not call:
            self._routed, self._received, self._armed = call, bytearray(), False
        if call is self._routed:
            self._received += data

    def call_ended(self) -> None:
        call, data = self._routed, bytes(self._received)
        self._routed, self._received, self._armed = None, bytearray(), False
        if call is not None and data:
            data = data[:len(data) - len(data) % 2]  # whole 16-bit samples
            self._heard(call, Clip(data), "pcm", data, "voice port")

    def power_off(self) -> None:
        self._routed, self._received, self._armed = None, bytearray(), False


def _name(value: str) -> str:
    if not value:
        raise AtSyntaxError("a file name is needed")
    return value


def call_audio_commands(engine: AtEngine) -> dict:
    mechanism = engine.profile.audio
    if mechanism is None:
        return {}
    audio = PcmPort(engine) if mechanism == "pcm_port" else CallAudio(engine, mechanism)
    engine.services["call_audio"] = audio
    return {"ccmxplay": simcom_commands, "qpsnd": quectel_commands,
            "crec": sim800_commands, "pcm_port": huawei_commands}[mechanism](audio)


def simcom_commands(audio: CallAudio) -> dict:
    def fsdel(engine, command: AtCommand) -> Reply:
        if not audio.delete(_name(command.values()[0] if command.values() else "")):
            return Reply(final="ERROR")
        return Reply()

    def cftranrx(engine, command: AtCommand) -> Reply:
        values = command.values()
        if command.form != SET or len(values) < 2:
            raise AtSyntaxError("AT+CFTRANRX=<filename>,<len>")
        name, length = _name(values[0]), int(values[1])
        if length <= 0:
            raise AtSyntaxError("the length must be positive")

        def received(data: bytes) -> Reply:
            audio.store(name, data)
            return Reply()
        return Reply(final="", data=DataUpload(length, received))

    def ccmxplay(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CCMXPLAY: (0-1),(0-255)"])
        if command.form == READ:
            return Reply([f"+CCMXPLAY: {1 if audio.playback.playing else 0}"])
        values = command.values()
        if command.form != SET or not values:
            raise AtSyntaxError("AT+CCMXPLAY=<filename>[,<play_path>][,<repeat>]")
        if len(values) < 2 or values[1] != "1":
            raise CmeError(3)  # the box plays to the remote side; local play is not modelled
        audio.play(_name(values[0]))
        return Reply(["+CCMXPLAY:"], on_answer=lambda: engine.emit_urc(
            "+AUDIOSTATE: audio play"))

    def ccmxstop(engine, command: AtCommand) -> Reply:
        audio.stop()
        return Reply(["+CCMXSTOP:"])

    return {"+FSDEL": fsdel, "+CFTRANRX": cftranrx, "+CCMXPLAY": ccmxplay,
            "+CCMXSTOP": ccmxstop}


def quectel_commands(audio: CallAudio) -> dict:
    def qfdel(engine, command: AtCommand) -> Reply:
        if not audio.delete(_name(command.values()[0] if command.values() else "")):
            raise CmeError(FILE_NOT_FOUND)
        return Reply()

    def qfupl(engine, command: AtCommand) -> Reply:
        values = command.values()
        if command.form != SET or not values:
            raise AtSyntaxError('AT+QFUPL="<file>"[,<size>[,<timeout>]]')
        name = _name(values[0])
        size = int(values[1]) if len(values) > 1 and values[1] else 10240
        timeout = int(values[2]) if len(values) > 2 and values[2] else 5
        if audio.exists(name):
            raise CmeError(FILE_ALREADY_EXISTS)

        def received(data: bytes) -> Reply:
            audio.store(name, data)
            return Reply([f"+QFUPL: {len(data)},{xor_checksum(data):x}"])
        return Reply(final="", data=DataUpload(size, received, banner="CONNECT",
                                               timeout=engine.latency.seconds(timeout)))

    def qpsnd(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(['+QPSND: (0,1),"filename",(0,1),(0,1),(0,1)'])
        if command.form == READ:
            return Reply([f"+QPSND: {1 if audio.playback.playing else 0}"])
        values = command.values()
        if command.form != SET or not values or values[0] not in ("0", "1"):
            raise AtSyntaxError("AT+QPSND=<control>,<filename>,<repeat>[,<ulmute>[,<dlmute>]]")
        if values[0] == "0":
            audio.stop()
            return Reply()
        # <ulmute> 1: the uplink (what the far end hears) is not muted; without it the far
        # end hears nothing, which is no way to speak into a call.
        if len(values) < 4 or values[3] != "1":
            raise CmeError(3)
        audio.play(_name(values[1]))
        return Reply()

    return {"+QFDEL": qfdel, "+QFUPL": qfupl, "+QPSND": qpsnd}


def sim800_commands(audio: CallAudio) -> dict:
    def fsdel(engine, command: AtCommand) -> Reply:
        if not audio.delete(_name(command.args)):
            return Reply(final="ERROR")
        return Reply()

    def fscreate(engine, command: AtCommand) -> Reply:
        name = _name(command.args)
        if audio.exists(name):
            return Reply(final="ERROR")
        audio.store(name, b"")
        return Reply()

    def fswrite(engine, command: AtCommand) -> Reply:
        values = command.values()
        if command.form != SET or len(values) < 3:
            raise AtSyntaxError("AT+FSWRITE=<filename>,<mode>,<size>,<input time>")
        name, mode, size = _name(values[0]), int(values[1]), int(values[2])
        seconds = int(values[3]) if len(values) > 3 and values[3] else 10
        if mode not in (0, 1) or not 0 < size <= SIM800_WRITE_LIMIT or not audio.exists(name):
            return Reply(final="ERROR")

        def received(data: bytes) -> Reply:
            audio.store(name, data, append=mode == 1)
            return Reply()
        return Reply(final="", data=DataUpload(size, received,
                                               timeout=engine.latency.seconds(seconds)))

    def crec(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CREC: (1-9)"])
        values = command.values()
        if command.form != SET or not values:
            raise AtSyntaxError("AT+CREC=<mode>[,...]")
        if values[0] == "5":
            audio.stop()
            return Reply()
        if values[0] != "4" or len(values) < 2:
            raise CmeError(4)  # recording (1-3) and the other modes are not modelled
        audio.play(_name(values[1]))
        return Reply()

    return {"+FSDEL": fsdel, "+FSCREATE": fscreate, "+FSWRITE": fswrite, "+CREC": crec}


def huawei_commands(port: PcmPort) -> dict:
    def cvoice(engine, command: AtCommand) -> Reply:
        if command.form != READ:
            raise AtSyntaxError("AT^CVOICE? only")
        return Reply(["^CVOICE: 0,8000,16,20"])  # on; 8000 Hz, 16 bits, 20 ms frames

    def ddsetex(engine, command: AtCommand) -> Reply:
        """The call's audio to the voice port, both ways: what the host writes is heard by
        the far end (here), and the caller's voice comes out (caller_audio, the live
        loudspeaker's side of the same port)."""
        if command.form != SET or command.values()[:1] != ["2"]:
            raise AtSyntaxError("AT^DDSETEX=2")
        port.route()
        if (caller := engine.services.get("caller_audio")) is not None:
            caller.route("serial", "AT^DDSETEX=2")
        return Reply()

    return {"^CVOICE": cvoice, "^DDSETEX": ddsetex}
