"""Scheduled drills in virtual time, in process: each ``[drill] schedule`` slot drills the next
group once (a restart within the slot does not drill again), every message is marked 【演练】,
the ladder climbs marked, a leader may call it off, and the office gets the report of who
acknowledged. (An office drill from the web panel, with ring calls and keys:
tests/test_drills.py.)"""
from datetime import timedelta

from edgebox.domain.messages import render
from tests.inprocess.village import Village
from tests.support import CHEN, OFFICE

DRILL_TAG, REAL_TAG = "【演练】", "【联防】"


def test_scheduled_drills_fire_once_per_slot_across_a_restart_and_take_turns(village):
    # Two slots of a daily schedule, in the box's local time, minutes into virtual time.
    start = Village.START.astimezone()
    first = (start + timedelta(minutes=2)).replace(microsecond=0)
    second = first + timedelta(minutes=15)
    box = village(settings={"alarm": {"ring_members": False},
                            "drill": {"schedule": [f"daily {first:%H:%M:%S}",
                                                   f"daily {second:%H:%M:%S}"]}},
                  ladder=((3, ["sms_office"]),))
    drills = lambda: box.query("SELECT id, group_id, state, closed_reason FROM incidents"  # noqa
                               " WHERE drill = 1 ORDER BY id")
    box.run(3 * 60, step=60)
    assert [d[1] for d in drills()] == ["第一组"]
    box.restart()  # within the slot: it must not drill again
    box.run(60, step=30)
    assert len(drills()) == 1
    box.run(14 * 60, step=120)  # the second slot; the first drill's report is due meanwhile
    assert [d[1] for d in drills()] == ["第一组", "第二组"]
    box.run(4 * 60, step=60)  # nobody answers the second drill: the ladder climbs, marked
    assert box.query("SELECT escalation_step FROM incidents WHERE id = ?", drills()[1][0]
                     ) == [(1,)]
    box.sms(CHEN, "取消")  # the leader of 第二组 calls it off
    box.wait_idle()

    assert [(group, reason) for _, group, _, reason in drills()] == [
        ("第一组", "drill_over"), ("第二组", "cancelled")]
    assert [(e["data"]["slot"], e["data"]["group"]) for e in box.events("drill_scheduled")] == [
        (first.isoformat(), "第一组"), (second.isoformat(), "第二组")]
    sent = box.network.entries("sms_sent")
    assert all(e["text"].startswith(DRILL_TAG) and REAL_TAG not in e["text"] for e in sent)
    for group, caller, address, members in (
            ("第一组", "王建国", "石桥村一组1号",
             ["+8613700138004", "+8613900138002", "+8615013800022", "+8618600138003"]),
            ("第二组", "陈静", "石桥村二组1号", ["+8613500138006"])):
        alarm = render("zh", "alarm", drill=True, group=group, caller=caller, address=address)
        assert sorted(e["number"] for e in sent if e["text"] == alarm) == sorted(members)
    office = box.texts(OFFICE)
    escalations = [t for t in office if "升级" in t]
    assert len(escalations) == 2 and all(t.startswith(DRILL_TAG) for t in escalations)
    assert render("zh", "drill_report_names", group="第一组", acked=0, total=3, fastest="-",
                  mean="-", names="无") in office
    all_clear = render("zh", "all_clear", drill=True, group="第二组", caller="陈静")
    assert sorted(e["number"] for e in sent if e["text"] == all_clear) == sorted([
        "+8613500138006", CHEN, OFFICE])
