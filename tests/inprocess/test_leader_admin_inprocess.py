"""Leaders' administration by SMS, in process: a leader adds, removes and lists phones of their
own group (kept across a restart, followed by the next alarm); others are refused; wrong PINs
lock the number out, across a restart, until the lockout's virtual time is up. (The same through
the emulator and the daemon's process: tests/test_leader_admin.py.)"""
import json

from edgebox.domain.messages import render
from tests.support import CHEN, WANG, ZHANG

PIN, WRONG = "60517293", "60517294"
NEW_PHONE = "+8617700138033"
ADMIN = {"admin": {"leader_pin": PIN, "max_wrong": 3, "lockout_minutes": 60},
         "numbers": {"office": ["13300138099"]}}


def ask(box, phone: str, text: str) -> str:
    """Text the box and return its one answer."""
    before = len(box.texts(phone))
    box.sms(phone, text)
    box.wait_idle()
    answers = box.texts(phone)
    assert len(answers) == before + 1, answers
    return answers[-1]


def phones_of(box, household: str) -> list[str]:
    return json.loads(box.query("SELECT phones FROM households WHERE id = ?", household)[0][0])


def assert_pin_nowhere(box) -> None:
    logged = json.dumps(box.query("SELECT * FROM events"), ensure_ascii=False)
    assert PIN not in logged and WRONG not in logged
    assert not [e for e in box.network.entries("sms_sent") if PIN in e["text"]]


def test_a_leader_adds_lists_and_removes_phones_and_the_next_alarm_follows(village):
    box = village(settings=ADMIN)
    added = ask(box, WANG, "管理　６０５１７２９３　加　张伟　１７７ ００１３ ８０３３")
    assert added == render("zh", "admin_done", action="添加", detail="张伟 177 0013 8033")
    removed = ask(box, WANG, f"管理{PIN}删150-1380-0022")
    assert removed == render("zh", "admin_done", action="删除", detail="李秀英 150 1380 0022")
    listed = ask(box, WANG, f"gl {PIN} list")
    assert "张伟 186 0013 8003、177 0013 8033" in listed and "陈静" not in listed

    box.restart()
    assert phones_of(box, "H03") == [ZHANG, NEW_PHONE]
    assert phones_of(box, "H02") == ["+8613900138002"]
    box.call("H04")  # 刘洋 calls: the alarm goes by the changed roster
    box.wait_idle()
    alarm = render("zh", "alarm", group="第一组", caller="刘洋", address="石桥村一组4号")
    alerted = sorted(e["number"] for e in box.network.entries("sms_sent") if e["text"] == alarm)
    assert alerted == sorted([WANG, "+8613900138002", ZHANG, NEW_PHONE])
    assert [e["data"]["action"] for e in box.events("admin_change")] == ["add", "remove", "list"]
    assert_pin_nowhere(box)


def test_only_a_leader_and_only_in_their_own_group(village):
    box = village(settings=ADMIN)
    refused = lambda reason: render("zh", "refused", reason=reason)  # noqa: E731
    assert ask(box, ZHANG, f"管理 {PIN} 列表") == refused("只有中心户长可以管理本组")
    assert ask(box, CHEN, f"管理 {PIN} 加 张伟 {NEW_PHONE}") == refused("本组没有张伟")
    assert ask(box, CHEN, f"管理 {PIN} 删 15013800022") == refused("本组没有号码 150 1380 0022")
    assert ask(box, CHEN, f"管理 {PIN} 加 杨磊 13700138004") == refused(
        "137 0013 8004 已属于 刘洋")
    assert ask(box, CHEN, f"管理 {PIN} 删 13500138006") == refused("杨磊只剩这一个号码，不能删除")
    assert ask(box, CHEN, f"管理 {PIN} 加 杨磊").startswith(refused("格式："))
    assert ask(box, CHEN, f"管理 {PIN} 加 杨磊 {NEW_PHONE}") == render(
        "zh", "admin_done", action="添加", detail="杨磊 177 0013 8033")
    assert phones_of(box, "H03") == [ZHANG]
    assert phones_of(box, "H06") == ["+8613500138006", NEW_PHONE]
    assert not box.incidents()
    assert (len(box.events("admin_change")), len(box.events("admin_refused")),
            len(box.events("admin_pin_wrong"))) == (1, 4, 0)
    assert_pin_nowhere(box)


def test_wrong_pins_lock_the_number_out_across_a_restart_until_the_time_is_up(village):
    box = village(settings=ADMIN)
    assert [ask(box, WANG, f"管理 {WRONG} 列表") for _ in range(3)] == [
        render("zh", "refused", reason="密码错误")] * 3
    assert ask(box, WANG, f"管理 {PIN} 列表").startswith(
        render("zh", "refused", reason="密码错误次数过多"))
    assert "陈静" in ask(box, CHEN, f"管理 {PIN} 列表")  # another leader is not locked out

    box.restart()
    box.run(59 * 60, step=600)
    again = ask(box, WANG, f"管理 {PIN} 加 张伟 {NEW_PHONE}")
    assert again.startswith(render("zh", "refused", reason="密码错误次数过多"))
    box.run(2 * 60, step=60)  # the lockout (from the third wrong PIN) is over
    done = ask(box, WANG, f"管理 {PIN} 加 张伟 {NEW_PHONE}")
    assert done == render("zh", "admin_done", action="添加", detail="张伟 177 0013 8033")
    assert phones_of(box, "H03") == [ZHANG, NEW_PHONE]
    assert (len(box.events("admin_pin_wrong")), len(box.events("admin_locked"))) == (3, 2)
    assert_pin_nowhere(box)


def test_an_english_box_refuses_a_leaders_change_in_english(village):
    box = village(settings={**ADMIN, "box": {"language": "en"}})
    refused = lambda reason: render("en", "refused", reason=reason)  # noqa: E731
    assert ask(box, CHEN, f"管理 {PIN} 加 张伟 {NEW_PHONE}") == refused(
        "nobody in your group is called 张伟")
    assert ask(box, CHEN, f"管理 {PIN} 删 15013800022") == refused(
        "nobody in your group has the number 150 1380 0022")
    assert ask(box, CHEN, f"管理 {PIN} 加 杨磊 13700138004") == refused(
        "137 0013 8004 already belongs to 刘洋")
    assert ask(box, CHEN, f"管理 {PIN} 删 13500138006") == refused(
        "杨磊 has no other number; this one cannot be removed")
    assert ask(box, CHEN, f"管理 {PIN} 加 杨磊 13300138099") == refused(
        "133 0013 8099 is the office's, the township's or the alarm box's own number; it cannot"
        " be a household's")
    assert phones_of(box, "H06") == ["+8613500138006"]
