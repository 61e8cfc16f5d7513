"""The escalation ladder in virtual time, in process: the default ladder's steps come at their
minutes (never a second early) with their actions, an acknowledgement stops it where it is,
fires and vulnerable callers climb faster, members are rung in the configured order. (The
wiring through the emulator: tests/test_alarm_escalation.py.)"""
from datetime import timedelta

import pytest

from edgebox.domain.messages import render
from edgebox.emulator.calls import Callee
from tests.support import CHEN, LI, LIU, OFFICE, TOWNSHIP, WANG, YANG
from tests.test_alarm_escalation import TYPES_SHEET, opened_at, phone


def steps(box) -> list[int]:
    return [e["data"]["escalation_step"] for e in box.events("escalated")]


def test_the_default_ladder_steps_at_2_5_and_10_minutes_with_their_actions(village):
    box = village(settings={"siren": {"on_seconds": 30}})
    box.call("H06")  # 杨磊 of 第二组; 陈静 leads it
    box.wait_idle()
    opened = opened_at(box.incidents()[0])
    for minutes, step in ((2, 1), (5, 2), (10, 3)):
        box.advance_to(opened + timedelta(minutes=minutes, seconds=-1))
        box.wait_idle()
        assert steps(box) == list(range(1, step)), f"step {step} a second early"
        box.advance(2)  # (the stored opening time is to the millisecond)
        box.wait_idle()
        assert steps(box) == list(range(1, step + 1))
        assert box.events("escalated")[-1]["at"] - opened < timedelta(minutes=minutes,
                                                                      seconds=5)

    escalation_text = render("zh", "escalation", group="第二组", caller="杨磊",
                             address="石桥村二组2号", minutes=2, label="紧急求助",
                             phone="13500138006")
    assert box.texts(OFFICE) == [escalation_text]
    assert len(box.texts(TOWNSHIP)) == 1 and "10" in box.texts(TOWNSHIP)[0]
    assert box.rings(CHEN) == ["no_answer"] and box.rings(OFFICE) == ["no_answer"]
    assert box.rings(TOWNSHIP) == ["no_answer"]
    placed = [(e["number"], e["kind"]) for e in box.network.log()
              if e["kind"] in ("sms_sent", "call_placed") and e["number"] not in (CHEN, YANG)
              or e["kind"] == "call_placed"]
    assert placed == [(CHEN, "call_placed"), (OFFICE, "sms_sent"), (OFFICE, "call_placed"),
                      (TOWNSHIP, "sms_sent"), (TOWNSHIP, "call_placed")]
    # The siren: on with the alarm, off after its 30 s, on again at the second step.
    siren = [(e["kind"], e["incident_id"]) for e in box.events("siren_on", "siren_off")]
    assert [kind for kind, _ in siren][:1] == ["siren_on"]
    assert siren.count(("siren_on", box.incidents()[0]["id"])) == 2


def test_an_acknowledgement_stops_the_ladder_at_the_step_reached(village):
    box = village()
    box.phone("H05").callee = Callee(answer_after=5, press="1", press_after=8)
    box.call("H06")
    box.wait_idle()
    box.run(3 * 60, step=60)  # the first step rings the leader, who presses 1
    box.run(22 * 60, step=300)  # far past the last step

    [incident] = box.incidents()
    assert incident["escalation_step"] == 1 and box.acks() == [("H05", CHEN, "dtmf")]
    assert steps(box) == [1]
    assert not box.rings(OFFICE) and not box.texts(TOWNSHIP)
    assert any("陈静" in text for text in box.texts("H06"))  # the caller hears who is coming


def test_fires_and_vulnerable_callers_climb_the_ladder_faster(village):
    box = village(sheet=TYPES_SHEET, ladder=((2, ["sms_office"]),),
                  settings={"alarm": {"vulnerable_factor": 0.5}})
    box.call(phone("A1"))              # ordinary call: factor 1
    box.sms(phone("B1"), "着火了！")     # fire: 0.5
    box.call(phone("F1"))              # 独居老人 calling: 0.5
    box.sms(phone("E1"), "火 着火了")    # fire from an old man alone: 0.25
    box.wait_idle()
    box.run(150, step=10)

    incidents = {i["id"]: i for i in box.incidents()}
    factors = {"A1": 1, "B1": 0.5, "F1": 0.5, "E1": 0.25}
    assert len(box.events("escalated")) == 4
    for event in box.events("escalated"):
        incident = incidents[event["incident_id"]]
        due = opened_at(incident) + timedelta(minutes=2 * factors[
            incident["caller_household_id"]])
        assert due <= event["at"] < due + timedelta(seconds=30), incident
    order = [incidents[e["incident_id"]]["caller_household_id"] for e in box.events("escalated")]
    assert order[0] == "E1" and order[-1] == "A1" and set(order[1:3]) == {"B1", "F1"}
    assert len(box.texts(OFFICE)) == 4


@pytest.mark.parametrize("order,expected", [
    ("leader_first", [WANG, LIU, LI]),   # the leader, the able helper (应急骨干), the rest
    ("helpers_first", [LIU, WANG, LI]),  # the able helper before the leader
    ("sheet", [WANG, LI, LIU]),          # as the sheet lists them
])
def test_ring_order(village, order, expected):
    box = village(settings={"alarm": {"ring_members": True, "ring_order": order}})
    box.call("H03")
    box.wait_idle()
    # (The ladder's first step may ring the leader again after them: three rings that nobody
    # answers take about as long as the first step's two minutes.)
    assert [e["number"] for e in box.network.entries("call_placed")][:3] == expected
