"""The wall clock steps while an alarm is open: back an hour (a box that booted with a clock
from the future, set right by NTP) and forward two (a box that booted at its last saved time,
set right by the network's time). The daemon runs under libfaketime so that only its own wall
clock jumps (its monotonic clock, like the kernel's, goes on); the machine's clock is left alone.

What must hold, seen from the network: nothing stalls after the backward jump (a retry that was
waiting and the next step of the ladder come when they are due, not an hour later); after the
forward jump there is no storm of steps and the alarm does not expire: each remaining step comes
once, at its own time, counted in real seconds since the alarm."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.reliability.harness import (event_seqs_have_no_gaps, sms_to, start_daemon,
                                       stop_daemon, wait_ready, write_box)
from tests.support import SHEET, kinds, query, wait_for

pytestmark = pytest.mark.slow

OFFICE = "+8613300138099"
TOWNSHIP = "+8613300138088"
LEADER = "+8613800138001"
RETRIED = "+8613700138004"  # 刘洋: the network refuses the first alarm SMS to this number
LADDER = {OFFICE: 0.05, TOWNSHIP: 0.15, LEADER: 0.3}  # step time in minutes, by who it texts
EARLY_SLACK = 0.5  # seconds: the emulator notes the call a moment after the box stamped it
ESCALATION_MARK = "升级"


def libfaketime() -> str:
    """The libfaketime the PyPI package ``libfaketime`` ships (a test extra)."""
    spec = importlib.util.find_spec("libfaketime")
    if spec is None:
        pytest.skip("the libfaketime package is not installed (pip install -e '.[test]')")
    library = Path(spec.submodule_search_locations[0]) / "vendor/libfaketime/src/libfaketime.so.1"
    assert library.exists(), library
    return str(library)


def escalations(entries: list[dict], number: str) -> list[dict]:
    return [e for e in sms_to(entries, number) if ESCALATION_MARK in e["text"]]


def test_the_ladder_keeps_real_time_when_the_wall_clock_jumps(tmp_path):
    offset_file = tmp_path / "clock-offset"
    offset_file.write_text("+0\n")
    env = {**os.environ, "LD_PRELOAD": libfaketime(), "FAKETIME_TIMESTAMP_FILE": str(offset_file),
           "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02, sms_submit=1, call_setup=1,
                                                        ring_timeout=15))
    emulator.start()
    ladder = "".join(
        f'[[escalation]]\nafter_minutes = {minutes}\nactions = ["sms_{who}"]\n'
        for who, minutes in zip(("office", "township", "leader"), LADDER.values()))
    config, db = write_box(
        tmp_path, str(tmp_path / "modem"),
        f'[modem]\nretry_seconds = 2\n[alarm]\nring_members = false\nopen_minutes = 30\n'
        f'[siren]\non_seconds = 0\n[numbers]\noffice = ["{OFFICE}"]\ntownship = ["{TOWNSHIP}"]\n'
        f'{ladder}', SHEET)
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(config, log_path, env=env)
    try:
        wait_ready(db, log_path)
        emulator.sms_error(RETRIED, 500, count=1)
        emulator.call("18600138003")  # 张伟 calls; nobody will acknowledge
        wait_for(lambda: "delivery_retry" in kinds(db), 30, "the refused SMS to wait", log_path)
        offset_file.write_text("-3600\n")  # the clock steps back an hour
        wait_for(lambda: sms_to(emulator.log(), RETRIED), 60,
                 "the waiting retry, after the clock went back", log_path)
        wait_for(lambda: escalations(emulator.log(), OFFICE), 60,
                 "the first step, after the clock went back", log_path)
        offset_file.write_text("+3600\n")  # and forward two hours
        wait_for(lambda: escalations(emulator.log(), LEADER), 90,
                 "the last step, after the clock went forward", log_path)
        state = query(db, "SELECT state, escalation_step FROM incidents")
    finally:
        stop_daemon(daemon)
        emulator.stop()

    log = emulator.log()
    called = next(e["clock"] for e in log if e["kind"] == "call_received")
    for number, minutes in LADDER.items():
        steps = escalations(log, number)
        assert len(steps) == 1, (number, steps)  # once each: no storm, no repeat
        assert steps[0]["clock"] >= called + minutes * 60 - EARLY_SLACK, (number, minutes)
    assert state == [("open", 3)]  # two hours on the wall clock did not expire it
    jumps = [round(r[0]) for r in query(
        db, "SELECT json_extract(data, '$.seconds') FROM events WHERE kind = 'clock_jumped'"
            " ORDER BY seq")]
    assert jumps == [-3600, 7200]
    assert len(sms_to(log, RETRIED)) == 1
    assert event_seqs_have_no_gaps(db)
