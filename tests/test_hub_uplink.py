"""A box's uploader against a real hub process on loopback, on SQLite and on PostgreSQL.

Whatever happens on the way (the hub killed mid-batch, 500s, timeouts, batches sent twice),
the hub ends with every event of the box exactly once, in order, as the box wrote it.
"""
import random
from datetime import datetime, timezone

import pytest

from edgebox.store import SqliteStore
from edgebox.uplink.uploader import Uploader
from tests.hub_support import (FaultProxy, HubProcess, HubView, box_events, fill_box,
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


def assert_hub_has_exactly(view, store, url=None):
    """Nothing lost, nothing doubled, nothing changed on the way (after a last upload from a
    fresh uploader when ``url`` is given, for what the box logged about the trouble itself)."""
    if url:
        flusher = Uploader(settings(url), store)
        assert flusher.run_once().ok
        flusher.client.close()
    assert view.events() == box_events(store)
    seqs = [e["seq"] for e in view.events()]
    assert seqs == sorted(set(seqs)) and view.count() == len(seqs)
    incidents = view.incidents()
    states = {i.id: i.state for i in store.incidents()}
    assert [row["incident_id"] for row in incidents] == sorted(states)
    for row in incidents:
        assert row["acks"] == len(store.acks(row["incident_id"]))
        deliveries = store.deliveries(row["incident_id"])
        assert row["sms_sent"] == sum(d["state"] == "sent" for d in deliveries)
        assert row["failed"] == sum(d["state"] == "failed" for d in deliveries)
        assert (row["closed_at"] is not None) == (states[row["incident_id"]] == "closed")
        assert (row["first_ack_at"] is not None) == bool(store.acks(row["incident_id"]))


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
    assert "uplink_restored" in [e["kind"] for e in store.events_after(0, 10 ** 6)]


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
        failed = [e for e in store.events_after(0, 10 ** 6) if e["kind"] == "uplink_failed"]
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
        incident = store.open_incident(datetime.now(timezone.utc), "G1", "H03",
                                       "+8618600138003")
        assert incident.id > 0
        proxy.release.set()
        total = len(box_events(store))
        wait_until(lambda: uploader.ledger.acked_seq() >= total, 60, "catch up")
    finally:
        uploader.stop()
        proxy.close()
    assert_hub_has_exactly(view, store, process.url)
