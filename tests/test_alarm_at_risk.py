"""Who is at risk, through the real daemon and the modem emulator: a flagged household's alarm
tells its neighbours so ("（独居老人）"), a typed alarm names the public number for its type
(火警119), and the escalation SMS gives the office and township the village and the caller's
phone (they do not know every household). (Unflagged callers and relatives are tested in
process: tests/inprocess/test_at_risk_inprocess.py.)"""
import pytest

from tests.test_alarm_acks import LI, OFFICE, TOWNSHIP, WANG, ZHANG, box_maker

pytestmark = pytest.mark.slow


@pytest.fixture
def make_box(tmp_path):
    yield from box_maker(tmp_path)


def test_a_flagged_callers_alarm_and_escalation_say_who_is_at_risk(make_box):
    ladder = ((0.02, ["sms_office", "sms_township"]),)
    box = make_box(settings={"box": {"village": "石桥村"}}, ladder=ladder)
    box.emulator.sms(LI, "火 厨房着火")  # 李秀英 of 第一组 lives alone
    box.opened()
    box.wait(lambda: box.texts(TOWNSHIP) and box.texts(ZHANG), "the alarm and its escalation")

    [alarm] = [e["text"] for e in box.texts(WANG)]
    assert "李秀英（石桥村一组2号）（独居老人）" in alarm and "请拨火警119" in alarm, alarm
    assert "厨房着火" in alarm
    [office] = [e["text"] for e in box.texts(OFFICE)]
    assert [e["text"] for e in box.texts(TOWNSHIP)] == [office]
    assert office.startswith("【联防】升级：石桥村第一组李秀英（石桥村一组2号）（独居老人）火警"), office
    assert "电话13900138002" in office  # the phone the alarm came from, to call back
