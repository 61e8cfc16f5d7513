"""V.250 basics, identification, SIM, network and miscellaneous 27.007 commands."""
from __future__ import annotations

from edgebox.emulator.at_engine import COMMAND_SETS, AtEngine, Reply
from edgebox.emulator.at_parser import EXEC, READ, SET, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.sms_codec import text_mode_timestamp

SIGNAL_QUALITY = "+CSQ: 23,99"  # about -67 dBm: a good rural signal
OWN_NUMBER = "+8613912345678"
BALANCE_TEXT = "Balance: 35.20 CNY, valid until 2026-12-31. Thank you for using CHINA MOBILE."
BASIC_ACCEPTED = {"Q": {"", "0"}, "V": {"", "1"}, "X": {"", "0", "1", "2", "3", "4"},
                  "&C": {"", "0", "1"}, "&D": {"", "0", "1", "2"}, "&W": {"", "0"},
                  "L": {"", "0", "1", "2", "3"}, "M": {"", "0", "1", "2"}}


def general_commands(engine: AtEngine) -> dict:
    profile = engine.profile
    s_registers = {0: 0, 3: 13, 4: 10, 5: 8, 7: 60}

    def identity(text: str):
        def answer(engine, command: AtCommand) -> Reply:
            if command.form == TEST:
                return Reply()
            return Reply([text])
        return answer

    def reset(engine, command: AtCommand) -> Reply:
        engine.reset()
        return Reply()

    def echo(engine, command: AtCommand) -> Reply:
        if command.args not in ("", "0", "1"):
            raise AtSyntaxError("ATE takes 0 or 1")
        engine.settings.echo = command.args == "1"
        return Reply()

    def info(engine, command: AtCommand) -> Reply:
        if command.args in ("", "0"):
            return Reply([profile.manufacturer, profile.model, f"Revision: {profile.revision}"])
        if command.args == "3":
            return Reply([profile.revision])
        raise AtSyntaxError("unknown ATI variant")

    def accept_basic(name: str):
        def answer(engine, command: AtCommand) -> Reply:
            if command.args not in BASIC_ACCEPTED[name]:
                raise AtSyntaxError(f"{name}{command.args} not supported")
            return Reply()
        return answer

    def s_register(engine, command: AtCommand) -> Reply:
        number = int(command.name[1:])
        if command.form == READ:
            return Reply([f"{s_registers.get(number, 0):03d}"])
        if command.form == SET:
            s_registers[number] = int(command.args or 0)
        return Reply()

    def cfun(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CFUN: (0,1,4),(0,1)"])
        if command.form == READ:
            return Reply([f"+CFUN: {engine.settings.cfun}"])
        (level, *_) = command.int_values() or [1]
        if level not in (0, 1, 4):
            raise CmeError(50)
        engine.settings.cfun = level
        return Reply()

    def cmee(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CMEE: (0-2)"])
        if command.form == READ:
            return Reply([f"+CMEE: {engine.settings.cmee}"])
        (level, *_) = command.int_values() or [0]
        if level not in (0, 1, 2):
            raise CmeError(50)
        engine.settings.cmee = level
        return Reply()

    def cpin(engine, command: AtCommand) -> Reply:
        if command.form == READ:
            return Reply(["+CPIN: READY"])
        if command.form == SET:
            raise CmeError(3)  # no PIN is asked for, so entering one is not allowed
        return Reply()

    def clac(engine, command: AtCommand) -> Reply:
        return Reply(["AT" + name for name in engine.supported_commands()
                      if name[0] in "+^" and name not in ("+GMI", "+GMM", "+GMR", "+GSN")])

    def cops(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply([f'+COPS: (2,"{profile.operator}","CMCC","46000",7),,(0-4),(0-2)'])
        if command.form == READ:
            fmt = engine.settings.cops_format
            name = {0: profile.operator, 1: "CMCC", 2: "46000"}[fmt]
            return Reply([f'+COPS: 0,{fmt},"{name}",7'])
        given = command.int_values()
        if len(given) >= 2 and given[1] is not None:
            if given[1] not in (0, 1, 2):
                raise CmeError(50)
            engine.settings.cops_format = given[1]
        return Reply()

    def registration(name: str, setting: str):
        def answer(engine, command: AtCommand) -> Reply:
            if command.form == TEST:
                return Reply([f"{name}: (0-2)"])
            if command.form == SET:
                setattr(engine.settings, setting, (command.int_values() or [0])[0] or 0)
                return Reply()
            level = getattr(engine.settings, setting)
            extra = ',"1A2B","0C3D4E5",7' if level == 2 else ""
            return Reply([f"{name}: {level},1{extra}"])  # 1: registered, home network
        return answer

    def csq(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CSQ: (0-31,99),(0-7,99)"])
        return Reply([SIGNAL_QUALITY])

    def cnum(engine, command: AtCommand) -> Reply:
        return Reply([f'+CNUM: "","{OWN_NUMBER}",145'])

    def cusd(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CUSD: (0,1,2)"])
        if command.form == READ:
            return Reply(["+CUSD: 1"])
        values = command.values()
        if len(values) < 2:
            return Reply()  # only enables/disables result presentation
        request = engine.decode_text(values[1])
        answer = BALANCE_TEXT if request.endswith("#") else f"Unknown service code {request}"
        shown = engine.encode_text(answer)
        return Reply(on_answer=lambda: engine.emit_urc(f'+CUSD: 0,"{shown}",15'))

    def cclk(engine, command: AtCommand) -> Reply:
        if command.form == READ:
            return Reply([f'+CCLK: "{text_mode_timestamp(engine.wallclock())}"'])
        if command.form == SET:
            return Reply()  # the network time wins again at the next tick, as with NITZ
        return Reply()

    def cbc(engine, command: AtCommand) -> Reply:
        return Reply(["+CBC: 0,100,4200"])  # USB powered: "not charging", full, 4.2 V

    def gcap(engine, command: AtCommand) -> Reply:
        return Reply(["+GCAP: +CGSM"])

    handlers = {
        "Z": reset, "&F": reset, "E": echo, "I": info,
        "+CGMI": identity(profile.manufacturer), "+GMI": identity(profile.manufacturer),
        "+CGMM": identity(profile.model), "+GMM": identity(profile.model),
        "+CGMR": identity(profile.revision), "+GMR": identity(profile.revision),
        "+CGSN": identity(profile.imei), "+GSN": identity(profile.imei),
        "+CIMI": identity(profile.imsi), "+CFUN": cfun, "+CMEE": cmee, "+CPIN": cpin,
        "+CLAC": clac, "+COPS": cops, "+CREG": registration("+CREG", "creg"),
        "+CGREG": registration("+CGREG", "creg"), "+CEREG": registration("+CEREG", "creg"),
        "+CSQ": csq, "+CNUM": cnum, "+CUSD": cusd, "+CCLK": cclk, "+CBC": cbc, "+GCAP": gcap,
    }
    handlers.update({name: accept_basic(name) for name in BASIC_ACCEPTED})
    handlers.update({f"S{number}": s_register for number in s_registers})
    for name in ("+CGMI", "+CGMM", "+CGMR", "+CGSN", "+CIMI", "+GMI", "+GMM", "+GMR", "+GSN"):
        handlers[name] = _exec_or_test(handlers[name])
    return handlers


def _exec_or_test(handler):
    def guarded(engine, command: AtCommand) -> Reply:
        if command.form not in (EXEC, TEST):
            raise AtSyntaxError(f"{command.name} takes no parameters")
        return handler(engine, command)
    return guarded


COMMAND_SETS.append(general_commands)
