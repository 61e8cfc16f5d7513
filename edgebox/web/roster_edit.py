"""Edits the office makes to the roster on the web page, as pure functions of a Roster.

Each returns a new, validated Roster (or raises RosterError saying what rule the edit breaks);
the page then saves it whole with ``store.roster.replace``, the same all-or-nothing path as an
import, and the daemon picks it up from the ``roster_replaced`` event.
"""
from __future__ import annotations

import re
from dataclasses import replace

from edgebox.domain import phones
from edgebox.domain.check_ins import format_time, parse_time
from edgebox.domain.roster import Group, Household, Roster
from edgebox.errors import RosterError
from edgebox.i18n import Text

# As in the sheet: punctuation in either width, a line break, or two or more spaces separate
# phones; a single space stays inside one ("138 0013 8000").
_SEPARATORS = re.compile(r"[;；,，、/\r\n]|\s{2,}")


def parse_phones(text: str, region: str, required: bool = True) -> tuple[str, ...]:
    """The phones typed in one field; a household's own need one at least (``required``),
    its relatives' may be none."""
    found: list[str] = []
    for token in (t.strip() for t in _SEPARATORS.split(text)):
        if not token:
            continue
        try:
            phone = phones.normalise(token, region)
        except phones.PhoneNumberError as exc:
            raise RosterError([exc.args[0]]) from exc
        if phone not in found:
            found.append(phone)
    if not found and required:
        raise RosterError([Text("roster.needs_phone", "a household needs at least one phone")])
    return tuple(found)


def parse_check_in(text: str) -> str:
    """The daily check-in's time typed in the form, as the store keeps it ("08:30"; "" for
    none)."""
    try:
        return format_time(parse_time(text))
    except ValueError as exc:
        raise RosterError([exc.args[0]]) from exc  # the Text, said in the page's words


def _household(household_id: str, name: str, address: str, phone_text: str, flags,
               region: str, guardian_text: str = "", note: str = "",
               check_in: str = "") -> Household:
    name, address = " ".join(name.split()), " ".join(address.split())
    if not name:
        raise RosterError([Text("roster.name_empty", "the name is empty")])
    if not address:
        raise RosterError([Text("roster.address_empty", "the address is empty")])
    return Household(household_id, name, address, parse_phones(phone_text, region),
                     frozenset(flags), parse_phones(guardian_text, region, required=False), note,
                     check_in)


def _next_id(roster: Roster) -> str:
    used = {h.id for h in roster.households}
    number = len(used) + 1
    while f"H{number:03d}" in used:
        number += 1
    return f"H{number:03d}"


def _with_groups(roster: Roster, households, groups) -> Roster:
    return Roster(tuple(households), tuple(groups)).validated()


def add_household(roster: Roster, group_id: str, name: str, address: str, phone_text: str,
                  flags=(), region: str = "CN", guardian_text: str = "",
                  check_in_text: str = "") -> Roster:
    group = roster.group(group_id)
    household = _household(_next_id(roster), name, address, phone_text, flags, region,
                           guardian_text, check_in=parse_check_in(check_in_text))
    groups = [replace(g, member_ids=g.member_ids + (household.id,)) if g.id == group.id else g
              for g in roster.groups]
    return _with_groups(roster, roster.households + (household,), groups)


def edit_household(roster: Roster, household_id: str, name: str, address: str,
                   phone_text: str, flags=(), region: str = "CN",
                   guardian_text: str | None = None, check_in_text: str | None = None) -> Roster:
    """``guardian_text`` None keeps the relatives' phones as they are, ``check_in_text`` None
    the check-in time; the sheet's 备注 is always kept (the page does not edit it)."""
    old = roster.household(household_id)  # KeyError for an unknown one
    edited = _household(household_id, name, address, phone_text, flags, region, "", old.note,
                         old.check_in if check_in_text is None else
                         parse_check_in(check_in_text))
    edited = replace(edited, guardians=old.guardians if guardian_text is None else
                     parse_phones(guardian_text, region, required=False))
    households = [edited if h.id == household_id else h for h in roster.households]
    return _with_groups(roster, households, roster.groups)


def _not_a_leader(roster: Roster, household_id: str, what: str) -> None:
    """``what``: "move" or "remove", what the office tried to do with a group's leader."""
    for group in roster.groups_of(household_id):
        if group.leader_id == household_id:
            name = roster.household(household_id).name
            raise RosterError([Text(
                "roster.leads_move", "{name} leads {group}; make another household its leader "
                "before you move it", name=name, group=group.name) if what == "move" else Text(
                "roster.leads_remove", "{name} leads {group}; make another household its "
                "leader before you remove it", name=name, group=group.name)])


def move_household(roster: Roster, household_id: str, to_group_id: str) -> Roster:
    roster.group(to_group_id)
    _not_a_leader(roster, household_id, "move")
    groups = []
    for g in roster.groups:
        members = tuple(m for m in g.member_ids if m != household_id)
        if g.id == to_group_id:
            members += (household_id,)
        groups.append(replace(g, member_ids=members))
    return _with_groups(roster, roster.households, groups)


def remove_household(roster: Roster, household_id: str) -> Roster:
    roster.household(household_id)
    _not_a_leader(roster, household_id, "remove")
    groups = [replace(g, member_ids=tuple(m for m in g.member_ids if m != household_id))
              for g in roster.groups]
    households = [h for h in roster.households if h.id != household_id]
    return _with_groups(roster, households, groups)


def set_leader(roster: Roster, group_id: str, household_id: str) -> Roster:
    group = roster.group(group_id)
    if household_id not in group.member_ids:
        raise RosterError([Text("roster.not_in_group", "{id} is not in {group}",
                                id=household_id, group=group.name)])
    groups = [replace(g, leader_id=household_id) if g.id == group_id else g
              for g in roster.groups]
    return _with_groups(roster, roster.households, groups)


def add_group(roster: Roster, name: str, household_ids: list[str]) -> Roster:
    """A new group formed from households moved out of theirs; the first one leads it."""
    name = " ".join(name.split())
    if not name:
        raise RosterError([Text("roster.group_needs_name", "the group needs a name")])
    if any(g.id == name for g in roster.groups):
        raise RosterError([Text("roster.group_exists", "there is already a group {name}",
                                name=name)])
    for household_id in household_ids:
        _not_a_leader(roster, household_id, "move")
    moved = set(household_ids)
    groups = [replace(g, member_ids=tuple(m for m in g.member_ids if m not in moved))
              for g in roster.groups]
    if not household_ids:
        raise RosterError([Text("roster.choose_households",
                                "choose the households of the new group")])
    groups.append(Group(name, name, household_ids[0], tuple(household_ids)))
    return _with_groups(roster, roster.households, groups)


def split_ids(text: str) -> list[str]:
    """Household ids typed in one field: "H01 H02, H03"."""
    return [token for token in re.split(r"[\s,，;；、]+", text) if token]
