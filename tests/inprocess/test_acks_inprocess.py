"""Acknowledgements, in process: every SMS form, the key 1 in a ring call, a call-back from a
notified member; each recorded with its channel and relayed to the caller once. (The wiring of
the same through pyserial and the emulator: tests/test_alarm_acks.py.)"""
from datetime import datetime

from edgebox.emulator.calls import Callee
from tests.support import ACK_SHEET, LI_2, LIU, STRANGER, WANG, YANG, ZHANG
from edgebox.domain.messages import render

PLAIN = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")


def test_every_sms_form_of_acknowledgement_is_recorded_and_relayed(village):
    box = village(sheet=ACK_SHEET)
    box.call("H03")
    box.wait_idle()
    assert box.texts("H01") == [PLAIN]
    replies = {WANG: ("H01", "1"), LI_2: ("H02", "到"), LIU: ("H04", "收到"),
               "+8613100138007": ("H07", "马上到"), "+8613200138008": ("H08", "ok"),
               "+8615800138009": ("H09", "OK"), "+8615900138010": ("H10", "１")}
    for phone, (_, text) in replies.items():
        box.sms(phone, text)
    box.wait_idle()

    [incident] = box.incidents()
    assert sorted(box.acks()) == sorted((household, phone, "sms")
                                        for phone, (household, _) in replies.items())
    first_ack = min(datetime.fromisoformat(at) for (at,) in box.query("SELECT at FROM acks"))
    assert datetime.fromisoformat(incident["acked_at"]) == first_ack  # the first stops the ladder
    relays = box.texts("H03")[1:]
    assert len(relays) == 7
    for name in ("王建国", "李秀英", "刘洋", "赵敏", "孙丽", "周强", "吴芳"):
        assert sum(name in text and "正在赶来" in text for text in relays) == 1, (name, relays)
    # A second "1" from someone who already acknowledged is not relayed again.
    box.sms(WANG, "1")
    box.wait_idle()
    assert len(box.events("sms_received")) == 8
    assert len(box.texts("H03")) == 8 and len(box.acks()) == 7


def test_the_key_1_in_a_ring_call_acknowledges_and_the_rest_ring_on(village):
    box = village(settings={"alarm": {"ring_members": True, "ring_seconds": 60}})
    box.phone("H01").callee = Callee(answer_after=4, press="1", press_after=6)
    box.phone("H04").callee = Callee(busy=True)
    box.call("H03")
    box.wait_idle()

    assert box.acks() == [("H01", WANG, "dtmf")]
    [rung] = box.phone("H01").rings
    assert rung.outcome == "acknowledged"
    assert rung.spoken == render("zh", "ring_speech", drill=False, group="第一组", caller="张伟",
                                 address="石桥村一组3号")
    assert box.rings("H04") == ["busy"]
    assert box.rings("H02") == ["no_answer"]  # the network gave up after its 30 s
    results = {e["data"]["household"]: e["data"]["result"] for e in box.events("call_placed")}
    assert results == {"H01": "acknowledged", "H04": "busy", "H02": "no_answer"}
    assert render("zh", "ack_relay", member="王建国", address="石桥村一组1号") in box.texts("H03")


def test_call_back_from_a_notified_member_acknowledges_and_raises_nothing(village):
    box = village()
    box.call("H03")
    box.wait_idle()
    box.call("H04")
    box.wait_idle()
    box.call("H01")
    box.wait_idle()
    # A member of the other group and a stranger answering "1" acknowledge nothing.
    box.sms(YANG, "1")
    box.sms(STRANGER, "1")
    box.wait_idle()

    assert box.acks() == [("H04", LIU, "callback"), ("H01", WANG, "callback")]
    assert len(box.incidents()) == 1  # the call-backs raised no alarm of their own
    assert box.calls_received() == [(ZHANG, "rejected"), (LIU, "rejected"), (WANG, "rejected")]
    note = render("zh", "callback_noted")
    assert box.texts("H04") == [PLAIN, note] and box.texts("H01") == [PLAIN, note]
    assert len(box.texts("H03")) == 3  # the confirmation and two relays
    assert [e["data"]["household"] for e in box.events("ack_without_incident")] == ["H06"]
    assert not box.texts("H06") and not box.texts(STRANGER)
