"""Who is at risk, through the real daemon and the modem emulator: a flagged household's alarm
tells its neighbours so ("（独居老人）"), a typed alarm names the public number for its type
(火警119), and the escalation SMS gives the office and township the village and the caller's
phone (they do not know every household)."""
import pytest

from tests.support import SHEET
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


def test_an_unflagged_callers_alarm_names_no_risk(make_box):
    box = make_box()
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(lambda: box.texts(WANG), "the alarm")
    [alarm] = [e["text"] for e in box.texts(WANG)]
    assert "张伟（石桥村一组3号）呼叫求助" in alarm and "独居" not in alarm, alarm


# 李秀英 lives alone; her son works in the city. 张伟's household lists nobody.
GUARDIAN = "+8615900159002"
GUARDIAN_SHEET = SHEET.replace("户号,户主姓名,地址,电话,组别,中心户长,标记",
                               "户号,户主姓名,地址,电话,组别,中心户长,标记,亲属电话").replace(
    ",第一组,,独居老人\n", ",第一组,,独居老人,159 0015 9002\n")


def test_relatives_hear_their_households_alarm_and_all_clear_and_are_never_rung(make_box):
    assert GUARDIAN_SHEET.count("159 0015 9002") == 1
    box = make_box(sheet=GUARDIAN_SHEET, settings={"alarm": {"ring_members": True}})
    box.emulator.call(ZHANG)  # another household's alarm: not the relative's business
    box.opened()
    box.wait(box.drained, "张伟's alarm to be carried out")
    box.emulator.sms(ZHANG, "0")
    box.wait(lambda: box.incidents()[0]["state"] == "closed", "张伟's alarm cancelled")
    box.emulator.call(LI)
    box.opened(2)
    box.wait(lambda: box.texts(GUARDIAN), "the relative's SMS")
    box.wait(lambda: len(box.calls()) >= 6, "the neighbours rung for both alarms")
    box.emulator.sms(LI, "0")
    box.wait(lambda: len(box.texts(GUARDIAN)) == 2, "the all-clear to the relative")
    box.wait(box.drained, "everything carried out")

    told, cleared = [e["text"] for e in box.texts(GUARDIAN)]
    assert told.startswith("【联防】您的亲属李秀英（石桥村一组2号）（独居老人）报警"), told
    assert "李秀英" in cleared and "解除" in cleared, cleared
    assert box.calls(GUARDIAN) == []  # rung neither for her alarm nor for 张伟's
    assert box.query("SELECT purpose, household_id FROM deliveries WHERE phone = ?"
                     " ORDER BY id", GUARDIAN) == [("guardian_alarm", None),
                                                   ("all_clear", None)]


def test_a_household_joining_an_alarm_has_its_relatives_told(make_box):
    from edgebox.emulator import Latency
    from tests.test_alarm_acks import ACK_SHEET
    wu = "+8615900138010"  # H10 吴芳; her daughter works in the city
    sheet = ACK_SHEET.replace("户号,户主姓名,地址,电话,组别,中心户长,标记",
                              "户号,户主姓名,地址,电话,组别,中心户长,标记,亲属电话").replace(
        "H10,吴芳,石桥村一组10号,15900138010,第一组,,\n",
        "H10,吴芳,石桥村一组10号,15900138010,第一组,,,159 0015 9002\n")
    assert "159 0015 9002" in sheet
    box = make_box(sheet=sheet, latency=Latency.realistic(scale=0.02, sms_submit=50,
                                                          call_setup=2.5, ring_timeout=15))
    box.emulator.call(ZHANG)
    box.opened()
    box.wait(lambda: box.texts(WANG), "the first alarm text")
    # Her own call about the same emergency joins it; she lets it ring through the slow submit.
    box.emulator.call(wu, rings=60)
    box.wait(lambda: box.events("incident_joined"), "the second call to join the alarm")
    box.wait(lambda: box.texts(GUARDIAN), "her relative's SMS", 90)
    [told] = [e["text"] for e in box.texts(GUARDIAN)]
    assert told.startswith("【联防】您的亲属吴芳（石桥村一组10号）报警"), told
