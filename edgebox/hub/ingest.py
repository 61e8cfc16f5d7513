"""Store one verified batch exactly once, and keep the incidents table up to date.

All in one transaction, with the box's row locked: the batch's log is found (or started, see
``log_of``), events already held (same box, log and seq) are skipped, the new ones inserted, the
incidents they touch updated and the box's months (``box_months``) counted, and the log's and
the box's acknowledgement point, last-seen time, backlog and health written. Only then does the
hub answer with ``acked_seq``, so a crash at any instant either stored the whole batch or none
of it, and the box, not having heard back, simply sends it again.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from edgebox.hub.box_months import Tally
from edgebox.hub.registry import utc_iso

log = logging.getLogger("edgebox.hub")


@dataclass(frozen=True)
class Stored:
    acked_seq: int
    stored: int
    duplicates: int
    ahead: bool = False  # the box's 'after' is beyond what the hub holds: nothing was stored


# Rows per INSERT statement on SQLite: one statement plan for many events (8 parameters a row,
# far under SQLite's 32766 per statement).
ROWS_PER_INSERT = 500

# PostgreSQL takes the whole batch as one JSON text, unpacked into rows by the server: one
# short statement, planned once per connection, whatever the batch's size, and one C-encoded
# parameter. A multi-row VALUES of 4000 placeholders spent most of the batch's time in the
# driver (parsing its own query text again for each batch), and arrays per column in escaping
# each element. The ``json`` type (not jsonb) keeps each event's ``data`` text exactly as
# encoded, so the stored text is what json.dumps writes, as on SQLite.
_INSERT_JSON = (
    "INSERT INTO events (box_id, log_no, seq, at, kind, incident_id, data, received_at)"
    " SELECT ?, ?, e.seq, e.at, e.kind, e.incident_id, e.data::text, ? FROM"
    " json_to_recordset(?::json) AS e (seq bigint, at text, kind text, incident_id bigint,"
    " data json) ON CONFLICT (box_id, log_no, seq) DO NOTHING RETURNING seq")


def _insert_new(tx, box: str, log_no: int, now: str, events: list[dict]) -> set[int]:
    """Insert the events; the seqs that were new (one already held is skipped by the key, so a
    batch sent twice, or two workers racing with the same batch, stores each event once)."""
    if tx.dialect == "postgresql":
        return {row[0] for row in tx.rows(_INSERT_JSON, (box, log_no, now, json.dumps(
            [{k: e[k] for k in ("seq", "at", "kind", "incident_id", "data")} for e in events],
            ensure_ascii=False)))}
    new: set[int] = set()
    for start in range(0, len(events), ROWS_PER_INSERT):
        chunk = events[start:start + ROWS_PER_INSERT]
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        new.update(row[0] for row in tx.rows(
            "INSERT INTO events (box_id, log_no, seq, at, kind, incident_id, data, received_at)"
            f" VALUES {values} ON CONFLICT (box_id, log_no, seq) DO NOTHING RETURNING seq",
            [value for e in chunk for value in (
                box, log_no, e["seq"], e["at"], e["kind"], e["incident_id"],
                json.dumps(e["data"], ensure_ascii=False), now)]))
    return new


def _project(tx, box: str, log_no: int, event: dict, tally: Tally) -> None:
    """Fold one new event into the incidents table, and what it changes into ``tally``."""
    kind, incident, data, at = event["kind"], event["incident_id"], event["data"], event["at"]
    tally.event(kind, at, data)
    if incident is None:
        return
    key = (box, log_no, incident)
    where = " WHERE box_id = ? AND log_no = ? AND incident_id = ?"
    if kind == "incident_opened":
        alarm_kind, drill = data.get("alarm_type") or data.get("kind"), int(bool(data.get("drill")))
        if tx.execute("INSERT INTO incidents (box_id, log_no, incident_id, group_id, household,"
                      " phone, kind, drill, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                      " ON CONFLICT (box_id, log_no, incident_id) DO NOTHING",
                      (*key, data.get("group"), data.get("household"), data.get("phone"),
                       alarm_kind, drill, at)) == 1:
            tally.opened(at, alarm_kind, drill)
    elif kind == "incident_closed":
        tx.execute("UPDATE incidents SET closed_at = ?, close_reason = ?" + where,
                   (at, data.get("reason"), *key))
    elif kind == "ack_received":
        # acks becomes 1 exactly when first_ack_at is first set: then the wait is known.
        row = tx.one("UPDATE incidents SET acks = acks + 1, first_ack_at = COALESCE("
                     "first_ack_at, ?)" + where + " RETURNING acks, opened_at, first_ack_at,"
                     " kind, drill", (at, *key))
        if row is not None and row[0] == 1:
            tally.first_ack(row[1], row[2], row[3], row[4])
    elif kind in ("sms_sent", "call_placed", "delivery_failed"):
        column = {"sms_sent": "sms_sent", "call_placed": "calls",
                  "delivery_failed": "failed"}[kind]
        tx.execute(f"UPDATE incidents SET {column} = {column} + 1" + where, key)


def log_of(tx, box: str, log_id: str | None, after: int, now: str,
           current: int) -> tuple[int, int]:
    """(number, acked_seq) of the box's log named ``log_id``; the box's row must be locked,
    ``current`` the log it uploads to now (``boxes.log_no``).

    - No id (a box from before log ids): the box's current log.
    - An id the hub knows: that log (a box may be given its old database back).
    - A new id: the box's unnamed first log takes it when that log is empty, or when the box
      continues it (``after`` > 0: the same database, upgraded to name its log). Otherwise the
      box has a new database, so a new log starts; nothing of the old one is touched.
    """
    if not log_id:
        row = tx.one("SELECT log_no, acked_seq FROM box_logs WHERE box_id = ? AND log_no = ?",
                     (box, current))
        return row[0], row[1]
    row = tx.one("SELECT log_no, acked_seq FROM box_logs WHERE box_id = ? AND log_id = ?",
                 (box, log_id))
    if row is None:
        unnamed = tx.one("SELECT log_no, acked_seq FROM box_logs WHERE box_id = ? AND"
                         " log_id IS NULL", (box,))
        if unnamed is not None and (unnamed[1] == 0 or after > 0):
            tx.execute("UPDATE box_logs SET log_id = ? WHERE box_id = ? AND log_no = ?",
                       (log_id, box, unnamed[0]))
            row = unnamed
        else:
            number = tx.one("SELECT COALESCE(max(log_no), 0) + 1 FROM box_logs WHERE"
                            " box_id = ?", (box,))[0]
            tx.execute("INSERT INTO box_logs (box_id, log_no, log_id, started_at, acked_seq)"
                       " VALUES (?, ?, ?, ?, 0)", (box, number, log_id, now))
            log.warning("box %s sent a log the hub has not seen (a new database): it is the"
                        " box's log %d", box, number)
            row = (number, 0)
    if row[0] != current:  # the box's figures are those of the log it uploads to now
        tx.execute("UPDATE boxes SET log_no = ?, acked_seq = ? WHERE box_id = ?",
                   (row[0], row[1], box))
    return row[0], row[1]


def store_batch(db, box: str, batch: dict, peer: str = "") -> Stored:
    now = utc_iso()
    events = batch["events"]
    with db.transaction() as tx:
        # The box's row lock serialises its uploads, log changes included.
        current = tx.one("SELECT log_no FROM boxes WHERE box_id = ?" + tx.for_update, (box,))[0]
        log_no, acked = log_of(tx, box, batch.get("log"), batch["after"], now, current)
        if batch["after"] > acked:
            return Stored(acked, 0, 0, ahead=True)
        stored = _insert_new(tx, box, log_no, now, events)
        new = [e for e in events if e["seq"] in stored]
        tally = Tally()
        for event in new:
            _project(tx, box, log_no, event, tally)
        tally.write(tx, box)
        acked = max(acked, batch["through"])
        status = batch["status"]
        backlog = status.get("backlog") if isinstance(status.get("backlog"), int) else None
        tx.execute("UPDATE box_logs SET acked_seq = ? WHERE box_id = ? AND log_no = ?",
                   (acked, box, log_no))
        tx.execute("UPDATE boxes SET acked_seq = ?, last_seen = ?, last_address = ?,"
                   " backlog = ?, status = ? WHERE box_id = ?",
                   (acked, now, peer, backlog, json.dumps(status, ensure_ascii=False), box))
    return Stored(acked, len(new), len(events) - len(new))
