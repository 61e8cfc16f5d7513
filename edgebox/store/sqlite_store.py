"""SqliteStore: the one place edgebox reads and writes its database (SQLite via sqlite-utils).

Multi-step changes run in one explicit ``BEGIN IMMEDIATE`` transaction so an alarm is never half
recorded. A single connection serialised by a lock serves all threads of the daemon; WAL lets the
CLI read (``roster show``, the demo's timeline) while the daemon writes.

This class owns the connection, transactions, the disk's reserve and the event log (its reads
return frozen ``Event``s, logged_event.py). Every table is an object built on them (a
TableCore) and reached as an attribute; one that writes another's rows is given it, and the
reads return frozen dataclasses of the rows:

- the alarm path's: ``incidents`` (incidents and acknowledgements, incident_rows.py),
  ``outbox`` (deliveries, SMS parts and broadcasts, outbox.py), ``reports`` (delivery
  reports, delivery_reports.py); an incident's plan goes into the outbox;
- the box's other tables: ``roster`` (households, groups and members, replaced and read
  whole, roster_rows.py), ``inbox`` (received SMS and office actions, acted on once,
  inbox_rows.py), ``health`` (modem health readings, health_rows.py), ``sessions`` (the web
  panel's logins, session_rows.py), ``leader_pins`` (leaders' own PINs as hashes,
  leader_pin_rows.py), ``check_ins`` (the daily check-ins, check_in_rows.py; a missed one
  opens its incident, a ring is planned in the outbox).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import sqlite_utils

from edgebox.errors import StoreError
from edgebox.store.check_in_rows import CheckInRows
from edgebox.store.delivery_reports import DeliveryReports
from edgebox.store.health_rows import HealthRows
from edgebox.store.inbox_rows import InboxRows
from edgebox.store.incident_rows import Incidents
from edgebox.store.leader_pin_rows import LeaderPinRows
from edgebox.store.logged_event import Event
from edgebox.store.outbox import Outbox
from edgebox.store.roster_rows import RosterRows
from edgebox.store.schema import migrate
from edgebox.store.session_rows import WebSessionRows
from edgebox.store.store_counts import StoreCounts
from edgebox.store.table_core import TableCore
from edgebox.store.times import parse_utc, utc_iso
from edgebox.store.wal_checkpoints import IDLE_SECONDS, KEEP_BYTES, WalCheckpointer

__all__ = ["SqliteStore", "parse_utc", "utc_iso"]

# Room kept for the alarm path: a file of this size beside the database, given up the moment
# the disk fills, so that alarms (and the office's notice of the full disk) still commit.
# Alarms are small: this carries hundreds of them while someone comes to clear the disk.
RESERVE_BYTES = 8 * 1024 * 1024
# Below this much free space a transaction first gives up the reserve: more than the biggest
# single transaction writes (a village-wide broadcast, a few hundred KiB of WAL).
LOW_SPACE_BYTES = 1024 * 1024


class SqliteStore:
    def __init__(self, path: str | Path, reserve: bool = False, idle_checkpoints: bool = False,
                 checkpoint_after: float = IDLE_SECONDS):
        """``reserve``: keep room on the disk for when it fills (the daemon asks for it).
        ``idle_checkpoints``: copy the WAL into the database only when the box is idle, on a
        thread of its own, never inside a commit (the daemon asks for it, see wal_checkpoints);
        ``checkpoint_after``: the seconds without a commit that make the box idle.
        """
        self.path = str(path)
        idle_checkpoints = idle_checkpoints and self.path != ":memory:"
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=10)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # an acknowledged alarm survives power loss
            conn.execute("PRAGMA foreign_keys=ON")
            # what a checkpoint leaves of the WAL file (else it keeps its largest size for good)
            conn.execute(f"PRAGMA journal_size_limit={KEEP_BYTES}")
            if idle_checkpoints:
                conn.execute("PRAGMA wal_autocheckpoint=0")
            migrate(conn)
            self._checkpointer = (WalCheckpointer(self.path, checkpoint_after) if idle_checkpoints
                                  else None)
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._listeners: list = []
        self._uncommitted: list[Event] = []  # logged in the open transaction, for the listeners
        # Events logged with the next durable commit (see defer_event): (monotonic, args).
        self._deferred: list[tuple[float, tuple]] = []
        self._deferred_lock = threading.Lock()
        self._commit_observers: list = []
        self.reserve_path = self.path + "-reserve" if reserve and self.path != ":memory:" \
            else None
        self.reserve_held = self._keep_reserve()
        core = TableCore(self.db, self._lock, self.transaction, self._append, self.read)
        # the alarm path's tables
        self.reports = DeliveryReports(core)
        self.outbox = Outbox(core, self.reports)
        self.incidents = Incidents(core, self.outbox)
        # the box's other tables
        self.roster = RosterRows(core)
        self.inbox = InboxRows(core)
        self.health = HealthRows(core)
        self.sessions = WebSessionRows(core)
        self.leader_pins = LeaderPinRows(core)
        self.check_ins = CheckInRows(core, self.incidents, self.outbox)

    def subscribe(self, listener) -> None:
        """Call ``listener(event)`` with each logged ``Event`` after the transaction holding it
        commits (the daemon's log lines and the demo's timeline both come from here)."""
        self._listeners.append(listener)

    def observe_commits(self, observer) -> None:
        """Call ``observer(durable, held)`` after every top-level commit, on the committing
        thread; ``durable``: the commit waited for the disk (synchronous=FULL); ``held``: the
        seconds the write lock was held, BEGIN IMMEDIATE to COMMIT (what an alarm may wait)."""
        self._commit_observers.append(observer)

    def close(self) -> None:
        self.flush_deferred()
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._lock:
            self.db.conn.close()

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction, committed when the block ends. ``durable=False`` for a change a
        power cut may take back without harm (no event in it, nothing decided by it alone):
        its commit does not wait for the disk, and the next durable commit makes it durable
        with itself (WAL frames are written in order)."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                # Opened inside another transaction of this thread (an SMS acted on together
                # with everything it causes, see inbox_rows): a savepoint of that one, which
                # commits with it.
                logged = len(self._uncommitted)
                conn.execute("SAVEPOINT nested")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK TO nested")
                        conn.execute("RELEASE nested")
                    del self._uncommitted[logged:]
                    raise
                conn.execute("RELEASE nested")
                return
            freed = self._mind_the_space()
            lazy = not durable and freed is None
            if lazy:
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            began = time.monotonic()
            deferred = [] if lazy else self._take_deferred()
            try:
                for _, args in deferred:  # first: they happened before this transaction began
                    self._append(conn, *args)
                if freed is not None:  # logged with the very change that needed the room
                    self._append(conn, datetime.now(timezone.utc), "disk_full", None, freed)
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                # SQLite rolls back by itself on some errors (a full disk at COMMIT among them)
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._uncommitted.clear()
                self._give_back_deferred(deferred)
                if isinstance(exc, sqlite3.OperationalError) and \
                        exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                    raise StoreError(f"the disk holding {self.path} is full") from exc
                raise
            finally:
                if lazy:
                    conn.execute("PRAGMA synchronous=FULL")
            held = time.monotonic() - began
            committed, self._uncommitted = self._uncommitted, []
            if self._checkpointer is not None:
                self._checkpointer.committed()
            for observer in self._commit_observers:
                observer(not lazy, held)
        for event in committed:
            for listener in self._listeners:
                listener(event)

    # ---- the space reserve -----------------------------------------------------------------

    def _free_bytes(self) -> int:
        stats = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        return stats.f_bavail * stats.f_frsize

    def _keep_reserve(self) -> bool:
        """Make the reserve file unless it is there; False when the disk has no room for it."""
        if self.reserve_path is None:
            return False
        if os.path.exists(self.reserve_path):
            return True
        if self._free_bytes() < RESERVE_BYTES + 2 * LOW_SPACE_BYTES:
            return False
        temporary = self.reserve_path + ".tmp"
        try:
            with open(temporary, "wb") as reserve:
                chunk = bytes(1024 * 1024)  # written, not sparse: the blocks must be taken
                for _ in range(RESERVE_BYTES // len(chunk)):
                    reserve.write(chunk)
                reserve.flush()
                os.fsync(reserve.fileno())
            os.replace(temporary, self.reserve_path)
        except OSError:
            if os.path.exists(temporary):
                os.unlink(temporary)
            return False
        return True

    def _mind_the_space(self) -> dict | None:
        """Give up the reserve when the disk is (nearly) full; what was freed, or None."""
        if not self.reserve_held:
            return None
        free = self._free_bytes()
        if free >= LOW_SPACE_BYTES:
            return None
        os.unlink(self.reserve_path)
        self.reserve_held = False
        return {"free_kib": free // 1024, "reserve_kib": RESERVE_BYTES // 1024}

    # ---- event log -------------------------------------------------------------------------

    def _append(self, conn: sqlite3.Connection, now: datetime, kind: str,
                incident_id: int | None, data: dict) -> int:
        at = utc_iso(now)
        cur = conn.execute(
            "INSERT INTO events (at, kind, incident_id, data) VALUES (?, ?, ?, ?)",
            (at, kind, incident_id, json.dumps(data, ensure_ascii=False)),
        )
        if self._listeners:
            self._uncommitted.append(Event(cur.lastrowid, at, kind, incident_id, data))
        return cur.lastrowid

    def defer_event(self, now: datetime, kind: str, incident_id: int | None = None,
                    **data: object) -> None:
        """Log an event with the next durable commit of any thread instead of a commit of its
        own: for a fact that must not cost the alarm path a wait for the disk (the call
        rejected, the siren switched on) and whose loss to a power cut harms nothing (a call
        never logged as rejected is rejected again when it rings on after the restart). It
        takes its ``seq`` when written, so the log stays gap-free and in commit order. The
        event loop writes what waited long (``flush_deferred``), and ``close`` writes the
        rest."""
        with self._deferred_lock:
            self._deferred.append((time.monotonic(), (now, kind, incident_id, data)))

    def flush_deferred(self, older_than: float = 0.0) -> bool:
        """Write the deferred events in a durable commit of their own if the oldest has
        waited ``older_than`` seconds (no durable commit came meanwhile). True if it wrote."""
        with self._deferred_lock:
            if not self._deferred or time.monotonic() - self._deferred[0][0] < older_than:
                return False
        with self.transaction():
            pass  # the transaction writes them first
        return True

    def deferred_since(self) -> float | None:
        """Monotonic time the oldest deferred event was deferred, None when none waits: the
        event loop sleeps no longer than until it is due for ``flush_deferred``."""
        with self._deferred_lock:
            return self._deferred[0][0] if self._deferred else None

    def _take_deferred(self) -> list[tuple[float, tuple]]:
        with self._deferred_lock:
            taken, self._deferred = self._deferred, []
        return taken

    def _give_back_deferred(self, taken: list[tuple[float, tuple]]) -> None:
        """The transaction that was to write them rolled back: they wait for the next one."""
        if taken:
            with self._deferred_lock:
                self._deferred[:0] = taken

    def read(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of one read outside any transaction: it takes no write lock, so another
        process (the web panel, the CLI) can write meanwhile (retention picks its chunks so)."""
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def append_event(self, now: datetime, kind: str, incident_id: int | None = None,
                     **data: object) -> int:
        with self.transaction() as conn:
            return self._append(conn, now, kind, incident_id, data)

    def last_event_seq(self) -> int:
        """The newest event's sequence number (0 for none): where a reader in another
        process starts following the log."""
        with self._lock:
            row = next(iter(self.db.query("SELECT COALESCE(max(seq), 0) AS seq FROM events")))
        return row["seq"]

    def events_after(self, seq: int = 0, limit: int = 1000) -> list[Event]:
        """The next ``limit`` events after ``seq``, oldest first."""
        with self._lock:
            rows = list(self.db.query(
                "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", [seq, limit]))
        return [Event.of_row(row) for row in rows]

    def events_of_kinds(self, kinds: list[str]) -> list[Event]:
        """Every event of these kinds, oldest first."""
        marks = ",".join("?" * len(kinds))
        with self._lock:
            rows = list(self.db.query(
                f"SELECT * FROM events WHERE kind IN ({marks}) ORDER BY seq", list(kinds)))
        return [Event.of_row(row) for row in rows]

    def unknown_caller_notices(self, since: datetime) -> list[tuple[str, str]]:
        """(number, notice) of the unregistered callers logged since ``since``, oldest first:
        what the office was told of each ("forward", "flood" or "quiet"; calls logged before
        there was a limit were all forwarded)."""
        with self._lock:
            return [tuple(row) for row in self.db.execute(
                "SELECT json_extract(data, '$.number'),"
                " coalesce(json_extract(data, '$.notice'), 'forward') FROM events"
                " WHERE kind = 'unknown_caller' AND at >= ? ORDER BY seq", [utc_iso(since)])]

    # ---- the wall clock stepping -----------------------------------------------------------

    def shift_timers(self, now: datetime, seconds: float) -> None:
        """The wall clock stepped by ``seconds``: move what the alarm timers count from with
        it (open incidents' opening and acknowledgements, pending deliveries' back-off), so
        their ages stay real time. Past events keep the times they were logged at."""
        step = timedelta(seconds=seconds)

        def moved(text: str | None) -> str | None:
            return utc_iso(parse_utc(text) + step) if text else text
        with self.transaction() as conn:
            incidents = conn.execute("SELECT id, opened_at, acked_at FROM incidents"
                                     " WHERE state = 'open'").fetchall()
            for incident_id, opened_at, acked_at in incidents:
                conn.execute("UPDATE incidents SET opened_at = ?, acked_at = ? WHERE id = ?",
                             (moved(opened_at), moved(acked_at), incident_id))
                conn.executemany("UPDATE acks SET at = ? WHERE id = ?", [
                    (moved(at), ack_id) for ack_id, at in conn.execute(
                        "SELECT id, at FROM acks WHERE incident_id = ?", (incident_id,))])
            waiting = conn.execute("SELECT id, not_before FROM deliveries WHERE state = 'pending'"
                                   " AND not_before IS NOT NULL").fetchall()
            conn.executemany("UPDATE deliveries SET not_before = ? WHERE id = ?",
                             [(moved(not_before), delivery_id)
                              for delivery_id, not_before in waiting])
            self._append(conn, now, "clock_jumped", None, {
                "seconds": round(seconds, 1), "incidents": [i[0] for i in incidents],
                "retries": len(waiting)})

    # ---- figures ---------------------------------------------------------------------------

    def summary(self) -> StoreCounts:
        """Counts a person (and the demo's JSON line) can read at a glance."""
        with self._lock:
            one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
            return StoreCounts(
                incidents=one("SELECT count(*) FROM incidents"),
                sms_sent=one("SELECT count(*) FROM deliveries WHERE kind='sms' AND state='sent'"),
                calls_placed=one(
                    "SELECT count(*) FROM deliveries WHERE kind='call' AND state='sent'"),
                acks=one("SELECT count(*) FROM acks"),
                failures=one("SELECT count(*) FROM deliveries WHERE state='failed'"),
                pending=one(
                    "SELECT count(*) FROM deliveries WHERE state IN ('pending','sending')"),
                cancelled=one("SELECT count(*) FROM deliveries WHERE state='cancelled'"),
                events=one("SELECT count(*) FROM events"),
            )
