"""Each box's month in one row, kept at ingest, so the statistics and the monthly report read a
row per box and month instead of every alarm and event of the period.

A row holds the month's alarms (``alarms``, and by type in ``kinds``, a JSON object), the
seconds each of them waited for its first acknowledgement (``waits``, a JSON list: medians and
percentiles need every wait, not a sum), the drills, the failed deliveries and the drills' own
reports of who acknowledged out of whom. Drills and missed daily check-ins are not alarms (a
check-in is a knock on the door, listed with the incidents but never counted). The month is the
UTC month of the time the box wrote: an alarm's opening (its wait counts there too, whenever
the acknowledgement comes), a failure's or a drill report's own time.

``Tally`` gathers one batch's changes as ``ingest`` folds its new events into the incidents
table, and ``Tally.write`` merges them into the rows inside the batch's transaction, where the
box's row lock already serialises its uploads (so reading and rewriting a row races nothing).
An event already held is never folded again, so a batch sent twice counts once.
``from_scratch`` counts the same from the incidents and events alone: it fills the table when
a hub upgrades, and the tests hold the kept table to it.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

COUNTS = ("drills", "failed", "drill_acked", "drill_total")
COLUMNS = ("alarms", "kinds", "waits", *COUNTS)


@dataclass
class Month:
    kinds: Counter = field(default_factory=Counter)
    waits: list[int] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def merge(self, other: "Month") -> None:
        self.kinds.update(other.kinds)
        self.waits += other.waits
        self.counts.update(other.counts)

    def row(self) -> tuple:
        """The values of COLUMNS."""
        return (sum(self.kinds.values()), json.dumps(dict(sorted(self.kinds.items())),
                                                     ensure_ascii=False),
                json.dumps(sorted(self.waits)), *(self.counts[name] for name in COUNTS))

    @classmethod
    def of_row(cls, kinds: str, waits: str, *counts: int) -> "Month":
        return cls(Counter(json.loads(kinds)), json.loads(waits),
                   Counter({name: int(n) for name, n in zip(COUNTS, counts) if n}))


def wait_seconds(opened_at: str, first_ack_at: str) -> int:
    """Seconds to the first acknowledgement, whole (the pages show tenths of a minute)."""
    return round((datetime.fromisoformat(first_ack_at)
                  - datetime.fromisoformat(opened_at)).total_seconds())


def is_alarm(kind: str | None, drill: int | bool) -> bool:
    return not drill and (kind or "") != "check_in"


class Tally:
    """One batch's changes to its box's months."""

    def __init__(self) -> None:
        self.months: dict[str, Month] = {}

    def _month(self, at: str) -> Month:
        return self.months.setdefault(at[:7], Month())

    def opened(self, at: str, kind: str | None, drill: int | bool) -> None:
        if drill:
            self._month(at).counts["drills"] += 1
        elif is_alarm(kind, drill):
            self._month(at).kinds[kind or "call"] += 1

    def first_ack(self, opened_at: str, first_ack_at: str, kind: str | None,
                  drill: int | bool) -> None:
        if is_alarm(kind, drill):
            self._month(opened_at).waits.append(wait_seconds(opened_at, first_ack_at))

    def event(self, kind: str, at: str, data: dict) -> None:
        """The events counted by their own time, whether or not they name an incident."""
        if kind == "delivery_failed":
            self._month(at).counts["failed"] += 1
        elif kind == "drill_report":
            self._month(at).counts["drill_acked"] += _count(data.get("acked"))
            self._month(at).counts["drill_total"] += _count(data.get("total"))

    def write(self, tx, box: str) -> None:
        """Merge into the box's rows; the caller holds the box's row lock."""
        for month, change in sorted(self.months.items()):
            row = tx.one(f"SELECT {', '.join(COLUMNS[1:])} FROM box_months WHERE box_id = ?"
                         " AND month = ?", (box, month))
            total = Month.of_row(*row) if row else Month()
            total.merge(change)
            _put(tx, box, month, total)


def _put(tx, box: str, month: str, total: Month) -> None:
    tx.execute(f"INSERT INTO box_months (box_id, month, {', '.join(COLUMNS)}) VALUES"
               f" (?, ?, {', '.join('?' * len(COLUMNS))}) ON CONFLICT (box_id, month) DO UPDATE"
               f" SET {', '.join(f'{c} = excluded.{c}' for c in COLUMNS)}",
               (box, month, *total.row()))


def _count(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0  # a report the box wrote wrongly counts nothing rather than stopping ingest


def from_scratch(tx) -> dict[tuple[str, str], tuple]:
    """{(box, month): values of COLUMNS} counted afresh from the incidents and events."""
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
    return {(box, month): total.row() for box, tally in tallies.items()
            for month, total in tally.months.items()}


def fill(tx) -> None:
    """Count the months of what the hub already holds (the upgrade that adds the table)."""
    tx.execute("DELETE FROM box_months")
    for (box, month), values in from_scratch(tx).items():
        tx.execute(f"INSERT INTO box_months (box_id, month, {', '.join(COLUMNS)}) VALUES"
                   f" (?, ?, {', '.join('?' * len(COLUMNS))})", (box, month, *values))


def kept(tx) -> dict[tuple[str, str], tuple]:
    """The table as ingest kept it, in ``from_scratch``'s shape."""
    return {(row[0], row[1]): (int(row[2]), row[3], row[4], *(int(n) for n in row[5:]))
            for row in tx.rows(f"SELECT box_id, month, {', '.join(COLUMNS)} FROM box_months")}


def months_of(tx, where: str, args: list, first: str, last: str | None = None) -> list[dict]:
    """The rows of the boxes ``b`` matching ``where`` from month ``first`` to ``last``
    (YYYY-MM, inclusive), with each box's place; ``kinds`` and ``waits`` (seconds) decoded."""
    sql = ("SELECT b.box_id, b.county, b.township, b.village, m.month,"
           f" {', '.join(f'm.{c}' for c in COLUMNS)} FROM box_months m JOIN boxes b"
           f" ON b.box_id = m.box_id WHERE m.month >= ? AND {where}")
    values = [first, *args]
    if last:
        sql += " AND m.month <= ?"
        values.append(last)
    rows = tx.dicts(sql, values)
    # One decode for all the rows: a county's thousand small lists cost a tenth as much so.
    for row, kinds, waits in zip(rows, *json.loads(
            "[[" + ",".join(row["kinds"] for row in rows) + "],["
            + ",".join(row["waits"] for row in rows) + "]]")):
        row["kinds"], row["waits"] = kinds, waits
    return rows
