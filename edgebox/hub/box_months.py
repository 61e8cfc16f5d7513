"""Each box's month in a few numbers, kept at ingest, so the statistics and the monthly report
read a thousand small rows instead of every alarm and event of the period.

One row per (box, month, measure, detail), ``n`` its count:

- ``alarm`` / the alarm's type: alarms opened that month (drills and missed daily check-ins are
  not alarms: a check-in is a knock on the door, listed with the incidents but never counted);
- ``ack_wait`` / whole seconds from opening to the first acknowledgement: how many of that
  month's alarms waited so long (the medians and 90th percentiles are taken from these);
- ``drill``: drills opened that month;
- ``failed``: deliveries that failed that month (``delivery_failed`` events, by their time);
- ``drill_acked`` / ``drill_total``: the drills' own reports of who acknowledged, out of whom.

The month is the UTC month of the time the box wrote (``at``, ``opened_at``), as the incidents
and events hold it. ``Tally`` gathers one batch's changes as ``ingest`` folds its new events
into the incidents table and writes them at the end, inside the batch's transaction: an event
already held is never folded again, so a batch sent twice counts once. ``from_scratch`` counts
the same from the incidents and events alone: it fills the table when a hub upgrades, and the
tests hold the kept table to it.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime

MEASURES = ("alarm", "ack_wait", "drill", "failed", "drill_acked", "drill_total")
_UPSERT = ("INSERT INTO box_months (box_id, month, measure, detail, n) VALUES (?, ?, ?, ?, ?)"
           " ON CONFLICT (box_id, month, measure, detail) DO UPDATE SET"
           " n = box_months.n + excluded.n")


def wait_seconds(opened_at: str, first_ack_at: str) -> int:
    """Seconds to the first acknowledgement, whole (the pages show tenths of a minute)."""
    return round((datetime.fromisoformat(first_ack_at)
                  - datetime.fromisoformat(opened_at)).total_seconds())


def alarm_measure(kind: str | None, drill: int | bool) -> str | None:
    """What an opened incident counts as: 'drill', 'alarm', or None (a missed check-in)."""
    if drill:
        return "drill"
    return None if (kind or "") == "check_in" else "alarm"


class Tally:
    """One batch's changes to its box's months, written once at the end of the batch."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def add(self, at: str, measure: str, detail: str = "", n: int = 1) -> None:
        if n:
            self.counts[(at[:7], measure, detail)] += n

    def opened(self, at: str, kind: str | None, drill: int | bool) -> None:
        measure = alarm_measure(kind, drill)
        if measure == "alarm":
            self.add(at, "alarm", kind or "call")
        elif measure == "drill":
            self.add(at, "drill")

    def first_ack(self, opened_at: str, first_ack_at: str, kind: str | None,
                  drill: int | bool) -> None:
        if alarm_measure(kind, drill) == "alarm":
            self.add(opened_at, "ack_wait", str(wait_seconds(opened_at, first_ack_at)))

    def event(self, kind: str, at: str, data: dict) -> None:
        """The events counted by their own time, whether or not they name an incident."""
        if kind == "delivery_failed":
            self.add(at, "failed")
        elif kind == "drill_report":
            self.add(at, "drill_acked", n=_count(data.get("acked")))
            self.add(at, "drill_total", n=_count(data.get("total")))

    def write(self, tx, box: str) -> None:
        tx.executemany(_UPSERT, [(box, month, measure, detail, n)
                                 for (month, measure, detail), n in self.counts.items()])


def _count(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0  # a report the box wrote wrongly counts nothing rather than stopping ingest


def from_scratch(tx) -> dict[tuple, int]:
    """{(box, month, measure, detail): n} counted afresh from the incidents and events."""
    tallies: dict[str, Tally] = {}
    for box, kind, drill, opened, first_ack in tx.rows(
            "SELECT box_id, kind, drill, opened_at, first_ack_at FROM incidents"):
        tally = tallies.setdefault(box, Tally())
        tally.opened(opened, kind, drill)
        if first_ack:
            tally.first_ack(opened, first_ack, kind, drill)
    for box, kind, at, data in tx.rows(
            "SELECT box_id, kind, at, data FROM events WHERE kind IN ('delivery_failed',"
            " 'drill_report')"):
        tallies.setdefault(box, Tally()).event(kind, at, json.loads(data))
    return {(box, *key): n for box, tally in tallies.items() for key, n in tally.counts.items()}


def fill(tx) -> None:
    """Count the months of what the hub already holds (the upgrade that adds the table)."""
    tx.execute("DELETE FROM box_months")
    tx.executemany("INSERT INTO box_months (box_id, month, measure, detail, n) VALUES"
                   " (?, ?, ?, ?, ?)", [(*key, n) for key, n in from_scratch(tx).items()])


def kept(tx) -> dict[tuple, int]:
    """The table as ingest kept it, in ``from_scratch``'s shape."""
    return {tuple(row[:4]): int(row[4]) for row in tx.rows(
        "SELECT box_id, month, measure, detail, n FROM box_months")}


def months_of(tx, where: str, args: list, first: str, last: str | None = None,
              measures: tuple[str, ...] = MEASURES) -> list[dict]:
    """The summary rows of the boxes ``b`` matching ``where`` from month ``first`` to ``last``
    (YYYY-MM, inclusive), with each box's place."""
    marks = ", ".join("?" * len(measures))
    sql = ("SELECT b.box_id, b.county, b.township, b.village, m.month, m.measure, m.detail,"
           " m.n FROM box_months m JOIN boxes b ON b.box_id = m.box_id WHERE"
           f" m.measure IN ({marks}) AND m.month >= ? AND {where}")
    values = [*measures, first, *args]
    if last:
        sql += " AND m.month <= ?"
        values.append(last)
    return tx.dicts(sql, values)


def _nth(ordered: list[tuple[float, int]], index: int) -> float:
    """The value at 0-based ``index`` of the values written out ``n`` times each, in order."""
    for value, n in ordered:
        if index < n:
            return value
        index -= n
    raise IndexError(index)


def weighted_median(counted: list[tuple[float, int]]) -> float | None:
    """The median of values each given with how many times it occurs: ``statistics.median``
    of them all written out, without writing them out."""
    total, ordered = sum(n for _, n in counted), sorted(counted)
    if not total:
        return None
    if total % 2:
        return _nth(ordered, total // 2)
    return (_nth(ordered, total // 2 - 1) + _nth(ordered, total // 2)) / 2


def weighted_percentile(counted: list[tuple[float, int]], share: float) -> float | None:
    """The nearest-rank percentile (the value below which ``share`` of them lie) of values
    each given with how many times it occurs."""
    total = sum(n for _, n in counted)
    if not total:
        return None
    return _nth(sorted(counted), max(0, math.ceil(share * total) - 1))
