"""What a roster may do but an office should look at again: warnings, never refusals.

The roster's rules (domain/roster.py) refuse a sheet that cannot work; these note what works
badly in practice: a household whose phones are all landlines gets no alarm SMS (it is only
rung); a group far from the usual ten households (5-15: few neighbours to come, or more than
one leader can keep track of); a leader who lives alone at 80 or is disabled, who is the first
one rung and may not be able to go. Each warning is in Chinese first, English second.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgebox.domain.escalation import VULNERABLE_FLAGS
from edgebox.domain.phones import takes_sms
from edgebox.domain.roster import FLAG_LABELS_ZH, Roster

ADVISED_GROUP_MIN, ADVISED_GROUP_MAX = 5, 15


@dataclass(frozen=True)
class RosterWarning:
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


def roster_warnings(roster: Roster) -> list[RosterWarning]:
    found = []
    for h in roster.households:
        if h.phones and not any(takes_sms(p) for p in h.phones):
            found.append(RosterWarning(
                f"{h.name}（{h.id}）只有固定电话，收不到报警短信，只能打电话通知；请补一个手机号",
                f"{h.name} ({h.id}) has only landlines: no alarm SMS, only a call; "
                f"add a mobile"))
    for g in roster.groups:
        size = len(g.member_ids)
        if not ADVISED_GROUP_MIN <= size <= ADVISED_GROUP_MAX:
            found.append(RosterWarning(
                f"{g.name}有{size}户，建议每组{ADVISED_GROUP_MIN}–{ADVISED_GROUP_MAX}户",
                f"{g.name} has {size} households; {ADVISED_GROUP_MIN}-{ADVISED_GROUP_MAX} "
                f"are advised"))
        leader = roster.household(g.leader_id)
        flags = sorted(leader.flags & VULNERABLE_FLAGS)
        if flags:
            words = "、".join(FLAG_LABELS_ZH[f] for f in flags)
            found.append(RosterWarning(
                f"{g.name}的中心户长{leader.name}是{words}户，报警时可能无法赶去，建议另选户长",
                f"{g.name}'s leader {leader.name} is marked {', '.join(flags)} and may not be "
                f"able to go; consider another leader"))
    return found
