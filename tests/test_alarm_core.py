"""The alarm core's classes built from their ports alone: in-memory objects stand in for the
store, the modems and the siren, so each decision is checked on one thread, with no modem,
no database and no timing."""
from __future__ import annotations

import queue
import threading
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from edgebox.adapters.modem.events import IncomingCall, IncomingSms, RingOutcome
from edgebox.config_file import parse_config
from edgebox.daemon.app import build_core
from edgebox.daemon.call_speech import CallSpeech
from edgebox.daemon.modem_worker import ModemWorker
from edgebox.daemon.ports import (CallControl, CheckInTable, DeliveryTable, EventLog, InboxTable,
                                  IncidentTable, LeaderPinTable, Outbox, RosterSource,
                                  RosterTable, Siren as SirenPort, WorkerStore,
                                  WorkerOutbox, IncidentReads, SmsKeeper, HealthLog)
from edgebox.daemon.roster_view import RosterView
from edgebox.daemon.worker_events import KeyAcknowledged
from edgebox.daemon.worker_settings import worker_settings
from edgebox.daemon.workers import ModemWorkers
from edgebox.domain import alarm
from edgebox.domain.acks import ring_still_wanted
from edgebox.domain.office_actions import DRILL
from edgebox.errors import ModemError
from edgebox.roster_io import read_roster_csv
from edgebox.store import SqliteStore
from edgebox.store.inbox_rows import KeptSms
from edgebox.store.logged_event import Event
from edgebox.store.outbox_rows import DeliveryRow
from edgebox.store.times import utc_iso
from tests.support import SHEET

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
OFFICE = "+8613900000000"


class MemoryStore:
    """The store as lists: only what the core calls (edgebox.daemon.ports): the event log, and
    its tables as attributes, each a port of its own."""

    def __init__(self, roster):
        self.events: list[dict] = []
        self.deferred: list[dict] = []
        self.outbox = MemoryOutbox(self)
        self.incidents = MemoryIncidents(self, self.outbox)
        self.roster = MemoryRoster(roster)
        self.inbox = MemoryInbox()
        self.leader_pins = NoLeaderPins()
        self.check_ins = NoCheckIns()

    # EventLog
    def transaction(self, durable=True):
        return nullcontext()

    def append_event(self, now, kind, incident_id=None, **data):
        self.events.append({"at": utc_iso(now), "kind": kind, "incident_id": incident_id,
                            "data": data})

    def defer_event(self, now, kind, incident_id=None, **data):
        self.deferred.append({"kind": kind, "incident_id": incident_id, "data": data})

    def events_of_kinds(self, kinds):
        return [Event(seq, e["at"], e["kind"], e["incident_id"], e["data"])
                for seq, e in enumerate(self.events, start=1) if e["kind"] in kinds]

    def unknown_caller_notices(self, since):
        return [(e["data"]["number"], e["data"]["notice"]) for e in self.events
                if e["kind"] == "unknown_caller" and e["at"] >= utc_iso(since)]



class MemoryRoster:
    """RosterTable: the saved roster and how often it was replaced."""

    def __init__(self, roster):
        self.saved, self.replaced = roster, 1

    def generation(self):
        return self.replaced

    def snapshot(self):
        return self.replaced, self.saved

    def load(self):
        return self.saved

    def replace(self, roster, now, source=""):
        self.saved, self.replaced = roster, self.replaced + 1
        return self.replaced


class MemoryInbox:
    """InboxTable: every kept row still to be acted on, none ever acted on twice here."""

    def __init__(self):
        self.sms_rows: list[KeptSms] = []

    def handling_sms(self, now, inbox_id, keep_text):
        return nullcontext(True)

    def handling_office_action(self, now, action_id):
        return nullcontext(True)

    def unhandled_sms(self):
        return list(self.sms_rows)

    def unhandled_office_actions(self):
        return []


class NoLeaderPins:
    """LeaderPinTable of a village whose leaders all use the shared PIN."""

    def hash_of(self, household_id):
        return None


class NoCheckIns:
    """The check-ins' table as the core reads it of a village where nobody checks in daily."""

    def in_progress(self):
        return []


class MemoryOutbox:
    """DeliveryTable, and what the modem worker asks of the outbox: rows as the store hands
    them out (DeliveryRow), changed only through the table (``change`` for a test's own)."""

    def __init__(self, log: MemoryStore):
        self.log = log
        self.rows: list[DeliveryRow] = []

    def add(self, now, incident_id, plan):
        ids = []
        for d in plan:
            ids.append(len(self.rows) + 1)
            self.rows.append(DeliveryRow(
                ids[-1], incident_id, d.kind, d.phone, d.household_id, d.purpose, d.text,
                d.priority, "pending", 0, None, None, None, now, now, None, None, None))
        return ids

    def change(self, delivery_id, **columns):
        self.rows[delivery_id - 1] = replace(self.rows[delivery_id - 1], **columns)

    def plan_with_event(self, now, incident_id, event, data, plan):
        self.log.append_event(now, event, incident_id, **data)
        self.add(now, incident_id, plan)

    def get(self, delivery_id):
        return self.rows[delivery_id - 1]

    def all(self, incident_id=None):
        return [d for d in self.rows if incident_id in (None, d.incident_id)]

    def of_incident(self, incident_id):
        return [alarm.Delivery(d.id, d.incident_id, d.kind, d.phone, d.household_id, d.purpose,
                               d.state, d.attempts) for d in self.all(incident_id)]

    def finish(self, now, delivery_id, state, event, **data):
        self.change(delivery_id, state=state)
        self.log.append_event(now, event, None, delivery=delivery_id, **data)

    def hurry_ring(self, now, incident_id, household_id, phone, text, priority):
        self.add(now, incident_id, [alarm.PlannedDelivery(
            alarm.CALL, phone, household_id, "ring", text, priority)])
        self.log.append_event(now, "ring_instead", incident_id, household=household_id)

    def add_broadcast(self, now, sender, group_id, text, plan, households, replies=()):
        self.log.append_event(now, "broadcast_planned", None, sender=sender, group=group_id)
        self.add(now, None, [*plan, *replies])
        return 1

    def broadcast_progress(self, now):
        pass


class MemoryIncidents:
    """IncidentTable: what the incidents plan goes into ``outbox``."""

    def __init__(self, log: MemoryStore, outbox: MemoryOutbox):
        self.log, self.outbox = log, outbox
        self.rows: dict[int, alarm.Incident] = {}
        self.ack_rows: list[alarm.Ack] = []
        self.key_acks: list[int] = []

    def open(self, now, group_id, household_id, phone, kind="call", alarm_type="call",
             text=None, drill=False, plan=None, told_of=None):
        incident = alarm.Incident(len(self.rows) + 1, group_id, household_id, phone,
                                  now, "open", alarm_type, text, drill=drill)
        self.rows[incident.id] = incident
        self.log.append_event(now, "incident_opened", incident.id, household=household_id)
        self.outbox.add(now, incident.id, plan or [])
        return incident

    def get(self, incident_id):
        return self.rows.get(incident_id)

    def all(self, state=None):
        return [i for i in self.rows.values() if state in (None, i.state)]

    def notifying(self, household_id):
        return [i for i in self.all("open") if any(
            d.household_id == household_id and d.purpose in ("alarm", "ring")
            for d in self.outbox.all(i.id))]

    def escalate(self, now, incident_id, step, plan, township=False):
        self.rows[incident_id] = replace(self.rows[incident_id], escalation_step=step)
        self.log.append_event(now, "escalated", incident_id, escalation_step=step)
        self.outbox.add(now, incident_id, plan)

    def close(self, now, incident_id, reason, by=None, plan_for=None, report=None):
        incident = self.rows[incident_id]
        if incident.state != "open":
            return -1
        planned = self.outbox.of_incident(incident_id)
        self.rows[incident_id] = replace(incident, state="closed")
        pending = [d for d in self.outbox.all(incident_id) if d.state == "pending"]
        for d in pending:
            self.outbox.change(d.id, state="cancelled")
        self.log.append_event(now, "incident_closed", incident_id, reason=reason)
        self.outbox.add(now, incident_id, plan_for(planned) if plan_for else [])
        return len(pending)

    def amend(self, now, incident_id, event, changes, alarm_text, plan_for, stop_to=None):
        self.rows[incident_id] = replace(
            self.rows[incident_id],
            **{k: tuple(v) if k == "co_callers" else v for k, v in changes.items()})
        for d in self.outbox.all(incident_id):
            if d.state == "pending" and d.household_id == stop_to:
                self.outbox.change(d.id, state="cancelled")
            elif d.state == "pending" and d.purpose == "alarm":
                self.outbox.change(d.id, text=alarm_text)
        self.log.append_event(now, event, incident_id, **changes)
        self.outbox.add(now, incident_id, plan_for(self.outbox.of_incident(incident_id)))

    def unplanned(self):
        return []

    def unrejected_calls(self):
        return []

    def record_ack(self, now, incident_id, household_id, phone, channel, relays=()):
        if any(a.incident_id == incident_id and a.household_id == household_id
               for a in self.ack_rows):
            return False
        self.ack_rows.append(alarm.Ack(incident_id, household_id, phone, channel, now))
        incident = self.rows[incident_id]
        self.rows[incident_id] = replace(incident, acked_at=incident.acked_at or now)
        self.outbox.add(now, incident_id, relays)
        return True

    def acks(self, incident_id):
        return [a for a in self.ack_rows if a.incident_id == incident_id]

    def unrecorded_key_acks(self):
        return list(self.key_acks)


class Rosters:
    def __init__(self, roster):
        self.roster = roster

    def reload(self):
        pass


class Modems:
    """The workers as the core sees them: an outbox, call control, ring re-checks."""

    def __init__(self, store, reject_fails=False):
        self.store, self.reject_fails = store, reject_fails
        self.rejected: list[str] = []
        self.wakes = 0
        self.rechecks = 0
        self.up = (1, 0)  # modems working now: voice, text-only
        self.sentences: list[str] = []  # ring calls' sentences asked to be rendered ahead

    def add(self, incident_id, plan):
        plan = list(plan)
        if plan:
            self.store.outbox.add(T0, incident_id, plan)
            self.wake()

    def wake(self):
        self.wakes += 1

    def modems_up(self):
        return self.up

    def reject_call(self, modem):
        if self.reject_fails:
            raise ModemError("no answer to ATH")
        self.rejected.append(modem)

    def recheck_rings(self):
        self.rechecks += 1

    def prepare_speech(self, plan):
        self.sentences += [d.text for d in plan if d.kind == alarm.CALL]

    def rechecks_held(self):
        return nullcontext()


class Siren:
    def __init__(self):
        self.is_on = False
        self.patterns: list[str] = []

    def on(self, kind="continuous"):
        self.is_on = True
        self.patterns.append(kind)

    def off(self):
        self.is_on = False


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


CONFIG = f"""
[box]
database = ":memory:"
[numbers]
office = ["{OFFICE}"]
[siren]
on_seconds = 30
[drill]
schedule = ["daily 08:00"]
[[modems]]
name = "m1"
port = "/dev/null"
"""


@pytest.fixture
def core():
    """Every deciding class, wired as app.build_core wires them, over the in-memory ports."""
    config = parse_config(CONFIG)
    roster = read_roster_csv(SHEET.encode("utf-8"))
    store, rosters, clock, gpio = MemoryStore(roster), Rosters(roster), Clock(), Siren()
    modems = Modems(store)
    wired = build_core(config, store, modems, gpio, clock, rosters=rosters)
    siren, timers, alarms, inbox = wired.siren, wired.timers, wired.alarms, wired.inbox

    class Core:
        pass
    c = Core()
    c.__dict__.update(config=config, roster=roster, store=store, modems=modems, clock=clock,
                      gpio=gpio, siren=siren, timers=timers, alarms=alarms, inbox=inbox)
    return c


def member(roster, household_id):
    household = roster.household(household_id)
    return household, household.primary_phone


def call_from(phone, modem="m1"):
    return IncomingCall(phone.removeprefix("+86"), 129, modem=modem)


def test_a_members_call_opens_an_alarm_with_its_fan_out_and_rejects_the_call(core):
    caller, phone = member(core.roster, "H03")
    core.alarms.on_call(call_from(phone, modem="m1"))
    [incident] = core.store.incidents.all("open")
    assert (incident.caller_household_id, incident.group_id) == ("H03", "第一组")
    texted = {d.household_id for d in core.store.outbox.all(incident.id)
              if d.purpose == "alarm"}
    assert texted == {"H01", "H02", "H04"}  # every other member of the group, not the caller
    assert core.modems.rejected == ["m1"] and core.modems.wakes >= 1
    assert [e["kind"] for e in core.store.deferred] == ["call_rejected", "siren_on"]
    assert core.gpio.is_on


def test_the_ring_calls_sentences_are_asked_for_ahead_once_the_alarm_is_planned(core):
    core.alarms.on_call(call_from(member(core.roster, "H03")[1]))
    [incident] = core.store.incidents.all("open")
    rings = [d.text for d in core.store.outbox.all(incident.id) if d.kind == alarm.CALL]
    assert rings and core.modems.sentences == rings


def test_an_alarm_is_planned_over_the_modems_up_now(core):
    """Two voice modems up: the first ring at once on one while the other texts; the second
    modem down: the leader's SMS first, then the leader's ring."""
    core.modems.up = (2, 0)
    core.alarms.on_call(call_from(member(core.roster, "H03")[1]))
    core.modems.up = (1, 0)
    core.alarms.on_call(call_from(member(core.roster, "H05")[1]))
    first, second = [sorted(core.store.outbox.all(i.id), key=lambda d: (d.priority, d.id))
                     for i in core.store.incidents.all("open")]
    assert first[0].kind == alarm.CALL
    assert [d.kind for d in second[:2]] == [alarm.SMS, alarm.CALL]
    assert second[0].phone == second[1].phone


def test_a_call_the_modem_fails_to_reject_still_raises_the_alarm_and_logs_why(core):
    core.modems.reject_fails = True
    core.alarms.on_call(call_from(member(core.roster, "H03")[1]))
    assert len(core.store.incidents.all("open")) == 1
    failed = [e for e in core.store.deferred if e["kind"] == "call_reject_failed"]
    assert failed and failed[0]["data"]["error"] == "no answer to ATH"


def test_an_unknown_caller_is_rejected_and_forwarded_to_the_office(core):
    core.alarms.on_call(IncomingCall("13311112222", 129, modem="m1"))
    assert core.store.incidents.all() == []
    assert core.modems.rejected == ["m1"]
    assert [d.phone for d in core.store.outbox.all(None)] == [OFFICE]
    assert [e["data"]["notice"] for e in core.store.events
            if e["kind"] == "unknown_caller"] == ["forward"]


def test_a_repeat_call_hastens_the_ladder_through_the_timers(core):
    phone = member(core.roster, "H03")[1]
    core.alarms.on_call(call_from(phone))
    core.clock.now += timedelta(seconds=20)
    core.alarms.on_call(call_from(phone))
    [incident] = core.store.incidents.all("open")
    assert incident.escalation_step == 1
    assert "repeat_call" in [e["kind"] for e in core.store.events]


def test_an_acknowledging_sms_is_relayed_and_ring_calls_are_rechecked(core):
    core.alarms.on_call(call_from(member(core.roster, "H03")[1]))
    [incident] = core.store.incidents.all("open")
    for d in core.store.outbox.all(incident.id):  # the workers sent the alarm
        core.store.outbox.change(d.id, state="sent")
    neighbour, phone = member(core.roster, "H04")
    core.clock.now += timedelta(seconds=30)
    rechecked = core.modems.rechecks  # the alarm's own, for a check-in ringing as it came
    core.inbox._act_on_sms(IncomingSms(phone, "1", "m1", inbox_id=1))
    assert [a.household_id for a in core.store.incidents.acks(incident.id)] == ["H04"]
    relays = [d for d in core.store.outbox.all(incident.id) if d.purpose == "ack_relay"]
    assert [d.household_id for d in relays] == ["H03"]
    assert core.modems.rechecks == rechecked + 1


def test_a_key_pressed_in_a_ring_call_acknowledges_for_that_member(core):
    core.alarms.on_call(call_from(member(core.roster, "H03")[1]))
    [incident] = core.store.incidents.all("open")
    ring = next(d for d in core.store.outbox.all(incident.id) if d.kind == alarm.CALL)
    core.inbox.on_key_ack(KeyAcknowledged(ring.id))
    assert [(a.household_id, a.channel) for a in core.store.incidents.acks(incident.id)] == [
        (ring.household_id, "dtmf")]


def test_kept_sms_and_unrecorded_keys_come_back_as_events_in_order(core):
    core.store.inbox.sms_rows = [
        KeptSms(2, "m1", "+8613800138001", "1", "2026-11-23T08:00:05Z"),
        KeptSms(1, "m1", "+8613800138004", "火", "2026-11-23T08:00:01Z")]
    core.store.incidents.key_acks = [7]
    events = core.inbox.kept_events()
    assert [getattr(e, "inbox_id", None) for e in events] == [1, 2, None]
    assert events[-1] == KeyAcknowledged(7)


def test_a_due_drill_is_handed_back_as_an_office_action_not_carried_out(core):
    local_eight = datetime.now().astimezone().replace(hour=8, minute=0, second=5,
                                                      microsecond=0)
    due = core.timers.tick(local_eight.astimezone(timezone.utc))
    assert [(a.kind, a.source, a.group_id) for a in due] == [(DRILL, "schedule", "第一组")]
    assert core.store.incidents.all() == []  # the event loop carries it out, not the timers
    assert core.timers.tick(local_eight.astimezone(timezone.utc)) == []  # once per slot


def test_the_callers_cancel_tells_who_was_texted_and_silences_the_siren(core):
    caller, phone = member(core.roster, "H03")
    core.alarms.on_call(call_from(phone))
    [incident] = core.store.incidents.all("open")
    first, second, third = [d for d in core.store.outbox.all(incident.id)
                            if d.purpose == "alarm"][:3]
    core.store.outbox.change(first.id, state="sent")  # went out before the cancel
    # failed once, to be tried again: it may have arrived all the same
    core.store.outbox.change(second.id, attempts=1)
    core.store.outbox.change(third.id, attempts=0)  # never tried: nobody heard of it from it
    assert core.gpio.is_on
    rechecked = core.modems.rechecks
    core.inbox._act_on_sms(IncomingSms(phone, "0", "m1", inbox_id=1))
    assert core.store.incidents.all("open") == []
    all_clear = {d.phone for d in core.store.outbox.all(incident.id)
                 if d.purpose == "all_clear"}
    assert all_clear == {first.phone, second.phone, phone}
    assert not core.gpio.is_on and core.modems.rechecks == rechecked + 1


def test_ring_calls_are_rechecked_once_after_an_inbox_transaction_not_inside_it(core):
    class Worker:
        def __init__(self):
            self.rechecks = 0

        def recheck_ring(self):
            self.rechecks += 1
    worker = Worker()
    workers = ModemWorkers({"m1": worker}, core.store.outbox, core.clock)
    with workers.rechecks_held():
        workers.recheck_rings()
        workers.recheck_rings()
        assert worker.rechecks == 0
    assert worker.rechecks == 1
    workers.recheck_rings()
    assert worker.rechecks == 2


@pytest.mark.parametrize("purpose, household, acked, state, wanted", [
    ("ring", "H04", set(), "open", True),
    ("ring", "H04", {"H04"}, "open", False),      # acknowledged: not rung
    ("ring", "H03", set(), "open", False),        # the caller itself
    ("ring", "H04", set(), "closed", False),      # the alarm is over
    ("escalation_ring", None, set(), "open", True),
    ("escalation_ring", None, {"H01"}, "open", False),  # anybody acknowledged
])
def test_whether_a_ring_call_is_still_wanted(purpose, household, acked, state, wanted):
    incident = alarm.Incident(1, "第一组", "H03", "+8613800138003", T0, state,
                              acked_at=T0 if acked else None)
    assert ring_still_wanted(1, purpose, household, incident, acked) is wanted
    assert ring_still_wanted(None, purpose, household, None, set())  # no alarm: an office call


class RingingModem:
    """A modem whose ring call the member answers and acknowledges with the key."""

    speech_mechanism = "tts"  # how it says the alarm, as every modem tells its worker

    def __init__(self):
        self.rung: list[str] = []

    def keep_incoming(self, keep):
        pass

    def ring(self, number, seconds, speech="", stop=None, ring_for=None):
        self.rung.append(number)
        return RingOutcome("acknowledged", 3.0, spoken=True)


@pytest.fixture
def worker(core):
    events = queue.Queue()
    modem = RingingModem()
    worker = ModemWorker(core.config.modems[0], worker_settings(core.config), core.store, modem,
                         core.clock, threading.Event(), events,
                         CallSpeech.from_config(core.config))
    yield worker, modem, events
    worker.recorder.close()


def test_a_key_pressed_in_a_ring_call_comes_back_as_an_event_not_a_call(core, worker):
    worker, modem, events = worker
    core.alarms.on_call(call_from(member(core.roster, "H03")[1]))
    [incident] = core.store.incidents.all("open")
    ring = next(d for d in core.store.outbox.all(incident.id) if d.kind == alarm.CALL)
    worker.calls.ring(ring)
    assert modem.rung == [ring.phone] and core.store.outbox.get(ring.id).state == "sent"
    assert events.get_nowait() == KeyAcknowledged(ring.id)
    assert core.store.incidents.acks(incident.id) == []  # the event loop records it, not the worker


def test_a_worker_reads_the_committed_acknowledgement_and_never_dials(core, worker):
    worker, modem, events = worker
    core.alarms.on_call(call_from(member(core.roster, "H03")[1]))
    [incident] = core.store.incidents.all("open")
    ring = next(d for d in core.store.outbox.all(incident.id) if d.kind == alarm.CALL)
    household = core.roster.household(ring.household_id)
    core.alarms.acknowledge(incident, household, household.primary_phone, "sms")
    worker.calls.ring(ring)
    assert modem.rung == [] and core.store.outbox.get(ring.id).state == "cancelled"
    assert events.empty()


def test_the_real_parts_and_the_fakes_offer_every_port_the_core_uses(core, tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    try:
        workers = ModemWorkers({}, store.outbox, core.clock)
        assert isinstance(store, EventLog) and isinstance(core.store, EventLog)
        assert isinstance(store.roster, RosterTable) and isinstance(core.store.roster, RosterTable)
        assert isinstance(store.inbox, InboxTable) and isinstance(core.store.inbox, InboxTable)
        assert isinstance(store.leader_pins, LeaderPinTable)
        assert isinstance(core.store.leader_pins, LeaderPinTable)
        assert isinstance(store.check_ins, CheckInTable)
        assert isinstance(store.incidents, IncidentTable)
        assert isinstance(core.store.incidents, IncidentTable)
        assert isinstance(store.outbox, DeliveryTable)
        assert isinstance(core.store.outbox, DeliveryTable)
        assert isinstance(workers, Outbox) and isinstance(workers, CallControl)
        assert isinstance(core.modems, Outbox) and isinstance(core.modems, CallControl)
        assert isinstance(RosterView(store.roster), RosterSource)
        assert isinstance(core.gpio, SirenPort)
        # the modem workers' port (test_layers: the workers use nothing else of the store)
        assert isinstance(store, WorkerStore) and isinstance(store.outbox, WorkerOutbox)
        assert isinstance(store.incidents, IncidentReads)
        assert isinstance(store.inbox, SmsKeeper) and isinstance(store.health, HealthLog)
    finally:
        store.close()


def test_a_neighbour_calling_moments_later_joins_the_same_alarm(core):
    core.alarms.on_call(call_from(member(core.roster, "H03")[1]))
    [incident] = core.store.incidents.all("open")
    texted = next(d for d in core.store.outbox.all(incident.id)
                  if d.purpose == "alarm" and d.household_id == "H01")
    # H04 has not been texted yet: it calls about the same emergency
    core.store.outbox.change(texted.id, state="sent")
    core.clock.now += timedelta(seconds=20)
    rechecked = core.modems.rechecks
    core.alarms.on_call(call_from(member(core.roster, "H04")[1]))
    [joined] = core.store.incidents.all("open")
    assert joined.co_callers == ("H04",)
    rows = core.store.outbox.all(incident.id)
    assert {d.state for d in rows if d.household_id == "H04"
            and d.purpose == "alarm"} == {"cancelled"}
    assert {d.household_id for d in rows if d.purpose == "update"} == {"H01"}
    assert [d.household_id for d in rows if d.purpose == "confirm"] == ["H03", "H04"]
    assert core.modems.rejected == ["m1", "m1"] and core.modems.rechecks == rechecked + 1


def test_a_hang_up_waiting_for_its_modem_s_port_does_not_keep_the_other_modems_asleep(core):
    """The caller's modem may be submitting the first SMS when the event loop rejects the call:
    the hang-up waits for its port. The other modems' workers are woken before it, so they
    start the fan-out committed just before instead of sleeping through that submit."""
    port_free = threading.Event()

    class BusyPort:
        def reject_call(self):
            assert port_free.wait(10)

    class Worker:
        def __init__(self, modem=None):
            self.wake, self.modem = threading.Event(), modem

    receiving, other = Worker(BusyPort()), Worker()
    workers = ModemWorkers({"m1": receiving, "m2": other}, core.store.outbox, core.clock)
    hang_up = threading.Thread(target=workers.reject_call, args=("m1",))
    hang_up.start()
    assert other.wake.wait(10) and hang_up.is_alive()  # woken while the hang-up still waits
    port_free.set()
    hang_up.join(10)
