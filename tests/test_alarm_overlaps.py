"""Alarms that overlap, through the real daemon process and the modem emulator: an SMS right
after a call says what the emergency is (one alarm, updated), a caller calling again hastens the
ladder without texting anyone twice, two households of a group calling moments apart make one
alarm, and a household on the boundary of two groups alerts both, once each."""

import pytest

from edgebox.domain.messages import render
from edgebox.emulator import Latency
from tests.support import SHEET
from tests.test_alarm_acks import (ACK_SHEET, CHEN, LI, LIU, LI_2, OFFICE, WANG, YANG, ZHANG,
                                   box_maker)

pytestmark = pytest.mark.slow


@pytest.fixture
def make_box(tmp_path):
    yield from box_maker(tmp_path)


FIRST = "第一组"
WU = "+8615900138010"  # ACK_SHEET's H10 吴芳
PLAIN = render("zh", "alarm", group=FIRST, caller="张伟", address="石桥村一组3号")


def test_sms_soon_after_a_call_enriches_the_same_alarm(make_box):
    # Slow submits: the caller's SMS comes while the alarm texts are still going out.
    box = make_box(latency=Latency.realistic(scale=0.02, sms_submit=75, call_setup=2.5,
                                             ring_timeout=15))
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(lambda: box.texts(WANG), "the first alarm text")
    box.emulator.sms(ZHANG, "盗 有人撬我家后门")
    box.wait(lambda: box.events("incident_enriched"), "the alarm to take the SMS in")
    box.wait(box.drained, "the outbox to drain", 90)

    [incident] = box.incidents()
    assert (incident["alarm_type"], incident["text"]) == ("thief", "盗 有人撬我家后门")
    typed = render("zh", "alarm_typed", label="盗警", group=FIRST, caller="张伟",
                   address="石桥村一组3号", text="盗 有人撬我家后门", dial="请拨报警110，")
    update = render("zh", "update", label="盗警", caller="张伟", address="石桥村一组3号",
                    text="盗 有人撬我家后门")
    received = {p: [e["text"] for e in box.texts(p)] for p in (WANG, LI, LI_2, LIU)}
    # Who had the first words gets one update; who had not gets the alarm with the type.
    assert received[WANG] == [PLAIN, update]
    assert received[LIU] == [typed]
    for phone, texts in received.items():
        assert texts in ([PLAIN, update], [typed]), (phone, texts)
    assert len(box.texts(ZHANG)) == 1  # one confirmation, no second alarm
    # The siren changes to the thief's pulsed pattern.
    assert [e["data"]["pattern"] for e in box.events("siren_on")] == ["continuous", "pulsed"]


def test_repeat_call_texts_nobody_again_and_hastens_the_ladder(make_box):
    ladder = ((10, ["ring_leader", "sms_office"]), (20, ["siren", "ring_office"]))
    box = make_box(ladder=ladder, settings={"siren": {"on_seconds": 1}})
    box.emulator.call(YANG)
    box.opened()
    box.wait(box.drained, "the alarm")
    texts_before = len(box.texts())
    for step in (1, 2):
        # The call before was hung up on: calling again is a second call, however soon.
        box.wait(lambda: sum(e["kind"] == "call_received" for e in box.emulator.log()) == step,
                 f"call {step} rejected")
        box.emulator.call(YANG)
        box.wait(lambda: len(box.events("repeat_call")) == step, f"repeat call {step}")
        box.wait(lambda: box.incidents()[0]["escalation_step"] == step,
                 f"step {step} of the ladder, ten minutes early")
    box.wait(box.drained, "the ladder's calls and text")

    assert len(box.incidents()) == 1
    received = [e for e in box.emulator.log() if e["kind"] == "call_received"]
    assert [e["outcome"] for e in received] == ["rejected"] * 3
    # Nobody of the group was texted again: the new texts are the ladder's, to the office.
    assert [e["number"] for e in box.texts()[texts_before:]] == [OFFICE]
    assert [e["number"] for e in box.calls()] == [CHEN, OFFICE]
    assert [e["kind"] for e in box.events("repeat_call", "escalated")] == [
        "repeat_call", "escalated", "repeat_call", "escalated"]
    assert [e["data"]["pattern"] for e in box.events("siren_on")] == ["continuous", "continuous"]


def test_two_households_of_a_group_calling_moments_apart_make_one_alarm(make_box):
    # ACK_SHEET's 第一组 has eight households: texting them all takes a while at 1 s each.
    box = make_box(sheet=ACK_SHEET,
                   latency=Latency.realistic(scale=0.02, sms_submit=50, call_setup=2.5,
                                             ring_timeout=15))
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(lambda: box.texts(WANG), "the first alarm text")
    # Not told yet: her own call about the same emergency. She lets it ring for as long as
    # the slow submit ahead of her hang-up takes.
    box.emulator.call(WU, rings=60)
    box.wait(lambda: box.events("incident_joined"), "the second call to join the alarm")
    box.wait(box.drained, "the outbox to drain", 90)
    box.emulator.sms(LI, "1")
    box.wait(lambda: len(box.texts(WU)) == 2, "the relay to both callers")

    [incident] = box.incidents()
    assert incident["co_callers"] == '["H10"]'
    both = render("zh", "alarm", group=FIRST, caller="张伟、吴芳",
                  address="石桥村一组3号、石桥村一组10号")
    addendum = render("zh", "joined", group=FIRST, caller="吴芳", address="石桥村一组10号")
    members = [WANG, LI, LI_2, LIU, "+8613100138007", "+8613200138008", "+8615800138009"]
    received = {p: [e["text"] for e in box.texts(p)] for p in members}
    # One notice each, never two floods: the combined one, or the first and a short addendum.
    assert received[WANG] == [PLAIN, addendum]
    for phone, texts in received.items():
        assert texts in ([PLAIN, addendum], [both]), (phone, texts)
    assert received["+8615800138009"] == [both]
    # The second caller is a caller now: confirmed, not alerted of her own alarm.
    to_wu = [e["text"] for e in box.texts(WU)]
    assert to_wu[0] == render("zh", "confirm", group=FIRST, notified=6)
    assert "李秀英" in to_wu[1] and "正在赶来" in to_wu[1]
    assert any("李秀英" in e["text"] for e in box.texts(ZHANG))
    assert box.query("SELECT state FROM deliveries WHERE household_id = 'H10' AND"
                     " purpose = 'alarm'") == [("cancelled",)]
    assert [e["outcome"] for e in box.emulator.log() if e["kind"] == "call_received"] == [
        "rejected", "rejected"]


# 刘洋 lives between the two groups and belongs to both.
TWO_GROUPS_SHEET = SHEET.replace("H04,刘洋,石桥村一组4号,13700138004,第一组,,应急骨干",
                                 "H04,刘洋,石桥村一组4号,13700138004,第一组、第二组,,应急骨干")


def test_household_in_two_groups_alerts_both_once_and_either_may_answer(make_box):
    box = make_box(sheet=TWO_GROUPS_SHEET, ladder=((0.02, ["ring_leader"]),))
    assert box.query("SELECT group_id FROM group_members WHERE household_id = 'H04'"
                     " ORDER BY group_id") == [("第一组",), ("第二组",)]
    box.emulator.call(LIU)
    box.opened()
    # The ladder rings the leaders of both groups; then 杨磊 of 第二组 answers.
    box.wait(lambda: len(box.calls()) == 2, "both leaders to be rung")
    box.emulator.sms(YANG, "收到")
    box.wait(lambda: box.acks(), "杨磊's acknowledgement")
    box.wait(lambda: len(box.texts(LIU)) == 2, "the confirmation and the relay")
    # 陈静 leads 第二组, one of the groups the alarm alerts: she may call it off.
    box.emulator.sms(CHEN, "取消")
    box.wait(lambda: box.incidents()[0]["state"] == "closed", "the cancel")
    box.wait(box.drained, "the all-clear")

    texts = {p: [e["text"] for e in box.texts(p)] for p in (WANG, LI, LI_2, ZHANG, CHEN, YANG)}
    for phone, group in ((WANG, FIRST), (LI, FIRST), (LI_2, FIRST), (ZHANG, FIRST),
                         (CHEN, "第二组"), (YANG, "第二组")):
        alarm = render("zh", "alarm", group=group, caller="刘洋", address="石桥村一组4号")
        assert texts[phone][0] == alarm, phone  # once, in the name of their own group
        assert sum("呼叫求助" in t for t in texts[phone]) == 1
    to_liu = [e["text"] for e in box.texts(LIU)]
    assert to_liu[0] == render("zh", "confirm", group="第一组、第二组", notified=5)
    assert "杨磊" in to_liu[1]
    assert sorted(e["number"] for e in box.calls()) == sorted([WANG, CHEN])
    assert [(h, c) for _, h, _, c, _ in box.acks()] == [("H06", "sms")]
    [incident] = box.incidents()
    assert incident["closed_reason"] == "cancelled"
    assert box.events("incident_closed")[0]["data"]["by"] == "H05"

    # An alarm of 第一组 alone reaches 刘洋 once and nobody of 第二组.
    before = {p: len(box.texts(p)) for p in (LIU, CHEN, YANG)}
    box.emulator.call(WANG)
    box.opened(2)
    box.wait(lambda: len(box.events("escalated")) == 2, "the second alarm's ladder")
    box.wait(box.drained, "the second alarm")
    assert len(box.texts(LIU)) == before[LIU] + 1
    assert (len(box.texts(CHEN)), len(box.texts(YANG))) == (before[CHEN], before[YANG])
    # Its caller leads 第一组: the ladder does not ring him about his own alarm.
    assert len(box.calls()) == 2
