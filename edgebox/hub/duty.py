"""Duty officers: the numbers per township that the hub's modem texts its alerts to.

An officer acknowledges an alert by replying to the hub's modem (edgebox.hub.modem_link), so a
number is kept in the one form the network shows it: international, with its '+'.
"""
from __future__ import annotations

import re

from edgebox.hub.errors import RegistryError
from edgebox.hub.registry import utc_iso

PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def add_officer(db, township: str, phone: str, name: str) -> None:
    if not township.strip():
        raise RegistryError("the township must not be empty")
    if not PHONE.match(phone):
        raise RegistryError(f"phone {phone!r} must be international, e.g. +8613800138000")
    with db.transaction() as tx:
        tx.execute("INSERT INTO duty_officers (township, phone, name, added_at)"
                   " VALUES (?, ?, ?, ?) ON CONFLICT (township, phone) DO UPDATE"
                   " SET name = excluded.name", (township.strip(), phone, name.strip(), utc_iso()))


def remove_officer(db, township: str, phone: str) -> None:
    with db.transaction() as tx:
        removed = tx.execute("DELETE FROM duty_officers WHERE township = ? AND phone = ?",
                             (township, phone))
    if removed == 0:
        raise RegistryError(f"{phone} is not on duty for {township}")


def list_officers(db) -> list[dict]:
    with db.transaction(write=False) as tx:
        return tx.dicts("SELECT township, phone, name, added_at FROM duty_officers"
                        " ORDER BY township, phone")


def officers_of(db, township: str) -> list[str]:
    with db.transaction(write=False) as tx:
        return [r[0] for r in tx.rows("SELECT phone FROM duty_officers WHERE township = ?"
                                      " ORDER BY phone", (township,))]


def is_officer(db, phone: str) -> bool:
    with db.transaction(write=False) as tx:
        return tx.one("SELECT 1 FROM duty_officers WHERE phone = ?", (phone,)) is not None
