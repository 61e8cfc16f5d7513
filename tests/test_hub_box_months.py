"""Each box's months (edgebox.hub.box_months), kept at ingest, on SQLite and PostgreSQL: after
duplicate, overlapping, early and out-of-order uploads and a replaced box database they are
what a count from scratch of the incidents and events says, and an upgraded hub fills them
from what it already holds."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from edgebox.hub import box_months
from edgebox.hub.database import open_database
from edgebox.hub.ingest import store_batch
from edgebox.hub.registry import add_box
from edgebox.hub.schema import migrate
from edgebox.store import SqliteStore
from tests.hub_support import TOKEN, box_events, fill_box, hub_database_url

pytestmark = pytest.mark.slow
START = datetime(2026, 10, 30, 22, 0, tzinfo=timezone.utc)  # alarms on both sides of a month


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    db = open_database(hub_database_url(request.param, tmp_path))
    add_box(db, "box-1", "临安区", "太湖源镇", "石桥村", TOKEN)
    yield db
    db.close()


def village_log(path, start: datetime = START) -> list[dict]:
    """Alarms over two months with acks and failures, a fire, a drill with its report, and a
    missed check-in that a neighbour acknowledged (never an alarm)."""
    store = SqliteStore(path)
    fill_box(store, incidents=30, noise=5, start=start)
    at = start + timedelta(days=2)
    fire = store.incidents.open(at, "G1", "H02", "+8613800138002", alarm_type="fire")
    store.incidents.record_ack(at + timedelta(seconds=95), fire.id, "H03", "+8613800138003", "dtmf")
    store.incidents.record_ack(at + timedelta(seconds=99), fire.id, "H04", "+8613800138004", "dtmf")
    drill = store.incidents.open(at, "G2", "H07", "+8613800138007", alarm_type="fire",
                                 drill=True)
    store.incidents.record_ack(at + timedelta(seconds=40), drill.id, "H08", "+8613800138008",
                               "dtmf")
    store.incidents.close(at + timedelta(minutes=10), drill.id, "drill_over", report=(
        "drill_report", {"acked": 1, "total": 5, "households": ["H08"]}))
    missed = store.incidents.open(at, "G1", "H05", "+8613900138005", kind="check_in",
                                  alarm_type="check_in")
    store.incidents.record_ack(at + timedelta(seconds=517), missed.id, "H01", "+8613800138001",
                               "sms")
    events = box_events(store)
    store.close()
    return events


def upload(db, events: list[dict], after: int, log: str = "") -> None:
    through = events[-1]["seq"] if events else after
    store_batch(db, "box-1", {"after": after, "through": through, "events": events,
                              "status": {"backlog": 0}, "log": log})


def assert_kept_is_from_scratch(db) -> dict:
    with db.transaction(write=False) as tx:
        kept, counted = box_months.kept(tx), box_months.from_scratch(tx)
    assert kept == counted
    return kept


def test_the_months_kept_at_ingest_are_a_count_from_scratch(db, tmp_path):
    events = village_log(tmp_path / "box.db")
    assert len(events) > 200
    upload(db, events[:80], 0, "log-a")
    upload(db, events[:80], 0, "log-a")         # sent twice: the answer was lost
    upload(db, events[150:200], 149, "log-a")   # ahead of the hub: refused, nothing stored
    upload(db, events[40:120], 39, "log-a")     # overlapping the first
    # The box's card is replaced (a new log from seq 1), then its old card put back: the old
    # log resumes after the new one began.
    fresh = village_log(tmp_path / "fresh.db", START + timedelta(days=40))  # December
    upload(db, fresh[:120], 0, "log-b")
    upload(db, events[120:], 119, "log-a")
    upload(db, fresh[:120], 0, "log-b")
    kept = assert_kept_is_from_scratch(db)
    assert set(kept) == {("box-1", "2026-10"), ("box-1", "2026-11"), ("box-1", "2026-12")}
    october, november = (dict(zip(box_months.COLUMNS, kept[("box-1", m)]))
                         for m in ("2026-10", "2026-11"))
    assert (october["alarms"], json.loads(october["kinds"])) == (30, {"call": 30})
    assert (november["alarms"], json.loads(november["kinds"])) == (1, {"fire": 1})
    assert (november["drills"], november["drill_acked"], november["drill_total"]) == (1, 1, 5)
    assert october["failed"] == 15  # fill_box: every even alarm has one failure
    # fill_box: alarm n is acknowledged 2+n minutes after it opened; the fire's first ack
    # only counts, and the missed check-in's neighbour is not an alarm's wait.
    assert json.loads(october["waits"]) == [60 * (2 + n) for n in range(30)]
    assert json.loads(november["waits"]) == [95]


def test_an_upgraded_hub_fills_the_months_from_what_it_holds(db, tmp_path):
    events = village_log(tmp_path / "box.db")
    upload(db, events, 0)
    before = assert_kept_is_from_scratch(db)
    with db.transaction() as tx:  # the hub as it was before the table existed
        tx.execute("DROP TABLE box_months")
        tx.execute("UPDATE hub_schema SET version = 5")
    migrate(db)
    assert assert_kept_is_from_scratch(db) == before
