"""SqliteStore: the one place edgebox reads and writes its database (SQLite via sqlite-utils).

Multi-step changes run in one explicit ``BEGIN IMMEDIATE`` transaction so an alarm is never half
recorded. A single connection serialised by a lock serves all threads of the daemon; WAL lets the
CLI read (``roster show``, the demo's timeline) while the daemon writes.

This class owns the connection, transactions and the event log; the tables' own operations
are mixins beside it (roster_rows, incident_rows, outbox, health_rows).
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import sqlite_utils

from edgebox.errors import StoreError
from edgebox.store.health_rows import HealthRows
from edgebox.store.incident_rows import IncidentRows
from edgebox.store.outbox import Outbox
from edgebox.store.roster_rows import RosterRows
from edgebox.store.schema import migrate
from edgebox.store.times import parse_utc, utc_iso

__all__ = ["SqliteStore", "parse_utc", "utc_iso"]


class SqliteStore(RosterRows, IncidentRows, Outbox, HealthRows):
    def __init__(self, path: str | Path):
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=10)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # an acknowledged alarm survives power loss
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._listeners: list = []
        self._uncommitted: list[dict] = []

    def subscribe(self, listener) -> None:
        """Call ``listener(event)`` for every event, after the transaction holding it commits
        (the daemon's log lines and the demo's timeline both come from here)."""
        self._listeners.append(listener)

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                self._uncommitted.clear()
                raise
            conn.execute("COMMIT")
            committed, self._uncommitted = self._uncommitted, []
        for event in committed:
            for listener in self._listeners:
                listener(event)

    # ---- event log -------------------------------------------------------------------------

    def _append(self, conn: sqlite3.Connection, now: datetime, kind: str,
                incident_id: int | None, data: dict) -> int:
        at = utc_iso(now)
        cur = conn.execute(
            "INSERT INTO events (at, kind, incident_id, data) VALUES (?, ?, ?, ?)",
            (at, kind, incident_id, json.dumps(data, ensure_ascii=False)),
        )
        if self._listeners:
            self._uncommitted.append({"seq": cur.lastrowid, "at": at, "kind": kind,
                                      "incident_id": incident_id, "data": data})
        return cur.lastrowid

    def append_event(self, now: datetime, kind: str, incident_id: int | None = None,
                     **data: object) -> int:
        with self.transaction() as conn:
            return self._append(conn, now, kind, incident_id, data)

    def events_after(self, seq: int = 0, limit: int = 1000) -> list[dict]:
        with self._lock:
            rows = list(self.db.query(
                "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", [seq, limit]))
        for row in rows:
            row["data"] = json.loads(row["data"])
        return rows

    def events_of_kinds(self, kinds: list[str]) -> list[dict]:
        marks = ",".join("?" * len(kinds))
        with self._lock:
            rows = list(self.db.query(
                f"SELECT * FROM events WHERE kind IN ({marks}) ORDER BY seq", list(kinds)))
        for row in rows:
            row["data"] = json.loads(row["data"])
        return rows

    # ---- figures ---------------------------------------------------------------------------

    def summary(self) -> dict:
        """Counts a person (and the demo's JSON line) can read at a glance."""
        with self._lock:
            one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
            return {
                "incidents": one("SELECT count(*) FROM incidents"),
                "sms_sent": one("SELECT count(*) FROM deliveries WHERE kind='sms' AND state='sent'"),
                "calls_placed": one(
                    "SELECT count(*) FROM deliveries WHERE kind='call' AND state='sent'"),
                "acks": one("SELECT count(*) FROM acks"),
                "failures": one("SELECT count(*) FROM deliveries WHERE state='failed'"),
                "pending": one(
                    "SELECT count(*) FROM deliveries WHERE state IN ('pending','sending')"),
                "cancelled": one("SELECT count(*) FROM deliveries WHERE state='cancelled'"),
                "events": one("SELECT count(*) FROM events"),
            }
