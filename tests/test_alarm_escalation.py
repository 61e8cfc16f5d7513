"""The escalation ladder, alarm types and who is rung first, through the real daemon process and
the modem emulator: steps happen in order with their configured actions (calls, texts, the
siren), an acknowledgement stops the ladder where it is, SMS alarms carry their type and words
into the group's texts and the siren's pattern, and fires and vulnerable callers climb faster."""
import time
from datetime import datetime, timedelta

import pytest

from edgebox.domain.messages import render
from edgebox.emulator import Latency
from tests.test_alarm_acks import (CHEN, LI, LIU, OFFICE, TOWNSHIP, WANG, YANG, ZHANG,
                                   box_maker)

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


def test_acknowledgement_stops_the_ladder_at_the_step_reached(make_box):
    ladder = ((0.02, ["ring_leader", "sms_office"]), (0.07, ["siren", "ring_office"]),
              (0.09, ["sms_township", "ring_township"]))
    box = make_box(settings={"siren": {"on_seconds": 1}}, ladder=ladder)
    box.emulator.set_callee(CHEN, answer_after=0.2, press="1", press_after=0.2)
    box.emulator.call(YANG)
    box.opened()
    # The first step rings the leader, who presses 1.
    box.wait(lambda: box.acks(), "the leader's key in the escalation call")
    [incident] = box.incidents()
    # Well past the time of the last step: nothing more happens.
    last_step_at = opened_at(incident) + timedelta(minutes=ladder[-1][0])
    while datetime.now(last_step_at.tzinfo) < last_step_at + timedelta(seconds=3):
        time.sleep(0.2)
    box.wait(box.drained, "the outbox to drain")

    [incident] = box.incidents()
    assert incident["escalation_step"] == 1 and incident["state"] == "open"
    assert [(h, c) for _, h, _, c, _ in box.acks()] == [("H05", "dtmf")]
    assert [e["data"]["escalation_step"] for e in box.events("escalated")] == [1]
    assert not box.calls(OFFICE) and not box.texts(TOWNSHIP) and not box.calls(TOWNSHIP)
    assert [e["kind"] for e in box.events("siren_on", "siren_off")] == ["siren_on", "siren_off"]
    assert any("陈静" in e["text"] for e in box.texts(YANG))  # the caller hears who is coming


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


def test_fires_and_vulnerable_callers_climb_the_ladder_faster(make_box):
    step = 0.3  # minutes: 18 s for an ordinary alarm, 9 s for a fire or an old man alone
    box = make_box(sheet=TYPES_SHEET, ladder=((step, ["sms_office"]),),
                   settings={"alarm": {"vulnerable_factor": 0.5}})
    box.emulator.call(phone("A1"))              # ordinary call: factor 1
    box.opened(1)
    box.emulator.sms(phone("B1"), "着火了！")     # fire: 0.5
    box.emulator.call(phone("F1"))              # 独居老人 calling: 0.5
    box.emulator.sms(phone("E1"), "火 着火了")    # fire from an old man alone: 0.25
    box.opened(4)
    box.wait(lambda: len(box.events("escalated")) == 4, "all four alarms to escalate", 90)

    incidents = {i["id"]: i for i in box.incidents()}
    by_caller = {i["caller_household_id"]: i["id"] for i in incidents.values()}
    factors = {"A1": 1, "B1": 0.5, "F1": 0.5, "E1": 0.25}
    order = [e["incident_id"] for e in box.events("escalated")]
    for event in box.events("escalated"):
        incident = incidents[event["incident_id"]]
        factor = factors[incident["caller_household_id"]]
        assert event["at"] - opened_at(incident) >= timedelta(minutes=step * factor)
    # The ordinary alarm was raised first and escalates last; the fire of the old man alone
    # was raised last and escalates first.
    assert order[0] == by_caller["E1"] and order[-1] == by_caller["A1"]
    assert set(order[1:3]) == {by_caller["B1"], by_caller["F1"]}
    box.wait(lambda: len(box.texts(OFFICE)) == 4, "the office to be texted about each")


@pytest.mark.parametrize("order,expected", [
    ("leader_first", [WANG, LIU, LI]),   # the leader, the able helper (应急骨干), the rest
    ("helpers_first", [LIU, WANG, LI]),  # the able helper before the leader
    ("sheet", [WANG, LI, LIU]),          # as the sheet lists them
])
def test_ring_order(make_box, order, expected):
    box = make_box(settings={"alarm": {"ring_members": True, "ring_order": order}},
                   latency=Latency.realistic(scale=0.02, sms_submit=1, call_setup=1,
                                             ring_timeout=10))
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(lambda: len(box.calls()) == 3, "three ring calls")
    assert [e["number"] for e in box.calls()] == expected
