"""Daily check-ins (报平安) for households that asked for one, usually an old man living alone.

At the household's time (box-local, a sheet's 报平安时间 such as ``08:30``) the box rings the
household's first phone, ring only, no speech: answering (or pressing 1) means 平安. No answer:
the box rings again after ``retry_minutes``, up to ``retries`` more times; still nothing, and
the check-in is missed: the group's leader and the household's nearest neighbours get one SMS
asking them to look in. A household may also check in by calling the box within its window.

The rules a villager relies on, in this order (``call_counts``):
- a call from a household whose own alarm is open is about that alarm, never a check-in;
- a call from the household inside its window, before it has checked in today, is its check-in
  (rejected as always, so free; nothing is texted);
- any other call is an alarm as on any day: outside the window, after it checked in (so a
  second call moments after the first is always an alarm), or from a household without a
  check-in; an SMS alarm (火/盗/医 …) always is. Nobody's emergency is lost to a check-in.
- a call after a missed check-in closes it as 平安, and whoever was texted hears so.

Pure: no I/O, every rule takes ``now`` (an aware box-local time where it matters).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from edgebox.domain.alarm import CALL, PRIORITY, SMS, Delivery, PlannedDelivery
from edgebox.domain.messages import SHORT_MARK, fit_one_sms, render
from edgebox.domain.roster import Household, Roster
from edgebox.i18n import Text

# Ring outcomes (SerialModem.ring) that prove someone is at the phone. "hung_up" is a phone
# that rang its full length unanswered; "busy", "no_answer" and "rejected" come as well from a
# phone switched off or out of coverage (the network ends the call before or while it
# alerts), so none of them is 平安. "cancelled" is the box ending the call early (for an
# alarm), which is no try either way.
# What no modem can tell apart: a network that answers for a switched-off phone (forwarding
# to voicemail or an announcement) looks answered to the modem ("CONNECT" then "HANGUP",
# python-gsmmodem issue #12), so a household that checks in this way must not forward its
# calls; the README says so.
SAFE_RESULTS = frozenset({"answered", "acknowledged"})

# "08:30", "8:30", "08：30" (a Chinese input method's colon), "08:30:00" (what a spreadsheet
# saves for a cell formatted as a time).
_TIME = re.compile(r"(\d{1,2})[:：](\d{2})(?:[:：]\d{2})?")


@dataclass(frozen=True)
class Rules:
    retry_minutes: float = 10
    retries: int = 2  # ring calls after the first
    window_minutes: float = 120  # from the set time: rings, and calls that count as 平安
    neighbours: int = 2  # nearest households texted with the leader when one is missed
    ring_seconds: float = 20


def parse_time(text: str) -> time | None:
    """A sheet's or form's check-in time; None for a blank cell (no check-in). ValueError in
    words an official can act on for anything else."""
    cleaned = str(text).strip()
    if not cleaned:
        return None
    found = _TIME.fullmatch(cleaned)
    if found:
        hours, minutes = int(found.group(1)), int(found.group(2))
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    # a Text (a str): said in the words of whoever reads it, the sheet's reader or the form's
    raise ValueError(Text("check_in.not_a_time", "'{cell}' is not a time of day like 08:30 "
                          "(leave it empty for none)", cell=cleaned))


def format_time(at: time | None) -> str:
    return at.strftime("%H:%M") if at else ""


def window_of(day: date, at: time, rules: Rules, now_local: datetime) -> tuple[datetime,
                                                                                datetime]:
    """Start and end of ``day``'s window, in the time zone of ``now_local``."""
    start = datetime.combine(day, at, tzinfo=now_local.tzinfo)
    return start, start + timedelta(minutes=rules.window_minutes)


def open_window(household: Household, now_local: datetime, rules: Rules) -> date | None:
    """The day whose check-in window is open now (a window opened late in the evening runs
    past midnight and still belongs to its day), or None."""
    at = parse_time(household.check_in)
    if at is None:
        return None
    for day in (now_local.date(), now_local.date() - timedelta(days=1)):
        start, end = window_of(day, at, rules, now_local)
        if start <= now_local < end:
            return day
    return None


def due(roster: Roster, now_local: datetime, rules: Rules) -> list[tuple[Household, date]]:
    """Every household whose window is open now, with its day (the daemon starts one
    check-in per household and day; a box started after a window closed skips that day)."""
    out = []
    for household in roster.households:
        day = open_window(household, now_local, rules)
        if day is not None:
            out.append((household, day))
    return out


def after_ring(result: str, rings_done: int, rules: Rules) -> str:
    """What a finished ring call means: "safe", "retry" (ring again after retry_minutes),
    "missed" (``rings_done`` counts this call) or "again": the box hung up on it (or never
    dialled it) to give the line to an alarm, which is no try of the household's; it is
    rung again once the alarm allows."""
    if result in SAFE_RESULTS:
        return "safe"
    if result == "cancelled":
        return "again"
    return "retry" if rings_done <= rules.retries else "missed"


def call_counts(state: str | None, window_open: bool, own_alarm_open: bool = False) -> str:
    """What a call from a household with a check-in means, given today's check-in ``state``
    (None: not started, "due", "safe", "missed" with its incident open, "closed").
    "check_in": it is the household's 平安; "close_missed": 平安 after a missed check-in;
    "alarm": handle it as any call. ``own_alarm_open``: the household raised an alarm (by
    SMS, say) that is still open; its call hastens that alarm as any repeat call does."""
    if own_alarm_open:
        return "alarm"
    if state == "missed":
        return "close_missed"
    if state == "due" and window_open:
        return "check_in"
    return "alarm"


def look_in_list(roster: Roster, household: Household, count: int) -> list[Household]:
    """Who is asked to look in after a missed check-in: the leader of each of the household's
    groups, then ``count`` nearest neighbours, "nearest" being the households next to it in
    its first group's roster order (the sheet lists a group house by house down the lane),
    after, then before, alternately. Never the household itself; relatives are never on it
    (they are far away, and the box's SMS are for those who can walk over)."""
    groups = roster.groups_of(household.id)
    chosen: list[str] = []
    for group in groups:
        if group.leader_id != household.id and group.leader_id not in chosen:
            chosen.append(group.leader_id)
    chosen += [h for h in roster.nearest(household.id) if h not in chosen][:count]
    return [roster.household(h) for h in chosen]


def plan_ring(household: Household) -> PlannedDelivery:
    """The check-in's ring call: the household's first phone, no words (text "": nothing is
    spoken, the call costs nothing unless answered, and answering is all it asks)."""
    return PlannedDelivery(CALL, household.primary_phone, household.id, "check_in", "",
                           PRIORITY["check_in"])


def plan_look_in(roster: Roster, household: Household, lang: str, count: int
                 ) -> list[PlannedDelivery]:
    """One SMS to each of ``look_in_list``'s households (its first phone): please go and
    look. A long address is cut to keep it one SMS."""
    group = roster.groups_of(household.id)[0]
    text = fit_one_sms(lang, "check_in_missed", "address", household.address, marks=SHORT_MARK,
                       group=group.name, caller=household.name, time=household.check_in)
    return [PlannedDelivery(SMS, h.primary_phone, h.id, "check_in_missed", text,
                            PRIORITY["check_in_missed"])
            for h in look_in_list(roster, household, count)]


def plan_late(planned: list[Delivery], roster: Roster, household: Household, lang: str
              ) -> list[PlannedDelivery]:
    """The household called in after its check-in was missed: each phone the look-in SMS
    may have reached (``planned``: every delivery of its incident) hears so, once."""
    groups = roster.groups_of(household.id)
    text = render(lang, "check_in_late", group=groups[0].name if groups else "",
                  caller=household.name)
    phones = dict.fromkeys((d.phone, d.household_id) for d in planned
                           if d.purpose == "check_in_missed" and d.may_have_reached)
    return [PlannedDelivery(SMS, phone, member, "check_in_late", text,
                            PRIORITY["check_in_late"]) for phone, member in phones]
