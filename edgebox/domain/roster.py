"""Households, groups and the roster that ties them together.

A group (联防组) is 2–20 neighbouring households with one leader household (中心户长). A household
has one or more phones; whichever of them calls the box raises the alarm for the household's group.
Phones are E.164 strings (see ``phones.normalise``); the roster never holds an unnormalised number.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from edgebox.errors import RosterError
from edgebox.i18n import Text

GROUP_MIN_HOUSEHOLDS = 2
GROUP_MAX_HOUSEHOLDS = 20

# Household flags and the words village sheets use for them (Chinese first, English accepted).
FLAG_WORDS = {
    "elderly_alone": ("独居老人", "elderly_alone", "elderly"),
    "left_behind_children": ("留守儿童", "left_behind_children", "children"),
    "disabled": ("残疾", "行动不便", "disabled"),
    "able_helper": ("应急骨干", "救援骨干", "able_helper", "helper"),
}
FLAG_LABELS_ZH = {flag: words[0] for flag, words in FLAG_WORDS.items()}
# Households the scheme must reach first: the county's coverage report counts them.
VULNERABLE_FLAGS = frozenset({"elderly_alone", "left_behind_children", "disabled"})


def parse_flag(word: str) -> str | None:
    """Map a flag word from a sheet to its canonical name, None if unknown."""
    needle = word.strip().lower()
    for flag, words in FLAG_WORDS.items():
        if needle in (w.lower() for w in words):
            return flag
    return None


@dataclass(frozen=True)
class Household:
    id: str
    name: str
    address: str
    phones: tuple[str, ...]
    flags: frozenset[str] = field(default_factory=frozenset)
    # Relatives' phones (亲属电话): a left-behind child's parents working in the city, an old
    # man's children. They hear this household's alarms and their all-clear by SMS, nothing
    # else, and are never rung (see alarm.plan_guardians for why).
    guardians: tuple[str, ...] = ()
    note: str = ""  # the sheet's 备注, kept so an export gives the office its sheet back
    # Daily check-in time (报平安时间), box-local "HH:MM"; "" for none (see domain/check_ins).
    check_in: str = ""

    @property
    def primary_phone(self) -> str:
        return self.phones[0]


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    leader_id: str
    member_ids: tuple[str, ...]


@dataclass(frozen=True)
class Roster:
    households: tuple[Household, ...]
    groups: tuple[Group, ...]

    def __post_init__(self):
        # Indexes for the alarm path's look-ups; derived once, the tuples stay the truth.
        object.__setattr__(self, "_by_id", {h.id: h for h in self.households})
        object.__setattr__(self, "_by_phone", {p: h for h in self.households for p in h.phones})
        object.__setattr__(self, "_groups_by_id", {g.id: g for g in self.groups})
        # A household's groups in roster order (one, or two on a boundary): every call and
        # every SMS asks, so it must not scan all the groups of a 5,000-household township.
        groups_by_member: dict[str, list[Group]] = {}
        for g in self.groups:
            for hid in dict.fromkeys(g.member_ids):  # a group listing one twice counts once
                groups_by_member.setdefault(hid, []).append(g)
        object.__setattr__(self, "_groups_by_member",
                           {hid: tuple(found) for hid, found in groups_by_member.items()})

    @property
    def is_empty(self) -> bool:
        """No group with households: a call could alert nobody."""
        return not self.households or not any(g.member_ids for g in self.groups)

    def household(self, household_id: str) -> Household:
        return self._by_id[household_id]

    def household_by_phone(self, phone: str | None) -> Household | None:
        return self._by_phone.get(phone) if phone else None

    def group(self, group_id: str) -> Group:
        return self._groups_by_id[group_id]

    def coverage(self) -> dict:
        """The figures the county reports on (uploaded with every roster change): households
        enrolled, groups, leaders, vulnerable households and how many of them are in a group."""
        grouped = {hid for g in self.groups for hid in g.member_ids}
        vulnerable = [h.id for h in self.households if h.flags & VULNERABLE_FLAGS]
        return {"households": len(self.households), "groups": len(self.groups),
                "leaders": len({g.leader_id for g in self.groups if g.leader_id}),
                "in_groups": len(grouped), "vulnerable": len(vulnerable),
                "vulnerable_in_groups": sum(1 for hid in vulnerable if hid in grouped)}

    def groups_of(self, household_id: str) -> list[Group]:
        return list(self._groups_by_member.get(household_id, ()))

    def members(self, group_id: str) -> list[Household]:
        return [self._by_id[hid] for hid in self.group(group_id).member_ids]

    def nearest(self, household_id: str) -> list[str]:
        """The other households of its first group, nearest first: the sheet lists a group
        house by house down the lane, so the nearest are those next to it on the sheet,
        after, then before, alternately. Empty for a household in no group."""
        groups = self.groups_of(household_id)
        if not groups:
            return []
        members = list(dict.fromkeys(groups[0].member_ids))
        at = members.index(household_id)
        return [members[i] for distance in range(1, len(members))
                for i in (at + distance, at - distance) if 0 <= i < len(members)]

    def problems(self) -> list[str]:
        """Every rule the roster breaks, in words an official can act on; empty when valid."""
        found: list[str] = []
        seen_ids: set[str] = set()
        phone_owner: dict[str, str] = {}
        for h in self.households:
            if h.id in seen_ids:
                found.append(f"household {h.id} appears twice")
            seen_ids.add(h.id)
            if not h.name.strip():
                found.append(f"household {h.id} has no name")
            if not h.phones:
                found.append(f"household {h.id} ({h.name}) has no phone")
            for phone in h.phones:
                owner = phone_owner.setdefault(phone, h.id)
                if owner != h.id:
                    found.append(Text("roster.phone_both",
                                      "phone {phone} belongs to both {owner} and {id}",
                                      phone=phone, owner=owner, id=h.id))
            unknown = set(h.flags) - set(FLAG_WORDS)
            if unknown:
                found.append(f"household {h.id} has unknown flags {sorted(unknown)}")
        group_ids: set[str] = set()
        for g in self.groups:
            if g.id in group_ids:
                found.append(f"group {g.id} appears twice")
            group_ids.add(g.id)
            size = len(g.member_ids)
            if not GROUP_MIN_HOUSEHOLDS <= size <= GROUP_MAX_HOUSEHOLDS:
                found.append(Text(
                    "roster.group_size", "group {name} has {size} households (a group needs "
                    "{low}-{high})", name=g.name, size=size, low=GROUP_MIN_HOUSEHOLDS,
                    high=GROUP_MAX_HOUSEHOLDS))
            if len(set(g.member_ids)) != size:
                found.append(f"group {g.name} lists a household twice")
            for hid in g.member_ids:
                if hid not in seen_ids:
                    found.append(f"group {g.name} lists unknown household {hid}")
            if g.leader_id not in g.member_ids:
                found.append(Text("roster.no_leader_among",
                                  "group {name} has no leader among its households",
                                  name=g.name))
        return found

    def validated(self) -> "Roster":
        """Return self, or raise RosterError listing every problem."""
        problems = self.problems()
        if problems:
            raise RosterError(problems)
        return self
