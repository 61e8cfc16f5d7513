"""The scheme's monthly report for a township or the county, and the coverage figures behind
it: per village, households enrolled in the box's roster against the households the village
registered, groups, leaders, vulnerable households in a group, alarms by type, the median and
90th percentile minutes to a first acknowledgement, drills held and their acknowledgement rate.

Enrolment comes from the newest ``roster_replaced`` event each box uploaded (the box counts its
roster there, ``Roster.coverage``); alarms, waits and drills from each box's month as ingest
kept it (``edgebox.hub.box_months``: from the incidents and the drills' ``drill_report``).
Every query is narrowed by the user's scope through ``Filters.where``.
"""
from __future__ import annotations

import json
import math
import statistics
from datetime import datetime

from edgebox.hub.audit import record_in
from edgebox.hub.box_months import months_of
from edgebox.hub.errors import RegistryError
from edgebox.hub.reports import Filters
from edgebox.hub.scope import Scope

COVERAGE = ("households", "groups", "leaders", "in_groups", "vulnerable",
            "vulnerable_in_groups")


def month_window(month: str) -> tuple[str, str]:
    """'2026-05' → ('2026-05', '2026-06'): the month's first day and the next month's."""
    try:
        start = datetime.strptime(month, "%Y-%m")
    except ValueError as exc:
        raise RegistryError(f"a month is written YYYY-MM, not {month!r}") from exc
    year, number = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.strftime("%Y-%m"), f"{year:04d}-{number:02d}"


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (the value below which ``share`` of them lie)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def monthly_report(db, scope: Scope, month: str, township: str = "") -> dict:
    """{'month', 'township', 'villages': [...], 'totals': {...}, 'kinds': [...]}"""
    start, end = month_window(month)
    filters = Filters(township=township, scope=scope)
    where, args = filters.where()
    villages: dict[str, dict] = {}
    with db.transaction(write=False) as tx:
        for row in tx.dicts("SELECT b.box_id, b.county, b.township, b.village,"
                            " b.households_registered FROM boxes b WHERE"
                            f" {where} ORDER BY b.township, b.village, b.box_id", args):
            villages[row["box_id"]] = {**row, **dict.fromkeys(COVERAGE, None), "kinds": {},
                                       "waits": [], "drills": 0, "drill_acked": 0,
                                       "drill_total": 0}
        # The newest roster each box reported by the month's end.
        for row in tx.dicts("SELECT e.box_id, e.data FROM events e JOIN boxes b ON b.box_id ="
                            f" e.box_id WHERE e.kind = 'roster_replaced' AND e.at < ? AND {where}"
                            " ORDER BY e.at, e.log_no, e.seq", [end, *args]):
            data = json.loads(row["data"])
            villages[row["box_id"]].update({k: data.get(k) for k in COVERAGE})
        summary = months_of(tx, where, args, start, start)
    for row in summary:
        entry = villages[row["box_id"]]
        for kind, n in row["kinds"].items():
            entry["kinds"][kind] = entry["kinds"].get(kind, 0) + n
        entry["waits"] += row["waits"]
        for name in ("drills", "drill_acked", "drill_total"):
            entry[name] += int(row[name])
    kinds = sorted({k for v in villages.values() for k in v["kinds"]})
    every_wait = []  # seconds: minutes only once the median is taken
    for entry in villages.values():
        waits = entry.pop("waits")
        every_wait += waits
        entry["alarms"] = sum(entry["kinds"].values())
        entry["median_ack"] = _minutes(statistics.median(waits) if waits else None)
        entry["p90_ack"] = _minutes(percentile(waits, 0.9))
        entry["coverage"] = _share(entry["households"], entry["households_registered"])
        entry["drill_rate"] = _share(entry["drill_acked"], entry["drill_total"])
    rows = list(villages.values())
    totals = {name: sum(v[name] or 0 for v in rows) for name in (
        *COVERAGE, "households_registered", "alarms", "drills", "drill_acked", "drill_total")}
    totals["coverage"] = _share(totals["households"], totals["households_registered"])
    totals["drill_rate"] = _share(totals["drill_acked"], totals["drill_total"])
    every_wait.sort()
    totals["median_ack"] = _minutes(statistics.median(every_wait) if every_wait else None)
    totals["p90_ack"] = _minutes(percentile(every_wait, 0.9))
    totals["kinds"] = {k: sum(v["kinds"].get(k, 0) for v in rows) for k in kinds}
    return {"month": start, "township": township, "villages": rows, "totals": totals,
            "kinds": kinds}


def _minutes(seconds: float | None) -> float | None:
    return round(seconds / 60, 1) if seconds is not None else None


def _share(part: int | None, whole: int | None) -> float | None:
    """A percentage with one decimal, None when there is nothing to divide by."""
    return round(100 * part / whole, 1) if part is not None and whole else None


def set_households_registered(db, scope: Scope, box_id: str, count: int, actor: str,
                              address: str = "") -> bool:
    """The village's registered household count for its box. Only the village's own account
    or the county may set it; False when this user may not (or the box is not there)."""
    if not 0 <= count <= 100000:
        raise RegistryError("a household count is between 0 and 100000")
    if scope.role not in ("county", "village"):
        return False
    where, args = Filters(box_id=box_id, scope=scope).where()
    with db.transaction() as tx:
        changed = tx.execute("UPDATE boxes SET households_registered = ? WHERE box_id IN"
                             f" (SELECT b.box_id FROM boxes b WHERE {where})",
                             [count, *args]) == 1
        if changed:
            record_in(tx, actor, "households_set", f"{box_id} {count}", address)
    return changed
