"""SqliteStore: the one place edgebox reads and writes its database (SQLite via sqlite-utils).

Multi-step changes run in one explicit ``BEGIN IMMEDIATE`` transaction so an alarm is never half
recorded. A single connection serialised by a lock serves all threads of the daemon; WAL lets the
CLI read (``roster show``, the demo's timeline) while the daemon writes.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlite_utils

from edgebox.domain.alarm import Incident, PlannedDelivery
from edgebox.domain.roster import Group, Household, Roster
from edgebox.errors import StoreError
from edgebox.store.schema import migrate


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


class SqliteStore:
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

    # ---- roster ----------------------------------------------------------------------------

    def replace_roster(self, roster: Roster, now: datetime, source: str = "") -> None:
        """Swap the whole roster in one transaction: an import is all or nothing."""
        roster.validated()
        with self.transaction() as conn:
            conn.execute("DELETE FROM group_members")
            conn.execute("DELETE FROM village_groups")
            conn.execute("DELETE FROM households")
            conn.executemany(
                "INSERT INTO households VALUES (?, ?, ?, ?, ?, ?)",
                [(h.id, h.name, h.address, json.dumps(list(h.phones)),
                  json.dumps(sorted(h.flags)), pos) for pos, h in enumerate(roster.households)],
            )
            conn.executemany(
                "INSERT INTO village_groups VALUES (?, ?, ?, ?)",
                [(g.id, g.name, g.leader_id, pos) for pos, g in enumerate(roster.groups)],
            )
            conn.executemany(
                "INSERT INTO group_members VALUES (?, ?, ?)",
                [(g.id, hid, pos) for g in roster.groups for pos, hid in enumerate(g.member_ids)],
            )
            self._append(conn, now, "roster_replaced", None, {
                "households": len(roster.households), "groups": len(roster.groups),
                "source": source})

    def load_roster(self) -> Roster:
        with self._lock:
            households = tuple(
                Household(r["id"], r["name"], r["address"], tuple(json.loads(r["phones"])),
                          frozenset(json.loads(r["flags"])))
                for r in self.db.query("SELECT * FROM households ORDER BY position")
            )
            members: dict[str, list[str]] = {}
            for r in self.db.query("SELECT * FROM group_members ORDER BY group_id, position"):
                members.setdefault(r["group_id"], []).append(r["household_id"])
            groups = tuple(
                Group(r["id"], r["name"], r["leader_id"], tuple(members.get(r["id"], ())))
                for r in self.db.query("SELECT * FROM village_groups ORDER BY position")
            )
        return Roster(households, groups)

    # ---- incidents -------------------------------------------------------------------------

    @staticmethod
    def _incident(row: dict) -> Incident:
        return Incident(row["id"], row["group_id"], row["caller_household_id"],
                        row["caller_phone"], parse_utc(row["opened_at"]), row["state"],
                        row["alarm_type"], row["text"], row["escalation_step"],
                        parse_utc(row["acked_at"]) if row["acked_at"] else None,
                        bool(row["drill"]), tuple(json.loads(row["co_callers"])))

    def open_incident(self, now: datetime, group_id: str, household_id: str, phone: str,
                      kind: str = "call", alarm_type: str = "call", text: str | None = None,
                      drill: bool = False) -> Incident:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO incidents (group_id, caller_household_id, caller_phone, kind, state,"
                " opened_at, alarm_type, text, drill) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)",
                (group_id, household_id, phone, kind, utc_iso(now), alarm_type, text, int(drill)),
            )
            incident_id = cur.lastrowid
            self._append(conn, now, "incident_opened", incident_id, {
                "group": group_id, "household": household_id, "phone": phone, "kind": kind,
                "alarm_type": alarm_type, **({"text": text[:500]} if text else {}),
                **({"drill": True} if drill else {})})
        return self.incident(incident_id)

    def incident(self, incident_id: int) -> Incident | None:
        with self._lock:
            rows = list(self.db.query("SELECT * FROM incidents WHERE id = ?", [incident_id]))
        return self._incident(rows[0]) if rows else None

    def update_incident(self, now: datetime, incident_id: int, event: str,
                        **changes: object) -> None:
        """Change some of an incident's columns and log why, in one transaction."""
        columns = {"alarm_type", "text", "escalation_step", "co_callers"}
        assert set(changes) <= columns, set(changes) - columns
        values = {k: json.dumps(v) if k == "co_callers" else v for k, v in changes.items()}
        with self.transaction() as conn:
            if values:
                assignments = ", ".join(f"{k} = ?" for k in values)
                conn.execute(f"UPDATE incidents SET {assignments} WHERE id = ?",
                             (*values.values(), incident_id))
            self._append(conn, now, event, incident_id, {
                k: v for k, v in changes.items() if k != "text" or v is None or len(v) < 500})

    def incidents_notifying(self, household_id: str) -> list[Incident]:
        """Open incidents in which this household was sent something (it may acknowledge)."""
        with self._lock:
            rows = list(self.db.query(
                "SELECT * FROM incidents WHERE state = 'open' AND id IN (SELECT incident_id FROM"
                " deliveries WHERE household_id = ? AND purpose IN ('alarm', 'ring'))"
                " ORDER BY id", [household_id]))
        return [self._incident(r) for r in rows]

    def incidents(self, state: str | None = None) -> list[Incident]:
        sql, args = "SELECT * FROM incidents", []
        if state:
            sql, args = sql + " WHERE state = ?", [state]
        with self._lock:
            return [self._incident(r) for r in self.db.query(sql + " ORDER BY id", args)]

    def unplanned_incidents(self) -> list[Incident]:
        with self._lock:
            return [self._incident(r) for r in self.db.query(
                "SELECT * FROM incidents WHERE planned = 0 ORDER BY id")]

    def close_incident(self, now: datetime, incident_id: int, reason: str,
                       by: str | None = None) -> int:
        """Close an open incident and cancel what it still had to send; the number of
        deliveries cancelled. Closing a closed incident changes nothing (returns -1)."""
        with self.transaction() as conn:
            closed = conn.execute(
                "UPDATE incidents SET state = 'closed', closed_at = ?, closed_reason = ?"
                " WHERE id = ? AND state = 'open'", (utc_iso(now), reason, incident_id)).rowcount
            if not closed:
                return -1
            cancelled = conn.execute(
                "UPDATE deliveries SET state = 'cancelled', updated_at = ? WHERE incident_id = ?"
                " AND state = 'pending'", (utc_iso(now), incident_id)).rowcount
            self._append(conn, now, "incident_closed", incident_id,
                         {"reason": reason, "cancelled": cancelled, **({"by": by} if by else {})})
        return cancelled

    # ---- the outbox ------------------------------------------------------------------------

    def add_deliveries(self, now: datetime, incident_id: int | None,
                       plan: list[PlannedDelivery]) -> list[int]:
        """Persist a plan (and mark the incident planned) in one transaction."""
        stamp = utc_iso(now)
        ids = []
        with self.transaction() as conn:
            for d in plan:
                cur = conn.execute(
                    "INSERT INTO deliveries (incident_id, kind, phone, household_id, purpose, text,"
                    " priority, state, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                    (incident_id, d.kind, d.phone, d.household_id, d.purpose, d.text, d.priority,
                     stamp, stamp),
                )
                ids.append(cur.lastrowid)
            if incident_id is not None:
                conn.execute("UPDATE incidents SET planned = 1 WHERE id = ?", (incident_id,))
            self._append(conn, now, "deliveries_planned", incident_id, {
                "sms": sum(d.kind == "sms" for d in plan),
                "calls": sum(d.kind == "call" for d in plan),
                "purposes": sorted({d.purpose for d in plan})})
        return ids

    def claim_next_delivery(self, now: datetime, kinds: tuple[str, ...] = ("sms", "call"),
                            modem: str | None = None) -> dict | None:
        """Take the most urgent pending delivery whose back-off has passed; mark it sending
        (and by which modem, so every delivery records who carried it)."""
        marks = ",".join("?" * len(kinds))
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT id FROM deliveries WHERE state = 'pending' AND kind IN ({marks})"
                " AND (not_before IS NULL OR not_before <= ?) ORDER BY priority, id LIMIT 1",
                (*kinds, utc_iso(now)),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?,"
                " modem = ? WHERE id = ?", (utc_iso(now), modem, row[0]))
        return self.delivery(row[0])

    def delivery(self, delivery_id: int) -> dict:
        with self._lock:
            return self.db["deliveries"].get(delivery_id)

    def deliveries(self, incident_id: int | None = None) -> list[dict]:
        with self._lock:
            if incident_id is None:
                return list(self.db.query("SELECT * FROM deliveries ORDER BY id"))
            return list(self.db.query(
                "SELECT * FROM deliveries WHERE incident_id = ? ORDER BY id", [incident_id]))

    def finish_delivery(self, now: datetime, delivery_id: int, state: str,
                        event: str, error: str | None = None, modem_ref: str | None = None,
                        **data: object) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET state = ?, last_error = ?, modem_ref = ?, updated_at = ?"
                " WHERE id = ?", (state, error, modem_ref, utc_iso(now), delivery_id))
            row = conn.execute("SELECT incident_id, kind, phone, household_id, purpose, attempts,"
                               " modem FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if state == "sent" and row[1] == "sms" and modem_ref:
                conn.executemany(
                    "INSERT INTO sms_parts (delivery_id, modem, reference, part, submitted_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(delivery_id, row[6], int(ref), part, utc_iso(now))
                     for part, ref in enumerate(modem_ref.split(","), start=1)])
            self._append(conn, now, event, row[0], {
                "delivery": delivery_id, "kind": row[1], "phone": row[2], "household": row[3],
                "purpose": row[4], "attempt": row[5], "modem": row[6],
                **({"error": error} if error else {}), **data})

    def retry_delivery(self, now: datetime, delivery_id: int, error: str,
                       not_before: datetime, count_attempt: bool = True) -> None:
        """Back to pending after ``not_before``. ``count_attempt=False`` when the modem failed,
        not the number: the try does not count against the delivery's attempts."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET state = 'pending', last_error = ?, not_before = ?,"
                " updated_at = ?, attempts = attempts - ? WHERE id = ?",
                (error, utc_iso(not_before), utc_iso(now), 0 if count_attempt else 1,
                 delivery_id))
            incident_id = conn.execute("SELECT incident_id FROM deliveries WHERE id = ?",
                                       (delivery_id,)).fetchone()[0]
            self._append(conn, now, "delivery_retry", incident_id, {
                "delivery": delivery_id, "error": error, "not_before": utc_iso(not_before)})

    def requeue_interrupted(self, now: datetime) -> int:
        """After a crash: anything left 'sending' may or may not have left the modem. Send it
        again: one possible duplicate is better than one silently skipped neighbour."""
        with self.transaction() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM deliveries WHERE state = 'sending'").fetchall()]
            if ids:
                conn.execute("UPDATE deliveries SET state = 'pending', updated_at = ?"
                             " WHERE state = 'sending'", (utc_iso(now),))
                self._append(conn, now, "deliveries_requeued", None, {"deliveries": ids})
        return len(ids)

    def pending_count(self) -> int:
        with self._lock:
            return self.db.execute(
                "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
            ).fetchone()[0]

    def record_delivery_report(self, now: datetime, modem: str, reference: int,
                               delivered: bool) -> int | None:
        """Match a report to the newest unreported part this modem sent with that reference
        (references wrap at 256, so the newest is the one the network means). When every part
        of a delivery has its final report, the delivery's report is set. Returns the delivery
        id, None when no part matches (a stray or very late report)."""
        with self.transaction() as conn:
            part = conn.execute(
                "SELECT id, delivery_id FROM sms_parts WHERE modem = ? AND reference = ? AND"
                " status IS NULL ORDER BY id DESC LIMIT 1", (modem, reference)).fetchone()
            if part is None:
                self._append(conn, now, "delivery_report_unmatched", None,
                             {"modem": modem, "reference": reference, "delivered": delivered})
                return None
            status = "delivered" if delivered else "failed"
            conn.execute("UPDATE sms_parts SET status = ?, reported_at = ? WHERE id = ?",
                         (status, utc_iso(now), part[0]))
            statuses = [r[0] for r in conn.execute(
                "SELECT status FROM sms_parts WHERE delivery_id = ?", (part[1],))]
            report = None
            if None not in statuses:
                report = "delivered" if set(statuses) == {"delivered"} else "failed"
                conn.execute("UPDATE deliveries SET report = ?, updated_at = ? WHERE id = ?",
                             (report, utc_iso(now), part[1]))
            row = conn.execute("SELECT incident_id, phone, household_id FROM deliveries"
                               " WHERE id = ?", (part[1],)).fetchone()
            self._append(conn, now, "delivery_report", row[0], {
                "delivery": part[1], "phone": row[1], "household": row[2], "modem": modem,
                "reference": reference, "status": status, "complete": report is not None})
        return part[1]

    def sms_parts(self, delivery_id: int) -> list[dict]:
        with self._lock:
            return list(self.db.query("SELECT * FROM sms_parts WHERE delivery_id = ? ORDER BY"
                                      " part", [delivery_id]))

    # ---- modem health ----------------------------------------------------------------------

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

    # ---- acknowledgements ------------------------------------------------------------------

    def sent_to(self, incident_id: int) -> list[dict]:
        """Every delivery of the incident that went out (who has heard of it)."""
        with self._lock:
            return list(self.db.query(
                "SELECT * FROM deliveries WHERE incident_id = ? AND state = 'sent' ORDER BY id",
                [incident_id]))

    def reword_pending(self, now: datetime, incident_id: int, purpose: str, text: str) -> int:
        """Give the not-yet-sent deliveries of one purpose new words (a combined notice)."""
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE deliveries SET text = ?, updated_at = ? WHERE incident_id = ? AND"
                " purpose = ? AND state = 'pending'",
                (text, utc_iso(now), incident_id, purpose)).rowcount

    def hurry_ring(self, now: datetime, incident_id: int, household_id: str, phone: str,
                   text: str, priority: int) -> None:
        """Ring this member soon: move a pending ring up, or plan one (an SMS failed)."""
        with self.transaction() as conn:
            moved = conn.execute(
                "UPDATE deliveries SET priority = ?, updated_at = ? WHERE incident_id = ? AND"
                " household_id = ? AND kind = 'call' AND state = 'pending'",
                (priority, utc_iso(now), incident_id, household_id)).rowcount
            if not moved:
                conn.execute(
                    "INSERT INTO deliveries (incident_id, kind, phone, household_id, purpose,"
                    " text, priority, state, created_at, updated_at)"
                    " VALUES (?, 'call', ?, ?, 'ring', ?, ?, 'pending', ?, ?)",
                    (incident_id, phone, household_id, text, priority, utc_iso(now),
                     utc_iso(now)))
            self._append(conn, now, "ring_instead", incident_id,
                         {"household": household_id, "phone": phone})

    def add_broadcast(self, now: datetime, sender: str, group_id: str | None, text: str,
                      plan: list[PlannedDelivery], households: int) -> int:
        with self.transaction() as conn:
            broadcast_id = conn.execute(
                "INSERT INTO broadcasts (sender, group_id, text, households, messages, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (sender, group_id, text, households, len(plan), utc_iso(now))).lastrowid
            stamp = utc_iso(now)
            conn.executemany(
                "INSERT INTO deliveries (kind, phone, household_id, purpose, text, priority,"
                " state, created_at, updated_at, broadcast_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                [(d.kind, d.phone, d.household_id, d.purpose, d.text, d.priority, stamp, stamp,
                  broadcast_id) for d in plan])
            self._append(conn, now, "broadcast_planned", None, {
                "broadcast": broadcast_id, "sender": sender, "group": group_id,
                "households": households, "messages": len(plan), "text": text[:200]})
        return broadcast_id

    def broadcast_progress(self, now: datetime) -> None:
        """Log each broadcast's progress once per quarter done."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT b.id, b.messages, b.reported, (SELECT count(*) FROM deliveries d WHERE"
                " d.broadcast_id = b.id AND d.state IN ('sent', 'failed')) FROM broadcasts b"
                " WHERE b.reported < 4").fetchall()
            for broadcast_id, messages, reported, done in rows:
                quarters = 4 if done >= messages else (4 * done) // max(messages, 1)
                if quarters > reported:
                    conn.execute("UPDATE broadcasts SET reported = ? WHERE id = ?",
                                 (quarters, broadcast_id))
                    self._append(conn, now, "broadcast_progress", None, {
                        "broadcast": broadcast_id, "done": done, "messages": messages})

    def record_ack(self, now: datetime, incident_id: int, household_id: str, phone: str,
                   channel: str) -> bool:
        """Record an acknowledgement and cancel the member's remaining ring calls.
        False when this household had already acknowledged (nothing changes)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO acks (incident_id, household_id, phone, channel, at)"
                " VALUES (?, ?, ?, ?, ?)", (incident_id, household_id, phone, channel,
                                            utc_iso(now)))
            if cur.rowcount == 0:
                return False
            # The first acknowledgement stops the escalation ladder where it is.
            conn.execute("UPDATE incidents SET acked_at = ? WHERE id = ? AND acked_at IS NULL",
                         (utc_iso(now), incident_id))
            cancelled = conn.execute(
                "UPDATE deliveries SET state = 'cancelled', updated_at = ? WHERE incident_id = ?"
                " AND ((household_id = ? AND kind = 'call') OR purpose LIKE 'escalation%')"
                " AND state = 'pending'", (utc_iso(now), incident_id, household_id)).rowcount
            self._append(conn, now, "ack_received", incident_id, {
                "household": household_id, "phone": phone, "channel": channel,
                "calls_cancelled": cancelled})
        return True

    def acks(self, incident_id: int) -> list[dict]:
        with self._lock:
            return list(self.db.query(
                "SELECT * FROM acks WHERE incident_id = ? ORDER BY id", [incident_id]))

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
