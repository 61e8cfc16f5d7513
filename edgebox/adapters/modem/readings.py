"""Parsing what a modem answers about its health: signal, registration, SIM, operator, network
time, USSD balance (its encodings are in ``ussd``). Pure functions over response lines, so every
dialect is testable without a modem; ``health_reading`` asks through the function it is given."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from edgebox.errors import ModemError

REGISTRATION = {0: "none", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}
REGISTERED = ("home", "roaming")

CLCC = re.compile(r'^\+CLCC:\s*(\d+),(\d),(\d),(\d),(\d)(?:,"([^"]*)",(\d+))?')
_CSQ = re.compile(r"^\+CSQ:\s*(\d+),")
_REG = re.compile(r"^\+C(E?)REG:\s*(?:\d+,)?(\d+)")
_CPIN = re.compile(r"^\+CPIN:\s*(.+)$")
_COPS = re.compile(r'^\+COPS:\s*\d+(?:,\d+,"([^"]*)")?')
_CCLK = re.compile(r'^\+CCLK:\s*"(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d+)?"')
# The settings a restart in place takes back to power-up defaults, as the health check reads
# them: caller id shown (+CLIP: 1,…), new SMS and reports announced as we asked (+CNMI).
_CLIP_SETTING = re.compile(r"^\+CLIP:\s*(\d)")
_CNMI_SETTING = re.compile(r"^\+CNMI:\s*(\d),(\d),\d,(\d)")
_BALANCE = re.compile(r"(?:余额|balance)\D{0,12}?(-?\d+(?:\.\d+)?)", re.IGNORECASE)


@dataclass
class HealthReading:
    signal: int | None = None  # rssi 0-31; None when the modem does not know (99)
    registration: str | None = None
    technology: str | None = None  # "2G" (+CREG) or "4G" (+CEREG)
    sim: str | None = None
    operator: str | None = None
    network_time: datetime | None = None
    # Settings a restart in place resets that the modem no longer has ("clip", "cnmi", "echo").
    settings_off: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def registered(self) -> bool:
        return self.registration in REGISTERED


HEALTH_COMMANDS = ("AT+CSQ", "AT+CREG?", "AT+CEREG?", "AT+CPIN?", "AT+COPS?", "AT+CCLK?")


def health_reading(ask: Callable[[str], list[str]]) -> HealthReading:
    """Signal, registration (2G and 4G), SIM, operator and network time, each asked with
    ``ask(command)`` (the modem's answer lines, or ModemError). Each answer that fails is
    noted, the rest still read."""
    reading = HealthReading()
    answers = {}
    for command in HEALTH_COMMANDS:
        try:
            answers[command] = ask(command)
        except ModemError as exc:
            answers[command] = []
            if command != "AT+CEREG?":  # 2G-only modems have no +CEREG
                reading.errors.append(str(exc))
    reading.signal = signal(answers["AT+CSQ"])
    reg = best_registration(registration(answers["AT+CREG?"]),
                            registration(answers["AT+CEREG?"]))
    if reg:
        reading.registration, reading.technology = reg
    reading.sim = sim_state(answers["AT+CPIN?"])
    reading.operator = operator(answers["AT+COPS?"])
    reading.network_time = network_time(answers["AT+CCLK?"])
    return reading


def signal(lines: list[str]) -> int | None:
    for line in lines:
        if m := _CSQ.match(line):
            rssi = int(m.group(1))
            return None if rssi == 99 else rssi
    return None


def registration(lines: list[str]) -> tuple[str, str] | None:
    """(status, technology) from a +CREG? or +CEREG? answer."""
    for line in lines:
        if m := _REG.match(line):
            return REGISTRATION.get(int(m.group(2)), "unknown"), "4G" if m.group(1) else "2G"
    return None


def best_registration(*answers: tuple[str, str] | None) -> tuple[str, str] | None:
    """A 4G module is registered on LTE (+CEREG) while +CREG says not registered on 2G/3G:
    a modem is registered if either says so."""
    found = [a for a in answers if a]
    for answer in found:
        if answer[0] in REGISTERED:
            return answer
    return found[0] if found else None


def sim_state(lines: list[str]) -> str | None:
    for line in lines:
        if m := _CPIN.match(line):
            return m.group(1).strip()
    return None


def operator(lines: list[str]) -> str | None:
    for line in lines:
        if m := _COPS.match(line):
            return m.group(1) or None
    return None


def network_time(lines: list[str]) -> datetime | None:
    """+CCLK: "yy/MM/dd,hh:mm:ss±zz" (zz in quarter hours) as an aware UTC datetime."""
    for line in lines:
        if m := _CCLK.match(line):
            yy, mo, dd, hh, mi, ss = (int(g) for g in m.groups()[:6])
            quarters = int(m.group(7) or 0)
            century = 1900 if yy >= 70 else 2000  # "80/01/06": a module's RTC at its GPS epoch
            try:
                local = datetime(century + yy, mo, dd, hh, mi, ss,
                                 tzinfo=timezone(timedelta(minutes=15 * quarters)))
            except ValueError:
                return None
            return local.astimezone(timezone.utc)
    return None


def balance(text: str) -> float | None:
    """The balance in an operator's USSD answer (尊敬的客户，您的账户余额为12.50元 …)."""
    m = _BALANCE.search(text or "")
    return float(m.group(1)) if m else None


def settings_off(clip: list[str], cnmi: list[str], wanted_cnmi: str) -> list[str]:
    """Which of "echo", "clip", "cnmi" the answers to AT+CLIP? and AT+CNMI? show off: echo as
    our own command coming back in its answer, +CNMI as its <mt> and <ds> against ours."""
    off = []
    if any(ln.strip() in ("AT+CLIP?", "AT+CNMI?") for ln in clip + cnmi):
        off.append("echo")
    shown = next((m for ln in clip if (m := _CLIP_SETTING.match(ln))), None)
    if shown is None or shown.group(1) != "1":
        off.append("clip")
    wanted = wanted_cnmi.split(",")
    now = next((m for ln in cnmi if (m := _CNMI_SETTING.match(ln))), None)
    if now is None or len(wanted) < 4 or (now.group(2), now.group(3)) != (wanted[1], wanted[3]):
        off.append("cnmi")
    return off
