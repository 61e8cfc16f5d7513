"""Calling an alarm off, in process: the caller or a leader may (anyone else is refused with a
reason), everyone told hears the all-clear once, and the ladder stops. (The office's cancel from
the web panel, and a cancel ending a ring call: tests/test_alarm_acks.py.)"""
from edgebox.domain.messages import render
from tests.support import CHEN, LI, LI_2, LIU, OFFICE, STRANGER, WANG, YANG, ZHANG

FIRST_ALL_CLEAR = render("zh", "all_clear", group="第一组", caller="张伟")


def test_caller_cancels_everyone_told_hears_the_all_clear_and_the_ladder_stops(village):
    box = village(settings={"siren": {"on_seconds": 600}})
    box.call("H03")
    box.wait_idle()
    assert box.siren_sounding()
    box.sms("H03", "0")
    box.wait_idle()
    box.run(15 * 60, step=60)  # past every step of the ladder

    [incident] = box.incidents()
    assert (incident["state"], incident["closed_reason"]) == ("closed", "cancelled")
    assert box.events("incident_closed")[0]["data"]["by"] == "H03"
    for phone in (WANG, LI, LI_2, LIU, ZHANG):  # every phone told, and the caller
        texts = box.texts(phone)
        assert texts.count(FIRST_ALL_CLEAR) == 1 and texts[-1] == FIRST_ALL_CLEAR, phone
    assert not box.texts(CHEN) and not box.texts(OFFICE)  # no ladder step, no other group
    assert not box.events("escalated")
    assert [e["kind"] for e in box.events("siren_on", "siren_off")] == ["siren_on", "siren_off"]
    assert not box.siren_sounding()


def test_only_the_caller_or_a_leader_may_cancel_by_sms(village):
    box = village()
    box.call("H03")
    box.wait_idle()
    # A stranger, a neighbour who neither called nor leads, and a member of the other group.
    box.sms(STRANGER, "0")
    box.sms(LIU, "取消")
    box.sms(YANG, "cancel")
    box.wait_idle()
    assert {p: box.texts(p)[-1] for p in (STRANGER, LIU, YANG)} == {
        STRANGER: render("zh", "refused", reason="本号码未登记，不能取消报警"),
        LIU: render("zh", "refused", reason="只有报警人或中心户长可以取消报警"),
        YANG: render("zh", "refused", reason="没有可以取消的报警")}
    assert box.incidents()[0]["state"] == "open"
    assert not box.deliveries(purpose="all_clear")

    box.sms(WANG, "取消")  # the group's leader may
    box.wait_idle()
    assert box.incidents()[0]["state"] == "closed"
    assert box.events("incident_closed")[0]["data"]["by"] == "H01"
    for phone in (WANG, LI, LI_2, LIU, ZHANG):
        assert box.texts(phone)[-1] == FIRST_ALL_CLEAR, phone
