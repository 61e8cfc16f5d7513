"""Who is at risk, in process: a flagged household's alarm tells its neighbours so
("（独居老人）"), an unflagged one names no risk; relatives hear their household's alarm and
all-clear and are never rung; a household joining an alarm has its relatives told. (A flagged
caller's SMS alarm and escalation through the emulator: tests/test_alarm_at_risk.py.)"""
from tests.support import ACK_SHEET, LI, SHEET, WANG, ZHANG

GUARDIAN = "+8615900159002"
WITH_RELATIVES = ("户号,户主姓名,地址,电话,组别,中心户长,标记",
                  "户号,户主姓名,地址,电话,组别,中心户长,标记,亲属电话")


def test_an_unflagged_callers_alarm_names_no_risk(village):
    box = village()
    box.call("H03")
    box.wait_idle()
    [alarm] = box.texts(WANG)
    assert "张伟（石桥村一组3号）呼叫求助" in alarm and "独居" not in alarm, alarm


def test_relatives_hear_their_households_alarm_and_all_clear_and_are_never_rung(village):
    # 李秀英 lives alone; her son works in the city. 张伟's household lists nobody.
    sheet = SHEET.replace(*WITH_RELATIVES).replace(
        ",第一组,,独居老人\n", ",第一组,,独居老人,159 0015 9002\n")
    box = village(sheet=sheet, settings={"alarm": {"ring_members": True}})
    box.call("H03")  # another household's alarm: not the relative's business
    box.wait_idle()
    box.sms(ZHANG, "0")
    box.wait_idle()
    box.call("H02")
    box.wait_idle()
    box.sms(LI, "0")
    box.wait_idle()

    told, cleared = box.texts(GUARDIAN)
    assert told.startswith("【联防】您的亲属李秀英（石桥村一组2号）（独居老人）报警"), told
    assert "李秀英" in cleared and "解除" in cleared, cleared
    assert not box.rings(GUARDIAN)  # rung neither for her alarm nor for 张伟's
    assert len(box.network.entries("call_placed")) >= 6  # the neighbours, for both alarms
    assert [(d["purpose"], d["household_id"]) for d in box.deliveries(phone=GUARDIAN)] == [
        ("guardian_alarm", None), ("all_clear", None)]


def test_a_household_joining_an_alarm_has_its_relatives_told(village):
    # 吴芳's daughter works in the city.
    sheet = ACK_SHEET.replace(*WITH_RELATIVES).replace(
        "H10,吴芳,石桥村一组10号,15900138010,第一组,,\n",
        "H10,吴芳,石桥村一组10号,15900138010,第一组,,,159 0015 9002\n")
    box = village(sheet=sheet)
    box.call_with_first_sms_held("H03")
    box.call("H10")  # her own call about the same emergency joins it
    box.wait_for(lambda: box.modem().hang_ups_waiting == 1, "the hang-up to wait for the port")
    box.network.release_submits()
    box.wait_idle()
    assert len(box.events("incident_joined")) == 1
    [told] = box.texts(GUARDIAN)
    assert told.startswith("【联防】您的亲属吴芳（石桥村一组10号）报警"), told
