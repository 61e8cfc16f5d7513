"""The pure alarm rules: who is texted and rung, in which order, with which words."""
from datetime import datetime, timedelta, timezone

import pytest

from edgebox.domain import alarm, notices
from edgebox.domain.acks import (COMING, OWN_ALARM, incident_to_acknowledge, is_acknowledgement,
                                 told_member_call)
from edgebox.domain.messages import (CUT_MARK, LANGUAGES, TEMPLATES, count_segments, fit_one_sms,
                                     render, template_fields)
from edgebox.domain.messages import template as message_template
from edgebox.domain.roster import Group, Household, Roster

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def household(n, phones=1, flags=()):
    return Household(f"H{n:03d}", f"户主{n}", f"石桥村一组{n}号",
                     tuple(f"+861380013{n:02d}{k:02d}" for k in range(phones)), frozenset(flags))


@pytest.fixture
def roster():
    members = [household(1), household(2, phones=2), household(3), household(4, flags={"able_helper"}),
               household(5)]
    others = [household(10), household(11)]
    return Roster(tuple(members + others), (
        Group("第一组", "第一组", "H002", tuple(h.id for h in members)),
        Group("第二组", "第二组", "H010", ("H010", "H011")),
    )).validated()


def test_plan_texts_every_phone_of_every_other_member_rings_the_leader_early_then_the_rest(
        roster):
    group, caller = roster.group("第一组"), roster.household("H003")
    plan = alarm.plan_alarm(roster, group, caller, caller.primary_phone)
    sms = [d for d in plan if d.purpose == "alarm"]
    assert sorted(d.phone for d in sms) == sorted(
        p for h in roster.members("第一组") if h.id != "H003" for p in h.phones)
    assert all(d.kind == alarm.SMS for d in sms)
    confirm = [d for d in plan if d.purpose == "confirm"]
    assert [(d.phone, d.kind) for d in confirm] == [(caller.primary_phone, alarm.SMS)]
    rings = [d for d in plan if d.kind == alarm.CALL]
    # one ring per other household, to its first phone: leader first, then able helpers, then
    # the rest nearest the caller first (H005 next door but one after, H001 before)
    assert [d.household_id for d in rings] == ["H002", "H004", "H005", "H001"]
    assert rings[0].phone == roster.household("H002").phones[0]
    # the order one modem drains them in (by priority, then as planned): the leader's SMS and
    # ring, the other texts and the confirmation, then the other rings
    ordered = sorted(enumerate(plan), key=lambda p: (p[1].priority, p[0]))
    assert [(d.purpose, d.household_id) for _, d in ordered] == [
        ("alarm", "H002"), ("ring", "H002"), ("alarm", "H002"), ("alarm", "H004"),
        ("alarm", "H005"), ("alarm", "H001"), ("confirm", "H003"), ("ring", "H004"),
        ("ring", "H005"), ("ring", "H001")]
    assert ordered[0][1].phone == rings[0].phone  # the SMS is there when the phone rings
    assert "H003" not in {d.household_id for d in plan if d.purpose != "confirm"}


def test_plan_without_ringing(roster):
    caller = roster.household("H001")
    plan = alarm.plan_alarm(roster, roster.group("第一组"), caller, caller.primary_phone,
                            ring=False)
    assert not [d for d in plan if d.kind == alarm.CALL]


def test_alarm_text_names_caller_group_and_address_and_fits_one_sms(roster):
    caller = Household("H9", "欧阳建国", "石桥村东头老槐树12号", ("+8613800138000",))
    text = render("zh", "alarm", group="第十二组", caller=caller.name, address=caller.address)
    assert "欧阳建国" in text and "石桥村东头老槐树12号" in text and "第十二组" in text
    assert count_segments(text).parts == 1 and count_segments(text).encoding == "ucs2"


def test_every_template_fits_one_sms_with_long_typical_values():
    long = {"group": "第十二组", "caller": "欧阳建国", "member": "欧阳建国",
            "address": "石桥村东头老槐树12号", "notified": 19, "number": "0571 8888 6666",
            "time": "23:59", "balance": "1234.56", "modem": "modem-main", "label": "紧急求助",
            "text": "厨房着火", "minutes": 10, "households": 51, "messages": 68,
            "reason": "今天的广播次数已用完", "action": "添加", "detail": "欧阳建国 138 0013 8000",
            "count": 12, "names": "欧阳建国、张三", "acked": 12, "total": 14, "fastest": 35,
            "mean": 128, "risk": "（独居老人）", "dial": "请拨火警119，", "call": "火警119",
            "who": "欧阳建国", "seconds": 35}
    for lang in LANGUAGES:
        for name in TEMPLATES:
            template = message_template(lang, name)
            if name.endswith("_speech") or name == "broadcast":
                continue  # spoken into a call / the office's own words, several parts allowed
            if name == "escalation":
                continue  # cut to fit by notices.escalation_text, tested on its own
            text = render(lang, name, **{k: long[k] for k in template_fields(template)})
            assert count_segments(text).parts == 1, (lang, name, text)


AT_RISK = {"elderly_alone": "独居老人", "left_behind_children": "留守儿童", "disabled": "残疾"}


@pytest.mark.parametrize("flag", sorted(AT_RISK))
def test_alarm_sms_says_who_is_at_risk_and_names_the_emergency_number(flag):
    group = Group("第十二组", "第十二组", "H9", ("H9",))
    caller = Household("H9", "欧阳建国", "石桥村东头老槐树12号", ("+8613800138000",),
                       frozenset({flag, "able_helper"}))
    plain = alarm.alarm_text("zh", group, caller)
    assert f"欧阳建国（石桥村东头老槐树12号）（{AT_RISK[flag]}）呼叫求助" in plain, plain
    assert "119" not in plain and "110" not in plain  # a plain call names no number
    for alarm_type, number in (("fire", "火警119"), ("medical", "急救120"), ("thief", "报警110")):
        text = alarm.alarm_text("zh", group, caller, alarm_type, "厨房着火")
        assert f"（{AT_RISK[flag]}）" in text and f"请拨{number}，" in text, text
        assert "厨房着火" in text and count_segments(text).parts == 1
    # An unflagged household's alarm reads as before.
    calm = Household("H9", "欧阳建国", "石桥村东头老槐树12号", ("+8613800138000",))
    assert alarm.alarm_text("zh", group, calm) == render(
        "zh", "alarm", group="第十二组", caller="欧阳建国", address="石桥村东头老槐树12号")


def test_the_emergency_number_gives_way_to_the_callers_words():
    group = Group("第十二组", "第十二组", "H9", ("H9",))
    caller = Household("H9", "欧阳建国", "石桥村东头老槐树12号", ("+8613800138000",),
                       frozenset({"elderly_alone", "disabled"}))
    words = "火 厨房着火了，烟很大，老人在里屋出不来"
    text = alarm.alarm_text("zh", group, caller, "fire", words)
    assert count_segments(text).parts == 1 and words in text and "119" not in text, text
    assert "（独居老人、残疾）" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_escalation_sms_carries_village_phone_and_risk_in_one_sms(lang):
    group = Group("第十二组", "第十二组", "H9", ("H9",))
    caller = Household("H9", "欧阳建国", "石桥村东头老槐树12号", ("+8613800138000",),
                       frozenset({"left_behind_children"}))
    text = notices.escalation_text(lang, group, caller, "+8613800138000", "石桥村", "fire", 10)
    assert count_segments(text).parts == 1, text
    assert "13800138000" in text and "石桥村第十二组" in text and "欧阳建国" in text
    assert ("（留守儿童）" if lang == "zh" else "(kids alone)") in text
    if lang == "zh":  # the Chinese one fits whole; the English one cuts the address
        assert "（石桥村东头老槐树12号）" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_caller_words_too_long_for_one_sms_are_cut_with_a_visible_mark(roster, lang):
    group, caller = roster.group("第一组"), roster.household("H003")
    words = "火 " + "厨房着火了，火从灶台烧到柴堆，" * 130  # 2,000 characters: 30 parts whole
    assert count_segments(words).parts == 30
    text = alarm.alarm_text(lang, group, caller, "fire", words)
    mark = CUT_MARK[lang]
    assert count_segments(text).parts == 1, text
    assert text.endswith(mark), text  # the reader sees more was said, and where to read it
    said = text[:-len(mark)]
    # The reply instruction is kept, before the words; as many words as fit follow.
    quoted = said.rsplit("回复1确认：" if lang == "zh" else "Reply 1: ", 1)[1]
    assert words.startswith(quoted) and len(quoted) > 10, text
    assert caller.name in text and caller.address in text
    # Words that fit are quoted whole, with no mark.
    short = alarm.alarm_text(lang, group, caller, "fire", "火 厨房着火")
    assert "火 厨房着火" in short and mark not in short


def test_an_update_too_long_for_one_sms_ends_with_the_mark():
    text = fit_one_sms("zh", "update", "text", "盗 " + "有人撬我家后门" * 20, label="盗警",
                       caller="张伟", address="石桥村一组3号")
    assert count_segments(text).parts == 1 and text.endswith(CUT_MARK["zh"])
    assert text.startswith("【联防】盗警更新：张伟（石桥村一组3号）：盗 有人撬我家后门")


@pytest.mark.parametrize("text,expected", [
    ("a" * 160, (1, "gsm7")), ("a" * 161, (2, "gsm7")), ("a" * 306, (2, "gsm7")),
    ("a" * 307, (3, "gsm7")), ("中" * 70, (1, "ucs2")), ("中" * 71, (2, "ucs2")),
    ("中" * 134, (2, "ucs2")), ("中" * 135, (3, "ucs2")), ("[" * 80, (1, "gsm7")),
    ("[" * 81, (2, "gsm7")), ("😀" * 35, (1, "ucs2")), ("😀" * 36, (2, "ucs2")),
    ("中" * 2000, (30, "ucs2")),
])
def test_segment_counts_match_the_network(text, expected):
    count = count_segments(text)
    assert (count.parts, count.encoding) == expected


@pytest.mark.parametrize("text", ["1", "１", " 1 ", "到", "收到", "马上到", "ok", "OK!", "Ｏｋ",
                                  "收到，马上到", "好", "1！", "yes", "我马上过来", "好的，马上到",
                                  "我在路上", "正在赶来", "这就去", "来了来了"])
def test_acknowledgements(text):
    assert is_acknowledgement(text)


@pytest.mark.parametrize("text", ["", "0", "2", "取消", "火", "谁呀", "10", "okay then", "不到",
                                  "1" * 30, "到底怎么了", "快来", "来人啊", "我家着火了", "我摔倒了",
                                  "我去不了"])
def test_not_acknowledgements(text):
    assert not is_acknowledgement(text)


def _incident(i, group, caller, opened=T0, state="open"):
    return alarm.Incident(i, group, caller, "+8613800130100", opened, state)


def test_a_told_members_first_call_is_coming_and_a_call_again_is_its_own_alarm():
    minute = 60
    # The first call back: coming.
    assert told_member_call(False, None, T0, minute) == COMING
    # Again within the minute (the call back was to this alarm, or to another open one).
    assert told_member_call(False, T0 - timedelta(seconds=59), T0, minute) == OWN_ALARM
    assert told_member_call(True, T0 - timedelta(seconds=5), T0, minute) == OWN_ALARM
    # Already said it is coming to this alarm (an SMS "1", the key): own emergency, any time.
    assert told_member_call(True, None, T0, minute) == OWN_ALARM
    # A call back long ago was to an older alarm; this newer one it has not answered yet.
    assert told_member_call(False, T0 - timedelta(seconds=61), T0, minute) == COMING


def test_incident_open_window_and_state():
    incident = _incident(1, "第一组", "H001")
    assert incident.is_open(T0 + timedelta(minutes=29), 30)
    assert not incident.is_open(T0 + timedelta(minutes=30), 30)
    assert not _incident(1, "第一组", "H001", state="closed").is_open(T0, 30)


def test_repeat_call_finds_the_callers_open_incident_only():
    incidents = [_incident(1, "第一组", "H001"), _incident(2, "第一组", "H002", state="closed")]
    assert alarm.open_incident_of_caller(incidents, "H001", T0, 30).id == 1
    assert alarm.open_incident_of_caller(incidents, "H002", T0, 30) is None
    assert alarm.open_incident_of_caller(incidents, "H001", T0 + timedelta(hours=1), 30) is None


def test_ack_goes_to_newest_open_incident_of_members_group_not_own(roster):
    incidents = [_incident(1, "第一组", "H001", T0), _incident(2, "第一组", "H003",
                                                               T0 + timedelta(minutes=1)),
                 _incident(3, "第二组", "H010", T0 + timedelta(minutes=2))]
    member = roster.household("H002")
    now = T0 + timedelta(minutes=3)
    assert incident_to_acknowledge(incidents, roster, member, now, 30).id == 2
    # the caller of incident 2 acknowledging answers incident 1, not its own
    assert incident_to_acknowledge(incidents, roster, roster.household("H003"), now,
                                         30).id == 1
    assert incident_to_acknowledge(incidents, roster, member, T0 + timedelta(hours=2),
                                         30) is None


def test_ack_relay_goes_to_caller_and_names_member(roster):
    incident = _incident(1, "第一组", "H003")
    relay = notices.plan_ack_relay(incident, roster.household("H002"))
    assert relay.phone == incident.caller_phone and relay.kind == alarm.SMS
    assert "户主2" in relay.text and relay.purpose == "ack_relay"


def test_unknown_caller_forward_goes_to_every_office_number():
    plan = notices.plan_unknown_caller("+8613912345678", ["+8657188886666", "+8613800138000"],
                                       "08:15")
    assert [d.phone for d in plan] == ["+8657188886666", "+8613800138000"]
    assert all("139 1234 5678" in d.text and "08:15" in d.text for d in plan)
    assert all(d.household_id is None for d in plan)


def test_unknown_callers_reach_the_office_once_per_number_and_hour_up_to_a_limit():
    assert notices.unknown_caller_notice("+861391", [], False, 2) == "forward"
    assert notices.unknown_caller_notice("+861391", ["+861391"], False, 2) == "quiet"  # again
    assert notices.unknown_caller_notice("+861392", ["+861391"], False, 2) == "forward"
    told = ["+861391", "+861392"]
    assert notices.unknown_caller_notice("+861393", told, False, 2) == "flood"  # said once
    assert notices.unknown_caller_notice("+861394", told, True, 2) == "quiet"
    [notice] = notices.plan_unknown_flood(3, ["+8657188886666"])
    assert "3个未登记号码" in notice.text and notice.purpose == "unknown_forward"
    [english] = notices.plan_unknown_flood(3, ["+8657188886666"], "en")
    assert english.text.startswith("[Watch] 3 unregistered numbers")


def test_relatives_are_texted_once_never_rung_and_not_in_a_drill():
    child = Household("H2", "李小明", "石桥村一组2号", ("+8613800138002",),
                      frozenset({"left_behind_children"}),
                      guardians=("+8613900139002", "+8613800138001"))  # mother; a neighbour
    leader = Household("H1", "张建国", "石桥村一组1号", ("+8613800138001",))
    roster = Roster((leader, child), (Group("第一组", "第一组", "H1", ("H1", "H2")),))
    plan = alarm.plan_alarm(roster, roster.group("第一组"), child, child.primary_phone)
    to_mother = [d for d in plan if d.phone == "+8613900139002"]
    assert [(d.kind, d.purpose, d.household_id) for d in to_mother] == [
        (alarm.SMS, "guardian_alarm", None)]
    assert "李小明" in to_mother[0].text and "（留守儿童）" in to_mother[0].text
    # The neighbour who is also a relative hears the alarm once, as a neighbour.
    assert [d.purpose for d in plan if d.phone == "+8613800138001"] == ["alarm", "ring"]
    drill = alarm.plan_alarm(roster, roster.group("第一组"), child, child.primary_phone,
                             drill=True)
    assert all(d.phone != "+8613900139002" for d in drill)


def test_households_calling_about_one_emergency_keep_who_is_at_risk():
    group = Group("第一组", "第一组", "H1", ("H1", "H2", "H3"))
    zhang = Household("H1", "张伟", "一组3号", ("+8613800138003",))
    li = Household("H2", "李秀英", "一组2号", ("+8613900138002",), frozenset({"elderly_alone"}))
    text = alarm.alarm_text("zh", group, alarm.joint_caller([zhang, li]))
    assert "张伟、李秀英（一组3号、一组2号）（独居老人）呼叫求助" in text, text
    assert "（独居老人）" in render("zh", "joined", group="第一组", caller="李秀英",
                                   address="一组2号", risk="（独居老人）")


def test_the_nearest_able_helper_is_rung_first_and_the_sheet_order_is_kept_on_request():
    lane = [household(n, flags={"able_helper"} if n in (1, 6) else ()) for n in range(1, 8)]
    roster = Roster(tuple(lane), (Group("第一组", "第一组", "H007", tuple(h.id for h in lane)),))
    caller = roster.household("H005")
    assert roster.nearest("H005") == ["H006", "H004", "H007", "H003", "H002", "H001"]

    def rung(order):
        plan = alarm.plan_alarm(roster, roster.group("第一组"), caller, caller.primary_phone,
                                order=order)
        return [d.household_id for d in plan if d.kind == alarm.CALL]
    # 应急骨干 next door (H006) before the one at the far end of the lane (H001), then the leader.
    assert rung("helpers_first") == ["H006", "H001", "H007", "H004", "H003", "H002"]
    assert rung("leader_first") == ["H007", "H006", "H001", "H004", "H003", "H002"]
    assert rung("sheet") == ["H001", "H002", "H003", "H004", "H006", "H007"]
