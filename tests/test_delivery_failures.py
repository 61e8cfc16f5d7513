"""Alarm SMS the network refuses, through the daemon: each is retried with a growing wait up to
modem.max_attempts; a member whose alarm SMS failed for good is rung instead; every failure is in
the log; once the texting is over the office gets one SMS naming who could not be texted.
The emulator refuses submits to chosen numbers (``sms_error``). Asserted from the emulator's
side and from the database. (Phones refusing SMS not taking the modem out of service, and
reports: tests/inprocess/test_delivery_failures_inprocess.py.)"""
from datetime import datetime

import pytest

from edgebox.domain.messages import render
from tests.support import kinds, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

OFFICE = "+8613300138099"
RETRY_SECONDS = 0.3
CONFIG = (f'[numbers]\noffice = ["{OFFICE}"]\n'
          f'[modem]\nmax_attempts = 3\nretry_seconds = {RETRY_SECONDS}\n')
ALARM = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")


def entries(emulator, kind, number=None):
    return [e for e in emulator.log() if e["kind"] == kind
            and (number is None or e["number"] == number)]


def settled(db):
    """Nothing left to send and the office told."""
    return query(db, "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
                 )[0][0] == 0 and "failure_summary" in kinds(db)


def test_a_refused_alarm_sms_is_retried_then_the_member_is_rung_and_the_office_told(tmp_path,
                                                                                   emulator):
    emulator.sms_error("+8613700138004", 500)           # 刘洋's phone takes no SMS at all
    emulator.sms_error("+8613800138001", 500, count=1)  # 王建国's refuses once, then works
    daemon, db, _, log_path = start_box(tmp_path, [emulator], extra=CONFIG)
    try:
        emulator.call("18600138003")  # 张伟 calls
        wait_for(lambda: settled(db), 60, "the ring instead and the office's summary", log_path)
        wait_for(lambda: entries(emulator, "sms_sent", OFFICE), 30, "the summary SMS", log_path)
    finally:
        stop(daemon)

    # 刘洋: three tries, each refused, and never texted; then rung, once.
    failed = entries(emulator, "sms_failed", "+8613700138004")
    assert len(failed) == 3
    # The waits between tries grow: retry_seconds, then twice that.
    gaps = [later["clock"] - earlier["clock"] for earlier, later in zip(failed, failed[1:])]
    assert gaps[0] >= RETRY_SECONDS and gaps[1] >= 2 * RETRY_SECONDS
    assert not entries(emulator, "sms_sent", "+8613700138004")
    assert [e["number"] for e in entries(emulator, "call_placed")] == ["+8613700138004"]
    # 王建国: refused once, the retry went through; no ring for him.
    assert len(entries(emulator, "sms_failed", "+8613800138001")) == 1
    assert [e["text"] for e in entries(emulator, "sms_sent", "+8613800138001")] == [ALARM]
    # The office hears once, after the texting, who could not be texted.
    assert [e["text"] for e in entries(emulator, "sms_sent", OFFICE)] == [
        render("zh", "failures", group="第一组", count=1, names="刘洋")]
    last_alarm = max(e["clock"] for e in entries(emulator, "sms_sent") if e["text"] == ALARM)
    assert entries(emulator, "sms_sent", OFFICE)[0]["clock"] > last_alarm
    # The log has every failure: each retry with its wait, the final failure, the ring instead.
    retries = query(db, "SELECT e.at, json_extract(e.data, '$.not_before') FROM events e JOIN"
                        " deliveries d ON d.id = json_extract(e.data, '$.delivery') WHERE"
                        " e.kind = 'delivery_retry' AND d.phone = '+8613700138004' ORDER BY seq")
    waits = [round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds(), 2)
             for a, b in retries]
    assert waits == [RETRY_SECONDS, 2 * RETRY_SECONDS]
    assert query(db, "SELECT state, attempts, last_error IS NOT NULL FROM deliveries WHERE"
                     " phone = '+8613700138004' AND kind = 'sms'") == [("failed", 3, 1)]
    assert query(db, "SELECT json_extract(data, '$.phone') FROM events WHERE kind ="
                     " 'delivery_failed'") == [("+8613700138004",)]
    assert query(db, "SELECT json_extract(data, '$.household'), json_extract(data, '$.phone')"
                     " FROM events WHERE kind = 'ring_instead'") == [("H04", "+8613700138004")]
    assert query(db, "SELECT json_extract(data, '$.names') FROM events WHERE kind ="
                     " 'failure_summary'") == [("刘洋",)]
