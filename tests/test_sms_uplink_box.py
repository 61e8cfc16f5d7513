"""The box's side of the SMS uplink: the day report and each township escalation, signed and
queued in the outbox behind every alarm text, each once, whether or not a hub URL is set."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from edgebox.domain import alarm
from edgebox.store import SqliteStore
from edgebox.uplink import sms_format
from edgebox.uplink.sms_uplink import PURPOSE, SmsUplink

TOKEN = "t0ken-for-the-tests-0123456789"
HUB = "+8613900000100"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    yield store
    store.close()


def reports(store) -> list[sms_format.Report]:
    return [sms_format.verify(d.text, lambda box: TOKEN) for d in store.outbox.all()
            if d.purpose == PURPOSE]


def uplink(store, clock) -> SmsUplink:
    service = SmsUplink(store, "box-1", TOKEN, HUB, hour=0,
                        clock=lambda: clock["now"])
    service.ledger.put("sms_escalations_seen", str(store.last_event_seq()))
    return service


def test_the_day_report_counts_the_day_and_goes_once_a_day(store):
    clock = {"now": NOW}
    store.health.record(NOW, "m1", signal=17, registration="home", balance=8.5)
    store.health.record(NOW, "m2", signal=2, registration="searching")
    fire = store.incidents.open(NOW - timedelta(hours=2), "G1", "H01", "+8613800138001",
                                alarm_type="fire")
    store.incidents.record_ack(NOW - timedelta(hours=1), fire.id, "H02", "+8613800138002", "sms")
    store.incidents.open(NOW - timedelta(hours=3), "G1", "H01", "+8613800138001",
                         alarm_type="fire", drill=True)
    store.incidents.open(NOW - timedelta(hours=30), "G1", "H01", "+8613800138001")  # yesterday
    service = uplink(store, clock)
    assert service.run_once() == 1
    assert service.run_once() == 0  # the same day: nothing more
    [day] = reports(store)
    assert day.kind == "D" and day.fields["alarms"] == {"fire": 1, "drill": 1}
    # The modem off the network is the one reported; the balance is the one known.
    assert (day.fields["acks"], day.fields["registration"], day.fields["signal"],
            day.fields["balance"]) == (1, "not_registered", 2, 8.5)
    clock["now"] = NOW + timedelta(days=1)
    service.run_once()
    first, second = (r.seq for r in reports(store))
    assert first < second


def test_a_new_database_numbers_its_reports_above_the_old_ones(tmp_path):
    """The hub refuses a (box, seq) it has: a box whose SD card was replaced must not have its
    reports taken for replays."""
    seqs = []
    for name, later in (("old.db", timedelta(0)), ("new.db", timedelta(hours=1))):
        store = SqliteStore(tmp_path / name)
        try:
            for _ in range(3):  # three escalations in the old database's life
                incident = store.incidents.open(NOW, "G1", "H01", "+8613800138001")
                store.incidents.escalate(NOW, incident.id, 3, [], township=True)
            service = SmsUplink(store, "box-1", TOKEN, HUB, hour=0,
                                clock=lambda: NOW + later)
            service.ledger.put("sms_escalations_seen", "0")  # report these three too
            service.run_once()
            seqs.append([r.seq for r in reports(store)])
        finally:
            store.close()
    assert len(seqs[0]) == 4 and max(seqs[0]) < min(seqs[1])


def test_an_escalation_that_reaches_the_township_is_reported_once(store):
    clock = {"now": NOW}
    service = uplink(store, clock)
    service.ledger.put("sms_day_sent_on", NOW.astimezone().date().isoformat())
    incident = store.incidents.open(NOW, "G1", "H01", "+8613800138001", alarm_type="fire")
    store.incidents.escalate(NOW + timedelta(minutes=2), incident.id, 1, [])
    store.incidents.escalate(NOW + timedelta(minutes=5), incident.id, 2, [])
    assert service.run_once() == 0  # the leader and the office: not the township's business
    store.incidents.escalate(NOW + timedelta(minutes=10), incident.id, 3, [], township=True)
    assert service.run_once() == 1
    assert service.run_once() == 0
    [report] = reports(store)
    assert report.fields == {"incident": incident.id, "alarm_type": "fire", "step": 3}


def test_reports_wait_behind_every_alarm_text(store):
    assert alarm.PRIORITY[PURPOSE] > max(v for k, v in alarm.PRIORITY.items() if k != PURPOSE)
    service = uplink(store, {"now": NOW})
    service.run_once()
    store.incidents.open(NOW, "G1", "H01", "+8613800138001", plan=[alarm.PlannedDelivery(
        alarm.SMS, "+8613800138002", "H02", "alarm", "火警", alarm.PRIORITY["alarm"])])
    first = store.outbox.claim_next(NOW + timedelta(seconds=1))
    assert first.purpose == "alarm"


def test_sms_to_starts_the_sms_uplink_without_a_url_and_needs_a_token():
    from edgebox.config_file import parse_config
    from edgebox.errors import ConfigError
    from edgebox.uplink.sms_uplink import sms_uplink_service
    base = ("[box]\nid = 'box-1'\n[[modems]]\nname = 'm1'\nport = '/dev/ttyUSB0'\n"
            "[uplink]\nsms_to = '+8613900000100'\n")
    service = sms_uplink_service(parse_config(base + "token = '" + TOKEN + "'\n"), None)
    assert service.hub_number == HUB and service.token == TOKEN
    with pytest.raises(ConfigError, match="token"):
        sms_uplink_service(parse_config(base), None)
    with pytest.raises(ConfigError, match="hub's modem number"):
        parse_config(base.replace("+8613900000100", "13900000100"))


def test_a_running_uplink_reports_an_escalation_at_once_not_at_its_next_look(store):
    from tests.hub_support import wait_until
    service = SmsUplink(store, "box-1", TOKEN, HUB, hour=0, period=3600)
    service.start()
    try:
        wait_until(lambda: len(reports(store)) == 1, 30, "the day report")
        incident = store.incidents.open(NOW, "G1", "H01", "+8613800138001", alarm_type="fire")
        store.incidents.escalate(NOW + timedelta(minutes=10), incident.id, 3, [], township=True)
        wait_until(lambda: len(reports(store)) == 2, 30, "the escalation's report")
    finally:
        service.stop()
    assert reports(store)[1].kind == "E"
