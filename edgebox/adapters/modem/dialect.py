"""Where modem families differ: how DTMF detection is switched on and reported, how speech
gets into a call. Detected from +CGMI/+CGMM at start-up.

    family    DTMF on          DTMF report        TTS                          audio file
    simcom    AT+DDET=1        +DTMF: 1           AT+CTTS=1,"<UCS-2 hex>"      ccmxplay
    quectel   AT+QTONEDET=1    +QTONEDET: 49      AT+QTTS=1,"<UCS-2 hex>"      qpsnd
    huawei    -                ^DDTMF: 1          -                            pcm_port
    SIM800 is SIMCom without TTS whose audio files are AMR played by AT+CREC (``crec``); an
    unknown modem is treated like SIMCom without files, and whatever it refuses is switched
    off the first time it refuses. The audio file mechanisms are in ``speech_out``.

Network time (NITZ) is off at power-up, and +CCLK? then shows the module's default epoch:
SIMCom turns it on with AT+CLTS=1, Quectel with AT+CTZU=3 (update the local time), the 3GPP
form is AT+CTZU=1. Huawei sticks want USSD requests as packed GSM 7-bit hex and answer the same
way (see ``ussd``).

Huawei voice sticks report each key the far end presses as ``^DDTMF: <key>`` with nothing to
switch on: ModemManager's Huawei call (plugins/huawei/mm-call-huawei.c) sends no command and
only registers a handler for ``\r\n^DDTMF:\s*([0-9A-D*#])\r\n``; the stick's firmware prints
it as "%s^DDTMF: %s%s" (CR LF, the key, CR LF). AT^DDTMFCFG, the switch of Huawei's M2M
modules, is not sent: a stick without it would only refuse it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

_DTMF = re.compile(r"^\+DTMF:\s*(\S)")
_QTONEDET = re.compile(r"^\+QTONEDET:\s*(\d+)")
_DDTMF = re.compile(r"^\^DDTMF:\s*([0-9A-D*#])")


@dataclass(frozen=True)
class Dialect:
    family: str
    dtmf_enable: str | None
    tts_command: str | None
    audio: str | None = None  # how a sound file is played into a call (speech_out)

    def without(self, **parts) -> Dialect:
        """This dialect with what the modem refused switched off (``tts_command=None`` …)."""
        return replace(self, **parts)

    def speak(self, text: str) -> str | None:
        """The AT command that speaks ``text`` (UCS-2 hex, so Chinese works), or None."""
        if not self.tts_command:
            return None
        return f'{self.tts_command}=1,"{text.encode("utf-16-be").hex().upper()}"'

    @property
    def nitz_commands(self) -> tuple[str, ...]:
        """What turns network time on; an unknown modem gets both forms (one is refused)."""
        return NITZ.get(self.family, ("AT+CTZU=1", "AT+CLTS=1"))

    @property
    def ussd_packed(self) -> bool:
        """USSD strings travel as packed GSM 7-bit hex (Huawei without AT^USSDMODE=0)."""
        return self.family == "huawei"


NITZ = {"simcom": ("AT+CLTS=1",), "quectel": ("AT+CTZU=3",), "huawei": ("AT+CTZU=1",)}


def detect(manufacturer: str, model: str) -> Dialect:
    maker, model = (manufacturer or "").lower(), (model or "").lower()
    if "huawei" in maker:
        return Dialect("huawei", None, None, "pcm_port")
    if "quectel" in maker:
        return Dialect("quectel", "AT+QTONEDET=1", "AT+QTTS", "qpsnd")
    if "sim800" in model or "sim900" in model:
        return Dialect("simcom", "AT+DDET=1", None, "crec")  # 2G modules: no text-to-speech
    if "simcom" in maker:
        return Dialect("simcom", "AT+DDET=1", "AT+CTTS", "ccmxplay")
    return Dialect("generic", "AT+DDET=1", "AT+CTTS")


def dtmf_digit(line: str) -> str | None:
    """The key pressed, from any family's report (Quectel sends the ASCII code)."""
    if m := _DTMF.match(line) or _DDTMF.match(line):
        return m.group(1)
    if m := _QTONEDET.match(line):
        code = int(m.group(1))
        return chr(code) if 32 <= code < 127 else None
    return None
