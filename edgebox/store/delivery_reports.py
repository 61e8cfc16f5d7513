"""Delivery reports, matched to the SMS part they answer, and held when they come first.

A network may send the status report (``+CDS``) moments after the ``+CMGS`` answer: at once on a
quiet cell. The worker records a sent SMS (its parts and their references) on its recorder's
thread after it has claimed the next delivery, so a report can reach the event loop before
the part it answers is in the store. Such a report is *held* (kept in ``held_reports``) and
matched in the very transaction that records the part; both transactions run under the
store's lock, so one of the two always sees the other. A report still held after
``HOLD_SECONDS`` answers nothing this box recorded (an SMS of a previous run, a network's
stray) and is filed as unmatched by ``expire_held``.

The store's ``reports``; the outbox matches held reports when it records a sent SMS."""
from __future__ import annotations

from datetime import datetime, timedelta

from edgebox.store.table_core import TableCore
from edgebox.store.times import utc_iso

# Longer than a record can lag its submit (the recorder waits for at most one record before
# it, a commit of milliseconds to tens on an SD card; a multi-part submit holds the worker
# for seconds), and far shorter than a modem takes to use up its 256 references.
HOLD_SECONDS = 120


class DeliveryReports:
    """Tables ``held_reports`` and the report columns of ``sms_parts`` and ``deliveries``."""

    def __init__(self, core: TableCore):
        self._db, self._lock, self._transaction, self._log = \
            core.db, core.lock, core.transaction, core.log

    def record(self, now: datetime, modem: str, reference: int,
               delivered: bool) -> int | None:
        """Match a report to the newest unreported part this modem sent with that reference
        (references wrap at 256, so the newest is the one the network means). When every part
        of a delivery has its final report, the delivery's report is set. Returns the delivery
        id; None when no recorded part matches: the report is held until its part is
        recorded (or filed as unmatched after HOLD_SECONDS)."""
        with self._transaction() as conn:
            part = conn.execute(
                "SELECT id, delivery_id FROM sms_parts WHERE modem = ? AND reference = ? AND"
                " status IS NULL ORDER BY id DESC LIMIT 1", (modem, reference)).fetchone()
            if part is None:
                conn.execute("INSERT INTO held_reports (modem, reference, delivered,"
                             " received_at) VALUES (?, ?, ?, ?)",
                             (modem, reference, int(delivered), utc_iso(now)))
                return None
            self._apply_report(conn, now, now, part[0], part[1], modem, reference, delivered)
        return part[1]

    def match_held(self, conn, now: datetime, delivery_id: int, modem: str) -> None:
        """Inside the transaction recording ``delivery_id``'s parts (submitted at ``now``):
        apply the reports held for their references, received no earlier than HOLD_SECONDS
        before the submit (an older one belongs to an earlier use of the reference)."""
        since = utc_iso(now - timedelta(seconds=HOLD_SECONDS))
        parts = conn.execute("SELECT id, reference FROM sms_parts WHERE delivery_id = ?"
                             " AND status IS NULL ORDER BY part", (delivery_id,)).fetchall()
        for part_id, reference in parts:
            held = conn.execute(
                "SELECT id, delivered, received_at FROM held_reports WHERE modem = ? AND"
                " reference = ? AND received_at >= ? ORDER BY id DESC LIMIT 1",
                (modem, reference, since)).fetchone()
            if held is None:
                continue
            conn.execute("DELETE FROM held_reports WHERE id = ?", (held[0],))
            self._apply_report(conn, now, held[2], part_id, delivery_id, modem, reference,
                               bool(held[1]), held=True)

    def _apply_report(self, conn, now: datetime, received_at: datetime | str, part_id: int,
                      delivery_id: int, modem: str, reference: int, delivered: bool,
                      held: bool = False) -> None:
        status = "delivered" if delivered else "failed"
        received = received_at if isinstance(received_at, str) else utc_iso(received_at)
        conn.execute("UPDATE sms_parts SET status = ?, reported_at = ? WHERE id = ?",
                     (status, received, part_id))
        statuses = [r[0] for r in conn.execute(
            "SELECT status FROM sms_parts WHERE delivery_id = ?", (delivery_id,))]
        report = None
        if None not in statuses:
            report = "delivered" if set(statuses) == {"delivered"} else "failed"
            conn.execute("UPDATE deliveries SET report = ?, updated_at = ? WHERE id = ?",
                         (report, utc_iso(now), delivery_id))
        row = conn.execute("SELECT incident_id, phone, household_id FROM deliveries"
                           " WHERE id = ?", (delivery_id,)).fetchone()
        self._log(conn, now, "delivery_report", row[0], {
            "delivery": delivery_id, "phone": row[1], "household": row[2], "modem": modem,
            "reference": reference, "status": status, "complete": report is not None,
            **({"held": True} if held else {})})

    def held_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM held_reports").fetchone()[0]

    def expire_held(self, now: datetime) -> int:
        """File the reports held longer than HOLD_SECONDS as unmatched; how many."""
        cutoff = utc_iso(now - timedelta(seconds=HOLD_SECONDS))
        with self._lock:  # the common case, nothing held that long, costs one indexed read
            if self._db.execute("SELECT 1 FROM held_reports WHERE received_at < ? LIMIT 1",
                                [cutoff]).fetchone() is None:
                return 0
        with self._transaction() as conn:
            stale = conn.execute("SELECT id, modem, reference, delivered, received_at FROM"
                                 " held_reports WHERE received_at < ? ORDER BY id",
                                 (cutoff,)).fetchall()
            for held_id, modem, reference, delivered, received_at in stale:
                conn.execute("DELETE FROM held_reports WHERE id = ?", (held_id,))
                self._log(conn, now, "delivery_report_unmatched", None, {
                    "modem": modem, "reference": reference, "delivered": bool(delivered),
                    "received_at": received_at})
        return len(stale)
