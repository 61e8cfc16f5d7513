"""Alarms that overlap, in process: an SMS while the alarm texts go out says what the emergency
is (one alarm, updated), a repeat call hastens the ladder without texting anyone twice, two
households of a group calling moments apart make one alarm, a household in two groups alerts
both once. A held cell (Village.call_with_first_sms_held) keeps an alarm SMS in the modem's hands
while the second thing happens, as a slow submit does in the field."""
from edgebox.domain.messages import render
from tests.support import ACK_SHEET, CHEN, LI, LI_2, LIU, OFFICE, SHEET, WANG, YANG, ZHANG

FIRST = "第一组"
WU = "+8615900138010"  # ACK_SHEET's H10 吴芳
# ACK_SHEET's 第一组 but the leader, 张伟 who calls and 吴芳.
MEMBERS = (LI, LI_2, LIU, "+8613100138007", "+8613200138008", "+8615800138009")
PLAIN = render("zh", "alarm", group=FIRST, caller="张伟", address="石桥村一组3号")


def told_first(box, phones, first, then, instead) -> None:
    """Each phone got ``first`` and ``then``, or only ``instead``; only the SMS held and the
    one claimed as it went may have gone out with ``first``."""
    for phone in phones:
        assert box.texts(phone) in ([first, then], [instead]), phone
    assert sum(box.texts(phone) == [instead] for phone in phones) >= len(phones) - 2


def test_sms_while_the_alarm_goes_out_enriches_the_same_alarm(village):
    box = village(sheet=ACK_SHEET)
    box.call_with_first_sms_held("H03")
    box.sms("H03", "盗 有人撬我家后门")
    box.wait_for(lambda: box.events("incident_enriched"), "the alarm to take the SMS in")
    box.network.release_submits()
    box.wait_idle()

    [incident] = box.incidents()
    assert (incident["alarm_type"], len(box.incidents())) == ("thief", 1)
    typed = render("zh", "alarm_typed", label="盗警", group=FIRST, caller="张伟",
                   address="石桥村一组3号", text="盗 有人撬我家后门", dial="请拨报警110，")
    update = render("zh", "update", label="盗警", caller="张伟", address="石桥村一组3号",
                    text="盗 有人撬我家后门")
    # Who had the first words (the leader always: his SMS goes first) gets one update; who
    # had not gets the alarm with its type.
    assert box.texts(WANG) == [PLAIN, update]
    told_first(box, MEMBERS, PLAIN, update, typed)
    assert len(box.texts(ZHANG)) == 1  # one confirmation, no second alarm
    assert [e["data"]["pattern"] for e in box.events("siren_on")] == ["continuous", "pulsed"]


def test_repeat_call_texts_nobody_again_and_hastens_the_ladder(village):
    box = village()  # the default ladder: 2, 5, 10 minutes
    box.call("H06")
    box.wait_idle()
    texts_before = len(box.network.entries("sms_sent"))
    for step in (1, 2):
        box.advance(20)  # long before the step's time
        box.call("H06")
        box.wait_idle()
        assert box.incidents()[0]["escalation_step"] == step

    assert len(box.incidents()) == 1
    assert box.calls_received() == [(YANG, "rejected")] * 3
    # Nobody of the group was texted again: the new texts are the ladder's, to the office.
    assert [e["number"] for e in box.network.entries("sms_sent")[texts_before:]] == [OFFICE]
    assert [e["number"] for e in box.network.entries("call_placed")] == [CHEN, OFFICE]
    assert [e["kind"] for e in box.events("repeat_call", "escalated")] == [
        "repeat_call", "escalated", "repeat_call", "escalated"]


def test_two_households_of_a_group_calling_moments_apart_make_one_alarm(village):
    box = village(sheet=ACK_SHEET)
    box.call_with_first_sms_held("H03")
    # Not told yet: her own call about the same emergency. It rings on while the submit
    # ahead of her hang-up is held.
    box.call(WU)
    box.wait_for(lambda: box.modem().hang_ups_waiting == 1, "the hang-up to wait for the port")
    box.network.release_submits(1)  # the leader's SMS goes; the next waits again
    box.wait_for(lambda: box.events("incident_joined"), "the second call to join the alarm")
    box.network.release_submits()
    box.wait_idle()
    box.sms(LI, "1")
    box.wait_idle()

    [incident] = box.incidents()
    assert box.query("SELECT co_callers FROM incidents")[0][0] == '["H10"]'
    both = render("zh", "alarm", group=FIRST, caller="张伟、吴芳",
                  address="石桥村一组3号、石桥村一组10号")
    addendum = render("zh", "joined", group=FIRST, caller="吴芳", address="石桥村一组10号")
    # One notice each, never two floods: the first and a short addendum, or the combined one.
    assert box.texts(WANG) == [PLAIN, addendum]
    told_first(box, MEMBERS, PLAIN, addendum, both)
    to_wu = box.texts(WU)
    assert to_wu[0] == render("zh", "confirm", group=FIRST, notified=6)
    assert "李秀英" in to_wu[1] and "正在赶来" in to_wu[1]
    assert any("李秀英" in text for text in box.texts(ZHANG))
    assert [d["state"] for d in box.deliveries(household_id="H10", purpose="alarm")] == [
        "cancelled"]
    assert box.calls_received() == [(ZHANG, "rejected"), (WU, "rejected")]


# 刘洋 lives between the two groups and belongs to both.
TWO_GROUPS_SHEET = SHEET.replace("H04,刘洋,石桥村一组4号,13700138004,第一组,,应急骨干",
                                 "H04,刘洋,石桥村一组4号,13700138004,第一组、第二组,,应急骨干")


def test_household_in_two_groups_alerts_both_once_and_either_may_answer(village):
    box = village(sheet=TWO_GROUPS_SHEET, ladder=((2, ["ring_leader"]),))
    box.call("H04")
    box.wait_idle()
    box.run(130, step=30)  # the ladder rings the leaders of both groups
    assert sorted(e["number"] for e in box.network.entries("call_placed")) == sorted(
        [WANG, CHEN])
    box.sms(YANG, "收到")  # 杨磊 of 第二组 answers
    box.wait_idle()
    box.sms(CHEN, "取消")  # 陈静 leads 第二组, one of the alarm's groups: she may call it off
    box.wait_idle()

    for phone, group in ((WANG, FIRST), (LI, FIRST), (LI_2, FIRST), (ZHANG, FIRST),
                         (CHEN, "第二组"), (YANG, "第二组")):
        alarm = render("zh", "alarm", group=group, caller="刘洋", address="石桥村一组4号")
        texts = box.texts(phone)
        assert texts[0] == alarm and sum("呼叫求助" in t for t in texts) == 1, phone
    to_liu = box.texts(LIU)
    assert to_liu[0] == render("zh", "confirm", group="第一组、第二组", notified=5)
    assert "杨磊" in to_liu[1]
    assert box.acks() == [("H06", YANG, "sms")]
    [incident] = box.incidents()
    assert incident["closed_reason"] == "cancelled"
    assert box.events("incident_closed")[0]["data"]["by"] == "H05"

    # An alarm of 第一组 alone reaches 刘洋 once and nobody of 第二组; its caller leads 第一组,
    # so the ladder does not ring him about his own alarm.
    before = {p: len(box.texts(p)) for p in (LIU, CHEN, YANG)}
    box.call("H01")
    box.wait_idle()
    box.run(130, step=30)
    assert len(box.events("escalated")) == 2
    assert len(box.texts(LIU)) == before[LIU] + 1
    assert (len(box.texts(CHEN)), len(box.texts(YANG))) == (before[CHEN], before[YANG])
    assert len(box.network.entries("call_placed")) == 2
