"""The store stays fast on an SD card with a year of history: every hot query uses an index
(EXPLAIN QUERY PLAN, on a database holding history), every foreign key has its index (or each
delete scans the child table), the alarm path waits for the disk once before its first SMS,
events deferred off that path keep the log gap-free, retention deletes in small lazy chunks,
and the WAL is checkpointed on its own thread, not in a commit."""
import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bench.history import fill_history
from edgebox.domain import alarm
from edgebox.store import SqliteStore
from edgebox.store.wal_checkpoints import WalCheckpointer
from edgebox.uplink import retention

from tests.test_store import T0, roster

NOW = T0 + timedelta(days=400)
# Table scans that grow with history: forbidden on these tables in any hot statement.
BIG_TABLES = ("deliveries", "sms_parts", "events")


@pytest.fixture
def old_store(tmp_path):
    """A store with a roster and 3000 old SMS of history (plans do not depend on the count:
    SQLite chooses them from the schema alone until ANALYZE is run, which the box never does)."""
    s = SqliteStore(tmp_path / "box.db")
    s.roster.replace(roster(6), T0)
    s.close()
    fill_history(tmp_path / "box.db", 3000, NOW)
    s = SqliteStore(tmp_path / "box.db")
    yield s
    s.close()


def traced(store, action):
    """The statements ``action()`` made on the store's connection, parameters filled in."""
    statements = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        action()
    finally:
        store.db.conn.set_trace_callback(None)
    return [s for s in statements if re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", s, re.I)]


def full_scans(conn, statements):
    """(statement, plan line) for every plan step that scans a big table whole."""
    found = []
    for sql in statements:
        for row in conn.execute("EXPLAIN QUERY PLAN " + sql):
            detail = row[-1]
            if re.match(rf"SCAN ({'|'.join(BIG_TABLES)})\b", detail) and \
                    "USING INTEGER PRIMARY KEY" not in detail:
                found.append((sql, detail))
    return found


def hot_path(store):
    """What an alarm and its aftermath do: open with plan, claim, record sent, report,
    acknowledgement by SMS (who was told), close."""
    r = store.roster.load()
    group = r.group("第一组")
    caller = r.household("H3")
    plan = alarm.plan_alarm(r, group, caller, caller.primary_phone)
    incident = store.incidents.open(NOW, group.id, caller.id, caller.primary_phone, plan=plan)
    delivery = store.outbox.claim_next(NOW, ("sms",), "m0")
    store.outbox.finish(NOW, delivery.id, "sent", "sms_sent", modem_ref="77")
    store.reports.record(NOW, "m0", 77, True)
    assert [i.id for i in store.incidents.notifying(delivery.household_id)] == [incident.id]
    store.incidents.record_ack(NOW, incident.id, delivery.household_id, delivery.phone, "sms")
    store.unknown_caller_notices(NOW - timedelta(hours=1))
    store.incidents.close(NOW, incident.id, "cancelled")


def test_hot_queries_use_indexes_not_table_scans(old_store):
    statements = traced(old_store, lambda: hot_path(old_store))
    assert len(statements) > 10
    assert full_scans(old_store.db.conn, statements) == []


def vm_steps(conn: sqlite3.Connection, sql: str) -> int:
    """SQLite's virtual-machine instructions to run a read, to the nearest ten."""
    count = 0

    def tick():
        nonlocal count
        count += 1
        return 0  # go on
    conn.set_progress_handler(tick, 10)
    try:
        conn.execute(sql).fetchall()
    finally:
        conn.set_progress_handler(None, 0)
    return count * 10


def test_no_hot_read_walks_the_history(old_store):
    """An index is not enough: a read can use one and still walk every delivery a household
    was ever sent. Each read of an alarm's path, run again on a database with 3000 old SMS,
    takes under 1000 of SQLite's instructions (the walk that found which open alarms a
    household was told of took 3,070 here, 30,060 with 30,000 SMS, and 9 ms of every call
    and SMS with a year's 300k)."""
    reads = [s for s in traced(old_store, lambda: hot_path(old_store))
             if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) > 5
    costly = {sql: steps for sql in reads
              if (steps := vm_steps(old_store.db.conn, sql)) >= 1000}
    assert costly == {}


def test_retention_queries_use_indexes(old_store):
    before = NOW - timedelta(days=30)
    statements = traced(old_store, lambda: retention.prune(
        old_store, 10 ** 9, NOW, ["modem_health"], 7, 30))
    assert any("DELETE FROM sms_parts" in s for s in statements)
    assert full_scans(old_store.db.conn, statements) == []
    assert old_store.db.execute("SELECT count(*) FROM incidents WHERE closed_at < ?",
                                [before.strftime("%Y-%m-%dT%H:%M:%SZ")]).fetchone()[0] == 0


def test_every_foreign_key_has_an_index(old_store):
    """Deleting a parent row checks its children: without an index on the child's column that
    is a scan of the child table per row deleted (retention's chunks took seconds)."""
    conn = old_store.db.conn
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                         " AND name NOT LIKE 'sqlite_%'")]
    missing = []
    for table in tables:
        leading = {conn.execute(f"PRAGMA index_info({index[1]})").fetchone()[2]
                   for index in conn.execute(f"PRAGMA index_list({table})")}
        for key in conn.execute(f"PRAGMA foreign_key_list({table})"):
            if key[3] not in leading:
                missing.append(f"{table}.{key[3]}")
    assert missing == []


def test_retention_deletes_in_small_lazy_chunks(old_store):
    """Each chunk is one short transaction that changes a bounded number of rows and does not
    wait for the disk (the old chunks of 500 incidents took thousands of rows each)."""
    conn, changes = old_store.db.conn, []
    last = [conn.total_changes]

    def observe(durable, held):
        changes.append((durable, conn.total_changes - last[0]))
        last[0] = conn.total_changes
    old_store.observe_commits(observe)
    pruned = retention.prune(old_store, 10 ** 9, NOW + timedelta(days=60), [], 7, 30)
    assert pruned["incidents"] > retention.INCIDENT_CHUNK and pruned["events"] > retention.CHUNK
    assert len(changes) > 10
    assert not any(durable for durable, _ in changes)
    assert max(rows for _, rows in changes) <= 2 * retention.CHUNK


def test_deferred_events_join_the_next_durable_commit_in_order_and_gap_free(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    store.roster.replace(roster(4), T0)
    seen, commits = [], []
    store.subscribe(lambda event: seen.append(event.kind))
    store.observe_commits(lambda durable, held: commits.append(durable))
    store.append_event(T0, "first")
    store.defer_event(T0, "call_rejected", None, modem="m1")
    assert store.events_of_kinds(["call_rejected"]) == []  # no commit of its own
    store.outbox.claim_next(T0)  # a lazy commit does not carry it (a power cut may undo it)
    assert store.events_of_kinds(["call_rejected"]) == []
    with pytest.raises(RuntimeError):  # a rolled-back transaction keeps it for the next one
        with store.transaction() as conn:
            store._append(conn, T0, "doomed", None, {})
            raise RuntimeError("boom")
    store.append_event(T0, "second")
    events = store.events_after(0)
    assert [e.kind for e in events][-3:] == ["first", "call_rejected", "second"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert seen[-3:] == ["first", "call_rejected", "second"]
    assert commits == [True, False, True]  # first, the claim, second (none rolled back)
    store.defer_event(T0, "siren_on", None)
    assert not store.flush_deferred(older_than=3600)  # not waited long enough
    assert store.flush_deferred()
    store.defer_event(T0, "siren_off", None)
    store.close()  # writes what is left
    reopened = SqliteStore(tmp_path / "box.db")
    assert [e.kind for e in reopened.events_after(0)][-2:] == ["siren_on", "siren_off"]
    reopened.close()


def test_checkpoints_run_on_their_own_thread_not_in_a_commit(tmp_path):
    store = SqliteStore(tmp_path / "box.db", idle_checkpoints=True, checkpoint_after=0.2)
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    store.roster.replace(roster(4), T0)
    for n in range(50):
        store.append_event(T0, "modem_health", None, filler="x" * 4000, n=n)
    checkpointer = store._checkpointer
    wait_until(lambda: checkpointer.checkpoints >= 1, 30)
    # The log was copied into the database: a new connection sees everything, none in the WAL.
    probe = sqlite3.connect(tmp_path / "box.db")
    busy, frames, done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, frames) == (0, done)
    probe.close()
    store.close()


def test_a_busy_box_is_checkpointed_once_the_wal_passes_its_bound(tmp_path):
    """Never idle (the quiet time is an hour here), the WAL still does not grow without limit."""
    store = SqliteStore(tmp_path / "box.db")
    store.close()
    conn = sqlite3.connect(tmp_path / "box.db", isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    checkpointer = WalCheckpointer(str(tmp_path / "box.db"), idle_seconds=3600,
                                   limit_bytes=256 * 1024)
    try:
        for n in range(200):
            conn.execute("INSERT INTO uplink_state (name, value) VALUES (?, ?)",
                         (f"k{n}", "y" * 4000))
            checkpointer.committed()
        wait_until(lambda: checkpointer.checkpoints >= 1, 30)
    finally:
        checkpointer.close()
        conn.close()


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


FIRST_COMMIT_AFTER_CHECKPOINT = """
import sys, time
from datetime import datetime, timezone
from edgebox.store import SqliteStore
store = SqliteStore(sys.argv[1], idle_checkpoints=True, checkpoint_after=0.2)
now = datetime.now(timezone.utc)
store.append_event(now, "daemon_started")
deadline = time.monotonic() + 30
while store.db.execute("SELECT count(*) FROM wal_restarts").fetchone()[0] == 0:
    assert time.monotonic() < deadline, "no checkpoint"
    time.sleep(0.05)
time.sleep(0.2)  # the restart row's commit has returned; its flush is over
start = time.monotonic()
store.append_event(now, "incident_opened")
print(start, time.monotonic())
"""


def test_the_first_commit_after_an_idle_checkpoint_flushes_once(tmp_path):
    """A FULL commit that starts the WAL over syncs its header too: the checkpointer starts it
    over itself, so the alarm after a quiet spell waits for the disk once. Flushes counted by
    the benchmarks' LD_PRELOAD shim."""
    from bench.sdcard import build_shim
    shim, why = build_shim()
    if shim is None:
        pytest.skip(why)
    log = tmp_path / "fsync.log"
    done = subprocess.run(
        [sys.executable, "-c", FIRST_COMMIT_AFTER_CHECKPOINT, str(tmp_path / "box.db")],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent,
        env={**os.environ, "LD_PRELOAD": str(shim), "EDGEBOX_FSYNC_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    start, end = map(float, done.stdout.split())
    flushes = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    assert sum(start <= began and ended <= end for began, ended, _ in flushes) == 1


def flushes_on_the_benchmarks_card(tmp_path, script: str, delay_ms: int) -> list[tuple]:
    """Run ``script`` (given a directory) with the benchmarks' fsync shim at ``delay_ms``; the
    flushes it logged, (called, returned, served), in the order they were called."""
    from bench.sdcard import build_shim
    shim, why = build_shim()
    if shim is None:
        pytest.skip(why)
    log = tmp_path / "fsync.log"
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
        timeout=60, env={**os.environ, "LD_PRELOAD": str(shim), "EDGEBOX_FSYNC_LOG": str(log),
                         "EDGEBOX_FSYNC_DELAY_MS": str(delay_ms)})
    assert done.returncode == 0, done.stderr
    return sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())


TWO_FLUSHES_AT_ONCE = """
import os, sys, threading
barrier = threading.Barrier(2)
def flush(name):
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(b"x")
        barrier.wait()
        os.fsync(f.fileno())
threads = [threading.Thread(target=flush, args=(n,)) for n in ("a", "b")]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_the_benchmarks_card_serves_one_flush_at_a_time(tmp_path):
    """Like an SD card, the shim makes a flush wait for one already in progress: two threads
    flushing at the same moment end at least one card delay apart (an alarm's commit meeting
    the idle checkpoint pays for it, as it would on a Pi)."""
    flushes = flushes_on_the_benchmarks_card(tmp_path, TWO_FLUSHES_AT_ONCE, delay_ms=200)
    ends = sorted(end for _, end, _ in flushes)
    assert len(ends) == 2 and ends[1] - ends[0] >= 0.2
    # the card began serving the second only once it was done with the first: the log tells
    # the wait in the queue from the card's time
    first_served, second_served = sorted(served for _, _, served in flushes)
    assert second_served - first_served >= 0.2


FLUSHES_IN_TURN = """
import os, sys, threading, time
def flush(name):
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(b"x")
        os.fsync(f.fileno())
def checkpoint():  # two flushes, one straight after the other
    flush("wal")
    flush("db")
def alarm():  # asks while the first of them is being served
    time.sleep(0.1)
    flush("alarm")
threads = [threading.Thread(target=checkpoint), threading.Thread(target=alarm)]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_the_benchmarks_card_serves_flushes_in_the_order_they_were_asked_for(tmp_path):
    """The block layer queues flushes: one asked for while the card is busy is served before
    one asked for later, even by the thread that had the card (a plain lock let a checkpoint's
    second flush overtake the alarm's that had waited for its first)."""
    flushes = flushes_on_the_benchmarks_card(tmp_path, FLUSHES_IN_TURN, delay_ms=300)
    served = [served for _, _, served in flushes]  # in the order they were asked for
    assert len(served) == 3 and served == sorted(served)
