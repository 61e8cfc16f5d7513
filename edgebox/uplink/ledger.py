"""The uplink's notes in the box's own database (table ``uplink_state``): the cursor and friends.

The cursor is the last sequence number the hub acknowledged; only an acknowledgement moves it.
The log id (written by the store's migration when the database is created) names this database's
log at the hub, so a replaced database's log, restarting at seq 1, is kept apart from the old one.
Every read and write here is one short transaction: the uploader never holds the store's lock
while it talks to the network, so an alarm arriving mid-upload is recorded at once.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime

from edgebox.store.times import parse_utc, utc_iso

ACKED = "acked_seq"
LAST_SUCCESS = "last_success_at"
LAST_ATTEMPT = "last_attempt_at"
LAST_ERROR = "last_error"
SINCE = "watching_since"
SUMMARY_SENT_ON = "summary_sent_on"
DISK_WARNED_ON = "disk_warned_on"
LOG_ID = "log_id"


class UplinkLedger:
    def __init__(self, store):
        self.store = store

    # ---- plain notes -------------------------------------------------------------------------

    def get(self, name: str, default: str | None = None) -> str | None:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT value FROM uplink_state WHERE name = ?",
                               (name,)).fetchone()
        return row[0] if row else default

    def put(self, name: str, value: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO uplink_state (name, value) VALUES (?, ?) ON CONFLICT(name)"
                         " DO UPDATE SET value = excluded.value", (name, value))

    def get_time(self, name: str) -> datetime | None:
        value = self.get(name)
        return parse_utc(value) if value else None

    def put_time(self, name: str, moment: datetime) -> None:
        self.put(name, utc_iso(moment))

    def start_watching(self, now: datetime) -> datetime:
        """When this box first ran an uploader: 'no upload for a day' counts from here until
        the first upload succeeds, so a new box does not text the township at once."""
        since = self.get_time(SINCE)
        if since is None:
            self.put_time(SINCE, now)
            since = now
        return since

    # ---- the log's identity and the cursor ----------------------------------------------------

    def log_id(self) -> str:
        """This database's log id. Made anew only when the notes were cleared by hand (to send
        the whole log again): the hub then keeps what follows as a log of its own."""
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO uplink_state (name, value) VALUES (?, ?)"
                         " ON CONFLICT(name) DO NOTHING", (LOG_ID, secrets.token_hex(16)))
            return conn.execute("SELECT value FROM uplink_state WHERE name = ?",
                                (LOG_ID,)).fetchone()[0]

    def acked_seq(self) -> int:
        return int(self.get(ACKED, "0"))

    def set_acked(self, seq: int) -> None:
        self.put(ACKED, str(int(seq)))

    def batch_after(self, seq: int, limit: int) -> list[dict]:
        """The next ``limit`` events after ``seq``, oldest first (one short read), as the
        batch carries them."""
        return [event.as_dict() for event in self.store.events_after(seq, limit)]

    def last_seq(self) -> int:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT max(seq) FROM events").fetchone()
        return row[0] or 0

    def backlog(self, after: int) -> int:
        with self.store.transaction() as conn:
            return conn.execute("SELECT count(*) FROM events WHERE seq > ?",
                                (after,)).fetchone()[0]

    def status(self) -> dict:
        """What ``edgebox upload status`` prints."""
        acked = self.acked_seq()
        return {"log_id": self.log_id(), "acked_seq": acked, "last_seq": self.last_seq(),
                "backlog": self.backlog(acked), "last_success_at": self.get(LAST_SUCCESS),
                "last_attempt_at": self.get(LAST_ATTEMPT), "last_error": self.get(LAST_ERROR)}

    def health_snapshot(self) -> list[dict]:
        """The newest health reading of every modem, trimmed for the wire."""
        keep = ("modem", "at", "signal", "registration", "technology", "sim", "operator",
                "balance", "error")
        return [{k: getattr(reading, k) for k in keep if getattr(reading, k) is not None}
                for reading in self.store.health.latest()]

    @staticmethod
    def dumps(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)
