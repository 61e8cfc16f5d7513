"""石桥村, a simulated village for ``edgebox demo`` and the tests: four groups, 51 households.

Everything comes from one seeded random generator, so a seed always gives the same village: demo
output can be compared between runs and tests can name households. Names, addresses and phones look
like a real village's sheet but every one is invented.

Regenerate the example sheet after changing anything here:

    python -m edgebox.demo.village config/roster.example.csv
"""
from __future__ import annotations

import random
import sys
from dataclasses import dataclass

from edgebox.domain.roster import Group, Household, Roster
from edgebox.roster_io.csv_sheet import write_roster_csv

VILLAGE = "石桥村"

# (group name, households, places its households live). Sizes differ so that tests and the demo
# see groups that are not all alike.
GROUP_PLAN = (
    ("第一组", 12, ("一组", "祠堂边")),
    ("第二组", 14, ("二组", "东头")),
    ("第三组", 10, ("三组", "河边")),
    ("第四组", 15, ("四组", "西头", "老街")),
)

# Common surnames, the most frequent repeated so that a village has several 王 and 李 households.
SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董"
)
# Given names of the generation that heads rural households today; one character makes a
# two-character name (王芳), two make a three-character one (张建国).
GIVEN_NAMES = (
    "建国", "建华", "建军", "国强", "国华", "志强", "志明", "德明", "德华", "永红", "永福",
    "卫东", "红军", "文华", "秀英", "桂英", "秀兰", "玉兰", "桂兰", "春梅", "秀珍", "凤英",
    "海燕", "丽华", "淑芬", "金花", "翠花", "长生", "福贵", "有才", "水生", "根生", "来福",
    "明", "军", "伟", "勇", "刚", "强", "平", "斌", "芳", "霞", "梅", "兰", "萍", "华", "英",
)
# Mobile prefixes of the three operators (China Mobile, Unicom, Telecom).
MOBILE_PREFIXES = (
    "134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159",
    "182", "183", "184", "187", "188", "130", "131", "132", "155", "156", "185", "186",
    "133", "153", "180", "189", "199",
)
SHARE_WITH_SECOND_PHONE = 0.25


@dataclass(frozen=True)
class EscalationNumbers:
    """Who hears about an alarm beyond the group: the village office, then the township."""

    office_numbers: tuple[str, ...]
    township_numbers: tuple[str, ...]


# Fixed and kept out of the households' phones, so that the office is never mistaken for a caller.
ESCALATION = EscalationNumbers(
    office_numbers=("+8613905710001", "+8613905710002"),
    township_numbers=("+8613905710110",),
)


def build_village(seed: int = 0) -> Roster:
    """The demo village for ``seed``; households are listed group by group, ids H001, H002, …"""
    rng = random.Random(seed)
    taken_names: set[str] = set()
    taken_phones = set(ESCALATION.office_numbers + ESCALATION.township_numbers)
    households: list[Household] = []
    groups: list[Group] = []
    for group_name, size, places in GROUP_PLAN:
        flags = _flags(rng, size)
        members = [
            Household(
                id=f"H{len(households) + position + 1:03d}",
                name=_unique_name(rng, taken_names),
                address=address,
                phones=_phones(rng, taken_phones),
                flags=flags[position],
            )
            for position, address in enumerate(_addresses(rng, size, places))
        ]
        households.extend(members)
        leader = rng.choice([h for h in members if "elderly_alone" not in h.flags])
        groups.append(Group(
            id=group_name,
            name=group_name,
            leader_id=leader.id,
            member_ids=tuple(h.id for h in members),
        ))
    return Roster(households=tuple(households), groups=tuple(groups)).validated()


def escalation_numbers() -> EscalationNumbers:
    """The office and township numbers of the demo village."""
    return ESCALATION


def _unique_name(rng: random.Random, taken: set[str]) -> str:
    # Unique within the village so that demo output naming a household is unambiguous.
    while True:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        if name not in taken:
            taken.add(name)
            return name


def _addresses(rng: random.Random, size: int, places: tuple[str, ...]) -> list[str]:
    """Distinct addresses such as 石桥村一组 12号, most in the group's own 组, in the order a walk
    down each lane passes them."""
    spots: set[tuple[int, int]] = set()  # (index of the place, house number)
    while len(spots) < size:
        place = 0 if rng.random() < 0.6 else rng.randrange(1, len(places))
        spots.add((place, rng.randint(1, 60)))
    return [f"{VILLAGE}{places[place]} {number}号" for place, number in sorted(spots)]


def _phones(rng: random.Random, taken: set[str]) -> tuple[str, ...]:
    count = 2 if rng.random() < SHARE_WITH_SECOND_PHONE else 1
    found = []
    while len(found) < count:
        phone = "+86" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if phone not in taken:
            taken.add(phone)
            found.append(phone)
    return tuple(found)


def _flags(rng: random.Random, size: int) -> list[frozenset[str]]:
    """Flags for a group's households by position: one or two elderly people living alone, one
    able helper, sometimes a household with left-behind children."""
    picked = rng.sample(range(size), 4)
    flags = [frozenset()] * size
    flags[picked[0]] = frozenset({"elderly_alone"})
    flags[picked[1]] = frozenset({"able_helper"})
    if rng.random() < 0.6:
        flags[picked[2]] = frozenset({"elderly_alone"})
    if rng.random() < 0.5:
        flags[picked[3]] = frozenset({"left_behind_children"})
    return flags


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m edgebox.demo.village OUTPUT.csv", file=sys.stderr)
        return 2
    write_roster_csv(build_village(), argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
