"""Leaders' own PINs for administration by SMS (table ``leader_pins``), kept as scrypt hashes.
A leader without one uses the shared ``admin.leader_pin``."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from edgebox.store.times import utc_iso

if TYPE_CHECKING:
    from edgebox.store.table_core import TableCore


class LeaderPinRows:
    def __init__(self, core: TableCore):
        self._core = core

    def set(self, now: datetime, household_id: str, pin_hash: str | None) -> None:
        """Set (or with None clear) a leader's PIN, logged without the PIN or its hash."""
        with self._core.transaction() as conn:
            if pin_hash is None:
                conn.execute("DELETE FROM leader_pins WHERE household_id = ?", (household_id,))
            else:
                conn.execute("INSERT OR REPLACE INTO leader_pins (household_id, pin_hash,"
                             " set_at) VALUES (?, ?, ?)", (household_id, pin_hash, utc_iso(now)))
            self._core.log(conn, now, "leader_pin_set" if pin_hash else "leader_pin_cleared",
                           None, {"household": household_id})

    def hash_of(self, household_id: str) -> str | None:
        """The leader's own PIN's hash; None when the leader has none."""
        with self._core.lock:
            rows = list(self._core.db.query(
                "SELECT pin_hash FROM leader_pins WHERE household_id = ?", [household_id]))
        return rows[0]["pin_hash"] if rows else None

    def leaders(self) -> set[str]:
        """The households whose leader has a PIN of their own."""
        with self._core.lock:
            return {r["household_id"] for r in self._core.db.query(
                "SELECT household_id FROM leader_pins")}
