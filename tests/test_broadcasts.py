"""Broadcasts through the daemon: an allowed number texts "广播 …" / "GB …" and every phone of the
village or of one group gets the notice once; the sender is told how many households and SMS;
the log follows the progress; an alarm arriving mid-broadcast goes out before the rest of it.
Asserted from the emulator's side and from the database. (Refusals and the hourly limit are
tested in process: tests/inprocess/test_broadcasts_inprocess.py.)"""
import collections

import pytest

from edgebox.domain.messages import count_segments, render
from edgebox.domain.sms_commands import Broadcast, Rejected, parse_sms
from edgebox.emulator import EmulatorServer, Latency
from tests.support import query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

OFFICE, TOWNSHIP, STRANGER = "+8613300138099", "+8613300138088", "+8613912345678"
VILLAGE = ["+8613800138001", "+8613900138002", "+8615013800022", "+8618600138003",
           "+8613700138004", "+8613600138005", "+8613500138006"]
GROUP_TWO = ["+8613600138005", "+8613500138006"]
GROUP_ONE_ALARM = ["+8613800138001", "+8613900138002", "+8615013800022", "+8613700138004"]
NUMBERS = f'[numbers]\noffice = ["{OFFICE}"]\ntownship = ["{TOWNSHIP}"]\n'


@pytest.fixture
def box(tmp_path, emulator):
    daemon, db, _, log_path = start_box(tmp_path, [emulator],
                                        extra=NUMBERS + "[broadcast]\nmax_per_hour = 2\n")
    yield emulator, db, log_path
    stop(daemon)


def texts(emulator, to=None):
    return [e for e in emulator.log() if e["kind"] == "sms_sent"
            and (to is None or e["number"] == to)]


def drained(db):
    return query(db, "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
                 )[0][0] == 0


def broadcast_received(emulator, words, signed="broadcast"):
    """Who got the notice; the township's are signed by it ("broadcast_township")."""
    notice = render("zh", signed, text=words)
    return collections.Counter(e["number"] for e in texts(emulator) if e["text"] == notice)


def test_office_and_township_broadcast_to_the_village_and_to_one_group(box):
    emulator, db, log_path = box
    emulator.sms(OFFICE, "广播 今晚八点在村委会开会")
    wait_for(lambda: len(texts(emulator, OFFICE)) == 1, 60, "the office's confirmation", log_path)
    # The group as people write it: "二组" for 第二组, a colon before the words. The notice is
    # long enough to take two SMS parts, and the count says so.
    long_words = "明天上午八点到十二点二组停水检修管道，请大家提前储水，老人和孩子多留意，" \
                 "有困难的家庭请联系组长，停水期间请关好水龙头，以免来水时跑水，谢谢配合。"
    assert count_segments(render("zh", "broadcast", text=long_words)).parts == 2
    emulator.sms(TOWNSHIP, f"GB 二组：{long_words}")
    wait_for(lambda: len(texts(emulator, TOWNSHIP)) == 1, 60, "the township's confirmation",
             log_path)
    wait_for(lambda: drained(db), 60, "every notice to go out", log_path)
    wait_for(lambda: query(db, "SELECT count(*) FROM broadcasts WHERE reported = 4")[0][0] == 2,
             30, "the log to report both broadcasts done", log_path)

    village = broadcast_received(emulator, "今晚八点在村委会开会")
    assert sorted(village) == sorted(VILLAGE) and set(village.values()) == {1}
    group = broadcast_received(emulator, long_words, "broadcast_township")
    assert sorted(group) == sorted(GROUP_TWO) and set(group.values()) == {1}
    assert all(e["parts"] == 2 for e in texts(emulator) if long_words[:10] in e["text"])
    assert texts(emulator, OFFICE)[0]["text"] == render("zh", "broadcast_confirm", households=6,
                                                        messages=7)
    assert texts(emulator, TOWNSHIP)[0]["text"] == render("zh", "broadcast_confirm",
                                                          households=2, messages=4)
    assert not [e for e in texts(emulator) if e["number"] not in VILLAGE + [OFFICE, TOWNSHIP]]
    # Nothing else happened: a broadcast is no alarm.
    assert query(db, "SELECT count(*) FROM incidents")[0][0] == 0
    assert query(db, "SELECT sender, group_id, households, messages FROM broadcasts ORDER BY id"
                 ) == [(OFFICE, None, 6, 7), (TOWNSHIP, "第二组", 2, 2)]
    # The log follows each broadcast to its end.
    progress = collections.defaultdict(list)
    for broadcast, done, messages in query(
            db, "SELECT json_extract(data, '$.broadcast'), json_extract(data, '$.done'),"
                " json_extract(data, '$.messages') FROM events WHERE kind = 'broadcast_progress'"
                " ORDER BY seq"):
        progress[broadcast].append((done, messages))
    assert sorted(progress) == [1, 2]
    for steps in progress.values():
        assert steps[-1][0] == steps[-1][1]  # the last report: everything done
        assert [d for d, _ in steps] == sorted(d for d, _ in steps)


def test_an_allow_list_replaces_the_office_numbers(tmp_path, emulator):
    allowed = "+8613600138005"  # the leader of 第二组
    daemon, db, _, log_path = start_box(
        tmp_path, [emulator], extra=NUMBERS + f'[broadcast]\nallowed = ["{allowed}"]\n')
    try:
        emulator.sms(OFFICE, "广播 全村 修路通知")
        emulator.sms(allowed, "广播 第二组 今晚巡逻换班")
        wait_for(lambda: len(broadcast_received(emulator, "今晚巡逻换班")) == 2
                 and len(texts(emulator, OFFICE)) == 1, 60, "the notice and the refusal",
                 log_path)
        wait_for(lambda: drained(db), 60, "the outbox to drain", log_path)
    finally:
        stop(daemon)
    assert texts(emulator, OFFICE)[0]["text"] == render("zh", "refused", reason="没有广播权限")
    assert not broadcast_received(emulator, "修路通知")
    assert render("zh", "broadcast_confirm", households=2, messages=2) in [
        e["text"] for e in texts(emulator, allowed)]


def test_an_alarm_goes_out_before_the_rest_of_a_broadcast(tmp_path):
    # A slow network and a three-part notice: the broadcast takes a while, the alarm must not.
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02, sms_submit=20, call_setup=5,
                                                        ring_timeout=30))
    emulator.start()
    daemon, db, _, log_path = start_box(tmp_path, [emulator], extra=NUMBERS)
    words = "村民们请注意：" + "防汛期间请勿靠近河道，夜间注意收听广播，" * 7
    assert count_segments(render("zh", "broadcast", text=words)).parts == 3
    try:
        emulator.sms(OFFICE, f"广播 {words}")
        wait_for(lambda: broadcast_received(emulator, words), 60, "the first notice", log_path)
        emulator.call("18600138003")  # 张伟 of 第一组 needs help meanwhile
        wait_for(lambda: len(broadcast_received(emulator, words)) == len(VILLAGE), 120,
                 "the whole broadcast", log_path)
        wait_for(lambda: drained(db), 60, "the outbox to drain", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    alarm = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")
    order = ["alarm" if e["text"] == alarm else "broadcast" if words[:10] in e["text"] else
             e["number"] for e in texts(emulator)]
    assert order.count("alarm") == len(GROUP_ONE_ALARM)
    first, last = order.index("alarm"), len(order) - 1 - order[::-1].index("alarm")
    # Every alarm SMS in one run, with no notice in between, and notices still to go after it.
    assert order[first:last + 1] == ["alarm"] * len(GROUP_ONE_ALARM)
    assert "broadcast" in order[last + 1:]
    assert sorted(e["number"] for e in texts(emulator) if e["text"] == alarm) == sorted(
        GROUP_ONE_ALARM)
    assert set(broadcast_received(emulator, words).values()) == {1}


@pytest.mark.parametrize("text,group,words", [
    ("广播 今晚开会", None, "今晚开会"),
    ("ＧＢ　今晚开会。", None, "今晚开会。"),             # full-width, the words kept as typed
    ("gb:今晚开会", None, "今晚开会"),
    ("广播 全村 今晚开会", None, "今晚开会"),
    ("广播 全体村民：今晚开会", None, "全体村民：今晚开会"),
    ("广播 第二组 明天停水", "第二组", "明天停水"),
    ("广播二组：明天停水，请储水！", "第二组", "明天停水，请储水！"),
    ("GB 2组 明天停水", "第二组", "明天停水"),
    ("gb第2组,明天停水", "第二组", "明天停水"),
    ("广播 二组的路修好了", None, "二组的路修好了"),  # no separator: words for everyone
])
def test_the_broadcast_grammar_is_forgiving(text, group, words):
    assert parse_sms(text, ("第一组", "第二组")) == Broadcast(group, words)


def test_an_empty_broadcast_is_rejected_and_gbxyz_is_no_broadcast():
    empty = parse_sms("广播 第二组", ("第一组", "第二组"))
    assert isinstance(empty, Rejected) and empty.about == "broadcast"
    assert not isinstance(parse_sms("gbxyz", ()), (Broadcast, Rejected))
