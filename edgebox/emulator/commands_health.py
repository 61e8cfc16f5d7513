"""What the box checks to know its modem is healthy: SIM, registration, signal, operator, balance, clock.

The answers follow ``engine.network`` (set from the control side) and the profile's radio:

- ``+CREG``/``+CGREG`` (2G/3G) and ``+CEREG`` (LTE) stat: 1 home, 5 roaming, 2 searching (coverage
  lost), 0 not registered (SIM not ready, or the 2G/3G view of a module camped on LTE).
- ``+CGATT``: packet service attached while registered, unless the host detached (``AT+CGATT=0``).
- ``+CUSD``: the balance answer is UCS-2 hex with dcs 72 when it is not plain ASCII (what Chinese
  operators' answers look like on real modems), else plain text with dcs 15.
- ``+CCLK``: network time plus ``network.clock_offset``, ``"yy/MM/dd,hh:mm:ss±zz"`` with zz in
  quarter hours; setting it moves the offset, like a real module's RTC until the next NITZ.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from edgebox.emulator.at_engine import COMMAND_SETS, AtEngine, Reply
from edgebox.emulator.at_parser import READ, SET, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.sms_codec import text_mode_timestamp, ucs2_hex

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
        request = engine.decode_text(values[1])
        answer = network.balance_text if request.endswith("#") else f"Unknown service code {request}"
        if answer.isascii():
            shown, dcs = engine.encode_text(answer), USSD_GSM7_DCS
        else:
            shown, dcs = ucs2_hex(answer), USSD_UCS2_DCS
        return Reply(on_answer=lambda: engine.emit_urc(f'+CUSD: 0,"{shown}",{dcs}'))

    def cclk(engine, command: AtCommand) -> Reply:
        if command.form == READ:
            return Reply([f'+CCLK: "{text_mode_timestamp(network_time(engine))}"'])
        if command.form == SET:
            wanted = parse_cclk((command.values() or [""])[0])
            network.clock_offset += (wanted - network_time(engine)).total_seconds()
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


COMMAND_SETS.append(health_commands)
