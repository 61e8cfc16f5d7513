"""What the dashboard shows: boxes with health, incidents with filters, per-village statistics.

Every query takes the same place filter (county, township, village, box); statistics are
computed per village over a window of months from each box's monthly summary
(``edgebox.hub.box_months``): alarms per month, failed deliveries per month, the median time
from an alarm to its first acknowledgement.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from edgebox.hub.box_months import months_of
from edgebox.hub.scope import NOBODY, Scope

PLACE = ("county", "township", "village", "box_id")
# ``log_no``: which of the box's logs (databases) the incident is from; its number counts in it.
INCIDENT_COLUMNS = ("county", "township", "village", "box_id", "log_no", "incident_id",
                    "group_id", "household", "phone", "kind", "drill", "opened_at",
                    "first_ack_at", "minutes_to_ack", "acks", "sms_sent", "calls", "failed",
                    "closed_at", "close_reason")
MAX_ROWS = 1000


@dataclass(frozen=True)
class Filters:
    county: str = ""
    township: str = ""
    village: str = ""
    box_id: str = ""
    state: str = ""        # "open", "closed" or "" for both
    acked: str = ""        # "yes", "no" or ""
    since: str = ""        # YYYY-MM-DD, inclusive
    until: str = ""        # YYYY-MM-DD, inclusive
    # Whose boxes: never from the query string, always from the logged-in user.
    scope: Scope = NOBODY

    @classmethod
    def from_query(cls, params, scope: Scope) -> "Filters":
        values = {name: (params.get(name) or "").strip()[:100] for name in cls.__dataclass_fields__
                  if name != "scope"}
        for day in ("since", "until"):
            try:
                datetime.strptime(values[day], "%Y-%m-%d")
            except ValueError:
                values[day] = ""
        return cls(**values, scope=scope)

    def where(self, time_column: str | None = None) -> tuple[str, list]:
        """SQL conditions on the box ``b`` (the user's scope, then place) and, given a column,
        on the time window."""
        scoped, args = self.scope.where()
        clauses = [scoped]
        for name in PLACE:
            if getattr(self, name):
                clauses.append(f"b.{name} = ?")
                args.append(getattr(self, name))
        if time_column and self.since:
            clauses.append(f"{time_column} >= ?")
            args.append(self.since)
        if time_column and self.until:
            clauses.append(f"{time_column} < ?")
            args.append((datetime.strptime(self.until, "%Y-%m-%d")
                         + timedelta(days=1)).strftime("%Y-%m-%d"))
        return " AND ".join(clauses), args


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def minutes_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (parse_time(end) - parse_time(start)).total_seconds() / 60


def boxes(db, filters: Filters, stale_hours: float = 24) -> list[dict]:
    where, args = filters.where()
    with db.transaction(write=False) as tx:
        rows = tx.dicts(
            # Open alarms of the log the box uploads to now: an alarm left open in a database
            # since replaced will never be closed, and is no longer the box's to report.
            "SELECT b.box_id, b.county, b.township, b.village, b.last_seen, b.log_no,"
            " b.households_registered,"
            " b.acked_seq, b.backlog, b.status, (SELECT count(*) FROM incidents i WHERE"
            " i.box_id = b.box_id AND i.log_no = b.log_no AND i.closed_at IS NULL)"
            " AS open_incidents FROM boxes b"
            f" WHERE {where} ORDER BY b.county, b.township, b.village, b.box_id", args)
    now = datetime.now(timezone.utc)
    for row in rows:
        row["status"] = json.loads(row["status"]) if row["status"] else {}
        seen = parse_time(row["last_seen"])
        row["stale"] = seen is None or now - seen > timedelta(hours=stale_hours)
        row["modems"] = row["status"].get("health", [])
    return rows


def incidents(db, filters: Filters, limit: int = MAX_ROWS) -> list[dict]:
    where, args = filters.where("i.opened_at")
    if filters.state == "open":
        where += " AND i.closed_at IS NULL"
    elif filters.state == "closed":
        where += " AND i.closed_at IS NOT NULL"
    if filters.acked == "yes":
        where += " AND i.first_ack_at IS NOT NULL"
    elif filters.acked == "no":
        where += " AND i.first_ack_at IS NULL"
    with db.transaction(write=False) as tx:
        rows = tx.dicts(
            "SELECT b.county, b.township, b.village, i.* FROM incidents i JOIN boxes b ON"
            f" b.box_id = i.box_id WHERE {where} ORDER BY i.opened_at DESC, i.box_id,"
            f" i.log_no DESC, i.incident_id DESC LIMIT {int(limit)}", args)
    for row in rows:
        minutes = minutes_between(row["opened_at"], row["first_ack_at"])
        row["minutes_to_ack"] = round(minutes, 1) if minutes is not None else None
    return rows


def months_back(now: datetime, count: int) -> list[str]:
    year, month = now.year, now.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def village_stats(db, filters: Filters, months: int = 12,
                  now: datetime | None = None) -> dict:
    """{'months': [...], 'villages': [{county, township, village, alarms: {month: n},
    failed: {month: n}, median_minutes_to_ack, alarms_total, acked_total, failed_total}]}

    Read from each box's months (``box_months``), so whole months: a ``since`` day counts
    its month from the start. Drills are not alarms, nor is a missed daily check-in (a knock
    on the door, listed with the incidents): neither is in the statistics."""
    now = now or datetime.now(timezone.utc)
    labels = months_back(now, months)
    first = (filters.since or labels[0])[:7]
    last = filters.until[:7] if filters.until else None
    villages: dict[tuple, dict] = {}

    def village(row) -> dict:
        key = (row["county"], row["township"], row["village"])
        return villages.setdefault(key, {
            "county": key[0], "township": key[1], "village": key[2],
            "alarms": dict.fromkeys(labels, 0), "failed": dict.fromkeys(labels, 0),
            "waits": []})

    place, args = filters.where()
    with db.transaction(write=False) as tx:
        for row in tx.dicts(f"SELECT b.county, b.township, b.village FROM boxes b WHERE {place}",
                            args):
            village(row)
        summary = months_of(tx, place, args, first, last)
    for row in summary:
        entry, month = village(row), row["month"]
        if month in entry["alarms"]:
            entry["alarms"][month] += int(row["alarms"])
            entry["failed"][month] += int(row["failed"])
        entry["waits"] += row["waits"]
    out = []
    for entry in sorted(villages.values(), key=lambda v: (v["county"], v["township"],
                                                          v["village"])):
        waits = entry.pop("waits")
        entry["median_minutes_to_ack"] = round(statistics.median(waits) / 60, 1) if waits \
            else None
        entry["alarms_total"] = sum(entry["alarms"].values())
        entry["acked_total"] = len(waits)
        entry["failed_total"] = sum(entry["failed"].values())
        out.append(entry)
    return {"months": labels, "villages": out}


def places(db, scope: Scope) -> dict[str, list[str]]:
    """The distinct counties, townships and villages the user may see, for the filter menus."""
    where, args = Filters(scope=scope).where()
    with db.transaction(write=False) as tx:
        rows = tx.rows(f"SELECT DISTINCT county, township, village FROM boxes b WHERE {where}",
                       args)
    return {"county": sorted({r[0] for r in rows}), "township": sorted({r[1] for r in rows}),
            "village": sorted({r[2] for r in rows})}
