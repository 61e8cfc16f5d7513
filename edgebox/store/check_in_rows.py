"""Each household's daily check-in (table ``check_ins``), one row per household and day. Every
change commits with its event and with what it sends (the ring call, the look-in SMS and their
incident), so a restart resumes each check-in where it was: never a second ring for one
already answered, never a missed day texted twice."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from edgebox.store.times import utc_iso

if TYPE_CHECKING:
    from edgebox.store.incident_rows import Incidents
    from edgebox.store.outbox import Outbox
    from edgebox.store.table_core import TableCore


@dataclass(frozen=True)
class CheckInRow:
    """One household's check-in of one day, as stored (times: UTC, ISO text)."""
    household_id: str
    day: str                   # the box-local date, ISO text
    state: str                 # due, safe, missed (its incident open), closed
    rings: int                 # ring calls finished
    delivery_id: int | None    # the ring call in the outbox now, None between rings
    next_ring_at: str | None   # None while a ring call is in the outbox
    how: str | None            # ring, call, late_call: how 平安 was said
    incident_id: int | None    # the missed check-in's incident
    updated_at: str


class CheckInRows:
    def __init__(self, core: TableCore, incidents: Incidents, outbox: Outbox):
        """``incidents``: where a missed check-in opens its incident; ``outbox``: where its
        ring call is planned (both commit inside this table's transactions)."""
        self._core, self._incidents, self._outbox = core, incidents, outbox

    def _rows(self, sql: str, args: list) -> list[CheckInRow]:
        with self._core.lock:
            return [CheckInRow(**row) for row in self._core.db.query(sql, args)]

    def row(self, household_id: str, day: date) -> CheckInRow | None:
        rows = self._rows("SELECT * FROM check_ins WHERE household_id = ? AND day = ?",
                          [household_id, day.isoformat()])
        return rows[0] if rows else None

    def in_progress(self) -> list[CheckInRow]:
        """Check-ins still waiting for 平安 (state due), oldest first."""
        return self._rows("SELECT * FROM check_ins WHERE state = 'due'"
                          " ORDER BY day, household_id", [])

    def latest(self, household_id: str) -> CheckInRow | None:
        """The household's newest check-in row (today's or the last one before)."""
        rows = self._rows("SELECT * FROM check_ins WHERE household_id = ?"
                          " ORDER BY day DESC LIMIT 1", [household_id])
        return rows[0] if rows else None

    def urgent_deliveries(self, priority: int) -> bool:
        """Whether anything more urgent than ``priority`` waits in the outbox or is going out."""
        with self._core.lock:
            return self._core.db.execute(
                "SELECT 1 FROM deliveries WHERE state IN ('pending', 'sending') AND priority < ?"
                " LIMIT 1", [priority]).fetchone() is not None

    def start(self, now: datetime, household_id: str, day: date, at: str) -> bool:
        """The day's check-in is due (its window opened); False if it had been started."""
        with self._core.transaction() as conn:
            started = conn.execute(
                "INSERT OR IGNORE INTO check_ins (household_id, day, state, next_ring_at,"
                " updated_at) VALUES (?, ?, 'due', ?, ?)",
                (household_id, day.isoformat(), utc_iso(now), utc_iso(now))).rowcount
            if started:
                self._core.log(conn, now, "check_in_due", None, {
                    "household": household_id, "day": day.isoformat(), "time": at})
        return bool(started)

    def ring(self, now: datetime, row: CheckInRow, ring) -> None:
        """Plan the check-in's ring call (``ring``, a PlannedDelivery) and note it on the row."""
        with self._core.transaction() as conn:
            [delivery_id] = self._outbox.insert_plan(conn, now, None, [ring])
            conn.execute("UPDATE check_ins SET delivery_id = ?, next_ring_at = NULL,"
                         " updated_at = ? WHERE household_id = ? AND day = ?",
                         (delivery_id, utc_iso(now), row.household_id, row.day))

    def ring_result(self, delivery_id: int) -> str | None:
        """How the check-in's ring call ended ("answered", "no_answer" …, see RingOutcome),
        read back from the outbox and its log; None while it is still to be made. A call the
        outbox gave up on (the modem failed for good) ends as "failed", one the worker did
        not dial (an alarm had the line) as "cancelled"."""
        with self._core.lock:
            db = self._core.db
            state = db.execute("SELECT state FROM deliveries WHERE id = ?",
                               [delivery_id]).fetchone()
            if state is None or state[0] == "failed":
                return "failed"
            if state[0] == "cancelled":
                return "cancelled"
            if state[0] != "sent":
                return None
            found = db.execute(
                "SELECT json_extract(data, '$.result') FROM events WHERE kind = 'call_placed'"
                " AND json_extract(data, '$.delivery') = ? ORDER BY seq DESC LIMIT 1",
                [delivery_id]).fetchone()
        return found[0] if found and found[0] else "failed"

    def retry(self, now: datetime, row: CheckInRow, result: str, next_ring_at: datetime,
              counted: bool = True) -> None:
        """Ring again at ``next_ring_at``; ``counted`` False for a ring the box itself hung up
        (or never dialled) to give the line to an alarm."""
        with self._core.transaction() as conn:
            conn.execute("UPDATE check_ins SET rings = rings + ?, delivery_id = NULL,"
                         " next_ring_at = ?, updated_at = ? WHERE household_id = ? AND day = ?",
                         (int(counted), utc_iso(next_ring_at), utc_iso(now), row.household_id,
                          row.day))
            self._core.log(conn, now, "check_in_unanswered" if counted else "check_in_deferred",
                           None, {"household": row.household_id, "day": row.day,
                                  "result": result, "ring": row.rings + int(counted),
                                  "next_ring_at": utc_iso(next_ring_at)})

    def safe(self, now: datetime, row: CheckInRow, how: str, phone: str = "") -> None:
        """平安: by answering the ring (``how`` "ring") or by calling in ("call"). A ring call
        still waiting in the outbox is called off."""
        with self._core.transaction() as conn:
            if row.delivery_id is not None:
                conn.execute("UPDATE deliveries SET state = 'cancelled', updated_at = ?"
                             " WHERE id = ? AND state = 'pending'",
                             (utc_iso(now), row.delivery_id))
            conn.execute("UPDATE check_ins SET state = 'safe', how = ?, next_ring_at = NULL,"
                         " rings = rings + ?, updated_at = ? WHERE household_id = ? AND day = ?",
                         (how, int(how == "ring"), utc_iso(now), row.household_id, row.day))
            self._core.log(conn, now, "check_in_safe", None, {
                "household": row.household_id, "day": row.day, "how": how,
                **({"phone": phone} if phone else {})})

    def missed(self, now: datetime, row: CheckInRow, result: str, group_id: str, phone: str,
               plan: list) -> int:
        """No 平安 after the last ring: its own incident (alarm type ``check_in``) with the
        look-in SMS planned, and the row marked, in one transaction. The incident's id."""
        with self._core.transaction() as conn:
            incident = self._incidents.open(now, group_id, row.household_id, phone,
                                            kind="check_in", alarm_type="check_in", plan=plan)
            conn.execute("UPDATE check_ins SET state = 'missed', rings = rings + 1,"
                         " delivery_id = NULL, incident_id = ?, updated_at = ?"
                         " WHERE household_id = ? AND day = ?",
                         (incident.id, utc_iso(now), row.household_id, row.day))
            self._core.log(conn, now, "check_in_missed", incident.id, {
                "household": row.household_id, "day": row.day, "result": result,
                "rings": row.rings + 1})
        return incident.id

    def close(self, now: datetime, row: CheckInRow, reason: str) -> None:
        """A check-in that ends without 平安 nor a look-in: its household left the roster or
        is in no group, or the box was off past its day (``reason``). Logged."""
        with self._core.transaction() as conn:
            conn.execute("UPDATE check_ins SET state = 'closed', next_ring_at = NULL,"
                         " updated_at = ? WHERE household_id = ? AND day = ?",
                         (utc_iso(now), row.household_id, row.day))
            self._core.log(conn, now, "check_in_dropped", None, {
                "household": row.household_id, "day": row.day, "reason": reason})
