"""Bounded disk: what may be deleted once the hub has it (the warning before space runs out is
in ``diskwatch``).

Policy (every deletion only touches events the hub has acknowledged, seq <= cursor):
- bulky, low-value events (``uplink.prune_kinds``: health readings, balances, texts from numbers
  outside the roster …) go after ``uplink.prune_after_days``, and at once while the disk is low;
  an ``sms_received`` from a roster member is never low-value (it may be an acknowledgement);
- everything else, incidents and their deliveries included, is kept ``uplink.keep_days``;
- the ``modem_health`` table keeps every modem's newest row whatever its age.
Deletions run in small chunks, one short transaction each, with a pause between them, so an
alarm waits for at most one chunk (a few milliseconds at 300k rows, see BENCHMARKS.md); the
chunks' commits do not wait for the disk (a deletion a power cut takes back is made again).
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from edgebox.store.times import utc_iso

CHUNK = 500
# Incidents go a few at a time: each takes its deliveries, SMS parts and acknowledgements
# with it (30-50 rows), and one transaction of 500 took over a second at 300k SMS.
INCIDENT_CHUNK = 10
# Between two chunks: the store's lock is not fair, and an alarm waiting for it gets it here.
PAUSE_SECONDS = 0.005


@dataclass(frozen=True)
class DiskUsage:
    total: int
    used: int
    free: int

    @property
    def used_percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0


def disk_usage_of(path: str) -> DiskUsage:
    """Usage of the filesystem holding ``path`` (the database file or its folder)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe if probe.is_dir() else probe.parent)
    return DiskUsage(usage.total, usage.used, usage.free)


def _delete_in_chunks(store, select_sql: str, args: tuple, delete: Callable,
                      chunk: int = CHUNK, pick_inside: bool = False) -> int:
    """Repeat: pick up to ``chunk`` ids with ``select_sql``, ``delete(conn, ids)``, commit.

    The ids are picked before the write transaction begins, so it holds the write lock for
    the deletion alone: what makes an old event or delivery deletable does not change back.
    ``pick_inside``: pick them in the transaction (an old incident could still log an event
    the hub does not have yet, a very late delivery report)."""
    total = 0
    while True:
        if pick_inside:
            with store.transaction(durable=False) as conn:
                ids = [row[0] for row in conn.execute(f"{select_sql} LIMIT {chunk}", args)]
                if ids:
                    delete(conn, ids)
        else:
            ids = [row[0] for row in store.read(f"{select_sql} LIMIT {chunk}", args)]
            if ids:
                with store.transaction(durable=False) as conn:
                    delete(conn, ids)
        total += len(ids)
        if len(ids) < chunk:
            return total
        time.sleep(PAUSE_SECONDS)


def _marks(ids: list) -> str:
    return ",".join("?" * len(ids))


def prune_low_value(store, acked: int, kinds: list[str], before: datetime) -> int:
    if not kinds:
        return 0
    sql = (f"SELECT seq FROM events WHERE seq <= ? AND kind IN ({_marks(kinds)}) AND at < ?"
           " AND NOT (kind = 'sms_received' AND json_extract(data, '$.household') IS NOT NULL)")
    events = _delete_in_chunks(
        store, sql, (acked, *kinds, utc_iso(before)),
        lambda conn, ids: conn.execute(f"DELETE FROM events WHERE seq IN ({_marks(ids)})", ids))
    health = 0
    if "modem_health" in kinds:
        health = _delete_in_chunks(
            store, "SELECT id FROM modem_health WHERE at < ? AND id NOT IN"
                   " (SELECT max(id) FROM modem_health GROUP BY modem)", (utc_iso(before),),
            lambda conn, ids: conn.execute(
                f"DELETE FROM modem_health WHERE id IN ({_marks(ids)})", ids))
    return events + health


def _delete_deliveries(conn, ids: list[int]) -> None:
    conn.execute(f"DELETE FROM sms_parts WHERE delivery_id IN ({_marks(ids)})", ids)
    conn.execute(f"DELETE FROM deliveries WHERE id IN ({_marks(ids)})", ids)


def _delete_incidents(conn, ids: list[int]) -> None:
    deliveries = [r[0] for r in conn.execute(
        f"SELECT id FROM deliveries WHERE incident_id IN ({_marks(ids)})", ids)]
    for start in range(0, len(deliveries), CHUNK):
        _delete_deliveries(conn, deliveries[start:start + CHUNK])
    conn.execute(f"DELETE FROM acks WHERE incident_id IN ({_marks(ids)})", ids)
    conn.execute(f"DELETE FROM incidents WHERE id IN ({_marks(ids)})", ids)


def prune_expired(store, acked: int, before: datetime) -> dict[str, int]:
    """Delete what is older than the keeping time and safely at the hub."""
    stamp = utc_iso(before)
    incidents = _delete_in_chunks(
        store, "SELECT id FROM incidents WHERE state = 'closed' AND closed_at < ? AND NOT EXISTS"
               " (SELECT 1 FROM events WHERE events.incident_id = incidents.id AND seq > ?)",
        (stamp, acked), _delete_incidents, INCIDENT_CHUNK, pick_inside=True)
    deliveries = _delete_in_chunks(
        store, "SELECT id FROM deliveries WHERE incident_id IS NULL AND updated_at < ? AND"
               " state IN ('sent', 'failed', 'cancelled')", (stamp,), _delete_deliveries)
    events = _delete_in_chunks(
        store, "SELECT seq FROM events WHERE seq <= ? AND at < ?", (acked, stamp),
        lambda conn, ids: conn.execute(f"DELETE FROM events WHERE seq IN ({_marks(ids)})", ids))
    # Received SMS and office actions acted on long ago: what they caused is in the log (at
    # the hub by now), and the modem deleted an SMS's copy the moment it was kept. One not
    # acted on yet always stays.
    pruned = {"incidents": incidents, "deliveries": deliveries, "events": events}
    for table in ("inbox", "office_actions"):
        pruned[table] = _delete_in_chunks(
            store, f"SELECT id FROM {table} WHERE handled_at IS NOT NULL AND handled_at < ?",
            (stamp,), lambda conn, ids, table=table: conn.execute(
                f"DELETE FROM {table} WHERE id IN ({_marks(ids)})", ids))
    return pruned


def prune(store, acked: int, now: datetime, kinds: list[str], prune_after_days: float,
          keep_days: float, disk_low: bool = False) -> dict[str, int]:
    """Apply the whole policy; the counts of what went."""
    low_value_before = now if disk_low else now - timedelta(days=prune_after_days)
    counts = {"low_value": prune_low_value(store, acked, kinds, low_value_before)}
    counts.update(prune_expired(store, acked, now - timedelta(days=keep_days)))
    return counts


def database_bytes(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
