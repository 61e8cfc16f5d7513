"""Incidents and the fan-out plan: who is texted and rung, in which order, with which words.

The plan is data. The daemon persists it as the outbox before the first SMS leaves, so a crash
at any instant resumes from the outbox instead of re-planning (no member skipped, no group texted
twice). Priorities order the single queue each modem drains: every alarm SMS first (fast, one
~3 s submit each), then the caller's confirmation, relays of acknowledgements, and only then the
ring calls, which hold the modem for half a minute each.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edgebox.domain.messages import render
from edgebox.domain.phones import display
from edgebox.domain.roster import Group, Household, Roster

SMS, CALL = "sms", "call"

# Lower runs first.
PRIORITY = {"alarm": 10, "confirm": 20, "ack_relay": 20, "unknown_forward": 25,
            "office_notice": 25, "ring": 30}


@dataclass(frozen=True)
class PlannedDelivery:
    kind: str  # SMS or CALL
    phone: str  # E.164
    household_id: str | None
    purpose: str  # "alarm", "confirm", "ring", "ack_relay", "unknown_forward"
    text: str
    priority: int


@dataclass(frozen=True)
class Incident:
    id: int
    group_id: str
    caller_household_id: str
    caller_phone: str
    opened_at: datetime  # UTC
    state: str  # "open" or "closed"

    def is_open(self, now: datetime, open_minutes: float) -> bool:
        """Open until closed, and never longer than ``open_minutes`` after it was raised."""
        return self.state == "open" and now - self.opened_at < timedelta(minutes=open_minutes)


def ring_order(members: list[Household], leader_id: str) -> list[Household]:
    """The leader first (responsible for the group), then able helpers, then sheet order."""
    return sorted(
        members,
        key=lambda h: (h.id != leader_id, "able_helper" not in h.flags),
    )


def plan_alarm(roster: Roster, group: Group, caller: Household, caller_phone: str,
               lang: str = "zh", ring: bool = True) -> list[PlannedDelivery]:
    """Every delivery one alarm needs: texts to all phones of every other member, the caller's
    confirmation, then a ring call to each member's first phone."""
    others = [h for h in roster.members(group.id) if h.id != caller.id]
    alarm_text = render(lang, "alarm", group=group.name, caller=caller.name, address=caller.address)
    plan = [
        PlannedDelivery(SMS, phone, h.id, "alarm", alarm_text, PRIORITY["alarm"])
        for h in others
        for phone in h.phones
    ]
    plan.append(PlannedDelivery(
        SMS, caller_phone, caller.id, "confirm",
        render(lang, "confirm", group=group.name, notified=len(others)),
        PRIORITY["confirm"],
    ))
    if ring:
        speech = render(lang, "ring_speech", group=group.name, caller=caller.name,
                        address=caller.address)
        plan.extend(
            PlannedDelivery(CALL, h.primary_phone, h.id, "ring", speech, PRIORITY["ring"] + i)
            for i, h in enumerate(ring_order(others, group.leader_id))
        )
    return plan


def plan_ack_relay(incident: Incident, member: Household, lang: str = "zh") -> PlannedDelivery:
    """Tell the caller who is coming."""
    text = render(lang, "ack_relay", member=member.name, address=member.address)
    return PlannedDelivery(SMS, incident.caller_phone, incident.caller_household_id,
                           "ack_relay", text, PRIORITY["ack_relay"])


def plan_unknown_caller(number: str, office_numbers: list[str], when_local: str,
                        lang: str = "zh") -> list[PlannedDelivery]:
    """An unregistered caller never triggers a group; the office is told so someone can check."""
    text = render(lang, "unknown_caller", number=display(number), time=when_local)
    return [PlannedDelivery(SMS, office, None, "unknown_forward", text, PRIORITY["unknown_forward"])
            for office in office_numbers]


def open_incident_of_caller(incidents: list[Incident], household_id: str, now: datetime,
                            open_minutes: float) -> Incident | None:
    """The caller's own incident still open: a repeated call must not text the group again."""
    for incident in incidents:
        if incident.caller_household_id == household_id and incident.is_open(now, open_minutes):
            return incident
    return None


def incident_to_acknowledge(incidents: list[Incident], roster: Roster, member: Household,
                            now: datetime, open_minutes: float) -> Incident | None:
    """The newest open incident of one of the member's groups that the member did not raise."""
    group_ids = {g.id for g in roster.groups_of(member.id)}
    candidates = [
        i for i in incidents
        if i.group_id in group_ids and i.caller_household_id != member.id
        and i.is_open(now, open_minutes)
    ]
    return max(candidates, key=lambda i: i.opened_at, default=None)
