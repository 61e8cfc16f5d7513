"""The roster's rules and the look-ups the alarm path relies on."""
import pytest

from edgebox.domain.roster import Group, Household, Roster, parse_flag
from edgebox.errors import RosterError
from edgebox.i18n import say


def household(number: int, *phones: str, flags=()) -> Household:
    own_phones = phones or (f"+86138{number:08d}",)
    return Household(f"H{number:03d}", f"户主{number}", f"石桥村一组 {number}号", own_phones,
                     frozenset(flags))


def roster_of(*group_sizes: int) -> Roster:
    """Groups of the given sizes, households numbered from 1, each group led by its first."""
    households, groups, number = [], [], 0
    for index, size in enumerate(group_sizes, start=1):
        members = [household(number + i) for i in range(1, size + 1)]
        number += size
        households += members
        groups.append(Group(f"G{index}", f"第{index}组", members[0].id,
                            tuple(h.id for h in members)))
    return Roster(tuple(households), tuple(groups))


def test_a_sound_roster_has_no_problems():
    roster = roster_of(2, 10, 20)
    assert roster.problems() == []
    assert roster.validated() is roster


@pytest.mark.parametrize("size", [1, 21])
def test_group_size_outside_two_to_twenty(size):
    problems = roster_of(size).problems()
    assert problems == [f"group 第1组 has {size} households (a group needs 2-20)"]


def test_leader_must_be_a_member():
    good = roster_of(3)
    group = good.groups[0]
    roster = Roster(good.households + (household(99),),
                    (Group(group.id, group.name, "H099", group.member_ids),))
    assert roster.problems() == ["group 第1组 has no leader among its households"]


def test_duplicate_phone_across_households():
    roster = Roster(
        (household(1, "+8613800138000"), household(2, "+8613900139000", "+8613800138000")),
        (Group("G1", "第1组", "H001", ("H001", "H002")),),
    )
    assert roster.problems() == ["phone +8613800138000 belongs to both H001 and H002"]


def test_unknown_household_in_group():
    good = roster_of(2)
    group = good.groups[0]
    roster = Roster(good.households,
                    (Group(group.id, group.name, group.leader_id, group.member_ids + ("H404",)),))
    assert roster.problems() == ["group 第1组 lists unknown household H404"]


def test_household_without_phone_or_name_and_unknown_flag():
    roster = Roster(
        (Household("H001", " ", "x", (), frozenset({"vip"})), household(2)),
        (Group("G1", "第1组", "H002", ("H001", "H002")),),
    )
    assert roster.problems() == [
        "household H001 has no name",
        "household H001 ( ) has no phone",
        "household H001 has unknown flags ['vip']",
    ]
    # the same, as a Chinese screen shows them
    assert [say(p, "zh") for p in roster.problems()] == [
        "户号H001没有户主姓名", "户号H001（ ）没有电话", "户号H001有不认识的标记['vip']"]
    twice = Roster(roster.households[1:] * 2, (Group("G1", "第1组", "H002", ("H002", "H002")),))
    assert [say(p, "zh") for p in twice.problems()] == ["户号H002出现了两次",
                                                       "第1组把同一户列了两次"]


def test_validated_raises_with_every_problem():
    with pytest.raises(RosterError) as raised:
        roster_of(1, 21).validated()
    assert len(raised.value.problems) == 2


def test_household_by_phone():
    roster = Roster(
        (household(1, "+8613800138000", "+8613900139000"), household(2)),
        (Group("G1", "第1组", "H001", ("H001", "H002")),),
    )
    assert roster.household_by_phone("+8613900139000").id == "H001"
    assert roster.household_by_phone("+8613800138000").id == "H001"
    assert roster.household_by_phone("+8613700137000") is None
    assert roster.household_by_phone(None) is None
    assert roster.household_by_phone("") is None


def test_members_keep_group_order_and_groups_of_finds_every_group():
    households = tuple(household(n) for n in (1, 2, 3))
    roster = Roster(households, (
        Group("G1", "第1组", "H003", ("H003", "H001")),
        Group("G2", "第2组", "H002", ("H002", "H003")),
    ))
    assert [h.id for h in roster.members("G1")] == ["H003", "H001"]
    assert [g.id for g in roster.groups_of("H003")] == ["G1", "G2"]
    assert [g.id for g in roster.groups_of("H001")] == ["G1"]
    assert roster.groups_of("H404") == []
    assert roster.household("H002").primary_phone == households[1].phones[0]


class CountedMembers(tuple):
    """A group's member ids that count how often they are searched."""
    searches = 0

    def __contains__(self, item):
        CountedMembers.searches += 1
        return super().__contains__(item)


def test_groups_of_is_a_lookup_not_a_scan_of_every_group():
    # A township of 500 groups: every call and SMS asks for the caller's groups, so the answer
    # comes from an index built once, not from searching each group's members.
    plain = roster_of(*[10] * 500)
    roster = Roster(plain.households, tuple(
        Group(g.id, g.name, g.leader_id, CountedMembers(g.member_ids)) for g in plain.groups))
    CountedMembers.searches = 0
    found = {h.id: [g.id for g in roster.groups_of(h.id)] for h in roster.households}
    assert CountedMembers.searches == 0
    assert found == {h.id: [g.id for g in plain.groups if h.id in g.member_ids]
                     for h in plain.households}
    assert roster.groups_of("H9999") == []


@pytest.mark.parametrize("word, flag", [
    ("独居老人", "elderly_alone"), (" 留守儿童 ", "left_behind_children"), ("行动不便", "disabled"),
    ("残疾", "disabled"), ("救援骨干", "able_helper"), ("Elderly", "elderly_alone"), ("老人", None),
])
def test_parse_flag(word, flag):
    assert parse_flag(word) == flag
