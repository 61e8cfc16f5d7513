"""Modem health readings (signal, registration, SIM, balance...), one row per reading.

Mixed into SqliteStore: uses its ``transaction``, ``_append``, ``_lock`` and ``db``."""
from __future__ import annotations

from datetime import datetime

from edgebox.store.times import utc_iso


class HealthRows:
    def record_health(self, now: datetime, modem: str, **reading: object) -> None:
        columns = ("signal", "registration", "technology", "sim", "operator", "balance",
                   "network_time", "error")
        values = {c: reading.get(c) for c in columns}
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO modem_health (modem, at, {', '.join(columns)}) VALUES"
                f" (?, ?, {', '.join('?' * len(columns))})",
                (modem, utc_iso(now), *values.values()))
            self._append(conn, now, "modem_health", None,
                         {"modem": modem, **{k: v for k, v in values.items() if v is not None}})

    def latest_health(self) -> list[dict]:
        """The newest health row of every modem that has one."""
        with self._lock:
            return list(self.db.query(
                "SELECT * FROM modem_health WHERE id IN"
                " (SELECT max(id) FROM modem_health GROUP BY modem) ORDER BY modem"))
