"""Acknowledgements and cancels through the real daemon process and the modem emulator: the
DTMF key and SMS during ring calls stop ringing each member, even mid-call; a cancel ends the
ring call in progress; the office cancels from the web panel. (Every SMS form, call-backs and
the cancel rules are tested in process: tests/inprocess/test_acks_inprocess.py,
test_cancel_inprocess.py.)

``AlarmBox`` (the daemon on one emulated modem, with a config and sheet of the test's choosing)
also serves tests/test_alarm_escalation.py and tests/test_alarm_overlaps.py.
"""
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import httpx
import pytest

from edgebox.domain.messages import render
from edgebox.emulator import EmulatorServer, Latency
from edgebox.emulator.calls import ALERTING
from edgebox.web.passwords import hash_password
from tests.support import (ACK_SHEET, CHEN, LI, LI_2, LIU, OFFICE, SHEET, STRANGER,  # noqa: F401
                           TOWNSHIP, WANG, YANG, ZHANG, config_tables, events_named, kinds,
                           query, wait_for)

pytestmark = pytest.mark.slow


class AlarmBox:
    """`edgebox run` as its own process on one emulated modem.

    ``settings`` are config tables merged over quick defaults (one-second SMS submits are far
    too slow for a test; sirens sound so their events are logged); ``ladder`` is the
    [[escalation]] steps as (after_minutes, actions) pairs; ``callees`` how phones answer the
    box's calls (number: set_callee's keywords), set before the daemon starts."""

    DEFAULTS = {
        "alarm": {"ring_members": False, "ring_seconds": 5},
        "siren": {"on_seconds": 60},
        "numbers": {"office": [OFFICE], "township": [TOWNSHIP]},
    }

    def __init__(self, tmp_path, settings=None, ladder=(), sheet=SHEET, latency=None,
                 profile="generic", callees=None):
        self.tmp_path = tmp_path
        self.db = tmp_path / "box.db"
        self.log_path = tmp_path / "daemon.log"
        self.emulator = EmulatorServer(profile, link=str(tmp_path / "modem"),
                                       latency=latency or Latency.realistic(
                                           scale=0.02, call_setup=2.5, ring_timeout=15))
        box = {**self.DEFAULTS.get("box", {}), **(settings or {}).get("box", {}),
               "database": str(self.db)}
        lines = config_tables(self.DEFAULTS, {**(settings or {}), "box": box}, ladder)
        lines += ["[[modems]]", f'port = "{tmp_path / "modem"}"']
        self.config = tmp_path / "edgebox.toml"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.sheet = tmp_path / "village.csv"
        self.sheet.write_text(sheet, encoding="utf-8")
        self.daemon = None
        self.callees = callees or {}

    def start(self) -> "AlarmBox":
        self.emulator.start()
        for number, how in self.callees.items():
            self.emulator.set_callee(number, **how)
        imported = subprocess.run([sys.executable, "-m", "edgebox", "roster", "import",
                                   str(self.sheet), "--config", str(self.config)],
                                  capture_output=True, text=True, timeout=60)
        assert imported.returncode == 0, imported.stderr
        with open(self.log_path, "w") as log_file:
            self.daemon = subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config",
                                            str(self.config)], stdout=log_file,
                                           stderr=subprocess.STDOUT)
        self.wait(lambda: "modem_ready" in kinds(self.db), "the modem to be ready")
        return self

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.emulator.stop()
        assert "Traceback" not in self.log_path.read_text(), self.log_path.read_text()[-3000:]

    def wait(self, condition, what: str, timeout: float = 60) -> None:
        wait_for(condition, timeout, what, self.log_path)

    # -- what the network saw ------------------------------------------------------------------

    def texts(self, number: str | None = None) -> list[dict]:
        return [e for e in self.emulator.log() if e["kind"] == "sms_sent"
                and (number is None or e["number"] == number)]

    def calls(self, number: str | None = None) -> list[dict]:
        return [e for e in self.emulator.log() if e["kind"] == "call_placed"
                and (number is None or e["number"] == number)]

    def ringing(self, number: str) -> bool:
        """The network is alerting ``number`` for the box right now."""
        current = self.emulator.engine.services["calls"].current
        return current is not None and current.number == number and current.state == ALERTING

    # -- what the box recorded -----------------------------------------------------------------

    def query(self, sql: str, *args) -> list[tuple]:
        return query(self.db, sql, *args)

    def events(self, *names: str) -> list[dict]:
        return events_named(self.query, *names)

    def incidents(self) -> list[dict]:
        columns = ("id", "group_id", "caller_household_id", "state", "alarm_type", "text",
                   "escalation_step", "acked_at", "closed_reason", "co_callers", "opened_at")
        rows = self.query(f"SELECT {', '.join(columns)} FROM incidents ORDER BY id")
        return [dict(zip(columns, row)) for row in rows]

    def acks(self) -> list[tuple]:
        return self.query("SELECT incident_id, household_id, phone, channel, at FROM acks"
                          " ORDER BY id")

    def drained(self) -> bool:
        """Everything planned has been carried out (or given up)."""
        return self.query("SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
                          )[0][0] == 0 and bool(self.query("SELECT count(*) FROM deliveries")[0][0])

    def opened(self, count: int = 1) -> None:
        self.wait(lambda: len(self.query("SELECT id FROM incidents")) >= count,
                  f"{count} incident(s)")


def box_maker(tmp_path):
    """The body of a ``make_box`` fixture: start an AlarmBox on demand, stop it afterwards."""
    boxes = []

    def make(**kwargs) -> AlarmBox:
        box = AlarmBox(tmp_path, **kwargs)
        boxes.append(box)
        return box.start()
    yield make
    for box in boxes:
        box.stop()


@pytest.fixture
def make_box(tmp_path):
    yield from box_maker(tmp_path)


def test_dtmf_key_and_sms_during_ring_calls_stop_ringing_each_member(make_box):
    # Ring calls in sheet order: 王建国, 李秀英, 刘洋, then 赵敏 … who are busy. The modem
    # plays the alarm into answered calls (SIM7600 AT+CCMXPLAY), so the network shows who
    # listened.
    box = make_box(sheet=ACK_SHEET, profile="sim7600",
                   settings={"alarm": {"ring_members": True, "ring_seconds": 60,
                                       "ring_order": "sheet"}},
                   latency=Latency.realistic(scale=0.02, sms_submit=2.5, call_setup=2.5,
                                             ring_timeout=4500, tts_per_char=1))
    emulator = box.emulator
    emulator.set_callee(WANG, answer_after=0.3, press="1", press_after=4)
    emulator.set_callee(LIU, answer_after=0.3)  # answers, listens, never presses a key
    for phone in ("+8613100138007", "+8613200138008", "+8615800138009", "+8615900138010"):
        emulator.set_callee(phone, busy=True)
    emulator.call(ZHANG)
    box.opened()
    # While the leader listens, 李秀英 replies by SMS: her ring, still to come, is called off.
    box.wait(lambda: any(e["kind"] == "audio" and e["number"] == WANG for e in emulator.log()),
             "the leader to answer and hear the alarm")
    emulator.sms(LI, "到")
    box.wait(lambda: [a[1] for a in box.acks()] == ["H02"], "李秀英's SMS acknowledgement")
    box.wait(lambda: len(box.acks()) == 2, "the leader's key")
    # 刘洋 answers and listens without pressing; his SMS ends the call he is in.
    box.wait(lambda: any(e["kind"] == "audio" and e["number"] == LIU for e in emulator.log()),
             "刘洋 to answer")
    emulator.sms(LIU, "收到")
    box.wait(lambda: box.calls(LIU), "the box to hang up on 刘洋")
    box.wait(box.drained, "every ring call")

    assert [(h, c) for _, h, _, c, _ in box.acks()] == [("H02", "sms"), ("H01", "dtmf"),
                                                        ("H04", "sms")]
    dtmf = [e for e in emulator.log() if e["kind"] == "dtmf"]
    assert [(e["number"], e["digit"]) for e in dtmf] == [(WANG, "1")]
    rung = [e["number"] for e in box.calls()]
    assert rung[:2] == [WANG, LIU] and LI not in rung and LI_2 not in rung
    assert box.calls(LIU)[0]["outcome"] == "answered"  # the box hung up, not the member
    results = {e["data"]["household"]: e["data"]["result"] for e in box.events("call_placed")}
    assert results["H01"] == "acknowledged" and results["H04"] == "cancelled"
    ack_of_liu = next(e for e in box.events("ack_received") if e["data"]["household"] == "H04")
    end_of_liu = next(e for e in box.events("call_placed") if e["data"]["household"] == "H04")
    assert ack_of_liu["seq"] < end_of_liu["seq"]
    assert "H02" not in {e["data"]["household"] for e in box.events("call_placed")}
    relays = [e["text"] for e in box.texts(ZHANG) if "正在赶来" in e["text"]]
    assert sorted(t.split("（")[0][4:] for t in relays) == sorted(["李秀英", "王建国", "刘洋"])


def test_sms_ends_a_ring_call_still_alerting(make_box):
    box = make_box(settings={"alarm": {"ring_members": True, "ring_seconds": 60}},
                   latency=Latency.realistic(scale=0.02, sms_submit=2.5, call_setup=2.5,
                                             ring_timeout=4500))
    box.emulator.set_callee(LIU, busy=True)
    box.emulator.set_callee(LI, busy=True)
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(lambda: box.ringing(WANG), "the leader's phone to ring")  # he does not pick up
    box.emulator.sms(WANG, "马上到")
    box.wait(lambda: box.calls(WANG), "the box to stop ringing the leader")
    box.wait(box.drained, "the other ring calls")
    assert box.calls(WANG)[0]["outcome"] == "hung_up_by_box"
    assert [(h, c) for _, h, _, c, _ in box.acks()] == [("H01", "sms")]
    results = {e["data"]["household"]: e["data"]["result"] for e in box.events("call_placed")}
    assert results == {"H01": "cancelled", "H04": "busy", "H02": "busy"}


# -- calling an alarm off ------------------------------------------------------------------------

FIRST_ALL_CLEAR = render("zh", "all_clear", group="第一组", caller="张伟")


def test_caller_cancels_and_everyone_told_hears_the_all_clear(make_box):
    ladder = ((0.08, ["sms_office"]),)
    box = make_box(settings={"alarm": {"ring_members": True, "ring_seconds": 60}},
                   ladder=ladder,
                   latency=Latency.realistic(scale=0.02, sms_submit=2.5, call_setup=2.5,
                                             ring_timeout=4500))
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(lambda: box.ringing(WANG), "the leader's phone to ring")
    box.emulator.sms(ZHANG, "0")
    box.wait(lambda: box.incidents()[0]["state"] == "closed", "the cancel")
    box.wait(box.drained, "the all-clear")
    [incident] = box.incidents()
    # Past the ladder's step: it was stopped with the alarm.
    step_at = datetime.fromisoformat(incident["opened_at"]) + timedelta(minutes=ladder[0][0])
    while datetime.now(step_at.tzinfo) < step_at + timedelta(seconds=3):
        time.sleep(0.2)

    assert incident["closed_reason"] == "cancelled"
    assert box.events("incident_closed")[0]["data"]["by"] == "H03"
    for phone in (WANG, ZHANG):  # every phone told (the leader, before his ring), the caller
        assert [e["text"] for e in box.texts(phone)].count(FIRST_ALL_CLEAR) == 1, phone
        assert box.texts(phone)[-1]["text"] == FIRST_ALL_CLEAR
    for phone in (LI, LI_2, LIU):  # not told yet when it was called off: never bothered
        assert not box.texts(phone), phone
    assert not box.texts(CHEN) and not box.texts(OFFICE)  # no ladder step, no other group
    # The leader's phone stopped ringing; nobody else was rung.
    assert [(e["number"], e["outcome"]) for e in box.calls()] == [(WANG, "hung_up_by_box")]
    assert [e["data"]["result"] for e in box.events("call_placed")] == ["cancelled"]
    assert box.query("SELECT household_id, state FROM deliveries WHERE kind = 'call'"
                     " ORDER BY id") == [("H01", "sent"), ("H04", "cancelled"),
                                         ("H02", "cancelled")]
    assert not box.events("escalated")
    assert [e["kind"] for e in box.events("siren_on", "siren_off")] == ["siren_on", "siren_off"]


PASSWORD = "村委值班2024"


def office_cancels(box, incident_id: int) -> None:
    """The duty officer logs in to the web panel and closes the incident."""
    url = box.events("web_panel_started")[0]["data"]["url"]
    with httpx.Client(base_url=url, timeout=30) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        assert client.post("/login", data={"password": PASSWORD, "csrf": csrf}
                           ).status_code == 303
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
        answer = client.post(f"/incidents/{incident_id}/action",
                             data={"action": "cancel", "csrf": csrf})
        assert answer.status_code == 303


def test_only_the_caller_a_leader_or_the_office_may_cancel(make_box):
    box = make_box(settings={"web": {"listen": "127.0.0.1:0",
                                     "password_hash": hash_password(PASSWORD)}})
    box.wait(lambda: box.events("web_panel_started"), "the web panel")
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(box.drained, "the alarm")
    # A stranger, a neighbour who neither called nor leads, and a member of the other group.
    box.emulator.sms(STRANGER, "0")
    box.emulator.sms(LIU, "取消")
    box.emulator.sms(YANG, "cancel")
    box.wait(lambda: box.texts(STRANGER) and len(box.texts(LIU)) == 2 and box.texts(YANG),
             "three replies")
    replies = {p: box.texts(p)[-1]["text"] for p in (STRANGER, LIU, YANG)}
    assert replies == {
        STRANGER: render("zh", "refused", reason="本号码未登记，不能取消报警"),
        LIU: render("zh", "refused", reason="只有报警人或中心户长可以取消报警"),
        YANG: render("zh", "refused", reason="没有可以取消的报警")}
    assert box.incidents()[0]["state"] == "open"
    assert not box.query("SELECT id FROM deliveries WHERE purpose = 'all_clear'")

    # The group's leader may.
    box.emulator.sms(WANG, "取消")
    box.wait(lambda: box.incidents()[0]["state"] == "closed", "the leader's cancel")
    box.wait(box.drained, "the all-clear")
    assert box.events("incident_closed")[0]["data"]["by"] == "H01"
    for phone in (WANG, LI, LI_2, LIU, ZHANG):
        assert box.texts(phone)[-1]["text"] == FIRST_ALL_CLEAR, phone

    # And the office, from the web panel.
    box.emulator.call(YANG)
    box.opened(2)
    box.wait(box.drained, "the second alarm")
    office_cancels(box, box.incidents()[1]["id"])
    box.wait(lambda: box.incidents()[1]["state"] == "closed", "the office's cancel")
    box.wait(box.drained, "the all-clear")
    assert box.events("incident_closed")[1]["data"]["by"] == "office"
    second = render("zh", "all_clear", group="第二组", caller="杨磊")
    assert [e["text"] for e in box.texts(CHEN)][-1] == second
    assert [e["text"] for e in box.texts(YANG)][-1] == second
    assert [e["kind"] for e in box.events("siren_on", "siren_off")] == [
        "siren_on", "siren_off", "siren_on", "siren_off"]
