"""Alarm SMS the network refuses or cannot confirm, in process: each is retried with a growing
wait up to modem.max_attempts; a member whose alarm SMS failed for good is rung instead and the
office told once who could not be texted; phones refusing SMS never take the modem out of
service; delivery reports are matched to their SMS. (Through the emulator:
tests/test_delivery_failures.py.)"""
from datetime import datetime

from edgebox.domain.messages import render
from tests.support import LI, LI_2, LIU, OFFICE, WANG

ALARM = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")
SETTINGS = {"modem": {"max_attempts": 3, "retry_seconds": 5}}


def test_a_refused_alarm_sms_is_retried_then_the_member_is_rung_and_the_office_told(village):
    box = village(settings=SETTINGS)
    box.network.refuse_sms(LIU)           # 刘洋's phone takes no SMS at all
    box.network.refuse_sms(WANG, count=1)  # 王建国's refuses once, then works
    box.call("H03")
    box.run(60, step=5)

    failed = [e for e in box.network.entries("sms_failed") if e["number"] == LIU]
    assert len(failed) == 3 and not box.texts(LIU)
    gaps = [(b["at"] - a["at"]).total_seconds() for a, b in zip(failed, failed[1:])]
    assert gaps[0] >= 5 and gaps[1] >= 10  # the waits between tries grow
    assert box.rings(LIU) == ["no_answer"]  # rung instead, once
    assert box.texts(WANG) == [ALARM] and not box.rings(WANG)
    summary = render("zh", "failures", group="第一组", count=1, names="刘洋")
    assert box.texts(OFFICE) == [summary]
    sent = box.network.entries("sms_sent")
    last_alarm = max(e["at"] for e in sent if e["text"] == ALARM)
    assert next(e["at"] for e in sent if e["number"] == OFFICE) > last_alarm
    retries = [e for e in box.events("delivery_retry")
               if e["data"]["delivery"] == box.deliveries(phone=LIU, kind="sms")[0]["id"]]
    waits = [round((datetime.fromisoformat(e["data"]["not_before"]) - e["at"])
                   .total_seconds(), 2) for e in retries]
    assert waits == [5, 10]
    [liu] = box.deliveries(phone=LIU, kind="sms")
    assert (liu["state"], liu["attempts"]) == ("failed", 3) and "+CMS ERROR: 500" in \
        liu["last_error"]
    assert [e["data"]["household"] for e in box.events("ring_instead")] == ["H04"]


def test_a_member_whose_sms_failed_gets_a_full_ring_call_where_the_others_get_a_flash(village):
    box = village(settings={"modem": {"max_attempts": 2, "retry_seconds": 1},
                            "alarm": {"ring_members": True, "ring_style": "flash"}})
    box.network.refuse_sms(LI)  # 李秀英's first phone takes no SMS: a flash would tell her nothing
    box.call("H03")
    box.run(120, step=5)
    calls = [(d["phone"], d["purpose"], d["text"]) for d in box.deliveries(kind="call")]
    speech = render("zh", "ring_speech", group="第一组", caller="张伟", address="石桥村一组3号")
    # Her flash became a full ring call when her SMS was first refused, whether or not the
    # retry had failed for good by its turn; the others' flashes keep the words unspoken.
    assert sorted(calls) == sorted([(WANG, "flash", speech), (LIU, "flash", speech),
                                    (LI, "ring", speech)])
    assert box.rings(LI) and box.rings(WANG) and box.rings(LIU)
    assert [e["data"]["household"] for e in box.events("ring_instead")] == ["H02"]


def test_numbers_that_refuse_sms_do_not_take_the_modem_out_of_service(village):
    box = village(settings=SETTINGS)
    for phone in (LI, LI_2, WANG):
        box.network.refuse_sms(phone)
    box.call("H03")
    box.run(60, step=5)

    assert len(box.network.entries("sms_failed")) == 9
    assert not box.events("modem_out_of_service")
    rung = sorted(e["number"] for e in box.network.entries("call_placed"))
    assert rung[0] == WANG and rung[1] in (LI, LI_2)  # each household rung once
    assert [e["number"] for e in box.network.entries("sms_sent") if e["text"] == ALARM] == [LIU]
    assert box.texts(OFFICE)[0] in (render("zh", "failures", group="第一组", count=2,
                                           names=names) for names in ("王建国、李秀英",
                                                                      "李秀英、王建国"))


def test_delivery_reports_are_matched_to_their_sms(village):
    box = village()
    box.phone("H04").delivery = "failed"  # the network could not deliver to 刘洋's phone
    box.phone("H02").delivery = "none"    # nor ever report on 李秀英's first phone
    box.call("H03")
    box.run(30, step=5)

    reports = {d["phone"]: d for d in box.query_dicts(
        "SELECT phone, report FROM deliveries WHERE purpose = 'alarm'")}
    assert reports[WANG]["report"] == "delivered" and reports[LI_2]["report"] == "delivered"
    assert reports[LIU]["report"] == "failed" and reports[LI]["report"] is None
    assert not box.events("delivery_report_unmatched")
