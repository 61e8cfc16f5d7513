"""The siren panel's buttons through the real daemon (in this process, simulated pins, the
modem emulator): ACK acknowledges the open alarm, SIREN held sounds the siren, SILENCE stops
it; each press is in the log before the office action it caused. A press kept but not carried
out when the box died is carried out at the next start, unless it is a siren long past."""
from datetime import timedelta

import pytest

from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.config_file import parse_config
from edgebox.daemon.app import build_daemon
from edgebox.emulator import EmulatorServer, Latency
from edgebox.roster_io.csv_sheet import read_roster_csv
from edgebox.daemon.service import utc_now
from edgebox.store.times import utc_iso
from tests.support import SHEET, wait_for

pytestmark = pytest.mark.slow

SIREN_BTN, SILENCE_BTN, ACK_BTN, SIREN_PIN = 5, 6, 19, 17


def build(tmp_path):
    """The daemon (not started) on simulated pins and an emulated modem, roster imported."""
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02))
    emulator.start()
    config = parse_config(f"""
[box]
database = "{tmp_path / 'box.db'}"
[alarm]
ring_members = false
[siren]
pin = {SIREN_PIN}
on_seconds = 300
[panel]
button_siren = {SIREN_BTN}
button_silence = {SILENCE_BTN}
button_ack = {ACK_BTN}
siren_hold_seconds = 0.5
[[modems]]
port = "{tmp_path / 'modem'}"
""")
    gpio = SimulatedGPIO()
    daemon = build_daemon(config, gpio=gpio)
    daemon.store.roster.replace(read_roster_csv(SHEET.encode("utf-8")), utc_now())
    return daemon, gpio, emulator


@pytest.fixture
def box(tmp_path):
    daemon, gpio, emulator = build(tmp_path)
    daemon.start()
    try:
        wait_for(lambda: daemon.modems_ready(), 30, "the modem")
        yield daemon, gpio, emulator
    finally:
        daemon.stop()
        emulator.stop()


def press(gpio, pin, seconds, daemon, kind_count):
    """Hold the button until the press is logged, then let go."""
    before = kind_count()
    gpio.drive(pin, 0)
    wait_for(lambda: kind_count() > before, seconds + 10, f"pin {pin} to be read as pressed")
    gpio.drive(pin, 1)


def test_buttons_acknowledge_sound_and_silence(box):
    daemon, gpio, emulator = box
    store = daemon.store
    presses = lambda: len(store.events_of_kinds(["button_pressed"]))  # noqa: E731
    emulator.call("18600138003")
    wait_for(lambda: store.incidents.all("open"), 30, "the alarm")
    wait_for(lambda: daemon.siren.is_on, 10, "the alarm's siren")
    press(gpio, SILENCE_BTN, 1, daemon, presses)
    wait_for(lambda: not daemon.siren.is_on, 10, "SILENCE to silence the siren")
    assert gpio.levels[SIREN_PIN] == 0
    press(gpio, ACK_BTN, 1, daemon, presses)
    wait_for(lambda: store.incidents.all("open")[0].acked_at is not None, 10,
             "ACK to acknowledge the alarm")
    # SIREN must be held: a short press sounds nothing.
    gpio.drive(SIREN_BTN, 0)
    gpio.drive(SIREN_BTN, 1)
    press(gpio, SIREN_BTN, 0.5, daemon, presses)
    wait_for(lambda: daemon.siren.is_on, 10, "a held SIREN to sound the siren")
    log = store.events_of_kinds(["button_pressed", "office_action"])
    assert [(e.kind, e.data.get("button") or e.data.get("action")) for e in log] == [
        ("button_pressed", "silence"), ("office_action", "siren_off"),
        ("button_pressed", "ack"), ("office_action", "acknowledge"),
        ("button_pressed", "siren"), ("office_action", "siren_on")]
    assert all(e.data["source"] == "button" for e in log if e.kind == "office_action")


def test_a_siren_press_kept_before_a_crash_sounds_at_the_next_start_unless_long_past(tmp_path):
    daemon, gpio, emulator = build(tmp_path)
    store = daemon.store
    now = utc_now()
    # Kept by the desk, never carried out: the box died after each press.
    for age in (timedelta(minutes=10), timedelta(seconds=5)):
        store.inbox.keep_office_action(now - age, "siren_on", "button", "", None, None, "")
    daemon.start()
    try:
        wait_for(lambda: daemon.siren.is_on, 10, "the recent press to sound the siren")
        assert gpio.levels[SIREN_PIN] == 1
    finally:
        daemon.stop()
        emulator.stop()
    [expired] = store.events_of_kinds(["office_action_expired"])
    assert expired.data["action"] == "siren_on"
    assert expired.data["asked_at"] == utc_iso(now - timedelta(minutes=10))
    assert [e.data["action"] for e in store.events_of_kinds(["office_action"])] == ["siren_on"]
    assert store.inbox.unhandled_office_actions() == []
