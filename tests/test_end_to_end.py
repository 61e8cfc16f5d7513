"""The whole alarm path with real parts: the daemon as its own process, pyserial and
python-gsmmodem-new on a pty, the modem emulator on the other end. Everything is asserted from
the emulator's side (what the network saw) and from the database the daemon wrote."""
import signal
import subprocess
import sys
import time

import pytest

from edgebox.domain.messages import render
from edgebox.emulator import EmulatorServer, Latency
from tests.support import SHEET, kinds, query, wait_for

pytestmark = pytest.mark.slow

OFFICE = "+8613300138099"


def edgebox(*args, **kw):
    return subprocess.run([sys.executable, "-m", "edgebox", *args], capture_output=True,
                          text=True, timeout=60, **kw)


@pytest.fixture
def box(tmp_path):
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02))
    emulator.start()
    config = tmp_path / "edgebox.toml"
    config.write_text(f"""
[box]
database = "{tmp_path / 'box.db'}"
[[modems]]
port = "{tmp_path / 'modem'}"
[alarm]
ring_seconds = 5
[numbers]
office = ["{OFFICE}"]
[siren]
on_seconds = 1
""", encoding="utf-8")
    sheet = tmp_path / "village.csv"
    sheet.write_bytes(("\ufeff" + SHEET).replace("\n", "\r\n").encode("utf-8"))
    imported = edgebox("roster", "import", str(sheet), "--config", str(config))
    assert imported.returncode == 0, imported.stderr
    log_path = tmp_path / "daemon.log"
    with open(log_path, "w") as log_file:
        daemon = subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config",
                                   str(config)], stdout=log_file, stderr=subprocess.STDOUT)
    db = tmp_path / "box.db"
    try:
        wait_for(lambda: "modem_ready" in kinds(db), 30, "the daemon to open the modem", log_path)
        yield emulator, db, daemon, log_path
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        emulator.stop()


def sent(emulator, kind="sms_sent"):
    return [e for e in emulator.log() if e["kind"] == kind]


def test_member_call_texts_and_rings_whole_group_and_confirms(box):
    emulator, db, daemon, log_path = box
    # H03 calls from its phone; the network presents the number in national format.
    emulator.call("18600138003")
    wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state IN "
                               "('pending','sending')")[0][0] == 0
             and query(db, "SELECT count(*) FROM deliveries")[0][0] > 0,
             60, "every delivery to finish", log_path)
    alarm_text = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")
    texts = sent(emulator)
    alarm_numbers = sorted(e["number"] for e in texts if e["text"] == alarm_text)
    assert alarm_numbers == sorted(["+8613800138001", "+8613900138002", "+8615013800022",
                                    "+8613700138004"])  # every phone of every other member, once
    assert all(e["parts"] == 1 and e["encoding"] == "ucs2" for e in texts)
    confirmations = [e for e in texts if e["number"] == "+8618600138003"]
    assert len(confirmations) == 1 and "已通知第一组3户" in confirmations[0]["text"]
    rung = [e["number"] for e in sent(emulator, "call_placed")]
    assert rung == ["+8613800138001", "+8613700138004", "+8613900138002"]  # leader, helper, rest
    received = [e for e in emulator.log() if e["kind"] == "call_received"]
    assert received[0]["outcome"] == "rejected"
    # nobody of the second group was bothered
    assert not [e for e in texts if e["number"] in ("+8613600138005", "+8613500138006")]
    # the store has the incident and every delivery, sent, and the log tells the story
    assert query(db, "SELECT group_id, caller_household_id, caller_phone FROM incidents") == [
        ("第一组", "H03", "+8618600138003")]
    states = query(db, "SELECT kind, purpose, state FROM deliveries ORDER BY id")
    # As planned: the leader's SMS and ring first, then the other texts, then the other rings.
    assert states == [("sms", "alarm", "sent"), ("call", "ring", "sent")] + [
        ("sms", "alarm", "sent")] * 3 + [("sms", "confirm", "sent")] + [
            ("call", "ring", "sent")] * 2
    log = kinds(db)
    # the incident and its fan-out commit together, before the call is rejected (which is
    # logged while the first SMS goes out)
    assert log.index("incident_opened") < log.index("deliveries_planned") < log.index(
        "sms_sent") and "call_rejected" in log
    assert log.index("deliveries_planned") < log.index("call_rejected")
    assert log.count("sms_sent") == 5 and log.count("call_placed") == 3
    seqs = [r[0] for r in query(db, "SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_sms_acknowledgement_is_relayed_to_the_caller(box):
    emulator, db, daemon, log_path = box
    emulator.call("+8613800138001")  # the leader calls, international format this time
    wait_for(lambda: query(db, "SELECT count(*) FROM incidents")[0][0] == 1, 30, "the incident")
    emulator.sms("+8613700138004", "１")  # full-width one from a Chinese keyboard
    emulator.sms("+8613900138002", "收到，马上到")
    wait_for(lambda: len([e for e in sent(emulator) if e["number"] == "+8613800138001"]) == 3,
             60, "the confirmation and two relays to the caller", log_path)
    to_caller = [e["text"] for e in sent(emulator) if e["number"] == "+8613800138001"]
    assert any("刘洋" in t and "正在赶来" in t for t in to_caller)
    assert any("李秀英" in t and "正在赶来" in t for t in to_caller)
    assert sorted(query(db, "SELECT household_id, channel FROM acks")) == [("H02", "sms"),
                                                                          ("H04", "sms")]


def test_unknown_caller_alerts_nobody_but_the_office(box):
    emulator, db, daemon, log_path = box
    emulator.call("13912345678")
    wait_for(lambda: sent(emulator), 30, "the office notice", log_path)
    time.sleep(0.5)
    texts = sent(emulator)
    assert [e["number"] for e in texts] == [OFFICE]
    assert "139 1234 5678" in texts[0]["text"]
    assert query(db, "SELECT count(*) FROM incidents")[0][0] == 0
    assert "unknown_caller" in kinds(db)
    assert [e["outcome"] for e in emulator.log() if e["kind"] == "call_received"] == ["rejected"]


def test_a_flood_of_unknown_callers_is_logged_whole_but_texted_to_the_office_in_measure(box):
    emulator, db, daemon, log_path = box
    per_hour = 6  # the default of alarm.unknown_notices_per_hour
    strangers = [f"1391234{n:04d}" for n in range(per_hour + 2)]
    for number in [strangers[0], *strangers]:  # the first one calls twice
        before = len(kinds(db))
        emulator.call(number)
        wait_for(lambda: kinds(db)[before:].count("unknown_caller") == 1, 30,
                 f"the call from {number}", log_path)
    wait_for(lambda: len(sent(emulator)) == per_hour + 1, 30, "the office notices", log_path)
    time.sleep(0.5)
    texts = [e["text"] for e in sent(emulator)]
    assert all(e["number"] == OFFICE for e in sent(emulator))
    # each of the first numbers once, then one notice that the rest are only logged
    assert [t for t in texts if "呼叫报警器，请核实" in t] == [
        t for t in texts[:per_hour]] and len(texts) == per_hour + 1
    assert "已有7个未登记号码" in texts[-1]
    notices = query(db, "SELECT json_extract(data, '$.number'), json_extract(data, '$.notice')"
                        " FROM events WHERE kind = 'unknown_caller' ORDER BY seq")
    assert [n for n, _ in notices] == ["+86" + s for s in [strangers[0], *strangers]]
    assert [said for _, said in notices] == ["forward", "quiet"] + ["forward"] * (
        per_hour - 1) + ["flood", "quiet"]
    assert query(db, "SELECT count(*) FROM incidents")[0][0] == 0


def test_repeat_call_does_not_text_the_group_twice(box):
    emulator, db, daemon, log_path = box
    emulator.call("13600138005")
    wait_for(lambda: "deliveries_planned" in kinds(db), 30, "the first alarm", log_path)
    # The first call was hung up on: calling again is a second call, however soon.
    wait_for(lambda: any(e["kind"] == "call_received" for e in emulator.log()), 30,
             "the first call rejected", log_path)
    emulator.call("13600138005")
    wait_for(lambda: "repeat_call" in kinds(db), 30, "the repeat call", log_path)
    wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state='pending'")[0][0] == 0,
             60, "the outbox to drain", log_path)
    assert [e["number"] for e in sent(emulator)].count("+8613500138006") == 1


def test_sigterm_stops_cleanly(box):
    emulator, db, daemon, log_path = box
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(30) == 0
    assert kinds(db)[-1] == "daemon_stopped"
    assert "Traceback" not in log_path.read_text()
