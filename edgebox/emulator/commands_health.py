"""What the box checks to know its modem is healthy: SIM, registration, signal, operator, balance, clock.

The answers follow ``engine.network`` (set from the control side) and the profile's radio:

- ``+CREG``/``+CGREG`` (2G/3G) and ``+CEREG`` (LTE) stat: 1 home, 5 roaming, 2 searching (coverage
  lost), 0 not registered (SIM not ready, or the 2G/3G view of a module camped on LTE).
- ``+CGATT``: packet service attached while registered, unless the host detached (``AT+CGATT=0``).
- ``+CUSD``: the balance answer in the profile's ``ussd_style`` (or the one the control side set):
  "auto" is UCS-2 hex with dcs 72 when it is not plain ASCII (what Chinese operators' answers
  look like on real modems), else text in the host's character set with dcs 15 (UCS-2 hex under
  AT+CSCS="UCS2"); "ucs2" always dcs 72; "ucs2_dcs15" UCS-2 hex under dcs 15; "text" plain
  (what cannot be shown becomes "?"); "packed" packed GSM 7-bit hex with dcs 15, and a request
  that is not packed the same way is not understood (+CUSD: 4), as on Huawei sticks.
- ``+CCLK``: ``"yy/MM/dd,hh:mm:ss±zz"`` with zz in quarter hours. Until network time (NITZ) is
  switched on (AT+CLTS=1, AT+CTZU=1 or 3) it is the module's RTC, counting from the profile's
  epoch at power-up (or from what AT+CCLK= set); with it on, the network's time plus
  ``network.clock_offset``, and setting it moves that offset until the next NITZ.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from edgebox.emulator.at_parser import READ, SET, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.replies import Reply
from edgebox.emulator.sms_codec import (SmsCodecError, from_packed_gsm7_hex, packed_gsm7_hex,
                                        text_mode_timestamp, ucs2_hex)

if TYPE_CHECKING:  # the engine imports this module; here it is only a type
    from edgebox.emulator.at_engine import AtEngine

USSD_UCS2_DCS, USSD_GSM7_DCS = 72, 15
CCLK_FORMAT = re.compile(r"^(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d\d)$")
REGISTRATION_SETTING = {"+CREG": "creg", "+CGREG": "cgreg", "+CEREG": "cereg"}


def registration_status(engine: AtEngine, name: str) -> int:
    network = engine.network
    if not engine.sim_ready():
        return 0
    if not network.registered:
        return 2
    if engine.profile.radio == "lte" and name != "+CEREG":
        return 0  # camped on LTE: the circuit-switched view shows nothing
    return 5 if network.roaming else 1


def announce_registration(engine: AtEngine) -> None:
    """+CREG: <stat> (and the others) for every report the host turned on with AT+CREG=1."""
    for name, setting in REGISTRATION_SETTING.items():
        if engine.profile.supports(name) and getattr(engine.settings, setting) >= 1:
            engine.emit_urc(f"{name}: {registration_status(engine, name)}")


def network_time(engine: AtEngine) -> datetime:
    return engine.wallclock() + timedelta(seconds=engine.network.clock_offset)


def nitz_on(engine: AtEngine) -> bool:
    return engine.settings.clts == 1 or engine.settings.ctzu in (1, 3)


def module_time(engine: AtEngine) -> datetime:
    """What +CCLK? shows: the network's time once NITZ is on (and the network is there to
    send it), else the RTC running from its power-up epoch or from the time last set."""
    if nitz_on(engine) and engine.network.registered:
        return network_time(engine)
    started_at, value = engine.rtc_started
    base = value if value is not None else engine.profile.rtc_epoch
    return base + timedelta(seconds=int(engine.clock() - started_at))


def health_commands(engine: AtEngine) -> dict:
    profile = engine.profile
    network = engine.network

    def csq(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CSQ: (0-31,99),(0-7,99)"])
        return Reply([f"+CSQ: {network.rssi},99"])

    def registration(name: str):
        setting = REGISTRATION_SETTING[name]

        def answer(engine, command: AtCommand) -> Reply:
            if command.form == TEST:
                return Reply([f"{name}: (0-2)"])
            if command.form == SET:
                (level, *_) = command.int_values() or [0]
                if level not in (0, 1, 2, None):
                    raise CmeError(50)
                setattr(engine.settings, setting, level or 0)
                return Reply()
            level = getattr(engine.settings, setting)
            status = registration_status(engine, name)
            extra = ',"1A2B","0C3D4E5",7' if level == 2 and status in (1, 5) else ""
            return Reply([f"{name}: {level},{status}{extra}"])
        return answer

    def cpin(engine, command: AtCommand) -> Reply:
        if command.form == READ:
            return Reply(["+CPIN: READY" if engine.sim_ready() else "+CPIN: NOT READY"])
        if command.form == SET:
            raise CmeError(3)  # no PIN is asked for, so entering one is not allowed
        return Reply()

    def cops(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply([f'+COPS: (2,"{profile.operator}","CMCC","46000",7),,(0-4),(0-2)'])
        if command.form == READ:
            if not (network.registered and engine.sim_ready()):
                return Reply(["+COPS: 0"])
            fmt = engine.settings.cops_format
            name = {0: profile.operator, 1: "CMCC", 2: "46000"}[fmt]
            technology = "" if profile.radio == "gsm" else ",7"  # 2G-only modules omit <AcT>
            return Reply([f'+COPS: 0,{fmt},"{name}"{technology}'])
        given = command.int_values()
        if len(given) >= 2 and given[1] is not None:
            if given[1] not in (0, 1, 2):
                raise CmeError(50)
            engine.settings.cops_format = given[1]
        return Reply()

    def cusd(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CUSD: (0,1,2)"])
        if command.form == READ:
            return Reply(["+CUSD: 1"])
        values = command.values()
        if len(values) < 2:
            return Reply()  # only enables/disables result presentation
        if not network.registered:
            raise CmeError(30)  # no network service
        style = network.ussd_style or profile.ussd_style
        try:
            request = (from_packed_gsm7_hex(values[1]) if style == "packed"
                       else engine.decode_text(values[1]))
        except SmsCodecError:
            return Reply(on_answer=lambda: engine.emit_urc("+CUSD: 4"))  # not understood
        answer = network.balance_text if request.endswith("#") else f"Unknown service code {request}"
        shown, dcs = ussd_answer(engine, answer, style)
        engine.log.record("ussd", request=request, style=style, dcs=dcs)
        return Reply(on_answer=lambda: engine.emit_urc(f'+CUSD: 0,"{shown}",{dcs}'))

    def cclk(engine, command: AtCommand) -> Reply:
        if command.form == READ:
            return Reply([f'+CCLK: "{text_mode_timestamp(module_time(engine))}"'])
        if command.form == SET:
            wanted = parse_cclk((command.values() or [""])[0])
            if nitz_on(engine):
                network.clock_offset += (wanted - network_time(engine)).total_seconds()
            else:
                engine.rtc_started = (engine.clock(), wanted)
        return Reply()

    def cgatt(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CGATT: (0,1)"])
        if command.form == READ:
            registered = any(registration_status(engine, name) in (1, 5)
                             for name in ("+CGREG", "+CEREG"))
            return Reply([f"+CGATT: {int(registered and engine.settings.cgatt == 1)}"])
        (state, *_) = command.int_values() or [None]
        if state not in (0, 1):
            raise CmeError(50)
        if state == 1 and not network.registered:
            raise CmeError(30)  # no network service to attach to
        engine.settings.cgatt = state
        return Reply()

    def switch(setting: str, allowed: tuple[int, ...]):
        name = "+" + setting.upper()

        def answer(engine, command: AtCommand) -> Reply:
            if command.form == TEST:
                return Reply([f"{name}: ({','.join(map(str, allowed))})"])
            if command.form == READ:
                return Reply([f"{name}: {getattr(engine.settings, setting)}"])
            (value, *_) = command.int_values() or [None]
            if value not in allowed:
                raise AtSyntaxError(f"{name}={value} not supported")
            setattr(engine.settings, setting, value)
            return Reply()
        return answer

    handlers = {"+CSQ": csq, "+CPIN": cpin, "+COPS": cops, "+CUSD": cusd, "+CCLK": cclk,
                "+CGATT": cgatt,
                "+CLTS": switch("clts", (0, 1)), "+CTZU": switch("ctzu", (0, 1, 3))}
    handlers.update({name: registration(name) for name in REGISTRATION_SETTING})
    return handlers


def ussd_answer(engine: AtEngine, answer: str, style: str) -> tuple[str, int]:
    """The string and dcs of a +CUSD answer in ``style`` (see the module's docstring)."""
    if style == "ucs2" or (style == "auto" and not answer.isascii()):
        return ucs2_hex(answer), USSD_UCS2_DCS
    if style == "ucs2_dcs15":
        return ucs2_hex(answer), USSD_GSM7_DCS
    if style == "packed":
        try:
            return packed_gsm7_hex(answer), USSD_GSM7_DCS
        except SmsCodecError:
            return ucs2_hex(answer), USSD_UCS2_DCS  # GSM 7-bit cannot carry it: the network's UCS-2
    if style == "text":
        return "".join(ch if ord(ch) < 128 else "?" for ch in answer), USSD_GSM7_DCS
    return engine.encode_text(answer), USSD_GSM7_DCS


def parse_cclk(text: str) -> datetime:
    """``yy/MM/dd,hh:mm:ss±zz`` (zz in quarter hours) as a timezone-aware datetime."""
    match = CCLK_FORMAT.match(text)
    if match is None:
        raise CmeError(50)
    year, month, day, hour, minute, second, quarters = (int(group) for group in match.groups())
    try:
        return datetime(2000 + year, month, day, hour, minute, second,
                        tzinfo=timezone(timedelta(minutes=15 * quarters)))
    except ValueError:
        raise CmeError(50) from None
