"""Incidents and their acknowledgements: opened, changed, closed, each change logged in the same
transaction.

The store's ``incidents``. What a change sends (the fan-out, the ladder's step, relays of an
acknowledgement) goes into the outbox in the same transaction."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Callable

from edgebox.domain.alarm import Ack, Delivery, Incident
from edgebox.store.outbox import Outbox
from edgebox.store.table_core import TableCore
from edgebox.store.times import parse_utc, utc_iso


class Incidents:
    """Tables ``incidents`` and ``acks``; ``outbox`` takes what their changes send."""

    def __init__(self, core: TableCore, outbox: Outbox):
        self._db, self._lock, self._transaction, self._log = \
            core.db, core.lock, core.transaction, core.log
        self._outbox = outbox

    @staticmethod
    def _incident(row: dict) -> Incident:
        return Incident(row["id"], row["group_id"], row["caller_household_id"],
                        row["caller_phone"], parse_utc(row["opened_at"]), row["state"],
                        row["alarm_type"], row["text"], row["escalation_step"],
                        parse_utc(row["acked_at"]) if row["acked_at"] else None,
                        bool(row["drill"]), tuple(json.loads(row["co_callers"])))

    def open(self, now: datetime, group_id: str, household_id: str, phone: str,
             kind: str = "call", alarm_type: str = "call", text: str | None = None,
             drill: bool = False, plan: list | None = None,
             told_of: int | None = None) -> Incident:
        """Open an incident and, in the same transaction, plan its fan-out (``plan``): the
        alarm is never logged with nothing planned, and the first SMS waits for one disk sync
        instead of two. ``told_of``: the open incident this household had been told of when it
        raised its own; that one's log says so too (``neighbour_alarm``)."""
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO incidents (group_id, caller_household_id, caller_phone, kind, state,"
                " opened_at, alarm_type, text, drill) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)",
                (group_id, household_id, phone, kind, utc_iso(now), alarm_type, text, int(drill)),
            )
            incident_id = cur.lastrowid
            self._log(conn, now, "incident_opened", incident_id, {
                "group": group_id, "household": household_id, "phone": phone, "kind": kind,
                "alarm_type": alarm_type, **({"text": text[:500]} if text else {}),
                **({"drill": True} if drill else {}),
                **({"told_of": told_of} if told_of is not None else {})})
            if told_of is not None:
                self._log(conn, now, "neighbour_alarm", told_of, {
                    "household": household_id, "incident": incident_id, "kind": kind})
            if plan is not None:
                self._outbox.insert_plan(conn, now, incident_id, plan)
        return self.get(incident_id)

    def get(self, incident_id: int) -> Incident | None:
        with self._lock:
            rows = list(self._db.query("SELECT * FROM incidents WHERE id = ?", [incident_id]))
        return self._incident(rows[0]) if rows else None

    def _update(self, conn, now: datetime, incident_id: int, event: str,
                changes: dict) -> None:
        columns = {"alarm_type", "text", "escalation_step", "co_callers"}
        assert set(changes) <= columns, set(changes) - columns
        values = {k: json.dumps(v) if k == "co_callers" else v for k, v in changes.items()}
        if values:
            assignments = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE incidents SET {assignments} WHERE id = ?",
                         (*values.values(), incident_id))
        self._log(conn, now, event, incident_id, {
            k: v for k, v in changes.items() if k != "text" or v is None or len(v) < 500})

    def amend(self, now: datetime, incident_id: int, event: str, changes: dict,
              alarm_text: str, plan_for: Callable[[list[Delivery]], list],
              stop_to: str | None = None) -> None:
        """An alarm learns more (its caller texted what is happening, a neighbour called in
        too), in one transaction: its columns change (logged as ``event``), what it still had
        to send to ``stop_to`` (the neighbour, a caller now) is called off, the alarm SMS not
        sent yet get the new words ``alarm_text``, and ``plan_for(planned)`` is planned,
        ``planned`` being every delivery of the incident as it stands in the transaction (the
        caller picks whom an addendum goes to: the rule is the alarm core's). A crash leaves the alarm either as it was or amended with every message
        the amendment needs planned; and a worker claiming an alarm SMS meanwhile gets either
        the new words or counts as out, never neither."""
        with self._transaction() as conn:
            self._update(conn, now, incident_id, event, changes)
            if stop_to is not None:
                self._outbox.cancel_pending_to(conn, now, incident_id, stop_to, "joined")
            conn.execute(
                "UPDATE deliveries SET text = ?, updated_at = ? WHERE incident_id = ? AND"
                " purpose = 'alarm' AND state = 'pending'", (alarm_text, utc_iso(now),
                                                               incident_id))
            plan = plan_for(self._outbox.of_incident(incident_id, conn))
            if plan:
                self._outbox.insert_plan(conn, now, incident_id, plan)

    def escalate(self, now: datetime, incident_id: int, step: int, plan: list,
                 township: bool = False) -> None:
        """Record that the ladder reached ``step`` and what that step sends, in one
        transaction: a crash leaves the step either wholly to do or wholly planned, never
        counted as done with its messages lost. ``township``: the step tells the township
        (the county hub alerts its duty officer from this mark in the uploaded log)."""
        with self._transaction() as conn:
            conn.execute("UPDATE incidents SET escalation_step = ? WHERE id = ?",
                         (step, incident_id))
            self._log(conn, now, "escalated", incident_id, {
                "escalation_step": step, **({"township": True} if township else {})})
            if plan:
                self._outbox.insert_plan(conn, now, incident_id, plan)

    def notifying(self, household_id: str) -> list[Incident]:
        """Open incidents in which this household was sent something (it may acknowledge)."""
        with self._lock:
            # From the open incidents (a handful) to this household's deliveries in each, by
            # the (household, purpose, incident) index: the other way round walked every
            # delivery the household was ever sent, 9 ms with a year of history, on the path
            # of every call and SMS.
            rows = list(self._db.query(
                "SELECT * FROM incidents i WHERE i.state = 'open' AND EXISTS (SELECT 1 FROM"
                " deliveries d WHERE d.household_id = ? AND d.purpose IN ('alarm', 'ring',"
                " 'flash', 'check_in_missed') AND d.incident_id = i.id)"
                " ORDER BY i.id", [household_id]))
        return [self._incident(r) for r in rows]

    def all(self, state: str | None = None) -> list[Incident]:
        sql, args = "SELECT * FROM incidents", []
        if state:
            sql, args = sql + " WHERE state = ?", [state]
        with self._lock:
            return [self._incident(r) for r in self._db.query(sql + " ORDER BY id", args)]

    def unplanned(self) -> list[Incident]:
        with self._lock:
            return [self._incident(r) for r in self._db.query(
                "SELECT * FROM incidents WHERE planned = 0 ORDER BY id")]

    def unrejected_calls(self) -> list[int]:
        """Open incidents raised by a call that the box never got to reject (it died between
        committing the incident and hanging up): that call may still be ringing. Once it has
        been seen again and rejected (``call_rang_on``) it no longer is."""
        with self._lock:
            return [r["id"] for r in self._db.query(
                "SELECT id FROM incidents WHERE state = 'open' AND kind = 'call' AND id NOT IN"
                " (SELECT incident_id FROM events WHERE incident_id IS NOT NULL AND kind IN"
                " ('call_rejected', 'call_reject_failed', 'call_rang_on'))")]

    def close(self, now: datetime, incident_id: int, reason: str, by: str | None = None,
              plan_for: Callable[[list[Delivery]], list] | None = None,
              report: tuple[str, dict] | None = None) -> int:
        """Close an open incident and cancel what it still had to send; the number of
        deliveries cancelled. Closing a closed incident changes nothing (returns -1).

        In the same transaction: ``report`` (an event kind and its data, such as the drill's
        report) is logged first, and ``plan_for(planned)`` is planned, ``planned`` being every
        delivery of the incident as it stood when it closed, before the pending ones were
        cancelled (who may have heard of the alarm is the alarm core's rule:
        Delivery.may_have_reached). A crash cannot leave the incident closed with its last
        messages never sent, and whoever a worker reached meanwhile is in ``planned`` as out."""
        with self._transaction() as conn:
            state = conn.execute("SELECT state FROM incidents WHERE id = ?",
                                 (incident_id,)).fetchone()
            if state is None or state[0] != "open":
                return -1
            if report is not None:
                self._log(conn, now, report[0], incident_id, report[1])
            planned = self._outbox.of_incident(incident_id, conn)  # before any is cancelled
            conn.execute("UPDATE incidents SET state = 'closed', closed_at = ?, closed_reason = ?"
                         " WHERE id = ?", (utc_iso(now), reason, incident_id))
            cancelled = conn.execute(
                "UPDATE deliveries SET state = 'cancelled', updated_at = ? WHERE incident_id = ?"
                " AND state = 'pending'", (utc_iso(now), incident_id)).rowcount
            self._log(conn, now, "incident_closed", incident_id,
                      {"reason": reason, "cancelled": cancelled, **({"by": by} if by else {})})
            plan = plan_for(planned) if plan_for is not None else []
            if plan:
                self._outbox.insert_plan(conn, now, incident_id, plan)
        return cancelled

    def record_ack(self, now: datetime, incident_id: int, household_id: str, phone: str,
                   channel: str, relays: list = ()) -> bool:
        """Record an acknowledgement, cancel the member's remaining ring calls and plan
        ``relays`` (who is told of it), all in one transaction: a crash cannot leave an
        acknowledgement recorded and never relayed. False when this household had already
        acknowledged (nothing changes)."""
        with self._transaction() as conn:
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
            self._log(conn, now, "ack_received", incident_id, {
                "household": household_id, "phone": phone, "channel": channel,
                "calls_cancelled": cancelled})
            if relays:
                self._outbox.insert_plan(conn, now, incident_id, list(relays))
        return True

    def unrecorded_key_acks(self) -> list[int]:
        """Ring calls of open alarms whose member pressed the acknowledgement key with no
        acknowledgement of theirs recorded: the box died between the worker logging the call
        and the event loop recording the key. Their delivery ids, oldest first (recording one
        twice changes nothing). An alarm that is over needs nobody told who was coming."""
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT d.id FROM events e JOIN deliveries d"
                " ON d.id = json_extract(e.data, '$.delivery')"
                " JOIN incidents i ON i.id = d.incident_id WHERE e.kind = 'call_placed'"
                " AND json_extract(e.data, '$.result') = 'acknowledged' AND i.state = 'open'"
                " AND d.household_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM acks a WHERE"
                " a.incident_id = d.incident_id AND a.household_id = d.household_id)"
                " ORDER BY e.seq").fetchall()]

    def acks(self, incident_id: int) -> list[Ack]:
        with self._lock:
            rows = list(self._db.query(
                "SELECT * FROM acks WHERE incident_id = ? ORDER BY id", [incident_id]))
        return [Ack(r["incident_id"], r["household_id"], r["phone"], r["channel"],
                    parse_utc(r["at"])) for r in rows]
