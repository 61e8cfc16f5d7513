"""An alarm's fan-out plan, in one read: who is texted and rung, with which words, and in which
order over the modems that are up.

The plan is data. The daemon persists it as the outbox before the first SMS leaves, so a crash
at any instant resumes from the outbox instead of re-planning (no member skipped, no group texted
twice). Priorities order the single queue each modem drains.

A modem does one thing at a time: an SMS submit (about 3 s on a real network) or a ring call
(its set-up and ringing, up to ``alarm.ring_seconds``). SMS may arrive late on a busy network;
a ringing phone is what wakes a neighbour at night. Texting the whole group first and ringing
after put the first ring about 45 s after the call on one modem, so ``order_fan_out``
interleaves:

- one modem: the first rung member's SMS, that member's ring (ringing about 9 s after the
  call), then the other SMS, then the other rings. The last SMS waits for one ring, no more.
- several modems: each modem is a lane. The rings are dealt round the modems that can ring,
  one each in turn (the first ring at once on one modem while another texts); the SMS go to
  the lane with the least work so far, so every lane is done at about the same time and
  ringing the whole group takes about ceil(members / modems) rings. A lane texts first and
  rings after, except the first lane, which starts with the first ring.

The lanes are only reckoned, over the modems up when the alarm is planned: the workers claim
from one outbox, the most urgent first, whichever modem is free. So the plan is one sequence,
the lanes' steps by when each would start (a modem that goes down leaves its steps to the
others); the steps up to the last SMS go with the alarm's urgency, the rings after them behind
relays and replies. (The alarm's other messages: edgebox.domain.notices.)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic, Sequence, TypeVar

from edgebox.domain.escalation import QUIET_TYPES
from edgebox.domain.messages import count_segments, dial_note, fit_one_sms, render, risk_note
from edgebox.domain.roster import Group, Household, Roster
from edgebox.i18n import N_, table, word

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


def plan_alarm(roster: Roster, group: Group, caller: Household, caller_phone: str,
               lang: str = "zh", ring: bool = True, alarm_type: str = "call",
               text: str | None = None, drill: bool = False,
               order: str = "leader_first", confirm: str = "confirm",
               rings: RingSettings | None = None) -> list[PlannedDelivery]:
    """Every delivery one alarm needs, in the order to send them: texts to all phones of every
    other member, the caller's confirmation (template ``confirm``), and a ring call to each
    member's first phone (a flash, no words, when ``rings.style`` says so), interleaved over
    the modems up as ``order_fan_out`` (below) reckons."""
    rings = rings or RingSettings()
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
    # A flash speaks nothing, but keeps the alarm's words: it becomes a full ring call that
    # speaks them when its member's SMS fails (it would point at an SMS that never came).
    how = "flash" if rings.style == FLASH else "ring"
    calls = [PlannedDelivery(CALL, h.primary_phone, h.id, how,
                             speech[shared_group(roster, caller, h, group).id], PRIORITY["ring"])
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


# The lanes: the order of texts and rings over the modems up (see the module's docstring).
T = TypeVar("T")
# How a member is rung: CALL, the phone rings and the alarm is spoken if answered; FLASH,
# 响一声, a few seconds of ringing and no words.
FLASH = "flash"
RING_STYLES = (CALL, FLASH)
# What a real network takes (DESIGN.md section 3): one SMS submit 2.5-3 s, call set-up
# 3.5-7 s before the member's phone rings.
SMS_SECONDS = 3.0
SETUP_SECONDS = 6.0
# A flash is hung up its seconds after the phone starts ringing, as the modem reports it; one
# that never reports it (or a slow cell) is hung up this long after the dial at the latest.
FLASH_SETUP_ALLOWANCE = 10.0


def speaks(purpose: str) -> bool:
    """Whether a call of this purpose speaks its text when answered: a flash never does."""
    return purpose != FLASH


def flash_limit(ring_seconds: float, flash_seconds: float) -> float:
    """The longest a flash lasts from the dial: never longer than a full ring call."""
    return min(ring_seconds, flash_seconds + FLASH_SETUP_ALLOWANCE)


@dataclass(frozen=True)
class RingSettings:
    """The modems and the ring settings (``[alarm]``) the plan reckons with."""
    voice_modems: int = 1  # modems that may ring (``[[modems]] voice = true``)
    sms_modems: int = 0  # modems that only text
    style: str = CALL  # CALL: ring, speak the alarm if answered; FLASH: 响一声, no words
    ring_seconds: float = 25.0  # a ring call's longest, from the dial
    flash_seconds: float = 8.0  # how long a flash rings the member's phone

    def __post_init__(self):
        if self.style not in RING_STYLES:
            raise ValueError(f"ring style must be one of {', '.join(RING_STYLES)}")
        if self.voice_modems < 0 or self.sms_modems < 0:
            raise ValueError("modem counts cannot be negative")

    def with_modems_up(self, voice: int, sms: int) -> RingSettings:
        """The lanes the modems up at planning time give (``voice`` that may ring, ``sms``
        that only text): a modem that is down takes no step of the plan, so the first ring
        is not reckoned onto a lane nobody drains. With none up, the configured ones: the
        plan is for when they come back."""
        if voice + sms == 0:
            return self
        return replace(self, voice_modems=voice, sms_modems=sms)

    @property
    def call_seconds(self) -> float:
        """How long one ring holds its modem, as the plan reckons it."""
        if self.style == FLASH:
            return min(flash_limit(self.ring_seconds, self.flash_seconds),
                       SETUP_SECONDS + self.flash_seconds)
        return self.ring_seconds


@dataclass(frozen=True)
class Step(Generic[T]):
    item: T
    ring: bool
    lane: int
    start: float  # seconds after the alarm, as reckoned
    texting: bool = False  # goes out before (or while) the last SMS does


def order_fan_out(texts: Sequence[T], rings: Sequence[T], settings: RingSettings
                  ) -> list[Step[T]]:
    """Every text and ring in the order the modems should take them (see the module's
    docstring). ``texts`` in the order wanted, the first rung member's first; ``rings`` in
    ring order."""
    lanes = max(1, settings.voice_modems + settings.sms_modems)
    voice = settings.voice_modems
    if not rings or voice == 0:  # nothing to interleave: text, then ring (if ever)
        steps = [Step(t, False, 0, i * SMS_SECONDS) for i, t in enumerate(texts)]
        steps += [Step(r, True, 0, len(texts) * SMS_SECONDS) for r in rings]
        return _mark_texting(steps)
    call, sms = settings.call_seconds, SMS_SECONDS
    # Rings round the voice lanes (the lanes 0 .. voice - 1), the first on lane 0.
    rung: list[list[T]] = [list(rings[lane::voice]) if lane < voice else []
                           for lane in range(lanes)]
    work = [len(r) * call for r in rung]
    texted: list[list[T]] = [[] for _ in range(lanes)]
    for text in texts:
        # The least loaded lane; on a tie not lane 0, which rings first.
        lane = min(range(lanes), key=lambda n: (work[n], n == 0 and lanes > 1, n))
        texted[lane].append(text)
        work[lane] += sms
    steps: list[Step[T]] = []
    for lane in range(lanes):
        jobs = [(t, False) for t in texted[lane]] + [(r, True) for r in rung[lane]]
        if lane == 0:
            first = jobs.pop(len(texted[0]))  # the first ring of all
            # Alone, the modem texts that member first (the SMS is there when the phone
            # rings); with others, one of them texts while this one rings at once.
            jobs.insert(1 if lanes == 1 and texted[0] else 0, first)
        at = 0.0
        for item, ring in jobs:
            steps.append(Step(item, ring, lane, at))
            at += call if ring else sms
    steps.sort(key=lambda s: (s.start, s.lane))
    return _mark_texting(steps)


def _mark_texting(steps: list[Step[T]]) -> list[Step[T]]:
    last = max((i for i, s in enumerate(steps) if not s.ring), default=-1)
    return [Step(s.item, s.ring, s.lane, s.start, i <= last) for i, s in enumerate(steps)]


def to_offices(office_numbers: list[str], text: str, purpose: str = "office_notice"
               ) -> list[PlannedDelivery]:
    """The same SMS to every office number."""
    return [PlannedDelivery(SMS, office, None, purpose, text, PRIORITY[purpose])
            for office in office_numbers]


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
