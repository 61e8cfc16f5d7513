"""Is an SMS from a neighbour an acknowledgement ("I am coming")? And is a call from a neighbour
who was told of an alarm "coming", or its own emergency?

People answer in many ways: "1", "１" from a Chinese keyboard, "到", "收到", "马上到", "OK!",
"收到，马上到". The text is width-folded (NFKC), lower-cased and stripped of punctuation and spaces;
it is an acknowledgement when it is made only of acknowledgement words.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from edgebox.domain import alarm
from edgebox.domain.escalation import QUIET_TYPES
from edgebox.domain.roster import Household

ACK_WORDS = ("马上到", "收到", "到", "好", "来了", "1", "ok", "okay", "yes", "y",
             # How "coming" is said in whole words: an SMS from a member told of an alarm that
             # is not an acknowledgement raises the member's own alarm, so "我马上过来" must
             # read as one. A word of need ("快来", "来人", "我家…") is not among them.
             "好的", "我", "马上", "就", "这就", "正在", "在路上", "赶来", "过来", "过去", "来",
             "去")
_LONGEST_FIRST = sorted(ACK_WORDS, key=len, reverse=True)


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if not (ch.isspace() or unicodedata.category(ch)[0] in "PS"))


def is_acknowledgement(text: str) -> bool:
    rest = _fold(text or "")
    if not rest or len(rest) > 20:
        return False
    while rest:
        word = next((w for w in _LONGEST_FIRST if rest.startswith(w)), None)
        if word is None:
            return False
        rest = rest[len(word):]
    return True


COMING, OWN_ALARM = "coming", "own_alarm"


def told_member_call(acknowledged: bool, last_callback: datetime | None, now: datetime,
                     again_seconds: float) -> str:
    """What a call from a member told of an open alarm means. A call carries no words, so the
    rule is one a villager can keep in mind: the first call back is "coming" (COMING); call
    again within ``again_seconds`` of that call back, or call once you have already said you
    are coming (``acknowledged``: by a call back, an SMS or the key, to the newest alarm you
    were told of), and it is your own emergency (OWN_ALARM). ``last_callback``: the member's
    latest call back to any open alarm. A call ringing on is one call, never "again"; the
    caller must have told those apart before asking. Erring towards an alarm is deliberate: a
    needless one is called off with "0", an emergency taken for "coming" would be lost."""
    if acknowledged:
        return OWN_ALARM
    if last_callback is not None and now - last_callback <= timedelta(seconds=again_seconds):
        return OWN_ALARM
    return COMING


def alarm_needs_line(open_incidents) -> bool:
    """An alarm nobody has acknowledged yet is open: its escalation may need the voice line
    any moment, so a daily check-in ring is not dialled, and one ringing is hung up."""
    return any(i.acked_at is None and not i.drill and i.alarm_type not in QUIET_TYPES
               for i in open_incidents)


def ring_still_wanted(incident_id: int | None, purpose: str, household_id: str | None,
                      incident, acked_households: set[str]) -> bool:
    """Whether a ring call is still worth making (``incident``: its alarm as it stands now,
    None if gone). Not once its alarm is over, not to a household that acknowledged or is
    itself one of the callers, and no escalation call once anybody acknowledged."""
    if incident_id is None:
        return True
    if incident is None or incident.state != "open":
        return False
    if purpose.startswith("escalation"):
        return incident.acked_at is None
    if household_id is None:
        return True
    if household_id in (incident.caller_household_id, *incident.co_callers):
        return False
    return household_id not in acked_households


def incident_to_acknowledge(incidents: list[alarm.Incident], roster, member: Household,
                            now: datetime, open_minutes: float) -> alarm.Incident | None:
    """The newest open incident of one of the member's groups that the member did not raise."""
    group_ids = {g.id for g in roster.groups_of(member.id)}
    candidates = [
        i for i in incidents
        if i.group_id in group_ids and i.caller_household_id != member.id
        and i.is_open(now, open_minutes)
    ]
    return max(candidates, key=lambda i: i.opened_at, default=None)
