"""The store keeps every alarm: atomic roster swaps, an outbox that survives a crash, acks once,
and an event log without gaps."""
import json
import sqlite3
from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta, timezone

import pytest

from edgebox.domain import alarm
from edgebox.domain.roster import Group, Household, Roster
from edgebox.errors import RosterError, StoreError
from edgebox.store import SqliteStore
from edgebox.store.outbox_rows import DeliveryRow, SmsPart
from edgebox.store.schema import MIGRATIONS
from edgebox.uplink.ledger import UplinkLedger

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def roster(n=4):
    hs = tuple(Household(f"H{i}", f"户主{i}", f"一组{i}号", (f"+86138001380{i:02d}",),
                         frozenset({"elderly_alone"} if i == 2 else ()))
               for i in range(1, n + 1))
    return Roster(hs, (Group("第一组", "第一组", "H1", tuple(h.id for h in hs)),))


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "box.db")
    s.roster.replace(roster(), T0)
    yield s
    s.close()


def raise_alarm(store, caller="H3", rings=None):
    r = store.roster.load()
    incident = store.incidents.open(T0, "第一组", caller, r.household(caller).primary_phone)
    plan = alarm.plan_alarm(r, r.group("第一组"), r.household(caller), incident.caller_phone,
                            rings=rings)
    store.outbox.add(T0, incident.id, plan)
    return incident, plan


def test_roster_round_trips_and_bad_roster_changes_nothing(store):
    assert store.roster.load() == roster()
    broken = Roster(roster().households, (Group("第一组", "第一组", "H9", ("H1", "H2")),))
    with pytest.raises(RosterError):
        store.roster.replace(broken, T0)
    assert store.roster.load() == roster()


def test_outbox_is_drained_most_urgent_first(store):
    incident, plan = raise_alarm(store)
    order = []
    while (d := store.outbox.claim_next(T0)) is not None:
        order.append(d.purpose)
        store.outbox.finish(T0, d.id, "sent", "sms_sent" if d.kind == "sms" else
                            "call_placed")
    assert order == [d.purpose for d in sorted(plan, key=lambda d: d.priority)]
    assert (store.summary().sms_sent, store.summary().calls_placed) == (4, 3)


def test_backoff_holds_a_retry_until_its_time(store):
    raise_alarm(store)
    first = store.outbox.claim_next(T0)
    store.outbox.retry(T0, first.id, "CMS ERROR 500", T0 + timedelta(seconds=10))
    second = store.outbox.claim_next(T0)
    assert second.id != first.id
    later = T0 + timedelta(seconds=11)
    store.outbox.finish(T0, second.id, "sent", "sms_sent")
    assert store.outbox.claim_next(later).id == first.id
    assert store.outbox.get(first.id).attempts == 2


def test_crash_mid_send_requeues_exactly_what_was_in_flight(tmp_path):
    path = tmp_path / "box.db"
    s = SqliteStore(path)
    s.roster.replace(roster(), T0)
    raise_alarm(s)
    done = s.outbox.claim_next(T0)
    s.outbox.finish(T0, done.id, "sent", "sms_sent")
    in_flight = s.outbox.claim_next(T0)
    s.db.conn.close()  # the process dies here: no clean shutdown
    reopened = SqliteStore(path)
    assert reopened.outbox.requeue_interrupted(T0) == 1
    assert reopened.outbox.get(in_flight.id).state == "pending"
    assert reopened.outbox.get(done.id).state == "sent"
    claimed = [reopened.outbox.claim_next(T0).id for _ in range(6)]  # 7 planned, 1 sent
    assert done.id not in claimed and in_flight.id in claimed
    assert reopened.outbox.claim_next(T0) is None


def test_an_incident_opened_with_its_plan_commits_both_and_only_the_claim_is_lazy(store):
    r = store.roster.load()
    plan = alarm.plan_alarm(r, r.group("第一组"), r.household("H2"),
                            r.household("H2").primary_phone)
    incident = store.incidents.open(T0, "第一组", "H2", r.household("H2").primary_phone,
                                    plan=plan)
    assert store.incidents.unplanned() == []
    assert len(store.outbox.all(incident.id)) == len(plan)
    kinds = [e.kind for e in store.events_after(0)]
    assert kinds[-2:] == ["incident_opened", "deliveries_planned"]
    assert store.outbox.claim_next(T0) is not None
    # The claim's commit did not wait for the disk; every commit after it does again.
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_incident_committed_before_planning_is_found_unplanned(store):
    r = store.roster.load()
    incident = store.incidents.open(T0, "第一组", "H2", r.household("H2").primary_phone)
    assert [i.id for i in store.incidents.unplanned()] == [incident.id]
    store.outbox.add(T0, incident.id, alarm.plan_alarm(
        r, r.group("第一组"), r.household("H2"), incident.caller_phone))
    assert store.incidents.unplanned() == []


def test_ack_once_per_household_and_it_cancels_that_members_ring(store):
    incident, _ = raise_alarm(store)
    assert store.incidents.record_ack(T0, incident.id, "H1", "+8613800138001", "sms")
    assert not store.incidents.record_ack(T0, incident.id, "H1", "+8613800138001", "sms")
    calls = {d.household_id: d.state for d in store.outbox.all(incident.id)
             if d.kind == "call"}
    assert calls == {"H1": "cancelled", "H2": "pending", "H4": "pending"}
    assert len(store.incidents.acks(incident.id)) == 1


def test_event_log_is_gap_free_and_listeners_see_only_committed_events(store):
    seen = []
    store.subscribe(seen.append)
    raise_alarm(store)
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            store._append(conn, T0, "doomed", None, {})
            raise RuntimeError("crash inside a transaction")
    store.append_event(T0, "after")
    events = store.events_after(0)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert "doomed" not in [e.kind for e in events]
    assert [e.kind for e in seen] == ["incident_opened", "deliveries_planned", "after"]
    assert seen[1].data == {"sms": 4, "calls": 3, "purposes": ["alarm", "confirm", "ring"]}


def test_schema_is_versioned_and_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "box.db"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this edgebox knows"):
        SqliteStore(path)


def test_unwritable_database_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open database"):
        SqliteStore(blocker / "box.db")


def test_delivery_reports_match_their_own_part_by_reference(store):
    incident, _ = raise_alarm(store)
    one = store.outbox.claim_next(T0, ("sms",), modem="m1")
    store.outbox.finish(T0, one.id, "sent", "sms_sent", modem_ref="41,42")
    two = store.outbox.claim_next(T0, ("sms",), modem="m1")
    store.outbox.finish(T0, two.id, "sent", "sms_sent", modem_ref="43")
    other = store.outbox.claim_next(T0, ("sms",), modem="m2")
    store.outbox.finish(T0, other.id, "sent", "sms_sent", modem_ref="41")
    assert store.reports.record(T0, "m1", 43, True) == two.id
    assert store.outbox.get(two.id).report == "delivered"
    assert store.reports.record(T0, "m1", 41, True) == one.id
    assert store.outbox.get(one.id).report is None  # part 2 still unreported
    assert store.reports.record(T0, "m1", 42, False) == one.id
    assert store.outbox.get(one.id).report == "failed"
    assert store.outbox.get(other.id).report is None  # same reference, other modem
    assert store.reports.record(T0, "m1", 99, True) is None
    assert [p.status for p in store.outbox.sms_parts(one.id)] == ["delivered", "failed"]
    assert store.outbox.get(one.id).modem == "m1"
    assert store.outbox.get(other.id).modem == "m2"


def test_outbox_rows_are_frozen_dataclasses_with_utc_times(store):
    incident, _ = raise_alarm(store)
    claimed = store.outbox.claim_next(T0 + timedelta(seconds=2), ("sms",), modem="m1")
    assert isinstance(claimed, DeliveryRow) and claimed == store.outbox.get(claimed.id)
    assert (claimed.incident_id, claimed.state, claimed.attempts) == (incident.id, "sending", 1)
    assert (claimed.created_at, claimed.updated_at) == (T0, T0 + timedelta(seconds=2))
    with pytest.raises(FrozenInstanceError):
        claimed.state = "sent"  # a row changes through its table, never through itself
    store.outbox.retry(T0, claimed.id, "CMS ERROR 500", T0 + timedelta(seconds=30))
    assert store.outbox.get(claimed.id).not_before == T0 + timedelta(seconds=30)
    assert store.outbox.get(claimed.id) in store.outbox.all(incident.id)
    store.outbox.finish(T0 + timedelta(seconds=40), claimed.id, "sent", "sms_sent",
                        modem_ref="7,8")
    parts = store.outbox.sms_parts(claimed.id)
    assert [(p.part, p.reference, p.status) for p in parts] == [(1, 7, None), (2, 8, None)]
    assert all(isinstance(p, SmsPart) and p.submitted_at == T0 + timedelta(seconds=40)
               for p in parts)


def raise_flash_alarm(store):
    return raise_alarm(store, rings=alarm.RingSettings(style=alarm.FLASH))[0]


def calls_to(store, incident, phone):
    return [(d.purpose, d.state) for d in store.outbox.all(incident.id)
            if d.kind == "call" and d.phone == phone]


def test_a_refused_alarm_sms_turns_its_phones_waiting_flash_into_a_ring_at_once(store):
    incident = raise_flash_alarm(store)
    sms = store.outbox.claim_next(T0, ("sms",))
    phone = sms.phone
    assert calls_to(store, incident, phone) == [("flash", "pending")]
    # A modem's fault is not the number's: the flash still has its SMS to point at.
    store.outbox.retry(T0, sms.id, "port lost", T0, count_attempt=False)
    assert calls_to(store, incident, phone) == [("flash", "pending")]
    sms = store.outbox.claim_next(T0, ("sms",))
    store.outbox.retry(T0, sms.id, "+CMS ERROR: 500", T0 + timedelta(seconds=5))
    assert calls_to(store, incident, phone) == [("ring", "pending")]
    [ring] = [d for d in store.outbox.all(incident.id) if d.kind == "call" and d.phone == phone]
    assert ring.text == alarm.ring_speech("zh", store.roster.load().group("第一组"),
                                          store.roster.load().household("H3"), "call", False)
    others = {d.phone: d.purpose for d in store.outbox.all(incident.id)
              if d.kind == "call" and d.phone != phone}
    assert set(others.values()) == {"flash"}


def test_a_member_whose_full_ring_was_made_is_not_rung_again_when_the_sms_fails_for_good(store):
    incident = raise_flash_alarm(store)
    sms = store.outbox.claim_next(T0, ("sms",))
    store.outbox.retry(T0, sms.id, "+CMS ERROR: 500", T0 + timedelta(seconds=30))
    while (d := store.outbox.claim_next(T0, ("call",))) is not None and d.phone != sms.phone:
        store.outbox.finish(T0, d.id, "sent", "call_placed")
    assert d.purpose == "ring"
    store.outbox.finish(T0, d.id, "sent", "call_placed")
    later = T0 + timedelta(seconds=30)
    again = store.outbox.claim_next(later, ("sms",))
    assert again.id == sms.id
    store.outbox.finish(later, sms.id, "failed", "delivery_failed", error="+CMS ERROR: 500")
    store.outbox.hurry_ring(later, incident.id, sms.household_id, sms.phone, d.text, 20)
    assert calls_to(store, incident, sms.phone) == [("ring", "sent")]
    assert [e.data["household"] for e in store.events_of_kinds(["ring_instead"])] == [
        sms.household_id]


def test_a_modem_fault_does_not_use_up_an_attempt(store):
    raise_alarm(store)
    d = store.outbox.claim_next(T0, modem="m1")
    store.outbox.retry(T0, d.id, "port lost", T0, count_attempt=False)
    again = store.outbox.claim_next(T0, modem="m2")
    assert again.id == d.id and again.attempts == 1 and again.modem == "m2"


def test_latest_health_per_modem(store):
    store.health.record(T0, "m1", signal=10, registration="home")
    store.health.record(T0, "m1", signal=20, registration="home", technology="4G")
    store.health.record(T0, "m2", sim="NOT READY", error="SIM not ready")
    latest = {reading.modem: reading for reading in store.health.latest()}
    assert latest["m1"].signal == 20 and latest["m1"].technology == "4G"
    assert latest["m2"].sim == "NOT READY"


def test_the_logs_reads_carry_what_its_listeners_and_the_uplink_carry(store):
    """Events read back are the events the store's listeners are handed, and as mappings they
    are what the uplink signs: the same keys, order and values as a plain read of the table."""
    seen = []
    store.subscribe(seen.append)
    raise_alarm(store)
    store.append_event(T0, "siren_on", None, pattern="火警", seconds=30)
    read = store.events_after(0)
    assert read[-len(seen):] == seen
    assert store.events_of_kinds(["siren_on", "incident_opened"]) == [
        e for e in read if e.kind in ("siren_on", "incident_opened")]
    assert read[-1].data == {"pattern": "火警", "seconds": 30} and read[-1].incident_id is None
    plain = [{**row, "data": json.loads(row["data"])}
             for row in store.db.query("SELECT * FROM events ORDER BY seq")]
    batch = UplinkLedger(store).batch_after(0, 1000)
    assert json.dumps(batch, ensure_ascii=False) == json.dumps(plain, ensure_ascii=False)
    with pytest.raises(FrozenInstanceError):
        read[-1].kind = "siren_off"
