"""Delivery reports are matched to their own SMS even when the network answers before the box
has recorded the SMS (a report moments after +CMGS is the normal case on a quiet cell)."""
from datetime import timedelta

import pytest

from edgebox.emulator import EmulatorServer, Latency
from edgebox.store.delivery_reports import HOLD_SECONDS
from tests.support import kinds, query, start_box, stop, wait_for
from tests.test_store import T0, raise_alarm, store  # noqa: F401  (the store fixture)

OFFICE = "+8613300138099"


def test_a_report_before_its_record_is_held_and_matched_when_the_record_lands(store):  # noqa: F811
    raise_alarm(store)
    first = store.outbox.claim_next(T0, modem="m1")
    # The report of the SMS about to be recorded comes first: held, not filed as unmatched.
    assert store.reports.record(T0, "m1", 7, False) is None
    assert store.reports.held_count() == 1
    store.outbox.finish(T0 + timedelta(seconds=1), first.id, "sent", "sms_sent",
                        modem_ref="7")
    assert store.outbox.get(first.id).report == "failed"
    assert store.reports.held_count() == 0
    assert store.reports.expire_held(T0 + timedelta(hours=1)) == 0
    log = [e.kind for e in store.events_after(0)]
    assert log.index("sms_sent") < log.index("delivery_report")
    assert "delivery_report_unmatched" not in log


def test_a_report_for_one_part_of_two_waits_for_that_part(store):  # noqa: F811
    raise_alarm(store)
    first = store.outbox.claim_next(T0, modem="m1")
    store.reports.record(T0, "m1", 12, True)   # part 2, before the record
    store.outbox.finish(T0, first.id, "sent", "sms_sent", modem_ref="11,12")
    assert [p.status for p in store.outbox.sms_parts(first.id)] == [None, "delivered"]
    assert store.reports.record(T0, "m1", 11, True) == first.id
    assert store.outbox.get(first.id).report == "delivered"


def test_a_stray_report_is_filed_as_unmatched_only_after_the_hold(store):  # noqa: F811
    raise_alarm(store)
    store.reports.record(T0, "m1", 200, True)
    assert store.reports.expire_held(T0 + timedelta(seconds=HOLD_SECONDS - 1)) == 0
    assert store.reports.expire_held(T0 + timedelta(seconds=HOLD_SECONDS + 1)) == 1
    assert store.reports.held_count() == 0
    [event] = store.events_of_kinds(["delivery_report_unmatched"])
    assert event.data["reference"] == 200
    # an SMS recorded later with that reference is not given the stray report
    late = store.outbox.claim_next(T0, modem="m1")
    store.outbox.finish(T0 + timedelta(seconds=HOLD_SECONDS + 2), late.id, "sent",
                        "sms_sent", modem_ref="200")
    assert store.outbox.get(late.id).report is None


def test_a_held_report_older_than_the_hold_is_not_taken_for_a_new_sms(store):  # noqa: F811
    raise_alarm(store)
    store.reports.record(T0, "m1", 5, True)
    later = store.outbox.claim_next(T0, modem="m1")
    store.outbox.finish(T0 + timedelta(seconds=HOLD_SECONDS + 30), later.id, "sent",
                        "sms_sent", modem_ref="5")
    assert store.outbox.get(later.id).report is None


def village_sheet(groups=15, size=20) -> str:
    """A village of ``groups`` groups of ``size`` households, each with its own phone."""
    rows = ["户号,户主姓名,地址,电话,组别,中心户长,标记"]
    for g in range(1, groups + 1):
        for h in range(1, size + 1):
            rows.append(f"G{g}H{h},户主{g}-{h},{g}组{h}号,139{g:04d}{h:04d},{g}组,"
                        f"{'是' if h == 1 else ''},")
    return "\n".join(rows) + "\n"


@pytest.fixture
def quick_reports(tmp_path):
    # Reports come with the +CMGS answer (0 s), the race at its sharpest; the submit itself
    # is scaled down, not zero.
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02, sms_submit=0.5,
                                                        delivery_report=0.0))
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.mark.slow
def test_every_report_of_a_village_broadcast_is_matched(tmp_path, quick_reports):
    emulator = quick_reports
    extra = f'[numbers]\noffice = ["{OFFICE}"]\n[broadcast]\nmax_per_hour = 5\n'
    daemon, db, config, log_path = start_box(tmp_path, [emulator], extra, sheet=village_sheet())
    try:
        emulator.sms(OFFICE, "广播 今晚八点村委会开会，请每户派一人参加")
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE purpose ="
                                   " 'broadcast' AND state = 'sent'")[0][0] == 300,
                 240, "the broadcast to every household", log_path)
        sent = lambda: sum(e["parts"] for e in emulator.log() if e["kind"] == "sms_sent")  # noqa
        wait_for(lambda: query(db, "SELECT count(*) FROM sms_parts WHERE status IS NOT NULL"
                                   )[0][0] == sent(), 60, "a report for every part", log_path)
    finally:
        stop(daemon)
    reports = [e for e in emulator.log() if e["kind"] == "delivery_report"]
    assert len(reports) >= 300
    assert query(db, "SELECT count(*) FROM deliveries WHERE kind = 'sms' AND state = 'sent'"
                     " AND report IS NULL")[0][0] == 0
    assert "delivery_report_unmatched" not in kinds(db)
    assert query(db, "SELECT count(*) FROM held_reports")[0][0] == 0
    # the race did happen: some reports came before their SMS was recorded
    assert query(db, "SELECT count(*) FROM events WHERE kind = 'delivery_report' AND"
                     " json_extract(data, '$.held')")[0][0] > 0
