"""A year of history in a box's database, generated fast: old alarms, each with the SMS it
sent to its group (sent, one part each, delivery report in), and the events they logged, as a
box that has run for a year keeps them. Written straight in SQL (recursive CTEs), one
transaction: 300k SMS in a few seconds.

The rows look like the daemon's own (same columns, states, purposes, event kinds), spread over
the year before ``now``, to the roster's real households, so the queries the alarm path makes
by household, delivery or reference meet as many rows as a real box's would.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from edgebox.store.times import utc_iso

SMS_PER_ALARM = 14
YEAR_SECONDS = 365 * 24 * 3600


def fill_history(db: Path | str, sms: int, now: datetime) -> dict:
    """Add ``sms`` old alarm SMS (and their alarms and events) to a database that holds a
    roster; what was added, counted."""
    alarms = max(1, sms // SMS_PER_ALARM)
    start = utc_iso(now - timedelta(days=366))
    conn = sqlite3.connect(str(db), isolation_level=None)
    try:
        conn.execute("BEGIN")
        # The roster's households, numbered, each with its first group.
        conn.execute("CREATE TEMP TABLE hh AS SELECT row_number() OVER (ORDER BY m.household_id)"
                     " - 1 AS n, m.household_id AS id, m.group_id AS grp,"
                     " json_extract(h.phones, '$[0]') AS phone FROM group_members m"
                     " JOIN households h ON h.id = m.household_id GROUP BY m.household_id")
        households = conn.execute("SELECT count(*) FROM hh").fetchone()[0]
        if households == 0:
            raise ValueError("the database holds no roster")
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM incidents").fetchone()[0]
        step = YEAR_SECONDS / alarms
        conn.execute(
            "INSERT INTO incidents (id, group_id, caller_household_id, caller_phone, kind,"
            " state, opened_at, closed_at, planned, alarm_type, closed_reason, acked_at)"
            " WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
            " SELECT ? + i, hh.grp, hh.id, hh.phone, 'call', 'closed',"
            " strftime('%Y-%m-%dT%H:%M:%SZ', ?, '+' || CAST(i * ? AS INTEGER) || ' seconds'),"
            " strftime('%Y-%m-%dT%H:%M:%SZ', ?, '+' || CAST(i * ? + 600 AS INTEGER)"
            " || ' seconds'), 1, 'call', 'cancelled', NULL"
            " FROM k JOIN hh ON hh.n = (i * 7) % ?",
            (alarms - 1, first, start, step, start, step, households))
        # Each alarm's SMS go to other households, round the roster.
        conn.execute(
            "INSERT INTO deliveries (incident_id, kind, phone, household_id, purpose, text,"
            " priority, state, attempts, modem_ref, created_at, updated_at, modem, report)"
            " WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < ?)"
            " SELECT i.id, 'sms', hh.phone, hh.id, 'alarm', '【十户联防】报警', 10, 'sent', 1,"
            " CAST((i.id * ? + k.j) % 256 AS TEXT), i.opened_at, i.opened_at, 'm0', 'delivered'"
            " FROM incidents i JOIN k JOIN hh ON hh.n = (i.id * 7 + k.j) % ? WHERE i.id >= ?",
            (SMS_PER_ALARM, SMS_PER_ALARM, households, first))
        conn.execute(
            "INSERT INTO sms_parts (delivery_id, modem, reference, part, submitted_at, status,"
            " reported_at) SELECT d.id, 'm0', CAST(d.modem_ref AS INTEGER), 1, d.created_at,"
            " 'delivered', d.created_at FROM deliveries d JOIN incidents i"
            " ON i.id = d.incident_id WHERE i.id >= ?", (first,))
        # The events they logged, in the order they happened.
        conn.execute(
            "INSERT INTO events (at, kind, incident_id, data)"
            " SELECT at, kind, incident_id, data FROM ("
            " SELECT opened_at AS at, 0 AS o, id AS incident_id, 'incident_opened' AS kind,"
            "  json_object('household', caller_household_id, 'phone', caller_phone) AS data"
            "  FROM incidents WHERE id >= :first"
            " UNION ALL SELECT d.created_at, d.id * 2, d.incident_id, 'sms_sent',"
            "  json_object('delivery', d.id, 'phone', d.phone, 'household', d.household_id)"
            "  FROM deliveries d WHERE d.incident_id >= :first"
            " UNION ALL SELECT d.created_at, d.id * 2 + 1, d.incident_id, 'delivery_report',"
            "  json_object('delivery', d.id, 'status', 'delivered')"
            "  FROM deliveries d WHERE d.incident_id >= :first"
            " UNION ALL SELECT closed_at, 1e15, id, 'incident_closed',"
            "  json_object('reason', 'cancelled') FROM incidents WHERE id >= :first)"
            " ORDER BY at, o", {"first": first})
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("incidents", "deliveries", "sms_parts", "events")}
        conn.execute("COMMIT")
        return counts
    finally:
        conn.close()
