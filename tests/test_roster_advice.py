"""Warnings on a roster that works but deserves a second look: they never refuse a sheet."""
from edgebox.domain.roster import Group, Household, Roster
from edgebox.domain.roster_advice import roster_warnings


def household(n, phone=None, flags=()):
    return Household(f"H{n:02d}", f"户主{n}", f"石桥村{n}号", (phone or f"+86138001380{n:02d}",),
                     frozenset(flags))


def test_a_good_roster_has_no_warnings():
    members = [household(n) for n in range(1, 6)]
    roster = Roster(tuple(members), (Group("一组", "第一组", "H01",
                                           tuple(h.id for h in members)),)).validated()
    assert roster_warnings(roster) == []


def test_landline_only_sizes_and_vulnerable_leaders_are_warned_in_both_languages():
    small = [household(1, flags={"elderly_alone"}), household(2, phone="+8657188886666"),
             household(3)]
    big = [household(n) for n in range(10, 26)]  # 16 households
    mixed = household(30, phone="+8657188880000")
    mixed = Household(mixed.id, mixed.name, mixed.address,
                      ("+8657188880000", "+8613800138030"))  # a landline and a mobile: fine
    roster = Roster(tuple(small + big + [mixed]), (
        Group("一组", "第一组", "H01", tuple(h.id for h in small)),
        Group("二组", "第二组", "H10", tuple(h.id for h in big) + ("H30",)),
    )).validated()
    zh = [w.zh for w in roster_warnings(roster)]
    assert zh == [
        "户主2（H02）只有固定电话，收不到报警短信，只能打电话通知；请补一个手机号",
        "第一组有3户，建议每组5–15户",
        "第一组的中心户长户主1是独居老人户，报警时可能无法赶去，建议另选户长",
        "第二组有17户，建议每组5–15户",
    ]
    en = [w.text("en") for w in roster_warnings(roster)]
    assert en[0].startswith("户主2 (H02) has only landlines") and "17 households" in en[3]
    assert "leader 户主1 is marked alone and may not" in en[2], en[2]


def test_a_leader_with_two_risks_has_both_named_in_each_language():
    members = [household(1, flags={"elderly_alone", "disabled"})] + [
        household(n) for n in range(2, 6)]
    roster = Roster(tuple(members), (Group("一组", "第一组", "H01",
                                           tuple(h.id for h in members)),)).validated()
    [warning] = roster_warnings(roster)
    assert "户主1是残疾、独居老人户" in warning.zh, warning.zh
    assert "is marked disabled, alone and" in warning.text("en"), warning.text("en")
