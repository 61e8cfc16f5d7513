"""On an SD card every commit that waits for the disk costs 10-50 ms: between a member's call
(+CLIP) and the first alarm SMS (AT+CMGS) the real daemon waits for the disk exactly once (the
alarm with its whole plan, before anyone is told); the call's rejection and the siren are
logged with a later commit, in order and without a gap in the log."""
import time

import pytest

from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.config_file import parse_config
from edgebox.daemon.app import build_daemon
from edgebox.daemon.service import utc_now
from edgebox.emulator import EmulatorServer, Latency
from edgebox.roster_io.csv_sheet import read_roster_csv
from tests.conftest import TIME_SCALE
from tests.support import SHEET, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def box(tmp_path):
    emulator = EmulatorServer(link=str(tmp_path / "modem"), trace=True,
                              latency=Latency.realistic(scale=TIME_SCALE))
    emulator.start()
    config = parse_config(f"""
[box]
database = "{tmp_path / 'box.db'}"
[alarm]
ring_members = false
[siren]
on_seconds = 300
[[modems]]
port = "{tmp_path / 'modem'}"
""")
    daemon = build_daemon(config, gpio=SimulatedGPIO())
    daemon.store.roster.replace(read_roster_csv(SHEET.encode("utf-8")), utc_now())
    daemon.start()
    try:
        wait_for(lambda: daemon.modems_ready(), 30, "the modem")
        yield daemon, emulator
    finally:
        daemon.stop()
        emulator.stop()


def test_one_wait_for_the_disk_between_the_call_and_the_first_sms(box):
    daemon, emulator = box
    commits = []  # (durable, when), on the emulator's clock (both are time.monotonic)
    daemon.store.observe_commits(lambda durable, held: commits.append((durable, time.monotonic())))
    caller = daemon.store.roster.load().households[2]
    call = emulator.call(caller.primary_phone, rings=3, ring_interval=1.0)
    entries = emulator.wait_for(lambda log: any(e["kind"] == "sms_sent" for e in log), 30)
    shown = next(e["clock"] for e in entries if e["kind"] == "clip_emitted" and e["call"] == call)
    typed = next(e["clock"] for e in entries if e["kind"] == "cmgs_command" and e["clock"] > shown)
    between = [durable for durable, when in commits if shown <= when <= typed]
    assert between.count(True) == 1, commits
    # What was deferred off that path is logged all the same, after the alarm, gap-free.
    wait_for(lambda: {"call_rejected", "siren_on"} <= {
        e.kind for e in daemon.store.events_after(0, 10000)}, 10, "the deferred events")
    events = daemon.store.events_after(0, 10000)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    kinds = [e.kind for e in events]
    assert kinds.index("incident_opened") < kinds.index("call_rejected")
    assert kinds.index("incident_opened") < kinds.index("siren_on")
