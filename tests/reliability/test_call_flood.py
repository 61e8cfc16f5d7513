"""A call flood: a thousand calls in ten minutes from three hundred numbers, most of them not on
the roster (a prank, a robocaller, a number posted on a wall), some of them villagers raising
real alarms in the middle of it.

Time is scaled ten to one: the long form (EDGEBOX_LONG=1) places 1,000 calls over 60 s, each
ringing at most three times at a tenth of a second; the short form 200 calls over 12 s from 100
numbers. The modem has one line, so a call that comes while another rings hears busy, as it
would; a villager whose call is busy dials again, as a villager would.

What must hold: the daemon does not crash; every group whose member got through has exactly
one alarm (repeat calls and neighbours join it; a member told of it who calls again raises its
own, once); memory stays bounded (the daemon's RSS after the flood against before it, after a
warm-up); and members' alarms go first:
from the moment a member's call is rejected until every neighbour has their SMS, the office gets
at most the one unknown-caller notice that was already on its way. Every stranger's call is in
the log; the office is texted only the first few numbers of the hour and then once that the
rest are only logged.
"""
from __future__ import annotations

import collections
import json
import os
import random
import time

import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.reliability.harness import (LONG, event_seqs_have_no_gaps, rss_kib, sms_to,
                                       start_daemon, stop_daemon, village_sheet, wait_ready,
                                       write_box)
from tests.support import query, wait_for

pytestmark = pytest.mark.slow

CALLS, NUMBERS, SECONDS = (1000, 300, 60.0) if LONG else (200, 100, 12.0)
GROUPS, PER_GROUP = 3, 10
RINGS, RING_INTERVAL = 10, 0.1  # a caller gives up after ten rings (time-scaled)
SEED = int(os.environ.get("EDGEBOX_FLOOD_SEED") or random.SystemRandom().randrange(1 << 32))
OFFICE = "+8613300138099"
TOWNSHIP = "+8613300138088"
UNKNOWN_NOTICE = "未登记号码"
PER_HOUR = 6  # alarm.unknown_notices_per_hour, by default
RSS_GROWTH_LIMIT_KIB = 24 * 1024
FIGURES_FILE = os.environ.get("EDGEBOX_RELIABILITY_FIGURES")  # where the run's figures go


def record_figures(**figures) -> None:
    """The run's figures, for RELIABILITY.md; printed too (pytest -s shows them)."""
    line = " ".join(f"{key}={value}" for key, value in figures.items())
    print(f"call flood: {line}")
    if FIGURES_FILE:
        with open(FIGURES_FILE, "a", encoding="utf-8") as out:
            out.write(f"call flood ({'long' if LONG else 'short'} form): {line}\n")


def test_a_call_flood_neither_crashes_the_box_nor_delays_real_alarms(tmp_path):
    print(f"call flood seed {SEED} (EDGEBOX_FLOOD_SEED={SEED} replays it)")
    chance = random.Random(SEED)
    sheet, groups = village_sheet(GROUPS, PER_GROUP)
    members = [p for group in groups for p in group]
    group_of = {p: g for g, group in enumerate(groups) for p in group}
    strangers = [f"+86158{n:08d}" for n in chance.sample(range(10 ** 8), NUMBERS - len(members))]
    # One call in ten from a member, the rest from strangers, in a random order.
    callers = [chance.choice(members) if chance.random() < 0.1 else chance.choice(strangers)
               for _ in range(CALLS)]

    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02, sms_submit=5, call_setup=0.5,
                                                        ring_timeout=15))
    emulator.start()
    ladder = ('[[escalation]]\nafter_minutes = 2\nactions = ["sms_leader", "sms_office"]\n'
              '[[escalation]]\nafter_minutes = 5\nactions = ["sms_township"]\n')
    config, db = write_box(
        tmp_path, str(tmp_path / "modem"),
        '[alarm]\nring_members = false\n[siren]\non_seconds = 0\n'
        f'[numbers]\noffice = ["{OFFICE}"]\ntownship = ["{TOWNSHIP}"]\n{ladder}', sheet)
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(config, log_path)
    rss = []
    try:
        wait_ready(db, log_path)
        started = time.monotonic()
        outcome_of = {}  # call id -> the number, for the calls the flood placed
        redials = 0
        for index, number in enumerate(callers):
            pause = started + index * SECONDS / CALLS - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if index == CALLS // 10:
                rss.append(rss_kib(daemon.pid))  # after the warm-up
            call_id = emulator.call(number, rings=RINGS, ring_interval=RING_INTERVAL)
            while number in group_of and busy(emulator, call_id):
                redials += 1  # a villager dials again until the line is free
                time.sleep(0.05)
                call_id = emulator.call(number, rings=RINGS, ring_interval=RING_INTERVAL)
            outcome_of[call_id] = number
        flood_seconds = time.monotonic() - started
        assert daemon.poll() is None, "the daemon died during the flood"
        wait_for(lambda: len({e["id"] for e in emulator.log() if e["kind"] == "call_received"}
                             & outcome_of.keys()) == len(outcome_of), 60,
                 "every call of the flood to end", log_path)
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state IN "
                                   "('pending','sending')")[0][0] == 0, 300,
                 "the outbox to drain after the flood", log_path)
        drained_seconds = time.monotonic() - started
        rss.append(rss_kib(daemon.pid))
        assert daemon.poll() is None, "the daemon died after the flood"
    finally:
        stop_daemon(daemon)
        emulator.stop()

    log = emulator.log()
    calls = {e["id"]: e for e in log if e["kind"] == "call_received"}
    outcomes = collections.Counter(calls[i]["outcome"] for i in outcome_of)
    reached = [i for i in outcome_of if calls[i]["outcome"] == "rejected"]
    member_calls = [i for i in outcome_of if outcome_of[i] in group_of]
    assert all(calls[i]["outcome"] == "rejected" for i in member_calls), \
        collections.Counter(calls[i]["outcome"] for i in member_calls)

    # one alarm for each group whose member got through, whoever of it called how often; more
    # only from members told of it who called again (their own emergency, by the README's rule),
    # each raised once: that household's later calls repeat it
    groups_called = {f"第{group_of[outcome_of[i]] + 1}组" for i in member_calls}
    incidents = query(db, "SELECT group_id, count(*) FROM incidents GROUP BY group_id")
    opened = query(db, "SELECT i.id, i.group_id, i.caller_household_id, json_extract(e.data,"
                       " '$.told_of') FROM incidents i JOIN events e ON e.incident_id = i.id"
                       " AND e.kind = 'incident_opened'")
    group_of_incident = {i: group for i, group, _, _ in opened}
    assert collections.Counter(g for _, g, _, told in opened if told is None) == {
        group: 1 for group in groups_called}
    own = [(group, household) for _, group, household, told in opened if told is not None]
    assert len(own) == len(set(own)), own
    assert all(group_of_incident[told] == group for _, group, _, told in opened if told), opened

    # every neighbour of every alarm got its SMS (those who called in too get a confirmation)
    texted = {e["number"] for e in sms_to(log) if "呼叫求助" in e["text"]}
    for group_id, caller, co_callers in query(
            db, "SELECT group_id, caller_household_id, co_callers FROM incidents"):
        callers = {phone_of(h) for h in [caller, *json.loads(co_callers)]}
        neighbours = set(groups[int(group_id[1:-1]) - 1]) - callers
        assert neighbours <= texted, (group_id, neighbours - texted)

    # members first: from the moment an alarm is planned until its last alarm SMS is out, at
    # most the one unknown-caller notice already being sent goes out (the outbox's own times,
    # all from the daemon's clock, say what happened in which order)
    sent = "SELECT {} FROM events WHERE kind = 'sms_sent' AND json_extract(data, '$.purpose') = ?"
    worst = 0
    for incident_id, planned in query(db, "SELECT incident_id, min(created_at) FROM deliveries"
                                          " WHERE purpose = 'alarm' GROUP BY incident_id"):
        (done,), = query(db, sent.format("max(at)") + " AND incident_id = ?", "alarm",
                         incident_id)
        (forwards,), = query(db, sent.format("count(*)") + " AND at > ? AND at < ?",
                             "unknown_forward", planned, done)
        worst = max(worst, forwards)
        assert forwards <= 1, (incident_id, planned, done, forwards)

    # every stranger who got through is in the log; the office was texted the first few of
    # them, each once, and then once that the rest of the hour's are only logged (the whole
    # flood is within the hour)
    notices = [e for e in sms_to(log, OFFICE) if UNKNOWN_NOTICE in e["text"]]
    strangers_reached = {outcome_of[i] for i in reached if outcome_of[i] not in group_of}
    logged = {n for n, in query(db, "SELECT json_extract(data, '$.number') FROM events"
                                   " WHERE kind = 'unknown_caller'")}
    assert strangers_reached <= logged
    forwarded = [e for e in notices if "请核实" in e["text"]]
    assert len(forwarded) == min(PER_HOUR, len(strangers_reached))
    assert len({e["text"] for e in forwarded}) == len(forwarded)  # no number twice
    assert [e for e in notices if e not in forwarded] == (
        notices[-1:] if len(strangers_reached) > PER_HOUR else [])
    assert event_seqs_have_no_gaps(db)
    growth = rss[-1] - rss[0]
    record_figures(seed=SEED, calls=CALLS, numbers=NUMBERS, flood_seconds=round(flood_seconds, 1),
                   drained_seconds=round(drained_seconds, 1), outcomes=dict(outcomes),
                   member_calls=len(member_calls), redials=redials,
                   incidents=sum(n for _, n in incidents), office_notices=len(notices),
                   notices_during_alarm_fan_out=worst, rss_before_kib=rss[0],
                   rss_after_kib=rss[-1], rss_growth_kib=growth)
    assert growth <= RSS_GROWTH_LIMIT_KIB, rss


def phone_of(household_id: str) -> str:
    """The phone village_sheet gives household GggHhh."""
    return f"+861390000{household_id[1:3]}{household_id[4:6]}"


def busy(emulator, call_id: int) -> bool:
    """Whether that call found the line busy (the emulator says so at once)."""
    return any(e["kind"] == "call_received" and e["id"] == call_id and e["outcome"] == "busy"
               for e in emulator.log())
