"""`edgebox incidents show ID`: an alarm handled by the daemon through the emulator, printed as a
timeline a person can read — who was texted, rung, acknowledged, when and by which channel."""
import json
import re
import subprocess
import sys

import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.support import query, start_box, stop, wait_for

pytestmark = pytest.mark.slow


def edgebox(*args):
    return subprocess.run([sys.executable, "-m", "edgebox", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def handled(tmp_path_factory):
    """H03 calls; the leader presses 1 in the ring call, H02 answers "收到" by SMS; H03 cancels."""
    tmp_path = tmp_path_factory.mktemp("report")
    emulator = EmulatorServer("sim7600", Latency.realistic(scale=0.02, call_setup=2.5,
                                                           ring_timeout=250),
                              link=str(tmp_path / "modem"))
    emulator.start()
    emulator.set_callee("+8613800138001", answer_after=0.2, press="1", press_after=0.3)
    daemon, db, config, log_path = start_box(
        tmp_path, [emulator], extra="[alarm]\nring_members = true\nring_seconds = 5\n")
    try:
        emulator.call("18600138003")
        wait_for(lambda: query(db, "SELECT count(*) FROM acks")[0][0] == 1, 60,
                 "the leader's key press", log_path)
        emulator.sms("+8613900138002", "收到")
        wait_for(lambda: query(db, "SELECT count(*) FROM acks")[0][0] == 2, 60,
                 "the SMS acknowledgement", log_path)
        # The cancel once every alarm SMS is out: a "取消" sooner cancels those still queued
        # (as it should), and the timeline below names every member texted.
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE kind = 'sms' AND"
                                   " purpose = 'alarm' AND state != 'sent'")[0][0] == 0, 60,
                 "every alarm SMS to go out", log_path)
        emulator.sms("+8618600138003", "取消")
        wait_for(lambda: query(db, "SELECT state FROM incidents")[0][0] == "closed", 60,
                 "the cancel", log_path)
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state IN"
                                   " ('pending', 'sending')")[0][0] == 0, 60,
                 "the all-clear to go out", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    return db, config


def test_the_report_reads_as_a_timeline_in_chinese(handled):
    db, config = handled
    shown = edgebox("incidents", "show", "1", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    lines = out.splitlines()
    assert lines[0].startswith("报警 #1") and "第一组" in lines[0]
    assert "张伟" in lines[1] and "186 0013 8003" in lines[1]
    assert "已结束 (已取消)" in out and "由张伟" in out
    timeline = lines[lines.index("时间线:") + 1:lines.index("汇总:") - 1]
    offsets = [re.match(r"\s+(\+[\d:]+)\s", line).group(1) for line in timeline]
    assert offsets == sorted(offsets, key=lambda o: [int(x) for x in o[1:].split(":")])
    assert offsets[0] == "+00:00"
    # Who was texted, rung and acknowledged, each on its own line.
    for phone in ("139 0013 8002", "150 1380 0022", "137 0013 8004", "138 0013 8001"):
        assert any("报警短信" in line and phone in line for line in timeline), phone
    assert any("振铃" in line and "王建国" in line for line in timeline)
    assert any("王建国 已确认前往" in line for line in timeline)
    assert any("李秀英 已确认前往" in line for line in timeline)
    # The summary counts what the database holds and names each acknowledgement's channel.
    sent = query(db, "SELECT count(*) FROM deliveries WHERE kind = 'sms' AND state = 'sent'")[0][0]
    assert f"短信：已发{sent}条" in out
    assert "确认：2户" in out
    assert re.search(r"\+\d\d:\d\d\s+王建国 138 0013 8001 \(按键1\)", out)
    assert re.search(r"\+\d\d:\d\d\s+李秀英 139 0013 8002 \(短信\)", out)


def test_the_report_in_english_and_as_json(handled):
    db, config = handled
    shown = edgebox("incidents", "show", "1", "--config", str(config), "--lang", "en")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Alarm #1")
    assert "(key 1)" in shown.stdout and "(SMS)" in shown.stdout
    assert "acknowledged: 2 households" in shown.stdout
    as_json = json.loads(edgebox("incidents", "show", "1", "--config", str(config),
                                 "--json").stdout)
    assert {a["channel"] for a in as_json["acks"]} == {"dtmf", "sms"}
    seqs = [e["seq"] for e in as_json["events"]]
    assert seqs == sorted(seqs) and as_json["events"][0]["kind"] == "incident_opened"


def test_listing_and_a_missing_incident(handled):
    _, config = handled
    listed = edgebox("incidents", "list", "--config", str(config))
    assert listed.returncode == 0 and listed.stdout.startswith("#1 ")
    assert "张伟" in listed.stdout and "已取消" in listed.stdout
    missing = edgebox("incidents", "show", "99", "--config", str(config))
    assert missing.returncode == 2 and "no alarm #99" in missing.stderr
