"""The simulated village: realistic, valid, deterministic, and in sync with the example sheet."""
from pathlib import Path

import pytest

from edgebox.demo.village import ESCALATION, build_village, escalation_numbers
from edgebox.domain import phones
from edgebox.roster_io import read_roster_csv, roster_to_csv_bytes

EXAMPLE_SHEET = Path(__file__).resolve().parent.parent / "config" / "roster.example.csv"
# How the alarm reads on a household's phone; a single SMS holds 70 Chinese characters.
ALARM = "【十户联防】紧急求助！{group} {name}（{address}）呼叫求助，请立即前往！回复1确认。"
SEEDS = range(20)


@pytest.fixture(scope="module")
def village():
    return build_village()


def test_at_least_three_groups_of_ten_to_fifteen(village):
    assert len(village.groups) >= 3
    assert all(10 <= len(g.member_ids) <= 15 for g in village.groups)
    assert len({len(g.member_ids) for g in village.groups}) > 1


@pytest.mark.parametrize("seed", SEEDS)
def test_roster_is_valid(seed):
    roster = build_village(seed)
    assert roster.problems() == []
    assert all(len(roster.groups_of(h.id)) == 1 for h in roster.households)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_phone_is_a_valid_mobile_and_unique(seed):
    roster = build_village(seed)
    all_phones = [p for h in roster.households for p in h.phones]
    assert all(phones.normalise(p) == p and p.startswith("+861") for p in all_phones)
    office = ESCALATION.office_numbers + ESCALATION.township_numbers
    assert len(set(all_phones + list(office))) == len(all_phones) + len(office)


def test_escalation_numbers_are_valid():
    numbers = escalation_numbers()
    assert numbers.office_numbers and numbers.township_numbers
    for phone in numbers.office_numbers + numbers.township_numbers:
        assert phones.normalise(phone) == phone


def test_some_households_have_two_phones_and_some_flags(village):
    assert any(len(h.phones) == 2 for h in village.households)
    flags = [flag for h in village.households for flag in h.flags]
    assert {"elderly_alone", "left_behind_children", "able_helper"} <= set(flags)
    assert len(flags) < len(village.households) / 2


def test_names_and_addresses_look_like_a_chinese_village(village):
    names = [h.name for h in village.households]
    assert all(2 <= len(name) <= 3 for name in names)
    assert {2, 3} <= {len(name) for name in names}
    assert len(set(names)) == len(names)
    assert len({name[0] for name in names}) >= 10
    assert all(h.address.startswith("石桥村") and h.address.endswith("号") for h in village.households)
    assert len({h.address for h in village.households}) == len(village.households)


def test_leaders_are_not_elderly_people_living_alone(village):
    for group in village.groups:
        assert "elderly_alone" not in village.household(group.leader_id).flags


def test_same_seed_same_village_other_seed_other_village():
    assert build_village(7) == build_village(7)
    assert build_village() == build_village(0)
    assert build_village(1) != build_village(0)


@pytest.mark.parametrize("seed", SEEDS)
def test_alarm_message_fits_one_sms(seed):
    roster = build_village(seed)
    for group in roster.groups:
        for household in roster.members(group.id):
            assert len(household.name) <= 3 and len(household.address) <= 12
            message = ALARM.format(group=group.name, name=household.name, address=household.address)
            assert len(message) <= 70, message


def test_example_sheet_is_what_the_generator_writes(village):
    assert EXAMPLE_SHEET.read_bytes() == roster_to_csv_bytes(village), (
        "config/roster.example.csv is out of date; regenerate it with "
        "python -m edgebox.demo.village config/roster.example.csv"
    )
    assert read_roster_csv(EXAMPLE_SHEET) == village


def test_command_line_writes_the_example_sheet(tmp_path, village):
    from edgebox.demo.village import main

    out = tmp_path / "roster.csv"
    assert main([str(out)]) == 0
    assert out.read_bytes() == roster_to_csv_bytes(village)
    assert main([]) == 2
