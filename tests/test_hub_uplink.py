"""A box's uploader against a real hub process on loopback, on SQLite and on PostgreSQL.

Whatever happens on the way (the hub killed mid-batch, 500s, timeouts, batches sent twice),
the hub ends with every event of the box exactly once, in order, as the box wrote it.
"""
import json
import random
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from edgebox.hub import schema as hub_schema
from edgebox.hub.database import open_database
from edgebox.store import SqliteStore
from edgebox.uplink.uploader import Uploader
from tests.hub_support import (TOKEN, FaultProxy, HubProcess, HubView, box_events, fill_box,
                               hub_database_url, register, settings, wait_until)

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    url = hub_database_url(request.param, tmp_path)
    register(url)
    process = HubProcess(url, tmp_path).start()
    view = HubView(url)
    yield process, view
    process.stop()
    view.close()


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    fill_box(store, incidents=4, noise=30)
    yield store
    store.close()


def assert_hub_has_exactly(view, store, url=None, log=None):
    """Nothing lost, nothing doubled, nothing changed on the way (after a last upload from a
    fresh uploader when ``url`` is given, for what the box logged about the trouble itself);
    ``log``: the hub's number for this database's log, when the box has had more than one."""
    if url:
        flusher = Uploader(settings(url), store)
        assert flusher.run_once().ok
        flusher.client.close()
    assert view.events(log=log) == box_events(store)
    seqs = [e["seq"] for e in view.events(log=log)]
    assert seqs == sorted(set(seqs)) and view.count(log=log) == len(seqs)
    incidents = view.incidents(log=log)
    states = {i.id: i.state for i in store.incidents.all()}
    assert [row["incident_id"] for row in incidents] == sorted(states)
    for row in incidents:
        assert row["acks"] == len(store.incidents.acks(row["incident_id"]))
        deliveries = store.outbox.all(row["incident_id"])
        assert row["sms_sent"] == sum(d.state == "sent" for d in deliveries)
        assert row["failed"] == sum(d.state == "failed" for d in deliveries)
        assert (row["closed_at"] is not None) == (states[row["incident_id"]] == "closed")
        assert (row["first_ack_at"] is not None) == bool(store.incidents.acks(row["incident_id"]))


def test_upload_ships_the_whole_log_in_order_and_the_ack_moves_the_cursor(hub, store):
    process, view = hub
    uploader = Uploader(settings(process.url), store)
    report = uploader.run_once()
    assert report.ok, report.error
    total = len(box_events(store))
    assert report.events == total and report.batches == -(-total // 25)
    assert uploader.ledger.acked_seq() == total == view.box()["acked_seq"]
    assert_hub_has_exactly(view, store)
    box = view.box()
    assert box["last_seen"] and box["backlog"] == 0
    # Nothing new: one heartbeat that stores nothing but refreshes the box's health.
    again = uploader.run_once()
    assert again.ok and again.events == 0 and again.batches == 1
    uploader.client.close()


def test_resume_after_the_hub_is_killed_after_storing_but_before_answering(hub, store,
                                                                          tmp_path):
    process, view = hub
    proxy = FaultProxy(process.port)
    uploader = Uploader(settings(proxy.url), store)
    proxy.plan = ["pass", "hold_response"]
    uploader.start()
    try:
        assert proxy.holding.wait(60)
        # The hub has committed the second batch and is about to answer: kill it now.
        stored_before_kill = view.count()
        assert stored_before_kill == 50
        process.kill()
        proxy.release.set()
        wait_until(lambda: uploader.failures >= 1, 30, "the box to notice")
        assert uploader.ledger.acked_seq() == 25  # no acknowledgement, no progress
        process.start()
        total = len(box_events(store))
        wait_until(lambda: uploader.ledger.acked_seq() >= total, 60, "the box to catch up")
    finally:
        uploader.stop()
        proxy.close()
    assert_hub_has_exactly(view, store, process.url)
    assert "uplink_restored" in [e.kind for e in store.events_after(0, 10 ** 6)]


def test_resume_after_the_hub_is_killed_while_the_batch_is_half_received(hub, store):
    process, view = hub
    proxy = FaultProxy(process.port)
    uploader = Uploader(settings(proxy.url), store)
    proxy.plan = ["pass", "pass", "hold_request"]
    uploader.start()
    try:
        assert proxy.holding.wait(60)
        process.kill()
        proxy.release.set()
        assert view.count() == 50  # the half-sent batch is not at the hub at all
        process.start()
        total = len(box_events(store))
        wait_until(lambda: uploader.ledger.acked_seq() >= total, 60, "the box to catch up")
    finally:
        uploader.stop()
        proxy.close()
    assert_hub_has_exactly(view, store, process.url)


def test_hub_killed_at_random_moments_loses_and_doubles_nothing(hub, tmp_path):
    process, view = hub
    store = SqliteStore(tmp_path / "big.db")
    fill_box(store, incidents=40, noise=1500)
    uploader = Uploader(settings(process.url, batch_events=40), store)
    chance = random.Random(6)
    total = len(box_events(store))
    uploader.start()
    try:
        for _ in range(3):
            reached = view.count() + chance.randint(20, 200)
            wait_until(lambda: view.count() >= min(reached, total - 1), 60, "progress")
            process.kill()
            process.start()
        wait_until(lambda: uploader.ledger.acked_seq() >= total, 120, "the box to catch up")
    finally:
        uploader.stop()
    assert_hub_has_exactly(view, store, process.url)
    store.close()


def test_500s_and_timeouts_back_off_and_never_move_the_cursor(hub, store):
    process, view = hub
    proxy = FaultProxy(process.port)
    uploader = Uploader(settings(proxy.url, timeout_seconds=1), store)
    try:
        proxy.plan = ["error500"]
        first = uploader.run_once()
        assert not first.ok and "500" in first.error
        proxy.plan = ["hang"]
        second = uploader.run_once()
        assert not second.ok and "in time" in second.error
        assert uploader.failures == 2 and uploader.ledger.acked_seq() == 0
        assert view.count() == 0
        failed = [e for e in store.events_after(0, 10 ** 6) if e.kind == "uplink_failed"]
        assert len(failed) == 1  # one event when failing starts, not one per retry
        proxy.plan = ["pass", "error500", "pass"]
        third = uploader.run_once()
        assert not third.ok and uploader.ledger.acked_seq() == 25
        fourth = uploader.run_once()
        assert fourth.ok and uploader.failures == 0
    finally:
        uploader.client.close()
        proxy.close()
    assert_hub_has_exactly(view, store, process.url)


def test_the_uploader_never_holds_the_store_while_the_hub_is_slow(hub, store):
    process, view = hub
    proxy = FaultProxy(process.port)
    uploader = Uploader(settings(proxy.url, timeout_seconds=30), store)
    proxy.plan = ["hold_response"]
    uploader.start()
    try:
        assert proxy.holding.wait(60)
        # The upload is in flight: an alarm can be recorded at once, the lock is free.
        assert store._lock.acquire(blocking=False)
        store._lock.release()
        incident = store.incidents.open(datetime.now(timezone.utc), "G1", "H03",
                                        "+8618600138003")
        assert incident.id > 0
        proxy.release.set()
        total = len(box_events(store))
        wait_until(lambda: uploader.ledger.acked_seq() >= total, 60, "catch up")
    finally:
        uploader.stop()
        proxy.close()
    assert_hub_has_exactly(view, store, process.url)


# ---- a box whose database is replaced ---------------------------------------------------------

def upload(url: str, store: SqliteStore, **overrides):
    uploader = Uploader(settings(url, **overrides), store)
    try:
        report = uploader.run_once()
    finally:
        uploader.client.close()
    assert report.ok, report.error
    return report


def move_database(source, target) -> None:
    """The SD card taken out: the database file and SQLite's side files, if any."""
    for suffix in ("", "-wal", "-shm"):
        if (source.parent / (source.name + suffix)).exists():
            shutil.move(source.parent / (source.name + suffix),
                        target.parent / (target.name + suffix))


def test_a_replaced_box_database_is_a_new_log_and_both_logs_stay_whole(hub, store, tmp_path):
    process, view = hub
    old_id = store.db.conn.execute("SELECT value FROM uplink_state WHERE name = 'log_id'"
                                   ).fetchone()[0]
    upload(process.url, store)
    old_events = box_events(store)
    assert_hub_has_exactly(view, store, log=1)
    # The card is replaced: a new, empty database in the same place, its log from seq 1 again
    # (every one of its sequence numbers is one the hub already holds for this box).
    path = tmp_path / "box.db"
    store.close()
    move_database(path, tmp_path / "old-card.db")
    fresh = SqliteStore(path)
    fill_box(fresh, incidents=2, noise=3, start=datetime.now(timezone.utc) - timedelta(hours=1))
    new_events = box_events(fresh)
    assert len(new_events) < len(old_events)
    report = upload(process.url, fresh)
    assert report.events == len(new_events) and report.duplicates == 0
    logs = view.logs()
    assert [(log["log_no"], log["acked_seq"]) for log in logs] == [
        (1, len(old_events)), (2, len(new_events))]
    assert logs[0]["log_id"] == old_id and logs[1]["log_id"] not in (None, old_id)
    assert view.events(log=1) == old_events  # the old log untouched
    assert_hub_has_exactly(view, fresh, log=2)
    assert len(view.incidents(log=1)) == 4 and len(view.incidents(log=2)) == 2
    box = view.box()
    assert (box["log_no"], box["acked_seq"], box["backlog"]) == (2, len(new_events), 0)
    # A heartbeat stores nothing, and the new log goes on from where it is.
    assert upload(process.url, fresh).events == 0
    fresh.health.record(datetime.now(timezone.utc), "main", signal=17, registration="home")
    assert upload(process.url, fresh).events == 1
    assert_hub_has_exactly(view, fresh, log=2)
    fresh.close()
    # The old card put back: its log goes on as log 1, and log 2 stays as it is.
    move_database(path, tmp_path / "new-card.db")
    move_database(tmp_path / "old-card.db", path)
    old = SqliteStore(path)
    old.health.record(datetime.now(timezone.utc), "main", signal=9, registration="home")
    assert upload(process.url, old).events == 1
    assert_hub_has_exactly(view, old, log=1)
    assert view.count(log=2) == len(new_events) + 1
    assert view.box()["log_no"] == 1 and len(view.logs()) == 2
    old.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_hub_database_from_before_box_logs_upgrades_and_its_boxes_carry_on(kind, tmp_path,
                                                                             monkeypatch):
    url = hub_database_url(kind, tmp_path)
    # A hub as the release before box logs left it: schema 1, two boxes' logs stored.
    stores = {}
    with monkeypatch.context() as patch:
        patch.setattr(hub_schema, "MIGRATIONS", hub_schema.MIGRATIONS[:1])
        db = open_database(url)
    try:
        for box in ("box-1", "box-2"):
            store = stores[box] = SqliteStore(tmp_path / f"{box}.db")
            fill_box(store, incidents=2, noise=3)
            events = box_events(store)
            with db.transaction() as tx:
                tx.execute("INSERT INTO boxes (box_id, token, county, township, village,"
                           " created_at) VALUES (?, ?, '临安区', '太湖源镇', '石桥村', ?)",
                           (box, TOKEN, events[0]["at"]))
                tx.executemany("INSERT INTO events (box_id, seq, at, kind, incident_id, data,"
                               " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [(box, e["seq"], e["at"], e["kind"], e["incident_id"],
                                 json.dumps(e["data"], ensure_ascii=False), e["at"])
                                for e in events])
                tx.executemany("INSERT INTO incidents (box_id, incident_id, opened_at)"
                               " VALUES (?, ?, ?)", [(box, e["incident_id"], e["at"])
                                                     for e in events
                                                     if e["kind"] == "incident_opened"])
                tx.execute("UPDATE boxes SET acked_seq = ? WHERE box_id = ?",
                           (len(events), box))
            # The box's own cursor, as its old uploader left it.
            store.db.conn.execute("INSERT INTO uplink_state (name, value) VALUES"
                                  " ('acked_seq', ?)", (str(len(events)),))
    finally:
        db.close()
    process = HubProcess(url, tmp_path).start()  # migrates on start
    view = HubView(url)
    try:
        for box, store in stores.items():
            assert [(log["log_no"], log["log_id"]) for log in view.logs(box)] == [(1, None)]
            assert view.events(box, log=1) == box_events(store)
            assert len(view.incidents(box, log=1)) == 2
        # box-1 was upgraded with its database: its log goes on as log 1, now named.
        one = stores["box-1"]
        one.health.record(datetime.now(timezone.utc), "main", signal=12, registration="home")
        assert upload(process.url, one).events == 1
        assert view.events("box-1") == box_events(one)
        assert [log["log_no"] for log in view.logs("box-1")] == [1]
        assert view.logs("box-1")[0]["log_id"] is not None
        # box-2 came back with a new card: a new log, the old one kept as it was.
        old_events = box_events(stores["box-2"])
        stores["box-2"].close()
        move_database(tmp_path / "box-2.db", tmp_path / "box-2-old.db")
        fresh = stores["box-2"] = SqliteStore(tmp_path / "box-2.db")
        fill_box(fresh, incidents=1, noise=2)
        report = upload(process.url, fresh, box_id="box-2")
        assert report.events == len(box_events(fresh)) and report.duplicates == 0
        assert view.events("box-2", log=1) == old_events
        assert view.events("box-2", log=2) == box_events(fresh)
        assert view.box("box-2")["log_no"] == 2
    finally:
        process.stop()
        view.close()
        for store in stores.values():
            store.close()
