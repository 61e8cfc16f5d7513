"""Modem personalities: identity strings and the dialect details that differ between models.

Each field below is a point where the real modules differ; the handlers read these fields, so a
new dialect is a new ``Profile`` entry. Variants for one test (``+CLIP`` without ``RING``, URCs
in the middle of answers) come from ``Profile.with_changes``.

Per-profile differences, and why:

- ``generic``: an imaginary well-behaved modem; answers both +CREG and +CEREG as registered,
  reports DTMF like SIMCom, has no TTS, its port survives a reset (like a UART).
- ``sim800``: SIM800L is 2G only, so +CEREG is unknown (ERROR); it presents callers in national
  form (``"13800138000",129``) with RING before +CLIP; no TTS in the L variant; it sits on a UART,
  so AT+CFUN=1,1 leaves the port in place and then prints RDY/Call Ready/SMS Ready; it has
  AT+CLTS (network time) but not AT+CTZU; an SMS submitted without network fails with the
  catch-all +CMS ERROR: 500, which is what SIMCom's 2G firmware reports.
- ``sim7600``: SIM7600G-H camps on LTE, so +CREG shows "not registered" while +CEREG shows
  registered; callers in international form (``"+8613800138000",145``); TTS by AT+CTTS; it is a
  USB device, so a reset re-enumerates the port (a new /dev name); echo is on at power-up.
- ``ec25``: Quectel EC25 is LTE like the SIM7600 but reports the caller with +CLIP *before* RING,
  DTMF as ``+QTONEDET: <ASCII code>`` after AT+QTONEDET=1, TTS by AT+QTTS, network time by
  AT+CTZU (no AT+CLTS), and boots with ``+QIND:`` lines; a USB device too.
- Restarting in place (``reboot_in_place``: a brown-out, the port stays) a SIM800 first prints
  ``UNDER-VOLTAGE POWER DOWN`` (SIM800 Hardware Design V1.09 §4.2.2.3); every profile then
  prints its ``boot_lines``. On SIM800 and EC25 the late ones (after ``+CPIN: READY``) land inside
  the answers to the first identification commands (``boot_urcs_in_answers``), as they do when a
  host starts talking while the module is still booting.
- Network time: ``+CCLK?`` shows the module's RTC from its default epoch (SIM800 2004-01-01,
  the Qualcomm-based SIM7600/EC25 the GPS epoch 1980-01-06) until NITZ is switched on
  (AT+CLTS=1 / AT+CTZU=1|3); from then on the network's time.
- USSD: ``ussd_style`` "auto" answers UCS-2 (dcs 72) when the text is not ASCII, else text in
  the host's character set (dcs 15); "packed" (Huawei sticks) answers packed GSM 7-bit hex and
  only understands requests packed the same way (``HUAWEI_E3531``).
- ``a7670``: SIMCom A7670E (LTE Cat-1, like the SIM7600 in its commands) with early connect:
  at ring-back it says ``VOICE CALL: BEGIN`` and ``+COLP`` and lists the call as active.
- Without network, SIM7600/EC25 and generic answer a submit with +CMS ERROR: 331 ("no network
  service", 3GPP TS 27.005), SIM800 with 500 (see above).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone

CALLER_ID_STYLES = ("as_given", "national", "international")
DTMF_STYLES = ("simcom", "quectel", "huawei")
TTS_COMMANDS = (None, "+CTTS", "+QTTS")
# How a recorded or synthesised sound file gets into a call (see call_audio): SIMCom LTE files
# + AT+CCMXPLAY, Quectel AT+QFUPL + AT+QPSND, SIM800 AT+FSWRITE + AT+CREC, Huawei PCM on the
# voice port, or none.
AUDIO_MECHANISMS = (None, "ccmxplay", "qpsnd", "crec", "pcm_port")
RADIOS = ("gsm", "lte", "both")
GPS_EPOCH = datetime(1980, 1, 6, tzinfo=timezone.utc)  # Qualcomm-based modules' RTC start
USSD_STYLES = ("auto", "ucs2", "ucs2_dcs15", "text", "packed")


@dataclass(frozen=True)
class Profile:
    name: str
    manufacturer: str
    model: str
    revision: str
    imei: str = "866123045678901"
    imsi: str = "460001234567890"
    operator: str = "CHINA MOBILE"
    smsc: str = "+8613800100500"
    echo: bool = True  # echo after power-up / ATZ, as every real modem does
    supports_crc: bool = True  # AT+CRC=1 turns RING into +CRING: VOICE
    clip_before_ring: bool = False  # some modules report the caller before the first RING
    clip_without_ring: bool = False  # some firmwares (or ports) show +CLIP but never RING
    # Seconds between two RING/+CLIP of one incoming call: the network's cadence as the module
    # reports it (Quectel AT+QCFG="urc/ri/ring" default; u-blox 5 s); scaled by the latency.
    ring_interval: float = 5.5
    # SIMCom A76xx on some firmwares/networks: as soon as the callee's phone alerts, the module
    # sends "VOICE CALL: BEGIN" and +COLP and lists the call as active (+CLCC stat 0) - an early
    # voice channel for the ring-back tone, not an answer; nothing more comes when the callee
    # does answer (A7672SA traces published with an open alarm firmware's carrier notes: "+CLCC
    # 1,0,2 / 1,0,3 / VOICE CALL: BEGIN / +CLCC 1,0,0 / +COLP" all at ring-back).
    early_connect: bool = False
    caller_id_style: str = "as_given"  # how +CLIP shows the caller: see CALLER_ID_STYLES
    country_code: str = "86"  # for converting between national and international numbers
    sms_capacity: int = 50  # messages per storage ("SM", "ME")
    radio: str = "both"  # "gsm": 2G only (+CREG); "lte": registers in +CEREG only; "both"
    # "+DTMF: 1" after AT+DDET=1, "+QTONEDET: 49" (quectel), or "^DDTMF: 1" always (huawei)
    dtmf_style: str = "simcom"
    tts_command: str | None = None  # "+CTTS" (SIMCom), "+QTTS" (Quectel) or None (no TTS)
    audio: str | None = None  # how a sound file is played into a call: see AUDIO_MECHANISMS
    file_space: int = 0  # bytes of the module's file system for audio files
    usb: bool = False  # a reset re-enumerates the port (a new device name), unlike a UART
    boot_lines: tuple[str, ...] = ("RDY", "+CPIN: READY", "SMS Ready")  # printed after power-up
    cms_unregistered: int = 331  # +CMS ERROR for a submit while not registered
    # URCs that came while a command ran go out between its information lines and its result
    # code, as some firmwares do, instead of after the whole answer.
    interleave_urcs: bool = False
    power_down_line: str | None = None  # printed first when the supply browns out
    # The boot lines after +CPIN: READY come inside the answers to the first identification
    # commands after power-up (or on their own a while later if none comes: modem_power).
    boot_urcs_in_answers: bool = False
    # +CCLK? at power-up, before network time: the RTC's default epoch.
    rtc_epoch: datetime = datetime(2000, 1, 1, tzinfo=timezone.utc)
    ussd_style: str = "auto"  # how USSD answers are encoded: see USSD_STYLES
    # Commands this model answers with ERROR even though the engine knows them.
    unsupported: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self):
        for value, allowed, name in ((self.caller_id_style, CALLER_ID_STYLES, "caller_id_style"),
                                     (self.dtmf_style, DTMF_STYLES, "dtmf_style"),
                                     (self.tts_command, TTS_COMMANDS, "tts_command"),
                                     (self.audio, AUDIO_MECHANISMS, "audio"),
                                     (self.radio, RADIOS, "radio"),
                                     (self.ussd_style, USSD_STYLES, "ussd_style")):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}")

    def with_changes(self, **changes) -> "Profile":
        """A variant of this profile, e.g. ``PROFILES["sim800"].with_changes(clip_without_ring=True)``."""
        return dataclasses.replace(self, **changes)

    def supports(self, command_name: str) -> bool:
        return command_name not in self.unsupported


# Vendor commands no profile has: clients probing for Wavecom, ZTE or Huawei must get ERROR and
# fall back to polling +CLCC for call state.
FOREIGN_COMMANDS = frozenset({"+WIND", "+ZPAS", "^CURC"})

PROFILES: dict[str, Profile] = {
    "generic": Profile(
        name="generic",
        manufacturer="edgebox",
        model="EMU-1",
        revision="EMU-1.0.0",
        unsupported=FOREIGN_COMMANDS | {"+QTONEDET"},
    ),
    "sim800": Profile(
        name="sim800",
        manufacturer="SIMCOM_Ltd",
        model="SIM800L",
        revision="Revision:1418B04SIM800L24",
        imei="868183030123456",
        caller_id_style="national",
        radio="gsm",
        boot_lines=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
        power_down_line="UNDER-VOLTAGE POWER DOWN",
        boot_urcs_in_answers=True,
        rtc_epoch=datetime(2004, 1, 1, tzinfo=timezone.utc),
        cms_unregistered=500,
        audio="crec",
        file_space=40 * 1024,  # SIM800L flash left for files: ~40 KB (field reports; AMR only)
        unsupported=FOREIGN_COMMANDS | {"+CEREG", "+QTONEDET", "+CTZU"},
    ),
    "sim7600": Profile(
        name="sim7600",
        manufacturer="SIMCOM INCORPORATED",
        model="SIMCOM_SIM7600G-H",
        revision="LE20B04SIM7600G22",
        imei="862636051234567",
        caller_id_style="international",
        radio="lte",
        tts_command="+CTTS",
        audio="ccmxplay",
        file_space=2 * 1024 * 1024,  # the C: drive's free space on a SIM7600/A7670
        usb=True,
        boot_lines=("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
        rtc_epoch=GPS_EPOCH,
        unsupported=FOREIGN_COMMANDS | {"+QTONEDET"},
    ),
    "ec25": Profile(
        name="ec25",
        manufacturer="Quectel",
        model="EC25",
        revision="EC25EFAR06A06M4G",
        imei="861107031234567",
        clip_before_ring=True,
        ring_interval=6.0,  # AT+QCFG="urc/ri/ring" default: the EC25 repeats RING every 6 s
        caller_id_style="international",
        radio="lte",
        dtmf_style="quectel",
        tts_command="+QTTS",
        audio="qpsnd",
        file_space=4 * 1024 * 1024,  # UFS free space on an EC25
        usb=True,
        boot_lines=("RDY", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
        boot_urcs_in_answers=True,
        rtc_epoch=GPS_EPOCH,
        unsupported=FOREIGN_COMMANDS | {"+DDET", "+CLTS"},
    ),
}

# SIMCom's LTE Cat-1 successor of the SIM7600, the same AT dialect, but it reports the call as
# connected while the far end still rings (early +COLP / VOICE CALL: BEGIN / +CLCC stat 0).
PROFILES["a7670"] = PROFILES["sim7600"].with_changes(
    name="a7670", model="A7670E-FASE", revision="A011B07A7670M7_F", imei="861045087668615",
    early_connect=True, rtc_epoch=datetime(2000, 1, 1, tzinfo=timezone.utc))

# A Huawei USB stick (E3531 and its kin): USSD as packed GSM 7-bit both ways, keys reported as
# ^DDTMF without being switched on, speech as PCM on the voice port.
# Not in PROFILES (the contract suite runs every profile there); tests pick it by name.
HUAWEI_E3531 = PROFILES["generic"].with_changes(
    name="huawei", manufacturer="huawei", model="E3531", revision="22.521.23.00.00",
    usb=True, boot_lines=("+CPIN: READY",), ussd_style="packed", audio="pcm_port",
    dtmf_style="huawei",
    unsupported=FOREIGN_COMMANDS - {"^CURC"} | {"+QTONEDET", "+DDET", "+CLTS"})


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown modem profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
