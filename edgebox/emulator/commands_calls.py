"""Call-control commands: ATD, ATA, ATH, +CHUP, +CLCC, call waiting (+CCWA, +CHLD) and the
caller-id settings."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from edgebox.emulator.at_parser import READ, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.calls import CallDesk
from edgebox.emulator.replies import Reply

if TYPE_CHECKING:  # the engine imports this module; here it is only a type
    from edgebox.emulator.at_engine import AtEngine

DIALLABLE = re.compile(r"^\+?[0-9*#]+$")


def call_commands(engine: AtEngine) -> dict:
    desk = CallDesk(engine)
    engine.services["calls"] = desk

    def dial(engine, command: AtCommand) -> Reply:
        target = command.args.replace(" ", "")
        voice = target.endswith(";")
        number = target.rstrip(";").upper().replace("T", "").replace("P", "")
        if number.startswith("I") or number.startswith("G"):
            number = number[1:]  # CLIR / CUG modifiers
        if not DIALLABLE.match(number):
            raise AtSyntaxError(f"cannot dial {target!r}")
        if not voice:
            return Reply(final="NO CARRIER")  # data calls are not offered on this line
        desk.dial(number)
        return Reply()

    def answer(engine, command: AtCommand) -> Reply:
        return Reply() if desk.answer() else Reply(final="NO CARRIER")

    def hang_up(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply()
        # The call is released as the OK goes out: a hang-up the modem never answers (a stuck
        # command) leaves the call ringing, as a hung module does.
        return Reply(on_answer=desk.hang_up)

    def clcc(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply()
        return Reply(desk.list_lines())

    def switch(setting: str, allowed: tuple[int, ...] = (0, 1), supported: bool = True):
        name = "+" + setting.upper()

        def answer(engine, command: AtCommand) -> Reply:
            if command.form == TEST:
                return Reply([f"{name}: ({','.join(map(str, allowed))})"])
            if command.form == READ:
                return Reply([f"{name}: {getattr(engine.settings, setting)}" +
                              (",1" if setting == "clip" else "")])
            (value, *_) = command.int_values() or [0]
            if value not in allowed or (value and not supported):
                raise AtSyntaxError(f"{name}={value} not supported")
            setattr(engine.settings, setting, value)
            return Reply()
        return answer

    def call_waiting(engine, command: AtCommand) -> Reply:
        """AT+CCWA=<n>[,<mode>[,<class>]] (3GPP TS 27.007 7.12): <n> turns the +CCWA
        announcement on; mode 2 asks the network's status (active for voice, class 1)."""
        if command.form == TEST:
            return Reply(["+CCWA: (0,1)"])
        if command.form == READ:
            return Reply([f"+CCWA: {engine.settings.ccwa}"])
        values = command.int_values() or [0]
        if values[0] not in (0, 1) or (len(values) > 1 and values[1] not in (0, 1, 2)):
            raise AtSyntaxError("+CCWA takes <n> 0/1 and <mode> 0-2")
        engine.settings.ccwa = values[0]
        if len(values) > 1 and values[1] == 2:
            return Reply(["+CCWA: 1,1"])
        return Reply()

    def hold_and_release(engine, command: AtCommand) -> Reply:
        """AT+CHLD=<n>: only 0 (release held calls, or "user busy" for the waiting call) is
        modelled; the box never holds, swaps or joins calls."""
        if command.form == TEST:
            return Reply(["+CHLD: (0,1,1x,2,2x,3,4)"])
        (value, *_) = command.int_values() or [0]
        if value != 0:
            raise AtSyntaxError(f"+CHLD={value} is not modelled")
        return Reply(on_answer=desk.release_waiting)

    return {"D": dial, "A": answer, "H": hang_up, "+CHUP": hang_up, "+CLCC": clcc,
            "+CCWA": call_waiting, "+CHLD": hold_and_release,
            "+CLIP": switch("clip"), "+CRC": switch("crc", supported=engine.profile.supports_crc),
            "+CVHU": switch("cvhu")}
