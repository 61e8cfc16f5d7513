"""Leaders' own PINs for administration by SMS (table ``leader_pins``), kept as scrypt hashes;
a mixin of SqliteStore. A leader without one uses the shared ``admin.leader_pin``."""
from __future__ import annotations

from datetime import datetime

from edgebox.store.times import utc_iso


class LeaderPinRows:
    def set_leader_pin(self, now: datetime, household_id: str, pin_hash: str | None) -> None:
        """Set (or with None clear) a leader's PIN, logged without the PIN or its hash."""
        with self.transaction() as conn:
            if pin_hash is None:
                conn.execute("DELETE FROM leader_pins WHERE household_id = ?", (household_id,))
            else:
                conn.execute("INSERT OR REPLACE INTO leader_pins (household_id, pin_hash,"
                             " set_at) VALUES (?, ?, ?)", (household_id, pin_hash, utc_iso(now)))
            self._append(conn, now, "leader_pin_set" if pin_hash else "leader_pin_cleared",
                         None, {"household": household_id})

    def leader_pin_hash(self, household_id: str) -> str | None:
        with self._lock:
            rows = list(self.db.query("SELECT pin_hash FROM leader_pins WHERE household_id = ?",
                                      [household_id]))
        return rows[0]["pin_hash"] if rows else None

    def leaders_with_pins(self) -> set[str]:
        with self._lock:
            return {r["household_id"] for r in self.db.query(
                "SELECT household_id FROM leader_pins")}
