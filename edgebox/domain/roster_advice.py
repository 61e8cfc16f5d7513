"""What a roster may do but an office should look at again: warnings, never refusals.

The roster's rules (domain/roster.py) refuse a sheet that cannot work; these note what works
badly in practice: a household whose phones are all landlines gets no alarm SMS (it is only
rung); a group far from the usual ten households (5-15: few neighbours to come, or more than
one leader can keep track of); a leader who lives alone at 80 or is disabled, who is the first
one rung and may not be able to go. Each warning is a Text of the catalogue
("advice.<name>"), said in the reader's language.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgebox.domain.escalation import VULNERABLE_FLAGS
from edgebox.domain.messages import RISK_WORDS
from edgebox.domain.phones import takes_sms
from edgebox.domain.roster import Roster
from edgebox.i18n import Listed, Text

ADVISED_GROUP_MIN, ADVISED_GROUP_MAX = 5, 15


@dataclass(frozen=True)
class RosterWarning:
    message: Text

    def text(self, lang: str) -> str:
        return self.message.say(lang)

    @property
    def zh(self) -> str:
        return self.text("zh")

    @property
    def en(self) -> str:
        return self.text("en")


def roster_warnings(roster: Roster) -> list[RosterWarning]:
    found = []
    for h in roster.households:
        if h.phones and not any(takes_sms(p) for p in h.phones):
            found.append(RosterWarning(Text(
                "advice.landlines_only", "{name} ({id}) has only landlines: no alarm SMS, only "
                "a call; add a mobile", name=h.name, id=h.id)))
    for g in roster.groups:
        size = len(g.member_ids)
        if not ADVISED_GROUP_MIN <= size <= ADVISED_GROUP_MAX:
            found.append(RosterWarning(Text(
                "advice.group_size", "{group} has {size} households; {low}-{high} are advised",
                group=g.name, size=size, low=ADVISED_GROUP_MIN, high=ADVISED_GROUP_MAX)))
        leader = roster.household(g.leader_id)
        flags = sorted(leader.flags & VULNERABLE_FLAGS)
        if flags:
            # the SMS's words for who is at risk (messages.RISK_WORDS), not a second list
            words = Listed(Text.coded("risk.", RISK_WORDS, flag) for flag in flags)
            found.append(RosterWarning(Text(
                "advice.vulnerable_leader", "{group}'s leader {leader} is marked {flags} and "
                "may not be able to go; consider another leader", group=g.name,
                leader=leader.name, flags=words)))
    return found
