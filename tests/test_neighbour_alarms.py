"""A neighbour who was told of an alarm has an emergency of its own, through the real daemon
process and the modem emulator: its SMS raises a second alarm at its own address, shown by
`edgebox incidents show`; each decision survives the box being killed. (Call-backs and calls
again are tested in process: tests/inprocess/test_neighbours_inprocess.py.) And an alarm SMS
too long for one message reaches every member cut with a visible mark, its whole text kept for
the office."""
import re
import subprocess
import sys

import pytest

from edgebox.domain.messages import CUT_MARK, count_segments, render
from tests.test_alarm_acks import LI, LI_2, LIU, WANG, ZHANG, box_maker
from edgebox.web.passwords import hash_password
from tests.test_drills import PASSWORD, web_login
from tests.test_durable_decisions import Box, alarm_by_zhang

pytestmark = pytest.mark.slow

FIRST = "第一组"
PLAIN = render("zh", "alarm", group=FIRST, caller="张伟", address="石桥村一组3号")
NOTE = render("zh", "callback_noted")


@pytest.fixture
def make_box(tmp_path):
    yield from box_maker(tmp_path)


@pytest.fixture
def make_killable_box(tmp_path):
    boxes = []

    def make(**kwargs) -> Box:
        boxes.append(Box(tmp_path, **kwargs))
        return boxes[-1]
    yield make
    for box in boxes:
        box.stop()


def incidents_show(config, incident_id: int) -> str:
    shown = subprocess.run([sys.executable, "-m", "edgebox", "incidents", "show",
                            str(incident_id), "--config", str(config)],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def test_a_told_neighbours_own_sms_alarm_alerts_the_group_at_its_address(make_box):
    box = make_box()
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(box.drained, "张伟's alarm")
    # 李秀英 answers in words of her own: that is "coming", no alarm of hers.
    box.emulator.sms(LI, "我马上过来")
    box.wait(lambda: box.acks(), "李秀英's acknowledgement")
    # 刘洋 was texted about 张伟; now his own kitchen burns.
    box.emulator.sms(LIU, "火 厨房着火")
    box.opened(2)
    box.wait(box.drained, "刘洋's alarm")

    first, second = box.incidents()
    assert first["state"] == "open" and first["caller_household_id"] == "H03"
    assert (second["caller_household_id"], second["alarm_type"], second["text"],
            second["state"]) == ("H04", "fire", "火 厨房着火", "open")
    fire = render("zh", "alarm_typed", label="火警", group=FIRST, caller="刘洋",
                  address="石桥村一组4号", text="火 厨房着火", dial="请拨火警119，")
    # Every member learns that 刘洋 has a fire, the first caller too.
    for phone in (WANG, LI, LI_2, ZHANG):
        assert [e["text"] for e in box.texts(phone)].count(fire) == 1, phone
    assert [e["text"] for e in box.texts(LIU)] == [
        PLAIN, render("zh", "confirm_own", group=FIRST, notified=3)]
    # The log has both, and the first one's timeline points to the second.
    [told] = box.events("neighbour_alarm")
    assert (told["incident_id"], told["data"]) == (first["id"], {
        "household": "H04", "incident": second["id"], "kind": "sms"})
    assert [e["data"].get("told_of") for e in box.events("incident_opened")] == [
        None, first["id"]]
    assert f"刘洋 家也有紧急情况，另行报警 #{second['id']}" in incidents_show(box.config,
                                                                       first["id"])
    assert "“火 厨房着火”" in incidents_show(box.config, second["id"])
    assert not box.events("incident_message")
    assert [(i, h, c) for i, h, _, c, _ in box.acks()] == [(first["id"], "H02", "sms")]


# ---- each decision commits whole: killed before anything of it left the modem ------------------

def test_a_told_neighbours_sms_alarm_never_sent_before_a_kill_is_sent_once_after(
        make_killable_box):
    box = make_killable_box()
    alarm_by_zhang(box)
    box.emulator.stuck("AT+CMGS")  # the first text of 刘洋's alarm will hang in the modem
    box.emulator.sms(LIU, "火 厨房着火")
    box.wait(lambda: box.query("SELECT count(*) FROM incidents") == [(2,)]
             and box.stuck("AT+CMGS"), "刘洋's alarm, with the modem hanging")
    box.kill_and_restart()
    box.wait(lambda: box.drained() and len(box.texts()) == 5 + 5, "his alarm after the restart")
    box.stop()
    box.assert_no_traceback()

    fire = render("zh", "alarm_typed", label="火警", group=FIRST, caller="刘洋",
                  address="石桥村一组4号", text="火 厨房着火", dial="请拨火警119，")
    for phone in (WANG, LI, LI_2, ZHANG):
        assert box.texts(phone).count(fire) == 1, (phone, box.texts(phone))
    assert box.texts(LIU) == [PLAIN, render("zh", "confirm_own", group=FIRST, notified=3)]
    assert box.query("SELECT caller_household_id, alarm_type FROM incidents ORDER BY id") == [
        ("H03", "call"), ("H04", "fire")]
    assert len(box.events("neighbour_alarm")) == 1


def test_a_call_back_noted_before_a_kill_is_relayed_once_and_a_call_again_is_an_alarm(
        make_killable_box):
    box = make_killable_box()
    alarm_by_zhang(box)
    box.emulator.stuck("AT+CMGS")  # the relay or the note will hang in the modem
    box.emulator.call(LIU)
    box.wait(lambda: box.query("SELECT household_id, channel FROM acks") == [("H04", "callback")]
             and box.stuck("AT+CMGS"), "刘洋's call back, with the modem hanging")
    box.kill_and_restart()
    relay = render("zh", "ack_relay", member="刘洋", address="石桥村一组4号")
    box.wait(lambda: box.drained() and len(box.texts()) == 5 + 2, "the relay and the note")
    assert box.texts(ZHANG).count(relay) == 1 and box.texts(LIU) == [PLAIN, NOTE]
    # What he said is in the store, not in the daemon that died: calling again is his alarm.
    box.emulator.call(LIU)
    box.wait(lambda: box.query("SELECT count(*) FROM incidents") == [(2,)] and box.drained()
             and len(box.texts()) == 7 + 5, "刘洋's own alarm")
    box.stop()
    box.assert_no_traceback()

    liu_alarm = render("zh", "alarm", group=FIRST, caller="刘洋", address="石桥村一组4号")
    for phone in (WANG, LI, LI_2, ZHANG):
        assert box.texts(phone).count(liu_alarm) == 1, (phone, box.texts(phone))
    assert box.texts(LIU) == [PLAIN, NOTE, render("zh", "confirm_own", group=FIRST, notified=3)]
    assert box.query("SELECT household_id, channel FROM acks") == [("H04", "callback")]


# ---- an alarm SMS too long for one message -------------------------------------------------------

# 2,000 characters: 30 parts as it comes in, 30 parts per member if it were passed on whole.
LONG = ("火 " + "厨房着火了，火从灶台烧到柴堆，" * 134)[:2000]


def test_a_2000_character_sms_alarm_reaches_every_member_cut_and_the_office_whole(make_box):
    box = make_box(settings={"web": {"listen": "127.0.0.1:0",
                                     "password_hash": hash_password(PASSWORD)}})
    box.wait(lambda: box.events("web_panel_started"), "the web panel")
    assert count_segments(LONG).parts == 30
    box.emulator.sms(ZHANG, LONG)
    box.opened()
    box.wait(box.drained, "the alarm")

    # Sent in 30 parts, reassembled by the box: the alarm has every word.
    [came] = [e for e in box.emulator.log() if e["kind"] == "sms_received"]
    assert came["parts"] == 30 and "lost_parts" not in came
    [incident] = box.incidents()
    assert (incident["alarm_type"], incident["text"]) == ("fire", LONG)
    # Each member gets one SMS, as the network decoded it: as many words as fit, then the mark.
    mark = CUT_MARK["zh"]
    for phone in (WANG, LI, LI_2, LIU):
        [sms] = box.texts(phone)
        assert sms["parts"] == 1 and sms["text"].endswith(mark), sms
        assert sms["text"].startswith("【联防】火警！第一组 张伟（石桥村一组3号）回复1确认：火 厨房")
        quoted = sms["text"][:-len(mark)].split("回复1确认：", 1)[1]
        assert LONG.startswith(quoted) and len(quoted) > 20, sms["text"]
    # The office reads it whole: `edgebox incidents show` and the alarm's web page.
    assert f"“{LONG}”" in incidents_show(box.config, incident["id"])
    url = box.events("web_panel_started")[0]["data"]["url"]
    client, _ = web_login(url)
    try:
        page = client.get(f"/incidents/{incident['id']}")
    finally:
        client.close()
    assert page.status_code == 200
    assert re.search(r'<blockquote id="incident-text">([^<]*)</blockquote>', page.text
                     ).group(1) == LONG


def test_during_a_drill_chatter_is_logged_and_a_fire_is_a_real_alarm(make_box):
    box = make_box(settings={"web": {"listen": "127.0.0.1:0",
                                     "password_hash": hash_password(PASSWORD)}})
    box.wait(lambda: box.events("web_panel_started"), "the web panel")
    client, csrf = web_login(box.events("web_panel_started")[0]["data"]["url"])
    try:
        assert client.post("/drill", data={"group": FIRST, "csrf": csrf}).status_code == 303
    finally:
        client.close()
    box.opened()
    box.wait(box.drained, "the drill's texts")
    box.emulator.sms(LIU, "演练的短信我看到了")  # a member told of the drill writes back
    box.wait(lambda: box.events("incident_message"), "his words in the drill's log")
    box.emulator.sms(LI, "火 厨房着火")  # while a real fire starts next door
    box.opened(2)
    box.wait(box.drained, "the real alarm")

    drill, fire = box.query("SELECT caller_household_id, drill, alarm_type FROM incidents"
                            " ORDER BY id")
    assert drill == ("H01", 1, "drill") and fire == ("H02", 0, "fire")
    [said] = box.events("incident_message")
    assert (said["data"]["household"], said["data"]["text"]) == ("H04", "演练的短信我看到了")
    real = render("zh", "alarm_typed", label="火警", group=FIRST, caller="李秀英",
                  address="石桥村一组2号", text="火 厨房着火", dial="请拨火警119，",
                  risk="（独居老人）")
    for phone in (WANG, ZHANG, LIU):  # unmarked: it is no drill
        assert [e["text"] for e in box.texts(phone)].count(real) == 1, phone
