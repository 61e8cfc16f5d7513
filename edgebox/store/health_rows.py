"""Modem health readings (signal, registration, SIM, balance...), one row per reading."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from edgebox.store.times import utc_iso

if TYPE_CHECKING:
    from edgebox.store.table_core import TableCore

# What a reading may hold besides its modem and time (NULL: not known at that reading).
READING_COLUMNS = ("signal", "registration", "technology", "sim", "operator", "balance",
                   "network_time", "error")


@dataclass(frozen=True)
class HealthReading:
    """One modem's reading as stored (``at``: UTC, ISO text); None where it was not known."""
    id: int
    modem: str
    at: str
    signal: int | None
    registration: str | None
    technology: str | None
    sim: str | None
    operator: str | None
    balance: float | None
    network_time: str | None
    error: str | None


class HealthRows:
    def __init__(self, core: TableCore):
        self._core = core

    def record(self, now: datetime, modem: str, **reading: object) -> None:
        values = {c: reading.get(c) for c in READING_COLUMNS}
        with self._core.transaction() as conn:
            conn.execute(
                f"INSERT INTO modem_health (modem, at, {', '.join(READING_COLUMNS)}) VALUES"
                f" (?, ?, {', '.join('?' * len(READING_COLUMNS))})",
                (modem, utc_iso(now), *values.values()))
            self._core.log(conn, now, "modem_health", None,
                           {"modem": modem, **{k: v for k, v in values.items() if v is not None}})

    def latest(self) -> list[HealthReading]:
        """The newest reading of every modem that has one."""
        with self._core.lock:
            return [HealthReading(**row) for row in self._core.db.query(
                "SELECT * FROM modem_health WHERE id IN"
                " (SELECT max(id) FROM modem_health GROUP BY modem) ORDER BY modem")]
