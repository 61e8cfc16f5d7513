"""The SMS uplink's wire format: a compact, signed line a box texts to the hub's modem.

For villages with no data link ever, the box sends the hub a daily summary and each
escalation that reached the township by SMS. One message is one line of printable ASCII (GSM
7-bit: 160 characters to a part, so a summary fits one part, two at most):

    EB1 <box> <seq> D <yyyymmdd> a=fire2.call1 k=3 f=0 m=h18 b=23.5 r=42 #<sig>
    EB1 <box> <seq> E <yyyymmddThhmm> i=17 t=fire s=3 #<sig>

- ``seq``: the box's SMS uplink counter, one up per message. The hub keeps every (box, seq)
  it accepted and refuses the same pair again: a replayed (or twice-delivered) text counts once.
- ``D`` (a day's counts, box's local date): alarms by type (``a``, ``-`` for none), acks (``k``),
  failed sends (``f``), modem health (``m``: h/r/n/u = home, roaming, not registered,
  unknown, then the signal 0-31), SIM balance (``b``, ``-`` when unknown) and households on the
  roster (``r``).
- ``E`` (an escalation that reached the township): incident id (``i``), alarm type (``t``),
  ladder step (``s``), and the time (UTC) it happened.
- ``sig``: HMAC-SHA256 with the box's uplink token over everything before `` #``, truncated to
  16 hex digits (64 bits), as the HTTP uplink signs its requests with the same token
  (edgebox.uplink.protocol). A truncated HMAC keeps its strength per bit (RFC 2104, section 5);
  64 bits is far beyond what a forger can try through a modem's SMS rate.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from edgebox.domain.messages import count_segments
from edgebox.errors import EdgeboxError

MAGIC = "EB1"
SIGNATURE_HEX = 16
MAX_PARTS = 2  # a summary must never cost the village more than two SMS
DAY, ESCALATION = "D", "E"
WORD = re.compile(r"^[a-z][a-z_]{0,15}$")  # an alarm type on the wire (no digits: counts follow)
HEALTH = {"home": "h", "roaming": "r"}
HEALTH_WORDS = {"h": "home", "r": "roaming", "n": "not_registered", "u": "unknown"}
_LINE = re.compile(r"^EB1 (?P<box>[A-Za-z0-9][A-Za-z0-9._-]{0,63}) (?P<seq>[0-9]{1,9})"
                   r" (?P<kind>[DE]) (?P<when>[0-9]{8}(?:T[0-9]{4})?)(?P<fields>(?: [a-z]=\S+)*)"
                   r" #(?P<sig>[0-9a-f]{16})$")


class BadReport(EdgeboxError):
    """A text that claims to be an uplink report but is not a well-formed, signed one."""


@dataclass(frozen=True)
class Report:
    box: str
    seq: int
    kind: str  # DAY or ESCALATION
    when: str  # "20261206" (day) or "20261206T0713" (escalation, UTC)
    fields: dict = field(default_factory=dict)

    def day(self) -> date:
        return datetime.strptime(self.when[:8], "%Y%m%d").date()


def looks_like_report(text: str) -> bool:
    """Is this text meant as an uplink report (then refuse it loudly if it is not a good one)?"""
    return text.lstrip().startswith(MAGIC + " ")


def signature(token: str, body: str) -> str:
    mac = hmac.new(token.encode("utf-8"), body.encode("ascii"), hashlib.sha256)
    return mac.hexdigest()[:SIGNATURE_HEX]


def _alarm_counts(by_type: dict[str, int]) -> str:
    parts = [f"{kind if WORD.match(kind) else 'other'}{n}"
             for kind, n in sorted(by_type.items()) if n > 0]
    return ".".join(parts) or "-"


def _health(registration: str | None, signal: int | None) -> str:
    letter = HEALTH.get(registration or "", "n" if registration else "u")
    return letter + (str(signal) if signal is not None and 0 <= signal <= 99 else "")


def _sign_line(token: str, body: str) -> str:
    text = f"{body} #{signature(token, body)}"
    if count_segments(text).parts > MAX_PARTS:
        raise BadReport(f"an uplink report must fit {MAX_PARTS} SMS: {len(text)} characters")
    return text


def encode_day(token: str, box: str, seq: int, day: date, alarms: dict[str, int], acks: int,
               failures: int, registration: str | None, signal: int | None,
               balance: float | None, households: int) -> str:
    """The day's summary as one signed SMS text."""
    money = "-" if balance is None else f"{balance:.2f}".rstrip("0").rstrip(".")
    body = (f"{MAGIC} {box} {seq} {DAY} {day:%Y%m%d} a={_alarm_counts(alarms)} k={acks}"
            f" f={failures} m={_health(registration, signal)} b={money} r={households}")
    return _sign_line(token, body)


def encode_escalation(token: str, box: str, seq: int, at: datetime, incident: int,
                      alarm_type: str, step: int) -> str:
    """One escalation that reached the township, as one signed SMS text."""
    kind = alarm_type if WORD.match(alarm_type) else "other"
    body = (f"{MAGIC} {box} {seq} {ESCALATION} {at.astimezone(timezone.utc):%Y%m%dT%H%M}"
            f" i={incident} t={kind} s={step}")
    return _sign_line(token, body)


def parse(text: str) -> tuple[Report, str, str]:
    """(the report, the signed body, its signature) of a well-formed text, before checking
    the signature (the box's token is looked up by the box id it names); BadReport if garbled."""
    match = _LINE.match(text.strip())
    if match is None:
        raise BadReport("not an uplink report: expected 'EB1 <box> <seq> D|E <time> … #<sig>'")
    fields = dict(item.split("=", 1) for item in match["fields"].split())
    kind, when = match["kind"], match["when"]
    try:
        datetime.strptime(when, "%Y%m%d" if kind == DAY else "%Y%m%dT%H%M")
    except ValueError as exc:
        raise BadReport(f"the report's time {when!r} is not a {'day' if kind == DAY else 'time'}"
                        " of the kind it names") from exc
    values = _day_fields(fields) if kind == DAY else _escalation_fields(fields)
    body = text.strip().rsplit(" #", 1)[0]
    return Report(match["box"], int(match["seq"]), kind, when, values), body, match["sig"]


def verify(report_text: str, token_of) -> Report:
    """The report when its signature matches the token ``token_of(box)`` gives; BadReport if
    the box is unknown (None) or the signature wrong, said the same way for both."""
    report, body, sig = parse(report_text)
    token = token_of(report.box)
    # An unknown box costs an HMAC all the same, as edgebox.hub.verify does for HTTP.
    expected = signature(token or "no box has this token", body)
    if token is None or not hmac.compare_digest(expected, sig):
        raise BadReport("the signature does not match this report")
    return report


def _number(fields: dict, name: str) -> int:
    value = fields.get(name, "")
    if not value.isdigit() or len(value) > 9:
        raise BadReport(f"field {name}= must be a whole number, not {value!r}")
    return int(value)


def _day_fields(fields: dict) -> dict:
    missing = {"a", "k", "f", "m", "b", "r"} - fields.keys()
    if missing:
        raise BadReport(f"a day report lacks {', '.join(sorted(missing))}")
    alarms = {}
    if fields["a"] != "-":
        for item in fields["a"].split("."):
            match = re.match(r"^([a-z][a-z_]{0,15})([0-9]{1,6})$", item)
            if match is None:
                raise BadReport(f"alarm count {item!r} must be a type and a number")
            alarms[match[1]] = alarms.get(match[1], 0) + int(match[2])
    health = re.match(r"^([hrnu])([0-9]{0,2})$", fields["m"])
    if health is None:
        raise BadReport(f"modem health {fields['m']!r} must be h, r, n or u and a signal")
    balance = None
    if fields["b"] != "-":
        if not re.match(r"^-?[0-9]{1,7}(\.[0-9]{1,2})?$", fields["b"]):
            raise BadReport(f"balance {fields['b']!r} must be a number or '-'")
        balance = float(fields["b"])
    return {"alarms": alarms, "acks": _number(fields, "k"), "failures": _number(fields, "f"),
            "registration": HEALTH_WORDS[health[1]],
            "signal": int(health[2]) if health[2] else None, "balance": balance,
            "households": _number(fields, "r")}


def _escalation_fields(fields: dict) -> dict:
    kind = fields.get("t", "")
    if not WORD.match(kind):
        raise BadReport(f"alarm type {kind!r} is not a word")
    return {"incident": _number(fields, "i"), "alarm_type": kind, "step": _number(fields, "s")}
