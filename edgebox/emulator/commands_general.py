"""V.250 basics, identification, functionality and miscellaneous 27.007 commands.

SIM, registration, signal, USSD and clock answers are in ``commands_health``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from edgebox.emulator.at_parser import EXEC, READ, SET, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.replies import Reply

if TYPE_CHECKING:  # the engine imports this module; here it is only a type
    from edgebox.emulator.at_engine import AtEngine

OWN_NUMBER = "+8613912345678"
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
        (level, reset, *_) = (command.int_values() or [1]) + [0]
        if level not in (0, 1, 4) or reset not in (0, 1, None):
            raise CmeError(50)
        if reset == 1:
            # OK first, then the module resets: the box's recovery ladder relies on this.
            return Reply(on_answer=engine.request_reboot)
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

    def clac(engine, command: AtCommand) -> Reply:
        return Reply(["AT" + name for name in engine.supported_commands()
                      if name[0] in "+^" and name not in ("+GMI", "+GMM", "+GMR", "+GSN")])

    def cnum(engine, command: AtCommand) -> Reply:
        return Reply([f'+CNUM: "","{OWN_NUMBER}",145'])

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
        "+CIMI": identity(profile.imsi), "+CFUN": cfun, "+CMEE": cmee,
        "+CLAC": clac, "+CNUM": cnum, "+CBC": cbc, "+GCAP": gcap,
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
