"""No empty box: a box with no roster must not look ready. `edgebox run` refuses it (unless
--allow-empty, for first setup); a box running empty shows it on the panel's alarm LED and
on the web page until a roster is imported."""
import subprocess
import sys
from datetime import datetime, timezone

import httpx
import pytest

from edgebox.adapters.gpio.outputs import ALARM, OfficeLights, led_levels
from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.config_file import load_config
from edgebox.daemon.app import build_daemon
from edgebox.roster_io.csv_sheet import read_roster_csv
from edgebox.store import SqliteStore
from edgebox.web.passwords import hash_password
from tests.support import SHEET, kinds, stop, wait_for
from tests.test_web_process import panels

PASSWORD = "村委值班2024"
LED_ALARM = 22


def run_box(config, *args):
    return subprocess.run([sys.executable, "-m", "edgebox", "run", "--config", str(config),
                           *args], capture_output=True, text=True, timeout=60)


def write_config(tmp_path, emulator):
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n[siren]\non_seconds = 0\n'
                      f'[[modems]]\nport = "{emulator.link}"\n', encoding="utf-8")
    return config


def assert_refused(result, why):
    assert result.returncode == 78, result
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("edgebox: 花名册为空"), line  # Chinese first
    assert why in line and "edgebox roster import" in line and "--allow-empty" in line


@pytest.mark.slow
def test_run_refuses_a_database_that_does_not_exist(tmp_path, emulator):
    refused = run_box(write_config(tmp_path, emulator))
    assert_refused(refused, f"{tmp_path / 'box.db'} does not exist")
    assert not (tmp_path / "box.db").exists()  # a mistyped path is not made into a box


@pytest.mark.slow
def test_run_refuses_an_empty_roster_unless_allowed(tmp_path, emulator):
    config = write_config(tmp_path, emulator)
    SqliteStore(tmp_path / "box.db").close()
    assert_refused(run_box(config), f"no households in {tmp_path / 'box.db'}")
    assert "daemon_started" not in kinds(tmp_path / "box.db")
    log_path = tmp_path / "daemon.log"
    with open(log_path, "w") as log_file:
        daemon = subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config",
                                   str(config), "--allow-empty"], stdout=log_file,
                                  stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "modem_ready" in kinds(tmp_path / "box.db"), 30, "the modem",
                 log_path)
    finally:
        stop(daemon)
    assert daemon.returncode == 0


def test_the_alarm_led_is_steady_while_the_roster_is_empty():
    empty = OfficeLights(roster_empty=True)
    assert all(led_levels(empty, t / 10)[ALARM] for t in range(40))
    assert not any(led_levels(OfficeLights(), t / 10)[ALARM] for t in range(40))
    blinking = [led_levels(OfficeLights(alarm_active=True, roster_empty=True), t / 10)[ALARM]
                for t in range(40)]
    assert any(blinking) and not all(blinking)  # an open alarm still blinks


@pytest.mark.slow
def test_a_box_running_empty_says_so_on_the_led_and_the_web_page(tmp_path, emulator):
    # The web panel runs in a process of its own, which reads the config file.
    path = tmp_path / "edgebox.toml"
    path.write_text(
        f'[box]\ndatabase = "{tmp_path / "box.db"}"\n[siren]\non_seconds = 0\n'
        f'[panel]\nled_alarm = {LED_ALARM}\n'
        f'[web]\nlisten = "127.0.0.1:0"\npassword_hash = "{hash_password(PASSWORD)}"\n'
        f'[[modems]]\nport = "{emulator.link}"\n', encoding="utf-8")
    config = load_config(path)
    gpio = SimulatedGPIO()
    daemon = build_daemon(config, gpio=gpio)
    daemon.start()
    try:
        led = lambda: gpio.levels.get(LED_ALARM) == 1  # noqa: E731
        wait_for(led, 30, "the alarm LED to light")
        wait_for(lambda: panels(tmp_path / "box.db"), 30, "the web panel")
        client = httpx.Client(base_url=panels(tmp_path / "box.db")[-1]["url"], timeout=30)
        page = client.get("/login").text
        token = page.split('name="csrf" value="')[1].split('"')[0]
        client.post("/login", data={"password": PASSWORD, "csrf": token})
        assert "花名册为空" in client.get("/").text
        daemon.store.roster.replace(read_roster_csv(SHEET.encode("utf-8")),
                                    datetime.now(timezone.utc), source="first setup")
        wait_for(lambda: not led(), 30, "the alarm LED to go dark")
        assert "花名册为空" not in client.get("/").text
        client.close()
    finally:
        daemon.stop()
