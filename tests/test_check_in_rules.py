"""The daily check-in's rules (domain/check_ins.py), without threads or a clock."""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from edgebox.domain import check_ins
from edgebox.domain.check_ins import Rules
from edgebox.domain.messages import count_segments
from edgebox.domain.roster import Group, Household, Roster

CST = timezone(timedelta(hours=8))


def household(hid, check_in="", phones=None, address="石桥村一组"):
    return Household(hid, f"户{hid}", address, phones or (f"+86138001380{hid[-2:]}",),
                     check_in=check_in)


def village(*check_in_times):
    """第一组: H01 (leader) … H06 in sheet order; H03 has the given check-in time."""
    people = [household(f"H0{i}", check_in_times[0] if i == 3 and check_in_times else "")
              for i in range(1, 7)]
    group = Group("G1", "第一组", "H01", tuple(h.id for h in people))
    return Roster(tuple(people), (group,))


@pytest.mark.parametrize("text, expected", [
    ("08:30", time(8, 30)), ("8:30", time(8, 30)), ("08：30", time(8, 30)),
    ("08:30:00", time(8, 30)), (" 19:05 ", time(19, 5)), ("", None), ("  ", None)])
def test_check_in_times_as_sheets_write_them(text, expected):
    assert check_ins.parse_time(text) == expected


@pytest.mark.parametrize("text", ["8点半", "25:00", "08:61", "0830", "morning"])
def test_a_time_that_is_none_is_refused_in_words(text):
    with pytest.raises(ValueError, match="not a time of day like 08:30"):
        check_ins.parse_time(text)


def test_due_only_within_the_window_of_its_day():
    roster = village("08:30")
    rules = Rules(window_minutes=120)
    day = date(2026, 3, 2)
    at = lambda h, m: datetime(2026, 3, 2, h, m, tzinfo=CST)  # noqa: E731
    assert check_ins.due(roster, at(8, 29), rules) == []
    assert [(h.id, d) for h, d in check_ins.due(roster, at(8, 30), rules)] == [("H03", day)]
    assert [h.id for h, _ in check_ins.due(roster, at(10, 29), rules)] == ["H03"]
    assert check_ins.due(roster, at(10, 30), rules) == []


def test_a_late_evening_window_runs_past_midnight_and_keeps_its_day():
    roster = village("23:30")
    now = datetime(2026, 3, 3, 0, 15, tzinfo=CST)
    [(found, day)] = check_ins.due(roster, now, Rules(window_minutes=60))
    assert (found.id, day) == ("H03", date(2026, 3, 2))


@pytest.mark.parametrize("result", ["answered", "acknowledged"])
def test_answering_is_safe(result):
    assert check_ins.after_ring(result, 1, Rules(retries=2)) == "safe"


@pytest.mark.parametrize("result", ["hung_up", "no_answer", "busy", "rejected", "failed"])
def test_a_phone_switched_off_or_unanswered_is_not_safe(result):
    rules = Rules(retries=2)
    assert check_ins.after_ring(result, 1, rules) == "retry"
    assert check_ins.after_ring(result, 2, rules) == "retry"
    assert check_ins.after_ring(result, 3, rules) == "missed"


def test_a_ring_the_box_hung_up_for_an_alarm_is_no_try():
    assert check_ins.after_ring("cancelled", 3, Rules(retries=2)) == "again"


def test_without_retries_the_first_unanswered_ring_is_a_miss():
    assert check_ins.after_ring("no_answer", 1, Rules(retries=0)) == "missed"


@pytest.mark.parametrize("state, window_open, meaning", [
    ("due", True, "check_in"),       # the household's 平安
    (None, True, "alarm"),           # not started: the daemon starts it first (see took_call)
    ("due", False, "alarm"),         # outside its window
    ("safe", True, "alarm"),         # already checked in: a second call is an emergency
    ("safe", False, "alarm"),
    ("missed", True, "close_missed"),
    ("missed", False, "close_missed"),
    ("closed", True, "alarm"),       # the missed one is over: any call is an alarm
    (None, False, "alarm"),
])
def test_which_calls_count_as_a_check_in(state, window_open, meaning):
    assert check_ins.call_counts(state, window_open) == meaning


@pytest.mark.parametrize("state", [None, "due", "safe", "missed", "closed"])
def test_a_call_while_the_households_own_alarm_is_open_is_about_that_alarm(state):
    assert check_ins.call_counts(state, True, own_alarm_open=True) == "alarm"


def test_look_in_list_is_the_leader_then_the_nearest_neighbours_in_sheet_order():
    roster = village("08:30")
    h03 = roster.household("H03")
    assert [h.id for h in check_ins.look_in_list(roster, h03, 2)] == ["H01", "H04", "H02"]
    assert [h.id for h in check_ins.look_in_list(roster, h03, 0)] == ["H01"]
    # The leader next door is not counted twice; the list goes on down the lane.
    h02 = roster.household("H02")
    assert [h.id for h in check_ins.look_in_list(roster, h02, 2)] == ["H01", "H03", "H04"]
    # At the end of the lane, the nearest are all on one side.
    h06 = roster.household("H06")
    assert [h.id for h in check_ins.look_in_list(roster, h06, 3)] == ["H01", "H05", "H04",
                                                                        "H03"]
    # The leader's own check-in: neighbours only, never itself.
    h01 = roster.household("H01")
    assert [h.id for h in check_ins.look_in_list(roster, h01, 2)] == ["H02", "H03"]


def test_relatives_are_never_on_the_look_in_list():
    people = [Household("H01", "王", "一号", ("+8613800138001",)),
              Household("H02", "李", "二号", ("+8613900138002",), check_in="08:30",
                        guardians=("+8615900159002",))]
    roster = Roster(tuple(people), (Group("G1", "第一组", "H01", ("H01", "H02")),))
    plan = check_ins.plan_look_in(roster, people[1], "zh", 5)
    assert [d.phone for d in plan] == ["+8613800138001"]


def test_look_in_sms_is_one_message_in_the_villages_words():
    roster = village("08:30")
    long_address = "石桥村一组" + "东头老槐树旁边第三户门口有石狮子的院子" * 3
    h03 = Household("H03", "李秀英", long_address, ("+8613900138003",), check_in="08:30")
    roster = Roster(tuple(h03 if h.id == "H03" else h for h in roster.households),
                    roster.groups)
    plan = check_ins.plan_look_in(roster, h03, "zh", 2)
    assert [d.purpose for d in plan] == ["check_in_missed"] * 3
    text = plan[0].text
    assert text.startswith("【联防】请上门看看：第一组李秀英（石桥村一组东头")
    assert text.endswith("…）今天08:30没有报平安。到了请回复1")
    assert count_segments(text).parts == 1
    assert count_segments(check_ins.plan_look_in(roster, h03, "en", 2)[0].text).parts == 1


def test_the_check_in_ring_has_no_words_and_goes_after_every_alarm_delivery():
    from edgebox.domain.alarm import PRIORITY
    ring = check_ins.plan_ring(household("H03", "08:30"))
    assert (ring.kind, ring.text, ring.purpose) == ("call", "", "check_in")
    # After every delivery of an alarm, an acknowledgement or a broadcast, with room to spare;
    # only the reports to the county hub by SMS wait behind it (a household's 平安 first).
    assert ring.priority > max(p for k, p in PRIORITY.items()
                               if k not in ("check_in", "uplink_sms")) + 19
    assert ring.priority < PRIORITY["uplink_sms"]


def test_a_late_call_tells_each_phone_that_was_asked_to_look_in_once():
    roster = village("08:30")
    from edgebox.domain.alarm import Delivery

    def sms(n, phone, household_id, purpose, state="sent", attempts=1):
        return Delivery(n, 1, "sms", phone, household_id, purpose, state, attempts)
    planned = [sms(1, "+8613800138001", "H01", "check_in_missed"),
               sms(2, "+8613800138001", "H01", "check_in_missed", "sending"),
               sms(3, "+8613800138004", "H04", "check_in_missed", "pending"),  # tried, again
               sms(4, "+8613800138005", "H05", "check_in_missed", "pending", 0),  # never tried
               sms(5, "+8613800138099", None, "ack_relay")]
    plan = check_ins.plan_late(planned, roster, roster.household("H03"), "zh")
    assert [d.phone for d in plan] == ["+8613800138001", "+8613800138004"]
    assert plan[0].text == "【联防】第一组户H03刚刚来电报了平安，谢谢"


@pytest.mark.parametrize("line, problem", [
    ("retries = 9", "'check_in.retries': must be between 0 and 5"),
    ("retry_minutes = 0", "'check_in.retry_minutes': must be between 0.01 and 240"),
    ("window_minutes = \"2h\"", "'check_in.window_minutes': must be a whole number or a number"),
    ("neighbours = 2.5", "'check_in.neighbours': must be a whole number"),
    ("ring_second = 20", "'check_in.ring_second': unknown key (did you mean"),
])
def test_check_in_settings_are_checked_with_the_key_named(line, problem):
    from edgebox.config_file import parse_config
    from edgebox.errors import ConfigError
    with pytest.raises(ConfigError) as error:
        parse_config(f'[check_in]\n{line}\n[[modems]]\nport = "/dev/null"\n')
    assert problem in str(error.value), str(error.value)


def test_check_in_settings_reach_the_rules():
    from edgebox.config_file import parse_config
    config = parse_config('[check_in]\nretries = 0\nretry_minutes = 5\n[[modems]]\n'
                          'port = "/dev/null"\n')
    assert (config.get("check_in.retries"), config.get("check_in.retry_minutes"),
            config.get("check_in.window_minutes")) == (0, 5, 120)


@pytest.mark.parametrize("event", [
    {"kind": "check_in_due", "data": {"household": "H03", "time": "08:30"}},
    {"kind": "check_in_unanswered", "data": {"household": "H03", "result": "no_answer"}},
    {"kind": "check_in_safe", "data": {"household": "H03", "how": "late_call"}},
    {"kind": "check_in_missed", "data": {"household": "H03", "rings": 3}},
    {"kind": "check_in_dropped", "data": {"household": "H03", "reason": "day_over"}},
    {"kind": "check_in_deferred", "data": {"household": "H03", "result": "cancelled"}},
    {"kind": "incident_opened", "data": {"household": "H03", "kind": "check_in"}},
    {"kind": "incident_closed", "data": {"reason": "checked_in"}},
    {"kind": "call_placed", "data": {"household": "H03", "purpose": "check_in",
                                     "result": "hung_up", "phone": "+8613800138003"}},
    {"kind": "sms_sent", "data": {"household": "H01", "purpose": "check_in_missed",
                                  "phone": "+8613800138001", "parts": 1}},
])
def test_check_in_events_read_as_words_in_both_languages(event):
    from edgebox.domain.timeline import describe
    roster = village("08:30")
    chinese, english = describe(event, roster, "zh"), describe(event, roster, "en")
    assert ("户H0" in chinese or "household" not in event["data"]) and not any(
        w in chinese for w in (
        "check_in", "late_call", "day_over", "hung_up", "no_answer", "?")), chinese
    assert english != chinese and "check_in" not in english and "?" not in english, english
