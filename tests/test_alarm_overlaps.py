"""Alarms that overlap, through the real daemon process and the modem emulator: two households
of a group calling moments apart make one alarm while the second caller rings on behind a slow
submit. (Enriching SMS, repeat calls and households in two groups are tested in process:
tests/inprocess/test_overlaps_inprocess.py.)"""

import pytest

from edgebox.domain.messages import render
from edgebox.emulator import Latency
from tests.test_alarm_acks import ACK_SHEET, LI, LI_2, LIU, WANG, ZHANG, box_maker

pytestmark = pytest.mark.slow


@pytest.fixture
def make_box(tmp_path):
    yield from box_maker(tmp_path)


FIRST = "第一组"
WU = "+8615900138010"  # ACK_SHEET's H10 吴芳
PLAIN = render("zh", "alarm", group=FIRST, caller="张伟", address="石桥村一组3号")


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
