"""Lines a modem prints when it powers down or (re)starts on its own.

A SIM800 on a weak supply browns out and restarts in place: the UART stays, the module prints
``UNDER-VOLTAGE POWER DOWN`` (or ``NORMAL POWER DOWN``), then ``RDY``, ``+CFUN: 1``,
``+CPIN: READY``, ``Call Ready``, ``SMS Ready`` and is back at its power-up defaults (SIM800
Series AT Command Manual V1.09, "Summary of unsolicited result codes"; SIM800 Hardware Design
V1.09 §4.2: "RDY" after power-on at a fixed baud rate, the power-down URCs; SIM800C words them
``... POWER OFF``, Quectel's GSM modules ``UNDER_VOLTAGE POWER DOWN``). SIM7600 prints
``RDY``, ``+CPIN: READY``, ``SMS DONE``, ``PB DONE``; Quectel EC25 ``RDY``, ``+QUSIM: 1``,
``+CPIN: READY``, ``+QIND: SMS DONE``, ``+QIND: PB DONE``. Any of them may land inside the answer
to a command, and any may be lost (a restart in the middle of our own write).

``+CPIN: READY`` and ``+CFUN: 1`` are also the answers to ``AT+CPIN?`` and ``AT+CFUN?``: they
are boot lines only when they do not answer the command that is waiting (``is_boot_line``).

Not every boot line proves a restart. The later ones also come on their own, well after a
normal start: a SIM900 prints ``Call Ready`` when it can take calls and ``SMS Ready`` when its
SMS store is up, many seconds after it already answers AT (SIM900 AT Commands Manual V1.07,
"Call Ready"); an A76XX or EC25 prints ``SMS DONE``/``PB DONE`` as its phonebook finishes, and a
SIM that comes back from ``+CPIN: NOT READY`` prints ``+CPIN: READY`` and what follows it
again. Only a power-down line and ``RDY`` (the first line after power-on, SIM800 Hardware
Design V1.09 §4.2; EC25 manual "RDY") come from a restart alone: they are ``restart lines``.
Any other boot line only says "maybe restarted": the settings a restart resets are read, and
the modem is set up again only if they were reset (a SIM800 on autobaud prints no ``RDY``).
"""
from __future__ import annotations

import re

BOOT_LINE = re.compile(
    r"^(RDY|(UNDER|OVER)[-_]VOLTAGE POWER (DOWN|OFF)|NORMAL POWER (DOWN|OFF)|POWERED DOWN|"
    r"Call Ready|SMS Ready|SMS DONE|PB DONE|\+QIND: (SMS|PB) DONE|\+QUSIM: \d|\+CFUN: 1|\+CPIN: READY)$",
    re.IGNORECASE)
# Lines only a power-down or a power-up prints, never a module that keeps running.
RESTART_LINE = re.compile(
    r"^(RDY|(UNDER|OVER)[-_]VOLTAGE POWER (DOWN|OFF)|NORMAL POWER (DOWN|OFF)|POWERED DOWN)$",
    re.IGNORECASE)
# The lines a query's own answer starts with: "+CPIN: READY" answers "AT+CPIN?".
_ANSWER_PREFIX = re.compile(r"^\+([A-Z]+):")


def is_boot_line(line: str, pending_command: str | None = None) -> bool:
    """``line`` says the modem (re)started, and is not the answer to ``pending_command``."""
    if not BOOT_LINE.match(line.strip()):
        return False
    prefix = _ANSWER_PREFIX.match(line.strip())
    if prefix and pending_command and pending_command.upper().startswith(
            f"AT+{prefix.group(1).upper()}"):
        return False
    return True


def is_restart_line(line: str) -> bool:
    """``line`` proves the modem powered down or restarted (not a late boot line)."""
    return bool(RESTART_LINE.match(line.strip()))
