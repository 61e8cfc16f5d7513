"""What is heard and keyed inside a call: text-to-speech played by the box, DTMF keyed by the callee.

Dialects (see ``profiles.py``):

- DTMF detection: SIMCom ``AT+DDET=1`` then ``+DTMF: 1``; Quectel ``AT+QTONEDET=1`` then
  ``+QTONEDET: 49`` (the key's ASCII code). Keys pressed while detection is off are logged but
  not reported, as on a real module. A Huawei stick reports ``^DDTMF: 1`` with nothing to
  switch on (see edgebox.adapters.modem.dialect).
- TTS: SIMCom ``AT+CTTS=1,"<UCS2 hex>"`` / ``AT+CTTS=2,"<text>"``, Quectel the same with
  ``AT+QTTS``; ``OK`` at once, then ``+CTTS: 0`` / ``+QTTS: 0`` when playback ends. ``<mode>=0``
  stops playback. Only during an active call (else ``+CME ERROR: 3``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from edgebox.emulator.at_parser import READ, SET, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.calls import ACTIVE
from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.playback import Playback
from edgebox.emulator.replies import Reply
from edgebox.emulator.sms_codec import SmsCodecError, from_ucs2_hex

if TYPE_CHECKING:  # the engine imports this module; here it is only a type
    from edgebox.emulator.at_engine import AtEngine

DETECTION_COMMAND = {"simcom": "+DDET", "quectel": "+QTONEDET"}


class VoiceService:
    def __init__(self, engine: AtEngine):
        self.engine = engine
        self.playback = Playback(engine, lambda: f"{engine.profile.tts_command}: 0")

    # -- DTMF from the callee ----------------------------------------------------------------

    def key_pressed(self, call, key: str) -> None:
        style = self.engine.profile.dtmf_style
        reported = style == "huawei" or bool(self.engine.settings.dtmf_detect)
        self.engine.log.record("dtmf", number=call.number, digit=key, reported=reported)
        if not reported:
            return
        if style == "quectel":
            self.engine.emit_urc(f"+QTONEDET: {ord(key)}")
        elif style == "huawei":
            self.engine.emit_urc(f"^DDTMF: {key}")
        else:
            self.engine.emit_urc(f"+DTMF: {key}")

    # -- TTS from the box --------------------------------------------------------------------

    def speak(self, text: str) -> None:
        call = self.engine.services["calls"].current
        if call is None or call.state != ACTIVE:
            raise CmeError(3)  # nothing to play into
        self.playback.refuse_if_playing()  # one text at a time
        self.engine.log.record("tts", number=call.number, text=text)
        self.playback.start(len(text) * self.engine.latency.tts_per_char)

    def stop(self) -> None:
        self.playback.stop()

    def call_ended(self) -> None:
        """The far end is gone: playback stops silently (the end report would come too late)."""
        self.playback.drop()
        if (audio := self.engine.services.get("call_audio")) is not None:
            audio.call_ended()  # a sound file played into the call (call_audio) stops too

    def power_off(self) -> None:
        self.playback.power_off()


def decode_tts_text(mode: int, value: str) -> str:
    """Mode 1 is UCS2 hex; mode 2 is plain text (sent as UTF-8 here; GBK is accepted too)."""
    if mode == 1:
        try:
            return from_ucs2_hex(value)
        except SmsCodecError:
            raise AtSyntaxError("TTS mode 1 needs UCS2 hex") from None
    raw = value.encode("latin-1")  # the engine reads command lines byte for byte
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gbk", "replace")


def voice_commands(engine: AtEngine) -> dict:
    service = VoiceService(engine)
    engine.services["voice"] = service
    profile = engine.profile

    def detection(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply([f"{command.name}: (0,1)"])
        if command.form == READ:
            return Reply([f"{command.name}: {engine.settings.dtmf_detect}"])
        (value, *_) = command.int_values() or [None]
        if value not in (0, 1):
            raise AtSyntaxError(f"{command.name} takes 0 or 1")
        engine.settings.dtmf_detect = value
        return Reply()

    def tts(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply([f"{command.name}: (0-2)"])
        if command.form == READ:
            return Reply([f"{command.name}: {1 if service.playback.playing else 0}"])
        if command.form != SET:
            raise AtSyntaxError(f"{command.name} needs parameters")
        values = command.values()
        if not values or values[0] not in ("0", "1", "2"):
            raise AtSyntaxError(f"{command.name} mode must be 0, 1 or 2")
        mode = int(values[0])
        if mode == 0:
            service.stop()
            return Reply()
        if len(values) < 2 or values[1] == "":
            raise AtSyntaxError(f"{command.name} needs a text")
        text = decode_tts_text(mode, values[1])
        service.speak(text)
        return Reply()

    def colp(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+COLP: (0,1)"])
        if command.form == READ:
            return Reply([f"+COLP: {engine.settings.colp},1"])
        (value, *_) = command.int_values() or [0]
        if value not in (0, 1):
            raise AtSyntaxError("+COLP takes 0 or 1")
        engine.settings.colp = value
        return Reply()

    handlers = {"+COLP": colp}
    # Each vendor's detection command; the profile's ``unsupported`` set hides the foreign one.
    handlers.update({name: detection for name in DETECTION_COMMAND.values()})
    if profile.tts_command is not None:
        handlers[profile.tts_command] = tts
    return handlers
