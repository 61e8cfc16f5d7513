"""The delivery outbox: every SMS and call the box means to make, claimed by the modem workers
in priority order, retried, reported on; broadcasts are deliveries too.

The store's ``outbox``. A decision of another table that sends something (an incident opened,
an acknowledgement relayed) writes its rows here with ``insert_plan``, inside its own
transaction."""
from __future__ import annotations

from datetime import datetime

from edgebox.domain.alarm import Delivery, PlannedDelivery
from edgebox.store.delivery_reports import DeliveryReports
from edgebox.store.outbox_rows import DeliveryRow, SmsPart
from edgebox.store.table_core import TableCore, rows_as_dicts
from edgebox.store.times import parse_utc, utc_iso


class Outbox:
    """Tables ``deliveries``, ``sms_parts`` (as a sent SMS's parts are recorded) and
    ``broadcasts``. ``reports``: a sent SMS's parts are matched with the delivery reports held
    for them in the transaction recording them."""

    def __init__(self, core: TableCore, reports: DeliveryReports):
        self._db, self._lock, self._transaction, self._log, self._read = \
            core.db, core.lock, core.transaction, core.log, core.read
        self._reports = reports

    def add(self, now: datetime, incident_id: int | None,
            plan: list[PlannedDelivery]) -> list[int]:
        """Persist a plan (and mark the incident planned) in one transaction."""
        with self._transaction() as conn:
            return self.insert_plan(conn, now, incident_id, plan)

    def plan_with_event(self, now: datetime, incident_id: int | None, event: str,
                        data: dict, plan: list[PlannedDelivery]) -> None:
        """Log a decision (``event`` with ``data``) and plan what it sends, in one transaction:
        a crash cannot leave it logged as made (and so never made again) with its messages
        never sent."""
        with self._transaction() as conn:
            self._log(conn, now, event, incident_id, data)
            if plan:
                self.insert_plan(conn, now, incident_id, plan)

    def insert_plan(self, conn, now: datetime, incident_id: int | None,
                    plan: list[PlannedDelivery]) -> list[int]:
        """``add`` inside a transaction the caller holds (a decision and what it sends commit
        together)."""
        stamp = utc_iso(now)
        ids = []
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
        self._log(conn, now, "deliveries_planned", incident_id, {
            "sms": sum(d.kind == "sms" for d in plan),
            "calls": sum(d.kind == "call" for d in plan),
            "purposes": sorted({d.purpose for d in plan})})
        return ids

    def claim_next(self, now: datetime, kinds: tuple[str, ...] = ("sms", "call"),
                   modem: str | None = None) -> DeliveryRow | None:
        """Take the most urgent pending delivery whose back-off has passed; mark it sending
        (and by which modem, so every delivery records who carried it).

        The claim's commit does not wait for the disk: a claim a power cut takes back leaves
        the delivery pending, and pending is sent just like 'sending' is after a crash. Between
        two submits of a fan-out that is one disk wait less with the modem idle."""
        marks = ",".join("?" * len(kinds))
        with self._transaction(durable=False) as conn:
            row = conn.execute(
                f"SELECT id FROM deliveries WHERE state = 'pending' AND kind IN ({marks})"
                " AND (not_before IS NULL OR not_before <= ?) ORDER BY priority, id LIMIT 1",
                (*kinds, utc_iso(now)),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE deliveries SET state = 'sending', attempts = attempts + 1,"
                " updated_at = ?, modem = ? WHERE id = ?", (utc_iso(now), modem, row[0]))
            # Read back in the same transaction: the row as claimed, without a second lock round.
            [claimed] = rows_as_dicts(conn, "SELECT * FROM deliveries WHERE id = ?", row[0])
        return DeliveryRow.from_row(claimed)

    def next_due(self, kinds: tuple[str, ...] = ("sms", "call")) -> datetime | None:
        """When the earliest pending delivery of these kinds may be claimed (its back-off's
        end, or when it was planned), None when nothing is pending. One read of the queue's
        index and no write lock: an idle modem worker asks it instead of an empty claim."""
        marks = ",".join("?" * len(kinds))
        with self._lock:
            row = self._db.execute(
                f"SELECT min(coalesce(not_before, created_at)) FROM deliveries WHERE"
                f" state = 'pending' AND kind IN ({marks})", kinds).fetchone()
        return parse_utc(row[0]) if row[0] else None

    def get(self, delivery_id: int) -> DeliveryRow:
        with self._lock:
            return DeliveryRow.from_row(self._db["deliveries"].get(delivery_id))

    @staticmethod
    def _delivery(row: dict) -> Delivery:
        return Delivery(row["id"], row["incident_id"], row["kind"], row["phone"],
                        row["household_id"], row["purpose"], row["state"], row["attempts"])

    def of_incident(self, incident_id: int, conn=None) -> list[Delivery]:
        """Everything an incident planned, oldest first (on ``conn``: inside the caller's
        transaction, as it stands there)."""
        sql = "SELECT * FROM deliveries WHERE incident_id = ? ORDER BY id"
        if conn is not None:
            return [self._delivery(r) for r in rows_as_dicts(conn, sql, incident_id)]
        with self._lock:
            return [self._delivery(r) for r in self._db.query(sql, [incident_id])]

    def all(self, incident_id: int | None = None) -> list[DeliveryRow]:
        """Every delivery (of one incident), oldest first."""
        sql, args = "SELECT * FROM deliveries", []
        if incident_id is not None:
            sql, args = sql + " WHERE incident_id = ?", [incident_id]
        with self._lock:
            return [DeliveryRow.from_row(r) for r in self._db.query(sql + " ORDER BY id", args)]

    def finish(self, now: datetime, delivery_id: int, state: str, event: str,
               error: str | None = None, modem_ref: str | None = None,
               **data: object) -> None:
        with self._transaction() as conn:
            self._finish(conn, now, delivery_id, state, event, error, modem_ref, data)

    def _finish(self, conn, now: datetime, delivery_id: int, state: str, event: str,
                error: str | None, modem_ref: str | None, data: dict) -> None:
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
        self._log(conn, now, event, row[0], {
            "delivery": delivery_id, "kind": row[1], "phone": row[2], "household": row[3],
            "purpose": row[4], "attempt": row[5], "modem": row[6],
            **({"error": error} if error else {}), **data})
        if state == "failed" and row[1] == "sms" and row[4] == "alarm":
            self._flash_becomes_ring(conn, now, row[0], row[2])
        if state == "sent" and row[1] == "sms" and modem_ref:
            # Its report may have come before this record landed (see delivery_reports).
            self._reports.match_held(conn, now, delivery_id, row[6])

    def retry(self, now: datetime, delivery_id: int, error: str,
              not_before: datetime, count_attempt: bool = True) -> None:
        """Back to pending after ``not_before``. ``count_attempt=False`` when the modem failed,
        not the number: the try does not count against the delivery's attempts."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET state = 'pending', last_error = ?, not_before = ?,"
                " updated_at = ?, attempts = attempts - ? WHERE id = ?",
                (error, utc_iso(not_before), utc_iso(now), 0 if count_attempt else 1,
                 delivery_id))
            incident_id, kind, phone, purpose = conn.execute(
                "SELECT incident_id, kind, phone, purpose FROM deliveries WHERE id = ?",
                (delivery_id,)).fetchone()
            self._log(conn, now, "delivery_retry", incident_id, {
                "delivery": delivery_id, "error": error, "not_before": utc_iso(not_before)})
            # the number refused it, not the modem
            if count_attempt and kind == "sms" and purpose == "alarm":
                self._flash_becomes_ring(conn, now, incident_id, phone)

    @staticmethod
    def _flash_becomes_ring(conn, now: datetime, incident_id: int, phone: str) -> None:
        """An alarm SMS the number refused (for good, or once with tries to come): a flash
        still waiting for that phone becomes a full ring call that speaks the alarm (the text
        it was planned with). A flash only says "read your SMS", and this one may never come;
        in the same transaction as the failure, so no modem can dial the flash in between."""
        conn.execute(
            "UPDATE deliveries SET purpose = 'ring', updated_at = ? WHERE incident_id = ? AND"
            " phone = ? AND kind = 'call' AND purpose = 'flash' AND state = 'pending'",
            (utc_iso(now), incident_id, phone))

    def requeue_interrupted(self, now: datetime) -> int:
        """After a crash: anything left 'sending' may or may not have left the modem. Send it
        again: one possible duplicate is better than one silently skipped neighbour."""
        with self._transaction() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM deliveries WHERE state = 'sending'").fetchall()]
            if ids:
                conn.execute("UPDATE deliveries SET state = 'pending', updated_at = ?"
                             " WHERE state = 'sending'", (utc_iso(now),))
                self._log(conn, now, "deliveries_requeued", None, {"deliveries": ids})
        return len(ids)

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
            ).fetchone()[0]

    def sms_parts(self, delivery_id: int) -> list[SmsPart]:
        with self._lock:
            return [SmsPart.from_row(r) for r in self._db.query(
                "SELECT * FROM sms_parts WHERE delivery_id = ? ORDER BY part", [delivery_id])]

    def hurry_ring(self, now: datetime, incident_id: int, household_id: str, phone: str,
                   text: str, priority: int) -> None:
        """Ring this member soon: move a pending ring up, or plan one (an SMS failed). A
        full ring call with ``text`` spoken, even where the alarm planned a flash (响一声):
        a flash only says "read your SMS", and this member's SMS failed. None is planned
        when that phone's full ring call is being made or was made: the member has had the
        alarm's words (or its whole ringing) already."""
        with self._transaction() as conn:
            moved = conn.execute(
                "UPDATE deliveries SET priority = ?, purpose = 'ring', text = ?, updated_at = ?"
                " WHERE incident_id = ? AND household_id = ? AND kind = 'call' AND"
                " state = 'pending'",
                (priority, text, utc_iso(now), incident_id, household_id)).rowcount
            rung = conn.execute(
                "SELECT 1 FROM deliveries WHERE incident_id = ? AND phone = ? AND kind = 'call'"
                " AND purpose = 'ring' AND state IN ('sending', 'sent')",
                (incident_id, phone)).fetchone()
            if not moved and not rung:
                conn.execute(
                    "INSERT INTO deliveries (incident_id, kind, phone, household_id, purpose,"
                    " text, priority, state, created_at, updated_at)"
                    " VALUES (?, 'call', ?, ?, 'ring', ?, ?, 'pending', ?, ?)",
                    (incident_id, phone, household_id, text, priority, utc_iso(now),
                     utc_iso(now)))
            self._log(conn, now, "ring_instead", incident_id,
                      {"household": household_id, "phone": phone})

    def add_broadcast(self, now: datetime, sender: str, group_id: str | None, text: str,
                      plan: list[PlannedDelivery], households: int,
                      replies: list[PlannedDelivery] = ()) -> int:
        """Record a broadcast with its messages and ``replies`` (the sender's confirmation) in
        one transaction: a crash cannot leave it sent to the village with the sender never
        told, nor the sender told of one that is not."""
        with self._transaction() as conn:
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
            self._log(conn, now, "broadcast_planned", None, {
                "broadcast": broadcast_id, "sender": sender, "group": group_id,
                "households": households, "messages": len(plan), "text": text[:200]})
            if replies:
                self.insert_plan(conn, now, None, list(replies))
        return broadcast_id

    _PROGRESS = ("SELECT b.id, b.messages, b.reported, (SELECT count(*) FROM deliveries d WHERE"
                 " d.broadcast_id = b.id AND d.state IN ('sent', 'failed')) FROM broadcasts b"
                 " WHERE b.reported < 4")

    def broadcast_progress(self, now: datetime) -> None:
        """Log each broadcast's progress once per quarter done. Read first, outside any write
        transaction: the event loop asks each second while an alarm is open, and an empty
        commit there is one more wait for the disk on the alarm's path (its first SMS's
        claim waits behind it)."""
        if not any(self._quarter_done(*row) for row in self._read(self._PROGRESS)):
            return
        with self._transaction() as conn:
            for broadcast_id, messages, reported, done in conn.execute(self._PROGRESS).fetchall():
                quarters = self._quarter_done(broadcast_id, messages, reported, done)
                if quarters:
                    conn.execute("UPDATE broadcasts SET reported = ? WHERE id = ?",
                                 (quarters, broadcast_id))
                    self._log(conn, now, "broadcast_progress", None, {
                        "broadcast": broadcast_id, "done": done, "messages": messages})

    @staticmethod
    def _quarter_done(broadcast_id: int, messages: int, reported: int, done: int) -> int:
        """The quarters now done when more than ``reported`` are, else 0."""
        quarters = 4 if done >= messages else (4 * done) // max(messages, 1)
        return quarters if quarters > reported else 0

    def broadcasts_running(self) -> bool:
        """A broadcast is still to report progress: the event loop ticks for it until done."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM broadcasts WHERE reported < 4 LIMIT 1"
                                    ).fetchone() is not None

    def cancel_pending_to(self, conn, now: datetime, incident_id: int, household_id: str,
                          reason: str) -> int:
        """Inside the caller's transaction: call off what the incident still had to send to
        one household (it has become a caller of the alarm itself); how many were."""
        cancelled = conn.execute(
            "UPDATE deliveries SET state = 'cancelled', updated_at = ? WHERE incident_id = ?"
            " AND household_id = ? AND state = 'pending'",
            (utc_iso(now), incident_id, household_id)).rowcount
        if cancelled:
            self._log(conn, now, "deliveries_cancelled", incident_id, {
                "household": household_id, "count": cancelled, "reason": reason})
        return cancelled
