"""The alarm's messages beyond its fan-out: the escalation SMS and the leaders the ladder turns
to, the caller told who is coming, the office told of a caller not in the roster (within an
hourly limit), and the answer to an SMS the box will not act on. (The fan-out itself, to the
group: edgebox.domain.alarm.)"""
from __future__ import annotations

from edgebox.domain.alarm import (PRIORITY, SMS, Incident, PlannedDelivery, alarm_label,
                                  caller_groups, to_offices)
from edgebox.domain.messages import SHORT_MARK, fit_one_sms, render, risk_note
from edgebox.domain.phones import display, national_digits
from edgebox.domain.roster import Group, Household, Roster
from edgebox.i18n import say


def escalation_text(lang: str, group: Group, caller: Household, caller_phone: str,
                    village: str, alarm_type: str, minutes: int, drill: bool = False) -> str:
    """The escalation SMS (leader, office, township): who is at risk, and the caller's phone
    and village, since the office and township do not know every household. A long address
    is what gets cut to keep it one SMS: the phone and who is at risk matter more to them."""
    return fit_one_sms(lang, "escalation", "address", caller.address, drill=drill,
                       marks=SHORT_MARK, village=village, group=group.name, caller=caller.name,
                       risk=risk_note(lang, caller.flags), label=alarm_label(alarm_type, lang),
                       minutes=minutes, phone=national_digits(caller_phone))


def leaders_to_alert(roster: Roster, caller: Household, default: Group) -> list[Household]:
    """The leaders escalation turns to: of every group the caller belongs to, each once, and
    never the caller: a leader who raised the alarm needs no call about it."""
    ids = dict.fromkeys(g.leader_id for g in caller_groups(roster, caller, default))
    return [roster.household(i) for i in ids if i != caller.id]


def plan_ack_relay(incident: Incident, member: Household, lang: str = "zh") -> PlannedDelivery:
    """Tell the caller who is coming."""
    text = render(lang, "ack_relay", drill=incident.drill, member=member.name,
                  address=member.address)
    return PlannedDelivery(SMS, incident.caller_phone, incident.caller_household_id,
                           "ack_relay", text, PRIORITY["ack_relay"])


def plan_unknown_caller(number: str | None, office_numbers: list[str], when_local: str,
                        lang: str = "zh") -> list[PlannedDelivery]:
    """An unregistered caller never triggers a group; the office is told so someone can check.
    ``number`` None: the caller withheld it (or the modem did not show it), which may be a
    member whose phone hides its number in a real emergency: the office is told just the same."""
    if number is None:
        text = render(lang, "withheld_caller", time=when_local)
        return to_offices(office_numbers, text, "unknown_forward")
    text = render(lang, "unknown_caller", number=display(number), time=when_local)
    return to_offices(office_numbers, text, "unknown_forward")


def unknown_caller_notice(number: str, told: list[str], flood_told: bool, per_hour: int) -> str:
    """What the office hears of an unregistered caller, given what it was told in the last
    hour (``told``: the numbers forwarded; ``flood_told``: whether it heard that the limit was
    reached). "forward": this call, as one SMS; "flood": one SMS saying that further unknown
    calls this hour are only logged; "quiet": only logged (this number was forwarded within the
    hour, or the flood notice went out). A prank or robocall flood must not bury the office's
    phone, nor spend the SIM's credit, while every call is still in the log."""
    if number in told:
        return "quiet"
    if len(told) < per_hour:
        return "forward"
    return "quiet" if flood_told else "flood"


def plan_unknown_flood(count: int, office_numbers: list[str], lang: str = "zh"
                       ) -> list[PlannedDelivery]:
    return to_offices(office_numbers, render(lang, "unknown_flood", count=count),
                      "unknown_forward")


def plan_reply(lang: str, phone: str, reason: str) -> list[PlannedDelivery]:
    """The answer to an SMS the box will not act on: why not (a ``Text`` in ``lang``)."""
    return [PlannedDelivery(SMS, phone, None, "reply",
                            render(lang, "refused", reason=say(reason, lang)),
                            PRIORITY["reply"])]
