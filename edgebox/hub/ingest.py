"""Store one verified batch exactly once, and keep the incidents table up to date.

All in one transaction, with the box's row locked: events already held (same box and seq)
are skipped, the new ones inserted, the incidents they touch updated, and the box's
acknowledgement point, last-seen time, backlog and health written. Only then does the hub
answer with ``acked_seq``, so a crash at any instant either stored the whole batch or none of
it, and the box, not having heard back, simply sends it again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from edgebox.hub.registry import utc_iso


@dataclass(frozen=True)
class Stored:
    acked_seq: int
    stored: int
    duplicates: int
    ahead: bool = False  # the box's 'after' is beyond what the hub holds: nothing was stored


INSERT_EVENT = ("INSERT INTO events (box_id, seq, at, kind, incident_id, data, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (box_id, seq) DO NOTHING")


def _project(tx, box: str, event: dict) -> None:
    """Fold one new event into the incidents table."""
    kind, incident, data, at = event["kind"], event["incident_id"], event["data"], event["at"]
    if incident is None:
        return
    key = (box, incident)
    if kind == "incident_opened":
        tx.execute("INSERT INTO incidents (box_id, incident_id, group_id, household, phone, kind,"
                   " drill, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                   " ON CONFLICT (box_id, incident_id) DO NOTHING",
                   (box, incident, data.get("group"), data.get("household"), data.get("phone"),
                    data.get("alarm_type") or data.get("kind"), int(bool(data.get("drill"))),
                    at))
    elif kind == "incident_closed":
        tx.execute("UPDATE incidents SET closed_at = ?, close_reason = ? WHERE box_id = ? AND"
                   " incident_id = ?", (at, data.get("reason"), *key))
    elif kind == "ack_received":
        tx.execute("UPDATE incidents SET acks = acks + 1, first_ack_at = COALESCE(first_ack_at,"
                   " ?) WHERE box_id = ? AND incident_id = ?", (at, *key))
    elif kind in ("sms_sent", "call_placed", "delivery_failed"):
        column = {"sms_sent": "sms_sent", "call_placed": "calls",
                  "delivery_failed": "failed"}[kind]
        tx.execute(f"UPDATE incidents SET {column} = {column} + 1 WHERE box_id = ? AND"
                   " incident_id = ?", key)


def store_batch(db, box: str, batch: dict, peer: str = "") -> Stored:
    now = utc_iso()
    events = batch["events"]
    with db.transaction() as tx:
        acked = tx.one("SELECT acked_seq FROM boxes WHERE box_id = ?" + tx.for_update,
                       (box,))[0]
        if batch["after"] > acked:
            return Stored(acked, 0, 0, ahead=True)
        new = events
        if events:
            held = {row[0] for row in tx.rows(
                "SELECT seq FROM events WHERE box_id = ? AND seq >= ? AND seq <= ?",
                (box, events[0]["seq"], events[-1]["seq"]))}
            new = [e for e in events if e["seq"] not in held]
            tx.executemany(INSERT_EVENT, [
                (box, e["seq"], e["at"], e["kind"], e["incident_id"],
                 json.dumps(e["data"], ensure_ascii=False), now) for e in new])
            for event in new:
                _project(tx, box, event)
        acked = max(acked, batch["through"])
        status = batch["status"]
        backlog = status.get("backlog") if isinstance(status.get("backlog"), int) else None
        tx.execute("UPDATE boxes SET acked_seq = ?, last_seen = ?, last_address = ?,"
                   " backlog = ?, status = ? WHERE box_id = ?",
                   (acked, now, peer, backlog, json.dumps(status, ensure_ascii=False), box))
    return Stored(acked, len(new), len(events) - len(new))
