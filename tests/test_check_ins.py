"""Daily check-ins (报平安) through the real daemon process and the modem emulator.

李秀英 (H02, 独居老人) checks in at the current minute, box-local time, so her window is open
as the box starts. Her first phone is rung, ring only; answering is 平安. Unanswered rings are
retried, then the leader and the nearest neighbours are asked to look in, once each.
"""
import signal
import subprocess
import sys
from datetime import datetime

import pytest

from edgebox.emulator import Latency
from edgebox.store.times import parse_utc
from tests.support import CHEN, LI, LI_2, LIU, WANG, YANG, ZHANG
from tests.test_alarm_acks import box_maker

pytestmark = pytest.mark.slow

# 第一组 down the lane: 王建国 (leader), 李秀英, 张伟, 刘洋, 赵敏, 孙丽; 第二组: 陈静, 杨磊.
ZHAO, SUN = "+8613100138007", "+8613200138008"
RELATIVE = "+8615900159002"


def sheet(check_in: str) -> str:
    return f"""户号,户主姓名,地址,电话,组别,中心户长,标记,亲属电话,报平安时间
H01,王建国,石桥村一组1号,138 0013 8001,第一组,是,,,
H02,李秀英,石桥村一组2号,"139 0013 8002; 0086 150 1380 0022",第一组,,独居老人,159 0015 9002,{check_in}
H03,张伟,石桥村一组3号,+86 186 0013 8003,第一组,,,,
H04,刘洋,石桥村一组4号,13700138004,第一组,,应急骨干,,
H07,赵敏,石桥村一组7号,13100138007,第一组,,,,
H08,孙丽,石桥村一组8号,13200138008,第一组,,,,
H05,陈静,石桥村二组1号,13600138005,第二组,是,,,
H06,杨磊,石桥村二组2号,13500138006,第二组,,,,
"""


def now_local() -> str:
    return datetime.now().astimezone().strftime("%H:%M")


@pytest.fixture
def make_box(tmp_path):
    yield from box_maker(tmp_path)


def start(make_box, retries=1, retry_minutes=0.05, ladder=((0.01, ("sms_office",
                                                                     "ring_leader")),),
          callees=None, profile="generic", ring_seconds=5, latency=None, **alarm):
    # A ladder whose first step is due at once: a missed check-in must not climb it.
    return make_box(sheet=sheet(now_local()), ladder=ladder, callees=callees, profile=profile,
                    latency=latency, settings={
        "check_in": {"ring_seconds": ring_seconds, "retries": retries,
                     "retry_minutes": retry_minutes,
                     "window_minutes": 60, "neighbours": 2},
        "alarm": {"ring_members": False, "ring_seconds": 5, **alarm}})


def check_in_events(box, kind):
    return [e for e in box.events(kind) if e["data"].get("household") == "H02"]


def group_alarm_texted(box, caller=LI):
    """Every other member of 第一组 got the alarm SMS."""
    members = {WANG, LI, ZHANG, LIU, ZHAO, SUN} - {caller}
    return all(any("紧急" in t["text"] or "火警" in t["text"] for t in box.texts(p))
               for p in members)


def test_answering_the_ring_is_safe_and_nothing_is_sent(make_box):
    # A modem that speaks into answered calls (SIM7600): the check-in ring says nothing.
    box = start(make_box, callees={LI: {"answer_after": 0.1}}, profile="sim7600")
    box.wait(lambda: check_in_events(box, "check_in_safe"), "李秀英's 平安")
    [safe] = check_in_events(box, "check_in_safe")
    assert safe["data"]["how"] == "ring"
    # Her first phone only, rung once, and no words spoken into it.
    assert [c["number"] for c in box.calls()] == [LI]
    assert not [e for e in box.emulator.log() if e["kind"] in ("tts", "audio")]
    box.wait(lambda: box.query("SELECT count(*) FROM deliveries WHERE state IN"
                               " ('pending', 'sending')")[0][0] == 0, "the ring to be over")
    assert box.texts() == [] and box.incidents() == []
    assert box.query("SELECT state, how, rings FROM check_ins") == [("safe", "ring", 1)]


def test_unanswered_rings_then_leader_and_nearest_neighbours_asked_to_look_in_once(make_box):
    box = start(make_box)
    # Her phone rings out unanswered both times (the network gives up: NO ANSWER).
    box.opened()
    [incident] = box.incidents()
    assert (incident["alarm_type"], incident["caller_household_id"]) == ("check_in", "H02")
    box.wait(lambda: len(box.texts()) == 3, "the three look-in SMS")
    assert [c["number"] for c in box.calls()] == [LI, LI]  # the first ring and one retry
    unanswered = check_in_events(box, "check_in_unanswered")
    assert [e["data"]["ring"] for e in unanswered] == [1]
    # The leader, then the nearest: 张伟 next door, then 刘洋 (王建国 is the leader already).
    texted = {t["number"]: t["text"] for t in box.texts()}
    assert sorted(texted) == sorted([WANG, ZHANG, LIU])
    time = box.query("SELECT check_in FROM households WHERE id = 'H02'")[0][0]
    assert set(texted.values()) == {f"【联防】请上门看看：第一组李秀英（石桥村一组2号）今天{time}"
                                    "没有报平安。到了请回复1"}
    # Its first ladder step was due within a second: three turns of the timers later, nothing
    # has climbed it.
    opened = datetime.fromisoformat(incident["opened_at"])
    box.wait(lambda: (datetime.now().astimezone() - opened).total_seconds() > 3,
             "the ladder's first step to be long due")
    assert box.events("siren_on", "escalated") == []
    # 王建国 goes to look: acknowledged like any incident, and she is told who is coming.
    box.emulator.sms(WANG, "1")
    box.wait(lambda: [a[1] for a in box.acks()] == ["H01"], "王建国's 1")
    box.wait(lambda: any("王建国" in t["text"] for t in box.texts(LI)), "the relay to her")
    # No siren, no ring to anyone else, no escalation though its first step was long due,
    # nothing to her relative nor to the other group.
    assert box.events("siren_on", "escalated") == []
    assert [c["number"] for c in box.calls()] == [LI, LI]
    assert not box.texts(RELATIVE) and not box.texts(CHEN) and not box.texts(YANG)
    listed = subprocess.run([sys.executable, "-m", "edgebox", "incidents", "list", "--config",
                             str(box.config)], capture_output=True, text=True, timeout=60)
    assert "李秀英  未报平安  进行中" in listed.stdout, listed.stdout

    # She calls after all: closed as 平安, each who was asked hears so once; no alarm.
    box.emulator.call(LI)
    box.wait(lambda: box.incidents()[0]["closed_reason"] == "checked_in", "her late call")
    box.wait(lambda: all(any("报了平安" in t["text"] for t in box.texts(p))
                         for p in (WANG, ZHANG, LIU)), "the called-in SMS")
    assert len(box.incidents()) == 1
    listed = subprocess.run([sys.executable, "-m", "edgebox", "incidents", "list", "--config",
                             str(box.config)], capture_output=True, text=True, timeout=60)
    assert "李秀英  未报平安  已报平安" in listed.stdout, listed.stdout
    # Calling again moments later is an emergency: the whole group is alarmed.
    box.emulator.call(LI)
    box.opened(2)
    box.wait(lambda: group_alarm_texted(box), "the alarm to 第一组")
    assert box.incidents()[1]["alarm_type"] == "call"
    assert sum("报了平安" in t["text"] for t in box.texts()) == 3


def test_a_call_in_the_window_is_safe_and_a_second_call_is_an_alarm(make_box):
    box = start(make_box, retry_minutes=30)
    box.wait(lambda: check_in_events(box, "check_in_unanswered"), "the first ring to go out")
    box.emulator.call(LI_2)  # her second phone: still her household
    box.wait(lambda: check_in_events(box, "check_in_safe"), "her call to count")
    assert check_in_events(box, "check_in_safe")[0]["data"]["how"] == "call"
    box.wait(lambda: box.events("call_rejected"), "the call to be rejected, free")
    assert box.incidents() == [] and box.texts() == []
    box.emulator.call(LI)
    box.opened()
    box.wait(lambda: group_alarm_texted(box), "the alarm to 第一组")
    assert box.incidents()[0]["alarm_type"] == "call"
    assert [c["number"] for c in box.calls()] == [LI]  # no further check-in ring


def test_an_sms_alarm_in_the_window_is_an_alarm_and_her_call_then_hastens_it(make_box):
    box = start(make_box, retry_minutes=30,
                ladder=((30, ("sms_office",)), (60, ("sms_township",))))
    box.wait(lambda: check_in_events(box, "check_in_unanswered"), "the first ring to go out")
    box.emulator.sms(LI, "火 厨房着火")
    box.opened()
    box.wait(lambda: group_alarm_texted(box), "the fire alarm to 第一组")
    assert box.incidents()[0]["alarm_type"] == "fire"
    box.emulator.call(LI)  # about her own alarm, not a check-in
    box.wait(lambda: box.events("repeat_call"), "her call to hasten her alarm")
    box.wait(lambda: box.events("escalated"), "the next step")
    assert check_in_events(box, "check_in_safe") == []


def test_an_alarm_nobody_acknowledged_holds_back_the_check_in_ring(make_box):
    box = start(make_box, retry_minutes=0.05, retries=2,
                ladder=((30, ("sms_office",)),))
    box.wait(lambda: check_in_events(box, "check_in_unanswered"), "the first ring to go out")
    box.emulator.call(ZHANG)  # 张伟's emergency: the alarm has the line
    box.opened()
    box.wait(lambda: group_alarm_texted(box, caller=ZHANG) and len(box.texts(ZHANG)) == 1,
             "the alarm to the group and 张伟's confirmation")
    [row] = box.query("SELECT next_ring_at FROM check_ins")
    # The retry overdue by several turns of the daemon's timers (one a second) ...
    box.wait(lambda: (datetime.now().astimezone() - parse_utc(row[0])).total_seconds() > 4,
             "the retry to be long overdue")
    # ... and held back: one check-in ring so far, none planned.
    assert box.query("SELECT count(*) FROM deliveries WHERE purpose = 'check_in'")[0][0] == 1
    box.emulator.sms(WANG, "1")
    box.wait(lambda: box.acks(), "王建国's 1")
    box.wait(lambda: len(box.calls(LI)) == 2, "the held-back check-in ring")
    [acked] = box.events("ack_received")
    second = box.query("SELECT created_at FROM deliveries WHERE purpose = 'check_in'"
                       " ORDER BY id")[1][0]
    assert parse_utc(second) >= acked["at"]


def test_a_restart_resumes_the_check_in_where_it_was(make_box):
    box = start(make_box, retry_minutes=0.15)
    box.wait(lambda: check_in_events(box, "check_in_unanswered"), "the first ring to go out")
    box.daemon.send_signal(signal.SIGTERM)
    box.daemon.wait(30)
    with open(box.log_path, "a") as log_file:
        box.daemon = subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config",
                                       str(box.config)], stdout=log_file,
                                      stderr=subprocess.STDOUT)
    box.wait(lambda: len(box.texts()) == 3, "the look-in SMS after the restart")
    # Started once, rung once before and once after the restart, missed once.
    assert len(check_in_events(box, "check_in_due")) == 1
    assert [c["number"] for c in box.calls()] == [LI, LI]
    assert len(check_in_events(box, "check_in_missed")) == 1 and len(box.incidents()) == 1
    assert box.events("daemon_started")[1]["seq"] < check_in_events(box, "check_in_missed")[0][
        "seq"]


def test_an_alarm_takes_the_line_from_a_check_in_ring_and_that_ring_is_no_try(make_box):
    # Her phone would ring the check-in's full 8 s (the network gives up only after 90 s).
    box = start(make_box, ring_seconds=8, ladder=((30, ("sms_office",)),),
                latency=Latency.realistic(scale=0.02, call_setup=2.5, ring_timeout=4500))
    box.wait(lambda: box.ringing(LI), "her phone to ring")
    box.emulator.call(ZHANG)  # a waiting call while the box rings her
    box.opened()
    box.wait(lambda: check_in_events(box, "check_in_deferred"), "the check-in ring to give way")
    [ring] = [e for e in box.events("call_placed") if e["data"]["purpose"] == "check_in"]
    assert ring["data"]["result"] == "cancelled"  # hung up at once, not rung out
    box.wait(lambda: group_alarm_texted(box, caller=ZHANG), "the alarm to 第一组")
    box.emulator.sms(WANG, "1")
    box.wait(lambda: check_in_events(box, "check_in_unanswered"), "her check-in rung again")
    assert [c["number"] for c in box.calls(LI)] == [LI, LI]
    assert check_in_events(box, "check_in_unanswered")[0]["data"]["ring"] == 1
