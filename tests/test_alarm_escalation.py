"""The escalation ladder and alarm types through the real daemon process and the modem
emulator: steps happen in order with their configured actions (calls, texts, the siren), SMS
alarms carry their type and words into the group's texts and the siren's pattern. (An
acknowledgement stopping the ladder, faster climbs and the ring order are tested in process, in
virtual time: tests/inprocess/test_ladder_inprocess.py.)"""
from datetime import datetime, timedelta

import pytest

from edgebox.domain.messages import render
from tests.test_alarm_acks import CHEN, OFFICE, TOWNSHIP, YANG, box_maker

pytestmark = pytest.mark.slow


@pytest.fixture
def make_box(tmp_path):
    yield from box_maker(tmp_path)


def opened_at(incident: dict) -> datetime:
    return datetime.fromisoformat(incident["opened_at"])


def test_ladder_steps_happen_in_order_with_their_actions(make_box):
    ladder = ((0.02, ["ring_leader", "sms_office"]), (0.04, ["siren", "ring_office"]),
              (0.06, ["sms_township", "ring_township"]))
    # The alarm's own siren stops after a second, so the ladder's siren step is seen sounding.
    box = make_box(settings={"siren": {"on_seconds": 1}}, ladder=ladder)
    box.emulator.call(YANG)  # 杨磊 of 第二组; 陈静 leads it
    box.opened()
    box.wait(lambda: box.incidents()[0]["escalation_step"] == 3, "the whole ladder", 60)
    box.wait(box.drained, "the ladder's calls and texts")

    [incident] = box.incidents()
    escalated = box.events("escalated")
    assert [e["data"]["escalation_step"] for e in escalated] == [1, 2, 3]
    for event, (after, _) in zip(escalated, ladder):  # never before its time
        assert event["at"] - opened_at(incident) >= timedelta(minutes=after)
    # What the network saw, beyond the alarm itself: each step's actions, in order.
    alarm_numbers = {CHEN, YANG}  # the group's alarm text and the caller's confirmation
    seen = [(e["kind"], e["number"]) for e in box.emulator.log()
            if e["kind"] in ("sms_sent", "call_placed")
            and not (e["kind"] == "sms_sent" and e["number"] in alarm_numbers)]
    assert seen == [("call_placed", CHEN), ("sms_sent", OFFICE), ("call_placed", OFFICE),
                    ("sms_sent", TOWNSHIP), ("call_placed", TOWNSHIP)]
    escalation_text = render("zh", "escalation", group="第二组", caller="杨磊",
                             address="石桥村二组2号", minutes=1, label="紧急求助",
                             phone="13500138006")
    assert [e["text"] for e in box.texts(OFFICE)] == [escalation_text]
    assert [e["text"] for e in box.texts(TOWNSHIP)] == [escalation_text]
    # The siren: on with the alarm, off after its second, on again at the second step.
    siren = box.events("siren_on", "siren_off")
    assert [(e["kind"], e["data"].get("pattern")) for e in siren][:3] == [
        ("siren_on", "continuous"), ("siren_off", None), ("siren_on", "continuous")]
    assert siren[0]["seq"] < escalated[0]["seq"] < siren[2]["seq"] < escalated[2]["seq"]
    assert siren[2]["incident_id"] == incident["id"]  # sounded by the ladder for this alarm
    purposes = box.query("SELECT purpose, kind, phone, state FROM deliveries WHERE purpose"
                         " LIKE 'escalation%' ORDER BY id")
    assert purposes == [("escalation_ring", "call", CHEN, "sent"),
                        ("escalation_sms", "sms", OFFICE, "sent"),
                        ("escalation_ring", "call", OFFICE, "sent"),
                        ("escalation_sms", "sms", TOWNSHIP, "sent"),
                        ("escalation_ring", "call", TOWNSHIP, "sent")]


# Six groups of two, so that six alarms of different types run side by side; 戊组 and 己组's
# first households are old people living alone.
TYPES_SHEET = """户号,户主姓名,地址,电话,组别,中心户长,标记
A1,赵一,东村1号,13800138101,甲组,是,
A2,赵二,东村2号,13800138102,甲组,,
B1,钱一,南村1号,13800138201,乙组,是,
B2,钱二,南村2号,13800138202,乙组,,
C1,孙一,西村1号,13800138301,丙组,是,
C2,孙二,西村2号,13800138302,丙组,,
D1,李一,北村1号,13800138401,丁组,是,
D2,李二,北村2号,13800138402,丁组,,
E1,周一,河边1号,13800138501,戊组,是,独居老人
E2,周二,河边2号,13800138502,戊组,,
F1,吴一,山脚1号,13800138601,己组,是,独居老人
F2,吴二,山脚2号,13800138602,己组,,
"""


def phone(household: str) -> str:
    """TYPES_SHEET's phone of "A1" … "F2"."""
    return f"+8613800138{'ABCDEF'.index(household[0]) + 1}0{household[1]}"


def test_sms_alarm_types_choose_words_and_siren_pattern(make_box):
    box = make_box(sheet=TYPES_SHEET)
    reports = {"A": ("火 厨房着火了", "fire", "火警", "continuous"),
               "B": ("fire in the barn", "fire", "火警", "continuous"),
               "C": ("盗 有人撬门", "thief", "盗警", "pulsed"),
               "D": ("医 老人晕倒了", "medical", "急救", "pulsed"),
               "E": ("水 河水漫进院子", "flood", "汛情", "continuous"),
               "F": ("快来人 门口有人打架", "other", "紧急求助", "continuous")}
    for group, (text, *_) in reports.items():
        box.emulator.sms(phone(f"{group}1"), text)
    box.opened(6)
    box.wait(lambda: len(box.texts()) == 12, "each group's alarm and each confirmation")
    box.wait(box.drained, "the outbox to drain")

    incidents = {i["caller_household_id"][0]: i for i in box.incidents()}
    sirens = {e["incident_id"]: e["data"]["pattern"] for e in box.events("siren_on")}
    for group, (text, alarm_type, label, pattern) in reports.items():
        incident = incidents[group]
        assert (incident["alarm_type"], incident["text"]) == (alarm_type, text), group
        [alarm_sms] = box.texts(phone(f"{group}2"))
        assert alarm_sms["text"].startswith(f"【联防】{label}！") and text in alarm_sms["text"]
        assert alarm_sms["parts"] == 1
        assert sirens[incident["id"]] == pattern, group
    assert {r[0] for r in box.query("SELECT kind FROM incidents")} == {"sms"}
