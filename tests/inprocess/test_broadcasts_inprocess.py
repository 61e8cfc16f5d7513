"""Broadcasts, in process: an allowed number texts "广播 …" / "GB …" and every phone of the
village or of one group gets the notice once, the sender told how many households and SMS;
anyone else is refused; a sender's broadcasts per hour are limited, and the next hour allows
them again. (The same through the emulator, and an alarm overtaking a broadcast:
tests/test_broadcasts.py.)"""
import collections

from edgebox.domain.messages import count_segments, render
from tests.support import CHEN, OFFICE, STRANGER, TOWNSHIP, YANG, ZHANG

VILLAGE = ["+8613800138001", "+8613900138002", "+8615013800022", "+8618600138003",
           "+8613700138004", CHEN, YANG]
GROUP_TWO = [CHEN, YANG]


def received(box, words, signed="broadcast") -> collections.Counter:
    """How many times each phone got the notice (whole, however many parts it took); the
    township's are signed by it ("broadcast_township"), the office's by the village."""
    notice = render("zh", signed, text=words)
    return collections.Counter({phone.number: phone.texts.count(notice)
                                for phone in box.network.phones.values()
                                if notice in phone.texts})


def test_office_and_township_broadcast_to_the_village_and_to_one_group(village):
    box = village(settings={"broadcast": {"max_per_hour": 2}})
    box.sms(OFFICE, "广播 今晚八点在村委会开会")
    long_words = "明天上午八点到十二点二组停水检修管道，请大家提前储水，老人和孩子多留意，" \
                 "有困难的家庭请联系组长，停水期间请关好水龙头，以免来水时跑水，谢谢配合。"
    assert count_segments(render("zh", "broadcast", text=long_words)).parts == 2
    box.sms(TOWNSHIP, f"GB 二组：{long_words}")
    box.wait_idle()

    village_notice = received(box, "今晚八点在村委会开会")
    assert sorted(village_notice) == sorted(VILLAGE) and set(village_notice.values()) == {1}
    group_notice = received(box, long_words, "broadcast_township")  # two parts each, joined
    assert sorted(group_notice) == sorted(GROUP_TWO) and set(group_notice.values()) == {1}
    assert {e["parts"] for e in box.network.entries("sms_sent")
            if e["number"] in GROUP_TWO and long_words in e["text"]} == {2}
    assert box.texts(OFFICE) == [render("zh", "broadcast_confirm", households=6, messages=7)]
    assert box.texts(TOWNSHIP) == [render("zh", "broadcast_confirm", households=2, messages=4)]
    assert not box.incidents()  # a broadcast is no alarm
    assert box.query("SELECT sender, group_id, households, messages FROM broadcasts ORDER BY id"
                     ) == [(OFFICE, None, 6, 7), (TOWNSHIP, "第二组", 2, 2)]


def test_numbers_not_allowed_are_refused_and_nothing_is_sent(village):
    box = village()
    box.sms(ZHANG, "广播 明天停电")  # a household, but not the office
    box.sms(STRANGER, "GB 恭喜中奖")  # nobody the box knows
    box.wait_idle()
    refusal = render("zh", "refused", reason="没有广播权限")
    assert box.texts(ZHANG) == [refusal] and box.texts(STRANGER) == [refusal]
    assert len(box.network.entries("sms_sent")) == 2
    assert not box.query("SELECT id FROM broadcasts") and not box.incidents()
    assert sorted((e["data"]["sender"], e["data"]["reason"])
                  for e in box.events("broadcast_refused")) == sorted(
        [(ZHANG, "not_allowed"), (STRANGER, "not_allowed")])


def test_the_hourly_limit_refuses_with_a_reply_and_the_next_hour_allows_again(village):
    box = village(settings={"broadcast": {"max_per_hour": 2}})
    for n in (1, 2, 3):
        box.sms(OFFICE, f"广播 第二组 通知{n}")
        box.wait_idle()
    confirmation = render("zh", "broadcast_confirm", households=2, messages=2)
    assert box.texts(OFFICE) == [confirmation, confirmation,
                                 render("zh", "refused", reason="一小时内广播次数已用完")]
    assert [sorted(received(box, f"通知{n}")) for n in (1, 2, 3)] == [
        sorted(GROUP_TWO), sorted(GROUP_TWO), []]
    box.sms(TOWNSHIP, "广播 第二组 通知4")  # another allowed sender has an hour of their own
    box.wait_idle()
    assert sorted(received(box, "通知4", "broadcast_township")) == sorted(GROUP_TWO)

    box.run(61 * 60, step=600)  # an hour later the office may broadcast again
    box.sms(OFFICE, "广播 第二组 通知5")
    box.wait_idle()
    assert box.texts(OFFICE)[-1] == confirmation
    assert sorted(received(box, "通知5")) == sorted(GROUP_TWO)
    assert len(box.events("broadcast_refused")) == 1
