"""Drills through the daemon: started by the office on the web panel. (The ``[drill] schedule``,
once per slot across a restart, groups taking turns, is tested in process, in virtual time:
tests/inprocess/test_drills_inprocess.py.) A drill runs the whole alarm path — texts, ring
calls with speech, acknowledgements by SMS and by key 1, relays, escalation, all-clear — with
every message marked 【演练】, its own siren pattern, and a report to the office of who
acknowledged and how fast. Asserted from the emulator's side, the database and the web panel's
HTTP answers."""
import re
from datetime import datetime, time, timedelta

import httpx
import pytest

from edgebox.config_file import parse_config
from edgebox.domain.drills import LATE_LIMIT, due_slot, parse_slot
from edgebox.domain.messages import render
from edgebox.errors import ConfigError
from edgebox.emulator import EmulatorServer, Latency
from edgebox.web.passwords import hash_password
from tests.support import import_sheet, kinds, query, start_daemon, stop, wait_for

pytestmark = pytest.mark.slow

OFFICE = "+8613300138099"
PASSWORD = "shiqiao-drill-1"
DRILL_TAG, REAL_TAG = "【演练】", "【联防】"


def box(tmp_path, emulator, body):
    """Write the config (``body`` is TOML after [box]), import the sheet, start the daemon."""
    db = tmp_path / "box.db"
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{db}"\n[numbers]\noffice = ["{OFFICE}"]\n{body}\n'
                      f'[[modems]]\nport = "{emulator.link}"\n', encoding="utf-8")
    import_sheet(tmp_path, config)
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(config, log_path)
    wait_for(lambda: "modem_ready" in kinds(db), 30, "the daemon", log_path)
    return daemon, db, config, log_path


def texts(emulator, to=None):
    return [e for e in emulator.log() if e["kind"] == "sms_sent"
            and (to is None or e["number"] == to)]


def web_login(url):
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"password": PASSWORD, "csrf": csrf})
    assert answer.status_code == 303
    dashboard = client.get("/")
    return client, re.search(r'name="csrf" value="([^"]+)"', dashboard.text).group(1)


def test_office_drill_from_the_web_panel_runs_the_whole_path_marked_and_reports(tmp_path):
    emulator = EmulatorServer("sim7600", Latency.realistic(scale=0.02),
                                                           link=str(tmp_path / "modem"))
    emulator.start()
    # 刘洋 (the group's able helper, rung first) answers, hears the drill and presses 1.
    emulator.set_callee("+8613700138004", answer_after=0.2, press="1", press_after=0.3)
    daemon, db, _, log_path = box(tmp_path, emulator, f"""
[alarm]
ring_members = true
ring_seconds = 5
[siren]
on_seconds = 1
[drill]
report_minutes = 0.25
[web]
listen = "127.0.0.1:0"
password_hash = "{hash_password(PASSWORD)}"
""")
    try:
        wait_for(lambda: query(db, "SELECT count(*) FROM events WHERE kind ="
                                   " 'web_panel_started'")[0][0], 30, "the web panel", log_path)
        url = query(db, "SELECT json_extract(data, '$.url') FROM events WHERE kind ="
                        " 'web_panel_started'")[0][0]
        client, csrf = web_login(url)
        try:
            started = client.post("/drill", data={"group": "第一组", "csrf": csrf})
            assert started.status_code == 303
            refused = client.post("/drill", data={"group": "第九组", "csrf": csrf})
            assert refused.status_code == 400
        finally:
            client.close()
        wait_for(lambda: texts(emulator, "+8613900138002"), 30, "the drill's texts", log_path)
        # The leader writes to the box during the drill: logged, and no unmarked update.
        emulator.sms("+8613800138001", "大家注意，这是演练，请按流程回复")
        emulator.sms("+8613900138002", "收到")  # 李秀英 acknowledges by SMS
        wait_for(lambda: query(db, "SELECT count(*) FROM acks")[0][0] == 2, 60,
                 "both acknowledgements", log_path)
        wait_for(lambda: texts(emulator, OFFICE), 60, "the drill report", log_path)
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state IN"
                                   " ('pending', 'sending')")[0][0] == 0, 60, "the outbox",
                 log_path)
    finally:
        stop(daemon)
        emulator.stop()

    [(incident, alarm_type, drill, state, reason)] = query(
        db, "SELECT id, alarm_type, drill, state, closed_reason FROM incidents")
    assert (alarm_type, drill, state, reason) == ("drill", 1, "closed", "drill_over")
    assert query(db, "SELECT json_extract(data, '$.action'), json_extract(data, '$.source')"
                     " FROM events WHERE kind = 'office_action'") == [("drill", "web")]
    assert query(db, "SELECT json_extract(data, '$.household') FROM events WHERE kind ="
                     " 'incident_message'") == [("H01",)]
    # Every SMS and every word spoken is marked as a drill, none as a real alarm.
    sent = texts(emulator)
    played = {e["number"] for e in emulator.log() if e["kind"] == "audio"}
    spoken = [text for (text,) in query(db, "SELECT text FROM deliveries WHERE kind = 'call'"
                                            " AND phone IN (%s)" % ",".join("?" * len(played)),
                                        *played)]
    assert sent and spoken
    assert all(e["text"].startswith(DRILL_TAG) and REAL_TAG not in e["text"] for e in sent)
    assert all(text.startswith(DRILL_TAG) for text in spoken)
    alarm = render("zh", "alarm", drill=True, group="第一组", caller="王建国",
                   address="石桥村一组1号")
    assert sorted(e["number"] for e in sent if e["text"] == alarm) == [
        "+8613700138004", "+8613900138002", "+8615013800022", "+8618600138003"]
    leader = [e["text"] for e in texts(emulator, "+8613800138001")]
    assert leader[0] == render("zh", "confirm", drill=True, group="第一组", notified=3)
    assert sorted(leader[1:]) == sorted(
        render("zh", "ack_relay", drill=True, member=name, address=address)
        for name, address in (("刘洋", "石桥村一组4号"), ("李秀英", "石桥村一组2号")))
    assert sorted(query(db, "SELECT household_id, channel FROM acks")) == [("H02", "sms"),
                                                                          ("H04", "dtmf")]
    # The report: how many of how many, fastest and mean, and who, from the acknowledgements.
    seconds = dict(query(db, "SELECT a.household_id, round((julianday(a.at) -"
                             " julianday(i.opened_at)) * 86400) FROM acks a JOIN incidents i"
                             " ON i.id = a.incident_id"))
    fastest, mean = min(seconds.values()), sum(seconds.values()) / 2
    [report] = [e["text"] for e in texts(emulator, OFFICE)]
    match = re.fullmatch(r"【演练】第一组：2/3户确认，最快(\d+)秒，平均(\d+)秒。确认：(.+)", report)
    assert match, report
    assert abs(int(match.group(1)) - fastest) <= 1 and abs(int(match.group(2)) - mean) <= 1
    assert sorted(re.sub(r"\d+秒", "", name) for name in match.group(3).split("、")) == [
        "刘洋", "李秀英"]
    assert query(db, "SELECT json_extract(data, '$.acked'), json_extract(data, '$.total') FROM"
                     " events WHERE kind = 'drill_report'") == [(2, 3)]
    # A drill sounds its own siren pattern.
    assert query(db, "SELECT json_extract(data, '$.pattern') FROM events WHERE kind ="
                     " 'siren_on' AND incident_id = ?", incident) == [("drill",)]


def test_schedule_slots_in_local_time():
    saturday = datetime(2026, 11, 21, 10, 30).astimezone()
    assert parse_slot("monthly:1 10:00") == parse_slot("monthly 1 10:00")
    assert parse_slot("weekly 6 10:00").latest(saturday) == datetime(2026, 11, 21, 10,
                                                                       0).astimezone()
    assert parse_slot("weekly 6 11:00").latest(saturday) == datetime(2026, 11, 14, 11,
                                                                       0).astimezone()
    assert parse_slot("daily 10:30:15").latest(saturday) == datetime(2026, 11, 20, 10, 30,
                                                                       15).astimezone()
    assert parse_slot("monthly 21 10:00").latest(saturday).date() == saturday.date()
    assert parse_slot("monthly 31 10:00").latest(saturday).date().isoformat() == "2026-10-31"
    assert parse_slot("daily 7:05").at == time(7, 5)
    # A slot is due from its time for LATE_LIMIT (a box back from a power cut drills late),
    # never earlier, never later.
    slot = datetime(2026, 11, 21, 10, 0).astimezone()
    assert due_slot(("weekly 6 10:00",), slot) == slot
    assert due_slot(("weekly 6 10:00",), slot + LATE_LIMIT - timedelta(seconds=1)) == slot
    assert due_slot(("weekly 6 10:00",), slot + LATE_LIMIT) is None
    assert due_slot(("weekly 6 10:00",), slot - timedelta(seconds=1)) is None


@pytest.mark.parametrize("entry,problem", [
    ("every day 10:00", "is not 'daily HH:MM'"), ("daily 25:00", "not a time of day"),
    ("weekly 8 10:00", "1 (Monday) to 7 (Sunday)"), ("monthly 10:00", "need one"),
    ("daily 3 10:00", "daily takes no day"), ("monthly 32 10:00", "1 to 31"),
])
def test_a_wrong_schedule_stops_the_config_naming_the_key(entry, problem):
    with pytest.raises(ConfigError) as caught:
        parse_config(f'[drill]\nschedule = ["{entry}"]\n[[modems]]\nport = "/dev/x"\n')
    assert caught.value.key == "drill.schedule" and problem in str(caught.value)
