"""Leaders' administration by SMS through the daemon: "管理 PIN 加/删/列表" adds or removes a phone
of a household of the leader's own group, or lists the group; each change is confirmed by SMS,
logged, kept in the roster tables (a restart keeps it, and the next alarm follows it); the PIN
is never in the log, the daemon's output or any reply. Asserted from the emulator's side and the
database. (Refusals and the wrong-PIN lockout are tested in process, in virtual time:
tests/inprocess/test_leader_admin_inprocess.py.)"""
import json
from datetime import datetime, timezone

import pytest

from edgebox.domain.messages import render
from edgebox.domain.sms_commands import Admin, Rejected, parse_sms, redact_pin
from edgebox.i18n import say
from tests.support import kinds, query, start_box, start_daemon, stop, wait_for

pytestmark = pytest.mark.slow

PIN = "60517293"  # eight digits: no timestamp, sequence number or phone of the sheet holds them
WRONG = "60517294"
LEADER_ONE, LEADER_TWO = "+8613800138001", "+8613600138005"  # 王建国 (第一组), 陈静 (第二组)
NEW_PHONE = "+8617700138033"


def start(tmp_path, emulator, lockout_minutes=60):
    return start_box(tmp_path, [emulator], extra=(
        f'[numbers]\noffice = ["13300138099"]\n'
        f'[admin]\nleader_pin = "{PIN}"\nmax_wrong = 3\nlockout_minutes = {lockout_minutes}\n'))


def restart(daemon, config, db, log_path):
    """SIGTERM the daemon and start it again on the same database (no roster import)."""
    stop(daemon)
    ready = kinds(db).count("modem_ready")
    daemon = start_daemon(config, log_path, append=True)
    wait_for(lambda: kinds(db).count("modem_ready") > ready, 30, "the restarted daemon", log_path)
    return daemon


def replies(emulator, to):
    return [e["text"] for e in emulator.log() if e["kind"] == "sms_sent" and e["number"] == to]


def ask(emulator, phone, text, log_path):
    """Text the box and wait for its one answer."""
    before = len(replies(emulator, phone))
    emulator.sms(phone, text)
    wait_for(lambda: len(replies(emulator, phone)) > before, 60, f"the answer to {text!r}",
             log_path)
    answers = replies(emulator, phone)
    assert len(answers) == before + 1, answers
    return answers[-1]


def phones_of(db, household):
    return json.loads(query(db, "SELECT phones FROM households WHERE id = ?", household)[0][0])


def assert_pin_nowhere(db, log_path, emulator):
    logged = json.dumps(query(db, "SELECT * FROM events"), ensure_ascii=False)
    assert PIN not in logged and WRONG not in logged
    assert PIN not in log_path.read_text() and WRONG not in log_path.read_text()
    assert not [e for e in emulator.log() if e["kind"] == "sms_sent"
                and (PIN in e["text"] or WRONG in e["text"])]


def test_a_leader_adds_lists_and_removes_phones_and_the_next_alarm_follows(tmp_path, emulator):
    daemon, db, config, log_path = start(tmp_path, emulator)
    try:
        # Spaces, full-width digits and a number written in groups are all fine.
        added = ask(emulator, LEADER_ONE, "管理　６０５１７２９３　加　张伟　１７７ ００１３ ８０３３",
                    log_path)
        assert added == render("zh", "admin_done", action="添加", detail="张伟 177 0013 8033")
        removed = ask(emulator, LEADER_ONE, f"管理{PIN}删150-1380-0022", log_path)
        assert removed == render("zh", "admin_done", action="删除", detail="李秀英 150 1380 0022")
        listed = ask(emulator, LEADER_ONE, f"gl {PIN} list", log_path)
        assert listed.startswith(render("zh", "admin_done", action="列出", detail=""))
        assert "张伟 186 0013 8003、177 0013 8033" in listed
        assert "李秀英 139 0013 8002；" in listed and "150 1380 0022" not in listed
        assert "陈静" not in listed  # only the leader's own group

        daemon = restart(daemon, config, db, log_path)
        assert phones_of(db, "H03") == ["+8618600138003", NEW_PHONE]
        assert phones_of(db, "H02") == ["+8613900138002"]
        emulator.call("13700138004")  # 刘洋 calls: the alarm goes by the changed roster
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE purpose = 'alarm' AND"
                                   " state = 'sent'")[0][0] == 4, 60, "the alarm texts", log_path)
    finally:
        stop(daemon)
    alarm = render("zh", "alarm", group="第一组", caller="刘洋", address="石桥村一组4号")
    alerted = sorted(e["number"] for e in emulator.log()
                     if e["kind"] == "sms_sent" and e["text"] == alarm)
    assert alerted == sorted([LEADER_ONE, "+8613900138002", "+8618600138003", NEW_PHONE])
    changes = query(db, "SELECT json_extract(data, '$.action'), json_extract(data, '$.detail'),"
                        " json_extract(data, '$.phone'), json_extract(data, '$.group')"
                        " FROM events WHERE kind = 'admin_change' ORDER BY seq")
    assert [c[:1] + c[2:] for c in changes] == [("add", LEADER_ONE, "第一组"),
                                                ("remove", LEADER_ONE, "第一组"),
                                                ("list", LEADER_ONE, "第一组")]
    assert changes[0][1] == "张伟 177 0013 8033"
    assert query(db, "SELECT json_extract(data, '$.source') FROM events WHERE kind ="
                     " 'roster_replaced' ORDER BY seq")[-2:] == [(f"SMS from {LEADER_ONE}",)] * 2
    assert_pin_nowhere(db, log_path, emulator)


@pytest.mark.parametrize("text,expected", [
    ("管理 1234 加 王五 13800138000", Admin("1234", "add", "王五", "13800138000")),
    ("管理1234加王五13800138000", Admin("1234", "add", "王五", "13800138000")),
    ("管理 1234 加 张三2 13800138000", Admin("1234", "add", "张三2", "13800138000")),
    ("管理 1234 加 王五 +86 138 0013 8000", Admin("1234", "add", "王五", "+8613800138000")),
    ("管理　１２３４　加　王五　１３８００１３８０００", Admin("1234", "add", "王五", "13800138000")),
    ("admin 1234 add Wang 138-0013-8000", Admin("1234", "add", "Wang", "13800138000")),
    ("管理 1234 删除 150 1380 0022", Admin("1234", "remove", None, "15013800022")),
    ("gl 1234 del 15013800022", Admin("1234", "remove", None, "15013800022")),
    ("管理 1234 列表", Admin("1234", "list")),
    ("GL 1234 list", Admin("1234", "list")),
])
def test_the_admin_grammar_is_forgiving(text, expected):
    assert parse_sms(text) == expected


@pytest.mark.parametrize("text", ["管理 12 列表", "管理 123456789 列表", "管理 1234 加 王五",
                                  "管理 1234 加 13800138000", "管理 1234 改 王五", "管理"])
def test_malformed_admin_commands_get_the_usage_without_the_pin(text):
    answer = parse_sms(text)
    assert isinstance(answer, Rejected) and say(answer.reason, "zh").startswith("格式")
    assert "1234" not in answer.reason


def test_the_pin_is_masked_in_what_is_logged():
    assert redact_pin(f"管理 {PIN} 加 王五 13800138000") == "管理 **** 加 王五 13800138000"
    assert redact_pin("管理６０５１７２９３列表") == "管理****列表"
    assert redact_pin("着火了 1234") == "着火了 1234"  # not a command: left as it is


OWN_NUMBER = "+8618900138077"  # the box's SIM


def test_no_office_township_or_box_number_becomes_a_household(tmp_path, emulator):
    daemon, db, config, log_path = start_box(tmp_path, [emulator], extra=(
        f'[numbers]\noffice = ["13300138099"]\ntownship = ["0571-8888 6666"]\n'
        f'[admin]\nleader_pin = "{PIN}"\n'))
    stop(daemon)
    # The modem's own number is configured in its [[modems]] table.
    text = config.read_text(encoding="utf-8").replace(
        f'port = "{emulator.link}"', f'port = "{emulator.link}"\nnumber = "189 0013 8077"')
    config.write_text(text, encoding="utf-8")
    daemon = start_daemon(config, log_path, append=True)
    wait_for(lambda: kinds(db).count("modem_ready") >= 2, 30, "the restarted daemon", log_path)
    try:
        answers = [ask(emulator, LEADER_ONE, f"管理 {PIN} 加 张伟 {number}", log_path)
                   for number in ("133 0013 8099", "0571 8888 6666", "18900138077")]
    finally:
        stop(daemon)
    assert answers == [render("zh", "refused", reason=f"{shown} 是村委、乡镇或报警器的号码，不能登记为住户")
                       for shown in ("133 0013 8099", "0571 8888 6666", "189 0013 8077")]
    assert phones_of(db, "H03") == ["+8618600138003"]
    assert kinds(db).count("admin_change") == 0


def test_a_name_ending_in_digits_is_not_glued_onto_the_phone(tmp_path, emulator):
    daemon, db, _, log_path = start(tmp_path, emulator)
    try:
        named = ask(emulator, LEADER_ONE, f"管理 {PIN} 加 张伟2 17700138033", log_path)
        grouped = ask(emulator, LEADER_ONE, f"管理 {PIN} 加 张伟2 177 0013 8033", log_path)
        spaced = ask(emulator, LEADER_ONE, f"管理 {PIN} 加 张伟 2 17700138033", log_path)
        right = ask(emulator, LEADER_ONE, f"管理 {PIN} 加 张伟 177 0013 8033", log_path)
    finally:
        stop(daemon)
    refused = lambda reason: render("zh", "refused", reason=reason)  # noqa: E731
    assert named == refused("本组没有张伟2")  # the name as written, the phone untouched
    assert grouped.startswith(refused("电话号码不清楚"))  # 张伟2 + 177…, or 张伟 + 2177…?
    assert spaced.startswith(refused("电话号码不清楚"))
    assert right == render("zh", "admin_done", action="添加", detail="张伟 177 0013 8033")
    assert phones_of(db, "H03") == ["+8618600138003", NEW_PHONE]
    stored = json.dumps(query(db, "SELECT phones FROM households"))
    assert "217700138033" not in stored


def test_admin_answers_are_limited_per_number_per_hour(tmp_path, emulator):
    daemon, db, _, log_path = start_box(tmp_path, [emulator], extra=(
        f'[admin]\nleader_pin = "{PIN}"\nmax_per_hour = 3\n'))
    try:
        answers = [ask(emulator, LEADER_ONE, text, log_path) for text in (
            f"管理 {PIN} 列表", f"管理 {WRONG} 列表", "管理 列表", f"管理 {PIN} 列表")]
        emulator.sms(LEADER_ONE, f"管理 {PIN} 列表")  # past the notice: logged, not answered
        wait_for(lambda: kinds(db).count("admin_rate_limited") == 2, 60, "the fifth", log_path)
        # Another leader has an hour of their own.
        assert "陈静" in ask(emulator, LEADER_TWO, f"管理 {PIN} 列表", log_path)
    finally:
        stop(daemon)
    assert answers[3] == render("zh", "refused", reason="一小时内管理短信次数已用完，请稍后再试")
    assert len(replies(emulator, LEADER_ONE)) == 4
    limited = query(db, "SELECT json_extract(data, '$.told') FROM events WHERE kind ="
                        " 'admin_rate_limited' ORDER BY seq")
    assert limited == [(1,), (0,)]
    assert kinds(db).count("admin_malformed") == 1


@pytest.mark.parametrize("text", ["管理 1234 加 张三2 138 0013 8000", "管理1234加王五138 0013 8000",
                                  "管理 1234 加 张三 2 13800138000"])
def test_a_phone_that_cannot_be_told_from_the_name_is_refused_not_guessed(text):
    answer = parse_sms(text)
    assert isinstance(answer, Rejected) and say(answer.reason, "zh").startswith("电话号码不清楚")
    assert "1234" not in answer.reason


OWN_PIN = "24681357"  # 王建国's own, set on the web page


def test_a_leader_with_an_own_pin_must_use_it_and_others_keep_the_shared_one(tmp_path, emulator):
    from edgebox.store.sqlite_store import SqliteStore
    from edgebox.web.passwords import scrypt_hash
    daemon, db, config, log_path = start(tmp_path, emulator)
    try:
        store = SqliteStore(db)
        store.leader_pins.set(datetime.now(timezone.utc), "H01", scrypt_hash(OWN_PIN))
        store.close()
        assert ask(emulator, LEADER_ONE, f"管理 {PIN} 列表", log_path) == render(
        "zh", "refused", reason="密码错误")  # the shared PIN is no longer his
        listed = ask(emulator, LEADER_ONE, f"管理 {OWN_PIN} 列表", log_path)
        assert listed.startswith(render("zh", "admin_done", action="列出", detail=""))
        # 陈静 has no PIN of her own: the shared one still works for her.
        other = ask(emulator, LEADER_TWO, f"管理 {PIN} 列表", log_path)
        assert other.startswith(render("zh", "admin_done", action="列出", detail="")), other
    finally:
        stop(daemon)
    stored = json.dumps(query(db, "SELECT * FROM events"), ensure_ascii=False)
    assert OWN_PIN not in stored and OWN_PIN not in log_path.read_text()
    assert query(db, "SELECT pin_hash LIKE 'scrypt$%' FROM leader_pins") == [(1,)]
    assert_pin_nowhere(db, log_path, emulator)
