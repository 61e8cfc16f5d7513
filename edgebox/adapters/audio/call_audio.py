"""The caller's voice out of a modem, by each family's real path, for the live loudspeaker.

    route     modem                  switched on (in the call)   the voice arrives
    serial    SIMCom SIM7600/A7670   AT+CPCMREG=1 / =0 after     8 kHz S16_LE on the USB
                                                                 "Audio" serial port (ttyUSB4)
    uac       Quectel EC25/EC21      AT+QPCMV=1,2 / AT+QPCMV=0   an ALSA capture card
                                                                 ("Android": plughw:Android)
    serial    Huawei E1550/E3531     AT^DDSETEX=2                8 kHz S16_LE on the voice
                                                                 serial port (ttyUSB1)
    analogue  SIMCom SIM800/SIM900   AT+CLVL=<top of AT+CLVL=?>  never through the box: the
                                                                 SPK_P/SPK_N pins feed the amp

Sources for each, all with one manner: ``open()`` before the voice is switched on, then
``chunks(stop)`` yields clips of the caller's voice as they arrive until ``stop`` is set or the
stream ends (and closes it); ``close()`` when it never started.

- SIM7600: PCM over the USB audio serial interface after ``AT+CPCMREG=1``, which is accepted
  only once the call is connected ("VOICE CALL: BEGIN"), ``AT+CPCMREG=0`` after; 8 kHz unless
  ``AT+CPCMFRM=1`` asks for 16 kHz (IchthysMaranatha/asterisk-chan-quectel README, "Simcom voice
  activation over USB"; the ecall_audio package's SIM7600 example reads ttyUSB4). It is a serial
  port, not a USB Audio Class card.
- EC25: ``AT+QPCMV=1,2`` is "voice over UAC" and the module shows an ALSA card named Android
  (RoEdAl/asterisk-chan-quectel README: ``alsadev`` defaults to ``hw:Android`` with ``uac=on``;
  its at_command list: AT_QPCMV_UAC "AT+QPCMV=1,2", AT_QPCMV_0 "AT+QPCMV=0"). Read with Debian's
  ``arecord`` at 8 kHz mono through ``plughw``.
- Huawei: ``AT^DDSETEX=2`` sends the call's audio to the voice serial port (chan_dongle's
  at_send_ddsetex, "Enable transmitting of audio to the debug port"), 8 kHz 16-bit frames of
  320 bytes every 20 ms.
- SIM800: the module's loudspeaker output is wired to the amplifier's input; the box turns the
  loudspeaker level up (``AT+CLVL``, 3GPP TS 27.007; its range differs by module — 0-4 on
  some, 0-12 or 0-100 on others — so the top of what ``AT+CLVL=?`` lists is taken) and switches
  the amplifier relay. ``AT+CMUT`` mutes the microphone, the uplink (Multi-Tech EDGE AT manual
  17.5: "mutes the microphone input ... during a voice call only"), not the loudspeaker, so it
  is not what opens the voice path.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Iterator

from edgebox.adapters.audio.port import AudioError
from edgebox.adapters.speech import RATE, Clip

SERIAL, UAC, ANALOGUE = "serial", "uac", "analogue"
ROUTES = (SERIAL, UAC, ANALOGUE)
CHUNK_SECONDS = 0.2  # what the loudspeaker is handed at once: short, so the voice stays live
CHUNK_BYTES = int(CHUNK_SECONDS * RATE) * 2
LEVEL_RANGE = re.compile(r"\+CLVL:\s*\((\d+)-(\d+)\)")


@dataclass(frozen=True)
class CallAudioRoute:
    kind: str  # serial, uac or analogue
    start: tuple[str, ...]  # AT commands once the call is connected
    stop: tuple[str, ...]  # AT commands before hanging up


def route_for(family: str, identity: str, override: str = "auto") -> CallAudioRoute:
    """The route of a modem of ``family`` (edgebox.adapters.modem.dialect) whose +CGMI/+CGMM
    read ``identity``; ``override`` (speaker.call_audio) names one for a modem not known."""
    model = identity.lower()
    if override == "auto":
        if family == "huawei":
            override = SERIAL
        elif family == "quectel":
            override = UAC
        elif "sim800" in model or "sim900" in model:
            override = ANALOGUE
        else:
            override = SERIAL
    if override == UAC:
        return CallAudioRoute(UAC, ("AT+QPCMV=1,2",), ("AT+QPCMV=0",))
    if override == ANALOGUE:
        return CallAudioRoute(ANALOGUE, (), ())  # the level: loudest_level() in the call
    if family == "huawei":
        return CallAudioRoute(SERIAL, ("AT^DDSETEX=2",), ())
    return CallAudioRoute(SERIAL, ("AT+CPCMREG=1",), ("AT+CPCMREG=0",))


def loudest_level(answer: list[str]) -> int | None:
    """The top loudspeaker level from the lines of ``AT+CLVL=?`` ("+CLVL: (0-100)")."""
    for line in answer:
        if match := LEVEL_RANGE.search(line):
            return int(match.group(2))
    return None


class SerialPcmSource:
    """The voice as raw 8 kHz S16_LE on a serial port (SIM7600's audio port, Huawei's voice
    port), read with pyserial like the AT port. Opened before the voice is switched on:
    pyserial flushes what waited in the port when it opens it, which would be the first words."""

    def __init__(self, port: str):
        self.port = port
        self.name = f"serial PCM {port}"
        self._link = None

    def open(self) -> None:
        import serial  # the modem's own library: pyserial
        if not self.port:
            raise AudioError("the call's audio comes out on the modem's audio serial port, and"
                             " none is configured: set audio_port in its [[modems]] table")
        try:
            self._link = serial.Serial(self.port, 115200, timeout=CHUNK_SECONDS)
        except (serial.SerialException, OSError) as exc:
            raise AudioError(f"cannot open the call's audio port {self.port}: {exc}") from exc

    def chunks(self, stop: threading.Event) -> Iterator[Clip]:
        import serial
        if self._link is None:
            self.open()
        link, pending = self._link, b""
        try:
            while not stop.is_set():
                try:
                    data = link.read(CHUNK_BYTES)
                except (serial.SerialException, OSError) as exc:
                    raise AudioError(f"the call's audio port {self.port} failed: {exc}") from exc
                pending += data
                whole = len(pending) - len(pending) % 2
                if whole and (len(pending) >= CHUNK_BYTES or not data):
                    yield Clip(pending[:whole])
                    pending = pending[whole:]
        finally:
            self.close()

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None


class AlsaCaptureSource:
    """The voice from an ALSA capture card (the EC25's UAC "Android" card), through Debian's
    ``arecord`` as raw 8 kHz mono S16_LE (plughw resamples from the card's own rate). The
    recorder starts before the voice is switched on, so the first words are not lost."""

    def __init__(self, device: str):
        self.device = device
        self.name = f"ALSA capture {device}"
        self._recorder: subprocess.Popen | None = None

    def open(self) -> None:
        arecord = shutil.which("arecord")
        if arecord is None:
            raise AudioError("arecord is not installed (Debian package alsa-utils)")
        self._recorder = subprocess.Popen([arecord, "-q", "-D", self.device, "-t", "raw",
                                           "-f", "S16_LE", "-r", str(RATE), "-c", "1"],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def chunks(self, stop: threading.Event) -> Iterator[Clip]:
        if self._recorder is None:
            self.open()
        recorder = self._recorder
        # A stop must end a read that waits for the card: the recorder is killed then.
        stop_watch = threading.Thread(target=lambda: (stop.wait(), recorder.kill()),
                                      daemon=True)
        stop_watch.start()
        try:
            while not stop.is_set():
                data = recorder.stdout.read(CHUNK_BYTES)
                if not data:
                    break
                yield Clip(data[:len(data) - len(data) % 2])
        finally:
            errors = self.close()
            stop.set()
            stop_watch.join(5)
        if recorder.returncode not in (0, -9) and errors:
            raise AudioError(f"arecord on {self.device}: {errors}")

    def close(self) -> str:
        """Stop the recorder; what it said on stderr, if anything."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return ""
        recorder.kill()
        _, errors = recorder.communicate()
        return errors.decode(errors="replace").strip()


class AnalogueSource:
    """SIM800: the voice goes from the module's speaker pins to the amplifier, never through
    the box. What the loudspeaker is handed is silence, chunk by chunk, labelled so: it keeps
    the relay on (and the panel showing a live voice) for as long as the call lasts."""

    name = "analogue (the modem's speaker output)"

    def open(self) -> None:
        """Nothing to open: the voice never reaches the box."""

    def close(self) -> None:
        """Nothing to close."""

    def chunks(self, stop: threading.Event) -> Iterator[Clip]:
        while not stop.is_set():
            yield Clip.silence(CHUNK_SECONDS * 5)
