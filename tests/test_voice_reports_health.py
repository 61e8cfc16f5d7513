"""Through the daemon: a member answers the ring call, hears the alarm and presses 1; delivery
reports land on their deliveries; long SMS arrive whole; health, balance and network time."""
import time

import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.support import kinds, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow


def test_key_one_in_a_ring_call_acknowledges_and_the_caller_hears_who_comes(tmp_path):
    emulator = EmulatorServer("sim7600", Latency.realistic(scale=0.02, call_setup=5,
                                                           ring_timeout=250),
                              link=str(tmp_path / "modem"))
    emulator.start()
    emulator.set_callee("+8613800138001", answer_after=0.3, press="1", press_after=0.5)
    daemon, db, _, log_path = start_box(tmp_path, [emulator],
                                        extra="[alarm]\nring_members = true\nring_seconds = 5\n")
    try:
        emulator.call("18600138003")
        wait_for(lambda: query(db, "SELECT count(*) FROM acks")[0][0] == 1, 60,
                 "the key press to count", log_path)
        wait_for(lambda: any("王建国" in e["text"] for e in emulator.log()
                             if e["kind"] == "sms_sent" and e["number"] == "+8618600138003"),
                 30, "the relay to the caller", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert query(db, "SELECT household_id, channel FROM acks") == [("H01", "dtmf")]
    played = [e for e in emulator.log() if e["kind"] == "audio"]
    assert played and played[0]["number"] == "+8613800138001" and not played[0]["silent"]
    [(sentence,)] = query(db, "SELECT text FROM deliveries WHERE kind = 'call' AND phone = ?",
                          "+8613800138001")
    assert "张伟" in sentence and "按1" in sentence
    results = query(db, "SELECT household_id, json_extract(data, '$.result') FROM events e JOIN"
                        " deliveries d ON d.id = json_extract(e.data, '$.delivery')"
                        " WHERE e.kind = 'call_placed'")
    assert ("H01", "acknowledged") in results


def test_delivery_reports_are_recorded_per_delivery(tmp_path):
    emulator = EmulatorServer("ec25", Latency.realistic(scale=0.02, delivery_report=10),
                                                        link=str(tmp_path / "modem"))
    emulator.start()
    emulator.set_delivery("+8613900138002", status="failed")
    daemon, db, _, log_path = start_box(tmp_path, [emulator])
    try:
        emulator.call("18600138003")
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE report IS NULL")[0][0]
                 == 0 and query(db, "SELECT count(*) FROM deliveries")[0][0] == 5, 60,
                 "a report for every SMS", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    reports = dict(query(db, "SELECT phone, report FROM deliveries"))
    assert reports.pop("+8613900138002") == "failed"
    assert set(reports.values()) == {"delivered"}
    assert "delivery_report_unmatched" not in kinds(db)


def test_a_long_sms_to_the_box_arrives_whole(tmp_path):
    emulator = EmulatorServer("sim800", Latency.realistic(scale=0.02), link=str(tmp_path / "modem"))
    emulator.start()
    daemon, db, _, log_path = start_box(tmp_path, [emulator])
    text = "报告：村口老桥的护栏断了，晚上走路很危险，请村委尽快派人修理。" * 40  # ~1,300 chars
    try:
        emulator.sms("+8613800138001", text)
        wait_for(lambda: "sms_received" in kinds(db), 30, "the SMS", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    [(length, stored)] = query(db, "SELECT json_extract(data, '$.length'),"
                                   " json_extract(data, '$.text') FROM events"
                                   " WHERE kind = 'sms_received'")
    assert length == len(text) and stored == text[:500]


def test_health_balance_and_network_time_on_schedule(tmp_path):
    emulator = EmulatorServer("sim7600", Latency.realistic(scale=0.02),
                                                           link=str(tmp_path / "modem"))
    emulator.start()
    emulator.set_balance("尊敬的客户，您的账户余额为1.20元。")
    emulator.set_clock_offset(2 * 3600)  # the network is two hours ahead of this machine
    clock_file = tmp_path / "clock-set-to"
    daemon, db, _, log_path = start_box(
        tmp_path, [emulator],
        extra=f'[modem]\nhealth_minutes = 0.01\nbalance_ussd = "*100#"\nlow_balance = 5\n'
              f'[numbers]\noffice = ["+8613300138099"]\n'
              f'[clock]\nset_system = true\n'
              f"set_command = \"sh -c 'echo {{epoch}} > {clock_file}'\"\n")
    try:
        wait_for(lambda: kinds(db).count("modem_health") >= 2, 30, "two health checks", log_path)
        wait_for(lambda: any(e["kind"] == "sms_sent" and e["number"] == "+8613300138099"
                             for e in emulator.log()), 30, "the low-balance SMS", log_path)
        wait_for(clock_file.exists, 30, "the clock to be set", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    [low] = [e for e in emulator.log() if e["kind"] == "sms_sent"]  # once, not per check
    assert "1.20" in low["text"] and "充值" in low["text"]
    assert abs(int(clock_file.read_text()) - (time.time() + 7200)) < 120
    row = query(db, "SELECT signal, registration, technology, sim, operator FROM modem_health"
                    " ORDER BY id DESC LIMIT 1")[0]
    assert row[1:] == ("home", "4G", "READY", "CHINA MOBILE") and row[0] is not None
