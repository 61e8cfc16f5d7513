"""The SMS uplink's format and the hub's intake: round trip, size, refusals, replays, and
facts by SMS never counted twice once the full log arrives."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from edgebox.domain.messages import count_segments
from edgebox.hub.database import open_database
from edgebox.hub.ingest import store_batch
from edgebox.hub.registry import add_box
from edgebox.hub.sms_ingest import ReplayedReport, ingest_report, reports_of
from edgebox.uplink import sms_format
from edgebox.uplink.sms_format import BadReport
from tests.hub_support import hub_database_url

TOKEN = "t0ken-for-the-tests-0123456789"
AT = datetime(2026, 12, 6, 7, 13, tzinfo=timezone.utc)


def day_text(seq: int = 1, token: str = TOKEN, **changes) -> str:
    values = dict(day=date(2026, 12, 5), alarms={"fire": 2, "call": 1}, acks=3, failures=1,
                  registration="home", signal=18, balance=23.5, households=42)
    values.update(changes)
    return sms_format.encode_day(token, "box-1", seq, **values)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    db = open_database(hub_database_url(request.param, tmp_path))
    add_box(db, "box-1", "临安区", "太湖源镇", "石桥村", TOKEN)
    yield db
    db.close()


def test_a_day_report_round_trips_and_fits_one_sms():
    text = day_text()
    assert count_segments(text).parts == 1 and count_segments(text).encoding == "gsm7"
    report = sms_format.verify(text, lambda box: TOKEN if box == "box-1" else None)
    assert (report.box, report.seq, report.kind, report.day()) == ("box-1", 1, "D",
                                                                    date(2026, 12, 5))
    assert report.fields == {"alarms": {"fire": 2, "call": 1}, "acks": 3, "failures": 1,
                             "registration": "home", "signal": 18, "balance": 23.5,
                             "households": 42}


def test_an_escalation_round_trips_and_unknown_values_stay_well_formed():
    text = sms_format.encode_escalation(TOKEN, "box-1", 7, AT, 17, "fire", 3)
    report = sms_format.verify(text, lambda box: TOKEN)
    assert report.fields == {"incident": 17, "alarm_type": "fire", "step": 3}
    assert report.when == "20261206T0713"
    quiet = sms_format.verify(day_text(alarms={}, registration=None, signal=None, balance=None),
                              lambda box: TOKEN)
    assert quiet.fields["alarms"] == {} and quiet.fields["balance"] is None
    assert quiet.fields["registration"] == "unknown"


@pytest.mark.parametrize("change", [
    lambda t: t.replace("k=3", "k=4"),  # a changed count
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # a changed signature
    lambda t: t.replace("box-1", "box-2"),  # another box's name
])
def test_a_changed_report_is_refused(change):
    with pytest.raises(BadReport, match="signature"):
        sms_format.verify(change(day_text()), lambda box: TOKEN if box == "box-1" else None)


def test_a_report_signed_with_another_token_is_refused():
    with pytest.raises(BadReport, match="signature"):
        sms_format.verify(day_text(token="another-token-0123456789"), lambda box: TOKEN)


@pytest.mark.parametrize("text, words", [
    ("EB1 hello", "not an uplink report"),
    ("EB1 box-1 1 D 20261305 a=- k=0 f=0 m=h1 b=- r=1 #0123456789abcdef", "not a day"),
    ("EB1 box-1 1 D 20261205 a=- k=x f=0 m=h1 b=- r=1 #0123456789abcdef", "whole number"),
    ("EB1 box-1 1 D 20261205 a=- f=0 m=h1 b=- r=1 #0123456789abcdef", "lacks k"),
    ("EB1 box-1 1 D 20261205 a=fire k=0 f=0 m=h1 b=- r=1 #0123456789abcdef", "type and a number"),
    ("EB1 box-1 1 D 20261205 a=- k=0 f=0 m=z1 b=- r=1 #0123456789abcdef", "modem health"),
])
def test_garbled_text_gets_a_clear_refusal(text, words):
    assert sms_format.looks_like_report(text)
    with pytest.raises(BadReport, match=words):
        sms_format.verify(text, lambda box: TOKEN)


def test_the_hub_keeps_a_report_once_and_refuses_its_replay(hub):
    text = day_text(seq=5)
    ingest_report(hub, "+8613900000001", text, AT)
    with pytest.raises(ReplayedReport):
        ingest_report(hub, "+8613900000001", text, AT)
    rows = reports_of(hub, "box-1")
    assert len(rows) == 1 and rows[0]["data"]["acks"] == 3 and rows[0]["sender"] == \
        "+8613900000001"


def test_an_unknown_box_is_refused_like_a_wrong_signature(hub):
    text = sms_format.encode_day(TOKEN, "box-9", 1, date(2026, 12, 5), {}, 0, 0, "home", 9,
                                 None, 3)
    with pytest.raises(BadReport, match="signature"):
        ingest_report(hub, "+8613900000001", text, AT)


def _event(seq: int, at: str, kind: str, incident=None, **data) -> dict:
    return {"seq": seq, "at": at, "kind": kind, "incident_id": incident, "data": data}


def test_facts_by_sms_are_marked_once_the_full_log_has_them(hub):
    ingest_report(hub, "+8613900000001", day_text(seq=1), AT)
    ingest_report(hub, "+8613900000001", sms_format.encode_escalation(
        TOKEN, "box-1", 2, AT, 17, "fire", 3), AT)
    assert [r["in_full_log"] for r in reports_of(hub, "box-1")] == [False, False]
    events = [_event(1, "2026-12-05T10:00:00.000+00:00", "incident_opened", 17,
                     alarm_type="fire"),
              _event(2, "2026-12-06T08:00:00.000+00:00", "daemon_started")]
    store_batch(hub, "box-1", {"after": 0, "through": 2, "events": events, "status": {},
                               "log": "a" * 32})
    assert [r["in_full_log"] for r in reports_of(hub, "box-1")] == [True, True]
    # The incident is in the statistics once: from the log, never from the SMS.
    with hub.transaction(write=False) as tx:
        assert tx.one("SELECT count(*) FROM incidents WHERE box_id = 'box-1'")[0] == 1
    assert json.loads(json.dumps(reports_of(hub, "box-1")[0]["data"]))["incident"] == 17
