"""An idle daemon sleeps. The modem worker: no empty write transaction, asleep until the next
health check (LOOK_SECONDS at most) or, when a retry waits, until its back-off ends, and never
taken for a stuck loop by the watchdog while it sleeps. The event loop: no ladder
tick and no write while nothing is open, ticking again from the alarm that opens something
until it is over. The real daemon in this process on simulated pins and an emulated modem;
checked by the loops' state and the store's commits, not by time."""
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import pytest

from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.config_file import parse_config
from edgebox.daemon.app import build_daemon
from edgebox.daemon import modem_worker
from edgebox.daemon.modem_worker import LOOK_SECONDS
from edgebox.daemon.service import CLOCK_LOOK_SECONDS, utc_now
from edgebox.domain.roster import Roster
from edgebox.domain.alarm import to_offices
from edgebox.emulator import EmulatorServer, Latency
from edgebox.roster_io.csv_sheet import read_roster_csv
from tests.support import SHEET, wait_for

pytestmark = pytest.mark.slow

OFFICE = "+8613300138099"
RETRY_SECONDS = 2
HEALTH_MINUTES = 60


@contextmanager
def running(tmp_path, emulator, roster=None):
    """The daemon in this process on ``emulator`` (the sheet's village, or ``roster``), once
    its first health check is done."""
    config = parse_config(f"""
[box]
database = "{tmp_path / 'box.db'}"
[numbers]
office = ["{OFFICE}"]
[alarm]
ring_members = false
[modem]
retry_seconds = {RETRY_SECONDS}
health_minutes = {HEALTH_MINUTES}
[[modems]]
port = "{emulator.link}"
""")
    daemon = build_daemon(config, gpio=SimulatedGPIO())
    daemon.store.roster.replace(roster or read_roster_csv(SHEET.encode("utf-8")), utc_now())
    daemon.start()
    try:
        (worker,) = daemon.workers.values()
        wait_for(lambda: daemon.store.events_of_kinds(["modem_health"]) and worker.asleep, 30,
                 "the modem's first health check")
        yield daemon, worker
    finally:
        daemon.stop()


@pytest.fixture
def box(tmp_path, emulator):
    with running(tmp_path, emulator) as (daemon, worker):
        yield daemon, worker, emulator


def sleeps_again(worker, after: int) -> bool:
    return worker.turns > after and worker.asleep


def test_an_idle_worker_sleeps_until_its_health_check_without_writing(box):
    daemon, worker, emulator = box
    commits = []  # the worker's own (observers run on the committing thread)
    daemon.store.observe_commits(lambda durable, held: commits.append(
        threading.current_thread().name))
    for _ in range(3):  # woken for nothing: it looks, finds no work, and sleeps again
        turns = worker.turns
        worker.wake.set()
        wait_for(lambda: sleeps_again(worker, turns), 10, "the worker to sleep again")
    assert f"worker-{worker.name}" not in commits  # not even a claim that finds nothing
    assert LOOK_SECONDS - 10 < worker.idle_wait <= LOOK_SECONDS  # the health check is later
    # Asleep for want of work is not stuck: the watchdog keeps pinging.
    worker.heartbeat -= 10_000
    assert not worker.stalled(limit=60) and "modem worker" not in " ".join(daemon.stale_loops())


def test_a_retry_sets_the_workers_next_wake(box):
    daemon, worker, emulator = box
    emulator.sms_error(OFFICE, 500, count=1)  # the first submit is refused, the retry goes
    turns = worker.turns
    daemon.modem_workers.add(None, to_offices([OFFICE], "测试短信"))  # planned, workers woken
    wait_for(lambda: daemon.store.events_of_kinds(["delivery_retry"]), 30, "the refused submit")
    wait_for(lambda: sleeps_again(worker, turns) and worker.idle_wait <= RETRY_SECONDS, 10,
             "the worker to sleep until the retry is due")
    assert worker.idle_wait > 0  # not a poll: the back-off's remaining time
    wait_for(lambda: [e for e in emulator.log() if e["kind"] == "sms_sent"
                      and e["number"] == OFFICE], 30, "the retry to go out")
    wait_for(lambda: sleeps_again(worker, turns) and worker.idle_wait > RETRY_SECONDS, 10,
             "the worker to sleep long again")


def test_an_idle_event_loop_writes_nothing_and_ticks_only_while_an_alarm_is_open(box):
    daemon, worker, emulator = box
    commits = []
    daemon.store.observe_commits(lambda durable, held: commits.append(
        threading.current_thread().name))
    for _ in range(2):
        beat = daemon._loop_heartbeat
        wait_for(lambda: daemon._loop_heartbeat != beat, 10, "the event loop's next turn")
    assert "events" not in commits  # no broadcast-progress transaction on an idle box
    assert daemon._next_policy_tick == float("inf") and daemon.store.deferred_since() is None
    emulator.call("18600138003")  # 张伟 calls: the ladder's timers run while it is open
    wait_for(lambda: daemon.store.incidents.all("open"), 30, "the alarm")
    wait_for(lambda: daemon._next_policy_tick != float("inf"), 10, "the ladder to tick")
    emulator.sms("+8618600138003", "取消")
    wait_for(lambda: not daemon.store.incidents.all("open"), 30, "the cancel")
    wait_for(lambda: daemon._next_policy_tick == float("inf"), 10, "the ladder to stop")


def test_a_boot_line_wakes_the_sleeping_worker(tmp_path, monkeypatch):
    # A SIM800 browning out in place: its boot lines are the only thing that can wake the
    # worker here (it would otherwise sleep until its health check, an hour away), and it must
    # set the modem up again at once: until then every caller rings without their number.
    monkeypatch.setattr(modem_worker, "LOOK_SECONDS", HEALTH_MINUTES * 60)
    sim800 = EmulatorServer("sim800", Latency.realistic(scale=0.02, reboot=0.5),
                            link=str(tmp_path / "modem"))
    sim800.start()
    try:
        with running(tmp_path, sim800) as (daemon, worker):
            assert worker.idle_wait > HEALTH_MINUTES * 60 - 60
            sim800.reboot_in_place()
            wait_for(lambda: daemon.store.events_of_kinds(["modem_restarted"]), 30,
                     "the restart seen and answered")
            assert sim800.engine.settings.clip == 1  # caller id shown again
    finally:
        sim800.stop()


def test_a_daily_check_in_keeps_the_idle_loop_looking_for_its_window(tmp_path, emulator):
    village = read_roster_csv(SHEET.encode("utf-8"))
    window = (utc_now() + timedelta(hours=12)).astimezone().strftime("%H:%M")  # not now
    roster = Roster(tuple(replace(h, check_in=window) if h.id == "H02" else h
                          for h in village.households), village.groups)
    with running(tmp_path, emulator, roster) as (daemon, worker):
        beat = daemon._loop_heartbeat
        wait_for(lambda: daemon._loop_heartbeat != beat, 10, "the event loop's next turn")
        assert daemon._next_policy_tick - time.monotonic() <= CLOCK_LOOK_SECONDS
