"""WalCheckpointer: moves the write-ahead log into the database file while the box is idle.

SQLite's own automatic checkpoint runs inside the commit that crosses 1000 WAL pages, on
whichever thread commits: now and then an alarm's commit would also copy the log into the
database and wait for the disk twice more (tens of milliseconds each on an SD card). The store
turns it off (``wal_autocheckpoint=0``) and this thread checkpoints instead, on a connection
of its own, once no commit has come for ``idle_seconds``. A PASSIVE checkpoint takes no lock a
writer needs, so an alarm arriving meanwhile commits at once.

After a checkpoint has copied the whole log, the next write starts the WAL file over, and a
commit that does so with synchronous=FULL waits for the disk twice (the new header first, then
its frames: measured with the benchmarks' fsync shim). So this thread makes that first write
itself, one row in ``wal_restarts``, with synchronous=NORMAL: the header then reaches the disk
with the next durable commit's own sync, which covers the whole file before that commit is
acknowledged, and the alarm's commit waits for the disk once.

The WAL is still bounded: past ``limit_bytes`` the checkpoint runs without waiting for a quiet
moment (a busy box that is never idle for long), and the writer's ``journal_size_limit`` shrinks
the file back once a checkpoint has caught up.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from datetime import datetime, timezone

from edgebox.store.times import utc_iso

log = logging.getLogger(__name__)

# Quiet this long before a checkpoint: an alarm rarely comes alone (its fan-out commits each
# SMS a few seconds apart, reports and call-backs follow, a second household calls), and an SD
# card serves one flush at a time, so an alarm that meets a checkpoint waits for its two
# flushes as well. After 1 s of quiet a checkpoint ran in nearly every gap of a fan-out; after
# 10 s none does, and the WAL's bound (LIMIT_BYTES) still holds on a box that is never quiet.
IDLE_SECONDS = 10.0
LIMIT_BYTES = 8 * 1024 * 1024
KEEP_BYTES = 4 * 1024 * 1024  # what is left of the WAL file when it starts over


class WalCheckpointer:
    def __init__(self, path: str, idle_seconds: float = IDLE_SECONDS,
                 limit_bytes: int = LIMIT_BYTES, keep_bytes: int = KEEP_BYTES):
        self._wal = path + "-wal"
        self._idle = idle_seconds
        self._limit = limit_bytes
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                     timeout=10)
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._conn.execute("PRAGMA synchronous=FULL")  # checkpoints sync as the store's do
        self._conn.execute(f"PRAGMA journal_size_limit={keep_bytes}")
        self._conn.execute("PRAGMA busy_timeout=200")  # the store is writing: it restarts it
        self._cond = threading.Condition()
        self._last_commit = time.monotonic()
        self._dirty = False
        self._not_before = 0.0  # after a checkpoint a reader held back: not before then
        self._closed = False
        self.checkpoints = 0  # how many ran (the tests' and the benchmarks' seam)
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A commit wrote to the WAL (called by the store after each commit)."""
        with self._cond:
            self._last_commit = time.monotonic()
            self._dirty = True
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=30)
        self._conn.close()

    def _wal_bytes(self) -> int:
        try:
            return os.path.getsize(self._wal)
        except OSError:
            return 0

    def _due(self) -> float | None:
        """0 when a checkpoint is due now, else how long to wait (None: until a commit)."""
        if not self._dirty:
            return None
        now = time.monotonic()
        if now < self._not_before:
            return self._not_before - now
        quiet = now - self._last_commit
        if quiet >= self._idle or self._wal_bytes() > self._limit:
            return 0.0
        return self._idle - quiet

    def _run(self) -> None:
        # Asleep while nothing is written: an idle box gets no wake-ups from this thread.
        while True:
            with self._cond:
                while not self._closed and (wait := self._due()) != 0.0:
                    self._cond.wait(wait)
                if self._closed:
                    return
                self._dirty = False
            try:
                busy, frames, done = self._conn.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
                if busy or done < frames:  # a reader holds old pages: try again later
                    with self._cond:
                        self._dirty = True
                        self._not_before = time.monotonic() + self._idle
                    continue
            except sqlite3.Error:  # the next commit brings the next try
                log.exception("checkpointing the database log failed")
                continue
            self._restart_wal()

    def _restart_wal(self) -> None:
        """The first write after a complete checkpoint, lazily (see the module's notes)."""
        self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            self._conn.execute("INSERT OR REPLACE INTO wal_restarts (id, at) VALUES (1, ?)",
                               (utc_iso(datetime.now(timezone.utc)),))
        except sqlite3.OperationalError as exc:  # the store is writing: its write restarts it
            log.debug("WAL not restarted here: %s", exc)
        finally:
            self._conn.execute("PRAGMA synchronous=FULL")
