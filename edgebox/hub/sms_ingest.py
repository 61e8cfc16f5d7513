"""Reports that boxes with no data link texted the hub's modem: verify, refuse replays, keep.

A report is kept once per (box, seq): the same text delivered twice (networks do that: the
same SMS arriving 3-4 times minutes apart, signalapp/Signal-Android#596) or
replayed by someone who overheard it is refused as a replay and changes nothing. These rows are
the box's facts "by SMS": they never enter the events or incidents tables, so when the full log
arrives later over HTTP nothing is counted twice; a day's SMS counts are shown only for days the
full log does not cover yet (``reports_of``).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime

from edgebox.hub.registry import box_token, utc_iso
from edgebox.uplink import sms_format
from edgebox.uplink.sms_format import BadReport, Report

log = logging.getLogger("edgebox.hub")


class ReplayedReport(BadReport):
    """This box's report with this sequence number was already received."""


def ingest_report(db, sender: str, text: str, now: datetime | None = None) -> Report:
    """Verify and keep one report; BadReport (ReplayedReport for a repeat) when refused."""
    report = sms_format.verify(text, lambda box: box_token(db, box))
    with db.transaction() as tx:
        added = tx.execute(
            "INSERT INTO sms_reports (box_id, seq, kind, happened, data, sender, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (box_id, seq) DO NOTHING",
            (report.box, report.seq, report.kind, report.when,
             json.dumps(report.fields, ensure_ascii=False), sender, utc_iso(now)))
    if added == 0:
        raise ReplayedReport(f"report {report.seq} of box {report.box} was already received")
    log.info("SMS report %s #%d from %s (%s)", report.box, report.seq, sender, report.kind)
    return report


def _covered_until(tx, box: str) -> str | None:
    """The time of the newest event the hub holds of the box's current log (None: no log)."""
    row = tx.one("SELECT max(e.at) FROM events e JOIN boxes b ON b.box_id = e.box_id AND"
                 " b.log_no = e.log_no WHERE e.box_id = ?", (box,))
    return row[0] if row else None


def reports_of(db, box: str, limit: int = 60) -> list[dict]:
    """The box's SMS reports, newest first, each marked ``in_full_log`` when the log that came
    over HTTP already covers its day (then statistics come from the log, not from the SMS)."""
    with db.transaction(write=False) as tx:
        rows = tx.dicts("SELECT seq, kind, happened, data, sender, received_at FROM sms_reports"
                        " WHERE box_id = ? ORDER BY received_at DESC, seq DESC LIMIT ?",
                        (box, limit))
        covered = _covered_until(tx, box)
        incidents = {r[0] for r in tx.rows(
            "SELECT i.incident_id FROM incidents i JOIN boxes b ON b.box_id = i.box_id AND"
            " b.log_no = i.log_no WHERE i.box_id = ?", (box,))}
    for row in rows:
        row["data"] = json.loads(row["data"])
        if row["kind"] == sms_format.ESCALATION:
            row["in_full_log"] = row["data"]["incident"] in incidents
            continue
        day = f"{row['happened'][:4]}-{row['happened'][4:6]}-{row['happened'][6:8]}"
        # A day is covered once the log holds an event from a later day (box time is UTC in the
        # log; a day's last hours may be local, so only a later day proves the whole day).
        row["in_full_log"] = bool(covered) and covered[:10] > day
    return rows


def last_report_at(db) -> dict[str, str]:
    """When each box last reached the hub by SMS (for the silent-box alert)."""
    with db.transaction(write=False) as tx:
        return dict(tx.rows("SELECT box_id, max(received_at) FROM sms_reports GROUP BY box_id"))


def keep_refused(db, sender: str, text: str, reason: str, now: datetime | None = None) -> None:
    """A text that looked like a report and was refused, kept with the reason (shown on the
    alerts page): a box with a wrong token or a garbling network is seen, not silently lost."""
    with db.transaction() as tx:
        tx.execute("INSERT INTO sms_refused (sender, text, reason, received_at)"
                   " VALUES (?, ?, ?, ?)", (sender, text[:1000], reason, utc_iso(now)))


def refused(db, limit: int = 20) -> list[dict]:
    with db.transaction(write=False) as tx:
        return tx.dicts("SELECT sender, text, reason, received_at FROM sms_refused"
                        " ORDER BY received_at DESC LIMIT ?", (limit,))
