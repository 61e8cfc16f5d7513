"""A neighbour who was told of an alarm has an emergency of its own, in process: its SMS raises
a second alarm at its own address; its first call back is "coming" (and it is texted how to
raise its own alarm instead), a call again is its own alarm. (Each decision surviving a kill,
and the office's view of it: tests/test_neighbour_alarms.py.)"""
from edgebox.domain.messages import render
from tests.support import LI, LI_2, LIU, WANG, ZHANG

FIRST = "第一组"
PLAIN = render("zh", "alarm", group=FIRST, caller="张伟", address="石桥村一组3号")
NOTE = render("zh", "callback_noted")
OWN = render("zh", "confirm_own", group=FIRST, notified=3)


def test_a_told_neighbours_own_sms_alarm_alerts_the_group_at_its_address(village):
    box = village()
    box.call("H03")
    box.wait_idle()
    box.sms(LI, "我马上过来")  # words of her own: "coming", no alarm of hers
    box.wait_idle()
    box.sms(LIU, "火 厨房着火")  # 刘洋 was texted about 张伟; now his own kitchen burns
    box.wait_idle()

    first, second = box.incidents()
    assert first["state"] == "open" and first["caller_household_id"] == "H03"
    assert (second["caller_household_id"], second["alarm_type"], second["state"]) == (
        "H04", "fire", "open")
    fire = render("zh", "alarm_typed", label="火警", group=FIRST, caller="刘洋",
                  address="石桥村一组4号", text="火 厨房着火", dial="请拨火警119，")
    for phone in (WANG, LI, LI_2, ZHANG):  # every member learns of it, the first caller too
        assert box.texts(phone).count(fire) == 1, phone
    assert box.texts(LIU) == [PLAIN, OWN]
    [told] = box.events("neighbour_alarm")
    assert (told["incident_id"], told["data"]) == (first["id"], {
        "household": "H04", "incident": second["id"], "kind": "sms"})
    assert [e["data"].get("told_of") for e in box.events("incident_opened")] == [
        None, first["id"]]
    assert box.acks() == [("H02", LI, "sms")]


def test_a_told_members_call_back_is_coming_and_a_call_again_is_its_own_alarm(village):
    box = village()
    box.call("H03")
    box.wait_idle()
    # 王建国 says he is coming; the relay to 张伟 is held in a busy cell, so 刘洋's call back
    # meanwhile rings on, RING after RING, until the box can hang up.
    box.network.hold_submits()
    box.sms(WANG, "1")
    box.wait_for(lambda: box.network.held_submits == 1, "the relay in the modem's hands")
    box.call(LIU, rings=20)
    box.wait_for(lambda: box.modem().hang_ups_waiting == 1, "the hang-up to wait for the port")
    box.advance(12)  # two more RINGs
    box.network.release_submits()
    box.wait_idle()

    [rang_on] = [e for e in box.network.entries("call_received") if e["number"] == LIU]
    assert rang_on["outcome"] == "rejected"
    # Its first RING and at least one after it: how many of the later RINGs are still seen
    # before the one hang-up ends the call depends on when the event loop reads them.
    assert len(box.events("call_rejected")) >= 2
    assert len(box.incidents()) == 1
    assert box.acks() == [("H01", WANG, "sms"), ("H04", LIU, "callback")]
    assert box.texts(LIU) == [PLAIN, NOTE]
    assert render("zh", "ack_relay", member="刘洋", address="石桥村一组4号") in box.texts(ZHANG)
    assert box.texts(WANG) == [PLAIN]  # an SMS acknowledgement needs no note

    box.call("H01")  # 王建国, who said he is coming, calls: his own emergency
    box.wait_idle()
    box.call("H04")  # 刘洋 calls again within the minute: his own emergency too
    box.wait_idle()

    first, by_wang, by_liu = box.incidents()
    assert [(i["caller_household_id"], i["alarm_type"]) for i in (by_wang, by_liu)] == [
        ("H01", "call"), ("H04", "call")]
    assert len(box.acks()) == 2  # neither call counted as "coming"
    wang_alarm = render("zh", "alarm", group=FIRST, caller="王建国", address="石桥村一组1号")
    liu_alarm = render("zh", "alarm", group=FIRST, caller="刘洋", address="石桥村一组4号")
    for phone, expected in ((LI, (wang_alarm, liu_alarm)), (LI_2, (wang_alarm, liu_alarm)),
                            (ZHANG, (wang_alarm, liu_alarm)), (LIU, (wang_alarm,)),
                            (WANG, (liu_alarm,))):
        for alarm in expected:
            assert box.texts(phone).count(alarm) == 1, (phone, alarm)
    assert box.texts(WANG).count(OWN) == 1 and box.texts(LIU).count(OWN) == 1
    assert [(e["incident_id"], e["data"]["household"], e["data"]["incident"])
            for e in box.events("neighbour_alarm")] == [(first["id"], "H01", by_wang["id"]),
                                                        (by_wang["id"], "H04", by_liu["id"])]
