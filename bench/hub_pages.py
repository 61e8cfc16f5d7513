"""The dashboard's pages at a county's size: N boxes, each with a log of M events and an alarm in
every hundred, generated inside PostgreSQL (generate_series) rather than uploaded, so that a
county's worth of history takes seconds to build; the monthly summary is then counted from it
as an upgrading hub's migration does. Each page is fetched by a logged-in county
user a few times; the median is its time.
"""
from __future__ import annotations

import re
import statistics
import time
from datetime import datetime, timedelta, timezone

import httpx

from bench.hub_storm import _register
from edgebox.hub import box_months
from edgebox.hub.accounts import add_user
from edgebox.hub.database import Database, open_database
from tests.hub_support import HubProcess, USER_PASSWORD, try_login
from tests.pg_server import shared_postgres

FETCHES = 5


def _fill(db_url: str, boxes: int, events: int) -> str:
    """The boxes' logs and incidents over the last month; that month (YYYY-MM) for the
    report."""
    _register(db_url, [f"box-{n:04d}" for n in range(boxes)])
    start = datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0,
                                               microsecond=0) - timedelta(days=20)
    db = Database(db_url)
    try:
        with db.transaction() as tx:
            # Millions of rows take longer than the hub's 30 s limit on one request's statement.
            tx.execute("SET LOCAL statement_timeout = 0")
            # A box's events are a minute apart; every hundredth opens an alarm.
            tx.execute(
                "INSERT INTO events (box_id, log_no, seq, at, kind, incident_id, data,"
                " received_at) SELECT b.box_id, 1, s, to_char((?::timestamptz + s *"
                " interval '1 minute') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS'),"
                " CASE WHEN s % 100 = 0 THEN 'incident_opened' ELSE 'modem_health' END,"
                " CASE WHEN s % 100 = 0 THEN s / 100 END, '{\"signal\": 20}', ?"
                " FROM boxes b, generate_series(1, ?) s", (start.isoformat(), start.isoformat(),
                                                          events))
            # Each alarm is acknowledged 30 s to 5 min after it opened, all to the second
            # different: the monthly summary keeps one row per wait, so this is its worst case.
            tx.execute(
                "INSERT INTO incidents (box_id, log_no, incident_id, group_id, household, phone,"
                " kind, drill, opened_at, closed_at, close_reason, first_ack_at, acks, sms_sent,"
                " calls, failed) SELECT box_id, log_no, incident_id, 'G1', 'H01',"
                " '+8613800138001', 'fire', 0, at, at, 'expired', to_char((at::timestamptz +"
                " (30 + (incident_id * 7) % 270) * interval '1 second') AT TIME ZONE 'UTC',"
                " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS'), 1, 10, 2, 1"
                " FROM events WHERE kind = 'incident_opened'")
            tx.execute("UPDATE boxes SET acked_seq = ?, last_seen = ?", (events,
                                                                          start.isoformat()))
            tx.execute("UPDATE box_logs SET acked_seq = ?", (events,))
            box_months.fill(tx)  # as a hub upgrading to the summary would
            tx.execute("ANALYZE")
    finally:
        db.close()
    return start.strftime("%Y-%m")


def pages(boxes: int, events: int, work) -> dict:
    db_url = shared_postgres().new_database("pages")
    db = open_database(db_url)
    add_user(db, "zhao", USER_PASSWORD)
    db.close()
    begun = time.monotonic()
    month = _fill(db_url, boxes, events)
    filled = time.monotonic() - begun
    hub = HubProcess(db_url, work).start()
    times = {}
    try:
        with httpx.Client(base_url=hub.url, timeout=120) as client:
            if try_login(client, USER_PASSWORD, "zhao").status_code != 303:
                raise RuntimeError("the benchmark's user cannot log in")
            for name, path in (("boxes", "/"), ("incidents", "/incidents"),
                               ("stats", "/stats"), ("monthly_report", f"/report?month={month}")):
                seconds = []
                for _ in range(FETCHES):
                    start = time.monotonic()
                    answer = client.get(path)
                    seconds.append(time.monotonic() - start)
                    if answer.status_code != 200 or not re.search("</html>", answer.text):
                        raise RuntimeError(f"{path} answered {answer.status_code}")
                times[name] = round(statistics.median(seconds) * 1000)
    finally:
        hub.stop()
    return {"boxes": boxes, "events_per_box": events, "fill_seconds": round(filled, 1),
            "page_ms": times}
