"""Incidents and the fan-out plan: who is texted and rung, in which order, with which words.

The plan is data. The daemon persists it as the outbox before the first SMS leaves, so a crash
at any instant resumes from the outbox instead of re-planning (no member skipped, no group texted
twice). Priorities order the single queue each modem drains. An alarm's texts and its first
rings go out together, in the order edgebox.domain.ring_plan reckons for the box's modems (the
first ring within seconds, the texts never held up by more than one ring), with the alarm's
own urgency and in the plan's order; the rings after the last text wait behind relays of
acknowledgements and replies, since each holds its modem for half a minute.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from edgebox.domain.escalation import QUIET_TYPES
from edgebox.domain.messages import (SHORT_MARK, count_segments, dial_note, fit_one_sms,
                                     render, risk_note)
from edgebox.domain.phones import display, national_digits
from edgebox.domain.ring_plan import FLASH, RingSettings, order_fan_out
from edgebox.domain.roster import Group, Household, Roster
from edgebox.i18n import N_, say, table, word

SMS, CALL = "sms", "call"

# Lower runs first.
PRIORITY = {"alarm": 10, "all_clear": 10, "guardian_alarm": 11, "update": 12, "escalation_ring": 15,
            "escalation_sms": 15, "confirm": 20, "ack_relay": 20, "reply": 20,
            "unknown_forward": 25, "office_notice": 25, "ring": 30, "flash": 30, "broadcast": 40,
            # Daily check-ins (domain/check_ins.py): the look-in SMS go as fast as an update;
            # the ring call goes after everything else, so an alarm always goes first.
            "check_in_missed": 12, "check_in_late": 12, "check_in": 60,
            # Reports to the county hub by SMS (uplink/sms_uplink.py): after everything else.
            "uplink_sms": 70}


@dataclass(frozen=True)
class PlannedDelivery:
    kind: str  # SMS or CALL
    phone: str  # E.164
    household_id: str | None
    purpose: str  # "alarm", "confirm", "ring", "flash", "ack_relay", "unknown_forward"
    text: str
    priority: int


@dataclass(frozen=True)
class Delivery:
    """A planned message as the outbox holds it, and what its state says about its recipient."""
    id: int
    incident_id: int | None
    kind: str  # SMS or CALL
    phone: str
    household_id: str | None
    purpose: str
    state: str  # pending, sending, sent, failed, cancelled
    attempts: int = 0

    @property
    def out(self) -> bool:
        """Sent, or in a modem's hands right now: its recipient has it or will in a moment."""
        return self.state in ("sent", "sending")

    @property
    def may_have_reached(self) -> bool:
        """Out, or tried before and waiting to be tried again: a crash or a failure may have
        hidden that it arrived. Whoever it may have reached may have heard of the alarm."""
        return self.out or (self.state == "pending" and self.attempts > 0)


@dataclass(frozen=True)
class Ack:
    """A household's acknowledgement of an incident ("I am coming"), or the office's."""
    incident_id: int
    household_id: str  # "office" when the office acknowledged
    phone: str
    channel: str  # sms, dtmf, callback; the office's: where it clicked (web, button …)
    at: datetime  # UTC


@dataclass(frozen=True)
class Incident:
    id: int
    group_id: str
    caller_household_id: str
    caller_phone: str
    opened_at: datetime  # UTC
    state: str  # "open" or "closed"
    alarm_type: str = "call"  # call, fire, thief, medical, flood, other, drill
    text: str | None = None  # the caller's own words, when the alarm came by SMS
    escalation_step: int = 0  # ladder steps done
    acked_at: datetime | None = None
    drill: bool = False
    co_callers: tuple[str, ...] = ()  # households of the group that called in as well

    def is_open(self, now: datetime, open_minutes: float) -> bool:
        """Open until closed, and never longer than ``open_minutes`` after it was raised."""
        return self.state == "open" and now - self.opened_at < timedelta(minutes=open_minutes)


def ring_order(members: list[Household], leader_id: str | frozenset[str],
               order: str = "leader_first", near: list[str] = ()) -> list[Household]:
    """Who is rung first. "leader_first": the leader (responsible for the group; the leaders of
    both groups for a household in two), then able helpers, then the rest; "helpers_first":
    able helpers, then the leader, then the rest; "sheet": as listed. Within each of these,
    the households nearest the caller first (``near``: household ids, nearest first, as
    Roster.nearest gives them; those not in it after, in sheet order)."""
    leaders = {leader_id} if isinstance(leader_id, str) else set(leader_id)
    if order == "sheet":
        return list(members)
    rank = {h: i for i, h in enumerate(near)}

    def distance(h: Household) -> int:
        return rank.get(h.id, len(rank))
    if order == "helpers_first":
        return sorted(members, key=lambda h: ("able_helper" not in h.flags, h.id not in leaders,
                                              distance(h)))
    return sorted(members, key=lambda h: (h.id not in leaders, "able_helper" not in h.flags,
                                          distance(h)))


# What each alarm type is called in its SMS, timeline and reports.
ALARM_LABELS = table(
    "alarm_type.",
    N_("alarm_type.call", "EMERGENCY"),
    N_("alarm_type.other", "EMERGENCY"),
    N_("alarm_type.fire", "FIRE"),
    N_("alarm_type.thief", "THIEF"),
    N_("alarm_type.medical", "MEDICAL"),
    N_("alarm_type.flood", "FLOOD"),
    N_("alarm_type.drill", "DRILL"),
    N_("alarm_type.check_in", "missed check-in"),
)


def alarm_label(alarm_type: str | None, lang: str) -> str:
    name = alarm_type if alarm_type in ALARM_LABELS else "other"
    return word(lang, f"alarm_type.{name}", ALARM_LABELS[name])


def ring_speech(lang: str, group: Group, caller: Household, alarm_type: str = "call",
                drill: bool = False) -> str:
    """The sentence spoken into a ring call: who, where, what kind (unless it is a plain call),
    and the keys: 1 to say one is coming, 2 to hear it again."""
    what = "" if alarm_type in ("call", "other", "drill") else (
        alarm_label(alarm_type, lang) + ("，" if lang != "en" else ", "))
    return render(lang, "ring_speech", drill=drill, group=group.name, caller=caller.name,
                  address=caller.address, what=what)


def alarm_text(lang: str, group: Group, caller: Household, alarm_type: str = "call",
               text: str | None = None, drill: bool = False) -> str:
    """The alarm SMS: the plain call alarm, or one naming its type and quoting the caller. It
    says who is at risk ("（独居老人）"), and names the type's public number ("请拨火警119，")
    only while the whole still fits one SMS with the caller's words uncut: the neighbours
    running over matter more than a number every villager knows."""
    fields = dict(group=group.name, caller=caller.name, address=caller.address,
                  risk=risk_note(lang, caller.flags))
    if text and alarm_type != "call":
        fields["label"] = alarm_label(alarm_type, lang)
        whole = render(lang, "alarm_typed", drill=drill, text=text,
                       dial=dial_note(lang, alarm_type), **fields)
        if count_segments(whole).parts == 1:
            return whole
        return fit_one_sms(lang, "alarm_typed", "text", text, drill=drill,
                           cut_name="alarm_typed_cut", **fields)
    whole = render(lang, "alarm", drill=drill, dial=dial_note(lang, alarm_type), **fields)
    if count_segments(whole).parts == 1:
        return whole
    return render(lang, "alarm", drill=drill, **fields)


def escalation_text(lang: str, group: Group, caller: Household, caller_phone: str,
                    village: str, alarm_type: str, minutes: int, drill: bool = False) -> str:
    """The escalation SMS (leader, office, township): who is at risk, and the caller's phone
    and village, since the office and township do not know every household. A long address
    is what gets cut to keep it one SMS: the phone and who is at risk matter more to them."""
    return fit_one_sms(lang, "escalation", "address", caller.address, drill=drill,
                       marks=SHORT_MARK, village=village, group=group.name, caller=caller.name,
                       risk=risk_note(lang, caller.flags), label=alarm_label(alarm_type, lang),
                       minutes=minutes, phone=national_digits(caller_phone))


def joint_caller(callers: list[Household]) -> Household:
    """Households that called about one emergency, as the one caller its SMS names: their
    names and addresses joined, and every flag of any of them (who is at risk stays said)."""
    return Household("+", "、".join(h.name for h in callers),
                     "、".join(h.address for h in callers), (),
                     frozenset().union(*(h.flags for h in callers)))


def members_to_alert(roster: Roster, caller: Household) -> list[Household]:
    """Every other household of every group the caller belongs to, each once: a household in
    two groups alerts both, and a neighbour in both hears it once."""
    seen, out = {caller.id}, []
    for group in roster.groups_of(caller.id):
        for member in roster.members(group.id):
            if member.id not in seen:
                seen.add(member.id)
                out.append(member)
    return out


def shared_group(roster: Roster, caller: Household, member: Household, default: Group) -> Group:
    """The group a member hears the caller's alarm in: the first of the caller's groups that
    the member belongs to (a household in two groups alerts each in that group's name)."""
    return next((g for g in roster.groups_of(caller.id) if member.id in g.member_ids), default)


def caller_groups(roster: Roster, caller: Household, default: Group) -> list[Group]:
    """Every group the caller's alarm alerts (``default`` when the caller is in none)."""
    return roster.groups_of(caller.id) or [default]


def leaders_to_alert(roster: Roster, caller: Household, default: Group) -> list[Household]:
    """The leaders escalation turns to: of every group the caller belongs to, each once, and
    never the caller: a leader who raised the alarm needs no call about it."""
    ids = dict.fromkeys(g.leader_id for g in caller_groups(roster, caller, default))
    return [roster.household(i) for i in ids if i != caller.id]


def plan_alarm(roster: Roster, group: Group, caller: Household, caller_phone: str,
               lang: str = "zh", ring: bool = True, alarm_type: str = "call",
               text: str | None = None, drill: bool = False,
               order: str = "leader_first", confirm: str = "confirm",
               rings: RingSettings = RingSettings()) -> list[PlannedDelivery]:
    """Every delivery one alarm needs, in the order to send them: texts to all phones of every
    other member, the caller's confirmation (template ``confirm``), and a ring call to each
    member's first phone (a flash, no words, when ``rings.style`` says so), interleaved over
    the modems as edgebox.domain.ring_plan reckons."""
    others = members_to_alert(roster, caller)
    groups = caller_groups(roster, caller, group)
    rung = ring_order(others, frozenset(g.leader_id for g in groups), order,
                      roster.nearest(caller.id)) if ring else []
    sms = {g.id: alarm_text(lang, g, caller, alarm_type, text, drill) for g in groups}
    # Members in ring order: each rung member's SMS goes out before (or with) their ring.
    texts = [
        PlannedDelivery(SMS, phone, h.id, "alarm", sms[shared_group(roster, caller, h, group).id],
                        PRIORITY["alarm"])
        for h in (rung or others)
        for phone in dict.fromkeys(h.phones)
    ]
    if not drill:
        texts.extend(plan_guardians(lang, group, caller, alarm_type, already={
            d.phone for d in texts} | {caller_phone}))
    texts.append(PlannedDelivery(
        SMS, caller_phone, caller.id, "confirm",
        render(lang, confirm, drill=drill, group="、".join(g.name for g in groups),
               notified=len(others)),
        PRIORITY["confirm"],
    ))
    speech = {g.id: ring_speech(lang, g, caller, alarm_type, drill) for g in groups}
    flash = rings.style == FLASH
    calls = [PlannedDelivery(CALL, h.primary_phone, h.id, "flash" if flash else "ring",
                             "" if flash else speech[shared_group(roster, caller, h, group).id],
                             PRIORITY["ring"])
             for h in rung]
    plan, later = [], 0
    for step in order_fan_out(texts, calls, rings):
        if step.texting:  # with the alarm's urgency, in this order (the outbox keeps it)
            plan.append(replace(step.item, priority=PRIORITY["alarm"]))
        else:  # behind relays and replies, in ring order
            plan.append(replace(step.item, priority=PRIORITY["ring"] + later))
            later += 1
    return plan


def plan_guardians(lang: str, group: Group, caller: Household, alarm_type: str,
                   already: set[str]) -> list[PlannedDelivery]:
    """An SMS to each relative of the calling household (亲属电话), right after the group's.

    Never a ring call, by day or night: a relative in the city cannot come, and the box's one
    voice line must ring the neighbours who can. Their SMS has its own purpose, so a failed
    one is not rung instead (as a neighbour's is); the all-clear reaches them as it reaches
    everyone the alarm reached. A phone already texted (a relative living in the group) is
    texted once. No household id: a reply from them is no neighbour's acknowledgement."""
    text = render(lang, "guardian_alarm", group=group.name, caller=caller.name,
                  address=caller.address, risk=risk_note(lang, caller.flags),
                  label=alarm_label(alarm_type, lang))
    return [PlannedDelivery(SMS, phone, None, "guardian_alarm", text, PRIORITY["guardian_alarm"])
            for phone in dict.fromkeys(caller.guardians) if phone not in already]


def plan_ack_relay(incident: Incident, member: Household, lang: str = "zh") -> PlannedDelivery:
    """Tell the caller who is coming."""
    text = render(lang, "ack_relay", drill=incident.drill, member=member.name,
                  address=member.address)
    return PlannedDelivery(SMS, incident.caller_phone, incident.caller_household_id,
                           "ack_relay", text, PRIORITY["ack_relay"])


def to_offices(office_numbers: list[str], text: str, purpose: str = "office_notice"
               ) -> list[PlannedDelivery]:
    """The same SMS to every office number."""
    return [PlannedDelivery(SMS, office, None, purpose, text, PRIORITY[purpose])
            for office in office_numbers]


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


def open_incident_of_caller(incidents: list[Incident], household_id: str, now: datetime,
                            open_minutes: float) -> Incident | None:
    """The caller's own incident still open (raised by it, or joined by its call): a repeated
    call must not text the group again."""
    for incident in incidents:
        if incident.alarm_type in QUIET_TYPES:
            continue  # a missed check-in is no alarm the household raised: its call is one
        if household_id in (incident.caller_household_id, *incident.co_callers) and \
                incident.is_open(now, open_minutes):
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


def plan_reply(lang: str, phone: str, reason: str) -> list[PlannedDelivery]:
    """The answer to an SMS the box will not act on: why not (a ``Text`` in ``lang``)."""
    return [PlannedDelivery(SMS, phone, None, "reply",
                            render(lang, "refused", reason=say(reason, lang)),
                            PRIORITY["reply"])]
