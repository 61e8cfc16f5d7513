"""The township's alerts: rules on an injected clock, and the hub's own modem (FakeModem in
process) receiving reports and officers' replies and texting each alert."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from edgebox.adapters.modem.events import IncomingSms
from edgebox.adapters.modem.fake import FakeModem
from edgebox.adapters.modem.fake_network import FakeNetwork
from edgebox.hub import alerts
from edgebox.hub.database import open_database
from edgebox.hub.duty import add_officer
from edgebox.hub.modem_link import HubModemLink
from edgebox.hub.registry import add_box, utc_iso
from edgebox.hub.scope import Scope
from edgebox.hub.sms_ingest import ingest_report, refused
from edgebox.uplink import sms_format
from tests.hub_support import hub_database_url

TOKEN = "t0ken-for-the-tests-0123456789"
OFFICER = "+8613700000001"
BOX_PHONE = "+8613900000009"
START = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
RULES = alerts.AlertRules(silent_hours=26, low_balance=10, drill_days=100, repeat_hours=12)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    db = open_database(hub_database_url(request.param, tmp_path))
    add_box(db, "box-1", "临安区", "太湖源镇", "石桥村", TOKEN)
    add_officer(db, "太湖源镇", OFFICER, "值班员")
    with db.transaction() as tx:  # registered now, heard from now, drilled last week
        tx.execute("UPDATE boxes SET created_at = ?, last_seen = ?",
                   (utc_iso(START), utc_iso(START)))
        tx.execute("INSERT INTO incidents (box_id, log_no, incident_id, kind, drill, opened_at)"
                   " VALUES ('box-1', 1, 1, 'drill', 1, ?)",
                   (utc_iso(START - timedelta(days=7)),))
    yield db
    db.close()


def set_health(db, **row) -> None:
    with db.transaction() as tx:
        tx.execute("UPDATE boxes SET status = ?", (json.dumps({"health": [row]}),))


def kinds(db, now) -> list[str]:
    return sorted(c.kind for c in alerts.candidates(db, now, RULES))


def test_a_healthy_box_raises_nothing(hub):
    set_health(hub, modem="m1", registration="home", signal=20, balance=50.0)
    assert kinds(hub, START + timedelta(hours=1)) == []


def test_each_rule_on_the_clock(hub):
    set_health(hub, modem="m1", registration="searching", signal=3, balance=4.5)
    assert kinds(hub, START + timedelta(hours=25)) == ["low_balance", "modem_fault"]
    assert kinds(hub, START + timedelta(hours=26)) == ["low_balance", "modem_fault", "silent"]
    assert "drill_overdue" in kinds(hub, START + timedelta(days=93))
    assert "drill_overdue" not in kinds(hub, START + timedelta(days=92))


def test_an_sms_report_keeps_a_box_from_being_silent(hub):
    later = START + timedelta(hours=30)
    assert "silent" in kinds(hub, later)
    text = sms_format.encode_day(TOKEN, "box-1", 1, date(2026, 12, 6), {}, 0, 0, "home", 17,
                                 30.0, 12)
    ingest_report(hub, BOX_PHONE, text, later - timedelta(hours=1))
    assert "silent" not in kinds(hub, later)


def test_an_alert_repeats_at_most_once_per_repeat_hours(hub):
    set_health(hub, modem="m1", registration="home", signal=20, balance=3.0)
    first = alerts.raise_due(hub, START, RULES)
    assert len(first) == 1
    assert alerts.raise_due(hub, START + timedelta(hours=11, minutes=59), RULES) == []
    assert len(alerts.raise_due(hub, START + timedelta(hours=12, minutes=1), RULES)) == 1


def test_a_township_escalation_alerts_once(hub):
    text = sms_format.encode_escalation(TOKEN, "box-1", 3, START, 17, "fire", 3)
    ingest_report(hub, BOX_PHONE, text, START)
    assert len(alerts.raise_due(hub, START, RULES)) == 1
    alerts.raise_due(hub, START + timedelta(days=2), RULES)
    assert [a["kind"] for a in alerts.unsent(hub)] == ["township", "silent"]
    assert alerts.alert_text("zh", alerts.unsent(hub)[0]) == (
        "【联防平台】告警1：石桥村（box-1）报警17号（火警）无人确认，已升级到乡镇。回复“1 1”确认")


def test_a_township_step_in_the_uploaded_log_alerts_once_with_its_sms_report(hub):
    from edgebox.hub.ingest import store_batch
    events = [{"seq": 1, "at": utc_iso(START), "kind": "incident_opened", "incident_id": 17,
               "data": {"alarm_type": "fire"}},
              {"seq": 2, "at": utc_iso(START), "kind": "escalated", "incident_id": 17,
               "data": {"escalation_step": 2}},
              {"seq": 3, "at": utc_iso(START), "kind": "escalated", "incident_id": 17,
               "data": {"escalation_step": 3, "township": True}}]
    store_batch(hub, "box-1", {"after": 0, "through": 3, "events": events, "status": {}})
    assert len(alerts.raise_due(hub, START, RULES)) == 1
    ingest_report(hub, BOX_PHONE, sms_format.encode_escalation(TOKEN, "box-1", 1, START, 17,
                                                               "fire", 3), START)
    assert alerts.raise_due(hub, START, RULES) == []
    assert alerts.alert_text("zh", alerts.unsent(hub)[0]).endswith(
        "报警17号（火警）无人确认，已升级到乡镇。回复“1 1”确认")


def test_a_modem_not_yet_read_is_no_fault(hub):
    set_health(hub, modem="m1", signal=None)
    assert kinds(hub, START) == []


def test_a_modem_fault_is_texted_in_chinese_words(hub):
    set_health(hub, modem="m1", registration="searching", signal=3, balance=50.0)
    alerts.raise_due(hub, START, RULES)
    assert alerts.alert_text("zh", alerts.unsent(hub)[0]).endswith(
        "石桥村（box-1）模块故障（搜网中）。回复“1 1”确认")


@pytest.fixture
def link(hub):
    network = FakeNetwork()
    modem = FakeModem(network, "hub")
    clock = {"now": START}
    service = HubModemLink(hub, modem, RULES, clock=lambda: clock["now"])
    modem.keep_incoming(service.keep)
    modem.start()
    yield service, network, clock
    modem.stop()


def test_the_hub_modem_ingests_a_report_texts_the_alert_and_records_the_ack(hub, link):
    service, network, clock = link
    network.sms(BOX_PHONE, sms_format.encode_escalation(TOKEN, "box-1", 1, START, 17, "fire", 3))
    assert service.run_once() == 1
    [text] = network.phone(OFFICER).texts
    assert text.startswith("【联防平台】告警1：石桥村（box-1）") and "回复“1 1”确认" in text
    clock["now"] = START + timedelta(minutes=5)
    network.sms(OFFICER, "1 1")
    [row] = alerts.recent(hub, Scope("county"))
    assert row["acked_by"] == OFFICER and row["acked_at"] == utc_iso(clock["now"])
    assert network.phone(OFFICER).texts[-1] == "【联防平台】告警1已由您确认，谢谢"


def test_a_bare_1_acknowledges_the_newest_alert_and_a_stranger_cannot(hub, link):
    service, network, clock = link
    set_health(hub, modem="m1", registration="home", signal=20, balance=3.0)
    service.run_once()
    network.sms("+8613800000077", "1")
    assert alerts.recent(hub, Scope("county"))[0]["acked_at"] is None
    network.sms(OFFICER, "1")
    assert alerts.recent(hub, Scope("county"))[0]["acked_by"] == OFFICER


def test_a_garbled_or_replayed_report_is_refused_and_changes_nothing(hub, link):
    service, network, clock = link
    text = sms_format.encode_escalation(TOKEN, "box-1", 1, START, 17, "fire", 3)
    network.sms(BOX_PHONE, text)
    network.sms(BOX_PHONE, text)
    network.sms(BOX_PHONE, text.replace("i=17", "i=18"))
    with hub.transaction(write=False) as tx:
        assert tx.one("SELECT count(*) FROM sms_reports")[0] == 1
    service.keep(IncomingSms(BOX_PHONE, "EB1 nonsense"), None, False)  # kept, not raised
    with hub.transaction(write=False) as tx:
        assert tx.one("SELECT count(*) FROM sms_reports")[0] == 1
    reasons = [r["reason"] for r in refused(hub)]
    assert len(reasons) == 3 and any("already received" in r for r in reasons)
    assert any("signature" in r for r in reasons) and any("not an uplink" in r for r in reasons)


def test_duty_officers_from_the_command_line(tmp_path):
    import subprocess
    import sys
    url = str(tmp_path / "cli-hub.db")

    def hub(*args):
        return subprocess.run([sys.executable, "-m", "edgebox", "hub", "duty", *args, "--db",
                               url], capture_output=True, text=True, timeout=60)
    assert hub("add", "太湖源镇", OFFICER, "--name", "王干事").returncode == 0
    bad = hub("add", "太湖源镇", "13700000001")
    assert bad.returncode == 2 and "must be international" in bad.stderr
    assert hub("list").stdout.split() == ["太湖源镇", OFFICER, "王干事"]
    assert hub("remove", "太湖源镇", OFFICER).returncode == 0
    gone = hub("remove", "太湖源镇", OFFICER)
    assert gone.returncode == 2 and "not on duty" in gone.stderr


def test_the_hub_waits_for_its_unplugged_modem_and_then_serves(hub, caplog):
    from edgebox.hub.modem_link import open_hub_modem
    from tests.hub_support import wait_until
    network = FakeNetwork().register("hub-net")
    try:
        modem = open_hub_modem("fake://hub-net")
        modem.unplug()
        service = HubModemLink(hub, modem, RULES, check_seconds=3600, open_retry_seconds=0.05,
                               clock=lambda: START)
        service.start()
        try:
            wait_until(lambda: "did not start" in caplog.text, 30, "a refused start")
            modem.plug_in()
            wait_until(lambda: modem.alive, 30, "the modem opened again")
            network.sms(BOX_PHONE, sms_format.encode_escalation(TOKEN, "box-1", 1, START, 17,
                                                                "fire", 3))
            wait_until(lambda: network.phone(OFFICER).texts, 30, "the officer's alert")
        finally:
            service.stop()
        assert "升级到乡镇" in network.phone(OFFICER).texts[0]
    finally:
        FakeNetwork.unregister("hub-net")
