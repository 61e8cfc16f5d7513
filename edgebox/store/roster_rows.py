"""The roster's tables (households, groups, members), replaced whole and read whole."""
from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from edgebox.domain.roster import Group, Household, Roster

if TYPE_CHECKING:
    from edgebox.store.table_core import TableCore


class RosterRows:
    def __init__(self, core: TableCore):
        self._core = core

    def replace(self, roster: Roster, now: datetime, source: str = "",
                **detail: object) -> int:
        """Swap the whole roster in one transaction: an import is all or nothing. ``detail``
        goes into the roster_replaced event (e.g. the imported sheet's digest). Returns the
        roster's new generation (see ``generation``)."""
        roster.validated()
        with self._core.transaction() as conn:
            conn.execute("UPDATE roster_generation SET generation = generation + 1"
                         " WHERE id = 1")
            generation = conn.execute("SELECT generation FROM roster_generation"
                                      " WHERE id = 1").fetchone()[0]
            conn.execute("DELETE FROM group_members")
            conn.execute("DELETE FROM village_groups")
            conn.execute("DELETE FROM households")
            conn.executemany(
                "INSERT INTO households (id, name, address, phones, flags, position, guardians,"
                " note, check_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(h.id, h.name, h.address, json.dumps(list(h.phones)),
                  json.dumps(sorted(h.flags)), pos, json.dumps(list(h.guardians)), h.note,
                  h.check_in)
                 for pos, h in enumerate(roster.households)],
            )
            conn.executemany(
                "INSERT INTO village_groups VALUES (?, ?, ?, ?)",
                [(g.id, g.name, g.leader_id, pos) for pos, g in enumerate(roster.groups)],
            )
            conn.executemany(
                "INSERT INTO group_members VALUES (?, ?, ?)",
                [(g.id, hid, pos) for g in roster.groups for pos, hid in enumerate(g.member_ids)],
            )
            self._core.log(conn, now, "roster_replaced", None, {
                **roster.coverage(), "source": source, "generation": generation, **detail})
        return generation

    def generation(self) -> int:
        """How many times the roster was replaced: a running daemon's cheap test of whether
        the roster it holds is still the one in the database."""
        with self._core.lock:
            return self._core.db.execute("SELECT generation FROM roster_generation"
                                   " WHERE id = 1").fetchone()[0]

    def generation_loaded(self) -> int:
        """The newest roster generation a running daemon logged as taken (``roster_loaded``),
        0 when none has."""
        with self._core.lock:
            return self._core.db.execute(
                "SELECT coalesce(max(json_extract(data, '$.generation')), 0) FROM events"
                " WHERE kind = 'roster_loaded'").fetchone()[0]

    def load(self) -> Roster:
        return self.snapshot()[1]

    def snapshot(self) -> tuple[int, Roster]:
        """(generation, roster), read in one read transaction: another process replacing the
        roster meanwhile cannot leave this reader with half of each."""
        with self._core.lock:
            conn = self._core.db.conn
            own = not conn.in_transaction
            if own:
                conn.execute("BEGIN")
            try:
                return self._read_roster()
            finally:
                if own:
                    conn.execute("COMMIT")

    def _read_roster(self) -> tuple[int, Roster]:
        db = self._core.db
        generation = db.execute("SELECT generation FROM roster_generation"
                                     " WHERE id = 1").fetchone()[0]
        households = tuple(
            Household(r["id"], r["name"], r["address"], tuple(json.loads(r["phones"])),
                      frozenset(json.loads(r["flags"])), tuple(json.loads(r["guardians"])),
                      r["note"], r["check_in"])
            for r in db.query("SELECT * FROM households ORDER BY position")
        )
        members: dict[str, list[str]] = {}
        for r in db.query("SELECT * FROM group_members ORDER BY group_id, position"):
            members.setdefault(r["group_id"], []).append(r["household_id"])
        groups = tuple(
            Group(r["id"], r["name"], r["leader_id"], tuple(members.get(r["id"], ())))
            for r in db.query("SELECT * FROM village_groups ORDER BY position")
        )
        return generation, Roster(households, groups)
